"""The Analyse menu of the main window: paths on the map, the strip dock, latent arithmetic,
outliers and exports, driven through the window as a user would."""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from latentlab.latent.paths import resample_polyline, slerp
from latentlab.models.checkpoint import load_checkpoint


def decode_path(qtbot, window, **panel):
    """Set the path panel, press Interpolate and wait for the strip."""
    analysis = window.analysis
    p = analysis.panel
    if "source" in panel:
        p.set_source(panel["source"])
    if "classes" in panel:
        p.set_class_pair(*panel["classes"])
    if "images" in panel:
        p.image_a.setValue(panel["images"][0])
        p.image_b.setValue(panel["images"][1])
    if "steps" in panel:
        p.steps.setValue(panel["steps"])
    if "mode" in panel:
        p.set_mode(panel["mode"])
    with qtbot.waitSignal(analysis.pathReady, timeout=60_000):
        qtbot.mouseClick(p.go, Qt.MouseButton.LeftButton)
    return analysis.path


def viewport_point(window, x: float, y: float) -> QPoint:
    return window.latent_map.viewport_position(x, y)


@pytest.fixture
def vae_window(window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])
    return window


def test_centroid_path_fills_the_strip_and_draws_on_the_map(qtbot, vae_window):
    window = vae_window
    window.analysis.interpolate_action.trigger()  # Analyse ▸ Interpolate… shows the dock
    assert window.analysis.dock.isVisible()
    path = decode_path(qtbot, window, source="centroids", classes=(3, 8), steps=10, mode="lerp")
    points = window.explorer.points
    a = points.latents[points.labels == 3].mean(0)
    b = points.latents[points.labels == 8].mean(0)
    np.testing.assert_allclose(path.latents[0], a, atol=1e-5)
    np.testing.assert_allclose(path.latents[-1], b, atol=1e-5)
    np.testing.assert_allclose(path.latents[4], a + (b - a) * 4 / 9, atol=1e-5)
    view = window.analysis.strip_view
    assert view.count() == 10 and path.frames.shape == (10, 1, 28, 28)
    assert len(path.classes) == 10 and path.metrics.start_class == 3 and path.metrics.end_class == 8
    assert "purity" in view.metrics_label.text() and "smoothness" in view.metrics_label.text()
    x, y = window.analysis.overlay.line.getData()
    np.testing.assert_allclose(np.c_[x, y], path.latents, atol=1e-5)  # a 2-D latent: the plane is the space
    assert "centroid of 3 → centroid of 8" in view.title.text()


def test_slerp_path_between_test_images_starts_at_their_encodings(qtbot, vae_window):
    window = vae_window
    path = decode_path(qtbot, window, source="images", images=(5, 17), steps=7, mode="slerp")
    model = load_checkpoint(window.session.path).model.eval()
    test = window.session.dataset.test
    with torch.no_grad():
        z = model.encode(test.images[[5, 17]]).numpy()
    np.testing.assert_allclose(path.latents[[0, -1]], z, atol=1e-4)
    np.testing.assert_allclose(path.latents, slerp(z[0], z[1], 7), atol=1e-4)
    assert path.metrics.start_class == int(test.labels[5]) and path.metrics.end_class == int(test.labels[17])


def test_shift_click_and_ctrl_click_pick_the_ends(qtbot, vae_window):
    window = vae_window
    lmap = window.latent_map
    viewport = lmap.plot.viewport()
    (x0, x1), (y0, y1) = lmap.visible_region()
    start = (x0 + 0.25 * (x1 - x0), y0 + 0.3 * (y1 - y0))
    end = (x0 + 0.75 * (x1 - x0), y0 + 0.6 * (y1 - y0))
    marker = lmap.marker_position()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     viewport_point(window, *start))
    assert window.analysis.start_xy is not None and window.analysis.end_xy is None
    assert lmap.marker_position() == marker  # a pick does not move the marker
    assert window.analysis.panel.source == "points"
    with qtbot.waitSignal(window.analysis.pathReady, timeout=60_000):
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier,
                         viewport_point(window, *end))
    assert lmap.marker_position() == marker
    pw, ph = lmap.view_box.viewPixelSize()
    path = window.analysis.path
    assert abs(path.latents[0, 0] - start[0]) <= 2 * pw and abs(path.latents[0, 1] - start[1]) <= 2 * ph
    assert abs(path.latents[-1, 0] - end[0]) <= 2 * pw and abs(path.latents[-1, 1] - end[1]) <= 2 * ph
    assert len(path.latents) == window.analysis.panel.steps.value()


