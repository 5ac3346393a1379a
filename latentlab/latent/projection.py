"""Maps between a latent space and the 2-D plane the window draws, in both directions.

Every projection has ``to_plane(z) -> xy`` and ``to_latent(xy) -> z``, so a click on the
map can always be decoded. ``SliceProjection`` shows two chosen dimensions and holds the
others at a base point (the data mean): for a 2-D latent it is the identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from latentlab.errors import ConfigError


@dataclass
class SliceProjection:
    latent_dim: int
    dims: tuple[int, int] = (0, 1)
    #: Values of the dimensions that are not shown (the data mean by default).
    base: np.ndarray = field(default=None)  # type: ignore[assignment]

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
        latents = np.asarray(latents, np.float32)
        return cls(latents.shape[1], dims, latents.mean(0))

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

    def axis_labels(self) -> tuple[str, str]:
        if self.latent_dim == 1:
            return "z0", "(1-D latent)"
        if self.is_exact:
            return f"z{self.dims[0]}", f"z{self.dims[1]}"
        return (f"z{self.dims[0]} (others at data mean)", f"z{self.dims[1]} (others at data mean)")
