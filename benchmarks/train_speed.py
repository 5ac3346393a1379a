"""Training throughput: images per second per family and backbone, and the same model in a
reference loop written like pytorch/examples' vae/main.py (a DataLoader over a
TensorDataset, batch 128, a host-to-device copy and a ``loss.item()`` every step).

    python benchmarks/train_speed.py                      # mnist-5k, auto device
    python benchmarks/train_speed.py --synthetic 60000    # an MNIST-sized random set
    python benchmarks/train_speed.py --device cuda --families vae --backbones mlp
    python benchmarks/train_speed.py --elbo-table         # 2-D VAE per backbone: test -ELBO, s/epoch

Prints a table; the last column is ours over the reference for the same model.
"""

from __future__ import annotations

import argparse
import time

import torch

from latentlab.data import ImageDataset, Split, load_dataset
from latentlab.models.backbones import get_backbone
from latentlab.models.registry import create_model, family_names, make_config
from latentlab.training.device import resolve_device
from latentlab.training.trainer import Trainer, TrainSettings


def synthetic(n: int) -> ImageDataset:
    g = torch.Generator().manual_seed(0)
    images = (torch.rand(n, 1, 28, 28, generator=g) > 0.8).float()
    labels = torch.randint(0, 10, (n,), generator=g)
    cut = n * 5 // 6
    return ImageDataset("synthetic", [str(i) for i in range(10)], Split(images[:cut], labels[:cut]),
                        Split(images[cut:], labels[cut:]))


def ours(family: str, backbone: str, data: ImageDataset, device: torch.device, epochs: int) -> float:
    torch.manual_seed(0)
    model = create_model(make_config(family, backbone=backbone, image_shape=list(data.image_shape)))
    settings = TrainSettings(epochs=epochs + 1, device=str(device), evaluate_every=0, report_every_steps=50)
    times: list[float] = []
    batch = min(model.default_batch_size, len(data.train))
    steps = len(data.train) // batch

    class Clock:
        """Timestamps at the last step of every epoch, before evaluation runs."""

        def on_step(self, trainer, report):
            if report.step % steps == 0:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                times.append(time.perf_counter())

        def on_epoch(self, trainer, report): ...

        def on_end(self, trainer, result): ...

    Trainer(model, data, settings, callbacks=[Clock()]).fit()
    # The first epoch is warm-up; evaluation after each epoch is outside the window.
    return epochs * steps * batch / (times[-1] - times[0])


def reference(family: str, backbone: str, data: ImageDataset, device: torch.device, epochs: int) -> float:
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    model = create_model(make_config(family, backbone=backbone, image_shape=list(data.image_shape))).to(device)
    opts = model.configure_optimizers(model.default_lr)
    loader = DataLoader(TensorDataset(data.train.images, data.train.labels), batch_size=128, shuffle=True)
    model.train()
    n = 0
    start = None
    for epoch in range(epochs + 1):
        if epoch == 1:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start, n = time.perf_counter(), 0
        for step, (x, y) in enumerate(loader, 1):
            x, y = x.to(device), y.to(device)
            parts = model.train_step(x, y, opts, step)
            parts["loss"].item()  # the example prints loss.item() every batch
            n += len(x)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return n / (time.perf_counter() - start)


ELBO_TABLE_BACKBONES = ("mlp", "conv", "lstm", "transformer")


def elbo_table(data: ImageDataset, device: torch.device, epochs: int) -> None:
    """Train a 2-D VAE with each backbone for ``epochs`` epochs (the CLI's default, seed 0)
    and print a table of test -ELBO, seconds per epoch (wall clock and this process's CPU
    time) and parameters. The load average is printed before and after, because a shared
    machine inflates the wall clock."""
    import os

    from latentlab.training.evaluate import evaluate

    print(f"2-D VAEs on {data.name}, {epochs} epochs each, seed 0; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    rows = []
    for backbone in ELBO_TABLE_BACKBONES:
        torch.manual_seed(0)
        model = create_model(make_config("vae", backbone=backbone, image_shape=list(data.image_shape),
                                         num_classes=data.num_classes))
        marks: list[tuple[float, float]] = []

        class Clock:
            def on_step(self, trainer, report): ...

            def on_epoch(self, trainer, report):
                if device.type == "cuda":
                    torch.cuda.synchronize()
                marks.append((time.perf_counter(), time.process_time()))

            def on_end(self, trainer, result): ...

        settings = TrainSettings(epochs=epochs, device=str(device), evaluate_every=0)
        marks.append((time.perf_counter(), time.process_time()))
        Trainer(model, data, settings, callbacks=[Clock()]).fit()
        neg_elbo = evaluate(model.eval(), data, sample_metrics=False)["test_neg_elbo"]
        wall = (marks[-1][0] - marks[0][0]) / epochs
        cpu = (marks[-1][1] - marks[0][1]) / epochs
        params = sum(p.numel() for p in model.parameters())
        rows.append((backbone, neg_elbo, wall, cpu, params))
        print(f"  {backbone}: test -ELBO {neg_elbo:.1f}, {wall:.1f} s/epoch", flush=True)
    print(f"load average afterwards {os.getloadavg()[0]:.1f}; torch threads {torch.get_num_threads()}\n")
    print("| backbone | kind | test −ELBO (nats) | s / epoch (wall) | CPU s / epoch | parameters |")
    print("|---|---|---:|---:|---:|---:|")
    for backbone, neg_elbo, wall, cpu, params in rows:
        kind = get_backbone(backbone).kind
        print(f"| `{backbone}` | {kind} | {neg_elbo:.1f} | {wall:.1f} | {cpu:.1f} | {params:,} |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--dataset", default="mnist-5k")
    p.add_argument("--synthetic", type=int, default=0, help="use N random 28x28 images instead")
    p.add_argument("--epochs", type=int, default=2, help="timed epochs (after one warm-up epoch)")
    p.add_argument("--families", nargs="*", default=[f for f in family_names()])
    p.add_argument("--backbones", nargs="*", default=["mlp", "conv"])
    p.add_argument("--elbo-table", type=int, metavar="EPOCHS", nargs="?", const=30, default=None,
                   help="instead: train a 2-D VAE per backbone (mlp, conv, lstm, transformer) for EPOCHS "
                        "(default 30, the CLI's) and print test -ELBO and seconds per epoch")
    args = p.parse_args()
    device = resolve_device(args.device)
    data = synthetic(args.synthetic) if args.synthetic else load_dataset(args.dataset)
    if args.elbo_table:
        elbo_table(data, device, args.elbo_table)
        return
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{len(data.train)} training images of {data.image_shape}")
    print(f"{'family':<9} {'backbone':<8} {'ours img/s':>12} {'reference img/s':>16} {'ratio':>6}")
    for family in args.families:
        for backbone in args.backbones:
            a = ours(family, backbone, data, device, args.epochs)
            b = reference(family, backbone, data, device, args.epochs)
            print(f"{family:<9} {backbone:<8} {a:>12,.0f} {b:>16,.0f} {a / b:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
