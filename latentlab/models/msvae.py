"""Multi-stage VAE: a VAE with a classifier head on z, trained jointly.

Loss per image = reconstruction + β·KL + γ·cross-entropy(head(z), label). The classifier
pulls the classes apart in latent space, so an interpolation between two classes moves
from one to the other without passing through a third. (This is the teaching material's
model, not the two-stage VAE of Dai and Wipf.)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.models.config import setting
from latentlab.models.registry import register
from latentlab.models.vae import VAE, VAEConfig


@dataclass
class MSVAEConfig(VAEConfig):
    gamma: float = setting(
        100.0, "γ", "Weight of the classifier head's cross-entropy: larger pulls the classes further apart "
        "in the latent space", minimum=0.0)


@register("msvae")
class MultiStageVAE(VAE):
    title = "Multi-stage VAE"
    config_class = MSVAEConfig
    classifier = "latent"
    loss_parts = ("loss", "recon", "kl", "ce")

    def __init__(self, config: MSVAEConfig) -> None:
        super().__init__(config)
        self.head = nn.Sequential(
            nn.Linear(config.latent_dim, 64), nn.ReLU(), nn.Linear(64, config.num_classes)
        )

    def classify(self, z: torch.Tensor) -> torch.Tensor:
        """Class logits for latent points."""
        return self.head(z)

    def loss(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if y is None:
            raise ValueError("the multi-stage VAE needs labels to train")
        p = self.elbo_parts(x)
        recon, kl = p["recon"].mean(), p["kl"].mean()
        ce = F.cross_entropy(self.head(p["z"]), y)
        c = self.config
        return {"loss": recon + c.beta * kl + c.gamma * ce, "recon": recon, "kl": kl, "ce": ce}

    def evaluation_terms(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        p = self.elbo_parts(x, y)
        return {**self.elbo_terms(p), "head_accuracy": (self.classify(p["mu"]).argmax(1) == y).float()}
