"""Every family behind the one interface: shapes, conventions, configs, and that it learns."""

import math

import pytest
import torch
import torch.nn.functional as F

from latentlab.errors import ConfigError
from latentlab.models import config_from_dict, create_model, family_names, make_config
from latentlab.models.mixture import LatentMixture
from latentlab.models.registry import MAX_PARAMETERS

FAMILIES = ["ae", "vae", "msvae", "cvae", "gan", "wgan-gp", "cgan", "judge"]
SMALL = dict(hidden=32, image_shape=[1, 8, 8], num_classes=2)


def small(family, **kw):
    torch.manual_seed(0)
    return create_model(make_config(family, **{**SMALL, **kw}))


def test_registry_knows_every_family():
    # The pixelcnn has no latent space and no backbone choice: tests/core/test_pixelcnn.py.
    assert sorted(family_names()) == sorted([*FAMILIES, "pixelcnn"])


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("backbone", ["mlp", "conv"])
@pytest.mark.parametrize("latent_dim", [1, 2, 5])
def test_interface_shapes(family, backbone, latent_dim):
    if family == "judge":
        latent_dim = 16
    model = small(family, backbone=backbone, latent_dim=latent_dim).eval()
    x, y = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 0, 1])
    if model.has_encoder:  # every family takes the labels; unconditional ones ignore them
        assert model.encode(x, y).shape == (4, latent_dim)
        assert torch.equal(model.encode(x, y), model.encode(x, y)), "encode must be deterministic"
    if model.has_decoder:
        out = model.decode(torch.randn(3, latent_dim), y[:3])
        assert out.shape == (3, 1, 8, 8) and out.min() >= 0 and out.max() <= 1
    parts = model.loss(x, y)
    assert "loss" in parts and set(model.loss_parts) <= set(parts)
    assert all(v.ndim == 0 for v in parts.values())


@pytest.mark.parametrize("family", FAMILIES)
def test_config_round_trips_through_json(family):
    import json

    config = make_config(family, **SMALL)
    again = config_from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config and type(again) is type(config)


@pytest.mark.parametrize(
    "settings, words",
    [
        ({"latent_dim": 0}, "latent_dim"),
        ({"latent_dim": 10**9}, "latent_dim"),
        ({"latent_dim": True}, "latent_dim"),
        ({"backbone": "resnet"}, "backbone"),
        ({"image_shape": [2, 28, 28]}, "image_shape"),
        ({"beta": -1.0}, "beta"),
        ({"beta": "1"}, "beta"),
        ({"nonsense": 1}, "nonsense"),
    ],
)
def test_bad_configs_are_clear_errors(settings, words):
    with pytest.raises(ConfigError, match=words):
        config_from_dict({"family": "vae", **settings})


def test_unknown_family_lists_the_known_ones():
    with pytest.raises(ConfigError, match="vae"):
        make_config("diffusion")


def test_oversized_model_is_refused_before_allocating():
    config = make_config("ae", hidden=8192, image_shape=[3, 512, 512])
    with pytest.raises(ConfigError, match="parameters"):
        create_model(config)
    assert MAX_PARAMETERS < 10**9


def test_vae_loss_is_summed_over_pixels_and_averaged_over_images():
    model = small("vae", latent_dim=3)
    x = torch.rand(5, 1, 8, 8)
    torch.manual_seed(1)
    parts = model.elbo_parts(x)
    mu, logvar = model.posterior(x)
    kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)
    assert torch.allclose(parts["kl"], kl)
    torch.manual_seed(1)
    loss = model.loss(x)
    torch.manual_seed(1)
    z = model.reparameterize(*model.posterior(x))
    recon = F.binary_cross_entropy(model.decode(z), x, reduction="sum") / 5
    assert math.isclose(loss["recon"].item(), recon.item(), rel_tol=1e-4)
    model.set_beta(4.0)
    torch.manual_seed(1)
    loss4 = model.loss(x)
    assert math.isclose(loss4["loss"].item(), (loss4["recon"] + 4 * loss4["kl"]).item(), rel_tol=1e-5)


