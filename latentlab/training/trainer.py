"""A plain torch training loop with callbacks, shared by the CLI and the window's worker.

It knows nothing of Qt. The whole training split sits as one tensor on the training
device and is batched with ``randperm``: no DataLoader, no worker processes, no copies
per batch. Losses stay on the device between reports, so a GPU is not synchronised on
every step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from latentlab.data import ImageDataset
from latentlab.errors import ConfigError
from latentlab.models.base import LatentModel
from latentlab.training.control import TrainControl
from latentlab.training.device import amp_dtype, resolve_device
from latentlab.training.evaluate import evaluate, latent_stats_all
from latentlab.training.progress import describe_position, epochs_trained

if TYPE_CHECKING:
    from latentlab.training.distributed import DistContext


@dataclass
class TrainSettings:
    epochs: int = 30
    batch_size: int | None = None  # None: the family's default
    lr: float | None = None  # None: the family's default
    seed: int = 0
    device: str = "auto"
    #: Save a checkpoint here every ``autosave_every_s`` seconds (checked between steps)
    #: and/or every ``autosave_every_epochs`` epochs; a failed autosave is reported to the
    #: callbacks (``on_autosave``) and training goes on.
    autosave_path: str | None = None
    autosave_every_s: float | None = 60.0
    autosave_every_epochs: int | None = None
    #: Step callbacks fire every this many steps (and losses are checked for NaN).
    report_every_steps: int = 10
    #: Evaluate on the test split every N epochs (and always after the last).
    evaluate_every: int = 1
    #: bfloat16 autocast on CUDA for families where it is safe.
    mixed_precision: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ConfigError(f"epochs must be a whole number >= 1, got {self.epochs!r}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ConfigError(f"batch size must be >= 1, got {self.batch_size!r}")
        if self.lr is not None and not 0 < self.lr < 10:
            raise ConfigError(f"learning rate must be in (0, 10), got {self.lr!r}")
        if self.autosave_every_s is not None and not self.autosave_every_s >= 0:
            raise ConfigError(f"the autosave interval must be >= 0 seconds, got {self.autosave_every_s!r}")
        if self.autosave_every_epochs is not None and not (
            isinstance(self.autosave_every_epochs, int) and self.autosave_every_epochs >= 1
        ):
            raise ConfigError(f"autosave every N epochs needs a whole N >= 1, got {self.autosave_every_epochs!r}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class StepReport:
    epoch: int  # 1-based
    epochs: int
    step: int  # global, 1-based
    total_steps: int
    losses: dict[str, float]  # means over the steps since the last report
    images_per_s: float
    elapsed_s: float
    eta_s: float

    @property
    def progress(self) -> float:
        return self.step / self.total_steps


@dataclass
class EpochReport:
    epoch: int
    epochs: int
    losses: dict[str, float]  # means over the epoch
    metrics: dict  # test-split metrics (empty on epochs that were not evaluated)
    latents: np.ndarray | None  # test-set latents (posterior means), for families with an encoder
    labels: np.ndarray
    elapsed_s: float
    eta_s: float


@dataclass
class TrainResult:
    status: str  # "finished", "stopped" or "failed"
    message: str
    epochs_done: int  # whole epochs of this run
    history: list[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    #: Where the weights are: (epoch, steps done in it, steps per epoch); epoch counts the
    #: history the run continued. (0, 0, n) before the first step.
    position: tuple[int, int, int] = (0, 0, 0)

    @property
    def ok(self) -> bool:
        return self.status != "failed"


class TrainingCallback:
    """Override what you need. Called in the training thread, between steps."""

    def on_step(self, trainer: "Trainer", report: StepReport) -> None: ...

    def on_epoch(self, trainer: "Trainer", report: EpochReport) -> None: ...

    def on_autosave(self, trainer: "Trainer", path: Path | None, error: str | None) -> None:
        """An autosave wrote ``path``, or failed with ``error`` (training goes on)."""

    def on_end(self, trainer: "Trainer", result: TrainResult) -> None: ...


class Trainer:
    def __init__(
        self,
        model: LatentModel,
        dataset: ImageDataset,
        settings: TrainSettings | None = None,
        *,
        control: TrainControl | None = None,
        callbacks: Sequence[TrainingCallback] = (),
        judge: LatentModel | None = None,
        history: list[dict] | None = None,
        sample_weights: torch.Tensor | None = None,
        distributed: DistContext | None = None,
    ) -> None:
        self.settings = settings or TrainSettings()
        #: Under torchrun (training/distributed.py): this rank's place; None in one process.
        self.distributed = distributed
        self.device = distributed.device if distributed else resolve_device(self.settings.device)
        self.model = model.to(self.device)
        self.judge = judge.to(self.device).eval() if judge is not None else None
        self.dataset = dataset
        self.control = control or TrainControl()
        self.callbacks = list(callbacks)
        self.lr = self.settings.lr or model.default_lr
        self.batch_size = self.settings.batch_size or model.default_batch_size
        self.optimizers = model.configure_optimizers(self.lr)
        self._train_step = model.train_step
        if distributed is not None:
            from latentlab.training.distributed import attach

            self._train_step, self.control = attach(model, self.optimizers, self.control, self.batch_size, distributed)
        #: Per-epoch records; continues the checkpoint's history when fine-tuning.
        self.history: list[dict] = list(history or [])
        self.metrics: dict = {}
        self._amp = amp_dtype(self.device) if self.settings.mixed_precision and model.supports_amp else None
        self._good_state = self.snapshot_state()
        self._good_epoch = 0
        self._last_autosave = time.monotonic()
        #: Optional sampling weight per training image (debiasing): see ``_epoch_order``.
        self.sample_weights = _checked_weights(sample_weights, len(dataset.train))
        #: "running" while fit runs, then the result's status; saved with the checkpoint.
        self.status = "new"
        #: (epoch, steps done in it, steps per epoch): what the model's weights have seen.
        self.position: tuple[int, int, int] = (len(self.history), 0, 0)
        self._partial: dict | None = None  # the record of the epoch in progress (losses so far)
        self._epochs_at_start = round(epochs_trained(self.history), 4)  # of the history it continues

    @property
    def is_main(self) -> bool:
        """True in a single process and on rank 0: the one that evaluates and saves."""
        return self.distributed is None or self.distributed.is_main

    # ------------------------------------------------------------- for callbacks
    def snapshot_state(self) -> dict[str, torch.Tensor]:
        """A CPU copy of the weights, consistent because it is taken between steps."""
        return {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}

    @torch.no_grad()
    def encode_test(self) -> np.ndarray | None:
        """Latents of the test split (posterior means), or None for a family without encoder."""
        return self.test_latent_stats()[0]

    @torch.no_grad()
    def test_latent_stats(self) -> tuple[np.ndarray | None, list[float] | None]:
        """(test-split latents, their mean KL per latent dimension): what the map and the KL
        bars show while training; (None, None) without an encoder, KL None without a prior.
        A conditional model encodes each test image under its label."""
        if not self.model.has_encoder:
            return None, None
        was_training = self.model.training
        self.model.eval()
        try:
            z, kl = latent_stats_all(self.model, self._test_x, self._test_y)
        finally:
            self.model.train(was_training)
        return z.float().cpu().numpy(), None if kl is None else kl.float().cpu().tolist()

    # -------------------------------------------------------------------- loop
    def fit(self) -> TrainResult:
        """Train ``settings.epochs`` epochs, or until stopped or the loss is not finite.

        A stop is honoured between two steps, so the weights are always those after a
        whole optimiser step; a stop in the middle of an epoch records that epoch as
        partial (``epoch_fraction`` in its history entry). Only a run that finishes is
        evaluated with the judge: a stopped one gets its (quick) test-split metrics.
        """
        s = self.settings
        rank = self.distributed.rank if self.distributed else 0
        torch.manual_seed(s.seed + rank)  # the model's own draws differ per rank; the batches do not
        gen = torch.Generator(device=self.device).manual_seed(s.seed)
        self.status = "running"
        data = self.dataset.to(self.device)
        x_all, y_all = data.train.images, data.train.labels
        self._test_x, self._test_y = data.test.images, data.test.labels
        n = len(x_all)
        bs = min(self.batch_size, n)
        steps_per_epoch = max(1, n // bs)
        total = steps_per_epoch * s.epochs
        epoch0 = len(self.history)
        self.position = (epoch0, 0, steps_per_epoch)
        self.model.train()
        start = time.perf_counter()
        step = 0
        result: TrainResult | None = None
        for epoch in range(1, s.epochs + 1):
            if self.control.stop_requested:
                break
            perm = self._epoch_order(n, gen)
            if self.distributed:
                self.distributed.agree_on(perm)  # every rank shards the very same batches
            sums = _EpochSums()
            window: list[dict[str, torch.Tensor]] = []
            window_start = time.perf_counter()
            done_in_epoch = 0
            for i in range(steps_per_epoch):
                self.control.wait_while_paused()
                if self.control.stop_requested:
                    break
                self._apply_live_settings()
                idx = perm[i * bs : (i + 1) * bs]
                if self.distributed:
                    idx = self.distributed.shard(idx)
                step += 1
                with torch.autocast(self.device.type, dtype=self._amp, enabled=self._amp is not None):
                    parts = self._train_step(x_all[idx], y_all[idx], self.optimizers, step)
                window.append(parts)
                done_in_epoch += 1
                self.position = (epoch0 + epoch, done_in_epoch, steps_per_epoch)
                if step % s.report_every_steps == 0 or i == steps_per_epoch - 1:
                    means = sums.add(window)
                    bad = {k: v for k, v in means.items() if not math.isfinite(v)}
                    if bad:
                        result = self._fail_non_finite(epoch0 + epoch, step, bad)
                        break
                    elapsed = time.perf_counter() - start
                    rate = len(window) * bs / max(time.perf_counter() - window_start, 1e-9)
                    report = StepReport(epoch, s.epochs, step, total, means, rate, elapsed,
                                        elapsed / step * (total - step))
                    window, window_start = [], time.perf_counter()
                    if done_in_epoch < steps_per_epoch:  # what a save now records for this epoch
                        self._partial = sums.record(epoch0 + epoch, done_in_epoch / steps_per_epoch)
                    for cb in self.callbacks:
                        cb.on_step(self, report)
                    if done_in_epoch < steps_per_epoch:
                        self._maybe_autosave(epoch_ended=False)
            if result is None and window:  # stopped between two reports: count those steps too
                bad = {k: v for k, v in sums.add(window).items() if not math.isfinite(v)}
                if bad:
                    result = self._fail_non_finite(epoch0 + epoch, step, bad)
            self._partial = None
            if result is not None or done_in_epoch == 0:  # failed, or stopped before this epoch did anything
                break
            complete = done_in_epoch == steps_per_epoch
            finished = complete and epoch == s.epochs
            metrics = {}
            if self.is_main and (finished or self.control.stop_requested
                                 or (s.evaluate_every and epoch % s.evaluate_every == 0)):
                # The judge's metrics cost more than the rest together: only at the end of the run.
                # Evaluation draws from a forked random stream, so training's draws do not depend
                # on when, or on which rank (under torchrun only rank 0), it runs.
                with torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else []):
                    metrics = evaluate(self.model, data, judge=self.judge if finished else None,
                                       sample_metrics=finished)
                self.metrics = metrics
            record = sums.record(epoch0 + epoch, None if complete else done_in_epoch / steps_per_epoch)
            record.update({k: v for k, v in metrics.items() if not isinstance(v, list)})
            self.history.append(record)
            self._good_state, self._good_epoch = self.snapshot_state(), epoch0 + epoch
            elapsed = time.perf_counter() - start
            report = EpochReport(epoch, s.epochs, sums.means(), metrics, self.encode_test(),
                                 self.dataset.test.labels.numpy(), elapsed, elapsed / step * (total - step))
            for cb in self.callbacks:
                cb.on_epoch(self, report)
            if self.control.stop_requested:
                break
            self._maybe_autosave(epoch_ended=True)
        self.model.eval()
        if result is None:
            result = self._ended(epoch0)
        self.status = result.status
        for cb in self.callbacks:
            cb.on_end(self, result)
        return result

    def _ended(self, epoch0: int) -> TrainResult:
        s = self.settings
        whole = sum(1 for r in self.history[epoch0:] if "epoch_fraction" not in r)
        if self.control.stop_requested:
            status, message = "stopped", f"stopped {describe_position(self.position)}"
            if whole < s.epochs:
                message += f" ({epochs_trained(self.history[epoch0:]):.2f} of {s.epochs} epochs of this run)"
        else:
            status, message = "finished", f"trained {whole} epochs"
        return TrainResult(status, message, whole, self.history, self.metrics, self.position)

    # ---------------------------------------------------------------- helpers
    def _epoch_order(self, n: int, gen: torch.Generator) -> torch.Tensor:
        """The training images of one epoch, in order: a permutation, or with ``sample_weights``
        n draws with replacement in proportion to the weights (an epoch is still n images)."""
        if self.sample_weights is None:
            return torch.randperm(n, device=self.device, generator=gen)
        return torch.multinomial(self.sample_weights.to(self.device), n, replacement=True, generator=gen)

    def _apply_live_settings(self) -> None:
        beta, lr = self.control.beta, self.control.lr
        if beta is not None and self.model.has_beta and beta != self.model.config.beta:
            self.model.set_beta(beta)
        if lr is not None and lr != self.lr:
            self.lr = lr
            for opt in self.optimizers:
                for group in opt.param_groups:
                    group["lr"] = lr

    def _fail_non_finite(self, epoch: int, step: int, bad: dict[str, float]) -> TrainResult:
        self.model.load_state_dict(self._good_state)
        self.position = (len(self.history), 0, self.position[2])
        what = ", ".join(f"{k} = {v}" for k, v in bad.items())
        kept = f"the end of epoch {self._good_epoch}" if self._good_epoch else "their state before training"
        message = (
            f"Training stopped in epoch {epoch} (step {step}): the loss became non-finite ({what}). "
            f"The weights were restored to {kept}. Lower the learning rate (now {self.lr:g})"
            + (f" or beta (now {self.model.config.beta:g})" if self.model.has_beta else "")
            + " and train again."
        )
        return TrainResult("failed", message, len(self.history), self.history, self.metrics, self.position)

    def _maybe_autosave(self, *, epoch_ended: bool) -> None:
        s = self.settings
        if not s.autosave_path or not self.is_main:
            return
        now = time.monotonic()
        due = s.autosave_every_s is not None and now - self._last_autosave >= s.autosave_every_s
        if epoch_ended and s.autosave_every_epochs:
            due = due or self.position[0] % s.autosave_every_epochs == 0
        if not due:
            return
        self._last_autosave = now
        from latentlab.errors import LatentLabError

        try:
            written, error = self.save(s.autosave_path), None
        except LatentLabError as exc:  # a full disk must not end hours of training: retried next time
            written, error = None, str(exc)
        for cb in self.callbacks:
            hook = getattr(cb, "on_autosave", None)  # callbacks written before autosave reports lack it
            if hook is not None:
                hook(self, written, error)

    def training_record(self) -> dict:
        """What a checkpoint stores under "training": the settings, the status of the run
        ("running" for an autosave), ``epochs_trained`` in all (fractional after a stop) and
        ``epochs_at_start`` (what the history it continued had)."""
        return {**self.settings.to_dict(), "status": self.status, "epochs_at_start": self._epochs_at_start,
                "epochs_trained": round(epochs_trained(self.saved_history()), 4)}

    def saved_history(self) -> list[dict]:
        """The history, with the epoch in progress as a partial entry when saved mid-epoch."""
        return self.history + ([self._partial] if self._partial is not None else [])

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint atomically, with history, metrics and optimiser state.

        Between two steps (from a callback, an autosave, or after ``fit``) the weights
        are those after a whole step, and the history says how far they got."""
        from latentlab.models.checkpoint import save_checkpoint

        return save_checkpoint(
            path, self.model, dataset=self.dataset.info(), metrics=self.metrics,
            history=self.saved_history(), training=self.training_record(), optimizers=self.optimizers,
        )


