"""The discriminator's view of the latent plane: how real it finds what each point generates.

A GAN's discriminator is a classifier of real against generated images (the lecture
notes). Painting D(G(z)) behind the map shows where the generator fools it and where
it does not (GAN Lab's picture, on digits). :func:`realness` scores a grid of plane
points like :func:`latentlab.latent.territory.territory` does with the judge, and
:func:`realness_rgba` paints it for the map's background.

* A GAN's discriminator returns a logit; its score is the probability D(G(z)) of "real".
* A WGAN-GP's critic returns an unbounded value (higher = more real), comparable only
  with other values of the same critic: the picture spreads the grid's own range.
* A packing discriminator (PacGAN, ``pack`` > 1) judges packs of images. Each point's
  image is packed with the generator's decodes of the first ``pack - 1`` latents of the
  model's fixed noise batch, so every point is judged in the same company and the
  differences across the map are its own.

Run it on a model in eval mode (no dropout; a GAN decodes with its averaged generator),
e.g. a snapshot copy while the original trains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentlab.errors import ConfigError
from latentlab.latent.plane_grid import grid_points, upsample_bilinear
from latentlab.latent.territory import CHUNK, decode_latents
from latentlab.models.base import LatentModel

#: Colours of "fake" (D = 0) and "real" (D = 1), GAN Lab's purple and green.
FAKE_RGB = np.array([148.0, 103.0, 189.0], np.float32)
REAL_RGB = np.array([44.0, 160.0, 44.0], np.float32)
#: Alpha of a cell the discriminator is sure about; an undecided cell (D = 0.5) is clear.
REALNESS_ALPHA = 0.45


@dataclass
class Realness:
    scores: np.ndarray  # (ny, nx): D(G(z)), a probability for a GAN, a critic value for WGAN-GP
    kind: str  # "probability" or "critic"
    x_range: tuple[float, float]
    y_range: tuple[float, float]

    def normalised(self) -> np.ndarray:
        """(ny, nx) in [0, 1]: the probability itself, or a critic's value placed within the
        grid's 2nd to 98th percentile (0 = the least real cells of this picture)."""
        if self.kind == "probability":
            return np.clip(self.scores, 0.0, 1.0)
        lo, hi = np.percentile(self.scores, [2, 98])
        return np.clip((self.scores - lo) / max(hi - lo, 1e-12), 0.0, 1.0)


def _discriminator(model: LatentModel):
    discriminate = getattr(model, "discriminate", None)
    if discriminate is None:
        raise ConfigError(f"a {model.family} model has no discriminator; open a GAN to see its view")
    return discriminate


@torch.no_grad()
def discriminator_scores(model: LatentModel, images: torch.Tensor, y=None) -> torch.Tensor:
    """One score per image (N,) on the CPU: a probability of "real" or a critic value (a
    conditional model's discriminator: of a real image of class ``y``).

    With ``pack`` > 1 each image is judged in a pack with fixed companions (module doc).
    """
    discriminate = _discriminator(model)
    pack, device = model.config.pack, model.device
    companions = model.decode(model.fixed_noise[: pack - 1]) if pack > 1 else None
    scores = []
    for i in range(0, len(images), CHUNK):
        x = images[i : i + CHUNK].to(device)
        if companions is not None:
            x = torch.cat([x[:, None], companions[None].expand(len(x), -1, -1, -1, -1)], 1).flatten(0, 1)
        s = discriminate(x) if y is None else discriminate(x, y)
        scores.append((torch.sigmoid(s) if model.score_kind == "logit" else s).cpu())
    return torch.cat(scores)


@torch.no_grad()
def realness(
    model: LatentModel, projection, x_range: tuple[float, float], y_range: tuple[float, float],
    resolution: int = 48, y: int | None = None,
) -> Realness:
    """D(G(z)) on every cell of the region (one batched decode and one batched judgement);
    a conditional model's D(G(z, y), y) for its class ``y``."""
    _discriminator(model)
    ny = nx = resolution
    z = projection.to_latent(grid_points(x_range, y_range, nx, ny))
    scores = discriminator_scores(model, decode_latents(model, z, y), y).numpy().reshape(ny, nx)
    kind = "probability" if model.score_kind == "logit" else "critic"
    return Realness(scores.astype(np.float32), kind, tuple(x_range), tuple(y_range))


def realness_rgba(result: Realness, alpha: float = REALNESS_ALPHA, smooth: int = 1) -> np.ndarray:
    """(ny, nx, 4) uint8: purple where the discriminator calls the decode fake, green where
    it calls it real, clear where it cannot tell (D = 0.5). ``smooth`` as for the territory."""
    p = result.normalised().astype(np.float32)
    rgba = np.empty(p.shape + (4,), np.float32)
    rgba[..., :3] = FAKE_RGB + p[..., None] * (REAL_RGB - FAKE_RGB)
    rgba[..., 3] = np.abs(2.0 * p - 1.0) * (alpha * 255.0)
    if smooth > 1:
        rgba = upsample_bilinear(rgba, smooth)
    return np.clip(rgba + 0.5, 0, 255).astype(np.uint8)
