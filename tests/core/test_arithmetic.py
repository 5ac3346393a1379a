"""Latent arithmetic: the class-to-class vector and applying it."""

import numpy as np
import pytest
import torch

from latentlab.errors import ConfigError
from latentlab.latent.arithmetic import apply_vector, class_vector


def test_class_vector_is_the_difference_of_centroids():
    z = np.array([[0.0, 0.0], [2.0, 0.0], [5.0, 5.0], [7.0, 5.0], [9.0, 9.0]])
    y = np.array([0, 0, 1, 1, 2])
    v = class_vector(z, y, 0, 1)
    np.testing.assert_allclose(v, [5.0, 5.0])
    np.testing.assert_allclose(class_vector(z, y, 1, 0), [-5.0, -5.0])
    vt = class_vector(torch.tensor(z), torch.tensor(y), 0, 2)
    assert isinstance(vt, torch.Tensor)
    torch.testing.assert_close(vt, torch.tensor([8.0, 9.0]))


def test_applying_the_vector_moves_a_point_of_class_a_to_class_b():
    z = np.array([[0.0, 0.0], [2.0, 0.0], [5.0, 5.0], [7.0, 5.0]])
    y = np.array([0, 0, 1, 1])
    v = class_vector(z, y, 0, 1)
    np.testing.assert_allclose(apply_vector(z[:2], v), z[2:])  # each 0 lands on its 1
    np.testing.assert_allclose(apply_vector(z[0], v, scale=0.5), [2.5, 2.5])
    np.testing.assert_allclose(apply_vector(z[0], v, scale=0.0), z[0])
    zt = apply_vector(torch.zeros(3, 2), v, 2.0)
    assert isinstance(zt, torch.Tensor) and torch.allclose(zt, torch.full((3, 2), 10.0))


def test_arithmetic_errors_name_the_problem():
    z, y = np.zeros((3, 2)), np.array([0, 0, 2])
    with pytest.raises(ConfigError, match="'one'"):
        class_vector(z, y, 0, 1, class_names=["zero", "one", "two"])
    with pytest.raises(ConfigError, match="whole numbers"):
        class_vector(z, y, -1, 2)
    with pytest.raises(ConfigError, match="shape"):
        apply_vector(np.zeros((4, 3)), np.zeros(2))
    with pytest.raises(ConfigError, match="finite"):
        apply_vector(np.zeros(2), np.ones(2), float("nan"))


def test_decode_along_decodes_each_scale_in_order():
    from latentlab.latent.arithmetic import decode_along
    from latentlab.models import create_model, make_config

    torch.manual_seed(0)
    ae = create_model(make_config("ae", hidden=16, image_shape=[1, 8, 8])).train()
    z, v = torch.tensor([0.5, -0.5]), torch.tensor([1.0, 2.0])
    images = decode_along(ae, z, v, scales=(0.0, 1.0, 2.0))
    assert images.shape == (3, 1, 8, 8) and ae.training
    ae.eval()
    with torch.no_grad():
        expected = ae.decode(torch.stack([z, z + v, z + 2 * v]))
    torch.testing.assert_close(images, expected)
