"""Work that must not run on the GUI thread: training, territory images, the judge, warm-up.

Each worker is a QObject that lives in its own QThread (the owners are in ``threads.py``
and ``training_run.py``). Signals carry CPU numpy arrays and CPU state dicts, never
tensors the optimizer is changing, and they are connected to ``@Slot`` methods only
(lambdas as cross-thread receivers crash PySide6 >= 6.8).

Threads and cores: a training run started from the window sets torch's intra-op thread
count to ``training_threads()`` (all cores but one; on a 2-core machine: 1), so one core
stays free for the GUI and the territory worker, and restores it when the run ends.
With both cores busy in torch, the GUI's event loop otherwise waits ~100 ms at a time.
Worker threads also lower their own scheduling priority (``demote_current_thread``: nice
+10 on Linux), so when the machine is busy the GUI thread is the one that gets a core.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from dataclasses import dataclass, field

import numpy as np
import torch
from PySide6.QtCore import QObject, Signal, Slot

from latentlab.app.jobs import ModelSnapshot
from latentlab.errors import LatentLabError
from latentlab.training.trainer import EpochReport, StepReport, Trainer, TrainingCallback, TrainSettings
from latentlab.ui.work.runtime import (  # noqa: F401 - re-exported: they live where no PyTorch is imported
    SNAPSHOTS_PER_S,
    SWITCH_INTERVAL_S,
    WORKER_NICENESS,
    demote_current_thread,
    describe_exception,
    freeze_startup_objects,
    unfreeze_startup_objects,
)
from latentlab.ui.panels.task_progress import CANCELLED
from latentlab.ui.work.threads import ComputeWorker  # noqa: F401 - re-exported


def training_threads() -> int:
    """torch threads for training launched from the GUI: every core but one for the GUI."""
    return max(1, (os.cpu_count() or 2) - 1)


_background_runs = 0
_saved_threads: int | None = None


def enter_background_training() -> None:
    """A heavy background run starts: give torch every core but one (see the module doc)."""
    global _background_runs, _saved_threads
    if _background_runs == 0:
        _saved_threads = torch.get_num_threads()
        torch.set_num_threads(training_threads())
    _background_runs += 1


def leave_background_training() -> None:
    """A heavy background run ended: restore torch's thread count after the last one."""
    global _background_runs
    _background_runs = max(0, _background_runs - 1)
    if _background_runs == 0 and _saved_threads is not None:
        torch.set_num_threads(_saved_threads)


# ----------------------------------------------------------------- training
@dataclass
class TrainingSnapshot:
    """What the GUI needs to draw a training model at one moment."""

    snapshot: ModelSnapshot
    latents: np.ndarray | None  # test-set posterior means, None for families without encoder
    kl_per_dim: list[float] | None  # test-set KL per latent dimension (VAE families)
    epoch: float  # epochs done, fractional, counting the checkpoint's history
    step: int


@dataclass
class EpochSummary:
    record: dict  # the history entry of the epoch
    metrics: dict
    epoch: int  # global epoch number (counting the history it continued)


