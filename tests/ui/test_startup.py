"""Start-up: the first screen (a NumPy preview of the model) is explorable before the
PyTorch session arrives, which then takes its place without moving the view; and the
trace that benchmarks/startup.py reads records the moments in order and quits the app."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings

from pretrained_helpers import pretrained  # noqa: F401 - a fixture


def test_the_startup_trace_records_window_then_explorable_and_quits(qtbot, tmp_path, monkeypatch,
                                                                    pretrained, gated_session_open):  # noqa: F811
    from latentlab.ui.main import app
    from latentlab.ui.main.startup import TRACE_ENV, StartupTrace

    # The session opens once the first screen is explorable: on a loaded machine the
    # preview's territory can take longer than the loader waits for it (FIRST_SCREEN_WAIT_S).
    mark = StartupTrace.mark

    def mark_and_open(self, event: str) -> None:
        mark(self, event)
        if event == "explorable":
            gated_session_open.set()

    monkeypatch.setattr(StartupTrace, "mark", mark_and_open)
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    trace = tmp_path / "trace.json"
    monkeypatch.setenv(TRACE_ENV, str(trace))
    assert app.run_app(None, None) == 0  # returns: the trace quit the app once the map was explorable
    recorded = json.loads(trace.read_text())
    wall, cpu = recorded["wall"], recorded["cpu"]
    # The tiny default VAE is previewed: explorable before the PyTorch session is set.
    assert list(wall) == ["window_shown", "explorable", "session_set"]
    assert wall["window_shown"] < wall["explorable"] < wall["session_set"]
    assert set(cpu) == set(wall) and cpu["window_shown"] <= cpu["explorable"]
    assert recorded["longest_gap_while_loading_s"] > 0


# ---------------------------------------------------------------- first screen
@pytest.fixture
def deferred_window(qtbot, tmp_path):
    """A window as ``latentlab`` builds it: PyTorch's part not loaded yet (defer_engine)."""
    from latentlab.ui.map.explorer import ExplorerOptions
    from latentlab.ui.main.main_window import MainWindow, WindowOptions

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, options=WindowOptions(
        defer_engine=True, warm_up=False, explorer=ExplorerOptions(territory_stages=(8,))))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()
    window.shutdown()
    window.deleteLater()


@pytest.fixture
def gated_session_open(monkeypatch):
    """Session.open waits until the test sets the returned event: the PyTorch session is late."""
    from latentlab.app.session import Session

    gate = threading.Event()
    original = Session.open.__func__

    def late_open(cls, path, *args, **kwargs):
        assert gate.wait(30), "the test never let the session open"
        return original(cls, path, *args, **kwargs)

    monkeypatch.setattr(Session, "open", classmethod(late_open))
    yield gate
    gate.set()


def _first_screen_ready(window) -> bool:
    return (window.explorer.session is not None and window.decoded_view.image() is not None
            and window.latent_map.has_territory())


