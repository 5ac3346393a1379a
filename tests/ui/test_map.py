"""The latent map and the decoded view, driven through real mouse events."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from latentlab.models.checkpoint import load_checkpoint


def viewport_point(window, x: float, y: float) -> QPoint:
    return window.latent_map.viewport_position(x, y)


def settle(window) -> None:
    """Let the window finish laying itself out after a model opened (in the 800-pixel test
    screen the caption wraps, and the plot's height changes, a moment after opening)."""
    assert window.wait_until_idle(30)


def expected_decode(model, projection, xy) -> np.ndarray:
    z = torch.from_numpy(projection.to_latent(np.asarray([xy], np.float32)))
    with torch.no_grad():
        return model.decode(z).numpy()[0, 0]


def test_click_decodes_the_mapped_latent_point(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])
    lmap = window.latent_map
    viewport = lmap.plot.viewport()
    (x0, x1), (y0, y1) = lmap.visible_region()
    target = (x0 + 0.7 * (x1 - x0), y0 + 0.3 * (y1 - y0))
    before = window.explorer.decode_count
    with qtbot.waitSignal(window.explorer.decoded, timeout=2000):
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=viewport_point(window, *target))
    assert window.explorer.decode_count > before

    xy = lmap.marker_position()
    pw, ph = lmap.view_box.viewPixelSize()
    assert abs(xy[0] - target[0]) <= 2 * pw and abs(xy[1] - target[1]) <= 2 * ph  # within a pixel or two
    model = load_checkpoint(checkpoints["vae"]).model.eval()  # an independent copy of the weights
    shown = window.decoded_view.image()
    assert shown.shape == (28, 28)
    np.testing.assert_allclose(shown, expected_decode(model, window.explorer.projection, xy), atol=1e-5)


def test_dragging_the_marker_decodes_continuously(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])
    settle(window)
    lmap = window.latent_map
    viewport = lmap.plot.viewport()
    start = viewport_point(window, 0.0, 0.0)  # the marker starts at the origin
    updates = []
    window.decoded_view.imageShown.connect(lambda: updates.append(window.decoded_view.image().copy()))

    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    for i in range(1, 7):
        qtbot.wait(20)  # pyqtgraph drops mouse moves closer than 10 ms
        qtbot.mouseMove(viewport, start + QPoint(22 * i, -12 * i))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=start + QPoint(22 * 6, -12 * 6))

    assert len(updates) >= 3
    x, y = lmap.marker_position()
    pw, ph = lmap.view_box.viewPixelSize()
    assert x > 100 * pw and y > 50 * ph  # the marker followed the mouse right and up
    assert not np.allclose(updates[0], updates[-1])
    model = load_checkpoint(checkpoints["vae"]).model.eval()
    np.testing.assert_allclose(updates[-1], expected_decode(model, window.explorer.projection, (x, y)), atol=1e-5)


