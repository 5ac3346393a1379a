"""Conditional families (cvae, cgan): the class is an argument that changes what is decoded,
and the building blocks the window will show: analogy row, restyle, class paths, territory."""

import pytest
import torch

from latentlab.data import ImageDataset
from latentlab.errors import ConfigError
from latentlab.latent.conditional import analogy_row, class_mix, class_path_strip, restyle, style_path_strip
from latentlab.latent.projection import SliceProjection
from latentlab.latent.territory import manifold, territory
from latentlab.models import create_model, make_config
from latentlab.training.evaluate import class_agreement, evaluate

from conftest import bars

SMALL = dict(hidden=32, image_shape=[1, 8, 8], num_classes=2)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train ~100x faster on one torch thread when the machine is busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small(family, **kw):
    torch.manual_seed(0)
    return create_model(make_config(family, **{**SMALL, **kw}))


def bar_direction(images: torch.Tensor) -> torch.Tensor:
    """1 for images whose ink lies along a column (vertical bar), 0 along a row (horizontal)."""
    x = images.reshape(len(images), 8, 8)
    row_spread = x.sum(2).var(1)  # a horizontal bar concentrates the ink in one row
    col_spread = x.sum(1).var(1)
    return (col_spread > row_spread).long()


class BarJudge(torch.nn.Module):
    """A judge for the bars data: class 0 horizontal, class 1 vertical; confident when clear."""

    device = torch.device("cpu")

    def classify(self, x):
        x = x.reshape(len(x), 8, 8)
        margin = x.sum(1).var(1) - x.sum(2).var(1)
        return torch.stack([-margin, margin], 1) * 20.0

    def predict(self, x):
        p, c = torch.softmax(self.classify(x), 1).max(1)
        return c, p

    def features(self, x):
        return x.reshape(len(x), -1)


@pytest.fixture(scope="module")
def bars_data() -> ImageDataset:
    return ImageDataset("bars", ["horizontal", "vertical"], bars(128, 0), bars(32, 1))


@pytest.fixture(scope="module")
def trained_cvae(bars_data):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train(small("cvae", beta=0.5), bars_data, 600)
    finally:
        torch.set_num_threads(threads)


def train(model, dataset, steps, lr=3e-3):
    opts = model.configure_optimizers(lr)
    x, y = dataset.train.images, dataset.train.labels
    g = torch.Generator().manual_seed(0)
    model.train()
    for step in range(1, steps + 1):
        idx = torch.randint(0, len(x), (64,), generator=g)
        model.train_step(x[idx], y[idx], opts, step)
    return model.eval()


@pytest.mark.parametrize("family", ["cvae", "cgan"])
def test_the_class_is_an_argument_that_changes_the_image(family):
    model = small(family).eval()
    z = torch.randn(3, 2)
    with torch.no_grad():
        assert not torch.allclose(model.decode(z, 0), model.decode(z, 1))
        assert torch.equal(model.decode(z, 1), model.decode(z, torch.tensor([1, 1, 1])))
        assert torch.allclose(model.decode(z, torch.tensor([0.0, 1.0])), model.decode(z, 1))
        mixed = model.decode(z, torch.tensor([0.5, 0.5]))  # between the two classes
        assert mixed.shape == (3, 1, 8, 8)
        with pytest.raises(ConfigError, match="class 2 is out of range: this model has 2 classes"):
            model.decode(z, 2)
        with pytest.raises(ConfigError, match="conditional"):
            model.decode(z)
    assert model.info().conditional and model.info().uses_labels


def test_a_cvae_encodes_under_the_label_and_unconditional_models_ignore_it():
    cvae, vae = small("cvae").eval(), small("vae").eval()
    x = torch.rand(4, 1, 8, 8)
    with torch.no_grad():
        assert not torch.allclose(cvae.encode(x, 0), cvae.encode(x, 1))
        assert torch.equal(vae.encode(x, 0), vae.encode(x))
    with pytest.raises(ConfigError, match="give the class"):
        cvae.encode(x)


def test_a_trained_cvae_draws_the_class_it_is_asked_for(trained_cvae, bars_data):
    model = trained_cvae
    with torch.no_grad():
        z = torch.randn(200, 2, generator=torch.Generator().manual_seed(1))
        assert bar_direction(model.decode(z, 0)).float().mean() < 0.1  # horizontal bars
        assert bar_direction(model.decode(z, 1)).float().mean() > 0.9  # vertical bars
    metrics = evaluate(model, bars_data, judge=BarJudge(), n_samples=200)
    assert metrics["sample_agreement"] > 0.9 and len(metrics["sample_class_agreement"]) == 2
    assert metrics["test_neg_elbo"] > 0 and len(metrics["kl_per_dim"]) == 2


