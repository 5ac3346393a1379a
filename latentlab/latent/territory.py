"""What lives where in a latent plane: decoded grids and the judge's class map.

Both are one batched forward pass over a grid of plane points (a 30x30 manifold is one
decode of 900 latents, not 900 decodes).

A conditional model decodes every cell under the class ``y`` asked for (``requested``
for the territory). Its territory answers another question than an unconditional
model's: not "which class lives here?" (every cell shows the class asked for, if the
model works) but "where does the style space still make a convincing digit of that
class?": the confidence is the judge's probability of the *requested* class.
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab.errors import ConfigError
from latentlab.latent.plane_grid import Territory, grid_points, mosaic
from latentlab.models.base import LatentModel

__all__ = ["CHUNK", "Territory", "decode_latents", "grid_points", "manifold", "territory"]

CHUNK = 2048


@torch.no_grad()
def decode_latents(model: LatentModel, z: np.ndarray, y=None) -> torch.Tensor:
    """Decode (N, D) latents in chunks (a conditional model under the class ``y``: an int,
    or per-point labels or class weights); returns CPU images in [0, 1]."""
    device = model.device
    zt = torch.as_tensor(np.asarray(z, np.float32))
    per_point = y is not None and not isinstance(y, int) and len(y) == len(zt) and len(zt) > 1
    return torch.cat([
        model.decode(zt[i : i + CHUNK].to(device), y[i : i + CHUNK] if per_point else y).cpu()
        for i in range(0, len(zt), CHUNK)
    ])


@torch.no_grad()
def territory(
    model: LatentModel, judge: LatentModel, projection, x_range: tuple[float, float],
    y_range: tuple[float, float], resolution: int = 48, requested: int | None = None,
) -> Territory:
    """Decode every cell of the region and let the judge say which class it shows; for a
    conditional model, decode under class ``requested`` and make the confidence the judge's
    probability of that class (the model's own class still goes in ``classes``)."""
    ny = nx = resolution
    if model.conditional and requested is None:
        raise ConfigError(f"a {model.family} model draws the class it is asked for: give the requested class")
    requested = None if not model.conditional else model.check_class(int(requested))
    z = projection.to_latent(grid_points(x_range, y_range, nx, ny))
    images = decode_latents(model, z, requested)
    classes, confs = [], []
    for i in range(0, len(images), CHUNK):
        probabilities = torch.softmax(judge.classify(images[i : i + CHUNK].to(judge.device)), 1).cpu()
        p, c = probabilities.max(1)
        classes.append(c)
        confs.append(p if requested is None else probabilities[:, requested])
    return Territory(
        torch.cat(classes).numpy().reshape(ny, nx), torch.cat(confs).numpy().reshape(ny, nx),
        tuple(x_range), tuple(y_range), requested,
    )


@torch.no_grad()
def manifold(
    model: LatentModel, projection, x_range: tuple[float, float], y_range: tuple[float, float], n: int = 20,
    y=None,
) -> np.ndarray:
    """An n x n mosaic of decodes over the region as one (n*H, n*W) float image, top row = high y
    (a conditional model: under the class ``y``)."""
    z = projection.to_latent(grid_points(x_range, y_range, n, n))
    return mosaic(decode_latents(model, z, y).numpy(), n)
