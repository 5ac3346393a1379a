"""The one shape of work that runs off the GUI thread, without Qt.

A background task is a plain function ``fn(state) -> value`` that gets a
:class:`TaskState` (Orange3's ``TaskState`` is the model): it reports progress with
``state.set_progress(fraction, message, eta_s)``, hands intermediate results to
``state.set_partial_result(value)`` (a training snapshot, a coarse territory image),
checks ``state.cancelled`` between steps (or calls ``state.check()``, which raises
:class:`Cancelled`), and returns its result or raises. Cancelling has one spelling,
``cancel()``: on the state, on the Qt task that runs it, on a compute lane's job.

The Qt side (``latentlab.ui.work.tasks``) runs such a function in a QThread, turns the
state's reports into signals on the GUI thread, and sends every failure to one
:class:`ErrorSink` (the window's error dialog). An exception raised after ``cancel()``
counts as a cancellation, not a failure: a core function interrupted mid-step (the
trainer's stop flag, a GAN inversion's ``should_stop``) may raise on its way out.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any, Protocol

from latentlab.errors import LatentLabError


class Cancelled(Exception):
    """The task was cancelled (``TaskState.check`` raises it); not an error."""


class ErrorSink(Protocol):
    """Where every background failure goes: the window shows one dialog per report."""

    def report(self, title: str, message: str) -> None: ...


def describe_exception(exc: BaseException) -> str:
    """A dialog-ready message: a LatentLabError's own text, or the type and text of a bug."""
    if isinstance(exc, LatentLabError):
        return str(exc)
    return f"Unexpected error ({type(exc).__name__}): {exc}"


#: At most this many weight/latent snapshots per second leave a training run.
SNAPSHOTS_PER_S = 4.0


def report_exception(sink: ErrorSink, title: str, exc: BaseException) -> None:
    """Show ``exc`` in ``sink`` under ``title``; a bug's traceback also goes to stderr."""
    if not isinstance(exc, LatentLabError):
        traceback.print_exception(exc, file=sys.stderr)
    sink.report(title, describe_exception(exc))


def _ignore(*args: Any) -> None:
    pass


class TaskState:
    """What a background function reports through, and how it learns it was cancelled.

    Thread-safe for its purpose: the worker thread reads ``cancelled`` and calls the
    ``set_*`` methods; any thread may call ``cancel``. ``on_cancel`` callbacks (a
    trainer's ``TrainControl.request_stop``) run in the cancelling thread, once.
    """

    def __init__(self, on_cancel: Callable[[], None] | None = None) -> None:
        self._cancel = threading.Event()
        self._on_cancel = [on_cancel] if on_cancel is not None else []
        #: Set by the runner (the Qt task) before the function starts.
        self.progress_sink: Callable[[float | None, str, float | None], None] = _ignore
        self.partial_sink: Callable[[Any], None] = _ignore

    # ----------------------------------------------------------- cancelling
    def cancel(self) -> None:
        if self._cancel.is_set():
            return
        self._cancel.set()
        for hook in self._on_cancel:
            hook()

    def on_cancel(self, hook: Callable[[], None]) -> None:
        """Also call ``hook`` when cancelled (at once if it already is)."""
        self._on_cancel.append(hook)
        if self._cancel.is_set():
            hook()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Raise Cancelled when cancelled: call it between the steps of a long function."""
        if self._cancel.is_set():
            raise Cancelled()

    # ------------------------------------------------------------ reporting
    def set_progress(self, fraction: float | None, message: str = "", eta_s: float | None = None) -> None:
        """``fraction`` in [0, 1] (None: unknown, only the message), ``eta_s`` seconds left."""
        self.progress_sink(fraction, message, eta_s)

    def set_partial_result(self, value: Any) -> None:
        """Hand an intermediate result to the GUI (a compute lane drops those of a job
        that was cancelled meanwhile; a stopped training run's final weights still count)."""
        self.partial_sink(value)
