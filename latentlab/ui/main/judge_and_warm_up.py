"""The window's two background preparations, each a ``Task`` (latentlab.ui.work.tasks):

* the judge classifier of an opened model's dataset when none is cached (it colours the
  class territory and grades samples): trained once per dataset, with the status bar's
  progress bar, time left and Cancel; the map works without it meanwhile;
* the warm-up, once per process: importing and running what training needs, so the
  first training starts without a second's wait.

It gets the state (it observes ``session_changed``), the error sink, the explorer (told
when a judge arrives) and the status bar's progress widget; never the window.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Slot

from latentlab.app.tasks import ErrorSink
from latentlab.ui.work.runtime import freeze_startup_objects
from latentlab.ui.work.tasks import Task

if TYPE_CHECKING:
    from latentlab.app.session import Session
    from latentlab.app.state import AppState
    from latentlab.ui.map.explorer import Explorer
    from latentlab.ui.panels.task_progress import TaskProgress

JUDGE_FAILED = "Could not get a judge classifier"
WARM_UP_FAILED = "Preparing training in the background failed"


class JudgeAndWarmUp(QObject):
    def __init__(self, state: AppState, errors: ErrorSink, explorer: Explorer, judge_progress: TaskProgress,
                 parent: QObject | None = None) -> None:
        """``judge_progress``: the status bar's bar for the judge (its Cancel cancels it)."""
        super().__init__(parent)
        self.state = state
        self.errors = errors
        self.explorer = explorer
        self.judge_progress = judge_progress
        self.judge_task: Task | None = None
        self._judge_dataset = None
        self.warm_task: Task | None = None
        judge_progress.cancelRequested.connect(self.cancel_judge)
        state.session_changed.connect(self._on_session_changed)

    @property
    def idle(self) -> bool:
        return self.judge_task is None and self.warm_task is None

    def wait(self) -> None:
        """Block until both tasks' threads have ended (the window's shutdown)."""
        for task in (self.judge_task, self.warm_task):
            if task is not None:
                task.wait()

    # ============================================================ warm-up
    def warm_up_once(self, delay_ms: int) -> None:
        """Start the warm-up in ``delay_ms`` unless this process has had one."""
        caches = self.state.caches
        if not caches.warmed_up:  # once per process
            caches.warmed_up = True
            QTimer.singleShot(delay_ms, self, self.start_warm_up)

    @Slot()
    def start_warm_up(self) -> None:
        if self.state.closing:
            return
        from latentlab.app.training_job import warm_up

        self.warm_task = Task(warm_up, "warm-up", errors=self.errors, title=WARM_UP_FAILED,
                              note="Training works all the same; its first second may be slower.", parent=self)
        self.warm_task.ended.connect(self._on_warm_up_ended)
        self.warm_task.start()

    @Slot()
    def _on_warm_up_ended(self) -> None:
        self.warm_task = None
        freeze_startup_objects()

    # ============================================================== judge
    def _on_session_changed(self, session: Session | None) -> None:
        """``state.session_changed``: a judge for the new model's dataset, if it lacks one."""
        if session is not None and session.judge is None and session.has_data:  # no data: nothing to train on
            self._start_judge_training(session.dataset)

    def _start_judge_training(self, dataset) -> None:
        if self.judge_task is not None:
            return
        from latentlab.app.training_job import train_judge

        task = Task(partial(train_judge, dataset), "judge", errors=self.errors, title=JUDGE_FAILED,
                    note="The map works without it, but shows no class territory.", heavy=True,
                    budget=self.state.caches.threads, parent=self)
        task.progress.connect(self._on_judge_progress)
        task.done.connect(self._on_judge_ready)
        task.cancelled.connect(self._on_judge_cancelled)
        task.ended.connect(self._on_judge_ended)
        self._judge_dataset = dataset
        self.judge_task = task
        task.start()
        self.judge_progress.start("Judge")
        self.state.say(f"No judge classifier for {dataset.name} yet: training one in the background (once); "
                       "the class territory appears when it is ready", 0)

    @Slot()
    def cancel_judge(self) -> None:
        if self.judge_task is not None:
            self.judge_task.cancel()

    @Slot(object, str, object)
    def _on_judge_progress(self, fraction, message: str, eta_s) -> None:
        if message:
            self.state.say(message, 0)
        if fraction is not None:
            self.judge_progress.set_progress(fraction, eta_s if eta_s is not None else float("nan"))

    @Slot()
    def _on_judge_cancelled(self) -> None:
        self.state.say(f"Judge training for {self._judge_dataset.name} cancelled: the map shows no class "
                       "territory; it is trained again when a model of this dataset opens", 10000)

    @Slot(object)
    def _on_judge_ready(self, judge) -> None:
        dataset = self._judge_dataset
        self.state.caches.judges.remember(dataset, judge)
        self.state.say(f"Judge classifier for {dataset.name} ready", 5000)
        session = self.state.session
        if session is not None and session.dataset is dataset:
            session.judge = judge
            self.explorer.judge_arrived()

    @Slot()
    def _on_judge_ended(self) -> None:
        self.judge_progress.finish()
        self.judge_task = None
        self._judge_dataset = None
