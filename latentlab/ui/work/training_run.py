"""One training run in a QThread: start, pause, resume, stop, wait, and clean up.

The worker's signals are re-emitted from ``@Slot`` methods of this GUI-thread object, so
everything downstream runs on the GUI thread. References to the thread and the worker
are dropped only when ``QThread.finished`` arrives (then ``ended`` is emitted); dropping
them earlier destroys a running QThread, which aborts the process.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QObject, Signal, Slot

from latentlab.training.control import TrainControl
from latentlab.ui.work.threads import BackgroundTask
from latentlab.ui.work.workers import TrainingJob, TrainingWorker, TrainOutcome


class TrainingRun(BackgroundTask):
    """A heavy background task (it takes torch's thread budget, leaving a core to the GUI)
    whose worker is a TrainingWorker; ``ended`` comes from BackgroundTask."""

    stepReported = Signal(object)  # StepReport
    snapshotReady = Signal(object)  # TrainingSnapshot
    epochEnded = Signal(object)  # EpochSummary
    finished = Signal(object)  # TrainOutcome, before the thread has stopped

    def __init__(self, job: TrainingJob, parent: QObject | None = None) -> None:
        super().__init__(None, "training", heavy=True, parent=parent)
        self.job = job
        self.control: TrainControl = job.control
        self.outcome: TrainOutcome | None = None
        self.stop_requested_at: float | None = None
        self.finished_at: float | None = None

    # ----------------------------------------------------------------- control
    def start(self) -> None:
        worker = TrainingWorker(self.job)
        worker.stepReported.connect(self._on_step)
        worker.snapshotReady.connect(self._on_snapshot)
        worker.epochEnded.connect(self._on_epoch)
        worker.finished.connect(self._on_finished)  # before start_in_thread connects thread.quit
        self.worker = worker
        super().start()

    @property
    def paused(self) -> bool:
        return self.control.paused

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def set_beta(self, beta: float) -> None:
        self.control.set_beta(beta)

    def stop(self) -> None:
        if self.stop_requested_at is None:
            self.stop_requested_at = time.perf_counter()
        self.control.request_stop()

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
        self.stop()
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

    # ------------------------------------------------------------ worker side
    @Slot(object)
    def _on_step(self, report) -> None:
        self.stepReported.emit(report)

    @Slot(object)
    def _on_snapshot(self, snapshot) -> None:
        self.snapshotReady.emit(snapshot)

    @Slot(object)
    def _on_epoch(self, summary) -> None:
        self.epochEnded.emit(summary)

    @Slot(object)
    def _on_finished(self, outcome: TrainOutcome) -> None:
        self.outcome = outcome
        self.finished_at = time.perf_counter()
        self.finished.emit(outcome)
