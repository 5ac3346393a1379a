"""The one interface every family implements, so no caller asks "which model is this?".

What a family declares (class attributes, read without building a model; see
:class:`FamilyInfo` and ``registry.family_info``):

* ``title``: the family's name for people ("VAE (β-VAE)").
* ``role``: ``"model"`` for the generative models the window explores and compares,
  ``"judge"`` for the classifier that labels what models produce. The window lists the
  families of role ``"model"`` that are ``trainable``; nothing filters by family name.
* ``trainable``: whether ``latentlab train`` (and the window, for role ``"model"``)
  may train it from scratch.
* capabilities: ``has_encoder``, ``has_decoder``, ``has_beta`` (a KL weight the user
  may change, also while training), ``conditional`` (``encode`` and ``decode`` take a
  class), ``classifier`` (``"latent"``: ``classify(z)`` on latent points, ``"image"``:
  ``classify(x)`` on images, None: no classifier head), ``score_name`` (what
  ``score_images`` measures, None when the family cannot score an image).
* hyper-parameters: the fields of ``config_class`` declared with ``config.setting``
  (label, range, default, help); ``config.hyperparameters`` lists them.

Conventions, written down once:

* Images are float tensors in [0, 1] of shape (N, C, H, W).
* ``encode(x, y=None)`` is deterministic: for a VAE it returns the posterior mean, so a
  scatter plot of the latents does not jitter.
* ``decode(z, y=None)`` returns images in [0, 1].
* The class condition ``y`` is an argument, never hidden state. Unconditional families
  ignore it, so callers may always pass the labels they have. Conditional families
  require it in ``encode`` and ``decode`` and accept: an int (one class for the whole
  batch), an integer tensor (N,) of class indices, or a float tensor (N, K) or (K,) of
  class weights (one-hot rows, or a mix such as 0.7·onehot(3) + 0.3·onehot(8), which is
  how a path between two classes at a fixed z is decoded). ``sample`` without ``y``
  draws the classes in turn (0, 1, ..., K-1, 0, ...), so n samples are balanced.
* ``loss(x, y)`` returns a dict of scalar tensors with a ``"loss"`` key (what the
  optimiser minimises) and its named parts. Reconstruction terms are *summed over
  pixels* and *averaged over the batch*, so every number is "per image", in nats.
* ``train_step`` performs one optimisation step on one batch and returns the detached
  loss parts; adversarial families override it.
* Evaluation asks the model, never probes it: ``evaluation_terms(x, y)`` gives the
  per-image figures behind the test-set metrics, ``latent_stats(x, y)`` the latents and
  (for VAEs) the KL per dimension, ``score_images(x, y)`` a per-image score in nats
  (a bound on -log p(x) for VAEs) for outlier ranking.
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.errors import ConfigError
from latentlab.models.config import HyperParameter, ModelConfig, hyperparameters
from latentlab.models.mixture import LatentMixture

ROLE_MODEL = "model"
ROLE_JUDGE = "judge"


@contextmanager
def evaluating(model: nn.Module) -> Iterator[nn.Module]:
    """Eval mode (no dropout, batch-norm statistics, a GAN's averaged generator) for the
    block, the previous mode restored after it."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def reconstruction_nats(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bernoulli negative log-likelihood of ``x`` under decoder ``logits``, summed over
    pixels: one value per image, in nats (the reduction every family's loss uses)."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


@dataclass(frozen=True)
class FamilyInfo:
    """What a family is and can do, read from its class: for the CLI, ``info`` and the window."""

    family: str
    title: str
    role: str
    trainable: bool
    has_encoder: bool
    has_decoder: bool
    has_beta: bool
    conditional: bool
    classifier: str | None
    score_name: str | None
    default_lr: float
    default_batch_size: int
    hyperparameters: tuple[HyperParameter, ...]
    #: False for a model drawn pixel by pixel (a PixelCNN): no map, its own view.
    has_latent_space: bool = True
    #: An exact log-likelihood, ``nll(x, y)``.
    has_likelihood: bool = False

    @property
    def uses_labels(self) -> bool:
        """Whether training reads the labels, so a dataset with other classes does not fit."""
        return self.conditional or self.classifier is not None

    def capabilities(self) -> list[str]:
        """Plain words for what the family has, e.g. ["encoder", "decoder", "β"]."""
        words = {"encoder": self.has_encoder, "decoder": self.has_decoder, "β": self.has_beta,
                 "class condition": self.conditional, f"classifier head ({self.classifier})": bool(self.classifier),
                 "exact likelihood": self.has_likelihood, "no latent space (drawn pixel by pixel)":
                 not self.has_latent_space}
        return [word for word, present in words.items() if present]


@dataclass
class LatentStats:
    """Latents of a batch and, for VAE families, the KL of each image in each dimension."""

    mean: torch.Tensor  # (N, D): the deterministic latent (posterior mean)
    kl_dims: torch.Tensor | None  # (N, D) KL(q(z|x) ‖ p(z)) per dimension, or None without a prior


class LatentModel(nn.Module, ABC):
    family: ClassVar[str] = ""
    title: ClassVar[str] = ""
    role: ClassVar[str] = ROLE_MODEL
    trainable: ClassVar[bool] = True
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    has_encoder: ClassVar[bool] = True
    has_decoder: ClassVar[bool] = True
    #: False for families without a latent space (PixelCNN: pixel by pixel, no encode or decode).
    has_latent_space: ClassVar[bool] = True
    #: True for families with an exact likelihood: ``nll(x, y)`` gives −log p(x) in nats per image.
    has_likelihood: ClassVar[bool] = False
    #: True for families whose loss has a KL weight the user may change while training.
    has_beta: ClassVar[bool] = False
    #: True for families whose encode and decode take a class (see the module docstring).
    conditional: ClassVar[bool] = False
    #: "latent" (classify(z)), "image" (classify(x)) or None.
    classifier: ClassVar[str | None] = None
    #: What ``score_images`` measures ("-ELBO", "reconstruction error"), None if nothing.
    score_name: ClassVar[str | None] = None
    default_lr: ClassVar[float] = 1e-3
    default_batch_size: ClassVar[int] = 128
    #: Whether bfloat16 autocast on a GPU is safe for this family's training step.
    supports_amp: ClassVar[bool] = True
    #: Where ``sample`` draws latents from by default: "prior" or "mixture".
    default_sample_source: ClassVar[str] = "prior"
    #: Names of the loss parts ``train_step`` reports, in display order.
    loss_parts: ClassVar[tuple[str, ...]] = ("loss",)

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if not isinstance(config, self.config_class):
            raise ConfigError(f"{self.family} needs a {self.config_class.__name__}")
        self.config = config
        #: Optional Gaussian mixture fitted on the encoded training set, for sampling.
        self.mixture: LatentMixture | None = None
        #: Optional normalizing flow fitted on the encoded training set (``flow.LatentFlow``).
        self.flow_prior = None

    @classmethod
    def info(cls) -> FamilyInfo:
        return FamilyInfo(
            family=cls.family, title=cls.title or cls.family, role=cls.role, trainable=cls.trainable,
            has_encoder=cls.has_encoder, has_decoder=cls.has_decoder, has_beta=cls.has_beta,
            conditional=cls.conditional, classifier=cls.classifier, score_name=cls.score_name,
            default_lr=cls.default_lr, default_batch_size=cls.default_batch_size,
            hyperparameters=tuple(hyperparameters(cls.config_class)),
            has_latent_space=cls.has_latent_space, has_likelihood=cls.has_likelihood,
        )

    # ----------------------------------------------------------------- interface
    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def can_sample(self) -> bool:
        """Whether ``sample`` makes images (through the decoder, or pixel by pixel)."""
        return self.has_decoder

    @property
    def num_classes(self) -> int:
        return self.config.num_classes

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode(self, x: torch.Tensor, y=None) -> torch.Tensor:
        raise ConfigError(f"a {self.family} model has no encoder")

    def decode(self, z: torch.Tensor, y=None) -> torch.Tensor:
        raise ConfigError(f"a {self.family} model has no decoder")

    def reconstruct(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.decode(self.encode(x, y), y)

    def prior_sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z ~ N(0, I), the prior of VAEs and the noise of GANs."""
        return torch.randn(n, self.latent_dim, generator=generator, device=self.device)

    def sample_latents(
        self, n: int, generator: torch.Generator | None = None, source: str | None = None
    ) -> torch.Tensor:
        """n latent points from ``source``: ``"prior"``, ``"mixture"`` (the fitted latent
        mixture), ``"flow"`` (the fitted flow prior) or None for the family's default (the
        mixture for autoencoders)."""
        source = source or self.default_sample_source
        if source == "prior":
            return self.prior_sample(n, generator)
        if source == "mixture":
            if self.mixture is None:
                raise ConfigError(
                    f"this {self.family} model has no latent mixture to sample from; "
                    "train it with `latentlab train` (which fits one) or sample from the prior"
                )
            return self.mixture.sample(n, generator=generator).to(self.device)
        if source == "flow":
            if self.flow_prior is None:
                raise ConfigError(
                    f"this {self.family} model has no flow prior to sample from; "
                    "fit one with `latentlab fit-prior CHECKPOINT --kind flow`"
                )
            return self.flow_prior.sample(n, generator=generator).to(self.device)
        raise ConfigError(f"unknown sample source {source!r}; use prior, mixture or flow")

    def sample(self, n: int, generator: torch.Generator | None = None, source: str | None = None,
               y=None) -> torch.Tensor:
        """n images decoded from latents drawn by ``sample_latents``; a conditional model
        decodes them under ``y`` (default: the classes in turn)."""
        z = self.sample_latents(n, generator, source)
        if self.conditional and y is None:
            y = torch.arange(n, device=self.device) % self.num_classes
        return self.decode(z, y)

    @abstractmethod
    def loss(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Scalar loss parts for one batch, with the optimised total under ``"loss"``."""

    def set_beta(self, beta: float) -> None:
        """Change the KL weight; read on every step, so it applies from the next one."""
        if not self.has_beta:
            return
        if not 0.0 <= beta < float("inf"):
            raise ConfigError(f"beta must be a finite number >= 0, got {beta!r}")
        self.config.beta = float(beta)

    # ---------------------------------------------------------------- condition
    def check_class(self, cls: int) -> int:
        """``cls`` as an int if it names one of the model's classes, else a ConfigError."""
        k = self.num_classes
        if isinstance(cls, bool) or not isinstance(cls, int) or not 0 <= cls < k:
            raise ConfigError(f"class {cls!r} is out of range: this model has {k} classes, 0 to {k - 1}")
        return cls

    def class_weights(self, y, n: int) -> torch.Tensor:
        """The condition ``y`` (see the module docstring) as (n, K) float weights on the device."""
        k, device = self.num_classes, self.device
        if y is None:
            raise ConfigError(f"a {self.family} model is conditional: give the class of each image (y)")
        if isinstance(y, numbers.Integral) and not isinstance(y, bool):
            return F.one_hot(torch.full((n,), self.check_class(int(y)), device=device), k).float()
        y = torch.as_tensor(y, device=device)
        if not y.is_floating_point():
            y = y.reshape(-1).long()
            if len(y) not in (1, n):
                raise ConfigError(f"{len(y)} classes for {n} images")
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= k):
                bad = int(y.min()) if int(y.min()) < 0 else int(y.max())
                self.check_class(bad)
            return F.one_hot(y, k).float().expand(n, k)
        y = y.float().reshape(-1, y.shape[-1]) if y.dim() else y.reshape(1, 1)
        if y.shape[-1] != k or len(y) not in (1, n):
            raise ConfigError(f"class weights must be (N, {k}) or ({k},), got {tuple(y.shape)}")
        if not torch.isfinite(y).all():
            raise ConfigError("class weights must be finite numbers")
        return y.expand(n, k)

    # --------------------------------------------------------------- evaluation
    def latent_stats(self, x: torch.Tensor, y=None) -> LatentStats:
        """Deterministic latents of ``x`` (and, for VAEs, the KL per dimension)."""
        return LatentStats(self.encode(x, y), None)

    def score_images(self, x: torch.Tensor, y=None, *, samples: int = 1) -> torch.Tensor:
        """(N,) how badly the model explains each image, in nats; see ``score_name``."""
        raise ConfigError(
            f"a {self.family} model cannot score images by how well it explains them; "
            "use an autoencoder or a VAE"
        )

    def evaluation_terms(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-image figures on one test batch, keyed by metric name: each (N,) tensor is
        averaged over the test split into that metric, each (N, D) tensor into a list of D.
        By default the loss parts (batch means) as ``test_<part>``."""
        return {f"test_{k}": v.detach().float().expand(len(x)) for k, v in self.loss(x, y).items()}

    # ------------------------------------------------------------------ training
    def configure_optimizers(self, lr: float) -> list[torch.optim.Optimizer]:
        return [torch.optim.Adam(self.parameters(), lr=lr)]

    def train_step(
        self, x: torch.Tensor, y: torch.Tensor, optimizers: list[torch.optim.Optimizer], step: int
    ) -> dict[str, torch.Tensor]:
        (opt,) = optimizers
        parts = self.loss(x, y)
        opt.zero_grad(set_to_none=True)
        parts["loss"].backward()
        opt.step()
        return {k: v.detach() for k, v in parts.items()}
