"""Analysis work for the window's compute lane: decode and judge a path, rank outliers.

Like ``jobs.py`` this imports no Qt: a job carries a ``ModelSnapshot`` (never the model
a training run is changing) and runs in a worker thread with that thread's model copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from latentlab.app.jobs import Emit, Job, ModelCache, ModelSnapshot
from latentlab.app.tasks import Cancelled, TaskState
from latentlab.data import DEFAULT_DATASET
from latentlab.errors import ConfigError
from latentlab.latent.compare import MAX_MODELS, StripSet, encode_for_path, path_strip
from latentlab.latent.conditional import class_path_strip, latent_of
from latentlab.latent.inversion import InversionStopped
from latentlab.latent.outliers import OutlierRanking, rank_outliers
from latentlab.latent.path_metrics import PathMetrics, judge_frames, path_metrics
from latentlab.latent.paths import interpolate, typical_indices
from latentlab.latent.territory import decode_latents
from latentlab.models.base import LatentModel


@dataclass
class PathResult:
    """A decoded path: its latents, frames and (with a judge) classes and metrics."""

    latents: np.ndarray  # (N, D) float32
    frames: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    classes: np.ndarray | None  # (N,) int64, None without a judge
    confidences: np.ndarray | None  # (N,) float32
    metrics: PathMetrics | None
    description: str  # e.g. "class 3 → class 8, straight, 12 frames"


@dataclass
class PathJob(Job):
    """Decode the frames of a path in one batch and let the judge classify each.

    The path is either given (``latents``: (N, D), from two map points, two centroids or a
    freehand stroke) or joins two test images (``images``: (2, C, H, W)), which are
    encoded first, or inverted for a model without encoder (slow: seconds).
    """

    kind = "path"
    snapshot: ModelSnapshot
    judge: LatentModel | None
    description: str
    latents: np.ndarray | None = None
    images: torch.Tensor | None = None
    steps: int = 12
    mode: str = "lerp"
    start_class: int | None = None
    end_class: int | None = None
    #: A conditional model's class: the path is a style morph decoded under it (the two
    #: images, ``labels``, are encoded under their own classes).
    condition: int | None = None
    labels: torch.Tensor | None = None

    def run(self, models: ModelCache, emit: Emit) -> None:
        model = models.get(self.snapshot)
        try:
            with torch.inference_mode(False):  # inversion takes gradients with respect to z
                latents = self._latents(model)
        except InversionStopped:
            return  # cancelled: a newer path replaces this one
        if self.cancelled:
            return
        with torch.inference_mode():
            frames = decode_latents(model, latents, self.condition)
            classes = confidences = metrics = None
            if self.judge is not None:
                classes, confidences = judge_frames(self.judge, frames)
                metrics = path_metrics(frames, classes, confidences, self.start_class, self.end_class)
        emit(PathResult(latents.astype(np.float32), frames.numpy().astype(np.float32), classes, confidences,
                        metrics, self.description))

    def _latents(self, model: LatentModel) -> np.ndarray:
        if self.latents is not None:
            return np.asarray(self.latents, np.float32)
        if model.conditional:
            za, zb = latent_of(model, self.images, self.labels, should_stop=lambda: self.cancelled)
        else:
            za, zb = encode_for_path(model, self.images, should_stop=lambda: self.cancelled)
        return interpolate(za.detach().cpu().numpy(), zb.detach().cpu().numpy(), self.steps, self.mode)


@dataclass
class OutliersJob(Job):
    """The k test images with the highest outlier score: ``reconstruction`` (−ELBO for VAEs,
    reconstruction error for AEs), ``flow`` (−log p of the code under the model's flow prior,
    whose tensors travel with the job) or ``likelihood`` (−log p(x) under the PixelCNN of
    ``likelihood_model``, a checkpoint path)."""

    kind = "outliers"
    snapshot: ModelSnapshot
    images: torch.Tensor  # (N, C, H, W) float in [0, 1]
    labels: torch.Tensor
    k: int = 16
    score: str = "reconstruction"
    flow_tensors: dict | None = None
    likelihood_model: str | None = None

    def run(self, models: ModelCache, emit: Emit) -> None:
        from latentlab.latent.outliers import flow_code_scores, likelihood_scores, ranking_of

        model = models.get(self.snapshot)
        with torch.inference_mode():
            if self.score == "reconstruction":
                emit(rank_outliers(model, self.images, self.labels, self.k))
                return
            if self.score == "flow":
                from latentlab.models.flow import LatentFlow

                if not self.flow_tensors:
                    raise ConfigError("this model has no flow prior; fit one with `latentlab fit-prior CKPT --kind flow`")
                model.flow_prior = LatentFlow.from_tensors(self.flow_tensors, dim=model.latent_dim)
                try:
                    scores, name = flow_code_scores(model, self.images), "-log p(code) under the flow"
                finally:
                    model.flow_prior = None
            elif self.score == "likelihood":
                from latentlab.models.checkpoint import load_checkpoint

                if self.likelihood_model is None:
                    raise ConfigError("there is no PixelCNN to score with; train one with `latentlab train --model pixelcnn`")
                scorer = load_checkpoint(self.likelihood_model, device="cpu").model
                if tuple(scorer.config.image_shape) != tuple(self.images.shape[1:]):
                    raise ConfigError(f"the PixelCNN draws {tuple(scorer.config.image_shape)} images, "
                                      f"this dataset's are {tuple(self.images.shape[1:])}")
                scores, name = likelihood_scores(scorer, self.images), "PixelCNN -log p(x)"
            else:
                raise ConfigError(f"unknown outlier score {self.score!r}")
            emit(ranking_of(model, self.images, self.labels, self.k, scores, name))


# ------------------------------------------------------------------- comparison
@dataclass
class CompareRequest:
    """Two to six checkpoints and the path to take through each (see ``run_comparison``)."""

    paths: list[Path]
    names: list[str]
    #: "classes": from the most typical test image of class ``a`` to that of class ``b``;
    #: "images": from test image ``a`` to test image ``b``.
    source: str
    a: int
    b: int
    steps: int = 12
    mode: str = "lerp"


def shipped_entry(path: str | Path):
    """The catalogue entry (``pretrained.Pretrained``) of a shipped checkpoint file, or None."""
    from latentlab import pretrained

    resolved = Path(path).resolve()
    return next((e for e in pretrained.MODELS if e.path.resolve() == resolved), None)


def model_name(path: str | Path, meta: dict) -> str:
    """A row label for a checkpoint: a shipped model's title ("Denoising autoencoder
    (2-D)"), else its file or folder name, with β when it is not 1."""
    shipped = shipped_entry(path)
    if shipped is not None:
        return shipped.title
    stem = Path(path).name.removesuffix(".safetensors")
    config = meta.get("model", {})
    beta = config.get("beta")
    if beta is not None and float(beta) != 1.0 and "beta" not in stem:
        return f"{stem} (β = {float(beta):g})"
    return stem


