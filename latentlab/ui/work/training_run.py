"""One training run: a ``Task`` of ``run_training`` with pause, resume, β, stop and wait.

The run's partial results (step reports, weight snapshots, epoch summaries) are sorted
into their own signals here, on the GUI thread. Stopping is the task's ``cancel`` (the
trainer's stop flag, checked every step); a stopped run still returns its outcome and
final weights. References to the thread are dropped only when ``QThread.finished``
arrives (then ``ended`` is emitted); dropping them earlier destroys a running QThread,
which aborts the process.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from latentlab.app.tasks import ErrorSink, TaskState
from latentlab.app.training_job import EpochSummary, TrainingJob, TrainingSnapshot, TrainOutcome, run_training
from latentlab.training.control import TrainControl
from latentlab.training.trainer import StepReport
from latentlab.ui.work.tasks import Task

#: The error dialog's title when a run raises.
FAILED_TITLE = "Training failed"


class TrainingRun(Task):
    """A heavy task (it takes torch's thread budget, leaving a core to the GUI)."""

    stepReported = Signal(object)  # StepReport
    snapshotReady = Signal(object)  # TrainingSnapshot
    epochEnded = Signal(object)  # EpochSummary
    finished = Signal(object)  # TrainOutcome (a failed one too), before the thread has stopped

    def __init__(self, job: TrainingJob, *, errors: ErrorSink | None, budget=None,
                 parent: QObject | None = None) -> None:
        self.job = job
        self.control: TrainControl = job.control
        super().__init__(self._fit, "training", errors=errors, title=FAILED_TITLE, heavy=True, budget=budget,
                         state=TaskState(on_cancel=job.control.request_stop), parent=parent)
        self.outcome: TrainOutcome | None = None
        self.stop_requested_at: float | None = None
        self.finished_at: float | None = None
        self.partial.connect(self._on_partial_result)
        self.done.connect(self._on_outcome)
        self.failed.connect(self._on_failure)

    def _fit(self, state: TaskState) -> TrainOutcome:
        return run_training(self.job, state)

    # ----------------------------------------------------------------- control
    @property
    def paused(self) -> bool:
        return self.control.paused

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def set_beta(self, beta: float) -> None:
        self.control.set_beta(beta)

    @property
    def stopping(self) -> bool:
        return self.state.cancelled

    def cancel(self) -> None:
        """Stop after the current step (the run still reports its outcome)."""
        if self.stop_requested_at is None:
            self.stop_requested_at = time.perf_counter()
        super().cancel()

    def stop_and_wait(self, timeout_s: float | None = None) -> bool:
        """Stop, wait for the thread (the trainer checks the stop flag every step) and
        deliver its last signals (the final weights, the outcome). True when it has ended.

        Without ``timeout_s`` there is no limit: dropping a running QThread aborts, so an
        owner that goes on living must wait. With one (closing the window, after which the
        process ends without destroying the thread), wait at most that long for the run's
        outcome, delivering only this run's own signals (the final weights), not the rest of
        the event queue (redraws, map updates: work for a window that is going away); a
        trainer can be stuck for seconds in an import (torch._dynamo, the first time Adam
        steps). True when the outcome has arrived.
        """
        if self._thread is None:
            return True
        self.cancel()
        if timeout_s is not None:
            deadline = time.monotonic() + timeout_s
            while self.outcome is None:
                QCoreApplication.sendPostedEvents(self)
                remaining_ms = int((deadline - time.monotonic()) * 1000)
                if self.outcome is not None or remaining_ms <= 0 or self._thread is None:
                    break
                self._thread.wait(min(remaining_ms, 10))
            return self.outcome is not None
        self._thread.wait()
        # Deliver the queued signals (the outcome, thread.finished) now.
        for _ in range(20):
            if self._thread is None:
                break
            QCoreApplication.sendPostedEvents()
            QCoreApplication.processEvents()
        if self._thread is not None:  # never delivered (no event loop running): clean up directly
            self._on_thread_finished()
        return True

    # ------------------------------------------------------------- results
    @Slot(object)
    def _on_partial_result(self, value) -> None:
        if isinstance(value, StepReport):
            self.stepReported.emit(value)
        elif isinstance(value, TrainingSnapshot):
            self.snapshotReady.emit(value)
        elif isinstance(value, EpochSummary):
            self.epochEnded.emit(value)

    @Slot(object)
    def _on_outcome(self, outcome: TrainOutcome) -> None:
        self._finish(outcome)

    @Slot(str)
    def _on_failure(self, message: str) -> None:
        """The sink has shown the error; the run's record keeps the epochs it had."""
        self._finish(TrainOutcome("failed", message, list(self.job.history), {}, error=message))

    def _finish(self, outcome: TrainOutcome) -> None:
        self.outcome = outcome
        self.finished_at = time.perf_counter()
        self.finished.emit(outcome)
