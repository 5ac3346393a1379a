"""Opening, saving, errors, start-up paths of the main window."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage

from latentlab.models.checkpoint import is_checkpoint, load_checkpoint


def test_open_checkpoint_fills_every_view(qtbot, window, checkpoints):
    assert window.stack.currentWidget() is window.welcome
    assert window.open_checkpoint(checkpoints["vae"])
    assert window.stack.currentWidget() is window.latent_map
    assert window.latent_map.point_count() == 1000
    assert window.decoded_view.image().shape == (28, 28)
    x, y = window.loss_plot.series("recon", "epochs")
    assert list(x) == [1, 2, 3]
    assert len(window.loss_plot.series("kl", "test")[0]) == 3
    np.testing.assert_allclose(window.beta_panel.kl.values(), [3.0, 0.02])
    assert "1 of 2 active" in window.beta_panel.kl.getPlotItem().titleLabel.text
    assert "vae" in window.status_model.text() and "mnist-5k" in window.status_dataset.text()
    assert window.status_epoch.text() == "epoch 3" and "cpu" in window.status_device.text()
    assert window.recent_checkpoints()[0] == str(checkpoints["vae"].resolve())
    qtbot.waitUntil(window.latent_map.has_territory, timeout=10_000)
    assert "Judge:" in window.decoded_view.readout.text()


def test_corrupt_checkpoint_shows_an_error_and_the_window_stays_usable(qtbot, window, checkpoints, tmp_path,
                                                                       dialog_log):
    dialog_log.expect_errors = True
    broken = tmp_path / "broken"
    shutil.copytree(checkpoints["vae"], broken)
    (broken / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage" + b"\0" * 64)
    assert not window.open_checkpoint(broken)
    assert len(dialog_log.errors) == 1
    title, message = dialog_log.errors[0]
    assert "broken" in title and str(broken) in message
    assert window.session is None and window.stack.currentWidget() is window.welcome
    assert window.open_checkpoint(checkpoints["vae"])  # still usable
    assert window.decoded_view.image() is not None
    assert len(dialog_log.errors) == 1


def test_a_judge_checkpoint_is_refused_with_a_reason(window, tmp_path, mnist, dialog_log):
    from latentlab.models.checkpoint import save_checkpoint
    from latentlab.models.registry import create_model, make_config

    dialog_log.expect_errors = True
    path = save_checkpoint(tmp_path / "judge", create_model(make_config("judge")), dataset=mnist.info())
    assert not window.open_checkpoint(path)
    assert "no decoder" in dialog_log.errors[0][1]


def test_save_writes_an_atomic_checkpoint_that_round_trips(window, checkpoints, tmp_path):
    assert window.open_checkpoint(checkpoints["vae"])
    out = window.save_checkpoint(tmp_path / "copy")
    assert out is not None and is_checkpoint(out)
    loaded = load_checkpoint(out)
    original = load_checkpoint(checkpoints["vae"])
    for key, value in original.model.state_dict().items():
        assert np.array_equal(loaded.model.state_dict()[key].numpy(), value.numpy())
    assert loaded.history == original.history
    assert window.session.path == out and window.recent_checkpoints()[0] == str(out.resolve())


def test_dropping_a_checkpoint_opens_it(qtbot, window, checkpoints):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(checkpoints["vae4"]))])
    event = QDropEvent(QPointF(100, 100), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    qtbot.waitUntil(lambda: window.session is not None, timeout=5000)
    assert window.session.latent_dim == 4


def test_no_display_is_one_clear_error(monkeypatch, capsys):
    from latentlab.ui.main import app

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(app.sys, "platform", "linux")
    assert app.run_app(None, None) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("latentlab: error: no display found; run under Xvfb (xvfb-run latentlab) or set "
                   "QT_QPA_PLATFORM=offscreen")
    assert app.display_problem({"DISPLAY": ":0"}, "linux") is None
    assert app.display_problem({}, "darwin") is None


def test_screenshot_writes_a_png(qtbot, checkpoints, tmp_path, monkeypatch):
    from latentlab.ui.main import app

    monkeypatch.setattr(app, "CAPTURE_TERRITORY", (8,))
    out = tmp_path / "shots" / "window.png"
    assert app.run_app(str(checkpoints["vae"]), str(out)) == 0
    assert out.stat().st_size > 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1400, 860)


def test_screenshot_of_a_bad_checkpoint_fails_cleanly(tmp_path, capsys):
    from latentlab.ui.main import app

    assert app.run_app(str(tmp_path / "missing"), str(tmp_path / "x.png")) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("shortcut", ["Ctrl+O", "Ctrl+S", "Ctrl+Shift+S", "Ctrl+Q", "Space", "G", "R"])
def test_shortcuts_exist_with_tooltips(window, shortcut):
    actions = [a for a in window.actions() if a.shortcut().toString() == shortcut]
    assert len(actions) == 1 and actions[0].toolTip()


def test_every_control_has_a_tooltip(window):
    from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QAbstractSpinBox, QComboBox

    controls = [w for kind in (QAbstractButton, QAbstractSpinBox, QComboBox, QAbstractSlider)
                for w in window.findChildren(kind)]
    missing = [f"{type(w).__name__} {getattr(w, 'text', lambda: '')()!r}" for w in controls
               if not w.toolTip() and w.isVisibleTo(window) and not w.objectName().startswith("qt_")]
    assert not missing


def test_binding_defects_cannot_exhaust_none_or_booleans():
    """The PySide6 6.12 / Python 3.11 defects of compat.py cannot abort the window."""
    import sys

    from PySide6.QtCore import QObject, Signal, Slot
    from PySide6.QtGui import QColor

    from latentlab.ui.base.compat import protect_singletons

    class Flag(QObject):
        changed = Signal(bool)

        @Slot(bool)
        def take(self, value: bool) -> None:
            pass

    protect_singletons()  # a no-op on a binding without the defect
    color, flag = QColor(), Flag()
    flag.changed.connect(flag.take)
    before = [sys.getrefcount(x) for x in (None, True, False)]
    for _ in range(10_000):
        color.setRed(1)
        flag.changed.emit(True)
        flag.changed.emit(False)
    after = [sys.getrefcount(x) for x in (None, True, False)]
    # A defective, unprotected binding loses 10,000 references from each of them here.
    assert all(a > b - 1_000 for a, b in zip(after, before)), (before, after)


def test_a_missing_judge_is_trained_in_the_background(qtbot, window, checkpoints, monkeypatch):
    from latentlab.training import judges
    from latentlab.app import session as session_module

    real_judge = session_module.find_judge_cached(session_module.get_dataset("mnist-5k"))
    calls = []

    def slow_get_judge(dataset, device="cpu", *, log=lambda msg: None, **progress):
        calls.append(dataset.name)
        log("training a judge classifier (test stand-in)")
        return real_judge

    monkeypatch.setattr(session_module, "find_judge_cached", lambda dataset, caches=None: None)
    monkeypatch.setattr(judges, "get_judge", slow_get_judge)
    assert window.open_checkpoint(checkpoints["vae"])
    assert window.session.judge is None and not window.latent_map.has_territory()
    qtbot.waitUntil(lambda: window.session.judge is real_judge, timeout=10_000)
    qtbot.waitUntil(window.latent_map.has_territory, timeout=10_000)
    assert calls == ["mnist-5k"]
    assert "Judge:" in window.decoded_view.readout.text() and "not available" not in window.decoded_view.readout.text()


def test_run_app_opens_the_window_and_exits_cleanly(qtbot, checkpoints, tmp_path):
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from latentlab.ui.main import app
    from latentlab.ui.main.main_window import MainWindow

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    seen = []

    def look_and_close():
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, MainWindow) and w.isVisible() and w.session is not None]
        if windows:  # the checkpoint is open, so run_app is in exec() now
            seen.extend(w.session.path == checkpoints["vae"] for w in windows)
            QApplication.closeAllWindows()
            QApplication.quit()  # pytest-qt's application does not quit on its last window

    poll = QTimer()
    poll.setInterval(100)
    poll.timeout.connect(look_and_close)
    poll.start()
    try:
        assert app.run_app(str(checkpoints["vae"]), None) == 0
    finally:
        poll.stop()
    assert seen == [True]


def test_save_without_changes_leaves_the_file_alone(window, checkpoints, tmp_path):
    import shutil

    path = tmp_path / "vae"
    shutil.copytree(checkpoints["vae"], path)
    before = {p.name: p.stat().st_mtime_ns for p in path.iterdir()}
    assert window.open_checkpoint(path)
    assert window.save_checkpoint() == path  # Ctrl+S on an unchanged model
    assert {p.name: p.stat().st_mtime_ns for p in path.iterdir()} == before


def test_kl_bar_labels_stay_short_and_few_for_many_dimensions(qtbot):
    from latentlab.ui.panels.kl_bars import MAX_TICK_LABELS, KLBars

    bars = KLBars()
    qtbot.addWidget(bars)

    def labels() -> list[str]:
        return [text for _, text in bars.getPlotItem().getAxis("bottom")._tickLevels[0]]

    bars.set_kl([1.0, 0.0, 2.0])
    assert labels() == ["z0", "z1", "z2"]
    bars.set_kl(np.linspace(0, 2, 16))
    assert labels() == [str(i) for i in range(16)]  # "z10z11z12" ran together at 16
    bars.set_kl(np.ones(64))
    shown = labels()
    assert len(shown) <= MAX_TICK_LABELS and shown[0] == "0" and shown[1] == "4"


def test_a_checkpoint_without_history_says_so_under_the_loss_plots(qtbot, window, checkpoints):
    from latentlab.ui.panels.loss_plot import NO_HISTORY

    plot = window.loss_plot
    assert window.open_checkpoint(checkpoints["gan"])  # saved without per-epoch records
    assert plot._note is not None and plot._note.text == NO_HISTORY
    plot.add_step(0.5, {"loss": 1.0})  # training adds data: the note goes
    assert plot._note is None
    assert window.open_checkpoint(checkpoints["vae"])  # with history: no note
    assert plot._note is None and plot.point_count() > 0


def test_the_window_fits_a_768_line_laptop_screen_without_squeezing_its_controls(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])
    minimum = window.minimumSizeHint()
    assert minimum.width() <= 1024 and minimum.height() <= 720, minimum  # the welcome page no longer counts
    window.resize(1000, 700)
    qtbot.wait(20)
    panel = window.training_panel
    for box in (panel.latent_dim, panel.epochs, panel.lr, panel.family):
        assert box.height() >= box.sizeHint().height()  # the summary under them gives way, not they
    assert "<br>" in window.latent_map.plot_item.titleLabel.text  # the caption breaks into two lines
    window.resize(1900, 700)
    qtbot.wait(20)
    assert "<br>" not in window.latent_map.plot_item.titleLabel.text


def test_opening_the_interpolation_dock_on_a_short_screen_hides_the_training_panel_to_fit(
        qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])
    window.resize(760, 700)
    qtbot.wait(10)
    available = window.screen().availableGeometry().height()  # the offscreen screen: 800 lines
    assert window.bottom_action.isChecked()
    window.analysis.interpolate_action.trigger()
    qtbot.waitUntil(lambda: window.height() <= available, timeout=5000)
    assert not window.bottom_action.isChecked() and not window.bottom.isVisible()
    assert window.analysis.dock.isVisible()
    window.bottom_action.trigger()  # T: the user may have it back
    assert window.bottom.isVisible()


def test_a_many_dimensional_model_opens_in_umap_when_its_layout_is_there_else_pca_says_what_it_shows(
        qtbot, make_window, checkpoints, tmp_path, monkeypatch):
    from latentlab.latent.umap_service import key_hash
    from latentlab.ui.main.main_window import PCA_NOTES

    pca_notes = {note.format(d=4) for note in PCA_NOTES}

    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))  # an empty layout cache
    window = make_window()
    assert window.open_checkpoint(checkpoints["vae4"])
    picker = window.projection_picker
    assert window.explorer.projection.kind == "pca" and picker.kind() == "pca"
    assert picker.status.text() in pca_notes and "4-D" in picker.status.toolTip()  # what PCA shows
    latents = window.explorer.points.latents

    # A layout of exactly these latents in the cache (as a fit, or the shipped resources, leave one).
    rng = np.random.default_rng(0)
    embedding = rng.normal(size=(len(latents), 2)).astype(np.float32)
    (tmp_path / "cache" / "umap").mkdir(parents=True)
    np.save(tmp_path / "cache" / "umap" / f"{key_hash(latents)}.npy", embedding)
    assert window.open_checkpoint(checkpoints["gan"])
    assert window.open_checkpoint(checkpoints["vae4"])
    projection = window.explorer.projection  # at once: no worker, no PCA first
    assert projection.kind == "umap" and picker.kind() == "umap" and picker.status.text() not in pca_notes
    np.testing.assert_allclose(projection.to_plane(latents), embedding, atol=1e-5)
    assert not window.projection_controller.pending
    picker.set_kind("pca")  # the user may still look at PCA, and is told what it shows
    assert window.explorer.projection.kind == "pca" and picker.status.text() in pca_notes
