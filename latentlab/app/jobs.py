"""Computations that run off the GUI thread, and the weight snapshots they read.

Nothing here imports Qt: a job is plain data plus a ``run`` method that a worker thread
calls (see ``threads.ComputeWorker``). Jobs never touch the model the optimizer is
changing: they carry a ``ModelSnapshot`` (CPU tensors that nobody modifies after they
are made) and decode with the worker's own model copy, rebuilt from the snapshot when
its version changes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from latentlab.app.jobs_base import (  # noqa: F401 - re-exported
    TERRITORY_ALPHA,
    CoarseToFineJob,
    Emit,
    Job,
    ManifoldImage,
    SampleLabels,
    TerritoryImage,
    image_batch,
    image_for_display,
    territory_rgba,
)
from latentlab.latent.territory import decode_latents, manifold, territory
from latentlab.models.base import LatentModel
from latentlab.models.registry import config_from_dict, create_model

_versions = itertools.count(1)


@dataclass(frozen=True)
class ModelSnapshot:
    """The weights of a model at one moment, on the CPU. Never modified after creation."""

    config: dict
    state: dict[str, torch.Tensor]
    version: int

    @classmethod
    def of(cls, model: LatentModel) -> ModelSnapshot:
        """A snapshot of ``model`` (copies its weights); call only where no optimizer runs on it."""
        state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        return cls(model.config.to_dict(), state, next(_versions))

    @classmethod
    def from_state(cls, config: dict, state: dict[str, torch.Tensor]) -> ModelSnapshot:
        """Wrap a state dict that is already a private CPU copy (e.g. ``Trainer.snapshot_state()``)."""
        return cls(config, state, next(_versions))


def build_model(snapshot: ModelSnapshot) -> LatentModel:
    """A fresh CPU model in eval mode holding the snapshot's weights."""
    model = create_model(config_from_dict(snapshot.config))
    model.load_state_dict(snapshot.state)
    return model.eval()


class ModelCache:
    """A worker thread's own model copy, reloaded only when a newer snapshot arrives."""

    def __init__(self) -> None:
        self._model: LatentModel | None = None
        self._config: dict | None = None
        self._version: int | None = None

    def get(self, snapshot: ModelSnapshot) -> LatentModel:
        if self._model is None or self._config != snapshot.config:
            self._model = build_model(snapshot)
            self._config, self._version = snapshot.config, snapshot.version
        elif self._version != snapshot.version:
            self._model.load_state_dict(snapshot.state)
            self._version = snapshot.version
        return self._model


# ------------------------------------------------------------------------- jobs
@dataclass
class TerritoryJob(CoarseToFineJob):
    """The judge's class of the decode of every cell of a region, coarse to fine."""

    kind = "territory"
    snapshot: ModelSnapshot
    judge: LatentModel
    projection: Any
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    colors: np.ndarray
    resolutions: tuple[int, ...] = (16, 32, 48)
    smooth: int = 4
    #: A conditional model's class: every cell is decoded under it, and coloured by how
    #: sure the judge is that it shows that class.
    condition: int | None = None

    def paint(self, models: ModelCache, resolution: int) -> TerritoryImage:
        model = models.get(self.snapshot)  # outside inference mode: its weights are updated in place later
        with torch.inference_mode():
            result = territory(model, self.judge, self.projection, self.x_range, self.y_range,
                               resolution, requested=self.condition)
        return TerritoryImage(territory_rgba(result, self.colors, smooth=self.smooth), self.x_range, self.y_range,
                              resolution)


@dataclass
class ManifoldJob(Job):
    """An n x n grid of decodes over a region: one batched forward pass."""

    kind = "manifold"
    snapshot: ModelSnapshot
    projection: Any
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    n: int = 16
    condition: int | None = None  # a conditional model's class

    def run(self, models: ModelCache, emit: Emit) -> None:
        model = models.get(self.snapshot)
        with torch.inference_mode():
            image = manifold(model, self.projection, self.x_range, self.y_range, self.n, self.condition)
        emit(ManifoldImage(np.ascontiguousarray(image, np.float32), self.x_range, self.y_range, self.n))


#: A first colouring of a GAN's samples labels this many of them, then doubles the batch:
#: 2,000 samples cost the judge ~1.5 s of CPU, so the dots colour in as it works.
FIRST_LABEL_BATCH = 250


@dataclass
class SampleLabelsJob(Job):
    """The judge's class of G(z) for fixed latent points: colours a GAN's map.

    With ``previous`` labels that are all known (a training run's refresh) it emits once,
    at the end. Otherwise (the first colouring) it emits after every batch, the samples
    not judged yet keeping their previous label (-1: grey), so the dots colour in as the
    judge works rather than all at once after seconds.
    """

    kind = "sample_labels"
    snapshot: ModelSnapshot
    judge: LatentModel
    latents: np.ndarray
    previous: np.ndarray | None = None

    def run(self, models: ModelCache, emit: Emit) -> None:
        model = models.get(self.snapshot)
        n = len(self.latents)
        labels = np.full(n, -1, np.int64) if self.previous is None else np.array(self.previous, np.int64)
        confidence = np.zeros(n, np.float32)
        progressive = bool(np.any(labels < 0))
        start, batch = 0, FIRST_LABEL_BATCH if progressive else n
        while start < n:
            if self.cancelled:
                return
            stop = min(n, start + batch)
            with torch.inference_mode():
                images = decode_latents(model, self.latents[start:stop])
                c, p = self.judge.predict(images.to(self.judge.device))
            labels[start:stop] = c.cpu().numpy()
            confidence[start:stop] = p.cpu().numpy()
            start, batch = stop, batch * 2
            if progressive or start >= n:
                emit(SampleLabels(labels.copy(), confidence.copy()))
