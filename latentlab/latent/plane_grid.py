"""Grids over a region of the latent plane, and what is painted from them; no PyTorch.

Shared by the PyTorch path (territory.py, in the compute lanes) and the NumPy first
screen (latentlab.preview), so both ask the same cells and tile the same mosaics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def grid_points(x_range: tuple[float, float], y_range: tuple[float, float], nx: int, ny: int) -> np.ndarray:
    """Cell centres of an nx x ny grid over the region, row-major with y increasing per row."""
    xs = np.linspace(x_range[0], x_range[1], nx, endpoint=False) + (x_range[1] - x_range[0]) / (2 * nx)
    ys = np.linspace(y_range[0], y_range[1], ny, endpoint=False) + (y_range[1] - y_range[0]) / (2 * ny)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)


@dataclass
class Territory:
    classes: np.ndarray  # (ny, nx) int, the judge's class of each cell's decode
    confidence: np.ndarray  # (ny, nx) float in [0, 1]: in that class, or in ``requested``
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    #: A conditional model's class asked for in every cell; then ``confidence`` is the
    #: judge's probability of that class. None for unconditional models.
    requested: int | None = None


def mosaic(images: np.ndarray, n: int) -> np.ndarray:
    """(n*n, C, H, W) decodes of an n x n ``grid_points`` grid -> one (n*H, n*W) or
    (n*H, n*W, C) image whose top row shows the largest y."""
    c, h, w = images.shape[1:]
    tiles = np.asarray(images).reshape(n, n, c, h, w)[::-1]
    image = tiles.transpose(0, 3, 1, 4, 2).reshape(n * h, n * w, c)
    return image[..., 0] if c == 1 else image  # colour keeps its channels (squeeze(-1) raised)


def upsample_bilinear(image: np.ndarray, factor: int) -> np.ndarray:
    """(H, W, K) -> (factor·H, factor·W, K), bilinear with half-pixel centres and edge
    clamping: what ``torch.nn.functional.interpolate(..., mode="bilinear",
    align_corners=False)`` computes."""
    h, w = image.shape[:2]

    def taps(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        src = np.maximum((np.arange(n * factor) + 0.5) / factor - 0.5, 0.0)
        lo = np.minimum(np.floor(src).astype(np.int64), n - 1)
        hi = np.minimum(lo + 1, n - 1)
        return lo, hi, (src - lo).astype(np.float32)

    (y0, y1, fy), (x0, x1, fx) = taps(h), taps(w)
    image = np.asarray(image, np.float32)
    rows = image[y0] * (1 - fy)[:, None, None] + image[y1] * fy[:, None, None]
    return rows[:, x0] * (1 - fx)[None, :, None] + rows[:, x1] * fx[None, :, None]