def _checked_weights(weights: torch.Tensor | None, n: int) -> torch.Tensor | None:
    if weights is None:
        return None
    weights = torch.as_tensor(weights, dtype=torch.float32).flatten()
    if len(weights) != n or not torch.isfinite(weights).all() or (weights < 0).any() or not weights.sum() > 0:
        raise ConfigError(f"sampling weights must be {n} finite numbers >= 0 (one per training image), "
                          "not all zero")
    return weights


class _EpochSums:
    """Running sums of one epoch's step losses (kept on the device until a report)."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.steps = 0

    def add(self, window: list[dict[str, torch.Tensor]]) -> dict[str, float]:
        """Add a window of steps; returns the window's means."""
        means = _mean_parts(window)
        for k, v in means.items():
            self.sums[k] = self.sums.get(k, 0.0) + v * len(window)
        self.steps += len(window)
        return means

    def means(self) -> dict[str, float]:
        return {k: v / max(self.steps, 1) for k, v in self.sums.items()}

    def record(self, epoch: int, fraction: float | None) -> dict:
        """A history entry: the epoch number, its mean losses and, when partial, its fraction."""
        record: dict = {"epoch": epoch}
        if fraction is not None:
            record["epoch_fraction"] = round(fraction, 4)
        record.update({f"train_{k}": v for k, v in self.means().items()})
        return record


def _mean_parts(window: list[dict[str, torch.Tensor]]) -> dict[str, float]:
    keys = window[0].keys()
    stacked = torch.stack([torch.stack([w[k].float() for k in keys]) for w in window]).mean(0)
    return dict(zip(keys, stacked.tolist()))
