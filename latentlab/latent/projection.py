"""Maps between a latent space and the 2-D plane the window draws, in both directions.

Every projection (see :class:`Projection`) has ``to_plane(z) -> xy`` and
``to_latent(xy) -> z``, so a click on the map can always be decoded, and
``distance_to_data(xy)`` says how far a plane point lies from the data (in data spacings,
see :mod:`latentlab.latent.neighbours`), so the window can say when a decode is an
extrapolation.

- ``SliceProjection`` shows two chosen dimensions and holds the others at a base point
  (the data mean): for a 2-D latent it is the identity.
- ``PCAProjection`` shows the plane of the data's two principal components; its inverse
  maps back onto that plane in latent space, so ``to_plane(to_latent(xy)) == xy`` and for
  a 2-D latent (where the plane is the whole space) both directions are exact.
- ``EmbeddingProjection`` (in :mod:`latentlab.latent.embedding`) shows a precomputed
  non-linear embedding such as UMAP, with a fast local inverse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Protocol

import numpy as np

from latentlab.errors import ConfigError
from latentlab.latent.neighbours import PlaneIndex


class Projection(Protocol):
    """What the window needs of a projection; plane points and latents are float32."""

    #: "slice", "pca" or "umap": which picker entry made it.
    kind: str

    @property
    def is_exact(self) -> bool:
        """True when ``to_latent(to_plane(z)) == z`` for every latent point."""

    def to_plane(self, z: np.ndarray) -> np.ndarray:
        """(N, D) latents -> (N, 2) plane points."""

    def to_latent(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) plane points -> (N, D) latents (what a click decodes)."""

    def distance_to_data(self, xy: np.ndarray) -> np.ndarray:
        """(N,) distance from each plane point to the nearest data point, in data spacings."""

    def axis_labels(self) -> tuple[str, str]:
        """Labels of the horizontal and vertical axis."""


@dataclass
class SliceProjection:
    kind: ClassVar[str] = "slice"

    latent_dim: int
    dims: tuple[int, int] = (0, 1)
    #: Values of the dimensions that are not shown (the data mean by default).
    base: np.ndarray = field(default=None)  # type: ignore[assignment]
    #: The data's latents, for ``distance_to_data``; set by ``through_mean``.
    _data: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    _index: PlaneIndex | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.latent_dim < 1:
            raise ConfigError("latent_dim must be >= 1")
        if self.latent_dim == 1:
            self.dims = (0, 0)
        elif not (0 <= self.dims[0] < self.latent_dim and 0 <= self.dims[1] < self.latent_dim) or self.dims[0] == self.dims[1]:
            raise ConfigError(f"slice dimensions {self.dims} must be two different ones of 0..{self.latent_dim - 1}")
        self.base = np.zeros(self.latent_dim, np.float32) if self.base is None else np.asarray(self.base, np.float32).copy()

    @classmethod
    def through_mean(cls, latents: np.ndarray, dims: tuple[int, int] = (0, 1)) -> "SliceProjection":
        """The slice through ``dims`` with the other dimensions at the data mean.

        It also remembers where the data lies in the plane, for ``distance_to_data``.
        Fine for any latent size: for a 2-D latent it is the identity, as ``cls(2)`` is.
        """
        latents = np.asarray(latents, np.float32)
        # Without data (a model opened without its dataset) the slice goes through the origin.
        base = latents.mean(0) if len(latents) else np.zeros(latents.shape[1], np.float32)
        projection = cls(latents.shape[1], dims, base)
        projection._data = latents if len(latents) else None
        return projection

    @property
    def is_exact(self) -> bool:
        """True when the plane shows the whole latent space (a 2-D latent)."""
        return self.latent_dim <= 2

    def to_plane(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, np.float32)
        if self.latent_dim == 1:  # a 1-D latent is drawn along x
            return np.stack([z[:, 0], np.zeros(len(z), np.float32)], 1)
        return z[:, list(self.dims)]

    def to_latent(self, xy: np.ndarray) -> np.ndarray:
        xy = np.atleast_2d(np.asarray(xy, np.float32))
        z = np.repeat(self.base[None, :], len(xy), axis=0)
        z[:, self.dims[0]] = xy[:, 0]
        if self.latent_dim > 1:
            z[:, self.dims[1]] = xy[:, 1]
        return z

    def distance_to_data(self, xy: np.ndarray) -> np.ndarray:
        """(N,) distance to the nearest data point in the plane, in data spacings.

        NaN for a slice made without data (``SliceProjection(dim)`` rather than
        ``through_mean``): there is nothing to measure against. Note that a slice of a
        latent of more than 2-D flattens the other dimensions, so a point close to the
        data in the plane can still be far from it in latent space.
        """
        return _distance_to_data(self, xy)

    def axis_labels(self) -> tuple[str, str]:
        if self.latent_dim == 1:
            return "z0", "(1-D latent)"
        if self.is_exact:
            return f"z{self.dims[0]}", f"z{self.dims[1]}"
        return (f"z{self.dims[0]} (others at data mean)", f"z{self.dims[1]} (others at data mean)")


