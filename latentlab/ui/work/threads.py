"""The GUI-side owners of worker threads (superqt's pattern).

A worker's ``run`` slot is connected to ``QThread.started``, its ``finished`` signal quits
the thread, and the owner drops its references only after ``QThread.finished`` has been
delivered and the thread has really exited: destroying a running QThread aborts the
process. Every owner can be waited for, which the window does when it closes.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from latentlab.errors import LatentLabError
from latentlab.ui.work.runtime import demote_current_thread, describe_exception

if TYPE_CHECKING:
    from latentlab.app.jobs_base import Job

# PyTorch is imported where a thread needs it (``.workers``, ``.jobs``), not here: the
# window is built, shown and explorable before PyTorch is loaded (see startup.py).


def torch_model_cache():
    """The model copies of a lane's thread (jobs.ModelCache); imports PyTorch, so it is made
    in the worker thread when the first job arrives."""
    from latentlab.app.jobs import ModelCache

    return ModelCache()


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


class BackgroundTask(QObject):
    """A one-shot worker (a ``run`` slot and a ``finished`` signal) in its own thread.

    Connect to the worker's signals before ``start``. ``ended`` is emitted on the GUI
    thread once the thread has stopped and the task has let go of it. ``heavy`` tasks
    take torch's thread budget for background work while they run (see workers.py).
    """

    ended = Signal()

    def __init__(self, worker: QObject, name: str, *, heavy: bool = False, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.worker: QObject | None = worker
        self.name = name
        self.heavy = heavy
        self._thread: QThread | None = None

    def start(self) -> None:
        if self.heavy:
            from latentlab.ui.work.workers import enter_background_training

            enter_background_training()
        self._thread = start_in_thread(self.worker, self.name)
        self._thread.finished.connect(self._on_thread_finished)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def wait(self) -> None:
        """Block until the work is done (it cannot be interrupted), then clean up."""
        if self._thread is not None:
            self._thread.wait()
            self._on_thread_finished()

    @Slot()
    def _on_thread_finished(self) -> None:
        thread = self._thread
        if thread is None:
            return
        thread.wait()  # finished is emitted just before the thread exits: let it exit
        self._thread = None
        self.worker = None
        if self.heavy:
            from latentlab.ui.work.workers import leave_background_training

            leave_background_training()
        self.ended.emit()


class ComputeWorker(QObject):
    """Runs jobs (territory, manifold, GAN labels) one at a time in its thread.

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
        except Exception as exc:  # noqa: BLE001 - reported to the GUI
            if not isinstance(exc, LatentLabError):
                traceback.print_exc(file=sys.stderr)
            self.failed.emit(job, describe_exception(exc))
        finally:
            self._job = None
            self.done.emit(job)

    def _emit(self, value: object) -> None:
        if self._job is not None and not self._job.cancel.is_set():
            self.result.emit(self._job, value)


class ComputeLane(QObject):
    """A persistent worker thread with newest-wins scheduling per job kind.

    ``submit`` sends a job at once when the worker is idle; otherwise it replaces any
    waiting job of the same kind and asks a running one of that kind to stop early.
    Results and failures are re-emitted on the GUI thread.
    """

    result = Signal(object, object)
    failed = Signal(object, str)
    _send = Signal(object)

    def __init__(self, name: str, parent: QObject | None = None, *,
                 make_models: Callable[[], object] | None = torch_model_cache) -> None:
        super().__init__(parent)
        self.name = name
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
            self._running.cancel.set()

    def cancel_all(self) -> None:
        self._pending.clear()
        if self._running is not None:
            self._running.cancel.set()

    @property
    def idle(self) -> bool:
        return self._running is None and not self._pending

    def _start(self, job: Job) -> None:
        self._running = job
        self._send.emit(job)

    @Slot(object, object)
    def _on_result(self, job: Job, value: object) -> None:
        if not job.cancel.is_set():
            self.result.emit(job, value)

    @Slot(object, str)
    def _on_failed(self, job: Job, message: str) -> None:
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
