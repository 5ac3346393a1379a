"""Seconds to draw a batch of images from the PixelCNN pixel by pixel (wall and CPU time).

    python benchmarks/pixelcnn_sampling.py               # 16 samples, the shipped model
    python benchmarks/pixelcnn_sampling.py --naive       # also the uncached loop, for comparison

The cached sampler (latentlab.models.pixelcnn_sampler) runs the vertical stack once per
row and only the horizontal stack per pixel; the naive loop runs the whole network on the
whole image for every pixel. CPU time is the process's (all threads), so it stays
meaningful on a machine shared with other jobs, where wall time is inflated.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from latentlab.models.checkpoint import load_checkpoint  # noqa: E402
from latentlab.models.pixelcnn_sampler import PixelSampler  # noqa: E402
from latentlab.models.registry import create_model, make_config  # noqa: E402
from latentlab.pretrained import pretrained_dir  # noqa: E402


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


@torch.no_grad()
def naive(model, n, generator):
    images = torch.zeros(n, *model.config.image_shape)
    _, h, w = model.config.image_shape
    for r in range(h):
        for c in range(w):
            p = torch.sigmoid(model(images))[:, :, r, c]
            images[:, :, r, c] = (torch.rand(p.shape, generator=generator) < p).float()
    return images


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, nargs="*", default=[1, 2])
    parser.add_argument("--naive", action="store_true", help="also time the uncached loop (slow)")
    args = parser.parse_args()
    path = pretrained_dir() / "pixelcnn.safetensors"
    model = load_checkpoint(path).model if path.is_file() else create_model(make_config("pixelcnn")).eval()
    c = model.config
    print(f"PixelCNN {'(shipped)' if path.is_file() else '(untrained, default size)'}: {c.layers} gated layers, "
          f"{c.hidden} channels, images {tuple(c.image_shape)}; torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    for threads in args.threads:
        torch.set_num_threads(threads)
        for i in range(args.repeats):
            g = torch.Generator().manual_seed(i)
            _, wall, cpu = timed(lambda: PixelSampler(model, args.n, generator=g).run(threads=None))
            print(f"  cached sampler, {threads} thread(s): {args.n} samples in {wall:6.2f} s wall, {cpu:6.2f} s CPU")
        if args.naive:
            g = torch.Generator().manual_seed(0)
            _, wall, cpu = timed(lambda: naive(model, args.n, g))
            print(f"  naive loop,     {threads} thread(s): {args.n} samples in {wall:6.2f} s wall, {cpu:6.2f} s CPU")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
