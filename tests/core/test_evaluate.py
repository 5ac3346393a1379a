"""Evaluation: the Fréchet distance formula and the per-family metrics."""

import numpy as np
import pytest
import torch
from scipy import linalg

from latentlab.models import create_model, make_config
from latentlab.training.evaluate import evaluate
from latentlab.training.frechet import frechet_distance


def test_frechet_distance_of_a_set_with_itself_is_zero():
    a = np.maximum(np.random.default_rng(0).normal(size=(500, 16)), 0)
    a[:, :5] = 0  # dead features: a singular covariance
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_matches_the_closed_form():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4000, 4)) @ np.diag([1.0, 2.0, 0.5, 1.0])
    b = rng.normal(size=(4000, 4)) + np.array([3.0, 0, 0, 0])
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca + cb - 2 * np.real(linalg.sqrtm(ca @ cb)))
    assert frechet_distance(a, b) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(a, b) > frechet_distance(a, a + 0.1)


def test_vae_metrics_are_consistent(tiny_dataset):
    torch.manual_seed(0)
    model = create_model(make_config("vae", hidden=32, latent_dim=3, image_shape=[1, 8, 8], num_classes=2))
    m = evaluate(model, tiny_dataset)
    assert m["test_neg_elbo"] == pytest.approx(m["test_recon"] + m["test_kl"])
    assert len(m["kl_per_dim"]) == 3 and sum(m["kl_per_dim"]) == pytest.approx(m["test_kl"], rel=1e-5)
    assert evaluate(model, tiny_dataset) == m, "seeded evaluation must be repeatable"


def test_generator_metrics_use_the_judge(tiny_dataset):
    torch.manual_seed(0)
    shape = dict(hidden=32, image_shape=[1, 8, 8], num_classes=2)
    judge = create_model(make_config("judge", **shape)).eval()
    gan = create_model(make_config("gan", **shape))
    m = evaluate(gan, tiny_dataset, judge=judge, n_samples=200)
    assert sum(m["sample_class_shares"]) == pytest.approx(1.0)
    assert m["sample_min_class_share"] == min(m["sample_class_shares"])
    assert 0 < m["sample_mean_confidence"] <= 1 and m["judge_fid"] >= 0
    assert {"test_d_loss", "test_g_loss"} <= set(m)


def test_msvae_reports_its_head_accuracy(tiny_dataset):
    torch.manual_seed(0)
    model = create_model(make_config("msvae", hidden=32, image_shape=[1, 8, 8], num_classes=2))
    assert 0 <= evaluate(model, tiny_dataset)["head_accuracy"] <= 1