@pytest.mark.parametrize("discriminator", ["projection", "auxiliary"])
def test_a_cgan_learns_one_image_per_class(discriminator):
    """Class 0 is always one picture, class 1 another: G(z, c) must move towards each."""
    targets = torch.zeros(2, 1, 8, 8)
    targets[0, 0, 3, 1:7] = 1.0
    targets[1, 0, 1:7, 3] = 1.0
    labels = torch.arange(64) % 2
    model = small("cgan", backbone="mlp", discriminator=discriminator, mode_seeking=0.0)  # one image per class
    z = torch.randn(128, 2, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        before = [(model.eval().decode(z, c) - targets[c]).pow(2).mean().item() for c in (0, 1)]
    opts = model.configure_optimizers(1e-3)
    model.train()
    for step in range(1, 401):
        model.train_step(targets[labels], labels, opts, step)
    with torch.no_grad():
        model.eval()
        after = [(model.decode(z, c) - targets[c]).pow(2).mean().item() for c in (0, 1)]
        wrong = (model.decode(z, 0) - targets[1]).pow(2).mean().item()
    assert all(a < 0.5 * b for a, b in zip(after, before)), (before, after)
    assert after[0] < 0.5 * wrong  # class 0's images are class 0's picture, not class 1's


def test_cgan_mode_seeking_compares_two_latents_under_one_class():
    """The generated batch asks for the same classes in both halves, so the mode-seeking
    term sees G(z1, c) against G(z2, c): a generator that ignores z is penalised."""
    model = small("cgan", backbone="mlp", num_classes=3)
    y = torch.tensor([0, 2, 1, 0, 1, 2, 2])
    assert model.fake_classes(y).tolist() == [0, 2, 1, 0, 2, 1, 2]
    z = torch.randn(6, 2)
    collapsed = torch.rand(3, 1, 8, 8).repeat(2, 1, 1, 1)  # the same image for both latents of a class
    varied = torch.rand(6, 1, 8, 8)
    assert model.mode_seeking_penalty(z, collapsed) > 100 * model.mode_seeking_penalty(z, varied)
    assert model.config.mode_seeking > 0  # on by default for the conditional GAN


def test_analogy_row_decodes_one_point_under_every_class_in_one_batch():
    model = small("cvae", num_classes=3).eval()
    z = torch.tensor([0.3, -0.7])
    row = analogy_row(model, z)
    assert row.shape == (3, 1, 8, 8)
    with torch.no_grad():
        for c in range(3):
            assert torch.allclose(row[c], model.decode(z[None], c)[0])
    with pytest.raises(ConfigError, match="conditional"):
        analogy_row(small("vae"), z)


def test_restyle_encodes_under_the_own_label_and_decodes_under_all():
    model = small("cvae", num_classes=3).eval()
    image = torch.rand(1, 8, 8)
    result = restyle(model, image, 2)
    with torch.no_grad():
        z = model.encode(image[None], 2)[0]
    assert torch.allclose(result.z, z) and result.label == 2
    assert torch.allclose(result.images, analogy_row(model, z))
    with pytest.raises(ConfigError, match="out of range"):
        restyle(model, image, 3)


def test_restyle_inverts_a_cgan_under_the_label():
    model = small("cgan", backbone="mlp").eval()
    with torch.no_grad():
        image = model.decode(torch.tensor([[0.5, -0.5]]), 1)[0]
    result = restyle(model, image, 1, restarts=2, steps=40)
    assert result.images.shape == (2, 1, 8, 8)
    assert (result.images[1] - image).pow(2).mean() < 0.01  # it found a point that draws the image


def test_class_path_moves_the_label_at_a_fixed_point(trained_cvae):
    model = trained_cvae
    weights = class_mix(0, 1, 5, 2)
    assert torch.allclose(weights[0], torch.tensor([1.0, 0.0])) and torch.allclose(weights[-1], torch.tensor([0.0, 1.0]))
    strip = class_path_strip(model, torch.zeros(2), 0, 1, 9, BarJudge())
    assert strip.frames.shape == (9, 1, 8, 8) and torch.equal(strip.latents, torch.zeros(9, 2))
    m = strip.metrics
    assert (m.start_class, m.end_class) == (0, 1) and m.classes[0] == 0 and m.classes[-1] == 1
    style = style_path_strip(model, torch.tensor([-1.0, 0.0]), torch.tensor([1.0, 0.0]), 7, "lerp", BarJudge(), 1)
    assert style.metrics.start_class == style.metrics.end_class == 1 and set(style.metrics.classes) == {1}


def test_territory_of_a_conditional_model_is_the_confidence_in_the_requested_class(trained_cvae):
    model = trained_cvae
    projection = SliceProjection(2)
    t1 = territory(model, BarJudge(), projection, (-2, 2), (-2, 2), resolution=8, requested=1)
    t0 = territory(model, BarJudge(), projection, (-2, 2), (-2, 2), resolution=8, requested=0)
    assert t1.requested == 1 and t1.confidence.shape == (8, 8)
    assert t1.confidence.mean() > 0.8 and (t1.classes == 1).mean() > 0.8
    assert t0.confidence.mean() > 0.8 and (t0.classes == 0).mean() > 0.8
    with pytest.raises(ConfigError, match="requested class"):
        territory(model, BarJudge(), projection, (-2, 2), (-2, 2), resolution=8)
    assert manifold(model, projection, (-2, 2), (-2, 2), n=3, y=1).shape == (24, 24)


def test_class_agreement_counts_what_the_judge_sees_per_requested_class():
    requested = torch.tensor([0, 0, 1, 1])
    judged = torch.tensor([0, 1, 1, 1])
    probabilities = torch.tensor([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.0, 1.0]])
    out = class_agreement(judged, probabilities, requested, 2)
    assert out["sample_agreement"] == 0.75 and out["sample_class_agreement"] == [0.5, 1.0]
    assert out["sample_min_class_agreement"] == 0.5
    assert out["sample_min_class_confidence"] == pytest.approx(0.65)  # class 0: (0.9 + 0.4) / 2