def test_freehand_path_is_resampled_to_the_frame_count(qtbot, vae_window):
    window = vae_window
    lmap = window.latent_map
    viewport = lmap.plot.viewport()
    window.analysis.draw_action.trigger()
    assert window.analysis.picker.draw_mode and window.analysis.panel.source == "freehand"
    qtbot.wait(50)  # the dock opened: the window fits itself to the (800-line) screen before one draws
    window.analysis.panel.steps.setValue(9)
    marker = lmap.marker_position()
    start = viewport_point(window, 0.0, 0.0)
    corner = start + QPoint(160, 0)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, 9):  # right, then up: an L
        qtbot.mouseMove(viewport, start + QPoint(20 * i, 0))
    for i in range(1, 9):
        qtbot.mouseMove(viewport, corner + QPoint(0, -20 * i))
    with qtbot.waitSignal(window.analysis.pathReady, timeout=60_000):
        qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=corner + QPoint(0, -160))
    path = window.analysis.path
    assert len(path.latents) == 9
    assert not window.analysis.draw_action.isChecked()  # one stroke, then drawing ends
    assert lmap.marker_position() == marker  # drawing neither moved the marker ...
    pw, ph = lmap.view_box.viewPixelSize()  # ... nor panned the view: the drawn L is where the mouse went
    drawn = np.array([[0.0, 0.0], [160 * pw, 0.0], [160 * pw, 160 * ph]])
    np.testing.assert_allclose(path.latents, resample_polyline(drawn, 9), atol=3 * max(pw, ph))
    steps = np.linalg.norm(np.diff(path.latents, axis=0), axis=1)
    assert steps.max() < 1.5 * steps.min()  # frames evenly spaced along the stroke (but for the corner)


def test_playing_moves_the_cursor_along_the_path(qtbot, vae_window):
    window = vae_window
    decode_path(qtbot, window, source="centroids", classes=(1, 7), steps=6)
    analysis = window.analysis
    analysis.strip_view.set_speed(30)
    analysis.toggle_play()
    assert analysis.strip_view.playing
    qtbot.waitUntil(lambda: analysis.strip_view.current == 3, timeout=20_000)
    x, y = analysis.overlay.cursor.getData()
    np.testing.assert_allclose([x[0], y[0]], analysis.path.latents[3], atol=1e-5)
    analysis.toggle_play()
    assert not analysis.strip_view.playing


def test_exports_write_valid_files(qtbot, vae_window, tmp_path):
    window = vae_window
    analysis = window.analysis
    decode_path(qtbot, window, source="centroids", classes=(3, 8), steps=8)

    png = analysis.export_map_png(tmp_path / "map.png", width=800)
    with Image.open(png) as img:
        assert img.format == "PNG" and img.width == 800 and img.height > 200
        colours = np.asarray(img.convert("RGB")).reshape(-1, 3)
        assert len(np.unique(colours[::97], axis=0)) > 20  # points and territory, not a blank page

    svg = analysis.export_map_svg(tmp_path / "map.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    tags = [e.tag.rsplit("}", 1)[-1] for e in root.iter()]
    assert tags.count("image") >= 1000  # a dot per test image (and the territory)
    assert "clipPath" in tags and tags.count("text") >= 5  # clipped to the plot; axis ticks as text

    strip_png = analysis.export_strip_png(tmp_path / "strip.png")
    with Image.open(strip_png) as img:
        assert img.format == "PNG" and img.width > 8 * 28

    gif = analysis.export_strip_gif(tmp_path / "strip.gif")
    with Image.open(gif) as img:
        assert img.format == "GIF" and img.n_frames == 8  # one GIF frame per path frame

    rows = list(csv.reader(open(analysis.export_latents_csv(tmp_path / "latents.csv"))))
    assert rows[0] == ["z0", "z1", "label", "class_name"]
    assert len(rows) == 1 + 1000
    np.testing.assert_allclose(np.array(rows[1][:2], float), window.explorer.points.latents[0], rtol=1e-5,
                               atol=1e-6)
    assert rows[1][2] == str(int(window.session.dataset.test.labels[0]))


def test_strip_export_needs_a_path_first(vae_window, tmp_path, dialog_log):
    from latentlab.errors import ConfigError

    with pytest.raises(ConfigError, match="decode a path first"):
        vae_window.analysis.export_strip_gif(tmp_path / "strip.gif")


