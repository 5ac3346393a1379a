"""The first screen's session: the map of a latentlab.preview model while PyTorch loads.

``PreviewSession`` answers what the explorer asks of a ``Session`` (points, decodes, the
judge's verdict) from NumPy networks, and its jobs compute the territory and the manifold
grid in a lane of their own (``make_models=None``: no PyTorch model cache). The window
holds no ``Session`` meanwhile (``MainWindow.session`` is None), so training, analysis and
saving stay disabled until the real session replaces the preview (startup.py). No
PyTorch is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from latentlab.preview import Preview

from .jobs_base import (
    Emit,
    Job,
    ManifoldImage,
    TerritoryImage,
    image_batch,
    image_for_display,
    territory_rgba,
)
from .map_points import MapPoints


class PreviewSession:
    """A torch-free stand-in for ``Session`` on the map, until the real one arrives."""

    is_preview = True

    def __init__(self, preview: Preview) -> None:
        self.preview = preview
        self.path: Path | None = preview.path
        self.family = preview.family
        self.latent_dim = preview.latent_dim
        self.has_beta = preview.has_beta
        self.class_names = list(preview.class_names)
        self.test_images = preview.test_images
        self.judge = preview.judge  # None: no territory, and the verdict reads "not available"

    def describe(self) -> str:
        return self.preview.describe()

    def map_points(self) -> MapPoints:
        return MapPoints(self.preview.encode_test_set(), self.preview.test_labels.copy(), True)

    def decode(self, z: np.ndarray) -> np.ndarray:
        return self.preview.decode(np.atleast_2d(np.asarray(z, np.float32)))

    def decode_image(self, z: np.ndarray) -> np.ndarray:
        return image_for_display(self.decode(z))

    def judge_image(self, image: np.ndarray) -> tuple[int, float] | None:
        if self.judge is None:
            return None
        cls, conf = self.judge.predict(image_batch(image))
        return int(cls[0]), float(conf[0])

    def territory_job(self, projection: Any, x_range, y_range, colors: np.ndarray,
                      resolutions: tuple[int, ...]) -> PreviewTerritoryJob:
        return PreviewTerritoryJob(self.preview, projection, x_range, y_range, colors, resolutions)

    def manifold_job(self, projection: Any, x_range, y_range, n: int) -> PreviewManifoldJob:
        return PreviewManifoldJob(self.preview, projection, x_range, y_range, n)


#: NumPy runs the judge at about half PyTorch's speed (~0.2 s for 16x16 cells on this
#: 2-core CPU, ~0.8 s for 32x32): the preview paints the coarse stage only, so PyTorch's
#: import (which waits for it) starts sooner; the real session paints the finer ones.
PREVIEW_MAX_RESOLUTION = 16


@dataclass
class PreviewTerritoryJob(Job):
    """jobs.TerritoryJob in NumPy: the judge's class of every cell's decode, coarse to fine."""

    kind = "territory"
    preview: Preview
    projection: Any
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    colors: np.ndarray
    resolutions: tuple[int, ...] = (16,)
    smooth: int = 4

    def run(self, models: None, emit: Emit) -> None:
        for res in self.resolutions:
            if self.cancel.is_set() or res > PREVIEW_MAX_RESOLUTION:
                return
            result = self.preview.territory(self.projection, self.x_range, self.y_range, res)
            emit(TerritoryImage(territory_rgba(result, self.colors, smooth=self.smooth), self.x_range,
                                self.y_range, res))


@dataclass
class PreviewManifoldJob(Job):
    """jobs.ManifoldJob in NumPy: an n x n grid of decodes over a region."""

    kind = "manifold"
    preview: Preview
    projection: Any
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    n: int = 16

    def run(self, models: None, emit: Emit) -> None:
        image = self.preview.manifold(self.projection, self.x_range, self.y_range, self.n)
        emit(ManifoldImage(np.ascontiguousarray(image, np.float32), self.x_range, self.y_range, self.n))
