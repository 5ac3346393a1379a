"""Background work of the autoregressive view: sampling and completion pixel by pixel, and
the receptive field of one pixel. No Qt: the jobs run in a ``ComputeLane`` thread
(``latentlab.ui.work.tasks``).

The PixelCNN is loaded from its checkpoint in the lane's thread and kept there (one model
per path): only that thread runs it, so the GUI thread never waits for a forward pass.
A sampling job hands out a ``PixelFrame`` at most every ``FRAME_INTERVAL_S`` seconds (and
after the last pixel); the view draws the newest one on its own timer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from latentlab.errors import ConfigError
from latentlab.models.pixelcnn_sampler import HIDDEN_REGIONS, known_mask  # noqa: F401 - the view's choices

from latentlab.app.jobs_base import Emit, Job

#: Seconds between two frames handed to the GUI while sampling.
FRAME_INTERVAL_S = 0.04

#: path -> (PixelCNN, its dataset's name); touched only by the lane's thread.
_models: dict[str, tuple[object, str]] = {}
_test_images: dict[str, torch.Tensor] = {}  # dataset name -> its test images


def load_pixel_model(path: str | Path):
    """The PixelCNN of ``path``, loaded once per lane thread; ConfigError for any other family."""
    from latentlab.data import DEFAULT_DATASET
    from latentlab.models.checkpoint import load_checkpoint

    key = str(Path(path).resolve())
    if key not in _models:
        ckpt = load_checkpoint(path, device="cpu")
        model = ckpt.model.eval()
        if model.has_latent_space:
            raise ConfigError(f"{Path(path).name} is a {model.family}: the autoregressive view draws models "
                              "that have no latent space (a pixelcnn); open it in the map instead")
        _models[key] = (model, (ckpt.dataset or {}).get("name") or DEFAULT_DATASET)
    return _models[key][0]


def test_image(path: str | Path, index: int) -> np.ndarray:
    """Test image ``index`` (C, H, W) of the dataset the model at ``path`` was trained on."""
    from latentlab.app.session import get_recorded_dataset

    model = load_pixel_model(path)
    name = _models[str(Path(path).resolve())][1]
    if name not in _test_images:
        _test_images[name] = get_recorded_dataset(name, tuple(model.config.image_shape)).test.images
    images = _test_images[name]
    if not 0 <= index < len(images):
        raise ConfigError(f"there is no test image #{index}: the test set has {len(images)} (0 to {len(images) - 1})")
    return images[index].float().numpy()


@dataclass
class PixelFrame:
    """The canvas after ``index`` of ``total`` pixels, and the distribution the last one came from."""

    images: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    index: int
    total: int
    row: int
    col: int
    probabilities: np.ndarray  # (N,) p(pixel on | the pixels before it), per image
    elapsed_s: float
    known: np.ndarray | None = None  # (H, W) for a completion: the pixels that were given
    source: np.ndarray | None = None  # (C, H, W) for a completion: the whole test image

    @property
    def finished(self) -> bool:
        return self.index >= self.total

    @property
    def eta_s(self) -> float:
        return self.elapsed_s / max(self.index, 1) * (self.total - self.index)


@dataclass
class PixelSamplingJob(Job):
    """Draw ``n`` images pixel by pixel; with ``test_index``, complete that test image with
    ``region`` hidden."""

    kind = "pixels"
    path: str
    n: int = 16
    seed: int = 0
    test_index: int | None = None
    region: str = "bottom half"
    frame_interval_s: float = FRAME_INTERVAL_S

    def run(self, models, emit: Emit) -> None:
        from latentlab.models.pixelcnn_sampler import PixelSampler

        model = load_pixel_model(self.path)
        gen = torch.Generator().manual_seed(self.seed)
        known = source = None
        if self.test_index is not None:
            source = test_image(self.path, self.test_index)
            known = known_mask(self.region, tuple(model.config.image_shape[1:]))
            sampler = PixelSampler(model, self.n, start=torch.as_tensor(source), known=known, generator=gen)
        else:
            labels = torch.arange(self.n) % model.config.num_classes if model.config.conditional else None
            sampler = PixelSampler(model, self.n, labels=labels, generator=gen)
        started = time.perf_counter()
        last = [-1.0]

        def on_step(step) -> None:
            now = time.perf_counter()
            if step.index < step.total and now - last[0] < self.frame_interval_s:
                return
            last[0] = now
            emit(PixelFrame(step.images.detach().cpu().numpy().astype(np.float32, copy=True), step.index,
                            step.total, step.row, step.col, step.probabilities[:, 0].cpu().numpy().copy(),
                            now - started, known, source))

        sampler.run(on_step, lambda: self.cancelled)


@dataclass
class ReceptiveField:
    row: int
    col: int
    field: np.ndarray  # (H, W) bool: the pixels the prediction of (row, col) depends on
    before: np.ndarray  # (H, W) bool: the pixels before it in raster order (what it may see)


@dataclass
class ReceptiveFieldJob(Job):
    kind = "field"
    path: str
    row: int
    col: int

    def run(self, models, emit: Emit) -> None:
        from latentlab.models.pixelcnn_sampler import pixels_before, receptive_field

        model = load_pixel_model(self.path)
        shape = tuple(model.config.image_shape)
        emit(ReceptiveField(self.row, self.col, receptive_field(model, self.row, self.col),
                            pixels_before(shape, self.row, self.col)))
