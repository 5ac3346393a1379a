"""The window's training, judge and warm-up work as plain functions of a TaskState.

Each runs in a worker thread (``latentlab.ui.work.tasks.Task``) and reports through the
one background shape (``latentlab.app.tasks``): training hands its step reports, weight
snapshots and epoch summaries to ``state.set_partial_result`` and returns a
``TrainOutcome``; the judge reports its progress and returns the classifier; the
warm-up returns nothing. Partial results carry CPU numpy arrays and CPU state dicts,
never tensors the optimizer is changing.

Threads and cores: a training run started from the window sets torch's intra-op thread
count to ``training_threads()`` (all cores but one; on a 2-core machine: 1), so one core
stays free for the GUI and the territory worker (``AppCaches.threads``). Worker threads
keep the GUI thread's nice level (``ui.work.runtime.WORKER_NICENESS``): demoted, a worker
holding the GIL was descheduled on a busy machine and the GUI thread waited for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from latentlab.app.jobs import ModelSnapshot
from latentlab.app.tasks import SNAPSHOTS_PER_S, TaskState
from latentlab.training.finish import finish_training
from latentlab.training.trainer import EpochReport, StepReport, Trainer, TrainingCallback, TrainSettings


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
    control: object  # latentlab.training.control.TrainControl: pause, β, stop
    history: list[dict]
    snapshots_per_s: float = SNAPSHOTS_PER_S
    fit_mixture: bool = True


class _Relay(TrainingCallback):
    """Trainer callbacks (in the training thread) -> throttled partial results."""

    def __init__(self, job: TrainingJob, state: TaskState, epoch0: int) -> None:
        self.job = job
        self.state = state
        self.epoch0 = epoch0
        self.interval = 1.0 / max(job.snapshots_per_s, 1e-3)
        self.last_snapshot = 0.0

    def on_step(self, trainer: Trainer, report: StepReport) -> None:
        self.state.set_partial_result(report)
        now = time.perf_counter()
        if now - self.last_snapshot >= self.interval:
            self.last_snapshot = now
            epochs_done = self.epoch0 + report.step / (report.total_steps / report.epochs)
            self.state.set_partial_result(self.snapshot(trainer, epochs_done, report.step))
        time.sleep(0)  # let the GUI thread take the GIL between steps

    def on_epoch(self, trainer: Trainer, report: EpochReport) -> None:
        epoch = self.epoch0 + report.epoch
        self.state.set_partial_result(EpochSummary(dict(trainer.history[-1]), dict(report.metrics), epoch))
        self.last_snapshot = time.perf_counter()
        self.state.set_partial_result(self.snapshot(trainer, float(epoch), -1))

    def snapshot(self, trainer: Trainer, epoch: float, step: int) -> TrainingSnapshot:
        """Weights and test latents, consistent: taken between two optimizer steps."""
        model = trainer.model
        state = ModelSnapshot.from_state(model.config.to_dict(), trainer.snapshot_state())
        latents, kl = self.encode(trainer)
        return TrainingSnapshot(state, latents, kl, epoch, step)

    @torch.no_grad()
    def encode(self, trainer: Trainer) -> tuple[np.ndarray | None, list[float] | None]:
        """Test latents and, for a model with a prior, the mean KL per dimension: the model
        says (``latent_stats``; a conditional model encodes under the labels)."""
        return trainer.test_latent_stats()


def run_training(job: TrainingJob, state: TaskState) -> TrainOutcome:
    """One ``Trainer.fit`` with the job's control (``state.cancel()`` stops it at the next
    step); a finished VAE-family run also fits its latent mixture. The final weights
    (restored ones after a NaN) are the last partial result."""
    relay = _Relay(job, state, epoch0=len(job.history))
    trainer = Trainer(job.model, job.dataset, job.settings, control=job.control,
                      callbacks=[relay], history=job.history)
    result = trainer.fit()
    # The end every run has (the CLI's too): the sampling mixture. Without a judge: its
    # figures cost ~4 s of CPU after the last epoch, which the window would have to
    # show as a stage of its own (not done yet).
    finish_training(trainer, result.status, fit_mixture=job.fit_mixture and result.status == "finished")
    final = relay.snapshot(trainer, float(len(trainer.history)), -1)
    state.set_partial_result(final)  # even when stopped: the weights the run ends with
    return TrainOutcome(result.status, result.message, list(trainer.history), dict(trainer.metrics),
                        training=trainer.training_record())


# --------------------------------------------------------------------- judge
class _JudgeRelay(TrainingCallback):
    """The judge's training steps -> ``state.set_progress``, at most five times a second."""

    def __init__(self, state: TaskState) -> None:
        self.state = state
        self.last = 0.0

    def on_step(self, trainer: Trainer, report: StepReport) -> None:
        now = time.perf_counter()
        if now - self.last >= 0.2 or report.step == report.total_steps:
            self.last = now
            self.state.set_progress(report.progress, "", report.eta_s)
        time.sleep(0)  # let the GUI thread take the GIL between steps


def train_judge(dataset, state: TaskState, device: str = "cpu"):
    """Find or train (once; a bounded number of minutes) the judge classifier of
    ``dataset``; CPU, eval mode. ``state.cancel()`` stops it at the next step."""
    from latentlab.training.control import TrainControl
    from latentlab.training.judges import get_judge

    control = TrainControl()
    state.on_cancel(control.request_stop)
    judge = get_judge(dataset, device, log=lambda message: state.set_progress(None, message),
                      callbacks=[_JudgeRelay(state)], control=control)
    state.check()
    return judge.cpu().eval()


# ------------------------------------------------------------------ warm-up
def warm_up(state: TaskState) -> None:
    """Run one tiny training step and import what a first training run imports.

    The first ``Adam.step`` of a process imports ``torch._dynamo`` (with sympy: ~900
    modules, ~1 s) and the mixture fit imports scikit-learn (~1.4 s). Done at the start of
    a run, in the training thread, that held the GIL and froze the GUI for a second just
    when the lecturer pressed Train; done here, right after the window appears, it costs
    a few hiccups while nobody is interacting yet.
    """
    from latentlab.data import ImageDataset, Split
    from latentlab.models.registry import create_model, make_config

    images = torch.rand(8, 1, 28, 28)
    labels = torch.arange(8) % 2
    data = ImageDataset("warm-up", ["a", "b"], Split(images, labels), Split(images, labels))
    model = create_model(make_config("vae", hidden=8, image_shape=[1, 28, 28], num_classes=2))
    Trainer(model, data, TrainSettings(epochs=1, batch_size=4, device="cpu")).fit()
    state.check()
    import sklearn.mixture  # noqa: F401 - fitted after every finished run
    import sklearn.decomposition  # noqa: F401 - the map's PCA (~1 s to import, else on the GUI thread)
