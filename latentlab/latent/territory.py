"""What lives where in a latent plane: decoded grids and the judge's class map.

Both are one batched forward pass over a grid of plane points (a 30x30 manifold is one
decode of 900 latents, not 900 decodes).
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab.latent.plane_grid import Territory, grid_points, mosaic
from latentlab.models.base import LatentModel

__all__ = ["CHUNK", "Territory", "decode_latents", "grid_points", "manifold", "territory"]

CHUNK = 2048


@torch.no_grad()
def decode_latents(model: LatentModel, z: np.ndarray) -> torch.Tensor:
    """Decode (N, D) latents in chunks; returns CPU images in [0, 1]."""
    device = model.device
    zt = torch.as_tensor(np.asarray(z, np.float32))
    return torch.cat([model.decode(zt[i : i + CHUNK].to(device)).cpu() for i in range(0, len(zt), CHUNK)])


@torch.no_grad()
def territory(
    model: LatentModel, judge: LatentModel, projection, x_range: tuple[float, float],
    y_range: tuple[float, float], resolution: int = 48,
) -> Territory:
    """Decode every cell of the region and let the judge say which class it shows."""
    ny = nx = resolution
    z = projection.to_latent(grid_points(x_range, y_range, nx, ny))
    images = decode_latents(model, z)
    classes, confs = [], []
    for i in range(0, len(images), CHUNK):
        c, p = judge.predict(images[i : i + CHUNK].to(judge.device))
        classes.append(c.cpu())
        confs.append(p.cpu())
    return Territory(
        torch.cat(classes).numpy().reshape(ny, nx), torch.cat(confs).numpy().reshape(ny, nx),
        tuple(x_range), tuple(y_range),
    )


@torch.no_grad()
def manifold(
    model: LatentModel, projection, x_range: tuple[float, float], y_range: tuple[float, float], n: int = 20
) -> np.ndarray:
    """An n x n mosaic of decodes over the region as one (n*H, n*W) float image, top row = high y."""
    z = projection.to_latent(grid_points(x_range, y_range, n, n))
    return mosaic(decode_latents(model, z).numpy(), n)
