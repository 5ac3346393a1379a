"""Alternative outlier scores (a flow on the codes, a PixelCNN's likelihood) and planted outliers."""

import numpy as np
import pytest
import torch

from latentlab.errors import ConfigError
from latentlab.latent.outliers import SCORE_KINDS, image_scores
from latentlab.latent.planted import planted_outliers, roc_auc
from latentlab.models import create_model, make_config
from latentlab.models.flow import fit_latent_flow


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def test_roc_auc_counts_how_often_an_outlier_outscores_an_inlier():
    assert roc_auc(np.array([0.0, 1.0]), np.array([2.0, 3.0])) == 1.0
    assert roc_auc(np.array([2.0, 3.0]), np.array([0.0, 1.0])) == 0.0
    assert roc_auc(np.array([0.0, 2.0]), np.array([1.0, 3.0])) == 0.75
    assert roc_auc(np.array([1.0, 1.0]), np.array([1.0])) == 0.5  # ties count half


def test_planted_outliers_are_turned_and_inverted_test_images(tiny_dataset):
    test = tiny_dataset.test.images
    planted = planted_outliers(test, n=10, letters=False)
    assert planted.inliers is test
    assert list(planted.outliers) == ["rotated 90°", "rotated 180°", "inverted"]
    for images in planted.outliers.values():
        assert images.shape == (10, 1, 8, 8)
    assert torch.allclose(planted.outliers["inverted"].sum((1, 2, 3)),
                          64 - torch.rot90(planted.outliers["rotated 180°"], 2, (2, 3)).sum((1, 2, 3)))


def trained(family, dataset, steps=150, **settings):
    torch.manual_seed(0)
    model = create_model(make_config(family, image_shape=[1, 8, 8], num_classes=2, **settings))
    (opt,) = model.configure_optimizers(3e-3)
    x, y = dataset.train.images, dataset.train.labels
    model.train()
    for step in range(steps):
        model.train_step(x, y, [opt], step)
    return model.eval()


def test_each_score_ranks_inverted_bars_above_the_test_bars(tiny_dataset):
    ae = trained("ae", tiny_dataset, hidden=32)
    fit_latent_flow(ae, tiny_dataset.train.images, layers=4, hidden=16, steps=300)
    pixelcnn = trained("pixelcnn", tiny_dataset, steps=60, hidden=8, layers=2)
    planted = planted_outliers(tiny_dataset.test.images, n=16, letters=False)
    for model, kind in ((ae, "reconstruction"), (ae, "flow"), (pixelcnn, "likelihood")):
        inliers = image_scores(model, planted.inliers, kind)
        inverted = image_scores(model, planted.outliers["inverted"], kind)
        assert inliers.shape == (32,) and np.isfinite(inliers).all()
        assert roc_auc(inliers, inverted) > 0.9, kind
    assert set(SCORE_KINDS) == {"reconstruction", "flow", "likelihood"}


def test_a_score_the_model_cannot_give_is_one_message(tiny_dataset):
    ae = trained("ae", tiny_dataset, steps=1, hidden=32)
    with pytest.raises(ConfigError, match="fit-prior"):
        image_scores(ae, tiny_dataset.test.images, "flow")
    with pytest.raises(ConfigError, match="no exact likelihood"):
        image_scores(ae, tiny_dataset.test.images, "likelihood")
    with pytest.raises(ConfigError, match="unknown outlier score"):
        image_scores(ae, tiny_dataset.test.images, "typicality")
