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

from latentlab.app.jobs_base import (
    CoarseToFineJob,
    Emit,
    Job,
    ManifoldImage,
    TerritoryImage,
    image_batch,
    image_for_display,
    territory_rgba,
)
from latentlab.app.map_points import MapPoints
from latentlab.preview import Preview


#: The loss parts of the families the preview runs (models/*.py ``loss_parts``, which need
#: PyTorch; a test ties the two), so the loss curves are there on the first screen.
LOSS_PARTS = {"ae": ("loss", "recon"), "vae": ("loss", "recon", "kl"), "msvae": ("loss", "recon", "kl", "ce")}


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


class PreviewSession:
    """A torch-free ``ExplorableSession`` (latentlab.app.protocol): ``Session``'s stand-in
    on the map until the real one arrives. It also carries what the window's panels say
    about the model (settings, loss history, metrics, KL per dimension), read from the
    checkpoint's record as ``Session`` reads it, so the first screen shows the values the
    full session will."""

    is_preview = True
    #: The preview runs the bundled data only: it always has its points.
    data_note = ""
    #: The shipped first-screen models are neither conditional nor GANs.
    conditional = False
    condition: int | None = None
    can_discriminate = False

    def __init__(self, preview: Preview) -> None:
        self.preview = preview
        self.path: Path | None = preview.path
        self.family = preview.family
        self.latent_dim = preview.latent_dim
        self.has_beta = preview.has_beta
        self.class_names = list(preview.class_names)
        self.test_images = preview.test_images
        self.judge = preview.judge  # None: no territory, and the verdict reads "not available"
        record = preview.record
        self.config: dict = _dict(record.get("model"))  # the model's settings, as ModelConfig.to_dict()
        self.metrics: dict = _dict(record.get("metrics"))
        history = record.get("history")
        self.history: list = [h for h in history if isinstance(h, dict)] if isinstance(history, list) else []
        self.training: dict = _dict(record.get("training"))
        self.dataset_info: dict = _dict(record.get("dataset"))
        self.loss_parts: tuple[str, ...] = LOSS_PARTS.get(self.family, ("loss",))

    def describe(self) -> str:
        return self.preview.describe()

    @property
    def beta(self) -> float | None:
        beta = self.config.get("beta")
        return float(beta) if isinstance(beta, (int, float)) and self.has_beta else None

    @property
    def epochs_done(self) -> int:
        """As ``Session.epochs_done``: the history's length, else the training settings' epochs."""
        if self.history:
            return len(self.history)
        epochs = self.training.get("epochs")
        return epochs if isinstance(epochs, int) and epochs > 0 else 0

    def kl_per_dim(self) -> list[float] | None:
        values = self.metrics.get("kl_per_dim")
        return [float(v) for v in values] if isinstance(values, list) else None

    def dataset_counts(self) -> tuple[str, int | None, int | None]:
        """The dataset's name and its training and test images, as the record has them."""
        info = self.dataset_info
        train, test = info.get("n_train"), info.get("n_test")
        return (str(info.get("name") or "mnist-5k"), train if isinstance(train, int) else None,
                test if isinstance(test, int) else None)

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
class PreviewTerritoryJob(CoarseToFineJob):
    """jobs.TerritoryJob in NumPy: the judge's class of every cell's decode, coarse to fine."""

    kind = "territory"
    preview: Preview
    projection: Any
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    colors: np.ndarray
    resolutions: tuple[int, ...] = (16,)
    smooth: int = 4

    def paint(self, models: None, resolution: int) -> TerritoryImage | None:
        if resolution > PREVIEW_MAX_RESOLUTION:
            return None
        result = self.preview.territory(self.projection, self.x_range, self.y_range, resolution)
        return TerritoryImage(territory_rgba(result, self.colors, smooth=self.smooth), self.x_range, self.y_range,
                              resolution)


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
