"""The one way latentlab runs work off the GUI thread: tasks and compute lanes.

Every background job has the shape of ``latentlab.app.tasks``: a plain function of a
``TaskState`` (progress, partial results, cancellation) that returns a value or raises.
This module runs it and brings its reports to the GUI thread:

* :class:`Task` runs one function once in its own QThread (training, the judge, the
  warm-up, a model comparison, the start-up loader). Its signals: ``progress(fraction,
  message, eta_s)``, ``partial(value)``, ``done(value)``, ``failed(message)``,
  ``cancelled()`` and, once the thread has stopped, ``ended()``.
* :class:`ComputeLane` is a persistent thread with newest-wins scheduling per job kind
  (territory, manifold, GAN labels, paths, outliers): ``result(job, value)`` for every
  partial result and ``failed(job, message)``.

Failures go to ONE place: the ``ErrorSink`` (the window's error dialog) each task and
lane is given, with the task's title ("Training failed"); the owner's ``failed`` slot
only tidies up (a progress bar, a note), so each failure is one dialog. An exception
raised after ``cancel()`` is a cancellation, not a failure. The UMAP worker process
(``latentlab.ui.map.projection_controller``) reports through the same signals and sink.

The Qt wiring is superqt's (``utils/_qthreading.py``): the worker object is moved to the
thread, ``started`` runs it, its ``finished`` quits the thread, ``deleteLater`` on both;
the owner drops its references only after ``QThread.finished`` has been delivered and
the thread has exited (destroying a running QThread aborts the process). Worker signals
reach ``@Slot`` bound methods only (lambdas as cross-thread receivers crash PySide6 >= 6.8).
Every owner can be waited for, which the window does when it closes.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from latentlab.app.tasks import Cancelled, ErrorSink, TaskState, describe_exception
from latentlab.errors import LatentLabError
from latentlab.ui.work.runtime import demote_current_thread

if TYPE_CHECKING:
    from latentlab.app.caches import ThreadBudget
    from latentlab.app.jobs_base import Job

# PyTorch is imported where a thread needs it (the functions a task runs, ``app.jobs``),
# not here: the window is built, shown and explorable before PyTorch is loaded.


def torch_model_cache():
    """The model copies of a lane's thread (app.jobs.ModelCache); imports PyTorch, so it is
    made in the worker thread when the first job arrives."""
    from latentlab.app.jobs import ModelCache

    return ModelCache()


def _log_unexpected(exc: BaseException) -> None:
    """A bug (not a LatentLabError, whose message says it all): its traceback on stderr."""
    if not isinstance(exc, LatentLabError):
        traceback.print_exception(exc, file=sys.stderr)


def start_in_thread(worker: QObject, name: str) -> QThread:
    """Move ``worker`` to a new QThread whose ``started`` runs ``worker.run`` and which quits
    on ``worker.finished``; the worker is deleted after ``thread.finished``.

    The caller keeps references to both until ``thread.finished`` has been delivered.
    """
    thread = QThread()
    thread.setObjectName(f"latentlab-{name}")
    worker.moveToThread(thread)
    thread.started.connect(worker.run)
    # Direct: quit from the worker thread itself, so a GUI thread blocked in wait() is released.
    worker.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    thread.finished.connect(worker.deleteLater)
    thread.start()
    return thread


# ----------------------------------------------------------------- one-shot
class _Runner(QObject):
    """Lives in the task's thread: calls the function, turns its reports into signals."""

    progressed = Signal(object, str, object)  # fraction or None, message, eta_s or None
    partial = Signal(object)
    returned = Signal(object)
    raised = Signal(str)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, fn: Callable[[TaskState], Any], state: TaskState, demote: bool) -> None:
        super().__init__()
        self.fn = fn
        self.state = state
        self.demote = demote

    @Slot()
    def run(self) -> None:
        if self.demote:
            demote_current_thread()
        state = self.state
        state.progress_sink = self.progressed.emit
        state.partial_sink = self.partial.emit
        try:
            value = self.fn(state)
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:  # noqa: BLE001 - reported on the GUI thread, which stays usable
            if state.cancelled:
                self.cancelled.emit()
            else:
                _log_unexpected(exc)
                self.raised.emit(describe_exception(exc))
        else:
            self.returned.emit(value)
        finally:
            self.finished.emit()