@dataclass
class TrainOutcome:
    status: str  # "finished", "stopped" or "failed"
    message: str
    history: list[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    error: str | None = None  # set when the run ended with an exception
    #: The checkpoint's "training" record: settings, status, epochs_trained (Trainer.training_record).
    training: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status != "failed"


@dataclass
class TrainingJob:
    model: torch.nn.Module
    dataset: object
    settings: TrainSettings
    control: object
    history: list[dict]
    snapshots_per_s: float = SNAPSHOTS_PER_S
    fit_mixture: bool = True


class _Relay(TrainingCallback):
    """Trainer callbacks (in the training thread) -> throttled Qt signals."""

    def __init__(self, worker: TrainingWorker, epoch0: int) -> None:
        self.worker = worker
        self.epoch0 = epoch0
        self.interval = 1.0 / max(worker.job.snapshots_per_s, 1e-3)
        self.last_snapshot = 0.0
        self._test_x: torch.Tensor | None = None

    def on_step(self, trainer: Trainer, report: StepReport) -> None:
        self.worker.stepReported.emit(report)
        now = time.perf_counter()
        if now - self.last_snapshot >= self.interval:
            self.last_snapshot = now
            epochs_done = self.epoch0 + report.step / (report.total_steps / report.epochs)
            self.worker.snapshotReady.emit(self.snapshot(trainer, epochs_done, report.step))
        time.sleep(0)  # let the GUI thread take the GIL between steps

    def on_epoch(self, trainer: Trainer, report: EpochReport) -> None:
        epoch = self.epoch0 + report.epoch
        self.worker.epochEnded.emit(EpochSummary(dict(trainer.history[-1]), dict(report.metrics), epoch))
        self.last_snapshot = time.perf_counter()
        self.worker.snapshotReady.emit(self.snapshot(trainer, float(epoch), -1))

    def snapshot(self, trainer: Trainer, epoch: float, step: int) -> TrainingSnapshot:
        """Weights and test latents, consistent: taken between two optimizer steps."""
        model = trainer.model
        state = ModelSnapshot.from_state(model.config.to_dict(), trainer.snapshot_state())
        latents, kl = self.encode(trainer)
        return TrainingSnapshot(state, latents, kl, epoch, step)

    @torch.no_grad()
    def encode(self, trainer: Trainer) -> tuple[np.ndarray | None, list[float] | None]:
        model = trainer.model
        if not model.has_encoder:
            return None, None
        if not hasattr(model, "posterior"):
            return trainer.encode_test(), None
        from latentlab.models.vae import kl_per_dim

        if self._test_x is None:
            self._test_x = self.worker.job.dataset.test.images.to(trainer.device)
        x = self._test_x
        was_training = model.training
        model.eval()
        try:
            mus, kl_sum = [], None
            for i in range(0, len(x), 500):
                mu, logvar = model.posterior(x[i : i + 500])
                mus.append(mu)
                part = kl_per_dim(mu, logvar).sum(0)
                kl_sum = part if kl_sum is None else kl_sum + part
        finally:
            model.train(was_training)
        latents = torch.cat(mus).float().cpu().numpy()
        return latents, (kl_sum / max(len(x), 1)).float().cpu().tolist()


class TrainingWorker(QObject):
    """Runs one ``Trainer.fit`` in its thread and reports through signals."""

    stepReported = Signal(object)  # StepReport, every report_every_steps steps
    snapshotReady = Signal(object)  # TrainingSnapshot, at most snapshots_per_s per second
    epochEnded = Signal(object)  # EpochSummary
    finished = Signal(object)  # TrainOutcome, always exactly once

    def __init__(self, job: TrainingJob) -> None:
        super().__init__()
        self.job = job

    @Slot()
    def run(self) -> None:
        demote_current_thread()
        job = self.job
        outcome: TrainOutcome
        relay = _Relay(self, epoch0=len(job.history))
        try:
            trainer = Trainer(job.model, job.dataset, job.settings, control=job.control,
                              callbacks=[relay], history=job.history)
            result = trainer.fit()
            if result.status == "finished" and job.fit_mixture and job.model.has_encoder and job.model.has_decoder:
                from latentlab.models.mixture import fit_latent_mixture

                fit_latent_mixture(job.model, job.dataset.train.images.to(trainer.device),
                                   n_components=job.dataset.num_classes)
            # The final weights (restored ones after a NaN) for the GUI's copies.
            self.snapshotReady.emit(relay.snapshot(trainer, float(len(trainer.history)), -1))
            outcome = TrainOutcome(result.status, result.message, list(trainer.history), dict(trainer.metrics),
                                   training=trainer.training_record())
        except Exception as exc:  # noqa: BLE001 - reported to the GUI, which stays usable
            if not isinstance(exc, LatentLabError):
                traceback.print_exc(file=sys.stderr)
            outcome = TrainOutcome("failed", describe_exception(exc), list(job.history), {},
                                   error=describe_exception(exc))
        self.finished.emit(outcome)


# ------------------------------------------------------------------- compute
# --------------------------------------------------------------------- judge
class JudgeWorker(QObject):
    """Finds or trains (once; a bounded number of minutes) the judge classifier of a dataset.

    ``stepped(fraction, seconds_left)`` reports training at most a few times a second;
    :meth:`cancel` (from any thread) stops it at the next step, and ``finished`` then
    carries ``(None, CANCELLED)``.
    """

    CANCELLED = CANCELLED
    progress = Signal(str)
    stepped = Signal(float, float)
    finished = Signal(object, str)  # judge or None, error message ("" when fine)

    def __init__(self, dataset: object, device: str = "cpu") -> None:
        super().__init__()
        self.dataset = dataset
        self.device = device
        from latentlab.training.control import TrainControl

        self.control = TrainControl()

    def cancel(self) -> None:
        self.control.request_stop()

    @Slot()
    def run(self) -> None:
        from latentlab.training.judges import get_judge

        demote_current_thread()
        try:
            judge = get_judge(self.dataset, self.device, log=self.progress.emit, callbacks=[_JudgeRelay(self)],
                              control=self.control)
            self.finished.emit(judge.cpu().eval(), "")
        except Exception as exc:  # noqa: BLE001 - reported to the GUI
            if self.control.stop_requested:
                self.finished.emit(None, self.CANCELLED)
                return
            if not isinstance(exc, LatentLabError):
                traceback.print_exc(file=sys.stderr)
            self.finished.emit(None, describe_exception(exc))


class _JudgeRelay(TrainingCallback):
    """The judge's training steps -> ``JudgeWorker.stepped``, at most five times a second."""

    def __init__(self, worker: JudgeWorker) -> None:
        self.worker = worker
        self.last = 0.0

    def on_step(self, trainer: Trainer, report: StepReport) -> None:
        now = time.perf_counter()
        if now - self.last >= 0.2 or report.step == report.total_steps:
            self.last = now
            self.worker.stepped.emit(report.progress, report.eta_s)
        time.sleep(0)  # let the GUI thread take the GIL between steps


# ------------------------------------------------------------------ warm-up
class WarmUpWorker(QObject):
    """Runs one tiny training step and imports what a first training run imports.

    The first ``Adam.step`` of a process imports ``torch._dynamo`` (with sympy: ~900
    modules, ~1 s) and the mixture fit imports scikit-learn (~1.4 s). Done at the start of
    a run, in the training thread, that held the GIL and froze the GUI for a second just
    when the lecturer pressed Train; done here, right after the window appears, it costs
    a few hiccups while nobody is interacting yet.
    """

    finished = Signal()

    @Slot()
    def run(self) -> None:
        demote_current_thread()
        try:
            from latentlab.data import ImageDataset, Split
            from latentlab.models.registry import create_model, make_config

            images = torch.rand(8, 1, 28, 28)
            labels = torch.arange(8) % 2
            data = ImageDataset("warm-up", ["a", "b"], Split(images, labels), Split(images, labels))
            model = create_model(make_config("vae", hidden=8, image_shape=[1, 28, 28], num_classes=2))
            Trainer(model, data, TrainSettings(epochs=1, batch_size=4, device="cpu")).fit()
            import sklearn.mixture  # noqa: F401 - fitted after every finished run
            import sklearn.decomposition  # noqa: F401 - the map's PCA (~1 s to import, else on the GUI thread)
        except Exception:  # noqa: BLE001 - a failed warm-up only costs the time it would have saved
            traceback.print_exc(file=sys.stderr)
        self.finished.emit()
