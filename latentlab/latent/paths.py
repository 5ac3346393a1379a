"""Interpolation paths through a latent space: straight, spherical, or drawn by hand.

Every function returns the same kind of array it was given (a torch tensor for a tensor,
a numpy array otherwise), float32, with the path's points as rows. Paths include both
end points: ``lerp(a, b, 12)`` has 12 rows, the first equal to ``a`` and the last to ``b``.

Why slerp at all: for a Gaussian prior in D dimensions almost all mass lies near the
sphere of radius sqrt(D), and the straight line between two typical points cuts through
the low-norm interior, where the decoder saw no training codes (White 2016, "Sampling
generative networks"). Slerp follows the great circle instead. In 2-D the difference is
small; in 16-D it is visible.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import torch

from latentlab.errors import ConfigError

ArrayLike = TypeVar("ArrayLike", torch.Tensor, np.ndarray)

#: Below this angle (radians) between the end points slerp falls back to lerp: the two
#: formulas agree to float precision there, and sin(omega) in the denominator vanishes.
SLERP_MIN_ANGLE = 1e-4
#: Within this angle of pi the end points are (nearly) opposite: every great circle
#: joins them, so slerp has no unique answer and falls back to lerp (through the origin).
SLERP_MAX_ANGLE = np.pi - 1e-4
MAX_STEPS = 10_000


def _check_steps(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= MAX_STEPS:
        raise ConfigError(f"a path needs from 2 to {MAX_STEPS} steps (both ends included), got {n!r}")
    return int(n)


def _vector(v, name: str) -> np.ndarray:
    arr = v.detach().cpu().double().numpy() if isinstance(v, torch.Tensor) else np.asarray(v, np.float64)
    arr = arr.reshape(-1)
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ConfigError(f"the {name} point of a path must be a non-empty vector of finite numbers")
    return arr


def _like(result: np.ndarray, template) -> torch.Tensor | np.ndarray:
    """``result`` as float32, a tensor on the template's device if the template is one."""
    if isinstance(template, torch.Tensor):
        return torch.as_tensor(result, dtype=torch.float32, device=template.device)
    return result.astype(np.float32)


def _ends(a, b) -> tuple[np.ndarray, np.ndarray]:
    va, vb = _vector(a, "start"), _vector(b, "end")
    if va.shape != vb.shape:
        raise ConfigError(f"the ends of a path differ in dimension: {va.size} and {vb.size}")
    return va, vb


def lerp(a: ArrayLike, b: ArrayLike, n: int) -> ArrayLike:
    """n points evenly spaced on the straight segment from a to b, ends included: (n, D)."""
    n = _check_steps(n)
    va, vb = _ends(a, b)
    t = np.linspace(0.0, 1.0, n)[:, None]
    return _like((1.0 - t) * va + t * vb, a)


def slerp(a: ArrayLike, b: ArrayLike, n: int) -> ArrayLike:
    """n points of spherical interpolation from a to b, ends included: (n, D).

    The formula is sin((1-t)w)/sin(w) a + sin(tw)/sin(w) b, with w the angle between a
    and b. For equal norms the points lie on the great circle at constant norm; for
    unequal norms the norm changes smoothly between them. Falls back to :func:`lerp`
    when either end is the zero vector (no direction), when the ends are (nearly)
    parallel (the formulas coincide) and when they are (nearly) opposite (no unique
    great circle).
    """
    n = _check_steps(n)
    va, vb = _ends(a, b)
    na, nb = np.linalg.norm(va), np.linalg.norm(vb)
    if na == 0.0 or nb == 0.0:
        return lerp(a, b, n)
    omega = float(np.arccos(np.clip(np.dot(va / na, vb / nb), -1.0, 1.0)))
    if not SLERP_MIN_ANGLE <= omega <= SLERP_MAX_ANGLE:
        return lerp(a, b, n)
    t = np.linspace(0.0, 1.0, n)[:, None]
    points = (np.sin((1.0 - t) * omega) * va + np.sin(t * omega) * vb) / np.sin(omega)
    points[0], points[-1] = va, vb  # exact ends, not ends up to rounding
    return _like(points, a)


INTERPOLATORS = {"lerp": lerp, "slerp": slerp}


def interpolate(a: ArrayLike, b: ArrayLike, n: int, mode: str = "lerp") -> ArrayLike:
    """:func:`lerp` or :func:`slerp` by name, for menus and the CLI."""
    try:
        return INTERPOLATORS[mode](a, b, n)
    except KeyError:
        raise ConfigError(f"unknown interpolation mode {mode!r}; choose {' or '.join(INTERPOLATORS)}") from None


