"""Analyse ▸ Inside the encoder, as a person uses it: open the dock, move onto a dot, and
the dock shows what the encoder computes for that test image (conv feature maps, LSTM
gates per row, transformer attention per head), the same as an independent copy of the
model computes. Tiny untrained models (hidden width 32): what is checked is the drawing."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint

from latentlab.models.checkpoint import load_checkpoint, save_checkpoint
from latentlab.models.inside import look_inside
from latentlab.ui.analysis.inside_view import attention_on_image, tile_maps
from conftest import OFFSCREEN_NOISE
from ui_helpers import tiny_model


def hover_some_dot(qtbot, window) -> int:
    """Move onto a dot in the middle of the map; returns the index of the dot it previews."""
    lmap = window.latent_map
    xy = lmap.positions()
    index = int(np.argmin(np.sum((xy - np.median(xy, 0)) ** 2, 1)))
    viewport = lmap.plot.viewport()
    pos = lmap.viewport_position(*xy[index])
    hovered: list[int] = []
    lmap.pointHovered.connect(hovered.append)
    qtbot.mouseMove(viewport, pos + QPoint(1, 0))
    qtbot.wait(20)
    qtbot.mouseMove(viewport, pos)
    qtbot.waitUntil(lambda: hovered and hovered[-1] >= 0, timeout=3000)
    lmap.pointHovered.disconnect(hovered.append)
    return hovered[-1]


#: The offscreen platform cannot raise the dock's own window (it opens floating); not ours.
NO_RAISE = r"This plugin does not support raise\(\)"


@pytest.mark.qt_log_ignore(NO_RAISE, OFFSCREEN_NOISE)
@pytest.mark.parametrize("backbone", ["conv", "lstm", "transformer"])
def test_inside_the_encoder_follows_the_hovered_test_image(qtbot, window, mnist, tmp_path, backbone):
    path = save_checkpoint(tmp_path / backbone, tiny_model("vae", backbone=backbone), dataset=mnist.info())
    assert window.open_checkpoint(path)
    assert window.wait_until_idle(30)
    inside = window.inside_dock
    assert inside.action.isEnabled() and inside.action in window.analysis.menu.actions()
    inside.action.trigger()  # Analyse ▸ Inside the encoder…
    assert inside.dock.isVisible() and inside.index >= 0  # at once: the image nearest the marker
    index = hover_some_dot(qtbot, window)
    qtbot.waitUntil(lambda: inside.index == index, timeout=3000)
    assert f"#{index}" in inside.panel.caption.text() and "under the cursor" in inside.panel.caption.text()

    image = window.session.dataset.test.images[index].numpy()
    trace = look_inside(load_checkpoint(path).model.eval(), image)
    panels = dict(inside.panel.plot.panels)
    shown = {title: np.asarray(item.image) for title, item in inside.panel.plot.panels}
    if backbone == "conv":
        (name1, maps1), (name2, maps2) = trace.layers
        assert list(panels) == ["input image", "conv 1: 32 feature maps of 14×14", "conv 2: 64 feature maps of 7×7"]
        np.testing.assert_allclose(shown["conv 1: 32 feature maps of 14×14"], np.nan_to_num(tile_maps(maps1)),
                                   atol=1e-5)
    elif backbone == "lstm":
        gates = trace.directions["forward"]
        assert list(panels)[:4] == ["rows, one per step", "forget gate", "input gate",
                                    "output gate"] and len(panels) == 5
        np.testing.assert_allclose(shown["rows, one per step"], image[0])  # the rows
        for name in ("forget", "input", "output"):
            np.testing.assert_allclose(shown[f"{name} gate"], getattr(gates, name), atol=1e-5)
            assert shown[f"{name} gate"].shape == (28, 16)  # steps × units
        cell = next(v for k, v in shown.items() if k.startswith("cell |C_t|"))
        np.testing.assert_allclose(cell, gates.cell_magnitude, atol=1e-5)
    else:
        layers, heads = len(trace.weights), trace.weights[0].shape[0]
        assert len(panels) == 1 + layers * heads
        for layer in range(layers):
            for head in range(heads):
                expected = attention_on_image(image[0], trace.on_image(layer, head, (28, 28)))
                np.testing.assert_array_equal(shown[f"layer {layer + 1}, head {head + 1}"], expected)
    for title, item in inside.panel.plot.panels:
        assert item.toolTip(), title  # every panel explains itself
    picture = inside.dock.grab().toImage()
    assert picture.width() > 100 and picture.height() > 100


def test_a_model_without_encoder_cannot_be_looked_inside(window, checkpoints):
    assert window.open_checkpoint(checkpoints["gan"])
    assert not window.inside_dock.action.isEnabled()
