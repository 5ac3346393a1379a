"""Turning image tensors into pictures: grids and PNG files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def to_uint8(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """(N, C, H, W) floats in [0, 1] -> (N, H, W, C) uint8."""
    arr = images.detach().float().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images, np.float32)
    return (np.clip(arr, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8).transpose(0, 2, 3, 1)


def make_grid(images: torch.Tensor | np.ndarray, ncols: int | None = None, pad: int = 2) -> np.ndarray:
    """Tile N images into one (H', W', C) uint8 picture, ``ncols`` wide (default: square)."""
    tiles = to_uint8(images)
    n, h, w, c = tiles.shape
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    grid = np.zeros((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), np.uint8)
    for i, tile in enumerate(tiles):
        r, col = divmod(i, ncols)
        grid[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + col * (w + pad) : pad + col * (w + pad) + w] = tile
    return grid


def save_png(picture: np.ndarray, path: str | Path, scale: int = 1) -> Path:
    """Save an (H, W, C) uint8 picture as PNG, enlarged ``scale`` times with nearest-neighbour.

    Written atomically: a full disk leaves no 0-byte file and raises OutputError."""
    from PIL import Image

    from latentlab.atomic import write_output

    if scale > 1:
        picture = picture.repeat(scale, axis=0).repeat(scale, axis=1)
    image = Image.fromarray(picture[..., 0] if picture.shape[-1] == 1 else picture)
    return write_output(path, lambda f: image.save(f, format="PNG"), what="the picture")
