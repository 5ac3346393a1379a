"""Clicking in the scatter plot as a person does: move onto a dot, see its preview, click it.

The window is the one a user gets: the shipped models (resources/pretrained), real mouse
events on the plot's viewport at the dot's pixel. A dot that is hovered carries the hover
ring, and a ring that took the click left the marker where it was (issue: "dot clicks that
changed the decode: 0/4"). Each click is checked against an independent copy of the model:
the marker sits on the dot, and the decoded view shows the decode of the dot's latent, which
for a test image's dot is the model's reconstruction of that image.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QPoint, Qt

from latentlab.data import resources_dir
from latentlab.latent.umap_service import key_hash
from latentlab.models.checkpoint import load_checkpoint

SHIPPED = resources_dir() / "pretrained"


def reconstruction(model, image: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(np.asarray(image, np.float32) / 255.0)[None, None]
    with torch.no_grad():
        return model.decode(model.encode(x)).numpy()[0, 0]


def decode_at(model, projection, xy) -> np.ndarray:
    z = torch.from_numpy(projection.to_latent(np.asarray([xy], np.float32)))
    with torch.no_grad():
        return model.decode(z).numpy()[0, 0]


def dense_middle(lmap, n: int) -> np.ndarray:
    """Indices of the ``n`` visible points nearest the middle of the cloud (in pixels), the
    crowded place where students ask to click."""
    xy = lmap.positions()
    (x0, x1), (y0, y1) = lmap.visible_region()
    visible = np.flatnonzero((xy[:, 0] > x0) & (xy[:, 0] < x1) & (xy[:, 1] > y0) & (xy[:, 1] < y1))
    pw, ph = lmap.view_box.viewPixelSize()
    middle = np.median(xy[visible], axis=0)
    pixels = np.hypot((xy[visible, 0] - middle[0]) / pw, (xy[visible, 1] - middle[1]) / ph)
    return visible[np.argsort(pixels)[: 8 * n : 8]]  # spread a little: not n dots on one pixel


def hover_then_click(qtbot, window, index: int) -> int:
    """Move onto the dot, wait for its preview, click; returns the index of the dot whose
    preview was shown (in a crowd, a neighbour's dot may be nearer to the pixel)."""
    lmap = window.latent_map
    viewport = lmap.plot.viewport()
    pos = lmap.viewport_position(*lmap.positions()[index])
    hovered: list[int] = []
    lmap.pointHovered.connect(hovered.append)
    qtbot.mouseMove(viewport, pos + QPoint(1, 0))  # arrive from beside it, as a hand does
    qtbot.wait(20)  # pyqtgraph drops mouse moves closer than 10 ms
    qtbot.mouseMove(viewport, pos)
    qtbot.waitUntil(lambda: lmap.hover_preview.isVisible() and hovered and hovered[-1] >= 0, timeout=3000)
    lmap.pointHovered.disconnect(hovered.append)
    shown = hovered[-1]
    assert lmap.hover_ring.points().size == 1  # the ring is drawn on the dot that will be clicked
    before = window.explorer.decode_count
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: window.explorer.decode_count > before, timeout=3000)
    return shown


def assert_clicks_decode_the_dots(qtbot, window, model, n: int = 5) -> None:
    lmap, session = window.latent_map, window.session
    for index in dense_middle(lmap, n):
        shown = hover_then_click(qtbot, window, int(index))
        np.testing.assert_allclose(lmap.marker_position(), lmap.positions()[shown], atol=1e-6)
        np.testing.assert_allclose(window.decoded_view.image(), reconstruction(model, session.test_images[shown]),
                                   atol=1e-4)


@pytest.fixture
def vae_window(window):
    assert window.open_checkpoint(SHIPPED / "vae.safetensors")
    assert window.wait_until_idle(30)  # laid out and painted, as a person sees it before moving the mouse
    return window


def test_hovering_then_clicking_a_dot_of_the_vae_map_decodes_that_dot(qtbot, vae_window):
    model = load_checkpoint(SHIPPED / "vae.safetensors").model.eval()
    assert_clicks_decode_the_dots(qtbot, vae_window, model)


