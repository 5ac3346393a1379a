"""The inspection API: what each encoder computes for one image, the VAE's posterior on the
map, and the discriminator's D(G(z)) over the latent plane."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from latentlab.errors import ConfigError
from latentlab.latent.posterior import draw_posterior_samples, ellipse_in_plane, posterior_of
from latentlab.latent.projection import PCAProjection, SliceProjection
from latentlab.latent.realness import Realness, discriminator_scores, realness, realness_rgba
from latentlab.latent.plane_grid import grid_points
from latentlab.models import create_model, make_config
from latentlab.models.inside import look_inside

SMALL = dict(hidden=32, image_shape=[1, 8, 8], num_classes=2)


def small(family, backbone="mlp", **kw):
    torch.manual_seed(0)
    return create_model(make_config(family, backbone=backbone, **{**SMALL, **kw})).eval()


def image(seed=0):
    return torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(seed)).numpy()


# ---------------------------------------------------------------- inside the encoder
def test_dense_trace_is_each_hidden_layers_activation():
    model = small("vae", "mlp")
    trace = look_inside(model, image())
    assert trace.kind == "dense" and [a.shape for _, a in trace.layers] == [(32,), (16,)]
    x = torch.as_tensor(image())[None]
    with torch.no_grad():
        first = torch.relu(model.encoder.net[1](x.flatten(1)))[0].numpy()
    np.testing.assert_allclose(trace.layers[0][1], first, atol=1e-6)


def test_conv_trace_is_each_layers_feature_maps():
    model = small("ae", "conv")
    trace = look_inside(model, image())
    assert trace.kind == "convolutional"
    (name1, maps1), (name2, maps2) = trace.layers
    assert maps1.shape == (32, 4, 4) and maps2.shape == (64, 2, 2) and name1 == "conv 1"
    with torch.no_grad():
        expected = torch.relu(model.encoder.net[0](torch.as_tensor(image())[None]))[0].numpy()
    np.testing.assert_allclose(maps1, expected, atol=1e-6)


@pytest.mark.parametrize("backbone, scan, steps, features, directions", [
    ("lstm", "rows", 8, 8, ["forward"]),
    ("lstm-columns", "columns", 8, 8, ["forward"]),
    ("lstm-bidirectional", "rows", 8, 8, ["forward", "backward"]),
])
def test_recurrent_trace_has_gates_per_step_and_unit(backbone, scan, steps, features, directions):
    model = small("vae", backbone)
    img = image()
    trace = look_inside(model, img)
    assert trace.kind == "recurrent" and trace.scan == scan and list(trace.directions) == directions
    assert trace.inputs.shape == (steps, features)
    np.testing.assert_array_equal(trace.inputs[3], img[0, 3] if scan == "rows" else img[0, :, 3])
    for gates in trace.directions.values():
        for name in ("forget", "input", "output"):
            values = getattr(gates, name)
            assert values.shape == (steps, 16) and values.min() >= 0 and values.max() <= 1, name
        assert gates.cell_magnitude.min() >= 0 and np.abs(gates.hidden).max() <= 1
    # The posterior mean is computed from the last hidden state(s) the trace shows.
    last = np.concatenate([trace.directions["forward"].hidden[-1]]
                          + ([trace.directions["backward"].hidden[0]] if len(directions) == 2 else []))
    with torch.no_grad():
        mu = model.to_mu(torch.as_tensor(last)[None])[0].numpy()
        expected = model.encode(torch.as_tensor(img)[None])[0].numpy()
    np.testing.assert_allclose(mu, expected, atol=1e-5)


def test_transformer_trace_has_each_heads_attention_over_the_patches():
    model = small("vae", "transformer")
    trace = look_inside(model, image())
    assert trace.kind == "transformer" and trace.patch == 2 and trace.grid == (4, 4)
    assert len(trace.weights) == 2 and trace.weights[0].shape == (4, 17, 17)
    np.testing.assert_allclose(trace.weights[1].sum(-1), 1.0, atol=1e-5)
    summary = trace.summary_attention(0)
    assert summary.shape == (4, 4, 4)
    np.testing.assert_allclose(summary.reshape(4, -1).sum(1) + trace.weights[0][:, 0, 0], 1.0, atol=1e-5)
    on_image = trace.on_image(0, 1, (8, 8))
    assert on_image.shape == (8, 8) and on_image[0, 0] == on_image[1, 1] == summary[1, 0, 0]


def test_look_inside_refuses_what_has_no_encoder_or_a_wrong_image():
    with pytest.raises(ConfigError, match="no encoder"):
        look_inside(small("gan", "conv"), image())
    with pytest.raises(ConfigError, match="one image"):
        look_inside(small("vae"), np.zeros((2, 1, 8, 8), np.float32))


# ---------------------------------------------------------------- the posterior
def test_the_ellipses_half_axes_are_the_encoders_sigma():
    model = small("vae")
    post = posterior_of(model, image())
    with torch.no_grad():
        mu, logvar = model.posterior(torch.as_tensor(image())[None])
    np.testing.assert_allclose(post.mu, mu[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(post.sigma, torch.exp(0.5 * logvar[0]).numpy(), atol=1e-6)
    ellipse = ellipse_in_plane(post, SliceProjection(2))
    np.testing.assert_allclose(ellipse.center, post.mu, atol=1e-6)
    np.testing.assert_allclose(ellipse.half_axes, np.sort(post.sigma)[::-1], rtol=1e-5)
    # The axes of a slice's ellipse lie along the plane's axes: the longer one along the larger σ.
    along = np.argmax(np.abs(ellipse.axes[0]))
    assert along == int(np.argmax(post.sigma))
    outline = ellipse.outline(2.0, n=32)
    radii = ((outline - post.mu) / post.sigma) ** 2
    np.testing.assert_allclose(radii.sum(1), 4.0, rtol=1e-4)  # every point at 2 σ


def test_a_slice_shows_the_sigma_of_its_two_axes():
    model = small("vae", latent_dim=4)
    post = posterior_of(model, image(1))
    ellipse = ellipse_in_plane(post, SliceProjection(4, dims=(3, 1)))
    np.testing.assert_allclose(sorted(ellipse.half_axes), sorted(post.sigma[[3, 1]]), rtol=1e-5)


def test_a_pca_plane_shows_the_projected_covariance():
    model = small("vae", latent_dim=3)
    latents = np.random.default_rng(0).normal(size=(50, 3)) * [3.0, 1.0, 0.2]
    projection = PCAProjection.fit(latents)
    post = posterior_of(model, image(2))
    ellipse = ellipse_in_plane(post, projection)
    P = projection.components
    expected = P @ np.diag(post.sigma.astype(np.float64) ** 2) @ P.T
    got = ellipse.axes.T.astype(np.float64) @ ellipse.axes.astype(np.float64)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-7)


def test_posterior_draws_are_mu_plus_sigma_eps_and_decode_to_their_z():
    model = small("vae")
    post = posterior_of(model, image())
    projection = SliceProjection(2)
    draws = draw_posterior_samples(model, post, projection, n=6, generator=torch.Generator().manual_seed(3))
    np.testing.assert_allclose(draws.z, post.mu + post.sigma * draws.eps, atol=1e-6)
    np.testing.assert_allclose(draws.xy, projection.to_plane(draws.z))
    with torch.no_grad():
        expected = model.decode(torch.as_tensor(draws.z)).numpy()
    np.testing.assert_allclose(draws.images, expected, atol=1e-6)
    again = draw_posterior_samples(model, post, projection, n=6, generator=torch.Generator().manual_seed(4))
    assert not np.allclose(again.eps, draws.eps)


def test_an_autoencoder_has_no_posterior():
    with pytest.raises(ConfigError, match="open a VAE"):
        posterior_of(small("ae"), image())


# ---------------------------------------------------------------- the discriminator's view
@pytest.mark.parametrize("backbone", ["mlp", "conv", "lstm", "transformer"])
def test_realness_is_d_of_g_on_the_grid(backbone):
    model = small("gan", backbone, pack=1)
    projection = SliceProjection(2)
    result = realness(model, projection, (-2.0, 2.0), (-1.0, 3.0), resolution=6)
    assert result.kind == "probability" and result.scores.shape == (6, 6)
    z = torch.as_tensor(grid_points((-2.0, 2.0), (-1.0, 3.0), 6, 6))
    with torch.no_grad():
        expected = torch.sigmoid(model.discriminate(model.decode(z))).numpy().reshape(6, 6)
    np.testing.assert_allclose(result.scores, expected, atol=1e-6)


def test_a_packing_discriminator_judges_each_point_with_fixed_companions():
    model = small("gan", "conv", pack=3)
    images = model.decode(torch.randn(5, 2)).detach()
    with torch.no_grad():
        companions = model.decode(model.fixed_noise[:2])
        expected = torch.stack([
            torch.sigmoid(model.discriminate(torch.cat([images[i : i + 1], companions])))[0] for i in range(5)
        ])
    np.testing.assert_allclose(discriminator_scores(model, images).numpy(), expected.numpy(), atol=1e-6)


def test_a_wgan_critic_is_shown_relative_to_its_own_range():
    model = small("wgan-gp", "conv")
    result = realness(model, SliceProjection(2), (-3.0, 3.0), (-3.0, 3.0), resolution=8)
    assert result.kind == "critic"
    z = torch.as_tensor(grid_points((-3.0, 3.0), (-3.0, 3.0), 8, 8))
    with torch.no_grad():
        expected = model.discriminate(model.decode(z)).numpy().reshape(8, 8)
    np.testing.assert_allclose(result.scores, expected, atol=1e-5)
    shown = result.normalised()
    assert shown.min() == 0.0 and shown.max() == 1.0


def test_realness_paints_fake_purple_real_green_and_undecided_clear():
    scores = np.array([[0.0, 0.5, 1.0]], np.float32)
    rgba = realness_rgba(Realness(scores, "probability", (0.0, 1.0), (0.0, 1.0)))
    assert rgba.shape == (1, 3, 4) and rgba.dtype == np.uint8
    assert tuple(rgba[0, 0, :3]) == (148, 103, 189) and tuple(rgba[0, 2, :3]) == (44, 160, 44)
    assert rgba[0, 1, 3] == 0 and rgba[0, 0, 3] == rgba[0, 2, 3] > 100
    assert realness_rgba(Realness(scores, "probability", (0, 1), (0, 1)), smooth=4).shape == (4, 12, 4)


def test_realness_needs_a_discriminator():
    with pytest.raises(ConfigError, match="no discriminator"):
        realness(small("vae"), SliceProjection(2), (-1, 1), (-1, 1), resolution=4)