def test_beta_must_be_sane():
    model = small("vae")
    with pytest.raises(ConfigError):
        model.set_beta(float("nan"))
    with pytest.raises(ConfigError):
        model.set_beta(-0.5)


def test_denoising_ae_corrupts_only_while_training():
    model = small("ae", denoise=0.5)
    x = torch.rand(4, 1, 8, 8)
    model.eval()
    assert torch.equal(model.loss(x)["loss"], model.loss(x)["loss"])
    model.train()
    torch.manual_seed(0)
    a = model.loss(x)["loss"]
    torch.manual_seed(1)
    assert not torch.equal(a, model.loss(x)["loss"])


def test_autoencoder_samples_from_its_latent_mixture():
    model = small("ae").eval()
    with pytest.raises(ConfigError, match="mixture"):
        model.sample(4)
    z = torch.cat([torch.randn(200, 2) * 0.1 + 3, torch.randn(200, 2) * 0.1 - 3])
    model.mixture = LatentMixture.fit(z, n_components=2)
    drawn = model.sample_latents(1000, generator=torch.Generator().manual_seed(0))
    assert (drawn[:, 0] > 0).float().mean().item() == pytest.approx(0.5, abs=0.06)
    assert drawn.abs().min() > 1.5  # from the two blobs, not from N(0, I)
    assert model.sample(3).shape == (3, 1, 8, 8)


def test_gan_keeps_a_fixed_noise_batch():
    a, b = small("gan"), small("gan")
    assert torch.equal(a.fixed_noise, b.fixed_noise)
    assert "fixed_noise" in a.state_dict()


def _train(model, x, y, steps, lr=None):
    opts = model.configure_optimizers(lr or model.default_lr * 2)
    model.train()
    history = [model.train_step(x, y, opts, step) for step in range(1, steps + 1)]
    model.eval()
    return history


@pytest.mark.parametrize("family", ["ae", "vae", "msvae", "judge"])
def test_loss_falls(family, tiny_dataset):
    model = small(family)
    x, y = tiny_dataset.train.images, tiny_dataset.train.labels
    with torch.no_grad():
        torch.manual_seed(0)
        before = model.eval().loss(x, y)["loss"].item()
    _train(model, x, y, 60)
    with torch.no_grad():
        torch.manual_seed(0)
        after = model.loss(x, y)["loss"].item()
    assert after < 0.8 * before, (before, after)


@pytest.mark.parametrize("family", ["gan", "wgan-gp"])
def test_generator_moves_towards_the_data(family):
    """On data that is one image, G(z) must learn to draw it: the distance falls."""
    target = torch.zeros(1, 1, 8, 8)
    target[0, 0, 2:6, 2:6] = 1.0
    x = target.repeat(64, 1, 1, 1)
    model = small(family, backbone="mlp", **({"n_critic": 2} if family == "wgan-gp" else {}))
    with torch.no_grad():
        before = (model.eval().sample(256) - target).pow(2).mean().item()
    history = _train(model, x, torch.zeros(64, dtype=torch.long), 400, lr=1e-3)
    with torch.no_grad():
        after = (model.sample(256) - target).pow(2).mean().item()
    assert after < 0.5 * before, (before, after)
    if family == "wgan-gp":  # the critic's estimate rises, then falls as G catches up
        w = [h["wasserstein"].item() for h in history]
        assert w[-1] < 0.5 * max(w), (max(w), w[-1])


def test_msvae_head_needs_labels():
    with pytest.raises(ValueError, match="labels"):
        small("msvae").loss(torch.rand(2, 1, 8, 8))


@pytest.mark.parametrize("family", ["gan", "wgan-gp"])
def test_mode_seeking_penalises_a_generator_that_ignores_its_latent(family):
    model = small(family, backbone="mlp", mode_seeking=2.0)
    z = torch.randn(8, 2)
    collapsed = torch.rand(1, 1, 8, 8).repeat(8, 1, 1, 1)  # every z gives the same image
    varied = torch.rand(8, 1, 8, 8)
    assert model.mode_seeking_penalty(z, collapsed) > 100 * model.mode_seeking_penalty(z, varied)
    assert small(family, backbone="mlp").mode_seeking_penalty(z, varied).item() == 0.0  # off by default