def resample_polyline(points: ArrayLike, n: int) -> ArrayLike:
    """n points at equal arc-length spacing along a polyline (a freehand path), ends kept.

    A mouse drag yields points bunched where the hand slowed down; resampling makes each
    frame of the strip the same distance apart along the drawn curve. Repeated points
    (zero-length segments) are harmless; a path of one point, or of one point repeated,
    gives that point n times.
    """
    n = _check_steps(n)
    arr = points.detach().cpu().double().numpy() if isinstance(points, torch.Tensor) else np.asarray(points, np.float64)
    if arr.ndim != 2 or len(arr) == 0 or arr.shape[1] == 0:
        raise ConfigError(f"a polyline is an (N, D) array of N >= 1 points, got shape {tuple(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise ConfigError("a polyline's points must be finite numbers")
    seg = np.linalg.norm(np.diff(arr, axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    total = arc[-1]
    if total == 0.0:
        return _like(np.repeat(arr[:1], n, axis=0), points)
    keep = np.concatenate([[True], seg > 0])  # np.interp needs increasing x
    arc, arr = arc[keep], arr[keep]
    targets = np.linspace(0.0, total, n)
    out = np.stack([np.interp(targets, arc, arr[:, d]) for d in range(arr.shape[1])], axis=1)
    out[0], out[-1] = arr[0], arr[-1]
    return _like(out, points)


def class_centroids(latents: ArrayLike, labels, num_classes: int | None = None) -> ArrayLike:
    """Mean latent of each class: (C, D), row c for class c.

    ``num_classes`` defaults to the largest label + 1. A class with no member gets a row
    of NaN, so the rows still line up with class indices; callers that need a centroid
    check with :func:`require_centroid`.
    """
    z = latents.detach().cpu().double().numpy() if isinstance(latents, torch.Tensor) else np.asarray(latents, np.float64)
    y = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    y = y.astype(np.int64).reshape(-1)
    if z.ndim != 2 or len(z) != len(y):
        raise ConfigError(f"latents must be (N, D) with one label each; got {tuple(z.shape)} and {len(y)} labels")
    if len(y) and y.min() < 0:
        raise ConfigError("class labels must be non-negative")
    c = int(num_classes) if num_classes is not None else (int(y.max()) + 1 if len(y) else 0)
    sums = np.zeros((c, z.shape[1]))
    np.add.at(sums, y[y < c], z[y < c])
    counts = np.bincount(y[y < c], minlength=c).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts[:, None]
    means[counts == 0] = np.nan
    return _like(means, latents)


def require_centroid(centroids, cls: int, class_names: list[str] | None = None):
    """Row ``cls`` of ``centroids``, or a ConfigError naming the class when it has no members."""
    name = class_names[cls] if class_names is not None and 0 <= cls < len(class_names) else str(cls)
    if not 0 <= cls < len(centroids):
        raise ConfigError(f"class {name!r} is not among the {len(centroids)} classes")
    row = centroids[cls]
    values = row.detach().cpu().numpy() if isinstance(row, torch.Tensor) else np.asarray(row)
    if not np.all(np.isfinite(values)):
        raise ConfigError(f"class {name!r} has no images here, so it has no centroid")
    return row


def centroid_endpoints(latents: ArrayLike, labels, a: int, b: int) -> tuple[ArrayLike, ArrayLike]:
    """(centroid of class a, centroid of class b): the ends of a class-to-class path."""
    centroids = class_centroids(latents, labels, max(a, b) + 1)
    return require_centroid(centroids, a), require_centroid(centroids, b)


def typical_indices(images: torch.Tensor, labels, classes) -> list[int]:
    """For each class in ``classes``, the index of its most typical image.

    "Typical" is the image closest (Euclidean, in pixel space) to its class's mean image.
    The rule uses no model, so every model in a comparison starts from the same pictures,
    and it is deterministic (ties go to the lowest index).
    """
    x = images.detach().float().flatten(1).cpu()
    y = torch.as_tensor(labels).cpu().long().reshape(-1)
    out = []
    for cls in classes:
        members = torch.nonzero(y == int(cls)).reshape(-1)
        if len(members) == 0:
            raise ConfigError(f"class {cls} has no images to start a path from")
        xs = x[members]
        dist = (xs - xs.mean(0, keepdim=True)).pow(2).sum(1)
        out.append(int(members[int(torch.argmin(dist))]))
    return out
