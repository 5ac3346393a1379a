"""Command-line helpers for models sampled pixel by pixel (``latentlab sample`` on a PixelCNN)."""

from __future__ import annotations

import sys
import time

import torch


def sample_pixelwise(model, n: int, generator: torch.Generator, source: str | None = None) -> torch.Tensor:
    """``model.sample`` pixel by pixel, with a progress line and ETA on stderr (a terminal only)."""
    from latentlab.errors import ConfigError
    from latentlab.models.pixelcnn_sampler import PixelSampler

    if source is not None:
        raise ConfigError(f"a {model.family} model has no latent space, so --source does not apply; leave it out")
    labels = torch.arange(n) % model.config.num_classes if model.config.conditional else None
    sampler = PixelSampler(model, n, labels=labels, generator=generator)
    started, shown = time.perf_counter(), [0.0]
    tty = sys.stderr.isatty()

    def on_step(step) -> None:
        now = time.perf_counter()
        if not tty or (now - shown[0] < 0.2 and step.index != step.total):
            return
        shown[0] = now
        elapsed = now - started
        eta = elapsed / step.index * (step.total - step.index)
        sys.stderr.write(f"\rsampling {n} images pixel by pixel: {step.index}/{step.total} "
                         f"({step.progress:.0%}), ETA {eta:.0f} s\x1b[K")
        sys.stderr.flush()

    images = sampler.run(on_step)
    if tty:
        sys.stderr.write("\n")
    return images
