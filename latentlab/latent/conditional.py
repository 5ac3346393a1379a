"""What a conditional model (cvae, cgan) shows that an unconditional one cannot; no Qt.

With the class given to the decoder, the latent no longer has to carry it: z encodes how
a digit is written. Three pictures follow:

* the **analogy row**: one z decoded under every class, in one batch: ten digits in one
  handwriting;
* **restyle**: an image encoded under its own label (a GAN inverts it under its label),
  then decoded under every class: "write my 3 as an 8";
* **paths**: along z with the class fixed (a style morph), or between two classes at a
  fixed z, through mixed one-hot weights (1 - t)·onehot(a) + t·onehot(b). Both are
  judged and measured like any other path (``path_metrics``), so their verdicts read the
  same as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from latentlab.errors import ConfigError
from latentlab.latent.compare import Strip, check_images_fit, path_strip
from latentlab.latent.path_metrics import judge_frames, path_metrics
from latentlab.models.base import evaluating


def require_conditional(model) -> None:
    if not model.conditional:
        raise ConfigError(f"a {model.family} model is not told the class; this needs a conditional model")
    if not model.has_decoder:
        raise ConfigError(f"a {model.family} model has no decoder")


def _as_point(model, z) -> torch.Tensor:
    z = torch.as_tensor(z, dtype=torch.float32).reshape(-1)
    if z.numel() != model.latent_dim or not torch.isfinite(z).all():
        raise ConfigError(f"a latent point of this model has {model.latent_dim} finite numbers, got {tuple(z.shape)}")
    return z.to(model.device)


@torch.no_grad()
def _decode(model, z: torch.Tensor, y) -> torch.Tensor:
    with evaluating(model):
        return model.decode(z, y).float().cpu()


def analogy_row(model, z) -> torch.Tensor:
    """The point ``z`` (D,) decoded under every class, in one batch: (K, C, H, W) on the CPU."""
    require_conditional(model)
    k = model.num_classes
    point = _as_point(model, z)
    return _decode(model, point.expand(k, -1), torch.arange(k, device=model.device))


@dataclass
class Restyled:
    z: torch.Tensor  # (D,) the image's latent (its style), CPU
    images: torch.Tensor  # (K, C, H, W) the style decoded under every class, CPU, in [0, 1]
    label: int  # the class the image was encoded under


def restyle(model, image: torch.Tensor, label: int, *, seed: int = 0, **inversion) -> Restyled:
    """Encode ``image`` (C, H, W) under its own ``label`` (a cgan inverts it under that label;
    ``inversion`` passes restarts/steps to :func:`~latentlab.latent.inversion.invert`) and
    decode the latent under every class."""
    require_conditional(model)
    label = model.check_class(int(label))
    x = image.reshape(1, *image.shape[-3:]).float()
    check_images_fit(model, x)
    z = latent_of(model, x, torch.tensor([label]), seed=seed, **inversion)[0]
    return Restyled(z.cpu(), analogy_row(model, z), label)


def latent_of(model, images: torch.Tensor, labels: torch.Tensor, *, seed: int = 0, **inversion) -> torch.Tensor:
    """Latents (N, D) of ``images`` under ``labels``, on the model's device: the encoder
    where there is one, else latent inversion of the conditional generator."""
    labels = labels.to(model.device)
    if model.has_encoder:
        with torch.no_grad(), evaluating(model):
            return model.encode(images.to(model.device), labels)
    from latentlab.latent.inversion import invert

    return invert(model, images, labels=labels, seed=seed, **inversion).z


def class_mix(a: int, b: int, steps: int, num_classes: int) -> torch.Tensor:
    """(steps, K) class weights from one-hot ``a`` to one-hot ``b``, ends included."""
    t = torch.linspace(0.0, 1.0, steps)[:, None]
    eye = torch.eye(num_classes)
    return (1.0 - t) * eye[a] + t * eye[b]


@torch.no_grad()
def class_path_strip(model, z, a: int, b: int, steps: int, judge, *, name: str = "") -> Strip:
    """Decode the fixed point ``z`` while the class moves from ``a`` to ``b`` (mixed one-hot
    weights), judge every frame and measure the path from a to b."""
    require_conditional(model)
    a, b = model.check_class(int(a)), model.check_class(int(b))
    if not 2 <= steps <= 10_000:
        raise ConfigError(f"a path needs from 2 to 10000 steps (both ends included), got {steps!r}")
    point = _as_point(model, z)
    weights = class_mix(a, b, steps, model.num_classes).to(model.device)
    frames = _decode(model, point.expand(steps, -1), weights)
    classes, confs = judge_frames(judge, frames)
    metrics = path_metrics(frames, classes, confs, a, b)
    return Strip(name=name or model.family, frames=frames, latents=point.expand(steps, -1).cpu(), metrics=metrics)


def style_path_strip(model, za, zb, steps: int, mode: str, judge, cls: int, *, name: str = "") -> Strip:
    """Decode the path from ``za`` to ``zb`` with the class fixed at ``cls`` (a style morph):
    a good path is judged ``cls`` all the way."""
    require_conditional(model)
    cls = model.check_class(int(cls))
    return path_strip(model, za, zb, steps, mode, judge, name=name, start_class=cls, end_class=cls, y=cls)