def test_arithmetic_moves_a_three_towards_an_eight(qtbot, vae_window):
    window = vae_window
    window.analysis.arithmetic_action.trigger()
    panel = window.analysis.arithmetic_panel
    assert panel.isVisible()
    panel.set_classes(3, 8)
    panel.apply_to_test_image(7)
    points = window.explorer.points
    vector = points.latents[points.labels == 8].mean(0) - points.latents[points.labels == 3].mean(0)
    np.testing.assert_allclose(panel.result_latent, points.latents[7] + vector, atol=1e-5)
    assert panel.before.shape == panel.after.shape == (28, 28)
    model = load_checkpoint(window.session.path).model.eval()  # an independent copy of the weights
    with torch.no_grad():
        expected = model.decode(torch.from_numpy(panel.result_latent[None])).numpy()[0, 0]
    np.testing.assert_allclose(panel.after, expected, atol=1e-5)
    assert np.abs(panel.after - panel.before).max() > 1e-4  # an untrained decoder: small, but a change
    assert "judge:" in panel.after_caption.text()
    panel.set_scale(0.0)
    np.testing.assert_allclose(panel.after, panel.before, atol=1e-6)
    panel.set_scale(2.0)
    panel.use_marker.setChecked(True)  # follows the marker from now on
    window.explorer.set_marker(0.5, -0.5)
    np.testing.assert_allclose(panel.point, [0.5, -0.5], atol=1e-6)
    np.testing.assert_allclose(panel.result_latent, panel.point + 2 * vector, atol=1e-5)


def test_outliers_lists_k_images_and_puts_the_marker_on_one(qtbot, vae_window):
    window = vae_window
    window.analysis.outliers_action.trigger()
    dialog = window.analysis.outliers_dialog
    dialog.k.setValue(5)
    with qtbot.waitSignal(dialog.ranked, timeout=60_000):
        dialog.rank()
    assert dialog.list.count() == 5
    scores = dialog.ranking.scores
    assert list(scores) == sorted(scores, reverse=True)
    assert scores[0] >= np.median(dialog.ranking.all_scores)
    assert "-ELBO" in dialog.list.item(0).text()
    index = int(dialog.ranking.indices[2])
    dialog.choose(2)
    np.testing.assert_allclose(window.latent_map.marker_position(), window.explorer.points.latents[index],
                               atol=1e-5)


def test_gan_offers_no_outliers_but_centroid_paths_of_judged_samples(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["gan"])
    assert not window.analysis.outliers_action.isEnabled()
    qtbot.waitUntil(lambda: (window.latent_map.labels() >= 0).all(), timeout=60_000)
    present = np.flatnonzero(np.bincount(window.explorer.points.labels, minlength=10))
    a, b = int(present[0]), int(present[-1])  # classes the judge sees among the samples G(z)
    path = decode_path(qtbot, window, source="centroids", classes=(a, b), steps=5)
    assert path.frames.shape == (5, 1, 28, 28) and path.metrics.start_class == a
    samples = window.explorer.points
    np.testing.assert_allclose(path.latents[0], samples.latents[samples.labels == a].mean(0), atol=1e-5)
    # two test images: a GAN has no encoder, so they are inverted (z optimised so that G(z) matches)
    path = decode_path(qtbot, window, source="images", images=(0, 1), steps=4, mode="lerp")
    assert path.latents.shape == (4, 2) and np.isfinite(path.latents).all()
    assert not np.allclose(path.latents[0], path.latents[-1])


def test_a_new_model_clears_the_path(qtbot, vae_window, checkpoints):
    window = vae_window
    decode_path(qtbot, window, source="centroids", classes=(3, 8), steps=5)
    assert window.open_checkpoint(checkpoints["vae4"])
    window.projection_picker.set_kind("slice")
    assert window.analysis.path is None and window.analysis.strip_view.count() == 0
    x, _ = window.analysis.overlay.line.getData()
    assert x is None or len(x) == 0
    path = decode_path(qtbot, window, source="centroids", classes=(3, 8), steps=5)
    assert path.latents.shape == (5, 4)
    x, y = window.analysis.overlay.line.getData()
    np.testing.assert_allclose(np.c_[x, y], path.latents[:, :2], atol=1e-5)  # the slice shows z0 and z1


