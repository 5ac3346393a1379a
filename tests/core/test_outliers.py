"""Outliers: an obviously anomalous image ranks first, for VAEs (-ELBO) and AEs."""

import numpy as np
import pytest
import torch

from latentlab.errors import ConfigError
from latentlab.latent.outliers import rank_outliers
from latentlab.models import create_model, make_config


def trained(family, dataset, steps=300):
    torch.manual_seed(0)
    model = create_model(make_config(family, hidden=32, image_shape=[1, 8, 8], num_classes=2))
    (opt,) = model.configure_optimizers(3e-3)
    x, y = dataset.train.images, dataset.train.labels
    g = torch.Generator().manual_seed(0)
    model.train()
    for step in range(steps):
        idx = torch.randint(0, len(x), (64,), generator=g)
        model.train_step(x[idx], y[idx], [opt], step)
    return model.eval()


def with_anomaly(dataset, position=5):
    images = dataset.test.images.clone()
    images[position] = 0.0
    images[position, 0, ::2, ::2] = 1.0  # a checkerboard of dots: no bar looks like this
    images[position, 0, 1::2, 1::2] = 1.0
    return images


@pytest.mark.parametrize("family, score", [("vae", "-ELBO"), ("ae", "reconstruction error")])
def test_an_anomalous_image_ranks_first(family, score, tiny_dataset):
    model = trained(family, tiny_dataset)
    images = with_anomaly(tiny_dataset)
    r = rank_outliers(model, images, tiny_dataset.test.labels, k=4)
    assert r.indices[0] == 5 and r.score_name == score
    assert len(r.indices) == 4 and np.all(np.diff(r.scores) <= 0)
    assert r.scores[0] > 2 * np.median(r.all_scores)
    assert r.all_scores.shape == (len(images),) and r.all_scores[5] == r.scores[0]
    assert r.reconstructions.shape == (4, 1, 8, 8)
    assert r.labels.tolist() == tiny_dataset.test.labels[r.indices].tolist()
    again = rank_outliers(model, images, None, k=4)
    np.testing.assert_array_equal(again.indices, r.indices)  # seeded: repeatable
    assert again.labels is None


def test_vae_score_is_the_negative_elbo(tiny_dataset):
    model = trained("vae", tiny_dataset, steps=50)
    x = tiny_dataset.test.images[:4]
    r = rank_outliers(model, x, k=4, samples=1, seed=3)
    torch.manual_seed(3)
    with torch.no_grad():
        p = model.elbo_parts(x)
    np.testing.assert_allclose(np.sort(r.all_scores), np.sort((p["recon"] + p["kl"]).numpy()), rtol=1e-5)


def test_k_larger_than_the_set_returns_everything(tiny_dataset):
    model = trained("ae", tiny_dataset, steps=5)
    r = rank_outliers(model, tiny_dataset.test.images[:3], k=10)
    assert sorted(r.indices.tolist()) == [0, 1, 2]


def test_a_gan_cannot_rank_outliers(tiny_dataset):
    gan = create_model(make_config("gan", backbone="mlp", hidden=16, image_shape=[1, 8, 8], num_classes=2))
    with pytest.raises(ConfigError, match="no encoder"):
        rank_outliers(gan, tiny_dataset.test.images, k=3)
