"""How quickly a conditional model answers the window's questions: prints figures, asserts nothing.

    python benchmarks/conditional_latency.py            # 2,000 calls each
    python benchmarks/conditional_latency.py --quick    # 300 calls each

1. One decode: one z under one class (the decoded view while the marker is dragged).
2. The analogy row: the same z under all ten classes, ten MLP decodes in one batch
   (``latentlab.latent.conditional.analogy_row``), which follows the marker live.
3. Restyle: encode a test image under its label and decode it under every class.

For the shipped ``cvae`` (MLP, hidden 256) when it is installed, and a fresh cvae with the
window's default width (hidden 512), with torch on 1 thread and on its default count.
Wall-clock p50 / p99 per call, and the CPU time per call (process time, less inflated
than wall-clock on a shared machine). Goal: the analogy row's p99 <= 5 ms on a 2-core
CPU, like the single decode.

On a busy 2-core machine a 10-row batch on 2 torch threads spends most of its time
waiting for the second thread (the CPU time shows it); one thread is the setting for
small interactive decodes.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from latentlab.data import load_dataset
from latentlab.latent.conditional import analogy_row, restyle
from latentlab.models.checkpoint import load_checkpoint
from latentlab.models.registry import create_model, make_config
from latentlab.pretrained import find


def timed(fn, n: int) -> tuple[float, float, float]:
    """(p50 ms, p99 ms, mean CPU ms) of ``n`` calls after 20 warm-up calls."""
    for _ in range(20):
        fn()
    walls = []
    cpu0 = time.process_time()
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t0)
    cpu = (time.process_time() - cpu0) / n
    ms = np.asarray(walls) * 1000.0
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), cpu * 1000.0


def models(dataset) -> list[tuple[str, torch.nn.Module]]:
    out = []
    entry = find("cvae")
    if entry is not None and entry.path.is_file():
        out.append(("shipped cvae (mlp, hidden 256)", load_checkpoint(entry.path).model.eval()))
    torch.manual_seed(0)
    fresh = create_model(make_config("cvae", image_shape=list(dataset.image_shape), num_classes=dataset.num_classes))
    out.append(("fresh cvae (mlp, hidden 512)", fresh.eval()))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="300 calls per figure instead of 2,000")
    args = parser.parse_args()
    n = 300 if args.quick else 2000
    dataset = load_dataset("mnist-5k")
    image, label = dataset.test.images[0], int(dataset.test.labels[0])
    default_threads = torch.get_num_threads()
    print(f"torch {torch.__version__}; {n} calls per figure")
    print(f"{'model':<32} {'threads':>7} {'what':<34} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms':>7}")
    for name, model in models(dataset):
        z = torch.zeros(model.latent_dim)
        for threads in sorted({1, default_threads}):
            torch.set_num_threads(threads)
            with torch.no_grad():
                rows = [
                    ("one decode (one class)", lambda: model.decode(z[None], 7)),
                    ("analogy row (10 decodes, 1 batch)", lambda: analogy_row(model, z)),
                    ("restyle (encode + 10 decodes)", lambda: restyle(model, image, label)),
                ]
                for what, fn in rows:
                    p50, p99, cpu = timed(fn, n)
                    print(f"{name:<32} {threads:>7} {what:<34} {p50:>7.2f} {p99:>7.2f} {cpu:>7.2f}")
    torch.set_num_threads(default_threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