@dataclass
class PCAProjection:
    """The plane of the data's first two principal components (scikit-learn's PCA).

    ``to_plane(z) = (z - mean) @ components.T``; ``to_latent(xy) = mean + xy @ components``
    puts the plane point back on that plane in latent space, the best linear guess for
    the dimensions the plane does not show. The components are orthonormal, so
    ``to_plane(to_latent(xy)) == xy``, and for a 2-D latent (components: a rotation or
    reflection of the whole space) ``to_latent(to_plane(z)) == z`` as well. The sums run
    in float64 and only the results are float32, so both hold to float32 round-off.
    """

    kind: ClassVar[str] = "pca"

    mean: np.ndarray  # (D,)
    components: np.ndarray  # (2, D), orthonormal rows
    #: Fraction of the data's variance along each component.
    explained: tuple[float, float] = (float("nan"), float("nan"))
    _data: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)
    _index: PlaneIndex | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def fit(cls, latents: np.ndarray) -> "PCAProjection":
        """Fit the two components to ``latents`` (N, D), N >= 2 and D >= 2.

        The first call in a process imports scikit-learn's decomposition module (~1 s cold),
        so the window should import it off the GUI thread beforehand (its warm-up).
        """
        from sklearn.decomposition import PCA

        latents = np.asarray(latents, np.float64)
        if latents.ndim != 2 or latents.shape[1] < 2:
            raise ConfigError(f"PCA needs latents of at least 2 dimensions, got shape {latents.shape}; "
                              "use the slice for a 1-D latent")
        if len(latents) < 2:
            raise ConfigError(f"PCA needs at least 2 data points, got {len(latents)}")
        pca = PCA(n_components=2, svd_solver="full").fit(latents)
        ratio = pca.explained_variance_ratio_
        projection = cls(pca.mean_.astype(np.float64), pca.components_.astype(np.float64),
                         (float(ratio[0]), float(ratio[1])))
        projection._data = latents.astype(np.float32)
        return projection

    def aligned_with(self, previous: "PCAProjection | None") -> "PCAProjection":
        """This fit with each component's sign flipped where it points away from the same
        component of ``previous`` (same latent size), else itself.

        A component's sign is arbitrary, and a refit to slightly different latents (the next
        snapshot of a training run) may flip it: the whole map would mirror. Flipping a
        component changes nothing else (the plane, the variance, the exactness).
        """
        if not isinstance(previous, PCAProjection) or previous.components.shape != self.components.shape:
            return self
        signs = np.where(np.sum(self.components * previous.components, axis=1) < 0, -1.0, 1.0)
        if np.all(signs > 0):
            return self
        aligned = PCAProjection(self.mean, self.components * signs[:, None], self.explained)
        aligned._data = self._data
        return aligned

    @property
    def latent_dim(self) -> int:
        return int(self.components.shape[1])

    @property
    def is_exact(self) -> bool:
        """True for a 2-D latent, where the PCA plane is the whole latent space."""
        return self.latent_dim <= 2

    def to_plane(self, z: np.ndarray) -> np.ndarray:
        z = np.atleast_2d(np.asarray(z, np.float64))
        return ((z - self.mean) @ self.components.T).astype(np.float32)

    def to_latent(self, xy: np.ndarray) -> np.ndarray:
        xy = np.atleast_2d(np.asarray(xy, np.float64))
        return (self.mean + xy @ self.components).astype(np.float32)

    def distance_to_data(self, xy: np.ndarray) -> np.ndarray:
        """(N,) distance to the nearest data point in the plane, in data spacings (NaN
        without data). As for a slice, the other dimensions are not measured."""
        return _distance_to_data(self, xy)

    def axis_labels(self) -> tuple[str, str]:
        return tuple(f"PC{i + 1} ({share:.0%} of the variance)" for i, share in enumerate(self.explained))


def _distance_to_data(projection: SliceProjection | PCAProjection, xy: np.ndarray) -> np.ndarray:
    """``distance_to_data`` of a linear projection. The index of the data's plane positions
    is built on the first call, not with the projection: the window makes a new projection
    for every training snapshot and asks for distances only at the marker."""
    xy = np.atleast_2d(np.asarray(xy, np.float32))
    if projection._data is None:
        return np.full(len(xy), np.nan)
    if projection._index is None:  # two threads may both build it: harmless, and no lock to wait on
        projection._index = PlaneIndex(projection.to_plane(projection._data))
    return projection._index.distance_to_data(xy)
