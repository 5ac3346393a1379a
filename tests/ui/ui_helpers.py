"""Helpers shared by the window tests (importable, unlike conftest)."""

from __future__ import annotations

import torch

from latentlab.models.registry import create_model, make_config


def tiny_model(family: str = "vae", latent_dim: int = 2, seed: int = 0, **settings):
    torch.manual_seed(seed)
    return create_model(make_config(family, hidden=32, latent_dim=latent_dim, **settings))


def tiny_history(epochs: int = 3) -> list[dict]:
    return [{"epoch": e, "train_loss": 300.0 - 20 * e, "train_recon": 290.0 - 20 * e, "train_kl": 2.0 + e,
             "test_recon": 292.0 - 20 * e, "test_kl": 2.1 + e} for e in range(1, epochs + 1)]
