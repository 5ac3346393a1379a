"""How far plane points lie from the data, in a unit a user can read.

Every projection draws the data as points in the plane; the decode at a plane point is
trustworthy near those points and an extrapolation far from them. :class:`PlaneIndex`
answers "how far" with one number: the distance to the nearest data point divided by the
data's *spacing*, the median distance from a data point to its nearest other data point
in the plane. So 0 is on a data point, about 1 is as far as neighbouring data points lie
apart, and 5 is five typical gaps out into empty plane. The unit does not depend on the
scale of the axes (PCA units, UMAP's arbitrary units), so one threshold fits them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy.spatial import cKDTree

#: From this many spacings away a decode is shown as an extrapolation (see ``is_far``).
FAR_SPACINGS = 3.0


class PlaneIndex:
    """A k-d tree over the data's plane positions, built once, and their spacing."""

    def __init__(self, plane_points: np.ndarray) -> None:
        points = np.asarray(plane_points, np.float64).reshape(-1, 2)
        if len(points) == 0:
            raise ValueError("a plane index needs at least one data point")
        self.points = points
        from scipy.spatial import cKDTree  # here, not at import: SciPy costs ~0.2 s of start-up

        self.tree = cKDTree(points, balanced_tree=False)  # builds ~2x faster; 2-D queries as fast
        self.spacing = median_spacing(self.tree, points)

    def query(self, xy: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Distances and indices (N, k) of the ``k`` nearest data points to each plane point."""
        xy = np.atleast_2d(np.asarray(xy, np.float64))
        k = min(k, len(self.points))
        distances, indices = self.tree.query(xy, k=k)
        return distances.reshape(len(xy), k), indices.reshape(len(xy), k)

    def distance_to_data(self, xy: np.ndarray) -> np.ndarray:
        """(N,) distance from each plane point to the nearest data point, in spacings."""
        distances, _ = self.query(xy, 1)
        return distances[:, 0] / self.spacing


#: The spacing is the median over this many points (a fixed random sample of larger sets):
#: as good a unit, at a fraction of the cost for 60,000 points.
SPACING_SAMPLE = 4000


def median_spacing(tree: "cKDTree", points: np.ndarray) -> float:
    """Median distance from a point to its nearest *other* point; never 0.

    Duplicated points (a collapsed latent) would give 0: then the median of the non-zero
    gaps is used, and with no gap at all (one point, or all equal) 1.0.
    """
    if len(points) < 2:
        return 1.0
    if len(points) > SPACING_SAMPLE:
        points = points[np.random.default_rng(0).choice(len(points), SPACING_SAMPLE, replace=False)]
    distances, _ = tree.query(points, k=2)
    gaps = distances[:, 1]
    positive = gaps[gaps > 0]
    if len(positive) == 0:
        return 1.0
    spacing = float(np.median(gaps))
    return spacing if spacing > 0 else float(np.median(positive))


def is_far(distance_in_spacings: float) -> bool:
    """True when a decode at that distance is an extrapolation rather than an interpolation."""
    return bool(distance_in_spacings >= FAR_SPACINGS)
