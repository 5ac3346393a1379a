"""Autoencoder, optionally denoising: x (+ noise) -> z -> x̂, trained on reconstruction."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from latentlab.models.backbones import Decoder, Encoder
from latentlab.models.base import LatentModel, reconstruction_nats
from latentlab.models.config import ModelConfig, setting
from latentlab.models.registry import register


@dataclass
class AEConfig(ModelConfig):
    denoise: float = setting(
        0.0, "Input noise", "Std of the Gaussian noise added to the inputs while training (a denoising "
        "autoencoder); 0 is a plain autoencoder", minimum=0.0)


@register("ae")
class Autoencoder(LatentModel):
    title = "Autoencoder"
    config_class = AEConfig
    score_name = "reconstruction error"
    loss_parts = ("loss", "recon")
    default_sample_source = "mixture"  # an autoencoder has no prior

    def __init__(self, config: AEConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = Encoder(c.backbone, c.image_shape, c.hidden)
        self.to_z = nn.Linear(self.encoder.out_features, c.latent_dim)
        self.decoder = Decoder(c.backbone, c.latent_dim, c.image_shape, c.hidden)

    def encode(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.to_z(self.encoder(x))

    def decode(self, z: torch.Tensor, y=None) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z))

    def score_images(self, x: torch.Tensor, y=None, *, samples: int = 1) -> torch.Tensor:
        """The reconstruction error of decode(encode(x)), the autoencoder's own loss (no prior,
        so no KL term and no bound on -log p(x))."""
        return reconstruction_nats(self.decoder(self.encode(x)), x)

    def evaluation_terms(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"test_recon": self.score_images(x)}

    def loss(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        noisy = x
        if self.training and self.config.denoise > 0:
            noisy = (x + self.config.denoise * torch.randn_like(x)).clamp(0, 1)
        recon = reconstruction_nats(self.decoder(self.encode(noisy)), x).mean()
        return {"loss": recon, "recon": recon}
