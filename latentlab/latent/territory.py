"""What lives where in a latent plane: decoded grids and the judge's class map.

Both are one batched forward pass over a grid of plane points (a 30x30 manifold is one
decode of 900 latents, not 900 decodes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentlab.models.base import LatentModel

CHUNK = 2048


def grid_points(x_range: tuple[float, float], y_range: tuple[float, float], nx: int, ny: int) -> np.ndarray:
    """Cell centres of an nx x ny grid over the region, row-major with y increasing per row."""
    xs = np.linspace(x_range[0], x_range[1], nx, endpoint=False) + (x_range[1] - x_range[0]) / (2 * nx)
    ys = np.linspace(y_range[0], y_range[1], ny, endpoint=False) + (y_range[1] - y_range[0]) / (2 * ny)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)


@torch.no_grad()
def decode_latents(model: LatentModel, z: np.ndarray) -> torch.Tensor:
    """Decode (N, D) latents in chunks; returns CPU images in [0, 1]."""
    device = model.device
    zt = torch.as_tensor(np.asarray(z, np.float32))
    return torch.cat([model.decode(zt[i : i + CHUNK].to(device)).cpu() for i in range(0, len(zt), CHUNK)])


@dataclass
class Territory:
    classes: np.ndarray  # (ny, nx) int, the judge's class of each cell's decode
    confidence: np.ndarray  # (ny, nx) float in [0, 1]
    x_range: tuple[float, float]
    y_range: tuple[float, float]


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
    images = decode_latents(model, z).numpy()  # (n*n, C, H, W), row-major, y increasing
    c, h, w = images.shape[1:]
    tiles = images.reshape(n, n, c, h, w)[::-1]  # top row shows the largest y
    return tiles.transpose(0, 3, 1, 4, 2).reshape(n * h, n * w, c).squeeze(-1)
