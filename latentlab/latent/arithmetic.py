"""Latent arithmetic: the vector from one class's centroid to another's, applied anywhere.

"Add (centroid of 8 - centroid of 3) to this 3" asks whether the model has one shared
direction for the difference between two classes. In a well-organised space the result
decodes as an 8 in the style of the original 3; in a tangled one it decodes as noise or
a third class. Centroids are means of encoded points (posterior means for VAEs).
"""

from __future__ import annotations

import numpy as np
import torch

from latentlab.errors import ConfigError
from latentlab.latent.paths import class_centroids, require_centroid
from latentlab.models.base import evaluating


def class_vector(latents, labels, a: int, b: int, class_names: list[str] | None = None):
    """centroid(b) - centroid(a): the step that turns class a into class b, shape (D,).

    Returns a tensor for tensor latents, a numpy array otherwise. A class without any
    point is a ConfigError naming it.
    """
    for cls in (a, b):
        if isinstance(cls, bool) or not isinstance(cls, (int, np.integer)) or cls < 0:
            raise ConfigError(f"class indices must be whole numbers >= 0, got {cls!r}")
    centroids = class_centroids(latents, labels, max(int(a), int(b)) + 1)
    return require_centroid(centroids, int(b), class_names) - require_centroid(centroids, int(a), class_names)


def apply_vector(z, v, scale: float = 1.0):
    """z + scale * v; z may be one point (D,) or a batch (N, D), v is (D,).

    ``scale`` lets a slider walk along the direction: 0 is the point itself, 1 the full
    class difference, 2 an exaggeration.
    """
    if not np.isfinite(scale):
        raise ConfigError(f"the scale of a latent vector must be finite, got {scale!r}")
    if isinstance(z, torch.Tensor):
        v = torch.as_tensor(v, dtype=z.dtype, device=z.device)
    else:
        z, v = np.asarray(z, np.float32), np.asarray(v, np.float32)
    if v.shape[-1:] != z.shape[-1:] or v.ndim != 1:
        raise ConfigError(f"cannot add a vector of shape {tuple(v.shape)} to points of shape {tuple(z.shape)}")
    return z + scale * v


@torch.no_grad()
def decode_along(model, z: torch.Tensor, v, scales=(0.0, 0.5, 1.0, 1.5), y=None) -> torch.Tensor:
    """Decode z + s * v for each scale s in one batch: (len(scales), C, H, W) on the CPU.

    The picture of latent arithmetic: the original point, half the class difference, all
    of it, and an exaggeration; a model with a shared direction turns the class over
    smoothly while keeping the style. A conditional model decodes under the class ``y``
    (its latent holds the style, so there a vector changes the style, not the class).
    """
    z = torch.as_tensor(z, dtype=torch.float32).reshape(-1)
    points = torch.stack([apply_vector(z, v, float(s)) for s in scales]).to(model.device)
    with evaluating(model):
        return model.decode(points, y).float().cpu()
