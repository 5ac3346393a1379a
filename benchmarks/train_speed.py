"""Training throughput: images per second per family and backbone, and the same model in a
reference loop written like pytorch/examples' vae/main.py (a DataLoader over a
TensorDataset, batch 128, a host-to-device copy and a ``loss.item()`` every step).

    python benchmarks/train_speed.py                      # mnist-5k, auto device
    python benchmarks/train_speed.py --synthetic 60000    # an MNIST-sized random set
    python benchmarks/train_speed.py --device cuda --families vae --backbones mlp

Prints a table; the last column is ours over the reference for the same model.
"""

from __future__ import annotations

import argparse
import time

import torch

from latentlab.data import ImageDataset, Split, load_dataset
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


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="auto")
    p.add_argument("--dataset", default="mnist-5k")
    p.add_argument("--synthetic", type=int, default=0, help="use N random 28x28 images instead")
    p.add_argument("--epochs", type=int, default=2, help="timed epochs (after one warm-up epoch)")
    p.add_argument("--families", nargs="*", default=[f for f in family_names()])
    p.add_argument("--backbones", nargs="*", default=["mlp", "conv"])
    args = p.parse_args()
    device = resolve_device(args.device)
    data = synthetic(args.synthetic) if args.synthetic else load_dataset(args.dataset)
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
