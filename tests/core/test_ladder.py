"""The shipped β ladder: its rungs share one orientation of the latent plane, and
resources/README.md reports how far the test encodings move between them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.data import load_dataset
from latentlab.models.checkpoint import load_checkpoint
from latentlab.models.registry import create_model, make_config
from latentlab.pretrained import BETA_LADDER, LADDER_BETAS, ladder_rung

from test_pretrained import build


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(build.DATASET)


@pytest.fixture(scope="module")
def rows(dataset):
    return build.ladder_displacements(dataset)


def test_the_readme_reports_the_displacement_of_the_shipped_rungs(rows):
    readme = build.README.read_text()
    assert f"{build.LADDER_BEGIN}\n{build.render_ladder(rows)}\n{build.LADDER_END}" in readme


def test_neighbouring_rungs_are_aligned(rows, dataset):
    for row in rows:
        # Aligned: no rotation would bring the rungs much closer, and the points move a
        # small part of the plane's extent.
        assert row["shipped"] <= 1.05 * row["best_rotation"] + 1e-3, row
        assert row["shipped"] < 0.2 * row["radius"], row
    encodings = {key: build.encode_test_split(load_checkpoint(build.model_path(key)).model, dataset)
                 for key in BETA_LADDER}
    for a, b in zip(BETA_LADDER, BETA_LADDER[1:]):
        axes, signs = build.best_signed_permutation(encodings[b], encodings[a])
        assert axes == (0, 1) and list(signs) == [1.0, 1.0], (a, b)


def test_each_rung_is_trained_at_its_beta():
    for key, beta in LADDER_BETAS.items():
        assert load_checkpoint(build.model_path(key)).model.config.beta == beta
        assert ladder_rung(beta).key == key
    assert ladder_rung(3.0) is None


def test_a_signed_permutation_is_baked_in_exactly(dataset):
    torch.manual_seed(0)
    model = create_model(make_config("vae", hidden=32)).eval()
    x = dataset.test.images[:64]
    with torch.no_grad():
        mu, logvar = model.posterior(x)
        z = torch.randn(64, 2)
        before = model.decode(z)
    reference = mu[:, [1, 0]].double().numpy() * np.array([-1.0, 1.0])  # axes swapped, first flipped
    assert build.best_signed_permutation(mu.double().numpy(), reference)[0] == (1, 0)
    axes, signs = build.align_to(model, reference, x)
    assert axes == (1, 0) and signs == [-1.0, 1.0]
    with torch.no_grad():
        mu2, logvar2 = model.posterior(x)
        after = model.decode(z[:, [1, 0]] * torch.tensor([-1.0, 1.0]))
    torch.testing.assert_close(mu2, mu[:, [1, 0]] * torch.tensor([-1.0, 1.0]))
    torch.testing.assert_close(logvar2, logvar[:, [1, 0]])
    torch.testing.assert_close(after, before)
