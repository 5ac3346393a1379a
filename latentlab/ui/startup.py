"""Start-up: the window first, then PyTorch and the first model in the background.

``latentlab`` with no argument opens the model of the last session, else the pretrained
VAE (``latentlab.pretrained.default_checkpoint``). The window module imports no PyTorch,
so the window is built and painted first (~0.7 s); ``EngineLoader`` then imports PyTorch
and the model code in a worker thread (~1.7 s, the window keeps painting), opens the
checkpoint there and runs each network once, so the first decode and the first
territory image on the GUI side pay no first-call costs. The session is handed to the
window on the GUI thread.

With ``LATENTLAB_STARTUP_TRACE=FILE`` in the environment the app writes, as JSON, the
wall-clock times (and the process's CPU seconds) at which the window was first painted
and at which the map was explorable (points and territory painted, the marker's decode
shown), then quits: ``benchmarks/startup.py`` reads it.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication

from .runtime import describe_exception
from .session_state import SessionState, restore_view
from .threads import BackgroundTask

if TYPE_CHECKING:
    from .main_window import MainWindow

TRACE_ENV = "LATENTLAB_STARTUP_TRACE"


@dataclass
class Loaded:
    """What the loader hands to the GUI thread."""

    session: object | None  # a Session, or None when nothing could be opened
    path: str | None
    error: str  # why nothing was opened ("" when fine)


class EngineLoader(QObject):
    """Imports PyTorch and the model code, opens the first checkpoint, warms the networks."""

    finished = Signal(object)  # Loaded

    def __init__(self, path: str | None) -> None:
        super().__init__()
        self.path = path

    @Slot()
    def run(self) -> None:
        path = self.path
        try:
            import numpy as np

            from latentlab.latent import projection  # noqa: F401 - imported off the GUI thread
            from latentlab.pretrained import default_checkpoint

            from . import jobs, workers  # noqa: F401 - imported here so the GUI thread finds them loaded
            from .session import Session

            if path is None:
                default = default_checkpoint()
                if default is None:
                    self.finished.emit(Loaded(None, None, "The pretrained VAE is not installed "
                                              "(resources/pretrained/vae.safetensors is missing)."))
                    return
                path = str(default)
            session = Session.open(path)
            import scipy.spatial  # noqa: F401 - the marker's distance to the data (its first decode)

            if session.latent_dim > 2:
                import sklearn.decomposition  # noqa: F401 - the map opens in PCA
            session.map_points()  # the first forward passes of a process are slow: pay them here
            session.decode(np.zeros((1, session.latent_dim), np.float32))
            image = session.decode_image(np.zeros(session.latent_dim, np.float32))
            session.judge_image(image)
        except Exception as exc:  # noqa: BLE001 - reported in the window, which stays usable
            from latentlab.errors import LatentLabError

            if not isinstance(exc, LatentLabError):
                traceback.print_exc()
            name = Path(path).name if path else "the pretrained VAE"
            self.finished.emit(Loaded(None, path, f"Could not open {name}: {describe_exception(exc)}"))
            return
        self.finished.emit(Loaded(session, path, ""))


class Startup(QObject):
    """Runs the loader and gives its result to the window."""

    done = Signal()

    def __init__(self, window: MainWindow, checkpoint: str | None, state: SessionState) -> None:
        super().__init__(window)
        self.window = window
        self.state = state
        self.origin = "argument" if checkpoint else "default"
        self.notice = ""
        path = checkpoint
        if path is None and state.models:
            if Path(state.models[0]).exists():
                path, self.origin = state.models[0], "restored"
            else:
                self.notice = f"The last session's model {Path(state.models[0]).name} is gone; opened the default."
        self.path = path
        self.task: BackgroundTask | None = None

    def start(self) -> None:
        loader = EngineLoader(self.path)
        loader.finished.connect(self._on_loaded)
        self.task = BackgroundTask(loader, "startup", parent=self)
        self.task.start()

    def wait(self) -> None:
        """Block until the loader thread has ended (before the window is destroyed)."""
        if self.task is not None:
            self.task.wait()

    @Slot(object)
    def _on_loaded(self, loaded: Loaded) -> None:
        window = self.window
        if window._shut_down:
            return
        window.engine_loaded()
        if loaded.session is None:
            window.welcome.set_notice(loaded.error)
            window.statusBar().showMessage(loaded.error, 10_000)
            if self.origin == "argument":
                window.show_error("Could not open the checkpoint", loaded.error)
        else:
            window.set_session(loaded.session)
            window.recent_menu.add(loaded.path)
            if self.origin == "restored":
                restore_view(window, self.state)
            window.statusBar().showMessage(self.notice or f"Opened {loaded.path}", 8000)
        self.done.emit()


class StartupTrace(QObject):
    """Records when the window is first painted and when the map is explorable, then quits."""

    def __init__(self, window: MainWindow, out: str | os.PathLike) -> None:
        super().__init__(window)
        self.window = window
        self.out = Path(out)
        self.times: dict[str, float] = {}  # wall-clock time.time() of each event
        self.cpu: dict[str, float] = {}  # the process's CPU seconds by then (all threads)
        window.installEventFilter(self)
        self._poll = QTimer(self)
        self._poll.setInterval(5)
        self._poll.timeout.connect(self._check_explorable)
        self._poll.start()

    @classmethod
    def from_environment(cls, window: MainWindow) -> StartupTrace | None:
        out = os.environ.get(TRACE_ENV)
        return cls(window, out) if out else None

    def mark(self, event: str) -> None:
        if event not in self.times:
            self.times[event] = time.time()
            self.cpu[event] = time.process_time()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if obj is self.window and event.type() == QEvent.Type.Paint:
            self.mark("window_shown")
        return False

    @Slot()
    def _check_explorable(self) -> None:
        window = self.window
        if window.session is not None:
            self.mark("session_set")
        if window.welcome.notice.isVisible():  # nothing could be opened: record and stop
            self._finish()
            return
        if window.session is None or window.decoded_view.image() is None or not window.latent_map.has_territory():
            return
        window.latent_map.plot.viewport().repaint()  # the points and the territory, painted now
        self.mark("explorable")
        self._finish()

    def _finish(self) -> None:
        self._poll.stop()
        self.out.write_text(json.dumps({"wall": self.times, "cpu": self.cpu}))
        QTimer.singleShot(0, QApplication.instance().quit)
