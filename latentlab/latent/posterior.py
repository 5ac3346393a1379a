"""A VAE encodes an image as a distribution: its posterior N(μ, σ²), drawn on the map.

The lecture notes' point: a VAE's encoder gives μ and σ per latent axis, and the decoder
is trained on z = μ + σ·ε with ε ~ N(0, I), so every point within a few σ of an
encoding decodes to something sensible; that is what makes its latent space complete
where a plain autoencoder's (one point per image) has gaps.

* :func:`posterior_of`: μ and σ of one image (NumPy).
* :func:`ellipse_in_plane`: the posterior's ellipse in the map's plane. For a slice of
  the latent space its half-axes are the shown axes' σ; for a linear projection (PCA) it
  is the projected covariance J·diag(σ²)·Jᵀ, rotated; for a non-linear projection the
  same formula with J measured at μ over one σ (a local linearisation).
* :func:`draw_posterior_samples`: z = μ + σ·ε for fresh ε, their plane points and decodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentlab.errors import ConfigError
from latentlab.models.base import LatentModel


@dataclass
class Posterior:
    mu: np.ndarray  # (D,)
    sigma: np.ndarray  # (D,)


@dataclass
class Ellipse:
    """An ellipse in the plane: ``center`` (2,), ``axes`` (2, 2) whose rows are its two
    half-axis vectors (at one σ), the longer first."""

    center: np.ndarray
    axes: np.ndarray

    @property
    def half_axes(self) -> np.ndarray:
        """The lengths of the half-axes at one σ, longer first."""
        return np.linalg.norm(self.axes, axis=1)

    @property
    def angle(self) -> float:
        """Direction of the longer half-axis, radians from the x axis."""
        return float(np.arctan2(self.axes[0, 1], self.axes[0, 0]))

    def outline(self, k: float = 1.0, n: int = 64) -> np.ndarray:
        """(n + 1, 2) closed polyline of the ellipse at k σ, for drawing."""
        t = np.linspace(0.0, 2.0 * np.pi, n + 1)
        return (self.center + k * (np.cos(t)[:, None] * self.axes[0] + np.sin(t)[:, None] * self.axes[1])).astype(
            np.float32)


@dataclass
class PosteriorDraws:
    eps: np.ndarray  # (n, D) the standard normal draws
    z: np.ndarray  # (n, D) μ + σ·ε
    xy: np.ndarray  # (n, 2) their plane points
    images: np.ndarray  # (n, C, H, W) their decodes, in [0, 1]


def _posterior_net(model: LatentModel):
    posterior = getattr(model, "posterior", None)
    if posterior is None:
        raise ConfigError(f"a {model.family} model encodes an image as one point, not a distribution; "
                          "open a VAE to see its posterior")
    return posterior


@torch.no_grad()
def posterior_of(model: LatentModel, image: np.ndarray, y: int | None = None) -> Posterior:
    """μ and σ of one image, (C, H, W) or (1, C, H, W) in [0, 1] (a conditional model's
    under the image's class ``y``)."""
    x = torch.as_tensor(np.asarray(image, np.float32))
    x = (x[None] if x.dim() == 3 else x).to(model.device)
    mu, logvar = _posterior_net(model)(x) if y is None else _posterior_net(model)(x, y)
    return Posterior(mu[0].cpu().numpy(), torch.exp(0.5 * logvar[0]).cpu().numpy())


def ellipse_in_plane(posterior: Posterior, projection) -> Ellipse:
    """The one-σ ellipse of ``posterior`` in the plane of ``projection`` (see the module doc)."""
    mu, sigma = np.asarray(posterior.mu, np.float64), np.asarray(posterior.sigma, np.float64)
    steps = mu[None] + np.diag(sigma)  # μ + σ_i·e_i, one row per latent axis
    plane = np.asarray(projection.to_plane(np.vstack([mu[None], steps]).astype(np.float32)), np.float64)
    center, offsets = plane[0], plane[1:] - plane[0]  # offsets[i] = J·σ_i·e_i
    covariance = offsets.T @ offsets  # J·diag(σ²)·Jᵀ
    variances, directions = np.linalg.eigh(covariance)  # ascending
    order = [1, 0]
    axes = (directions[:, order] * np.sqrt(np.clip(variances[order], 0.0, None))).T
    return Ellipse(center.astype(np.float32), axes.astype(np.float32))


@torch.no_grad()
def draw_posterior_samples(
    model: LatentModel, posterior: Posterior, projection, n: int = 1, generator: torch.Generator | None = None,
    y: int | None = None,
) -> PosteriorDraws:
    """n draws z = μ + σ·ε from the posterior, where they land on the map, and their decodes
    (a conditional model's under class ``y``)."""
    _posterior_net(model)
    eps = torch.randn(n, len(posterior.mu), generator=generator)
    z = torch.as_tensor(posterior.mu)[None] + torch.as_tensor(posterior.sigma)[None] * eps
    images = (model.decode(z.to(model.device)) if y is None else model.decode(z.to(model.device), y)).cpu().numpy()
    z_np = z.numpy().astype(np.float32)
    return PosteriorDraws(eps.numpy(), z_np, np.asarray(projection.to_plane(z_np), np.float32), images)
