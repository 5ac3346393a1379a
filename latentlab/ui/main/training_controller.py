"""Starting, steering and drawing the window's training runs.

Worker signals only store what arrived (the newest snapshot, step reports); a QTimer
draws it (ScopeFoundry's pattern), so the redraw rate does not follow the training
rate. The training thread itself is owned by ``TrainingRun``.

The β slider's fine-tune (``fine_tune_at``) is a run like any other, with no fixed
length: it stops by itself when its loss settles (``LossPlateau``), or at Stop. Moving
the slider again steers it to the new β and starts the plateau over.

The controller gets the app state, the explorer and the two widgets it draws into (the
training panel's progress bar, the loss plot), not the window: a new model is opened by
``state.set_session``, the KL bars follow ``state.set_kl``, the buttons follow
``state.training``; a failed run is reported once, by the run's error sink.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from latentlab.app.state import IDLE, TrainingStatus
from latentlab.app.tasks import SNAPSHOTS_PER_S, ErrorSink, report_exception

if TYPE_CHECKING:  # PyTorch is imported when a run starts: the window is built before it is
    from latentlab.app.state import AppState
    from latentlab.app.training_job import TrainOutcome
    from latentlab.ui.map.explorer import Explorer
    from latentlab.ui.panels.loss_plot import LossPlot
    from latentlab.ui.panels.training_panel import TrainingPanel
    from latentlab.ui.work.training_run import TrainingRun

#: While training, the KL bars follow the snapshots at most this often (a repaint costs ~5 ms).
KL_EVERY_S = 1.0
#: A fine-tune from the β slider stops when its loss settles, or after this many epochs.
LIVE_MAX_EPOCHS = 200
#: ... and the loss plot shows this many epochs ahead of it, extended as it goes.
LIVE_SPAN_EPOCHS = 20


class TrainingController(QObject):
    ended = Signal(object)  # TrainOutcome, after the training thread has stopped
    changed = Signal()  # a run started, paused, resumed or ended, or an epoch ended

    def __init__(self, state: AppState, explorer: Explorer, panel: TrainingPanel, loss_plot: LossPlot,
                 errors: ErrorSink, *, ask_discard: Callable[[str], bool], redraw_ms: int = 100,
                 report_every_steps: int = 5, snapshots_per_s: float = SNAPSHOTS_PER_S,
                 parent: QObject | None = None) -> None:
        """``ask_discard(question)``: whether the open model's unsaved training may go."""
        super().__init__(parent)
        self.state = state
        self.explorer = explorer
        self.panel = panel
        self.loss_plot = loss_plot
        self.errors = errors
        self.ask_discard = ask_discard
        self.report_every_steps = report_every_steps
        self.snapshots_per_s = snapshots_per_s
        self.run: TrainingRun | None = None
        self.last_outcome: TrainOutcome | None = None
        self._pending_steps: list = []
        self._latest_snapshot = None
        self._epoch0 = 0
        self._span = (0.0, 1.0)  # the loss plot's epoch axis during a run
        self._last_kl_update = 0.0
        #: The β slider's fine-tune: its plateau detector (None for other runs) and its β.
        self.plateau = None
        self.live_beta: float | None = None
        self.converged_after: int | None = None
        self._pending_beta: float | None = None
        self.redraw_timer = QTimer(self)
        self.redraw_timer.setInterval(redraw_ms)
        self.redraw_timer.timeout.connect(self.redraw)

    # ------------------------------------------------------------- starting
    def start_new(self, config=None, settings=None, dataset_name: str | None = None) -> bool:
        """Train a new model; ``config`` and ``settings`` default to the training panel's fields."""
        import torch

        from latentlab.models.registry import create_model, family_class, make_config
        from latentlab.training.trainer import TrainSettings

        from latentlab.app.session import Session, find_judge_cached, get_dataset
        from latentlab.ui.main.dataset_loading import load_chosen_dataset

        state = self.state
        if self.run is not None:
            return False
        if not self.ask_discard("Train a new model? The open one has unsaved training. Save it first?"):
            return False
        request = self.panel.request()
        try:
            choice = request.dataset
            if dataset_name is not None:
                dataset = get_dataset(dataset_name, caches=state.caches)
            elif state.session is not None and state.session.has_data and choice.matches(state.session.dataset):
                dataset = state.session.dataset
            else:
                dataset = load_chosen_dataset(state, choice)
            if config is None:
                fields = {f.name for f in dataclasses.fields(family_class(request.family).config_class)}
                extra = {"beta": request.beta, "gamma": request.gamma}
                config = make_config(request.family, backbone=request.backbone, latent_dim=request.latent_dim,
                                     hidden=request.hidden, image_shape=list(dataset.image_shape),
                                     num_classes=dataset.num_classes,
                                     **{k: v for k, v in extra.items() if k in fields})
            if settings is None:
                settings = TrainSettings(epochs=request.epochs, lr=request.lr, device=request.device,
                                         report_every_steps=self.report_every_steps)
            torch.manual_seed(settings.seed)
            session = Session(create_model(config), dataset, judge=find_judge_cached(dataset, state.caches))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a dialog
            report_exception(self.errors, "Could not start training", exc)
            return False
        session.training = settings.to_dict()
        self.explorer.training = True  # before the map is drawn: no UMAP of the untrained latents
        state.set_session(session)
        return self._launch(settings, history=[])

    def fine_tune_at(self, beta: float) -> bool:
        """The β slider moved: fine-tune the open model at ``beta`` from its current weights
        until its loss settles, or steer the running training to ``beta``."""
        from latentlab.training.convergence import LossPlateau
        from latentlab.training.trainer import TrainSettings

        session = self.state.session
        if session is None or not session.model.has_beta or self.state.closing:
            return False
        if self.run is not None:
            if self.run.stopping:  # ending: start again at this β when it has
                self._pending_beta = beta
                return True
            self.run.set_beta(beta)
            if self.plateau is not None:
                self.live_beta = beta
                self.plateau.reset()
            return True
        if not session.has_data:
            self.errors.report("No data to train on", f"This model was opened without data: {session.data_note}\n"
                               "Train a new model instead, or open this one again and allow its data.")
            return False
        request = self.panel.request()
        try:
            session.model.set_beta(beta)
            settings = TrainSettings(epochs=LIVE_MAX_EPOCHS, lr=request.lr, device=request.device,
                                     report_every_steps=self.report_every_steps)
        except Exception as exc:  # noqa: BLE001
            report_exception(self.errors, "Could not start fine-tuning", exc)
            return False
        session.training = settings.to_dict()
        self.plateau, self.live_beta = LossPlateau(), beta
        if not self._launch(settings, history=session.history):
            self.plateau = self.live_beta = None
            return False
        return True

    def _launch(self, settings, history: list[dict]) -> bool:
        from latentlab.training.control import TrainControl

        from latentlab.app.training_job import TrainingJob
        from latentlab.ui.work.training_run import TrainingRun

        session = self.state.session
        job = TrainingJob(session.model, session.dataset, settings, TrainControl(), list(history),
                          snapshots_per_s=self.snapshots_per_s)
        run = TrainingRun(job, errors=self.errors, budget=self.state.caches.threads, parent=self)
        run.stepReported.connect(self._on_step)
        run.snapshotReady.connect(self._on_snapshot)
        run.epochEnded.connect(self._on_epoch)
        run.finished.connect(self._on_run_finished)
        run.ended.connect(self._on_run_ended)
        self.run = run
        self._epoch0 = len(history)
        self.converged_after = None
        ahead = LIVE_SPAN_EPOCHS if self.plateau is not None else settings.epochs
        self._span = (0.0 if not history else 1.0, self._epoch0 + ahead)
        self.loss_plot.set_x_span(*self._span)
        self._pending_steps = []
        self._latest_snapshot = None
        self.explorer.training = True
        try:
            run.start()
        except Exception as exc:  # noqa: BLE001
            self.run = None
            self.explorer.training = False
            report_exception(self.errors, "Could not start training", exc)
            return False
        self.redraw_timer.start()
        self.panel.set_message("starting…", 0.0)
        self.state.set_training(TrainingStatus("running", "starting…"))
        self.changed.emit()
        return True

    # ------------------------------------------------------------- steering
    @property
    def running(self) -> bool:
        return self.run is not None

    def toggle_pause(self) -> None:
        run = self.run
        if run is None:
            return
        if run.paused:
            run.resume()
            self.state.say("Training resumed", 3000)
        else:
            run.pause()
            self.state.say("Training paused (Space resumes)", 3000)
        self.state.set_training(TrainingStatus("paused" if run.paused else "running", ""))
        self.changed.emit()

    def stop(self) -> None:
        if self.run is not None:
            self.run.cancel()
            self.panel.set_message("stopping…")
            self.state.set_training(TrainingStatus("stopping", "stopping…"))

    def stop_and_wait(self, timeout_s: float | None = None) -> bool:
        """Stop the run and wait for it (at most ``timeout_s``); True when it has ended."""
        self._pending_beta = None  # whoever waits wants it stopped, not restarted
        return self.run.stop_and_wait(timeout_s) if self.run is not None else True

    # -------------------------------------------------------------- drawing
    @Slot()
    def redraw(self) -> None:
        """Draw what the worker sent since the last tick: loss points, the newest snapshot."""
        steps, self._pending_steps = self._pending_steps, []
        for report in steps:
            x = self._epoch0 + report.step / (report.total_steps / report.epochs)
            self.loss_plot.add_step(x, report.losses)
        if steps:
            last = steps[-1]
            if self.plateau is not None:
                self.panel.set_message(self._live_message(last.epoch), 0.0)
            else:
                self.panel.set_progress(last.epoch, last.epochs, last.progress, last.eta_s, last.images_per_s)
        self.loss_plot.refresh()
        snapshot, self._latest_snapshot = self._latest_snapshot, None
        session = self.state.session
        if snapshot is not None and session is not None:
            self.explorer.apply_training_snapshot(snapshot)
            session.dirty = True  # the weights shown differ from the file, even mid-epoch
            now = time.monotonic()
            if snapshot.kl_per_dim is not None and now - self._last_kl_update >= KL_EVERY_S:
                self._last_kl_update = now
                self.state.set_kl(snapshot.kl_per_dim)

    def _live_message(self, epoch: int) -> str:
        plateau = self.plateau
        return (f"β = {self.live_beta:g} · epoch {epoch} · until the loss settles "
                f"({plateau.stale}/{plateau.patience} flat)")

    def flush(self) -> None:
        """Apply a snapshot that arrived since the last tick (before saving, say)."""
        if self._latest_snapshot is not None:
            self.redraw()

    # ------------------------------------------------------- worker signals
    @Slot(object)
    def _on_step(self, report) -> None:
        self._pending_steps.append(report)

    @Slot(object)
    def _on_snapshot(self, snapshot) -> None:
        self._latest_snapshot = snapshot  # drawn by the redraw timer; older ones are dropped
        if self.state.session is not None:  # new weights: unsaved, even before an epoch has ended
            self.state.session.dirty = True

    @Slot(object)
    def _on_epoch(self, summary) -> None:
        session = self.state.session
        if session is None:
            return
        session.history.append(summary.record)
        if summary.metrics:
            session.metrics = dict(summary.metrics)
            kl = summary.metrics.get("kl_per_dim")
            if kl is not None:
                self.state.set_kl(kl)
        session.dirty = True
        self.loss_plot.add_epoch(summary.record)
        if self.plateau is not None and self.run is not None:
            lo, hi = self._span
            if summary.epoch >= hi:
                self._span = (lo, summary.epoch + LIVE_SPAN_EPOCHS)
                self.loss_plot.set_x_span(*self._span)
            loss = summary.record.get("train_loss")
            if isinstance(loss, (int, float)) and self.plateau.update(float(loss)) and self.converged_after is None:
                self.converged_after = summary.epoch - self._epoch0
                self.run.cancel()
        self.changed.emit()

    @Slot(object)
    def _on_run_finished(self, outcome: TrainOutcome) -> None:
        session = self.state.session
        self.last_outcome = outcome
        if session is not None:
            session.history = list(outcome.history)
            if outcome.metrics:
                session.metrics = dict(outcome.metrics)
            if outcome.training:  # how far it got: "info" reports it after a NaN or a stop
                session.training = dict(outcome.training)

    @Slot()
    def _on_run_ended(self) -> None:
        run, self.run = self.run, None
        self.redraw_timer.stop()
        self.redraw()
        live_beta, self.plateau, self.live_beta = self.live_beta, None, None
        pending, self._pending_beta = self._pending_beta, None
        self.loss_plot.refresh(force=True)
        self.explorer.training = False
        session = self.state.session
        if session is not None:
            session.model.eval()
            session.display.mixture = session.model.mixture
            self.state.set_kl(session.kl_per_dim())
            self.explorer.refresh_all()
        outcome = run.outcome if run is not None else None
        message = outcome.message if outcome is not None and outcome.ok else "failed"
        self.state.set_training(IDLE if outcome is None else TrainingStatus("idle", message, None))
        self.changed.emit()
        if outcome is None:
            return
        if outcome.ok and self.converged_after is not None:
            outcome.status = "converged"
            outcome.message = (f"fine-tuned at β = {live_beta:g} until the loss settled "
                               f"({self.converged_after} epochs)")
        if outcome.ok:
            self.panel.set_message(outcome.message, 1.0 if outcome.status == "finished" else None)
            self.state.say(f"Training {outcome.status}: {outcome.message}", 10000)
        else:
            self.panel.set_message("failed")  # (the run's error sink has shown why)
        self.ended.emit(outcome)
        if outcome.ok and pending is not None and self.state.session is session:
            self.fine_tune_at(pending)  # the slider moved while the run was stopping
