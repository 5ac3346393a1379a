"""Variational autoencoder with a β weight on the KL term (β = 1 is the plain VAE).

The encoder outputs μ and log σ²; training samples z = μ + σ·ε (the reparameterisation
trick). Loss per image = reconstruction (BCE summed over pixels) + β·KL(q(z|x) ‖ N(0, I)).
With β = 1 this is the negative ELBO. β > 1 trades reconstruction for a smoother, more
disentangled latent space; β < 1 the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from latentlab.models.ae import reconstruction_nats
from latentlab.models.backbones import Decoder, Encoder
from latentlab.models.base import LatentModel
from latentlab.models.config import ModelConfig, require_non_negative
from latentlab.models.registry import register


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) for every image and latent dimension, shape (N, D)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


@dataclass
class VAEConfig(ModelConfig):
    beta: float = 1.0

    def validate(self) -> None:
        super().validate()
        require_non_negative(self, "beta")


@register("vae")
class VAE(LatentModel):
    config_class = VAEConfig
    has_beta = True
    loss_parts = ("loss", "recon", "kl")

    def __init__(self, config: VAEConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = Encoder(c.backbone, c.image_shape, c.hidden)
        self.to_mu = nn.Linear(self.encoder.out_features, c.latent_dim)
        self.to_logvar = nn.Linear(self.encoder.out_features, c.latent_dim)
        self.decoder = Decoder(c.backbone, c.latent_dim, c.image_shape, c.hidden)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h).clamp(-30.0, 20.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z))

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def elbo_parts(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-image recon and KL (one z sample), per-dim KL and the sampled z."""
        mu, logvar = self.posterior(x)
        z = self.reparameterize(mu, logvar)
        kl_dims = kl_per_dim(mu, logvar)
        return {
            "recon": reconstruction_nats(self.decoder(z), x),
            "kl": kl_dims.sum(1),
            "kl_dims": kl_dims,
            "z": z,
            "mu": mu,
        }

    def loss(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        p = self.elbo_parts(x)
        recon, kl = p["recon"].mean(), p["kl"].mean()
        return {"loss": recon + self.config.beta * kl, "recon": recon, "kl": kl}
