"""How far plane points lie from the data, in a unit a user can read.

Every projection draws the data as points in the plane; the decode at a plane point is
trustworthy near those points and an extrapolation far from them. :class:`PlaneIndex`
answers "how far" with one number: the distance to the nearest data point divided by the
*spacing* there, the typical gap between neighbouring data points in that part of the
plane. So 0 is on a data point, about 1 is as far as neighbouring data points lie apart
around it, and 5 is five such gaps out into empty plane. The unit does not depend on the
scale of the axes (PCA units, UMAP's arbitrary units), so one threshold fits them all.

The spacing is local because classes spread over the plane with very different densities:
the 2-D VAE's 7s lie 2.3 times further apart than the median pair of neighbours, so with
one map-wide unit a point between two 7s read "5.6 spacings: extrapolating" (a third of
the points inside its class clusters read 3 or more). Precisely, the spacing at a point is
the median of the nearest-neighbour gaps of its ``LOCAL_NEIGHBOURS`` nearest data points,
and never less than the map-wide median gap (dense regions are not held to a stricter
unit). Measured on the shipped 2-D models, 0.6-3.4 % of the points inside a class
cluster then read 3 or more (holes in the cluster), and every point further than half the
data's standard deviation from all data still does.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

#: From this many spacings away a decode is shown as an extrapolation (see ``is_far``).
FAR_SPACINGS = 3.0
#: The spacing at a point is the median gap of this many of its nearest data points.
LOCAL_NEIGHBOURS = 32


#: Up to this many data points a NumPy brute-force search answers a query as fast as a
#: k-d tree, without importing SciPy (~0.3 s, on the first screen's path: startup.py).
BRUTE_FORCE_MAX = 2048
#: Brute force compares at most this many (query, data point) pairs at once (~16 MB).
BRUTE_FORCE_PAIRS = 2**21


def _scipy_loaded() -> bool:
    """SciPy's k-d tree costs no import: a training run or a projection has loaded it."""
    return "scipy.spatial" in sys.modules


class PlaneIndex:
    """The data's plane positions, searchable for nearest neighbours, and their spacing
    (``spacing``: the map-wide median gap; ``local_spacing``: the unit of ``distance_to_data``).

    Small sets (the bundled test set's 1,000 points) are searched by brute force in
    NumPy until SciPy is imported anyway; larger ones, and all once SciPy is there, with
    its k-d tree, built on first use. The tree matters while a model trains: the window
    builds an index for every snapshot (4 a second), on the GUI thread, and the brute-force
    spacing of 1,000 points took 20 ms of CPU there, the tree 0.4 ms.
    """

    def __init__(self, plane_points: np.ndarray) -> None:
        points = np.asarray(plane_points, np.float64).reshape(-1, 2)
        if len(points) == 0:
            raise ValueError("a plane index needs at least one data point")
        self.points = points
        self._tree: cKDTree | None = None
        #: Each data point's distance to its nearest other data point (NaN: not needed yet).
        self._gaps = np.full(len(points), np.nan)
        self.spacing = median_spacing(self)

    @property
    def tree(self) -> cKDTree:
        """A k-d tree over the points (built once, on first use)."""
        if self._tree is None:
            from scipy.spatial import cKDTree  # here, not at import: SciPy costs ~0.3 s of start-up

            self._tree = cKDTree(self.points, balanced_tree=False)  # builds ~2x faster; 2-D queries as fast
        return self._tree

    def query(self, xy: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Distances and indices (N, k) of the ``k`` nearest data points to each plane point."""
        xy = np.atleast_2d(np.asarray(xy, np.float64))
        k = min(k, len(self.points))
        if len(self.points) <= BRUTE_FORCE_MAX and not _scipy_loaded():
            return _brute_force_query(self.points, xy, k)
        distances, indices = self.tree.query(xy, k=k)
        return distances.reshape(len(xy), k), indices.reshape(len(xy), k)

    def gaps(self, indices: np.ndarray) -> np.ndarray:
        """The distance from each of the data points ``indices`` to its nearest other data
        point (computed on first use: a training run asks for a few points per snapshot)."""
        indices = np.asarray(indices, np.int64)
        missing = np.unique(indices[np.isnan(self._gaps[indices])])
        if len(missing):
            distances, _ = self.query(self.points[missing], 2)
            self._gaps[missing] = distances[:, -1] if distances.shape[1] > 1 else 0.0
        return self._gaps[indices]

    def local_spacing(self, xy: np.ndarray) -> np.ndarray:
        """(N,) the spacing at each plane point: the median gap of its ``LOCAL_NEIGHBOURS``
        nearest data points, at least the map-wide ``spacing``."""
        _, indices = self.query(xy, LOCAL_NEIGHBOURS)
        return self._local_spacing(indices)

    def _local_spacing(self, indices: np.ndarray) -> np.ndarray:
        local = np.median(self.gaps(indices.ravel()).reshape(indices.shape), axis=1)
        return np.maximum(local, self.spacing)

    def distance_to_data(self, xy: np.ndarray) -> np.ndarray:
        """(N,) distance from each plane point to the nearest data point, in the spacing there."""
        distances, indices = self.query(xy, LOCAL_NEIGHBOURS)
        return distances[:, 0] / self._local_spacing(indices)


def _brute_force_query(points: np.ndarray, xy: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """``cKDTree.query`` by comparing every pair: (N, k) distances and indices, nearest first."""
    distances = np.empty((len(xy), k))
    indices = np.empty((len(xy), k), np.int64)
    step = max(1, BRUTE_FORCE_PAIRS // len(points))
    for start in range(0, len(xy), step):
        chunk = xy[start:start + step]
        d2 = ((chunk[:, None, :] - points[None, :, :]) ** 2).sum(axis=2)
        if k < len(points):
            nearest = np.argpartition(d2, k - 1, axis=1)[:, :k]
        else:
            nearest = np.tile(np.arange(k), (len(chunk), 1))
        near_d2 = np.take_along_axis(d2, nearest, axis=1)
        order = np.argsort(near_d2, axis=1, kind="stable")
        indices[start:start + step] = np.take_along_axis(nearest, order, axis=1)
        distances[start:start + step] = np.sqrt(np.take_along_axis(near_d2, order, axis=1))
    return distances, indices


#: The spacing is the median over this many points (a fixed random sample of larger sets):
#: as good a unit, at a fraction of the cost for 60,000 points.
SPACING_SAMPLE = 4000


def median_spacing(index: PlaneIndex) -> float:
    """Median distance from a data point to its nearest *other* one; never 0.

    Duplicated points (a collapsed latent) would give 0: then the median of the non-zero
    gaps is used, and with no gap at all (one point, or all equal) 1.0.
    """
    n = len(index.points)
    if n < 2:
        return 1.0
    sample = np.arange(n) if n <= SPACING_SAMPLE else np.random.default_rng(0).choice(n, SPACING_SAMPLE, replace=False)
    gaps = index.gaps(sample)
    positive = gaps[gaps > 0]
    if len(positive) == 0:
        return 1.0
    spacing = float(np.median(gaps))
    return spacing if spacing > 0 else float(np.median(positive))


def is_far(distance_in_spacings: float) -> bool:
    """True when a decode at that distance is an extrapolation rather than an interpolation."""
    return bool(distance_in_spacings >= FAR_SPACINGS)
