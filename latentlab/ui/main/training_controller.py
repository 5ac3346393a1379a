"""Starting, steering and drawing the window's training runs.

Worker signals only store what arrived (the newest snapshot, step reports); a QTimer
draws it (ScopeFoundry's pattern), so the redraw rate does not follow the training
rate. The training thread itself is owned by ``TrainingRun``.

The β slider's fine-tune (``fine_tune_at``) is a run like any other, with no fixed
length: it stops by itself when its loss settles (``LossPlateau``), or at Stop. Moving
the slider again steers it to the new β and starts the plateau over.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal, Slot

if TYPE_CHECKING:  # PyTorch is imported when a run starts: the window is built before it is
    from latentlab.ui.main.main_window import MainWindow
    from latentlab.ui.work.training_run import TrainingRun
    from latentlab.ui.work.workers import TrainOutcome

#: While training, the KL bars follow the snapshots at most this often (a repaint costs ~5 ms).
KL_EVERY_S = 1.0
#: A fine-tune from the β slider stops when its loss settles, or after this many epochs.
LIVE_MAX_EPOCHS = 200
#: ... and the loss plot shows this many epochs ahead of it, extended as it goes.
LIVE_SPAN_EPOCHS = 20


class TrainingController(QObject):
    ended = Signal(object)  # TrainOutcome, after the training thread has stopped
    changed = Signal()  # a run started, paused, resumed or ended, or an epoch ended

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
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
        self.redraw_timer.setInterval(window.options.redraw_ms)
        self.redraw_timer.timeout.connect(self.redraw)
        window.sessionChanged.connect(self._on_session_changed)

    # ------------------------------------------------------------- starting
    def start_new(self, config=None, settings=None, dataset_name: str | None = None) -> bool:
        """Train a new model; ``config`` and ``settings`` default to the training panel's fields."""
        import torch

        from latentlab.data import DEFAULT_DATASET
        from latentlab.models.registry import create_model, family_class, make_config
        from latentlab.training.trainer import TrainSettings

        from latentlab.app.session import Session, find_judge_cached, get_dataset

        window = self.window
        if self.run is not None:
            return False
        if not window.confirm_discard("Train a new model? The open one has unsaved training. Save it first?"):
            return False
        request = window.training_panel.request()
        try:
            if dataset_name is not None or window.session is None or not window.session.has_data:
                dataset = get_dataset(dataset_name or DEFAULT_DATASET)
            else:
                dataset = window.session.dataset
            if config is None:
                fields = {f.name for f in dataclasses.fields(family_class(request.family).config_class)}
                extra = {"beta": request.beta, "gamma": request.gamma}
                config = make_config(request.family, backbone=request.backbone, latent_dim=request.latent_dim,
                                     hidden=request.hidden, image_shape=list(dataset.image_shape),
                                     num_classes=dataset.num_classes,
                                     **{k: v for k, v in extra.items() if k in fields})
            if settings is None:
                settings = TrainSettings(epochs=request.epochs, lr=request.lr, device=request.device,
                                         report_every_steps=window.options.report_every_steps)
            torch.manual_seed(settings.seed)
            session = Session(create_model(config), dataset, judge=find_judge_cached(dataset))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a dialog
            window.report_exception("Could not start training", exc)
            return False
        session.training = settings.to_dict()
        window.explorer.training = True  # before the map is drawn: no UMAP of the untrained latents
        window.set_session(session)
        return self._launch(settings, history=[])

    def fine_tune_at(self, beta: float) -> bool:
        """The β slider moved: fine-tune the open model at ``beta`` from its current weights
        until its loss settles, or steer the running training to ``beta``."""
        from latentlab.training.convergence import LossPlateau
        from latentlab.training.trainer import TrainSettings

        window, session = self.window, self.window.session
        if session is None or not session.model.has_beta:
            return False
        if self.run is not None:
            if self.run.control.stop_requested:  # ending: start again at this β when it has
                self._pending_beta = beta
                return True
            self.run.set_beta(beta)
            if self.plateau is not None:
                self.live_beta = beta
                self.plateau.reset()
            return True
        if not session.has_data:
            window.show_error("No data to train on", f"This model was opened without data: {session.data_note}\n"
                              "Train a new model instead, or open this one again and allow its data.")
            return False
        request = window.training_panel.request()
        try:
            session.model.set_beta(beta)
            settings = TrainSettings(epochs=LIVE_MAX_EPOCHS, lr=request.lr, device=request.device,
                                     report_every_steps=window.options.report_every_steps)
        except Exception as exc:  # noqa: BLE001
            window.report_exception("Could not start fine-tuning", exc)
            return False
        session.training = settings.to_dict()
        self.plateau, self.live_beta = LossPlateau(), beta
        if not self._launch(settings, history=session.history):
            self.plateau = self.live_beta = None
            return False
        return True

    def _launch(self, settings, history: list[dict]) -> bool:
        from latentlab.training.control import TrainControl

        from latentlab.ui.work.training_run import TrainingRun
        from latentlab.ui.work.workers import TrainingJob

        window, session = self.window, self.window.session
        job = TrainingJob(session.model, session.dataset, settings, TrainControl(), list(history),
                          snapshots_per_s=window.options.snapshots_per_s)
        run = TrainingRun(job, self)
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
        window.loss_plot.set_x_span(*self._span)
        self._pending_steps = []
        self._latest_snapshot = None
        window.explorer.training = True
        try:
            run.start()
        except Exception as exc:  # noqa: BLE001
            self.run = None
            window.explorer.training = False
            window.report_exception("Could not start training", exc)
            return False
        self.redraw_timer.start()
        window.training_panel.set_message("starting…", 0.0)
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
            self.window.statusBar().showMessage("Training resumed", 3000)
        else:
            run.pause()
            self.window.statusBar().showMessage("Training paused (Space resumes)", 3000)
        self.changed.emit()

    def stop(self) -> None:
        if self.run is not None:
            self.run.stop()
            self.window.training_panel.set_message("stopping…")

    def stop_and_wait(self, timeout_s: float | None = None) -> bool:
        """Stop the run and wait for it (at most ``timeout_s``); True when it has ended."""
        self._pending_beta = None  # whoever waits wants it stopped, not restarted
        return self.run.stop_and_wait(timeout_s) if self.run is not None else True

    # -------------------------------------------------------------- drawing
    @Slot()
    def redraw(self) -> None:
        """Draw what the worker sent since the last tick: loss points, the newest snapshot."""
        window = self.window
        steps, self._pending_steps = self._pending_steps, []
        for report in steps:
            x = self._epoch0 + report.step / (report.total_steps / report.epochs)
            window.loss_plot.add_step(x, report.losses)
        if steps:
            last = steps[-1]
            if self.plateau is not None:
                window.training_panel.set_message(self._live_message(last.epoch), 0.0)
            else:
                window.training_panel.set_progress(last.epoch, last.epochs, last.progress, last.eta_s,
                                                   last.images_per_s)
        window.loss_plot.refresh()
        snapshot, self._latest_snapshot = self._latest_snapshot, None
        if snapshot is not None and window.session is not None:
            window.explorer.apply_training_snapshot(snapshot)
            window.session.dirty = True  # the weights shown differ from the file, even mid-epoch
            now = time.monotonic()
            if snapshot.kl_per_dim is not None and now - self._last_kl_update >= KL_EVERY_S:
                self._last_kl_update = now
                window.show_kl(snapshot.kl_per_dim)

    def _live_message(self, epoch: int) -> str:
        plateau = self.plateau
        return (f"β = {self.live_beta:g} · epoch {epoch} · until the loss settles "
                f"({plateau.stale}/{plateau.patience} flat)")

    def flush(self) -> None:
        """Apply a snapshot that arrived since the last tick (before saving, say)."""
        if self._latest_snapshot is not None:
            self.redraw()

    @Slot()
    def _on_session_changed(self) -> None:
        """Another model is open: the last run's message belongs to the one before."""
        if self.run is None:
            self.window.training_panel.set_message("idle", 0.0)

    # ------------------------------------------------------- worker signals
    @Slot(object)
    def _on_step(self, report) -> None:
        self._pending_steps.append(report)

    @Slot(object)
    def _on_snapshot(self, snapshot) -> None:
        self._latest_snapshot = snapshot  # drawn by the redraw timer; older ones are dropped
        if self.window.session is not None:  # new weights: unsaved, even before an epoch has ended
            self.window.session.dirty = True

    @Slot(object)
    def _on_epoch(self, summary) -> None:
        window, session = self.window, self.window.session
        if session is None:
            return
        session.history.append(summary.record)
        if summary.metrics:
            session.metrics = dict(summary.metrics)
            kl = summary.metrics.get("kl_per_dim")
            if kl is not None:
                window.show_kl(kl)
        session.dirty = True
        window.loss_plot.add_epoch(summary.record)
        if self.plateau is not None and self.run is not None:
            lo, hi = self._span
            if summary.epoch >= hi:
                self._span = (lo, summary.epoch + LIVE_SPAN_EPOCHS)
                window.loss_plot.set_x_span(*self._span)
            loss = summary.record.get("train_loss")
            if isinstance(loss, (int, float)) and self.plateau.update(float(loss)) and self.converged_after is None:
                self.converged_after = summary.epoch - self._epoch0
                self.run.stop()
        self.changed.emit()

    @Slot(object)
    def _on_run_finished(self, outcome: TrainOutcome) -> None:
        session = self.window.session
        self.last_outcome = outcome
        if session is not None:
            session.history = list(outcome.history)
            if outcome.metrics:
                session.metrics = dict(outcome.metrics)
            if outcome.training:  # how far it got: "info" reports it after a NaN or a stop
                session.training = dict(outcome.training)

    @Slot()
    def _on_run_ended(self) -> None:
        window = self.window
        run, self.run = self.run, None
        self.redraw_timer.stop()
        self.redraw()
        live_beta, self.plateau, self.live_beta = self.live_beta, None, None
        pending, self._pending_beta = self._pending_beta, None
        window.loss_plot.refresh(force=True)
        window.explorer.training = False
        session = window.session
        if session is not None:
            session.model.eval()
            session.display.mixture = session.model.mixture
            window.show_kl(session.kl_per_dim())
            window.explorer.refresh_all()
        self.changed.emit()
        outcome = run.outcome if run is not None else None
        if outcome is None:
            return
        if outcome.ok and self.converged_after is not None:
            outcome.status = "converged"
            outcome.message = (f"fine-tuned at β = {live_beta:g} until the loss settled "
                               f"({self.converged_after} epochs)")
        if outcome.ok:
            window.training_panel.set_message(outcome.message, 1.0 if outcome.status == "finished" else None)
            window.statusBar().showMessage(f"Training {outcome.status}: {outcome.message}", 10000)
        else:
            window.training_panel.set_message("failed")
        self.ended.emit(outcome)
        if not outcome.ok:
            window.show_error("Training failed", outcome.message)
        elif pending is not None and window.session is session:
            self.fine_tune_at(pending)  # the slider moved while the run was stopping
