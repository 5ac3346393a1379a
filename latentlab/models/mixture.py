"""A Gaussian mixture on a latent space, to sample from an autoencoder.

A plain autoencoder has no prior: decoding N(0, I) gives garbage. The teaching recipe is
to fit a Gaussian mixture (scikit-learn) to the encoded training set and sample z from
it. The fitted parameters live here as tensors, so they save to safetensors with the
weights and sampling needs no scikit-learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from latentlab.errors import ConfigError

if TYPE_CHECKING:
    from latentlab.models.base import LatentModel


class LatentMixture:
    def __init__(self, weights: torch.Tensor, means: torch.Tensor, scale_tril: torch.Tensor) -> None:
        if means.ndim != 2 or means.shape[0] < 1:
            raise ConfigError("a latent mixture needs at least one component")
        k, d = means.shape
        if weights.shape != (k,) or scale_tril.shape != (k, d, d):
            raise ConfigError("latent mixture tensors have inconsistent shapes")
        if (weights < 0).any() or not weights.sum() > 0:
            raise ConfigError("latent mixture weights must be non-negative and not all zero")
        if not (torch.isfinite(weights).all() and torch.isfinite(means).all() and torch.isfinite(scale_tril).all()):
            raise ConfigError("latent mixture holds non-finite numbers")
        self.weights = weights.float().cpu()
        self.means = means.float().cpu()
        self.scale_tril = scale_tril.float().cpu()

    @classmethod
    def fit(cls, latents: np.ndarray | torch.Tensor, n_components: int = 10, seed: int = 0) -> "LatentMixture":
        from sklearn.mixture import GaussianMixture

        z = latents.detach().cpu().numpy() if isinstance(latents, torch.Tensor) else np.asarray(latents)
        n_components = max(1, min(n_components, len(z)))
        gmm = GaussianMixture(n_components, covariance_type="full", random_state=seed, reg_covar=1e-4)
        gmm.fit(z.astype(np.float64))
        chol = np.linalg.cholesky(gmm.covariances_)
        return cls(torch.from_numpy(gmm.weights_), torch.from_numpy(gmm.means_), torch.from_numpy(chol))

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        gen_device = generator.device if generator is not None else "cpu"
        comp = torch.multinomial(self.weights.to(gen_device), n, replacement=True, generator=generator).cpu()
        eps = torch.randn(n, self.means.shape[1], generator=generator, device=gen_device).cpu()
        return self.means[comp] + (self.scale_tril[comp] @ eps.unsqueeze(-1)).squeeze(-1)

    def tensors(self) -> dict[str, torch.Tensor]:
        return {"weights": self.weights, "means": self.means, "scale_tril": self.scale_tril}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor]) -> "LatentMixture":
        try:
            return cls(tensors["weights"], tensors["means"], tensors["scale_tril"])
        except KeyError as exc:
            raise ConfigError(f"latent mixture is missing {exc.args[0]!r}") from None


@torch.no_grad()
def fit_latent_mixture(model: "LatentModel", images: torch.Tensor, n_components: int = 10, seed: int = 0,
                       labels: torch.Tensor | None = None) -> LatentMixture:
    """Encode ``images`` with ``model`` (posterior means; a conditional model under ``labels``),
    fit a mixture, attach and return it."""
    was_training = model.training
    model.eval()
    try:
        device = model.device
        z = torch.cat([
            model.encode(images[i : i + 1000].to(device), None if labels is None else labels[i : i + 1000].to(device))
            for i in range(0, len(images), 1000)
        ])
    finally:
        model.train(was_training)
    model.mixture = LatentMixture.fit(z, n_components=n_components, seed=seed)
    return model.mixture
