"""The same path through several models: encode (or invert) two images, interpolate,
decode, judge, and measure.

Every model gets the same two source images and the same number of frames, so the
strips line up frame by frame and the metrics are comparable. Models with an encoder
use it (the posterior mean for VAEs); GANs go through latent inversion. A β ladder is
just a list of VAEs with names such as "β = 4".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from latentlab.errors import ConfigError
from latentlab.latent.inversion import invert
from latentlab.latent.path_metrics import PathMetrics, judge_frames, path_metrics
from latentlab.latent.paths import INTERPOLATORS, interpolate

#: At most this many models in one comparison (the CLI takes as many; the window scrolls).
MAX_MODELS = 12


@dataclass
class Strip:
    """One model's decoded path."""

    name: str
    frames: torch.Tensor  # (n, C, H, W) CPU, in [0, 1]
    latents: torch.Tensor  # (n, D) CPU
    metrics: PathMetrics


@dataclass
class StripSet:
    """Aligned strips of several models along "the same" path, ready to draw or export."""

    strips: list[Strip]
    mode: str  # "lerp" or "slerp"
    start_class: int
    end_class: int
    class_names: list[str] = field(default_factory=list)
    #: The two source images (2, C, H, W) when the path joins two images, else None.
    sources: torch.Tensor | None = None

    @property
    def n_frames(self) -> int:
        return len(self.strips[0].frames) if self.strips else 0

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.strips]

    def class_name(self, cls: int) -> str:
        return self.class_names[cls] if 0 <= cls < len(self.class_names) else str(cls)

    @property
    def pair_label(self) -> str:
        """"3-8": the start and end class names."""
        return f"{self.class_name(self.start_class)}-{self.class_name(self.end_class)}"

    def table(self) -> list[dict]:
        """One row of JSON values per model: its name and path metrics."""
        return [{"model": s.name, **s.metrics.to_dict()} for s in self.strips]


def check_images_fit(model, images: torch.Tensor) -> None:
    shape = tuple(model.config.image_shape)
    if images.dim() != 4 or tuple(images.shape[1:]) != shape:
        raise ConfigError(
            f"the {model.family} model expects images of shape {shape}, got {tuple(images.shape[1:])}"
        )


@torch.no_grad()
def _encode(model, images: torch.Tensor) -> torch.Tensor:
    was_training = model.training
    model.eval()
    try:
        return model.encode(images.to(model.device))
    finally:
        model.train(was_training)


def encode_for_path(model, images: torch.Tensor, *, seed: int = 0, **inversion) -> torch.Tensor:
    """Latents (N, D) of ``images``, on the model's device: the encoder when the model has
    one, else latent inversion (``inversion`` passes restarts/steps/lr to :func:`invert`).
    """
    if not model.has_decoder:
        raise ConfigError(f"a {model.family} model cannot decode, so it has no interpolation paths")
    check_images_fit(model, images)
    if model.has_encoder:
        return _encode(model, images)
    return invert(model, images, seed=seed, **inversion).z


@torch.no_grad()
def path_strip(
    model,
    za: torch.Tensor,
    zb: torch.Tensor,
    steps: int,
    mode: str,
    judge,
    *,
    name: str = "",
    start_class: int | None = None,
    end_class: int | None = None,
    y=None,
) -> Strip:
    """Interpolate between two latents, decode in one batch (a conditional model under the
    class ``y``), judge and measure."""
    z = interpolate(za.reshape(-1), zb.reshape(-1), steps, mode).to(model.device)
    was_training = model.training
    model.eval()
    try:
        frames = model.decode(z, y).float().cpu()
    finally:
        model.train(was_training)
    classes, confs = judge_frames(judge, frames)
    metrics = path_metrics(frames, classes, confs, start_class, end_class)
    return Strip(name=name or model.family, frames=frames, latents=z.cpu(), metrics=metrics)


def compare_models(
    models: Sequence,
    names: Sequence[str],
    image_a: torch.Tensor,
    image_b: torch.Tensor,
    judge,
    steps: int = 12,
    mode: str = "lerp",
    *,
    start_class: int | None = None,
    end_class: int | None = None,
    class_names: Sequence[str] = (),
    seed: int = 0,
    inversion: dict | None = None,
) -> StripSet:
    """One aligned strip per model (1 to 6 models) between the same two images.

    ``image_a`` and ``image_b`` are single images (C, H, W) or (1, C, H, W). The start
    and end classes default to the judge's opinion of the two source images, so purity
    is measured against what the images are, not what a model made of them.
    ``inversion`` holds settings for GANs' :func:`invert` (restarts, steps, lr).
    """
    if not 1 <= len(models) <= MAX_MODELS:
        raise ConfigError(f"compare 1 to {MAX_MODELS} models at a time, got {len(models)}")
    if len(names) != len(models):
        raise ConfigError(f"{len(models)} models but {len(names)} names")
    if mode not in INTERPOLATORS:
        raise ConfigError(f"unknown interpolation mode {mode!r}; choose {' or '.join(INTERPOLATORS)}")
    sources = torch.cat([image_a.reshape(1, *image_a.shape[-3:]), image_b.reshape(1, *image_b.shape[-3:])]).float().cpu()
    for model in models:
        check_images_fit(model, sources)
    if start_class is None or end_class is None:
        judged, _ = judge_frames(judge, sources)
        start_class = int(judged[0]) if start_class is None else start_class
        end_class = int(judged[1]) if end_class is None else end_class
    strips = []
    for model, name in zip(models, names):
        za, zb = encode_for_path(model, sources, seed=seed, **(inversion or {}))
        strips.append(path_strip(model, za, zb, steps, mode, judge, name=name,
                                 start_class=start_class, end_class=end_class))
    return StripSet(strips, mode, int(start_class), int(end_class), list(class_names), sources)
