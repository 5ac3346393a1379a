"""Start-up: the window first, then a map to explore, then PyTorch in the background.

``latentlab`` with no argument opens the model of the last session, else the pretrained
VAE (``latentlab.pretrained.default_checkpoint``). The window module imports no PyTorch,
so the window is built and painted first (~0.7 s). ``load_engine`` then works in a
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
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QApplication, QWidget

from latentlab.app.tasks import ErrorSink, TaskState, describe_exception

from latentlab.ui.main.session_state import SessionState
from latentlab.ui.work.tasks import Task

if TYPE_CHECKING:
    from latentlab.app.state import AppState
    from latentlab.ui.map.explorer import Explorer

TRACE_ENV = "LATENTLAB_STARTUP_TRACE"
#: PyTorch's import waits at most this long for the first screen (see EngineLoader).
FIRST_SCREEN_WAIT_S = 2.0


@dataclass
class Loaded:
    """What the loader hands to the GUI thread."""

    session: object | None  # a Session, or None when nothing could be opened
    path: str | None
    error: str  # why nothing was opened ("" when fine)


def load_engine(path: str | None, first_screen_shown: threading.Event, state: TaskState) -> Loaded:
    """The start-up loader (a Task's function, in its own thread): hand the first screen's
    preview over as a partial result (before PyTorch), wait until it is painted, import
    PyTorch and the model code, open the first checkpoint and warm its networks.

    ``first_screen_shown`` is set by the GUI when the preview's map is painted. Until then
    the import of PyTorch waits: it holds the GIL most of its ~1.8 s, and run alongside
    it the first screen took 4 s instead of 0.4 s (measured on 2 cores).
    """
    _preview(path, first_screen_shown, state)
    try:
        import numpy as np

        from latentlab.torch_libraries import preload_torch_libraries

        preload_torch_libraries()  # without the GIL: the GUI thread keeps running meanwhile
        from latentlab.app import jobs, training_job  # noqa: F401 - imported here so the GUI thread finds them loaded
        from latentlab.app.session import Session
        from latentlab.latent import projection  # noqa: F401 - imported off the GUI thread
        from latentlab.pretrained import default_checkpoint

        if path is None:
            default = default_checkpoint()
            if default is None:
                return Loaded(None, None, "The pretrained VAE is not installed "
                              "(resources/pretrained/vae.safetensors is missing).")
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
        return Loaded(None, path, f"Could not open {name}: {describe_exception(exc)}")
    return Loaded(session, path, "")


def _preview(path: str | None, first_screen_shown: threading.Event, state: TaskState) -> None:
    """Hand over a PreviewSession when the checkpoint runs without PyTorch (latentlab.preview)."""
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
    state.set_partial_result(PreviewSession(preview))
    first_screen_shown.wait(FIRST_SCREEN_WAIT_S)


class StartupShell(Protocol):
    """What the start-up asks of the window (the main window implements it)."""

    def show_preview(self, preview) -> None: ...

    def show_preview_losses(self, preview) -> None: ...

    def engine_loaded(self) -> None: ...

    def set_session(self, session, *, keep_view: bool = False) -> None: ...

    def restore_view(self, saved: SessionState) -> bool: ...

    def startup_failed(self, message: str, *, ask_user: bool) -> None: ...

    def startup_opened(self, path: str, notice: str) -> None: ...

    def open_dropped(self) -> None: ...


class Startup(QObject):
    """Runs the loader and gives its result to the window."""

    done = Signal()

    def __init__(self, shell: StartupShell, app_state: AppState, explorer: Explorer, checkpoint: str | None,
                 state: SessionState, *, errors: ErrorSink | None = None, parent: QObject | None = None) -> None:
        """``shell``: the window's start-up methods; ``app_state``, ``explorer``: what the
        map shows; ``state``: the saved session to restore."""
        super().__init__(parent)
        self.shell = shell
        self.app_state = app_state
        self.explorer = explorer
        self.errors = errors
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
        self.task: Task | None = None
        #: The loader's event that lets PyTorch's import start (kept here: the loader object
        #: is deleted with its thread).
        self.first_screen_shown = threading.Event()
        self.view_restored = False  # restore_view applied to the first screen's preview
        self.preview = None  # the first screen's PreviewSession, once shown

    def start(self) -> None:
        self.task = Task(partial(load_engine, self.path, self.first_screen_shown), "startup", errors=self.errors,
                         title="Could not start", demote=False, parent=self)
        self.task.partial.connect(self._on_previewed)
        self.task.done.connect(self._on_loaded)
        self.task.start()

    def wait(self) -> None:
        """Block until the loader thread has ended (before the window is destroyed)."""
        if self.task is not None:
            self.first_screen_shown.set()  # no first screen to wait for any more
            self.task.wait()

    @Slot(object)
    def _on_previewed(self, preview) -> None:
        if self.app_state.closing or self.app_state.session is not None:
            return
        self.preview = preview
        self.shell.show_preview(preview)
        if self.origin == "restored":
            self.view_restored = self.shell.restore_view(self.state)
        if preview.judge is None or self.explorer.map.has_territory():
            self._first_screen_shown()
        else:
            self.explorer.territoryShown.connect(self._first_screen_shown)

    @Slot()
    def _first_screen_shown(self) -> None:
        """The preview's territory is painted: its loss curves, then PyTorch may load."""
        if self.preview is not None and not self.app_state.closing:
            self.shell.show_preview_losses(self.preview)
        self.first_screen_shown.set()
        try:
            self.explorer.territoryShown.disconnect(self._first_screen_shown)
        except (RuntimeError, TypeError):
            pass  # was not connected

    @Slot(object)
    def _on_loaded(self, loaded: Loaded) -> None:
        shell, shown = self.shell, self.explorer.session
        if self.app_state.closing:
            return
        shell.engine_loaded()
        previewing = shown is not None and shown.is_preview
        if loaded.session is None:
            if previewing:
                shell.set_session(None)
            shell.startup_failed(loaded.error, ask_user=self.origin == "argument")
        else:
            same = previewing and shown.path == loaded.session.path
            shell.set_session(loaded.session, keep_view=same)
            if self.origin == "restored" and not (same and self.view_restored):
                shell.restore_view(self.state)
            shell.startup_opened(loaded.path, self.notice)
        QTimer.singleShot(0, self, self._open_dropped)  # a file dropped on the window meanwhile
        self.done.emit()

    @Slot()
    def _open_dropped(self) -> None:
        self.shell.open_dropped()


class StartupTrace(QObject):
    """Records when the window is first painted and when the map is explorable, then quits."""

    def __init__(self, window: QWidget, app_state: AppState, explorer: Explorer, failed: Callable[[], bool],
                 out: str | os.PathLike) -> None:
        """``window``: the top-level window whose first paint counts; ``failed()``: nothing
        could be opened (the welcome page's notice shows)."""
        super().__init__(window)
        self.window = window
        self.app_state = app_state
        self.explorer = explorer
        self.failed = failed
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
    def from_environment(cls, window: QWidget, app_state: AppState, explorer: Explorer,
                         failed: Callable[[], bool]) -> StartupTrace | None:
        out = os.environ.get(TRACE_ENV)
        return cls(window, app_state, explorer, failed, out) if out else None

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
        explorer = self.explorer
        now = time.perf_counter()
        if "explorable" in self.times and "session_set" not in self.times:
            self.longest_gap_s = max(self.longest_gap_s, now - self._last_poll)
        self._last_poll = now
        if self.app_state.session is not None:
            self.mark("session_set")
        if self.failed():  # nothing could be opened: record and stop
            self._finish()
            return
        if "explorable" not in self.times and explorer.session is not None \
                and explorer.view.image() is not None and explorer.map.has_territory():
            explorer.map.plot.viewport().repaint()  # the points and the territory, painted now
            self.mark("explorable")
        if "explorable" in self.times and "session_set" in self.times:
            self._finish()

    def _finish(self) -> None:
        self._poll.stop()
        self.out.write_text(json.dumps({"wall": self.times, "cpu": self.cpu,
                                        "longest_gap_while_loading_s": self.longest_gap_s}))
        QTimer.singleShot(0, QApplication.instance().quit)
