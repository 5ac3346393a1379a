"""The VAE's posterior on the map, as a person uses it: switch on Show posterior (E), move
onto a dot, and the ellipse of that test image's posterior appears with draws z = μ + σ·ε
and their decodes; an autoencoder shows the point and says why there is no ellipse.

Each picture is checked against an independent copy of the model."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from latentlab.data import resources_dir
from latentlab.models.checkpoint import load_checkpoint
from ui_helpers import a_lonely_dot, hover

SHIPPED = resources_dir() / "pretrained"


def test_hovering_a_dot_with_show_posterior_draws_its_ellipse_and_draws(qtbot, window):
    assert window.open_checkpoint(SHIPPED / "vae.safetensors")
    assert window.wait_until_idle(30)
    view, lmap = window.posterior_view, window.latent_map
    assert view.show_action.isEnabled()
    QTest.keyClick(window, Qt.Key.Key_E)  # Show posterior
    assert view.show_action.isChecked()
    index = a_lonely_dot(lmap)
    hover(qtbot, window, index)
    qtbot.waitUntil(lambda: view.index == index, timeout=3000)

    model = load_checkpoint(SHIPPED / "vae.safetensors").model.eval()
    x = window.session.dataset.test.images[index][None]
    with torch.no_grad():
        mu, logvar = model.posterior(x)
    mu, sigma = mu[0].numpy(), torch.exp(0.5 * logvar[0]).numpy()

    # The solid curve is the 1 σ ellipse around μ: for the 2-D latent's map (the identity
    # slice) its half-axes are the encoder's σ, the dashed one twice that.
    solid, dashed = (np.stack(c.getData(), 1) for c in view.curves)
    assert solid.size and view.curves[0].isVisible() and view.curves[1].isVisible()
    np.testing.assert_allclose(solid[:-1].mean(0), mu, atol=1e-4)  # (a closed polyline)
    for curve, k in ((solid, 1.0), (dashed, 2.0)):
        reach = curve - mu
        np.testing.assert_allclose(np.abs(reach).max(0), k * sigma, rtol=2e-3)  # widest along each axis
        # every drawn point satisfies the ellipse's equation (x/σx)² + (y/σy)² = k²
        np.testing.assert_allclose(np.sum((reach / sigma) ** 2, 1), k**2, rtol=1e-3)
    np.testing.assert_allclose(np.sort(view.ellipse.half_axes), np.sort(sigma), rtol=1e-4)
    np.testing.assert_allclose(lmap.positions()[index], mu, atol=1e-4)  # the dot is μ itself

    # The draws: each ring is z = μ + σ·ε, on the ellipse of |ε| σ, and its decode is the model's.
    draws = view.draws
    rings = np.stack(view.samples.getData(), 1)
    np.testing.assert_allclose(rings, mu + sigma * draws.eps, atol=1e-4)
    np.testing.assert_allclose(np.sum(((rings - mu) / sigma) ** 2, 1), np.sum(draws.eps**2, 1), rtol=1e-3)
    with torch.no_grad():
        np.testing.assert_allclose(draws.images, model.decode(torch.from_numpy(draws.z)).numpy(), atol=1e-5)
    assert view.panel.isVisible() and sum(label.isVisible() for label in view.panel.images) == len(draws.z)
    assert "σ" in view.panel.text.text()

    # Sample (S): new ε a few times a second, the rings move inside the same ellipse.
    first = rings.copy()
    QTest.keyClick(window, Qt.Key.Key_S)
    assert view.timer.isActive()
    qtbot.waitUntil(lambda: not np.allclose(np.stack(view.samples.getData(), 1), first), timeout=3000)
    QTest.keyClick(window, Qt.Key.Key_S)
    assert not view.timer.isActive()
    np.testing.assert_allclose(np.stack(view.samples.getData(), 1), mu + sigma * view.draws.eps, atol=1e-4)

    QTest.keyClick(window, Qt.Key.Key_E)  # off: nothing of it stays on the map
    assert not any(item.isVisible() for item in (*view.curves, view.samples, view.centre, view.panel))


def test_an_autoencoder_shows_the_point_and_says_why_there_is_no_ellipse(qtbot, window):
    assert window.open_checkpoint(SHIPPED / "ae.safetensors")
    assert window.wait_until_idle(30)
    view, lmap = window.posterior_view, window.latent_map
    view.show_action.trigger()
    index = a_lonely_dot(lmap)
    hover(qtbot, window, index)
    qtbot.waitUntil(lambda: view.index == index, timeout=3000)
    assert view.ellipse is None and view.draws is None
    assert not any(curve.isVisible() for curve in view.curves)
    np.testing.assert_allclose(np.ravel(view.centre.getData()), lmap.positions()[index])
    assert "one point, not a distribution" in view.panel.text.text() and view.panel.isVisible()


def test_show_posterior_is_off_for_a_model_without_encoder(window, checkpoints):
    assert window.open_checkpoint(checkpoints["gan"])
    assert not window.posterior_view.show_action.isEnabled()
