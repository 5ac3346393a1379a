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
    return _run_with_progress(PixelSampler(model, n, labels=labels, generator=generator), f"sampling {n} images")


def complete_test_image(args, generator: torch.Generator) -> torch.Tensor:
    """``latentlab sample CKPT --complete INDEX [--hide REGION]``: the test image with the region
    blanked, then ``args.n`` completions of it (pixel by pixel, with progress)."""
    from latentlab.cli.checks import recorded_dataset
    from latentlab.errors import ConfigError
    from latentlab.models.checkpoint import load_checkpoint
    from latentlab.models.pixelcnn_sampler import HIDDEN_REGIONS, PixelSampler, known_mask

    if args.hide not in HIDDEN_REGIONS:
        raise ConfigError(f"--hide must be one of {', '.join(repr(r) for r in HIDDEN_REGIONS)}, got {args.hide!r}")
    ckpt = load_checkpoint(args.checkpoint)
    model = ckpt.model
    if model.has_latent_space:
        raise ConfigError(f"--complete needs a model that draws pixel by pixel (a pixelcnn), not a {model.family}")
    if args.source is not None:
        raise ConfigError("--source does not apply to a completion; leave it out")
    shape = tuple(model.config.image_shape)
    test = recorded_dataset(ckpt.dataset, shape, False, instead=None).test
    if not 0 <= args.complete < len(test):
        raise ConfigError(f"there is no test image #{args.complete}: choose 0 to {len(test) - 1}")
    image = test.images[args.complete].float()
    known = known_mask(args.hide, shape[1:])
    label = int(test.labels[args.complete]) if model.config.conditional else None
    labels = None if label is None else torch.full((args.n,), label)
    sampler = PixelSampler(model, args.n, labels=labels, start=image, known=known, generator=generator)
    done = _run_with_progress(sampler, f"completing test image #{args.complete} {args.n} times")
    return torch.cat([(image * torch.from_numpy(known).float())[None], done])


def _run_with_progress(sampler, what: str) -> torch.Tensor:
    started, shown = time.perf_counter(), [0.0]
    tty = sys.stderr.isatty()

    def on_step(step) -> None:
        now = time.perf_counter()
        if not tty or (now - shown[0] < 0.2 and step.index != step.total):
            return
        shown[0] = now
        elapsed = now - started
        eta = elapsed / step.index * (step.total - step.index)
        sys.stderr.write(f"\r{what} pixel by pixel: {step.index}/{step.total} "
                         f"({step.progress:.0%}), ETA {eta:.0f} s\x1b[K")
        sys.stderr.flush()

    images = sampler.run(on_step)
    if tty:
        sys.stderr.write("\n")
    return images
