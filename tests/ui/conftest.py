"""Fixtures of the window tests: offscreen Qt, no real dialogs, no dangling QThreads,
and tiny checkpoints made here (hidden width 32) so every test is fast and self-contained."""

from __future__ import annotations

import os

from screens import offscreen_platform

# Before anything imports Qt: offscreen, with the screens of tests/ui/screens.py (the
# default 800 x 800 one first, then the sizes the layout tests open windows on).
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = offscreen_platform()

import gc  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEvent, QSettings, QThread  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from ui_helpers import tiny_history, tiny_model  # noqa: E402
from latentlab.data import load_dataset  # noqa: E402
from latentlab.models.checkpoint import save_checkpoint  # noqa: E402
from latentlab.ui.base.compat import protect_singletons  # noqa: E402

protect_singletons()  # PySide6 6.12 on Python 3.11 drops references to None/True/False (compat.py)

# The offscreen platform warns about window size hints it cannot pass on; that is not ours.
OFFSCREEN_NOISE = r"This plugin does not support propagateSizeHints\(\)"
UI_DIR = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    for item in items:
        if UI_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_ignore(OFFSCREEN_NOISE))


# ------------------------------------------------------------------- threads
def _running(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # the C++ object is gone: it was deleted after it finished
        return False


@pytest.fixture(autouse=True)
def no_dangling_qthreads(monkeypatch):
    """Fail a test that leaves a QThread running (napari's _dangling_qthreads idea)."""
    started: list[QThread] = []
    original = QThread.start

    def start(self, *args, **kwargs):
        started.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", start)
    yield started
    dangling = [t for t in started if _running(t)]
    if dangling:
        names = [t.objectName() or repr(t) for t in dangling]
        for thread in dangling:  # stop them so later tests are not affected
            thread.quit()
            thread.wait(10_000)
        pytest.fail(f"test left QThreads running: {names}")


@pytest.fixture(autouse=True)
def delete_closed_widgets():
    """Delete what pytest-qt closed (it only calls deleteLater) now, not at interpreter exit,
    when Qt would call into half-finalized Python objects ("Error calling Python override")."""
    yield
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()  # pyqtgraph's menus and items sit in reference cycles


# ------------------------------------------------------------------- dialogs
@dataclass
class DialogLog:
    errors: list[tuple[str, str]] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    answer: str = "discard"
    #: Questions whether to read the data a checkpoint names (a folder, a download), and the answer.
    data_questions: list[str] = field(default_factory=list)
    read_data: bool = False
    #: A test that provokes error dialogs sets this; otherwise any error dialog fails the test.
    expect_errors: bool = False


@pytest.fixture(autouse=True)
def dialog_log(monkeypatch):
    """No modal dialog ever opens in a test: errors and questions are recorded instead."""
    from latentlab.ui.base import dialogs

    log = DialogLog()

    def critical(parent, title, text, *args, **kwargs):
        log.errors.append((title, text))
        return QMessageBox.StandardButton.Ok

    def ask_save_changes(parent, question):
        log.questions.append(question)
        return log.answer

    def ask_read_checkpoint_data(parent, question):
        log.data_questions.append(question)
        return log.read_data

    def no_file_dialog(*args, **kwargs):
        raise AssertionError("a test opened a file dialog")

    monkeypatch.setattr(QMessageBox, "critical", critical)
    monkeypatch.setattr(dialogs, "ask_save_changes", ask_save_changes)
    monkeypatch.setattr(dialogs, "ask_read_checkpoint_data", ask_read_checkpoint_data)
    monkeypatch.setattr(dialogs, "choose_save_path", no_file_dialog)
    monkeypatch.setattr(dialogs, "choose_checkpoint_to_open", no_file_dialog)
    monkeypatch.setattr(dialogs, "choose_dataset_folder", no_file_dialog)
    yield log
    if log.errors and not log.expect_errors:
        pytest.fail(f"unexpected error dialogs: {log.errors}")


# -------------------------------------------------------------- checkpoints
@pytest.fixture(scope="session")
def mnist():
    return load_dataset("mnist-5k")


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory, mnist):
    """Paths of tiny untrained checkpoints: vae (2-D), vae4 (4-D latent) and gan."""
    root = tmp_path_factory.mktemp("checkpoints")
    info = mnist.info()
    paths = {}
    vae = tiny_model("vae")
    paths["vae"] = save_checkpoint(root / "vae", vae, dataset=info, history=tiny_history(),
                                   metrics={"kl_per_dim": [3.0, 0.02], "test_neg_elbo": 250.0})
    paths["vae4"] = save_checkpoint(root / "vae4.safetensors", tiny_model("vae", latent_dim=4), dataset=info,
                                    history=tiny_history(1), metrics={"kl_per_dim": [1.0, 2.0, 0.5, 0.01]})
    paths["gan"] = save_checkpoint(root / "gan", tiny_model("gan"), dataset=info)
    return paths


# -------------------------------------------------------------------- window
@pytest.fixture
def make_window(qtbot, tmp_path):
    """Build main windows with cheap territory images and a private QSettings file."""
    from latentlab.ui.map.explorer import ExplorerOptions
    from latentlab.ui.main.main_window import MainWindow, WindowOptions

    windows = []

    def make(**explorer):
        explorer.setdefault("territory_stages", (8,))
        explorer.setdefault("territory_stages_training", (6,))
        settings = QSettings(str(tmp_path / f"settings{len(windows)}.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, options=WindowOptions(explorer=ExplorerOptions(**explorer)))
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()
        window.shutdown()
        window.deleteLater()  # deleted by delete_closed_widgets


@pytest.fixture
def window(make_window):
    return make_window()
