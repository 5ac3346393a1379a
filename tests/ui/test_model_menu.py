"""The Models menu, next / previous model, the default model at start-up, and a window
module that is built and shown without PyTorch."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from pretrained_helpers import INSTALLED, pretrained  # noqa: F401 - a fixture

from latentlab.pretrained import find


def open_menu(window):
    window.model_menu.aboutToShow.emit()  # what opening the menu does
    return window.model_menu


def test_menu_lists_exactly_the_installed_catalogue_entries(window, pretrained):  # noqa: F811
    menu = open_menu(window)
    titles = [a.text() for a in menu.model_actions()]
    assert titles == [find(key).title for key in INSTALLED]  # stranger.safetensors is not listed
    sections = [a.text() for a in menu.actions() if a.isSeparator() and a.text()]
    assert sections == ["Autoencoders", "Beta ladder"]
    assert not any(a.isChecked() for a in menu.model_actions())

    menu.model_actions()[1].trigger()
    assert window.session.path == pretrained / "ae.safetensors"
    assert [a.isChecked() for a in open_menu(window).model_actions()] == [False, True, False]


def test_next_and_previous_model_cycle_through_the_catalogue(window, pretrained):  # noqa: F811
    menu = window.model_menu
    assert menu.next_action.shortcut().toString() == "PgDown"
    assert menu.previous_action.shortcut().toString() == "PgUp"
    opened = []
    for _ in range(4):
        menu.next_action.trigger()
        opened.append(window.session.path.stem)
    assert opened == ["vae", "ae", "vae-beta2", "vae"]  # from no model: the first, then wrapping around
    menu.previous_action.trigger()
    assert window.session.path.stem == "vae-beta2"
    assert window.stack.currentWidget() is window.latent_map
    assert "3 of 3" in window.statusBar().currentMessage()


def test_a_corrupt_catalogue_file_keeps_the_open_model(window, pretrained, dialog_log):  # noqa: F811
    dialog_log.expect_errors = True
    assert window.model_menu.open_key("vae")
    (pretrained / "ae.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{garbage" + b"\0" * 64)
    assert not window.model_menu.next_model() and window.session.path.stem == "vae"
    assert len(dialog_log.errors) == 1 and "ae.safetensors" in dialog_log.errors[0][0]


def run_app_until_loaded(tmp_path, checkpoint=None):
    """``run_app`` with a private settings folder; returns (session path, welcome notice)."""
    from latentlab.ui.main import app
    from latentlab.ui.main.main_window import MainWindow

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    seen = []

    def look_and_close():
        windows = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        for w in windows:
            if w.session is not None or w.welcome.notice.isVisible():
                seen.append((w.session.path if w.session else None, w.welcome.notice.text()))
                QApplication.closeAllWindows()
                QApplication.quit()  # pytest-qt's application does not quit on its last window
                return

    poll = QTimer()
    poll.setInterval(50)
    poll.timeout.connect(look_and_close)
    poll.start()
    try:
        assert app.run_app(checkpoint, None) == 0
    finally:
        poll.stop()
    assert len(seen) == 1
    return seen[0]


def test_no_argument_opens_the_default_checkpoint(qtbot, tmp_path, pretrained):  # noqa: F811
    path, notice = run_app_until_loaded(tmp_path)
    assert path == pretrained / "vae.safetensors" and notice == ""


def test_a_missing_default_leaves_the_welcome_page_with_a_message(qtbot, tmp_path, pretrained):  # noqa: F811
    (pretrained / "vae.safetensors").unlink()
    path, notice = run_app_until_loaded(tmp_path)
    assert path is None and "not installed" in notice and "vae.safetensors" in notice


def test_the_window_is_built_and_shown_without_pytorch_with_opening_disabled():
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from latentlab.ui.main.main_window import MainWindow, WindowOptions\n"
        "w = MainWindow(options=WindowOptions(defer_engine=True))\n"
        "w.show(); app.processEvents()\n"
        "waiting = [w.open_action.isEnabled(), w.welcome.open_button.isEnabled(),\n"
        "           w.training_panel.start_button.isEnabled(), w.train_action.isEnabled()]\n"
        "print('ENABLED BEFORE PYTORCH', waiting)\n"
        "w.model_menu.aboutToShow.emit(); w.presentation.set_active(True); w.presentation.set_active(False)\n"
        "heavy = sorted(m for m in ('torch', 'umap', 'sklearn') if m in sys.modules)\n"
        "w.shutdown()\n"
        "print('HEAVY', heavy)\n"
    )
    env = {**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout
    assert "ENABLED BEFORE PYTORCH [False, False, False, False]" in done.stdout  # nothing waits on the import
