"""Start-up: the window first, then a map to explore, then PyTorch in the background.

``latentlab`` with no argument opens the model of the last session, else the pretrained
VAE (``latentlab.pretrained.default_checkpoint``). The window module imports no PyTorch,
so the window is built and painted first (~0.7 s). ``EngineLoader`` then works in a
worker thread:

1. The first screen: when the checkpoint is one that ``latentlab.preview`` runs in NumPy
   (the shipped 2-D MLP autoencoders, the default VAE among them), it is read without
   PyTorch and handed to the window as a ``PreviewSession``: the map is painted, its
   territory computed and the marker decodes live about 0.4 s after the window appears.
2. PyTorch and the model code are imported (~1.8 s) while the user explores; the
   checkpoint is opened for real and each network run once, so the first decode and the
   first territory image on the GUI side pay no first-call costs.
3. The session is handed to the window on the GUI thread. It replaces the preview of
   the same checkpoint without moving the view or the marker (the same weights: the
   points move by ~1e-6); training, analysis and saving become available.

With ``LATENTLAB_STARTUP_TRACE=FILE`` in the environment the app writes, as JSON, the
wall-clock times (and the process's CPU seconds) at which the window was first painted,
at which the map was explorable (points and territory painted, the marker's decode
shown) and at which the PyTorch session was set, then quits: ``benchmarks/startup.py``
reads it.
"""

from __future__ import annotations

import json
import os
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication

from latentlab.ui.main.session_state import SessionState, restore_view
from latentlab.ui.work.runtime import describe_exception
from latentlab.ui.work.threads import BackgroundTask

if TYPE_CHECKING:
    from latentlab.ui.main.main_window import MainWindow

TRACE_ENV = "LATENTLAB_STARTUP_TRACE"
#: PyTorch's import waits at most this long for the first screen (see EngineLoader).
FIRST_SCREEN_WAIT_S = 2.0


@dataclass
class Loaded:
    """What the loader hands to the GUI thread."""

    session: object | None  # a Session, or None when nothing could be opened
    path: str | None
    error: str  # why nothing was opened ("" when fine)