class Task(QObject):
    """``fn(state)`` run once in its own QThread; its reports as signals on the GUI thread.

    Connect to the signals before ``start``. ``failed`` is emitted after the error sink
    has shown the failure under ``title`` (with ``note`` after the message). ``heavy`` tasks take torch's thread budget for
    background work while they run (``AppCaches.threads``). ``demote``: the thread runs at
    a lower priority than the GUI (off for the start-up loader, which the user waits for).
    """

    progress = Signal(object, str, object)  # fraction (0..1, None: unknown), message, eta_s (None)
    partial = Signal(object)
    done = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    ended = Signal()  # the thread has stopped and the task has let go of it

    def __init__(self, fn: Callable[[TaskState], Any], name: str, *, errors: ErrorSink | None, title: str,
                 note: str = "", heavy: bool = False, budget: ThreadBudget | None = None, state: TaskState | None = None,
                 demote: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn = fn
        self.name = name
        self.errors = errors
        self.title = title
        self.note = note  # a line after the error's message: what still works
        self.heavy = heavy
        self.budget = budget
        self.state = state if state is not None else TaskState()
        self.demote = demote
        self.error: str | None = None  # the failure's message, once failed
        self._thread: QThread | None = None
        self._runner: _Runner | None = None
        self._in_budget = False

    def start(self) -> None:
        runner = _Runner(self.fn, self.state, self.demote)
        runner.progressed.connect(self._on_progress)
        runner.partial.connect(self._on_partial)
        runner.returned.connect(self._on_returned)
        runner.raised.connect(self._on_raised)
        runner.cancelled.connect(self._on_cancelled)
        if self.heavy:
            if self.budget is None:
                from latentlab.app.caches import AppCaches

                self.budget = AppCaches.shared().threads
            self.budget.enter()
            self._in_budget = True
        self._runner = runner
        self._thread = start_in_thread(runner, self.name)
        self._thread.finished.connect(self._on_thread_finished)

    def cancel(self) -> None:
        """Ask the function to stop (``state.cancelled``); ``cancelled`` or ``done`` follows."""
        self.state.cancel()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def wait(self) -> None:
        """Block until the function has returned (it is not interrupted), then clean up."""
        if self._thread is not None:
            self._thread.wait()
            self._on_thread_finished()

    # ------------------------------------------------------- runner signals
    @Slot(object, str, object)
    def _on_progress(self, fraction, message: str, eta_s) -> None:
        self.progress.emit(fraction, message, eta_s)

    @Slot(object)
    def _on_partial(self, value) -> None:
        self.partial.emit(value)

    @Slot(object)
    def _on_returned(self, value) -> None:
        self.done.emit(value)

    @Slot(str)
    def _on_raised(self, message: str) -> None:
        self.error = message
        if self.errors is not None:
            self.errors.report(self.title, f"{message}\n{self.note}" if self.note else message)
        self.failed.emit(message)

    @Slot()
    def _on_cancelled(self) -> None:
        self.cancelled.emit()

    @Slot()
    def _on_thread_finished(self) -> None:
        thread = self._thread
        if thread is None:
            return
        thread.wait()  # finished is emitted just before the thread exits: let it exit
        self._thread = None
        self._runner = None
        if self._in_budget:
            self._in_budget = False
            self.budget.leave()
        self.ended.emit()


# -------------------------------------------------------------------- lanes
class ComputeWorker(QObject):
    """Runs jobs (territory, manifold, GAN labels, paths) one at a time in its thread.

    A job's ``run`` gets the thread's model cache, made by ``make_models`` on first use
    (None without one: the NumPy jobs of the first screen need no PyTorch models).
    """

    result = Signal(object, object)  # job, value (a job may emit several, e.g. coarse to fine)
    failed = Signal(object, str)  # job, message
    done = Signal(object)  # job: always after the job ends, so the lane may send the next

    def __init__(self, make_models: Callable[[], object] | None = torch_model_cache) -> None:
        super().__init__()
        self._make_models = make_models
        self._models = None
        self._job: Job | None = None
        self._demoted = False

    @Slot(object)
    def run_job(self, job: Job) -> None:
        if not self._demoted:
            demote_current_thread()
            self._demoted = True
        self._job = job
        try:
            if self._models is None and self._make_models is not None:
                self._models = self._make_models()
            job.run(self._models, self._emit)
        except Cancelled:
            pass
        except Exception as exc:  # noqa: BLE001 - reported to the GUI
            if not job.cancelled:
                _log_unexpected(exc)
                self.failed.emit(job, describe_exception(exc))
        finally:
            self._job = None
            self.done.emit(job)

    def _emit(self, value: object) -> None:
        if self._job is not None and not self._job.cancelled:
            self.result.emit(self._job, value)


class ComputeLane(QObject):
    """A persistent worker thread with newest-wins scheduling per job kind.

    ``submit`` sends a job at once when the worker is idle; otherwise it replaces any
    waiting job of the same kind and cancels a running one of that kind. Results and
    failures are re-emitted on the GUI thread; a failure is also reported to ``errors``
    ("Computing the territory failed").
    """

    result = Signal(object, object)
    failed = Signal(object, str)
    _send = Signal(object)

    def __init__(self, name: str, parent: QObject | None = None, *, errors: ErrorSink | None = None,
                 make_models: Callable[[], object] | None = torch_model_cache) -> None:
        super().__init__(parent)
        self.name = name
        self.errors = errors
        self._make_models = make_models
        self._pending: dict[str, Job] = {}
        self._running: Job | None = None
        self._thread: QThread | None = None  # started with the first job
        self._worker = None
        self._closed = False

    def _ensure_thread(self) -> bool:
        """Start the worker thread on first use (so a lane costs nothing until it has work)."""
        if self._closed:
            return False
        if self._thread is None:
            self._thread = QThread()
            self._thread.setObjectName(f"latentlab-{self.name}")
            self._worker = ComputeWorker(self._make_models)
            self._worker.moveToThread(self._thread)
            self._send.connect(self._worker.run_job)
            self._worker.result.connect(self._on_result)
            self._worker.failed.connect(self._on_failed)
            self._worker.done.connect(self._on_done)
            self._thread.finished.connect(self._worker.deleteLater)
            self._thread.start()
        return True

    def submit(self, job: Job) -> None:
        if not self._ensure_thread():
            return
        if self._running is None:
            self._start(job)
            return
        self._pending[job.kind] = job
        if self._running.kind == job.kind:
            self._running.cancel()

    def cancel_all(self) -> None:
        self._pending.clear()
        if self._running is not None:
            self._running.cancel()

    @property
    def idle(self) -> bool:
        return self._running is None and not self._pending

    def _start(self, job: Job) -> None:
        self._running = job
        self._send.emit(job)

    @Slot(object, object)
    def _on_result(self, job: Job, value: object) -> None:
        if not job.cancelled:
            self.result.emit(job, value)

    @Slot(object, str)
    def _on_failed(self, job: Job, message: str) -> None:
        if self.errors is not None:
            self.errors.report(f"Computing the {job.kind.replace('_', ' ')} failed", message)
        self.failed.emit(job, message)

    @Slot(object)
    def _on_done(self, job: Job) -> None:
        if job is self._running:
            self._running = None
        if self._pending and self._thread is not None:
            kind = next(iter(self._pending))
            self._start(self._pending.pop(kind))

    def shutdown(self) -> None:
        """Cancel what is queued, let a running job end, stop the thread and wait for it.

        No time limit: dropping a QThread that still runs would abort the process.
        """
        self._closed = True
        if self._thread is None:
            return
        self.cancel_all()
        self._thread.quit()
        self._thread.wait()
        self._thread = None
        self._worker = None
