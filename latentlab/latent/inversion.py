"""Latent inversion: find z so that G(z) looks like a given image.

A GAN has no encoder, so to put a real image on its latent map (or start a path from
it) we optimise z by gradient descent on the pixel error ||G(z) - x||^2. The problem is
not convex, so several random starts per image run side by side in one batch and the
best one is kept. A small prior penalty ||z||^2 keeps z where the generator was trained
(a GAN's latents come from N(0, I)); without it, z may wander to a far-away point that
matches the pixels but where nothing else decodes sensibly.

Works for any model with ``decode`` (an autoencoder's decoder too, which makes the
method testable against a known answer). The model's weights are never changed: the
gradient is taken with respect to z only, in eval mode, and the mode is restored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from latentlab.errors import ConfigError

RESTARTS = 8
STEPS = 300
LR = 0.05
PRIOR_WEIGHT = 1e-3
#: Latents optimised in one forward pass at most (images x restarts are chunked).
CHUNK = 4096


class InversionStopped(Exception):
    """``invert`` was asked to stop (its ``should_stop`` returned True) before it finished."""


@dataclass
class Inversion:
    z: torch.Tensor  # (N, D) the best latent per image, on the model's device
    error: torch.Tensor  # (N,) mean squared pixel error of G(z) against the target, CPU
    reconstructions: torch.Tensor  # (N, C, H, W) G(z), CPU, in [0, 1]


def invert(
    model,
    images: torch.Tensor,
    *,
    restarts: int = RESTARTS,
    steps: int = STEPS,
    lr: float = LR,
    prior_weight: float = PRIOR_WEIGHT,
    seed: int = 0,
    should_stop: Callable[[], bool] | None = None,
    labels: torch.Tensor | None = None,
) -> Inversion:
    """Optimise ``restarts`` latents per image with Adam for ``steps`` steps; keep the best.

    The objective per latent is mean((G(z) - x)^2) + prior_weight * mean(z^2). Starts are
    drawn from N(0, I) with a generator seeded by ``seed``, so the result is the same on
    every call (on one device). The best restart is chosen by pixel error alone.
    ``should_stop`` is asked before every step; when it returns True, ``InversionStopped``
    is raised (a window's job that was cancelled stops within one step, not seconds).
    A conditional generator is inverted under ``labels`` (one class per image).
    """
    if not getattr(model, "has_decoder", False):
        raise ConfigError(f"a {getattr(model, 'family', '?')} model has no generator to invert")
    for name, value, low in (("restarts", restarts, 1), ("steps", steps, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"inversion {name} must be a whole number >= {low}, got {value!r}")
    if not (lr > 0 and prior_weight >= 0):
        raise ConfigError(f"inversion needs lr > 0 and prior_weight >= 0, got {lr!r} and {prior_weight!r}")
    shape = tuple(model.config.image_shape)
    if images.dim() != 4 or tuple(images.shape[1:]) != shape:
        raise ConfigError(f"images to invert must be (N, {', '.join(map(str, shape))}), got {tuple(images.shape)}")
    device = model.device
    n = len(images)
    targets = images.detach().to(device, torch.float32).repeat_interleave(restarts, dim=0)
    y = None if labels is None else torch.as_tensor(labels, device=device).reshape(-1).repeat_interleave(restarts)
    gen = torch.Generator().manual_seed(seed)
    z0 = torch.randn(n * restarts, model.latent_dim, generator=gen).to(device)

    was_training = model.training
    model.eval()
    try:
        z = torch.cat([
            _optimise(model, z0[i : i + CHUNK], targets[i : i + CHUNK], steps, lr, prior_weight, should_stop,
                      None if y is None else y[i : i + CHUNK])
            for i in range(0, len(z0), CHUNK)
        ])
        with torch.no_grad():
            recon = torch.cat([model.decode(z[i : i + CHUNK], None if y is None else y[i : i + CHUNK])
                               for i in range(0, len(z), CHUNK)])
            err = (recon - targets).pow(2).flatten(1).mean(1).view(n, restarts)
            best = err.argmin(dim=1)
            rows = torch.arange(n, device=device) * restarts + best
    finally:
        model.train(was_training)
    return Inversion(
        z=z[rows].detach(),
        error=err[torch.arange(n, device=device), best].cpu(),
        reconstructions=recon[rows].detach().cpu(),
    )


def _optimise(model, z0: torch.Tensor, target: torch.Tensor, steps: int, lr: float, prior_weight: float,
              should_stop: Callable[[], bool] | None = None, y: torch.Tensor | None = None) -> torch.Tensor:
    """Adam on z alone. The per-latent losses are summed, so each latent's gradient is its
    own (Adam's moments are per coordinate): the restarts do not interact."""
    z = z0.clone().requires_grad_(True)
    opt = torch.optim.Adam([z], lr=lr)
    for _ in range(steps):
        if should_stop is not None and should_stop():
            raise InversionStopped()
        with torch.enable_grad():
            pixel = (model.decode(z, y) - target).pow(2).flatten(1).mean(1)
            loss = (pixel + prior_weight * z.pow(2).mean(1)).sum()
            (grad,) = torch.autograd.grad(loss, z)
        z.grad = grad
        opt.step()
    return z.detach()