class EngineLoader(QObject):
    """Shows the first screen's preview, imports PyTorch and the model code, opens the
    first checkpoint and warms the networks."""

    previewed = Signal(object)  # a PreviewSession of the checkpoint, before PyTorch
    finished = Signal(object)  # Loaded

    def __init__(self, path: str | None) -> None:
        super().__init__()
        self.path = path
        #: Set by the GUI when the preview's map is painted. Until then the import of
        #: PyTorch waits: it holds the GIL most of its ~1.8 s, and run alongside it the
        #: first screen took 4 s instead of 0.4 s (measured on 2 cores).
        self.first_screen_shown = threading.Event()

    @Slot()
    def run(self) -> None:
        path = self.path
        self._preview(path)
        try:
            import numpy as np

            from latentlab.latent import projection  # noqa: F401 - imported off the GUI thread
            from latentlab.pretrained import default_checkpoint

            from latentlab.app import jobs  # noqa: F401 - imported here so the GUI thread finds them loaded

            from latentlab.ui.work import workers
            from latentlab.app.session import Session

            if path is None:
                default = default_checkpoint()
                if default is None:
                    self.finished.emit(Loaded(None, None, "The pretrained VAE is not installed "
                                              "(resources/pretrained/vae.safetensors is missing)."))
                    return
                path = str(default)
            session = Session.open(path)
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

    def _preview(self, path: str | None) -> None:
        """Emit ``previewed`` when the checkpoint runs without PyTorch (latentlab.preview)."""
        from latentlab.pretrained import default_checkpoint
        from latentlab.preview import PreviewUnavailable, open_preview

        from latentlab.preview.session import PreviewSession

        target = path if path is not None else default_checkpoint()
        if target is None:
            return
        try:
            preview = open_preview(target)
        except PreviewUnavailable:
            return  # the window waits for PyTorch; the real loader reports any problem
        except Exception:  # noqa: BLE001 - a bug in the preview must not cost the start-up
            traceback.print_exc()
            return
        self.previewed.emit(PreviewSession(preview))
        self.first_screen_shown.wait(FIRST_SCREEN_WAIT_S)


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
        #: The loader's event that lets PyTorch's import start (kept here: the loader object
        #: is deleted with its thread).
        self.first_screen_shown = threading.Event()
        self.view_restored = False  # restore_view applied to the first screen's preview
        self.preview = None  # the first screen's PreviewSession, once shown

    def start(self) -> None:
        loader = EngineLoader(self.path)
        self.first_screen_shown = loader.first_screen_shown
        loader.previewed.connect(self._on_previewed)
        loader.finished.connect(self._on_loaded)
        self.task = BackgroundTask(loader, "startup", parent=self)
        self.task.start()

    def wait(self) -> None:
        """Block until the loader thread has ended (before the window is destroyed)."""
        if self.task is not None:
            self.first_screen_shown.set()  # no first screen to wait for any more
            self.task.wait()

    @Slot(object)
    def _on_previewed(self, preview) -> None:
        window = self.window
        if window._shut_down or window.session is not None:
            return
        self.preview = preview
        window.show_preview(preview)
        if self.origin == "restored":
            self.view_restored = restore_view(window, self.state)
        if preview.judge is None or window.latent_map.has_territory():
            self._first_screen_shown()
        else:
            window.explorer.territoryShown.connect(self._first_screen_shown)

    @Slot()
    def _first_screen_shown(self) -> None:
        """The preview's territory is painted: its loss curves, then PyTorch may load."""
        if self.preview is not None and not self.window._shut_down:
            self.window.show_preview_losses(self.preview)
        self.first_screen_shown.set()
        try:
            self.window.explorer.territoryShown.disconnect(self._first_screen_shown)
        except (RuntimeError, TypeError):
            pass  # was not connected

    @Slot(object)
    def _on_loaded(self, loaded: Loaded) -> None:
        window = self.window
        if window._shut_down:
            return
        window.engine_loaded()
        previewing = getattr(window.explorer.session, "is_preview", False)
        if loaded.session is None:
            if previewing:
                window.set_session(None)
            window.welcome.set_notice(loaded.error)
            window.statusBar().showMessage(loaded.error, 10_000)
            if self.origin == "argument":
                window.show_error("Could not open the checkpoint", loaded.error)
        else:
            same = previewing and window.explorer.session.path == loaded.session.path
            window.set_session(loaded.session, keep_view=same)
            window.recent_menu.add(loaded.path)
            if self.origin == "restored" and not (same and self.view_restored):
                restore_view(window, self.state)
            window.statusBar().showMessage(self.notice or f"Opened {Path(loaded.path).name}", 8000)
        QTimer.singleShot(0, window.open_dropped)  # a file dropped on the window meanwhile
        self.done.emit()


class StartupTrace(QObject):
    """Records when the window is first painted and when the map is explorable, then quits."""

    def __init__(self, window: MainWindow, out: str | os.PathLike) -> None:
        super().__init__(window)
        self.window = window
        self.out = Path(out)
        self.times: dict[str, float] = {}  # wall-clock time.time() of each event
        self.cpu: dict[str, float] = {}  # the process's CPU seconds by then (all threads)
        #: The longest wait of the event loop (between two 5 ms polls) from "explorable"
        #: to "session_set": how long a drag may stall while PyTorch loads.
        self.longest_gap_s = 0.0
        self._last_poll = time.perf_counter()
        window.installEventFilter(self)
        self._poll = QTimer(self)
        self._poll.setTimerType(Qt.TimerType.PreciseTimer)
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
        """Mark "explorable" once a session (the preview or the real one) shows its points,
        territory and decode, and "session_set" once the PyTorch session is open; stop
        when both are marked, or when nothing could be opened."""
        window = self.window
        now = time.perf_counter()
        if "explorable" in self.times and "session_set" not in self.times:
            self.longest_gap_s = max(self.longest_gap_s, now - self._last_poll)
        self._last_poll = now
        if window.session is not None:
            self.mark("session_set")
        if window.welcome.notice.isVisible():  # nothing could be opened: record and stop
            self._finish()
            return
        if "explorable" not in self.times and window.explorer.session is not None \
                and window.decoded_view.image() is not None and window.latent_map.has_territory():
            window.latent_map.plot.viewport().repaint()  # the points and the territory, painted now
            self.mark("explorable")
        if "explorable" in self.times and "session_set" in self.times:
            self._finish()

    def _finish(self) -> None:
        self._poll.stop()
        self.out.write_text(json.dumps({"wall": self.times, "cpu": self.cpu,
                                        "longest_gap_while_loading_s": self.longest_gap_s}))
        QTimer.singleShot(0, QApplication.instance().quit)
