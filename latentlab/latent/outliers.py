"""Outlier detection by reconstruction error: the images a model explains worst.

The score of one image is the model's own ``score_images``, in nats (the units of the
training loss, summed over pixels); its ``score_name`` labels the axis:

* **VAE families** ("-ELBO"): the negative ELBO, reconstruction + KL(q(z|x) || N(0, I)),
  with β = 1 whatever β the model was trained with, so the score is a bound on
  -log p(x) and scores of a β ladder are comparable. The reconstruction term is
  averaged over ``samples`` draws of z (fixed seed), since one draw makes the ranking
  jitter. A conditional VAE scores an image under its label (a bound on -log p(x | y)).
* **Autoencoders** ("reconstruction error"): the Bernoulli reconstruction error of
  decode(encode(x)), the autoencoder's own training loss. There is no KL term.
* **GANs** have no encoder and no likelihood (``score_name`` None); they are refused
  with a ConfigError.

High scores are images unlike the training set: mislabelled, badly written, cropped.
The reconstructions shown next to them are decoded from the deterministic latent
(the posterior mean), what the user sees when they encode the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentlab.errors import ConfigError

BATCH = 500
ELBO_SAMPLES = 8


@dataclass
class OutlierRanking:
    indices: np.ndarray  # (k,) rows of ``images``, worst first
    scores: np.ndarray  # (k,) their scores, descending
    reconstructions: torch.Tensor  # (k, C, H, W) CPU, in [0, 1]
    labels: np.ndarray | None  # (k,) their labels, when labels were given
    all_scores: np.ndarray  # (N,) every image's score, in input order (for a histogram)
    score_name: str  # "-ELBO" or "reconstruction error", for axis labels


def score_name(model) -> str:
    return model.score_name or "score"


@torch.no_grad()
def _scores(model, x: torch.Tensor, y: torch.Tensor | None, samples: int) -> torch.Tensor:
    return model.score_images(x, y, samples=samples)


def _labels_of(labels: torch.Tensor | None, start: int, device) -> torch.Tensor | None:
    return None if labels is None else labels[start : start + BATCH].to(device)


def rank_outliers(model, images: torch.Tensor, labels=None, k: int = 16, *, samples: int = ELBO_SAMPLES,
                  seed: int = 0) -> OutlierRanking:
    """The ``k`` images with the highest score (see the module docstring), worst first.

    Deterministic: the VAE's z draws come from a forked RNG seeded with ``seed``, so the
    caller's random stream is untouched.
    """
    if model.score_name is None:
        raise ConfigError(
            f"a {model.family} model cannot score images by how well it explains them (it has no encoder "
            "or no likelihood); rank outliers with an autoencoder or a VAE"
        )
    if model.conditional and labels is None:
        raise ConfigError(f"a {model.family} model scores an image under its class: give the labels")
    shape = tuple(model.config.image_shape)
    if images.dim() != 4 or tuple(images.shape[1:]) != shape or len(images) == 0:
        raise ConfigError(f"outlier ranking needs images of shape (N, {', '.join(map(str, shape))}), "
                          f"got {tuple(images.shape)}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"k must be a whole number >= 1, got {k!r}")
    if samples < 1:
        raise ConfigError(f"samples must be >= 1, got {samples!r}")
    label_t = None if labels is None else torch.as_tensor(
        labels.cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)).long().reshape(-1)
    if label_t is not None and len(label_t) != len(images):
        raise ConfigError(f"{len(label_t)} labels for {len(images)} images")
    device = model.device
    devices = [device] if device.type == "cuda" else []
    was_training = model.training
    model.eval()
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            scores = torch.cat([_scores(model, images[i : i + BATCH].to(device).float(),
                                        _labels_of(label_t, i, device), samples).cpu()
                                for i in range(0, len(images), BATCH)])
        order = torch.argsort(scores, descending=True, stable=True)[: min(k, len(images))]
        with torch.no_grad():
            top_labels = None if label_t is None else label_t[order].to(device)
            recon = model.reconstruct(images[order].to(device).float(), top_labels).float().cpu()
    finally:
        model.train(was_training)
    label_arr = None if label_t is None else label_t.numpy()[order.numpy()]
    return OutlierRanking(
        indices=order.numpy().astype(np.int64),
        scores=scores[order].double().numpy(),
        reconstructions=recon,
        labels=label_arr,
        all_scores=scores.double().numpy(),
        score_name=score_name(model),
    )