@pytest.mark.parametrize("family", ["gan", "wgan-gp"])
def test_mode_seeking_enters_the_generator_update(family):
    """With the term on, the same step moves the generator differently."""
    x = torch.rand(16, 1, 8, 8)
    y = torch.zeros(16, dtype=torch.long)
    outs = []
    for weight in (0.0, 5.0):
        model = small(family, backbone="mlp", mode_seeking=weight, **({"n_critic": 1} if family == "wgan-gp" else {}))
        opts = model.configure_optimizers(1e-3)
        torch.manual_seed(0)
        model.train_step(x, y, opts, 1)
        outs.append([p.detach().clone() for p in model.generator_parameters()])
    assert any(not torch.equal(a, b) for a, b in zip(*outs))


def test_mode_seeking_must_be_non_negative():
    with pytest.raises(ConfigError, match="mode_seeking"):
        small("gan", mode_seeking=-1.0)


@pytest.mark.parametrize("family", ["gan", "wgan-gp"])
def test_eval_mode_decodes_with_the_averaged_generator(family):
    model = small(family, backbone="mlp", **({"n_critic": 1} if family == "wgan-gp" else {}))
    x, y = torch.rand(16, 1, 8, 8), torch.zeros(16, dtype=torch.long)
    z = torch.randn(4, 2)
    with torch.no_grad():
        before = model.eval().decode(z)
    _train(model, x, y, 30, lr=1e-3)
    assert int(model.ema_updates) == 30
    with torch.no_grad():
        averaged = model.eval().decode(z)
        live = torch.sigmoid(model.generator(z))
    # The average moved (it follows the live weights) but lags behind them.
    assert not torch.equal(averaged, before) and not torch.equal(averaged, live)
    for avg, cur in zip(model.generator_ema.parameters(), model.generator.parameters()):
        assert not avg.requires_grad and avg.shape == cur.shape
    model.train()
    assert torch.allclose(model.decode(z), torch.sigmoid(model.generator(z)))  # training uses the live one


def test_the_average_starts_fast_and_settles_at_the_configured_decay():
    """Warm-up: decay (1 + t) / (10 + t), capped at ``ema``; after one update the average
    has moved 9/11 of the way to the live weights."""
    model = small("gan", backbone="mlp", ema=0.9)
    start = [p.detach().clone() for p in model.generator_ema.parameters()]
    with torch.no_grad():
        for p in model.generator.parameters():
            p.add_(1.0)
    model.update_average()  # t = 1: decay min(2/11, 0.9)
    for s, a in zip(start, model.generator_ema.parameters()):
        assert torch.allclose(a, s + (1 - 2 / 11), atol=1e-6)


def test_ema_zero_has_no_averaged_generator():
    model = small("gan", backbone="mlp", ema=0.0)
    assert model.generator_ema is None and not any(k.startswith("generator_ema") for k in model.state_dict())
    with pytest.raises(ConfigError, match="ema"):
        small("gan", ema=1.0)


def test_r1_penalises_the_discriminators_gradient_on_real_images():
    x = torch.rand(8, 1, 8, 8)
    losses = []
    for r1 in (0.0, 10.0):
        model = small("gan", backbone="mlp", r1=r1, label_flip=0.0, d_dropout=0.0)
        torch.manual_seed(0)
        fake = model.decode(model.prior_sample(8)).detach()
        torch.manual_seed(1)
        losses.append(model._d_loss(x, fake)[0].item())
        assert model.supports_amp is (r1 == 0)  # R1 differentiates twice: float32 only
    assert losses[1] > losses[0]  # the same D, the same batch: only the penalty differs
    with torch.no_grad():  # evaluation (no autograd) measures the plain losses
        model = small("gan", backbone="mlp", r1=10.0, label_flip=0.0, d_dropout=0.0)
        torch.manual_seed(1)
        assert model._d_loss(x, fake)[0].item() == pytest.approx(losses[0], rel=1e-5)
