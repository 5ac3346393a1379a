"""Autoencoder, optionally denoising: x (+ noise) -> z -> x̂, trained on reconstruction."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.models.backbones import Decoder, Encoder
from latentlab.models.base import LatentModel
from latentlab.models.config import ModelConfig, require_non_negative
from latentlab.models.registry import register


def reconstruction_nats(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Bernoulli negative log-likelihood, summed over pixels: one value per image."""
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


@dataclass
class AEConfig(ModelConfig):
    #: Std of the Gaussian noise added to inputs during training; 0 is a plain AE.
    denoise: float = 0.0

    def validate(self) -> None:
        super().validate()
        require_non_negative(self, "denoise")


@register("ae")
class Autoencoder(LatentModel):
    config_class = AEConfig
    loss_parts = ("loss", "recon")
    default_sample_source = "mixture"  # an autoencoder has no prior

    def __init__(self, config: AEConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = Encoder(c.backbone, c.image_shape, c.hidden)
        self.to_z = nn.Linear(self.encoder.out_features, c.latent_dim)
        self.decoder = Decoder(c.backbone, c.latent_dim, c.image_shape, c.hidden)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.to_z(self.encoder(x))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z))

    def loss(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        noisy = x
        if self.training and self.config.denoise > 0:
            noisy = (x + self.config.denoise * torch.randn_like(x)).clamp(0, 1)
        recon = reconstruction_nats(self.decoder(self.encode(noisy)), x).mean()
        return {"loss": recon, "recon": recon}
