"""The one interface every family implements, so the UI never asks "which model is this?".

Conventions, written down once:

* Images are float tensors in [0, 1] of shape (N, C, H, W).
* ``encode(x)`` is deterministic: for a VAE it returns the posterior mean, so a scatter
  plot of the latents does not jitter.
* ``decode(z)`` returns images in [0, 1].
* ``loss(x, y)`` returns a dict of scalar tensors with a ``"loss"`` key (what the
  optimiser minimises) and its named parts. Reconstruction terms are *summed over
  pixels* and *averaged over the batch*, so every number is "per image", in nats.
* ``train_step`` performs one optimisation step on one batch and returns the detached
  loss parts; adversarial families override it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch
from torch import nn

from latentlab.errors import ConfigError
from latentlab.models.config import ModelConfig
from latentlab.models.mixture import LatentMixture


class LatentModel(nn.Module, ABC):
    family: ClassVar[str] = ""
    config_class: ClassVar[type[ModelConfig]] = ModelConfig
    has_encoder: ClassVar[bool] = True
    has_decoder: ClassVar[bool] = True
    #: False for families without a latent space (PixelCNN: pixel by pixel, no encode or decode).
    has_latent_space: ClassVar[bool] = True
    #: True for families with an exact likelihood: ``nll(x, y)`` gives −log p(x) in nats per image.
    has_likelihood: ClassVar[bool] = False
    #: True for families whose loss has a KL weight the user may change while training.
    has_beta: ClassVar[bool] = False
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

    # ----------------------------------------------------------------- interface
    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def can_sample(self) -> bool:
        """Whether ``sample`` makes images (through the decoder, or pixel by pixel)."""
        return self.has_decoder

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        raise ConfigError(f"a {self.family} model has no encoder")

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        raise ConfigError(f"a {self.family} model has no decoder")

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

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

    def sample(self, n: int, generator: torch.Generator | None = None, source: str | None = None) -> torch.Tensor:
        """n images decoded from latents drawn by ``sample_latents``."""
        return self.decode(self.sample_latents(n, generator, source))

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
