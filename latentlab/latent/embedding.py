"""A projection onto a precomputed 2-D embedding of the data (UMAP), with a fast inverse.

umap-learn's own ``inverse_transform`` takes 1.8 s per point at 5,000 points, far too
slow to follow a dragged marker. The map only needs a good guess of a latent for a plane
point *near the data*, and the data's own pairs (embedding position, latent) are exactly
such guesses. So both directions interpolate between data points:

- ``to_latent(xy)``: the latents of the ``k`` data points nearest to ``xy`` in the
  embedding, averaged with Franke–Little (modified Shepard) weights
  ``w_i = ((R - d_i) / (R d_i))**2``, where ``d_i`` is the plane distance to neighbour
  ``i`` and ``R`` the distance to the (k+1)-th neighbour. Like plain inverse-distance
  weighting it returns a data point's own latent at that point's position, but a
  neighbour's weight falls to zero before it leaves the set, so the latent (and the
  decoded image) changes continuously while the marker is dragged, without jumps where
  the set of neighbours changes. Far from the data the result barely changes any more
  and never leaves the blend of the nearest data's latents (it cannot extrapolate):
  ``distance_to_data`` tells the user so.
- ``to_plane(z)``: the data's own embedding for the data's latents (exactly), and for
  other latents the same weighting of the embedding positions of the ``k`` nearest data
  latents (in latent space), much as UMAP's own ``transform`` places new points at first.

The plane's k-d tree is built at construction (milliseconds at 5,000 points, tens of
milliseconds at 60,000), the latent space's on the first ``to_plane`` of latents that are
not the data's (the map only ever asks for the data's). A query costs tens of microseconds per point at 5,000 points, and
grids of points (territory, manifold) are one vectorised query.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.spatial import cKDTree

from latentlab.latent.neighbours import PlaneIndex

#: Neighbours averaged by both directions; 8 keeps the inverse local yet smooth.
DEFAULT_NEIGHBOURS = 8


def shepard_weights(distances: np.ndarray) -> np.ndarray:
    """Franke–Little weights (N, k) that sum to 1, from (N, k+1) sorted neighbour distances.

    ``R`` is the last column. A row that sits on a data point (first distance 0) gets that
    point's value alone. Where all k+1 neighbours are equally far (every weight would be
    0) plain inverse-distance weights are used; with a single data point there is nothing
    to weigh.
    """
    if distances.shape[1] == 1:
        return np.ones_like(distances)
    d = distances[:, :-1]
    radius = distances[:, -1:]
    on_point = d[:, 0] <= 0.0
    weights = np.zeros_like(d)
    rows = ~on_point
    if np.any(rows):
        dr, rr = d[rows], radius[rows]
        w = (np.maximum(rr - dr, 0.0) / (rr * dr)) ** 2
        total = w.sum(1, keepdims=True)
        flat = ~(np.isfinite(total[:, 0]) & (total[:, 0] > 0.0))
        if np.any(flat):
            w[flat] = 1.0 / dr[flat] ** 2
            total[flat] = w[flat].sum(1, keepdims=True)
        weights[rows] = w / total
    weights[on_point, 0] = 1.0  # exactly on a data point: that point's value, not a blend
    return weights


class EmbeddingProjection:
    """The data drawn at a precomputed embedding (N, 2), decoded through their latents (N, D)."""

    kind: ClassVar[str] = "umap"

    def __init__(self, embedding: np.ndarray, latents: np.ndarray, *, neighbours: int = DEFAULT_NEIGHBOURS,
                 method: str = "UMAP") -> None:
        embedding = np.asarray(embedding, np.float64)
        latents = np.asarray(latents, np.float32)
        if embedding.ndim != 2 or embedding.shape[1] != 2:
            raise ValueError(f"an embedding is (N, 2), got shape {embedding.shape}")
        if latents.ndim != 2 or len(latents) != len(embedding):
            raise ValueError(f"latents (N, D) must match the embedding's N={len(embedding)}, got {latents.shape}")
        if len(latents) == 0:
            raise ValueError("an embedding projection needs at least one data point")
        if not np.all(np.isfinite(embedding)):
            raise ValueError("the embedding has NaN or infinite positions")
        self.embedding = embedding
        self.latents = latents
        self.method = method
        self.neighbours = max(1, min(int(neighbours), len(latents)))
        self._plane = PlaneIndex(embedding)
        self._latent_tree: cKDTree | None = None  # built when first needed (see the module doc)

    @property
    def latent_dim(self) -> int:
        return int(self.latents.shape[1])

    @property
    def is_exact(self) -> bool:
        """Never: between data points the inverse is an interpolation, not UMAP's inverse."""
        return False

    @property
    def spacing(self) -> float:
        """Median distance between neighbouring data points in the embedding (the unit of
        ``distance_to_data``)."""
        return self._plane.spacing

    def to_latent(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) plane points -> (N, D) latents: a weighted mean of the nearest data's latents."""
        xy = np.atleast_2d(np.asarray(xy, np.float64))
        distances, indices = self._query(self._plane.tree, xy)
        weights = shepard_weights(distances)
        neighbours = self.latents[indices[:, : weights.shape[1]]].astype(np.float64)
        return np.einsum("nk,nkd->nd", weights, neighbours).astype(np.float32)

    def to_plane(self, z: np.ndarray) -> np.ndarray:
        """(N, D) latents -> (N, 2): the data's embedding for its own latents, else a
        weighted mean of the embedding positions of the nearest data latents."""
        z = np.atleast_2d(np.asarray(z, np.float32))
        if z.shape == self.latents.shape and np.array_equal(z, self.latents):
            return self.embedding.astype(np.float32)
        if self._latent_tree is None:  # two threads may both build it: harmless, and no lock to wait on
            self._latent_tree = cKDTree(self.latents.astype(np.float64))
        distances, indices = self._query(self._latent_tree, z.astype(np.float64))
        weights = shepard_weights(distances)
        positions = self.embedding[indices[:, : weights.shape[1]]]
        return np.einsum("nk,nkd->nd", weights, positions).astype(np.float32)

    def distance_to_data(self, xy: np.ndarray) -> np.ndarray:
        """(N,) distance to the nearest data point in the embedding, in data spacings:
        about 1 between data points; well above that the decode is an extrapolation (the
        inverse then returns the mean latent of the nearest few data points)."""
        return self._plane.distance_to_data(xy)

    def axis_labels(self) -> tuple[str, str]:
        return f"{self.method} 1", f"{self.method} 2"

    def _query(self, tree: cKDTree, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """k+1 nearest data points (the last one only sets the weights' radius)."""
        k = min(self.neighbours + 1, len(self.latents))
        distances, indices = tree.query(points, k=k)
        return distances.reshape(len(points), k), indices.reshape(len(points), k)
