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

import numpy as np
import torch

from latentlab.data import ImageDataset
from latentlab.errors import ConfigError
from latentlab.models.base import LatentModel
from latentlab.training.control import TrainControl
from latentlab.training.device import amp_dtype, resolve_device
from latentlab.training.evaluate import encode_all, evaluate


@dataclass
class TrainSettings:
    epochs: int = 30
    batch_size: int | None = None  # None: the family's default
    lr: float | None = None  # None: the family's default
    seed: int = 0
    device: str = "auto"
    #: Save a checkpoint here every ``autosave_every_s`` seconds (at an epoch end).
    autosave_path: str | None = None
    autosave_every_s: float = 60.0
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
    epochs_done: int
    history: list[dict] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status != "failed"


class TrainingCallback:
    """Override what you need. Called in the training thread, between steps."""

    def on_step(self, trainer: "Trainer", report: StepReport) -> None: ...

    def on_epoch(self, trainer: "Trainer", report: EpochReport) -> None: ...

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
    ) -> None:
        self.settings = settings or TrainSettings()
        self.device = resolve_device(self.settings.device)
        self.model = model.to(self.device)
        self.judge = judge.to(self.device).eval() if judge is not None else None
        self.dataset = dataset
        self.control = control or TrainControl()
        self.callbacks = list(callbacks)
        self.lr = self.settings.lr or model.default_lr
        self.batch_size = self.settings.batch_size or model.default_batch_size
        self.optimizers = model.configure_optimizers(self.lr)
        #: Per-epoch records; continues the checkpoint's history when fine-tuning.
        self.history: list[dict] = list(history or [])
        self.metrics: dict = {}
        self._amp = amp_dtype(self.device) if self.settings.mixed_precision and model.supports_amp else None
        self._good_state = self.snapshot_state()
        self._good_epoch = 0
        self._last_autosave = time.monotonic()
        #: Optional sampling weight per training image (debiasing): see ``_epoch_order``.
        self.sample_weights = _checked_weights(sample_weights, len(dataset.train))

    # ------------------------------------------------------------- for callbacks
    def snapshot_state(self) -> dict[str, torch.Tensor]:
        """A CPU copy of the weights, consistent because it is taken between steps."""
        return {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}

    @torch.no_grad()
    def encode_test(self) -> np.ndarray | None:
        """Latents of the test split (posterior means), or None for a family without encoder."""
        if not self.model.has_encoder:
            return None
        was_training = self.model.training
        self.model.eval()
        try:
            return encode_all(self.model, self._test_x).float().cpu().numpy()
        finally:
            self.model.train(was_training)

    # -------------------------------------------------------------------- loop
    def fit(self) -> TrainResult:
        s = self.settings
        torch.manual_seed(s.seed)
        gen = torch.Generator(device=self.device).manual_seed(s.seed)
        data = self.dataset.to(self.device)
        x_all, y_all = data.train.images, data.train.labels
        self._test_x = data.test.images
        n = len(x_all)
        bs = min(self.batch_size, n)
        steps_per_epoch = max(1, n // bs)
        total = steps_per_epoch * s.epochs
        epoch0 = len(self.history)
        self.model.train()
        start = time.perf_counter()
        step = 0
        result: TrainResult | None = None
        for epoch in range(1, s.epochs + 1):
            perm = self._epoch_order(n, gen)
            epoch_sums: dict[str, torch.Tensor] = {}
            window: list[dict[str, torch.Tensor]] = []
            window_start = time.perf_counter()
            done_in_epoch = 0
            for i in range(steps_per_epoch):
                self.control.wait_while_paused()
                if self.control.stop_requested:
                    break
                self._apply_live_settings()
                idx = perm[i * bs : (i + 1) * bs]
                step += 1
                with torch.autocast(self.device.type, dtype=self._amp, enabled=self._amp is not None):
                    parts = self.model.train_step(x_all[idx], y_all[idx], self.optimizers, step)
                window.append(parts)
                done_in_epoch += 1
                if step % s.report_every_steps == 0 or i == steps_per_epoch - 1:
                    means = _mean_parts(window)
                    for k, v in means.items():
                        epoch_sums[k] = epoch_sums.get(k, 0.0) + v * len(window)
                    bad = {k: v for k, v in means.items() if not math.isfinite(v)}
                    if bad:
                        result = self._fail_non_finite(epoch0 + epoch, step, bad)
                        break
                    elapsed = time.perf_counter() - start
                    rate = len(window) * bs / max(time.perf_counter() - window_start, 1e-9)
                    report = StepReport(epoch, s.epochs, step, total, means, rate, elapsed,
                                        elapsed / step * (total - step))
                    window, window_start = [], time.perf_counter()
                    for cb in self.callbacks:
                        cb.on_step(self, report)
            if result is not None:
                break
            if done_in_epoch == 0:  # stopped before this epoch did anything
                break
            losses = {k: v / done_in_epoch for k, v in epoch_sums.items()}
            last = epoch == s.epochs or self.control.stop_requested
            metrics = {}
            if last or (s.evaluate_every and epoch % s.evaluate_every == 0):
                # The judge's metrics cost more than the rest together: only at the end.
                metrics = evaluate(self.model, data, judge=self.judge if last else None, sample_metrics=last)
                self.metrics = metrics
            record = {"epoch": epoch0 + epoch, **{f"train_{k}": v for k, v in losses.items()},
                      **{k: v for k, v in metrics.items() if not isinstance(v, list)}}
            self.history.append(record)
            self._good_state, self._good_epoch = self.snapshot_state(), epoch0 + epoch
            elapsed = time.perf_counter() - start
            report = EpochReport(epoch, s.epochs, losses, metrics, self.encode_test(),
                                 self.dataset.test.labels.numpy(), elapsed, elapsed / step * (total - step))
            for cb in self.callbacks:
                cb.on_epoch(self, report)
            self._maybe_autosave()
            if self.control.stop_requested:
                break
        self.model.eval()
        if result is None:
            epochs_done = len(self.history) - epoch0
            if self.control.stop_requested:
                result = TrainResult("stopped", f"stopped after {epochs_done} of {s.epochs} epochs",
                                     epochs_done, self.history, self.metrics)
            else:
                result = TrainResult("finished", f"trained {epochs_done} epochs", epochs_done,
                                     self.history, self.metrics)
        for cb in self.callbacks:
            cb.on_end(self, result)
        return result

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
        what = ", ".join(f"{k} = {v}" for k, v in bad.items())
        kept = f"the end of epoch {self._good_epoch}" if self._good_epoch else "their state before training"
        message = (
            f"Training stopped in epoch {epoch} (step {step}): the loss became non-finite ({what}). "
            f"The weights were restored to {kept}. Lower the learning rate (now {self.lr:g})"
            + (f" or beta (now {self.model.config.beta:g})" if self.model.has_beta else "")
            + " and train again."
        )
        return TrainResult("failed", message, len(self.history), self.history, self.metrics)

    def _maybe_autosave(self) -> None:
        path = self.settings.autosave_path
        if not path:
            return
        now = time.monotonic()
        if now - self._last_autosave >= self.settings.autosave_every_s:
            self.save(path)
            self._last_autosave = now

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint atomically, with history, metrics and optimiser state."""
        from latentlab.models.checkpoint import save_checkpoint

        return save_checkpoint(
            path, self.model, dataset=self.dataset.info(), metrics=self.metrics,
            history=self.history, training=self.settings.to_dict(), optimizers=self.optimizers,
        )


def _checked_weights(weights: torch.Tensor | None, n: int) -> torch.Tensor | None:
    if weights is None:
        return None
    weights = torch.as_tensor(weights, dtype=torch.float32).flatten()
    if len(weights) != n or not torch.isfinite(weights).all() or (weights < 0).any() or not weights.sum() > 0:
        raise ConfigError(f"sampling weights must be {n} finite numbers >= 0 (one per training image), "
                          "not all zero")
    return weights


def _mean_parts(window: list[dict[str, torch.Tensor]]) -> dict[str, float]:
    keys = window[0].keys()
    stacked = torch.stack([torch.stack([w[k].float() for k in keys]) for w in window]).mean(0)
    return dict(zip(keys, stacked.tolist()))