def test_the_first_screen_is_explorable_before_the_session_which_keeps_its_view(
        qtbot, deferred_window, gated_session_open, pretrained):  # noqa: F811
    from latentlab.models.checkpoint import load_checkpoint
    from latentlab.ui.main import session_state
    from latentlab.ui.main.session_state import SessionState

    window = deferred_window
    startup = window.make_startup(None, SessionState())
    startup.start()
    try:
        qtbot.waitUntil(lambda: _first_screen_ready(window), timeout=20_000)
        preview = window.explorer.session
        assert getattr(preview, "is_preview", False) and window.session is None
        assert preview.path == pretrained / "vae.safetensors"
        assert window.stack.currentWidget() is window.latent_map
        assert window.latent_map.point_count() == len(preview.test_images)
        # Training, analysis and saving wait for PyTorch; the map's own actions work.
        assert not window.save_action.isEnabled() and not window.train_action.isEnabled()
        assert window.grid_action.isEnabled() and window.reset_view_action.isEnabled()

        # Decodes live, with the checkpoint's own weights.
        window.latent_map.set_marker(0.7, -0.4)
        z = window.explorer.marker_latent()
        model = load_checkpoint(preview.path).model.eval()
        with torch.inference_mode():
            expected = model.decode(torch.from_numpy(z[None].astype(np.float32)))[0, 0].numpy()
        np.testing.assert_allclose(window.decoded_view.image(), expected, atol=1e-5)
        window.latent_map.following = False
        window.latent_map.set_region((-1.5, 2.0), (-2.0, 1.0))
        qtbot.waitUntil(lambda: not window.latent_map.region_pending(), timeout=5000)
        region = window.latent_map.visible_region()
        window.grid_action.trigger()  # the manifold grid, from the preview's own lane
        qtbot.waitUntil(lambda: window.decoded_view.grid_item.image is not None, timeout=10_000)
        assert window.decoded_view.grid_item.image.shape == (16 * 28, 16 * 28)
        window.grid_action.trigger()
        state = window.capture_state()  # closing now would remember this model and view
        assert state.models == [str(preview.path.resolve())]
        assert state.marker == pytest.approx((0.7, -0.4))

        gated_session_open.set()
        qtbot.waitUntil(lambda: window.session is not None, timeout=30_000)
    finally:
        gated_session_open.set()
        startup.wait()
    assert window.explorer.session is window.session and window.session.path == preview.path
    assert window.latent_map.marker_position() == pytest.approx((0.7, -0.4))
    for got, want in zip(window.latent_map.visible_region(), region):
        assert got == pytest.approx(want, abs=1e-6)
    assert window.latent_map.has_territory()  # the preview's, until the session's own arrives
    assert window.save_action.isEnabled() and window.train_action.isEnabled()


def test_when_the_session_fails_after_the_first_screen_the_welcome_page_says_why(
        qtbot, deferred_window, monkeypatch, pretrained):  # noqa: F811
    from latentlab.errors import CheckpointError
    from latentlab.app.session import Session
    from latentlab.ui.main.session_state import SessionState

    def broken(cls, path):
        raise CheckpointError(f"{path} is damaged (test)")

    monkeypatch.setattr(Session, "open", classmethod(broken))
    window = deferred_window
    shown = []
    window.explorer.territoryShown.connect(lambda: shown.append(window.explorer.session))
    startup = window.make_startup(None, SessionState())
    startup.start()
    try:
        qtbot.waitUntil(lambda: window.welcome.notice.isVisible(), timeout=20_000)
    finally:
        startup.wait()
    assert shown and getattr(shown[0], "is_preview", False)  # the first screen was there
    assert window.explorer.session is None and window.session is None
    assert window.stack.currentWidget() is window.welcome
    assert "damaged (test)" in window.welcome.notice.text()


def test_a_model_the_preview_cannot_run_opens_with_pytorch_alone(qtbot, deferred_window, checkpoints):
    from latentlab.ui.main.session_state import SessionState

    window = deferred_window
    seen = []
    window.explorer.territoryShown.connect(lambda: seen.append(window.explorer.session))
    startup = window.make_startup(str(checkpoints["gan"]), SessionState())
    startup.start()
    try:
        qtbot.waitUntil(lambda: window.session is not None, timeout=30_000)
    finally:
        startup.wait()
    assert not any(getattr(s, "is_preview", False) for s in seen)
    assert window.explorer.session is window.session and window.session.family == "gan"


def test_a_file_dropped_while_pytorch_loads_opens_after_the_start_up_model(
        qtbot, deferred_window, gated_session_open, pretrained, checkpoints):  # noqa: F811
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    from latentlab.ui.main.session_state import SessionState

    window = deferred_window
    startup = window.make_startup(None, SessionState())
    startup.start()
    try:
        qtbot.waitUntil(lambda: _first_screen_ready(window), timeout=20_000)
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(checkpoints["vae4"]))])
        window.dropEvent(QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                    Qt.KeyboardModifier.NoModifier))
        assert "opens as soon as PyTorch has loaded" in window.statusBar().currentMessage()
        assert window.session is None
        gated_session_open.set()
        qtbot.waitUntil(lambda: window.session is not None and window.session.path == checkpoints["vae4"],
                        timeout=30_000)
    finally:
        gated_session_open.set()
        startup.wait()
    assert window.recent_checkpoints()[0] == str(checkpoints["vae4"])