def run_comparison(request: CompareRequest, state: TaskState) -> StripSet:
    """Load each checkpoint, encode (or invert, for GANs) the same two test images, and
    decode, judge and measure the same path through each model.

    ``state.set_progress`` is called before each step; cancellation is checked between
    steps and before every step of a GAN inversion (then ``Cancelled`` is raised). Every
    checkpoint must have been trained on the same dataset: the source images are its.
    """
    from latentlab.models.checkpoint import load_checkpoint

    from latentlab.app.session import find_judge_cached, get_recorded_dataset

    n = len(request.paths)
    if not 1 <= n <= MAX_MODELS:
        raise ConfigError(f"compare 1 to {MAX_MODELS} models at a time, got {n}")
    total = 2 * n + 1
    models, dataset_name = [], None
    for i, (path, name) in enumerate(zip(request.paths, request.names)):
        state.check()
        _report(state, i, total, f"Loading {name}…")
        ckpt = load_checkpoint(path, device="cpu")
        if not ckpt.model.has_decoder:
            raise ConfigError(f"{name} is a {ckpt.model.family}: it has no decoder, so no paths")
        this = (ckpt.dataset or {}).get("name") or DEFAULT_DATASET
        if dataset_name is not None and this != dataset_name:
            raise ConfigError(f"{name} was trained on {this!r} but {request.names[0]} on {dataset_name!r}; "
                              "compare models of one dataset")
        dataset_name = this
        models.append(ckpt.model.eval())
    state.check()
    _report(state, n, total, "Loading the data and the judge…")
    dataset = get_recorded_dataset(dataset_name, tuple(models[0].config.image_shape))
    judge = find_judge_cached(dataset)
    if judge is None:
        from latentlab.training.judges import get_judge

        _report(state, n, total, f"Training a judge classifier for {dataset.name} (once, about a minute)…")
        judge = get_judge(dataset, "cpu").cpu().eval()
    test = dataset.test
    if request.source == "classes":
        ia, ib = typical_indices(test.images, test.labels, [request.a, request.b])
    else:
        ia, ib = request.a, request.b
        for index in (ia, ib):
            if not 0 <= index < len(test):
                raise ConfigError(f"there is no test image #{index}: the test set has {len(test)}")
    start, end = int(test.labels[ia]), int(test.labels[ib])
    sources = test.images[[ia, ib]].float()
    strips = []
    for i, (model, name) in enumerate(zip(models, request.names)):
        state.check()
        verb = "Encoding" if model.has_encoder else "Inverting (optimising z so that G(z) matches)"
        _report(state, n + 1 + i, total, f"{verb} the two images with {name}…")
        with torch.inference_mode(False):
            try:
                if model.conditional:  # each image under its own label (a cgan inverts it so)
                    za, zb = latent_of(model, sources, test.labels[[ia, ib]], should_stop=lambda: state.cancelled)
                else:
                    za, zb = encode_for_path(model, sources, should_stop=lambda: state.cancelled)
            except InversionStopped:
                raise Cancelled() from None
        with torch.inference_mode():
            if model.conditional:  # the class moves from start to end at the first image's style
                strips.append(class_path_strip(model, za, start, end, request.steps, judge, name=f"{name} [z fixed]"))
            else:
                strips.append(path_strip(model, za, zb, request.steps, request.mode, judge, name=name,
                                         start_class=start, end_class=end))
    _report(state, total, total, "Done")
    return StripSet(strips, request.mode, start, end, list(dataset.class_names), sources)


def _report(state: TaskState, done: int, total: int, message: str) -> None:
    state.set_progress(done / total, message)