def test_hover_shows_the_original_image_of_the_point(qtbot, window, checkpoints, mnist):
    assert window.open_checkpoint(checkpoints["vae"])
    lmap = window.latent_map
    xy = lmap.positions()
    (x0, x1), (y0, y1) = lmap.visible_region()
    inside = np.flatnonzero((xy[:, 0] > x0) & (xy[:, 0] < x1) & (xy[:, 1] > y0) & (xy[:, 1] < y1))
    index = int(inside[len(inside) // 2])
    hovered = []
    lmap.pointHovered.connect(hovered.append)
    qtbot.mouseMove(lmap.plot.viewport(), viewport_point(window, *xy[index]))
    qtbot.waitUntil(lambda: lmap.hover_preview.isVisible(), timeout=2000)
    shown = hovered[-1]
    assert np.linalg.norm(xy[shown] - xy[index]) < 1e-2 or shown == index
    original = (mnist.test.images[shown, 0].numpy() * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(window.session.test_images[shown], original)
    assert lmap.hover_preview.pixmap().width() == 28 * 4


def test_legend_toggles_a_class(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])
    lmap = window.latent_map
    assert [b.text() for b in lmap.legend.buttons] == [str(d) for d in range(10)]
    qtbot.mouseClick(lmap.legend.buttons[3], Qt.MouseButton.LeftButton)
    assert not lmap.clouds[3].isVisible() and not lmap.is_class_visible(3)
    assert lmap.clouds[4].isVisible()
    qtbot.mouseClick(lmap.legend.buttons[3], Qt.MouseButton.LeftButton)
    assert lmap.clouds[3].isVisible()
    counts = [len(c) for c in lmap.clouds[:10]]
    assert sum(counts) == 1000 and min(counts) > 0


def test_territory_follows_pan_and_zoom(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])
    lmap = window.latent_map
    qtbot.waitUntil(lmap.has_territory, timeout=10_000)
    assert window.wait_until_idle(20)
    first = lmap.territory_item.mapRectToView(lmap.territory_item.boundingRect())
    lmap.set_region((5.0, 9.0), (5.0, 9.0))
    qtbot.waitUntil(lambda: lmap.territory_item.mapRectToView(lmap.territory_item.boundingRect()) != first,
                    timeout=10_000)
    rect = lmap.territory_item.mapRectToView(lmap.territory_item.boundingRect())
    assert rect.left() < 5.0 < 9.0 < rect.right()  # covers the new region (plus a margin)
    image = lmap.territory_item.image
    assert image.dtype == np.uint8 and image.shape[2] == 4
    assert image[..., 3].max() <= int(0.35 * 255) + 1  # tint: about 35% alpha scaled by confidence


def test_reset_view_shortcut_frames_the_points(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])
    lmap = window.latent_map
    lmap.set_region((50.0, 60.0), (50.0, 60.0))
    window.activateWindow()
    window.reset_view_action.trigger()
    (x0, x1), (y0, y1) = lmap.visible_region()
    xy = lmap.positions()
    assert x0 < np.median(xy[:, 0]) < x1 and y0 < np.median(xy[:, 1]) < y1


def test_manifold_grid_toggle(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])
    window.grid_action.trigger()  # the G shortcut's action
    assert window.decoded_view.grid_mode
    qtbot.waitUntil(lambda: window.decoded_view.grid_item.image is not None, timeout=5000)
    n = window.explorer.options.manifold_n
    assert window.decoded_view.grid_item.image.shape == (28 * n, 28 * n)
    window.grid_action.trigger()
    assert not window.decoded_view.grid_mode and window.decoded_view.image_item.isVisible()


