"""The marker's distance to the data ("n spacings from the data"), checked against a brute-force
nearest-neighbour search in every projection, and against what a person sees on the map."""

import numpy as np
import pytest
import torch
from scipy.spatial import Delaunay

from latentlab.data import load_dataset, resources_dir
from latentlab.latent.embedding import EmbeddingProjection
from latentlab.latent.neighbours import BRUTE_FORCE_MAX, FAR_SPACINGS, LOCAL_NEIGHBOURS, PlaneIndex
from latentlab.latent.projection import PCAProjection, SliceProjection
from latentlab.models.checkpoint import load_checkpoint


def two_clusters(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """A dense cluster and one whose points lie three times further apart (uniform discs)."""
    rng = np.random.default_rng(seed)
    half = n // 2
    angle, radius = rng.uniform(0, 2 * np.pi, n), np.sqrt(rng.uniform(0, 1, n))
    disc = np.stack([np.cos(angle), np.sin(angle)], 1) * radius[:, None]
    plane = np.concatenate([disc[:half], 3.0 * disc[half:] + [8.0, 0.0]])
    latents = np.zeros((n, dim), np.float32)
    latents[:, :2] = plane
    if dim > 2:
        latents[:, 2:] = 0.05 * rng.normal(size=(n, dim - 2))
    return latents


def brute_force_distance(data_xy: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """The documented readout, from every pairwise distance: the distance to the nearest data
    point over the median nearest-neighbour gap of the query's LOCAL_NEIGHBOURS nearest data
    points, that median never below the median gap of all data points."""
    data_xy, xy = np.asarray(data_xy, np.float64), np.asarray(xy, np.float64)
    pairs = np.linalg.norm(data_xy[:, None] - data_xy[None], axis=2)
    np.fill_diagonal(pairs, np.inf)
    gaps = pairs.min(1)
    to_query = np.linalg.norm(xy[:, None] - data_xy[None], axis=2)
    nearest = np.argsort(to_query, axis=1)[:, :LOCAL_NEIGHBOURS]
    spacing = np.maximum(np.median(gaps[nearest], axis=1), np.median(gaps))
    return to_query.min(1) / spacing


def queries(data_xy: np.ndarray, n: int = 400, seed: int = 1) -> np.ndarray:
    """On data points, between them and out beyond the data."""
    rng = np.random.default_rng(seed)
    lo, hi = data_xy.min(0), data_xy.max(0)
    span = hi - lo
    return np.concatenate([data_xy[:20], rng.uniform(lo - span, hi + span, (n, 2))]).astype(np.float32)


@pytest.mark.parametrize("kind", ["slice", "pca", "umap", "slice (k-d tree)"])
def test_the_readout_is_the_brute_force_nearest_neighbour_distance(kind):
    n = BRUTE_FORCE_MAX + 500 if "k-d tree" in kind else 700
    latents = two_clusters(n, 2 if kind.startswith("slice") else 5)
    if kind.startswith("slice"):
        projection = SliceProjection.through_mean(latents)
        data_xy = projection.to_plane(latents)
    elif kind == "pca":
        projection = PCAProjection.fit(latents)
        data_xy = projection.to_plane(latents)
    else:  # a non-linear embedding, as UMAP's
        data_xy = np.stack([latents[:, 0] + 0.3 * np.sin(latents[:, 1]), latents[:, 1] ** 3 / 9], 1)
        projection = EmbeddingProjection(data_xy, latents)
    xy = queries(data_xy)
    readout = projection.distance_to_data(xy)
    np.testing.assert_allclose(readout, brute_force_distance(data_xy, xy), rtol=1e-4, atol=1e-5)
    assert np.all(readout[:20] == 0.0)  # on a data point


def test_inside_a_sparse_cluster_is_not_an_extrapolation_and_beyond_the_data_is():
    latents = two_clusters(1200, 2)
    index = PlaneIndex(latents)
    grid = np.stack(np.meshgrid(np.linspace(-2.4, 2.4, 40), np.linspace(-2.4, 2.4, 40)), -1).reshape(-1, 2)
    inside_sparse = grid[np.linalg.norm(grid, axis=1) < 2.4] + [8.0, 0.0]
    readout = index.distance_to_data(inside_sparse)
    # random points have holes: the biggest of 600 is about 3 gaps across; 1% may read "far"
    assert np.median(readout) < 1.2 and np.mean(readout >= FAR_SPACINGS) < 0.01
    # one map-wide unit (the dense cluster's gaps set its median) called much of it far
    assert np.mean(index.query(inside_sparse, 1)[0][:, 0] / index.spacing >= FAR_SPACINGS) > 0.1
    beyond = np.array([[8.0, 4.5], [8.0, -5.0], [12.0, 0.0], [4.0, 3.0], [0.0, 2.0], [-2.0, 0.0]])
    assert np.all(index.distance_to_data(beyond) >= FAR_SPACINGS)


def test_inside_the_shipped_vaes_7_cluster_no_point_reads_as_an_extrapolation():
    """The issue's report: "Extrapolating: 5.6 spacings" at a point inside the VAE map's 7s."""
    checkpoint = resources_dir() / "pretrained" / "vae.safetensors"
    model = load_checkpoint(checkpoint).model.eval()
    test = load_dataset("mnist-5k").test
    with torch.no_grad():
        latents = model.encode(test.images).numpy()
    labels = test.labels.numpy()
    projection = SliceProjection.through_mean(latents)
    grid = np.stack(np.meshgrid(np.linspace(-3, 3, 200), np.linspace(-3, 3, 200)), -1).reshape(-1, 2)
    _, nearest = PlaneIndex(latents).query(grid, 16)
    sevens = (labels[nearest] == 7).all(1)  # surrounded by 7s: inside the hull of its 16 nearest 7s
    inside = [p for p, near in zip(grid[sevens], nearest[sevens]) if Delaunay(latents[near]).find_simplex(p) >= 0]
    assert len(inside) > 50
    assert np.max(projection.distance_to_data(np.array(inside))) < FAR_SPACINGS
    radius = np.linalg.norm(latents, axis=1).max() + 1.0  # a ring one unit (a prior sd) beyond all data
    ring = radius * np.stack([np.cos(np.linspace(0, 2 * np.pi, 24)), np.sin(np.linspace(0, 2 * np.pi, 24))], 1)
    assert np.all(projection.distance_to_data(ring) >= FAR_SPACINGS)


def test_gaps_are_computed_once_per_data_point():
    index = PlaneIndex(np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0], [3.0, 0.0]]))
    np.testing.assert_allclose(index.gaps(np.array([0, 1, 2, 3])), [1.0, 1.0, 0.0, 0.0])
    assert index.spacing == pytest.approx(0.5)  # median of the gaps 1, 1, 0, 0
    np.testing.assert_allclose(index.local_spacing(np.array([[10.0, 0.0]])), [0.5])  # never below the median
