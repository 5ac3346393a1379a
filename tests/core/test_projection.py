"""Projections and their inverse maps: slice, PCA and a precomputed (UMAP-like) embedding."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from latentlab.errors import ConfigError
from latentlab.latent.embedding import EmbeddingProjection, shepard_weights
from latentlab.latent.neighbours import PlaneIndex, is_far
from latentlab.latent.projection import PCAProjection, SliceProjection


def stretched_latents(n: int = 600, dim: int = 6, seed: int = 0) -> np.ndarray:
    """Gaussian latents with very different spreads per dimension, rotated."""
    rng = np.random.default_rng(seed)
    scales = np.linspace(3.0, 0.2, dim)
    rotation, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return ((rng.normal(size=(n, dim)) * scales) @ rotation.T + 1.5).astype(np.float32)


def manifold(n: int = 2000, dim: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray, callable]:
    """Latents on a smooth 2-D sheet in ``dim`` dimensions, and the sheet's own coordinates
    as the embedding: the embedding a perfect UMAP would find. Returns (uv, latents, sheet)."""
    rng = np.random.default_rng(seed)
    uv = rng.uniform(0.0, 1.0, (n, 2))
    mix = rng.normal(size=(4, dim))

    def sheet(points: np.ndarray) -> np.ndarray:
        u, v = points[:, 0], points[:, 1]
        features = np.stack([u, v, np.sin(3 * u) * v, np.cos(2 * v) + u * u], 1)
        return (features @ mix).astype(np.float32)

    return uv, sheet(uv), sheet


# ----------------------------------------------------------------------- PCA
def test_pca_inverse_maps_back_onto_the_same_plane_point():
    latents = stretched_latents()
    projection = PCAProjection.fit(latents)
    xy = np.random.default_rng(1).normal(scale=4.0, size=(200, 2)).astype(np.float32)
    np.testing.assert_allclose(projection.to_plane(projection.to_latent(xy)), xy, atol=1e-5)
    assert projection.kind == "pca" and not projection.is_exact
    assert projection.to_latent(xy).shape == (200, 6) and projection.to_latent(xy).dtype == np.float32


def test_pca_of_a_2d_latent_is_exact_both_ways():
    rng = np.random.default_rng(2)
    latents = (rng.normal(size=(500, 2)) * [2.0, 0.5] @ [[0.6, 0.8], [-0.8, 0.6]] + [1.0, -2.0]).astype(np.float32)
    projection = PCAProjection.fit(latents)
    assert projection.is_exact
    np.testing.assert_allclose(projection.to_latent(projection.to_plane(latents)), latents, atol=1e-5)
    # a rotation: distances between points are kept
    plane = projection.to_plane(latents)
    np.testing.assert_allclose(np.linalg.norm(plane[1:] - plane[:-1], axis=1),
                               np.linalg.norm(latents[1:] - latents[:-1], axis=1), rtol=1e-4, atol=1e-5)


def test_pca_shows_the_directions_of_largest_variance_through_the_mean():
    rng = np.random.default_rng(3)
    direction = np.array([1.0, 2.0, -2.0, 0.0]) / 3.0
    latents = (rng.normal(size=(800, 1)) * 5.0 * direction + rng.normal(scale=0.3, size=(800, 4)) + 7.0)
    projection = PCAProjection.fit(latents.astype(np.float32))
    assert abs(float(projection.components[0] @ direction)) > 0.99
    np.testing.assert_allclose(projection.to_latent(np.zeros((1, 2)))[0], latents.mean(0), atol=1e-4)
    assert projection.explained[0] > 0.9
    assert projection.axis_labels()[0].startswith("PC1 (")


def test_a_refit_keeps_the_previous_fits_component_signs():
    latents = stretched_latents()
    first = PCAProjection.fit(latents)
    flipped = PCAProjection.fit(latents)
    flipped.components = flipped.components * [[-1.0], [1.0]]  # what a refit to new latents may do
    aligned = flipped.aligned_with(first)
    np.testing.assert_allclose(aligned.components, first.components)
    np.testing.assert_allclose(aligned.to_plane(latents), first.to_plane(latents), atol=1e-5)
    assert aligned.explained == first.explained
    assert aligned.distance_to_data([[0.0, 0.0]])[0] == pytest.approx(first.distance_to_data([[0.0, 0.0]])[0])
    assert first.aligned_with(first) is first and first.aligned_with(None) is first
    assert first.aligned_with(PCAProjection.fit(latents[:, :4])) is first  # another latent size: nothing to align


def test_pca_needs_two_dimensions_and_two_points():
    with pytest.raises(ConfigError, match="at least 2 dimensions"):
        PCAProjection.fit(np.zeros((10, 1), np.float32))
    with pytest.raises(ConfigError, match="at least 2 data points"):
        PCAProjection.fit(np.zeros((1, 4), np.float32))


# ----------------------------------------------------------------- embedding
def test_embedding_inverse_returns_a_data_points_own_latent_at_its_position():
    uv, latents, _ = manifold()
    projection = EmbeddingProjection(uv, latents)
    np.testing.assert_allclose(projection.to_latent(uv[:300]), latents[:300], atol=1e-5)
    # and a hair away from it, almost that latent
    nudged = projection.to_latent(uv[:300] + 1e-6 * projection.spacing)
    np.testing.assert_allclose(nudged, latents[:300], atol=1e-3)


def test_embedding_inverse_lands_near_the_latent_of_the_nearest_data_point():
    uv, latents, sheet = manifold()
    projection = EmbeddingProjection(uv, latents)
    latent_tree = cKDTree(latents)
    latent_spacing = float(np.median(latent_tree.query(latents, k=2)[0][:, 1]))
    xy = np.random.default_rng(5).uniform(0.05, 0.95, (500, 2))
    z = projection.to_latent(xy)
    nearest = cKDTree(uv).query(xy)[1]
    gap = np.linalg.norm(z - latents[nearest], axis=1)
    # typically under a latent spacing; where the nearest data point is itself far away in
    # the plane, proportionally more (a few latent spacings per plane spacing)
    assert np.median(gap) < 0.6 * latent_spacing
    assert np.max(gap / (latent_spacing * np.maximum(1.0, projection.distance_to_data(xy)))) < 4.0
    # and close to where the sheet really is (the embedding is perfect here)
    assert np.median(np.linalg.norm(z - sheet(xy), axis=1)) < 1.0 * latent_spacing


def test_embedding_inverse_is_continuous_while_dragging():
    """No jumps where the set of nearest neighbours changes (plain k-NN weighting jumps)."""
    uv, latents, _ = manifold(n=800)
    projection = EmbeddingProjection(uv, latents)
    latent_spacing = float(np.median(cKDTree(latents).query(latents, k=2)[0][:, 1]))
    step = 1e-4 * projection.spacing
    t = np.arange(0.0, 0.3, step)
    path = np.stack([0.2 + t, 0.3 + 0.5 * t], 1)
    z = projection.to_latent(path)
    jumps = np.linalg.norm(np.diff(z, axis=0), axis=1)
    assert np.max(jumps) < 0.01 * latent_spacing


def test_embedding_to_plane_gives_the_embedding_for_the_data_and_nearby_for_new_latents():
    uv, latents, sheet = manifold()
    projection = EmbeddingProjection(uv, latents)
    np.testing.assert_array_equal(projection.to_plane(latents), uv.astype(np.float32))
    np.testing.assert_allclose(projection.to_plane(latents[:50] + 1e-7), uv[:50], atol=1e-4)
    inside = np.random.default_rng(6).uniform(0.1, 0.9, (200, 2))
    back = projection.to_plane(sheet(inside))
    assert np.median(np.linalg.norm(back - inside, axis=1)) < 2.0 * projection.spacing


def test_distance_to_data_is_zero_on_data_about_one_between_and_grows_away():
    uv, latents, _ = manifold()
    projection = EmbeddingProjection(uv, latents)
    np.testing.assert_allclose(projection.distance_to_data(uv[:20]), 0.0)
    between = projection.distance_to_data(np.random.default_rng(7).uniform(0.1, 0.9, (300, 2)))
    assert np.median(between) < 1.5
    assert np.mean([is_far(d) for d in between]) < 0.02  # random points between data are rarely "far"
    away = np.stack([np.full(6, 1.0), np.full(6, 0.5)], 1) + np.array([[s, 0.0] for s in (0, .05, .1, .2, .5, 1)])
    distances = projection.distance_to_data(away)
    assert np.all(np.diff(distances[1:]) > 0) and is_far(distances[-1])


def test_far_from_the_data_the_inverse_settles_on_the_nearest_latents():
    uv, latents, _ = manifold(n=500)
    projection = EmbeddingProjection(uv, latents)
    far = projection.to_latent(np.array([[50.0, 0.5], [60.0, 0.5]]))
    low, high = latents.min(0), latents.max(0)
    assert np.all(far >= low - 1e-5) and np.all(far <= high + 1e-5)  # a mean of data latents
    np.testing.assert_allclose(far[0], far[1], atol=1e-2 * np.ptp(latents))


def test_embedding_checks_its_inputs_and_handles_tiny_data():
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        EmbeddingProjection(np.zeros((4, 3)), np.zeros((4, 5)))
    with pytest.raises(ValueError, match="match"):
        EmbeddingProjection(np.zeros((4, 2)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="NaN"):
        EmbeddingProjection(np.full((4, 2), np.nan), np.zeros((4, 5)))
    one = EmbeddingProjection(np.array([[1.0, 2.0]]), np.array([[3.0, 4.0, 5.0]]))
    np.testing.assert_allclose(one.to_latent(np.array([[0.0, 0.0], [9.0, 9.0]])), [[3, 4, 5], [3, 4, 5]])
    assert one.distance_to_data(np.array([[1.0, 3.0]]))[0] == pytest.approx(1.0)  # spacing 1 without a gap
    assert one.kind == "umap" and not one.is_exact and one.axis_labels() == ("UMAP 1", "UMAP 2")


def test_shepard_weights_sum_to_one_pick_a_point_they_sit_on_and_survive_ties():
    weights = shepard_weights(np.array([[0.0, 1.0, 2.0], [1.0, 2.0, 4.0], [1.0, 1.0, 1.0]]))
    np.testing.assert_allclose(weights.sum(1), 1.0)
    np.testing.assert_array_equal(weights[0], [1.0, 0.0])
    assert weights[1, 0] > weights[1, 1] > 0
    np.testing.assert_allclose(weights[2], [0.5, 0.5])  # all equally far: plain inverse distance


# --------------------------------------------------------------------- slice
def test_slice_through_the_mean_measures_distance_to_data_and_a_bare_one_cannot():
    latents = stretched_latents(dim=4)
    projection = SliceProjection.through_mean(latents, (1, 3))
    assert projection.kind == "slice"
    plane = projection.to_plane(latents)
    assert projection.distance_to_data(plane[:5]).max() == 0.0
    assert projection.distance_to_data(plane[:1] + 100.0)[0] > 10.0
    assert np.isnan(SliceProjection(2).distance_to_data(np.zeros((3, 2)))).all()


def test_plane_index_spacing_ignores_duplicated_points():
    points = np.array([[0.0, 0.0]] * 10 + [[1.0, 0.0], [3.0, 0.0]])
    index = PlaneIndex(points)
    # the median of all gaps is 0 (ten duplicates): the median of the non-zero gaps (1, 2) counts
    assert index.spacing == pytest.approx(1.5)
    assert PlaneIndex(np.zeros((5, 2))).spacing == 1.0