def test_slice_of_a_four_dimensional_latent(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae4"])
    lmap = window.latent_map
    assert window.projection_picker.kind() == "pca"  # a latent of more than 2-D opens in PCA
    assert not lmap.dim_x.isVisible() and not lmap.dim_y.isVisible()
    window.projection_picker.set_kind("slice")
    assert lmap.dim_x.isVisible() and lmap.dim_y.isVisible()
    label = lmap.plot_item.getAxis("bottom").labelText
    assert "z0" in label and "data mean" in label
    latents = window.explorer.points.latents
    np.testing.assert_allclose(lmap.positions(), latents[:, [0, 1]], atol=1e-6)
    lmap.dim_y.setValue(3)
    np.testing.assert_allclose(lmap.positions(), latents[:, [0, 3]], atol=1e-6)
    assert "z3" in lmap.plot_item.getAxis("left").labelText
    z = window.explorer.marker_latent()
    mean = latents.mean(0)
    assert np.isclose(z[1], mean[1], atol=1e-5) and np.isclose(z[2], mean[2], atol=1e-5)


def test_gan_map_shows_prior_samples_coloured_by_the_judge(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["gan"])
    lmap = window.latent_map
    assert lmap.point_count() == 2000
    qtbot.waitUntil(lambda: (lmap.labels() >= 0).all(), timeout=20_000)
    assert window.beta_panel.kl.values().size == 0
    assert window.beta_panel.row.isHidden()  # a GAN has no β
    assert window.decoded_view.image().shape == (28, 28)


def test_marks_drawn_on_the_map_never_take_a_click(qtbot, window, checkpoints):
    """A path's frame dots lie where people click; like the hover ring they are only marks."""
    from latentlab.ui.analysis.path_tool import PathOverlay

    assert window.open_checkpoint(checkpoints["vae"])
    settle(window)
    lmap = window.latent_map
    (x0, x1), (y0, y1) = lmap.visible_region()
    frames = np.stack([np.linspace(x0 + 0.2 * (x1 - x0), x0 + 0.8 * (x1 - x0), 5), np.full(5, y0 + 0.9 * (y1 - y0))], 1)
    overlay = PathOverlay(lmap)
    overlay.set_path(frames)
    overlay.set_cursor(2)
    for target in (frames[2], frames[4]):  # the ringed frame, and an end (A/B) under a frame dot
        with qtbot.waitSignal(window.explorer.decoded, timeout=2000):
            qtbot.mouseClick(lmap.plot.viewport(), Qt.MouseButton.LeftButton, pos=viewport_point(window, *target))
        pw, ph = lmap.view_box.viewPixelSize()
        x, y = lmap.marker_position()
        assert abs(x - target[0]) <= 2 * pw and abs(y - target[1]) <= 2 * ph


def share_in_view(lmap) -> float:
    xy = lmap.positions()
    (x0, x1), (y0, y1) = lmap.visible_region()
    return float(np.mean((xy[:, 0] > x0) & (xy[:, 0] < x1) & (xy[:, 1] > y0) & (xy[:, 1] < y1)))


def wheel(widget, pos: QPoint, steps: int = 2) -> None:
    """Turn the mouse wheel over ``pos`` of ``widget`` (zooms in)."""
    event = QWheelEvent(QPointF(pos), QPointF(widget.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_map_follows_training_points_until_the_user_zooms(qtbot, window, mnist):
    """An untrained VAE's latents fill a tiny square; a run spreads them over several units.
    The map re-frames them as they leave the view, until the user zooms by hand."""
    from latentlab.models.registry import make_config
    from latentlab.training.trainer import TrainSettings

    config = make_config("vae", hidden=32, image_shape=list(mnist.image_shape), num_classes=mnist.num_classes)
    assert window.start_training(config, TrainSettings(epochs=100, report_every_steps=2, device="cpu"))
    lmap, run = window.latent_map, window.training.run
    start_width = np.ptp(lmap.visible_region()[0])
    snapshots: list[int] = []
    window.explorer.projectionChanged.connect(lambda: snapshots.append(1))
    qtbot.waitUntil(lambda: len(snapshots) >= 3, timeout=60_000)
    run.pause()
    qtbot.waitUntil(lambda: not lmap.is_gliding() and share_in_view(lmap) > 0.97, timeout=10_000)
    assert lmap.following and np.ptp(lmap.visible_region()[0]) > 3 * start_width  # it followed them out

    wheel(lmap.plot.viewport(), lmap.viewport_position(*np.median(lmap.positions(), axis=0)))
    assert not lmap.following
    zoomed = lmap.visible_region()
    seen = len(snapshots)
    run.resume()
    qtbot.waitUntil(lambda: len(snapshots) >= seen + 3, timeout=60_000)
    assert lmap.visible_region() == zoomed  # the user's view stays
    with qtbot.waitSignal(window.trainingEnded, timeout=30_000):
        window.training.stop()
    window.reset_view_action.trigger()  # R: frame them, and follow again
    assert lmap.following and share_in_view(lmap) > 0.97


def test_only_a_view_the_user_chose_is_kept_for_the_next_start(qtbot, window, checkpoints):
    """A view that was only framing the points must not freeze the next session's map (it
    stopped the map from following a training run after a restart)."""
    from latentlab.ui.main import session_state

    assert window.open_checkpoint(checkpoints["vae"])
    lmap = window.latent_map
    assert lmap.following and window.capture_state().view is None
    wheel(lmap.plot.viewport(), lmap.viewport_position(0.0, 0.0))
    chosen = lmap.visible_region()
    assert not lmap.following and window.capture_state().view == (*chosen[0], *chosen[1])


def test_a_gans_map_says_it_is_being_coloured_and_colours_coarse_first(qtbot, make_window, checkpoints,
                                                                      monkeypatch):
    """Judging a GAN's 2,000 samples takes seconds: a coarse territory comes first, a note over
    the map says what is computed until the dots are coloured, and they colour in batch by batch."""
    import threading

    from latentlab.app.jobs import SampleLabelsJob
    from latentlab.app.jobs_base import SampleLabels, TerritoryImage

    window = make_window(territory_stages=(6, 12))
    gate = threading.Event()
    judge_samples = SampleLabelsJob.run

    def slow_judge(self, models, emit):
        gate.wait(20)
        judge_samples(self, models, emit)

    monkeypatch.setattr(SampleLabelsJob, "run", slow_judge)
    results = []
    window.explorer.territory_lane.result.connect(lambda job, value: results.append(value))
    lmap = window.latent_map
    try:
        assert window.open_checkpoint(checkpoints["gan"])
        qtbot.waitUntil(lmap.busy.isVisible, timeout=5000)
        assert "judge" in lmap.busy.label.text() and "2,000" in lmap.busy.label.text()
        assert lmap.busy.geometry().intersects(lmap.plot.viewport().geometry())  # where the colours will be
        qtbot.waitUntil(lmap.has_territory, timeout=10_000)  # the coarse territory, while the samples wait
        assert lmap.busy.isVisible() and (lmap.labels() < 0).all()
    finally:
        gate.set()
    qtbot.waitUntil(lambda: (lmap.labels() >= 0).all(), timeout=20_000)
    assert not lmap.busy.isVisible() and lmap.busy.text() is None
    assert window.wait_until_idle(20)
    order = [(type(v).__name__, getattr(v, "resolution", None)) for v in results]
    labels = [v for v in results if isinstance(v, SampleLabels)]
    assert order[0] == ("TerritoryImage", 6) and order[-1] == ("TerritoryImage", 12)
    assert order.index(("TerritoryImage", 12)) > max(i for i, (kind, _) in enumerate(order) if kind == "SampleLabels")
    judged = [int((v.labels >= 0).sum()) for v in labels]
    assert len(judged) >= 3 and judged == sorted(judged) and judged[0] < 2000 == judged[-1]  # batch by batch
    assert all(isinstance(v, (TerritoryImage, SampleLabels)) for v in results)


def test_a_training_refresh_of_known_labels_is_one_result(checkpoints):
    """While a GAN trains, its samples' classes are refreshed: no grey dots in between."""
    from latentlab.models.checkpoint import load_checkpoint
    from latentlab.app.jobs import ModelCache, ModelSnapshot, SampleLabelsJob
    from latentlab.app.session import find_judge_cached, get_dataset

    model = load_checkpoint(checkpoints["gan"]).model.eval()
    judge = find_judge_cached(get_dataset("mnist-5k"))
    latents = np.random.default_rng(0).normal(size=(600, 2)).astype(np.float32)
    emitted = []
    SampleLabelsJob(ModelSnapshot.of(model), judge, latents).run(ModelCache(), emitted.append)
    assert [int((v.labels >= 0).sum()) for v in emitted] == [250, 600]
    refreshed = []
    SampleLabelsJob(ModelSnapshot.of(model), judge, latents, emitted[-1].labels).run(ModelCache(), refreshed.append)
    assert len(refreshed) == 1 and np.array_equal(refreshed[0].labels, emitted[-1].labels)


def test_the_legend_and_tooltips_tell_dots_from_territory_which_can_be_hidden(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])
    lmap = window.latent_map
    qtbot.waitUntil(lmap.has_territory, timeout=10_000)
    for word in ("true class", "judge's class", "same colours"):
        assert word in lmap.legend.toolTip()
    toggle = lmap.territory_toggle
    assert "Territory" in toggle.text() and "judge" in toggle.toolTip() and "classifier" in toggle.toolTip()
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    assert not lmap.has_territory() and not lmap.territory_item.isVisible()
    lmap.set_region((2.0, 4.0), (2.0, 4.0))  # no territory is computed while it is hidden
    qtbot.wait(400)
    assert window.explorer.idle and not lmap.territory_item.isVisible()
    qtbot.mouseClick(toggle, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: lmap.has_territory() and lmap.territory_item.mapRectToView(
        lmap.territory_item.boundingRect()).contains(3.0, 3.0), timeout=10_000)
    assert "judge's class of G(z)" not in lmap.legend.toolTip()
    assert "A spacing is the typical gap between neighbouring dots" in window.projection_picker.distance.toolTip()
    assert window.open_checkpoint(checkpoints["gan"])
    assert "judge's class of G(z)" in lmap.legend.toolTip()
