"""Variational autoencoder with a β weight on the KL term (β = 1 is the plain VAE).

The encoder outputs μ and log σ²; training samples z = μ + σ·ε (the reparameterisation
trick). Loss per image = reconstruction (BCE summed over pixels) + β·KL(q(z|x) ‖ N(0, I)).
With β = 1 this is the negative ELBO. β > 1 trades reconstruction for a smoother, more
disentangled latent space; β < 1 the reverse.

Subclasses that condition on something (the class, for ``cvae``) override two hooks:
``features(x, y)`` (what μ and log σ² are computed from) and ``decoder_logits(z, y)``;
``decoder_input_size`` says how wide the decoder's input is.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from latentlab.models.backbones import Decoder, Encoder
from latentlab.models.base import LatentModel, LatentStats, reconstruction_nats
from latentlab.models.config import ModelConfig, setting
from latentlab.models.registry import register


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) for every image and latent dimension, shape (N, D)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


@dataclass
class VAEConfig(ModelConfig):
    beta: float = setting(
        1.0, "β", "Weight of the KL term: 1 is the plain VAE; larger gives a smoother map and blurrier "
        "digits, smaller the reverse", minimum=0.0, live=True)


@register("vae")
class VAE(LatentModel):
    title = "VAE (β-VAE)"
    config_class = VAEConfig
    has_beta = True
    score_name = "-ELBO"
    loss_parts = ("loss", "recon", "kl")

    def __init__(self, config: VAEConfig) -> None:
        super().__init__(config)
        c = config
        self.encoder = Encoder(c.backbone, c.image_shape, c.hidden)
        self.to_mu = nn.Linear(self.encoder.out_features, c.latent_dim)
        self.to_logvar = nn.Linear(self.encoder.out_features, c.latent_dim)
        self.decoder = Decoder(c.backbone, self.decoder_input_size(), c.image_shape, c.hidden)

    # ------------------------------------------------------------ conditioning hooks
    def decoder_input_size(self) -> int:
        return self.config.latent_dim

    def features(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.encoder(x)

    def decoder_logits(self, z: torch.Tensor, y=None) -> torch.Tensor:
        return self.decoder(z)

    # ------------------------------------------------------------------ interface
    def posterior(self, x: torch.Tensor, y=None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x, y)
        return self.to_mu(h), self.to_logvar(h).clamp(-30.0, 20.0)

    def encode(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.posterior(x, y)[0]

    def decode(self, z: torch.Tensor, y=None) -> torch.Tensor:
        return torch.sigmoid(self.decoder_logits(z, y))

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)

    def elbo_parts(self, x: torch.Tensor, y=None) -> dict[str, torch.Tensor]:
        """Per-image recon and KL (one z sample), per-dim KL and the sampled z."""
        mu, logvar = self.posterior(x, y)
        z = self.reparameterize(mu, logvar)
        kl_dims = kl_per_dim(mu, logvar)
        return {
            "recon": reconstruction_nats(self.decoder_logits(z, y), x),
            "kl": kl_dims.sum(1),
            "kl_dims": kl_dims,
            "z": z,
            "mu": mu,
        }

    def loss(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        p = self.elbo_parts(x, y)
        recon, kl = p["recon"].mean(), p["kl"].mean()
        return {"loss": recon + self.config.beta * kl, "recon": recon, "kl": kl}

    # ----------------------------------------------------------------- evaluation
    def latent_stats(self, x: torch.Tensor, y=None) -> LatentStats:
        mu, logvar = self.posterior(x, y)
        return LatentStats(mu, kl_per_dim(mu, logvar))

    def score_images(self, x: torch.Tensor, y=None, *, samples: int = 1) -> torch.Tensor:
        """The negative ELBO with β = 1 whatever β the model was trained with, so it is a
        bound on -log p(x) and scores of a β ladder are comparable; the reconstruction term
        is averaged over ``samples`` draws of z (one draw makes a ranking jitter)."""
        mu, logvar = self.posterior(x, y)
        kl = kl_per_dim(mu, logvar).sum(1)
        std = torch.exp(0.5 * logvar)
        recon = torch.stack([
            reconstruction_nats(self.decoder_logits(mu + std * torch.randn_like(mu), y), x) for _ in range(samples)
        ]).mean(0)
        return recon + kl

    def evaluation_terms(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.elbo_terms(self.elbo_parts(x, y))

    @staticmethod
    def elbo_terms(p: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The test metrics of ``elbo_parts``: reconstruction, KL (total and per dimension),
        and the negative ELBO with β = 1 (a bound on -log p(x), whatever β trained it)."""
        return {"test_recon": p["recon"], "test_kl": p["kl"], "test_neg_elbo": p["recon"] + p["kl"],
                "kl_per_dim": p["kl_dims"]}