def test_the_same_in_presentation_mode(qtbot, vae_window):
    from screens import screen_of

    window = vae_window
    projector = screen_of((1920, 1080))  # the projector's look follows its screen's height
    window.fit_into_screen(projector, fresh=True)
    qtbot.waitUntil(lambda: window.screen().name() == projector.name(), timeout=5000)
    window.presentation.set_active(True)
    try:
        qtbot.waitUntil(lambda: window.latent_map.marker_size() > 26, timeout=3000)  # the projector's look
        qtbot.waitUntil(lambda: window.explorer.idle, timeout=10_000)
        model = load_checkpoint(SHIPPED / "vae.safetensors").model.eval()
        assert_clicks_decode_the_dots(qtbot, window, model)
    finally:
        window.presentation.set_active(False)  # the look is application-wide: leave it as found


def test_a_drag_through_the_dense_middle_moves_the_marker_and_decodes_all_the_way(qtbot, vae_window):
    window, lmap = vae_window, vae_window.latent_map
    model = load_checkpoint(SHIPPED / "vae.safetensors").model.eval()
    viewport = lmap.plot.viewport()
    xy = lmap.positions()
    middle = np.median(xy, axis=0)
    start = lmap.viewport_position(*middle) - QPoint(120, 0)
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=start)  # the marker to the left of the crowd
    start = lmap.viewport_position(*lmap.marker_position())
    view = lmap.visible_region()
    decodes = []
    window.decoded_view.imageShown.connect(lambda: decodes.append(window.decoded_view.image().copy()))

    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, 13):  # 240 px to the right, straight through the crowd
        qtbot.wait(20)
        qtbot.mouseMove(viewport, start + QPoint(20 * i, 0))
        assert not lmap.hover_preview.isVisible()  # no preview while the marker is dragged
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start + QPoint(240, 0))

    assert lmap.visible_region() == view  # the drag moved the marker, not the view
    assert len(decodes) >= 8
    end = lmap.marker_position()
    pw, _ = lmap.view_box.viewPixelSize()
    assert end[0] - lmap.view_box.mapSceneToView(lmap.plot.mapToScene(start)).x() == pytest.approx(240 * pw, rel=0.05)
    np.testing.assert_allclose(decodes[-1], decode_at(model, window.explorer.projection, end), atol=1e-5)
    assert len({d.tobytes() for d in decodes}) >= 6  # the digit changed along the way


def stand_in_layout(latents: np.ndarray) -> np.ndarray:
    """A non-linear 2-D layout of the latents (a warped PCA plane), standing in for UMAP's.

    A cold UMAP fit takes a minute (numba); test_umap_service.py runs the real one. What is
    under test here is the window with a layout: the click through the embedding's inverse.
    """
    centred = latents - latents.mean(0)
    _, _, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    uv = centred @ vt[:2].T
    uv /= uv.std(0)
    return np.stack([uv[:, 0] + 0.6 * np.sin(2 * uv[:, 1]), uv[:, 1] + 0.3 * uv[:, 0] ** 2], 1).astype(np.float32)


def test_clicking_dots_of_the_16d_vaes_umap_map_decodes_them(qtbot, window, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))  # a fresh cache, then this layout in it
    assert window.open_checkpoint(SHIPPED / "vae-16d.safetensors")
    latents = window.explorer.points.latents
    service = window.projection_controller.service
    service.cache_path(key_hash(latents)).parent.mkdir(parents=True, exist_ok=True)
    np.save(service.cache_path(key_hash(latents)), stand_in_layout(latents))
    window.projection_picker.set_kind("umap")
    qtbot.waitUntil(lambda: window.explorer.projection.kind == "umap", timeout=5000)
    qtbot.waitUntil(lambda: window.explorer.idle, timeout=10_000)
    # the map shows the layout (this one, or a layout shipped with the model)
    np.testing.assert_allclose(window.latent_map.positions(), window.explorer.projection.embedding, atol=1e-6)

    model = load_checkpoint(SHIPPED / "vae-16d.safetensors").model.eval()
    assert_clicks_decode_the_dots(qtbot, window, model)
    # and between the dots: the decode of the inverse's latent there
    lmap = window.latent_map
    (x0, x1), (y0, y1) = lmap.visible_region()
    target = (x0 + 0.8 * (x1 - x0), y0 + 0.2 * (y1 - y0))
    qtbot.mouseClick(lmap.plot.viewport(), Qt.MouseButton.LeftButton, pos=lmap.viewport_position(*target))
    xy = lmap.marker_position()
    np.testing.assert_allclose(window.decoded_view.image(), decode_at(model, window.explorer.projection, xy),
                               atol=1e-5)
