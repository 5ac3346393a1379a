"""What every compute-lane job shares: the ``Job`` base, the results jobs hand to the map
and the decoded view, and how territory images are painted.

NumPy only, no Qt and no PyTorch: the first screen's jobs (preview_session.py, before
PyTorch is loaded) run and paint exactly as the PyTorch jobs in jobs.py do.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from latentlab.app.tasks import TaskState
from latentlab.latent.plane_grid import Territory, upsample_bilinear

#: Territory tint: class colour at this alpha, scaled by the judge's confidence.
TERRITORY_ALPHA = 0.35


def territory_rgba(result: Territory, colors: np.ndarray, alpha: float = TERRITORY_ALPHA,
                   smooth: int = 1) -> np.ndarray:
    """(ny, nx, 4) uint8: the class colour of each cell, alpha = ``alpha`` x confidence.
    A conditional model's territory (``result.requested``) is the requested class's colour
    throughout, as strong as the judge is sure that the cell shows that class.

    ``smooth`` > 1 enlarges the image that many times with bilinear interpolation, so
    the borders between classes read as soft edges rather than blocks on a projector.
    """
    classes = np.clip(result.classes if result.requested is None else np.full_like(result.classes, result.requested),
                      0, len(colors) - 1)
    rgba = np.empty(classes.shape + (4,), np.float32)
    rgba[..., :3] = colors[classes]
    rgba[..., 3] = np.clip(result.confidence, 0.0, 1.0) * (alpha * 255.0)
    if smooth > 1:
        rgba = upsample_bilinear(rgba, smooth)
    return np.clip(rgba + 0.5, 0, 255).astype(np.uint8)


def image_batch(image: np.ndarray) -> np.ndarray:
    """An (H, W) or (H, W, 3) image as a float32 batch of one, (1, C, H, W): what a judge
    classifies (the inverse of ``image_for_display``)."""
    x = np.asarray(image, np.float32)
    return np.ascontiguousarray(x[None, None] if x.ndim == 2 else x.transpose(2, 0, 1)[None])


def image_for_display(images: np.ndarray) -> np.ndarray:
    """(C, H, W) or (N=1, C, H, W) floats -> (H, W) or (H, W, 3) for an ImageItem."""
    img = np.asarray(images, np.float32)
    if img.ndim == 4:
        img = img[0]
    return img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)


@dataclass
class TerritoryImage:
    rgba: np.ndarray
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    resolution: int
    #: What the image shows: "territory" (the judge's class) or "realness" (realness_job.py).
    background: str = "territory"


@dataclass
class ManifoldImage:
    image: np.ndarray  # (n*H, n*W) or (n*H, n*W, 3), top row = highest y
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    n: int


@dataclass
class SampleLabels:
    labels: np.ndarray
    confidence: np.ndarray


Emit = Callable[[Any], None]


@dataclass
class Job(ABC):
    """Base: ``run`` is called in a lane's worker thread with the thread's model cache (see
    ``latentlab.ui.work.tasks.ComputeWorker``) and hands results to ``emit`` (maybe several).
    ``cancel()`` (the lane's newest-wins, from the GUI thread) sets ``cancelled``, which
    ``run`` checks between its steps (the task shape of ``latentlab.app.tasks``)."""

    kind = "job"
    state: TaskState = field(default_factory=TaskState, kw_only=True)

    def cancel(self) -> None:
        self.state.cancel()

    @property
    def cancelled(self) -> bool:
        return self.state.cancelled

    @abstractmethod
    def run(self, models: Any, emit: Emit) -> None:
        """Compute in the worker thread; hand each result to ``emit``; stop early if cancelled."""


class CoarseToFineJob(Job):
    """A map background (the judge's territory, D(G(z)), the preview's territory) painted
    once per entry of the subclass's ``resolutions``, coarsest first, so a first picture
    arrives in a fraction of the full cost; stops between stages when cancelled."""

    resolutions: tuple[int, ...]

    @abstractmethod
    def paint(self, models: Any, resolution: int) -> TerritoryImage | None:
        """The image at this many cells per side, or None to stop before it."""

    def run(self, models: Any, emit: Emit) -> None:
        for resolution in self.resolutions:
            if self.cancelled:
                return
            image = self.paint(models, resolution)
            if image is None:
                return
            emit(image)