def test_presentation_play_key_decodes_and_plays_the_path(qtbot, vae_window):
    window = vae_window
    analysis = window.analysis
    analysis.strip_view.set_speed(30)
    assert analysis.path is None
    with qtbot.waitSignal(analysis.pathReady, timeout=60_000):
        window.presentation.play_action.trigger()  # P: there is no strip yet, so one is decoded first
    assert analysis.dock.isVisible() and analysis.strip_view.playing
    qtbot.waitUntil(lambda: analysis.strip_view.current >= 2, timeout=20_000)
    window.presentation.play_action.trigger()
    assert not analysis.strip_view.playing


def test_presentation_mode_restyles_the_path(qtbot, vae_window):
    window = vae_window
    analysis = window.analysis
    decode_path(qtbot, window, source="centroids", classes=(3, 8), steps=6)
    light_ink = analysis.overlay.line.opts["pen"].color().name()
    light_caption = analysis.strip_view.canvas.caption(0)[1].name()
    window.presentation.set_active(True)
    try:
        assert analysis.overlay.line.opts["pen"].color().name() != light_ink  # light ink on black
        assert analysis.strip_view.canvas.caption(0)[1].name() != light_caption  # the bright class colours
        assert analysis.strip_view.count() == 6
    finally:
        window.presentation.set_active(False)
    assert analysis.overlay.line.opts["pen"].color().name() == light_ink


def test_another_slice_redraws_the_path(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae4"])
    window.projection_picker.set_kind("slice")
    path = decode_path(qtbot, window, source="centroids", classes=(2, 6), steps=5)
    window.latent_map.dim_y.setValue(3)
    x, y = window.analysis.overlay.line.getData()
    np.testing.assert_allclose(np.c_[x, y], path.latents[:, [0, 3]], atol=1e-5)


def test_changing_a_or_b_decodes_the_new_path_without_pressing_interpolate(qtbot, vae_window):
    window = vae_window
    analysis, panel, view = window.analysis, window.analysis.panel, window.analysis.strip_view
    analysis.interpolate_action.trigger()
    decode_path(qtbot, window, source="centroids", classes=(3, 8), steps=6)
    assert "centroid of 3 → centroid of 8" in view.title.text()
    with qtbot.waitSignal(analysis.pathReady, timeout=60_000):
        panel.class_b.setFocus()
        qtbot.keyClicks(panel.class_b, "5")  # the user picks 5 as B; nobody presses Interpolate
        assert view.stale and view.stale_label.text() == "Decoding the new path…"  # never the old pair unmarked
    assert analysis.path.metrics.end_class == 5 and "centroid of 3 → centroid of 5" in view.title.text()
    assert not view.stale and not view.stale_label.isVisible()
    with qtbot.waitSignal(analysis.pathReady, timeout=60_000):
        panel.steps.setValue(9)  # the frame count too
    assert view.count() == 9


def test_a_gan_greys_the_stale_strip_out_until_interpolate_inverts_the_new_images(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["gan"])
    qtbot.waitUntil(lambda: (window.latent_map.labels() >= 0).all(), timeout=60_000)
    analysis, panel, view = window.analysis, window.analysis.panel, window.analysis.strip_view
    analysis.interpolate_action.trigger()
    present = np.flatnonzero(np.bincount(window.explorer.points.labels, minlength=10))
    path = decode_path(qtbot, window, source="centroids", classes=(int(present[0]), int(present[-1])), steps=4)
    title = view.title.text()
    qtbot.waitUntil(lambda: analysis.lane.idle)
    panel.set_source("images")  # inverting test images through a generator takes seconds: not automatic
    qtbot.wait(3 * 150)
    assert analysis.lane.idle and analysis.path is path and view.title.text() == title
    assert view.stale and view.canvas.stale and view.stale_label.isVisible()
    assert "Press Interpolate" in view.stale_label.text() and "invert" in view.stale_label.text()
    panel.image_b.setValue(7)
    assert view.stale and analysis.lane.idle
    panel.set_source("centroids")  # back to a fast path: decoded at once
    with qtbot.waitSignal(analysis.pathReady, timeout=60_000):
        pass
    assert not view.stale


def test_the_points_source_without_both_ends_asks_for_them(qtbot, vae_window):
    window = vae_window
    analysis, view = window.analysis, window.analysis.strip_view
    analysis.interpolate_action.trigger()
    path = decode_path(qtbot, window, source="centroids", classes=(3, 8), steps=5)
    qtbot.waitUntil(lambda: analysis.lane.idle)
    analysis.panel.set_source("points")
    qtbot.wait(3 * 150)
    assert view.stale and "Shift+click" in view.stale_label.text()
    assert analysis.lane.idle and analysis.path is path
