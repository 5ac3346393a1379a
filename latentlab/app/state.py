"""The application's state, Qt-free and evented: what every panel shows follows from it.

napari keeps its viewer state in ``napari/components`` and lets widgets subscribe to its
events; latentlab does the same at a smaller scale. :class:`AppState` holds the open
session, what the map shows (the session, or the first screen's preview), whether
PyTorch is loaded, the map's projection kind and marker, the class condition (for
conditional models), the training status and the KL per dimension; each change emits an
:class:`Event` that the panels observe. A panel that observes the state cannot show a
previous model's values: the stale readouts of the past (a finished run's "trained 5
epochs" bar on the next model, a GAN showing the VAE's β slider) came from the window
pushing values into some widgets and forgetting others.

Events are plain callbacks, called synchronously on the thread that changes the state
(the GUI thread: background tasks report through ``latentlab.ui.work.tasks``, whose
signals arrive there). Subscribe bound methods, so a callback lives as long as its owner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from latentlab.app.caches import AppCaches

if TYPE_CHECKING:
    from latentlab.app.protocol import ExplorableSession


class Event:
    """A Qt-free signal: ``connect(callback)``, ``emit(*args)`` calls each callback in order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> None:
        if callback not in self._callbacks:
            self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., Any]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)

    def __len__(self) -> int:
        return len(self._callbacks)


@dataclass(frozen=True)
class TrainingStatus:
    """Whether a model trains, and what its progress bar says."""

    #: "idle", "starting", "running", "paused", "stopping"
    phase: str = "idle"
    message: str = "idle"
    #: The progress bar's fraction (None: leave it as it is).
    fraction: float | None = 0.0

    @property
    def running(self) -> bool:
        return self.phase != "idle"

    @property
    def paused(self) -> bool:
        return self.phase == "paused"


IDLE = TrainingStatus()


class AppState:
    """One window's state; the window owns it, panels get it and subscribe."""

    def __init__(self, caches: AppCaches | None = None) -> None:
        self.caches = caches if caches is not None else AppCaches.shared()
        self.session: Any = None  # a latentlab.app.session.Session (PyTorch), or None
        self.shown: ExplorableSession | None = None  # on the map: the session or the preview
        self.engine_ready = False  # PyTorch and the model code are imported
        self.projection = "slice"  # the picker's kind: "slice", "pca" or "umap"
        self.marker: tuple[float, float] = (0.0, 0.0)  # plane coordinates
        self.condition: int | None = None  # the class a conditional model generates
        self.training = IDLE
        self.kl: list[float] | None = None  # the shown model's KL per latent dimension
        self.closing = False  # the window is shutting down: start nothing new

        #: ``session_changed(session)``: another PyTorch session is open (or None).
        self.session_changed = Event("session_changed")
        #: ``shown_changed(shown)``: the map shows another model (the preview counts).
        self.shown_changed = Event("shown_changed")
        self.engine_changed = Event("engine_changed")  # (ready)
        self.projection_changed = Event("projection_changed")  # (kind)
        self.marker_changed = Event("marker_changed")  # (x, y)
        self.condition_changed = Event("condition_changed")  # (class or None)
        self.training_changed = Event("training_changed")  # (TrainingStatus)
        self.kl_changed = Event("kl_changed")  # (values or None)
        #: ``message(text, ms)``: a line for the status bar (0 ms: until the next one).
        self.message = Event("message")
        #: ``model_saved(path)``: the session's weights were written (the title's "*" goes).
        self.model_saved = Event("model_saved")

    # --------------------------------------------------------------- setters
    def set_session(self, session: Any) -> None:
        """Open ``session`` (None: nothing open); it is also what the map shows."""
        self.session = self.shown = session
        self.kl = session.kl_per_dim() if session is not None else None
        self.session_changed.emit(session)  # (the map first: the window connects before the panels)
        self.shown_changed.emit(session)
        self.kl_changed.emit(self.kl)

    def set_shown(self, shown: ExplorableSession | None) -> None:
        """Show ``shown`` on the map without opening it (the first screen's preview)."""
        if shown is self.shown:
            return
        self.shown = shown
        self.kl = shown.kl_per_dim() if shown is not None else None
        self.shown_changed.emit(shown)
        self.kl_changed.emit(self.kl)

    def set_engine_ready(self) -> None:
        if not self.engine_ready:
            self.engine_ready = True
            self.engine_changed.emit(True)

    def set_projection(self, kind: str) -> None:
        if kind != self.projection:
            self.projection = kind
            self.projection_changed.emit(kind)

    def set_marker(self, x: float, y: float) -> None:
        if (x, y) != self.marker:
            self.marker = (x, y)
            self.marker_changed.emit(x, y)

    def set_condition(self, condition: int | None) -> None:
        if condition != self.condition:
            self.condition = condition
            self.condition_changed.emit(condition)

    def set_training(self, status: TrainingStatus) -> None:
        if status != self.training:
            self.training = status
            self.training_changed.emit(status)

    def set_kl(self, values: list[float] | None) -> None:
        self.kl = values
        self.kl_changed.emit(values)

    def say(self, text: str, ms: int = 5000) -> None:
        """A status-bar message."""
        self.message.emit(text, ms)

    # --------------------------------------------------------------- reading
    @property
    def is_training(self) -> bool:
        return self.training.running