def test_the_last_sessions_view_is_restored_on_the_first_screen_and_kept(
        qtbot, deferred_window, gated_session_open, pretrained):  # noqa: F811
    from latentlab.ui.main.session_state import SessionState

    path = pretrained / "vae-beta2.safetensors"
    state = SessionState(models=[str(path.resolve())], view=(-1.0, 1.5, -0.5, 2.0), marker=(0.25, 0.75))
    window = deferred_window
    startup = window.make_startup(None, state)
    startup.start()
    try:
        qtbot.waitUntil(lambda: _first_screen_ready(window), timeout=20_000)
        assert window.explorer.session.path == path and window.session is None
        assert window.latent_map.marker_position() == pytest.approx((0.25, 0.75))
        restored = window.latent_map.visible_region()
        assert restored[0] == pytest.approx((-1.0, 1.5), abs=1e-6)
        gated_session_open.set()
        qtbot.waitUntil(lambda: window.session is not None, timeout=30_000)
    finally:
        gated_session_open.set()
        startup.wait()
    assert window.session.path == path
    assert window.latent_map.marker_position() == pytest.approx((0.25, 0.75))
    for got, want in zip(window.latent_map.visible_region(), restored):
        assert got == pytest.approx(want, abs=1e-6)


def what_the_panels_say(window) -> dict:
    """What a person reads about the model around the map (not the map itself)."""
    panel, kl = window.training_panel, window.beta_panel.kl
    return {
        "fields": (panel.family.currentData(), panel.backbone.currentText(), panel.latent_dim.value(),
                   panel.hidden.value(), panel.gamma.value(), panel.epochs.value(), panel.lr.value()),
        "progress": panel.progress.format(),
        "beta": window.beta_panel.beta(),
        "kl": (kl.getPlotItem().titleLabel.text, kl.values().round(6).tolist()),
        "losses": (window.loss_plot.parts, *[window.loss_plot.series(part, kind)[1].round(6).tolist()
                                             for part in window.loss_plot.parts for kind in ("epochs", "test")]),
        "summary": panel.summary.text(),
        "status": (window.status_model.text(), window.status_dataset.text(), window.status_epoch.text()),
    }


def test_the_first_screen_says_what_the_full_session_will(qtbot, deferred_window, gated_session_open):
    from latentlab.pretrained import default_checkpoint
    from latentlab.ui.main.session_state import SessionState

    window = deferred_window
    startup = window.make_startup(str(default_checkpoint()), SessionState())  # the shipped VAE: Width 256
    startup.start()
    try:
        qtbot.waitUntil(lambda: _first_screen_ready(window) and bool(window.loss_plot.parts), timeout=20_000)
        first = what_the_panels_say(window)
        assert window.session is None  # still the NumPy preview
        gated_session_open.set()
        qtbot.waitUntil(lambda: window.session is not None, timeout=30_000)
    finally:
        gated_session_open.set()
        startup.wait()
    assert what_the_panels_say(window) == first
    assert first["fields"][3] == 256 and first["fields"][4] == 100.0  # not 512 and 0 until PyTorch came
    assert "open or train" not in first["kl"][0] and len(first["kl"][1]) == 2
    assert first["losses"][0] == ("loss", "recon", "kl") and len(first["losses"][1]) == 60


def test_what_the_first_screen_knows_without_pytorch_matches_the_models():
    from latentlab.models.registry import family_class
    from latentlab.preview.session import LOSS_PARTS
    from latentlab.ui.panels.training_panel import PRESET_DEFAULTS, family_defaults

    for family, parts in LOSS_PARTS.items():
        assert parts == family_class(family).loss_parts
    for family, preset in PRESET_DEFAULTS.items():
        assert preset == family_defaults(family), family
