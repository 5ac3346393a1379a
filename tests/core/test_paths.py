"""Interpolation paths: ends, spacing, slerp's norm and fallbacks, freehand resampling,
centroids and the typical-image rule."""

import numpy as np
import pytest
import torch

from latentlab.errors import ConfigError
from latentlab.latent.paths import (
    centroid_endpoints,
    class_centroids,
    interpolate,
    lerp,
    resample_polyline,
    slerp,
    typical_indices,
)


def test_lerp_has_both_ends_and_even_steps():
    a, b = np.array([0.0, 0.0]), np.array([3.0, 6.0])
    path = lerp(a, b, 4)
    assert isinstance(path, np.ndarray) and path.dtype == np.float32 and path.shape == (4, 2)
    np.testing.assert_allclose(path, [[0, 0], [1, 2], [2, 4], [3, 6]], atol=1e-6)


def test_functions_return_the_kind_of_array_they_are_given():
    a, b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    for fn in (lerp, slerp):
        out = fn(a, b, 5)
        assert isinstance(out, torch.Tensor) and out.shape == (5, 2) and out.dtype == torch.float32


def test_slerp_keeps_the_norm_and_follows_the_great_circle():
    a, b = np.array([2.0, 0.0, 0.0]), np.array([0.0, 2.0, 0.0])
    path = slerp(a, b, 7)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 2.0, atol=1e-5)
    angles = np.arctan2(path[:, 1], path[:, 0])
    np.testing.assert_allclose(angles, np.linspace(0, np.pi / 2, 7), atol=1e-5)  # equal angular steps
    np.testing.assert_allclose(path[[0, -1]], [a, b])
    straight = lerp(a, b, 7)
    assert np.linalg.norm(straight[3]) < 1.5  # the chord cuts inside the sphere; slerp does not


@pytest.mark.parametrize(
    "a, b",
    [
        ([1.0, 1.0], [2.0, 2.0]),  # parallel: no plane to rotate in
        ([1.0, 1e-9], [1.0, 0.0]),  # near-parallel: sin(omega) ~ 0
        ([0.0, 0.0], [1.0, 2.0]),  # zero vector: no direction
        ([1.0, 0.0], [-1.0, 0.0]),  # opposite: no unique great circle
    ],
)
def test_slerp_falls_back_to_lerp_where_it_is_undefined(a, b):
    path = slerp(np.array(a), np.array(b), 5)
    assert np.all(np.isfinite(path))
    np.testing.assert_allclose(path, lerp(np.array(a), np.array(b), 5), atol=1e-6)


def test_interpolate_dispatches_and_rejects_unknown_modes_and_bad_steps():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    np.testing.assert_allclose(interpolate(a, b, 3, "slerp"), slerp(a, b, 3))
    with pytest.raises(ConfigError, match="cubic"):
        interpolate(a, b, 3, "cubic")
    with pytest.raises(ConfigError, match="steps"):
        lerp(a, b, 1)
    with pytest.raises(ConfigError, match="dimension"):
        lerp(a, np.zeros(3), 4)


def test_resample_polyline_spaces_points_by_arc_length():
    # An L: 3 units right then 1 up, with the hand slowing down (many points) on the first leg.
    stroke = np.array([[0, 0], [0.1, 0], [0.2, 0], [0.3, 0], [3, 0], [3, 0], [3, 1]], float)
    path = resample_polyline(stroke, 5)
    np.testing.assert_allclose(path, [[0, 0], [1, 0], [2, 0], [3, 0], [3, 1]], atol=1e-6)
    steps = np.linalg.norm(np.diff(path, axis=0), axis=1)
    np.testing.assert_allclose(steps, 1.0, atol=1e-6)


def test_resample_polyline_of_a_single_point_repeats_it():
    np.testing.assert_allclose(resample_polyline(np.array([[2.0, 5.0]]), 3), [[2, 5]] * 3)
    np.testing.assert_allclose(resample_polyline(np.array([[1.0, 1.0], [1.0, 1.0]]), 2), [[1, 1]] * 2)
    with pytest.raises(ConfigError):
        resample_polyline(np.zeros((0, 2)), 4)


def test_class_centroids_are_class_means_with_nan_for_empty_classes():
    z = torch.tensor([[0.0, 0.0], [2.0, 2.0], [10.0, 0.0], [4.0, 4.0]])
    y = torch.tensor([0, 0, 2, 0])
    c = class_centroids(z, y, num_classes=3)
    assert c.shape == (3, 2)
    torch.testing.assert_close(c[0], torch.tensor([2.0, 2.0]))
    torch.testing.assert_close(c[2], torch.tensor([10.0, 0.0]))
    assert torch.isnan(c[1]).all()
    za, zb = centroid_endpoints(z, y, 0, 2)
    torch.testing.assert_close(zb - za, torch.tensor([8.0, -2.0]))
    with pytest.raises(ConfigError, match="no images"):
        centroid_endpoints(z, y, 0, 1)


def test_typical_image_is_the_one_nearest_its_class_mean(tiny_dataset):
    images = torch.zeros(4, 1, 2, 2)
    images[0, 0, 0, 0] = 1.0  # class 0: mean is 1/3 at three pixels; image 2 sits in the middle
    images[1, 0, 0, 1] = 1.0
    images[2, 0, 0, :] = 0.5
    images[3, 0, 1, 1] = 1.0  # class 1: its only image
    labels = torch.tensor([0, 0, 0, 1])
    assert typical_indices(images, labels, [0, 1]) == [2, 3]
    test = tiny_dataset.test
    i_h, i_v = typical_indices(test.images, test.labels, [0, 1])
    assert test.labels[i_h] == 0 and test.labels[i_v] == 1
    with pytest.raises(ConfigError, match="class 5"):
        typical_indices(images, labels, [5])
