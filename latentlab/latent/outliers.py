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
    finally:
        model.train(was_training)
    return ranking_of(model, images, labels, k, scores.double().numpy(), score_name(model))


def ranking_of(model, images: torch.Tensor, labels, k: int, scores: np.ndarray, name: str) -> OutlierRanking:
    """The ``k`` images with the highest ``scores`` (one per image, any score), worst first,
    with ``model``'s reconstructions of them (from the posterior mean)."""
    scores_t = torch.as_tensor(np.asarray(scores, dtype=np.float64))
    order = torch.argsort(scores_t, descending=True, stable=True)[: min(k, len(images))]
    label_t = None if labels is None else torch.as_tensor(
        labels.cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)).long().reshape(-1)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            top_labels = None if label_t is None else label_t[order].to(model.device)
            recon = model.reconstruct(images[order].to(model.device).float(), top_labels).float().cpu()
    finally:
        model.train(was_training)
    label_arr = None if label_t is None else label_t.numpy()[order.numpy()]
    return OutlierRanking(
        indices=order.numpy().astype(np.int64),
        scores=scores_t[order].numpy(),
        reconstructions=recon,
        labels=label_arr,
        all_scores=scores_t.numpy(),
        score_name=name,
    )


# ------------------------------------------------------------- alternative scores
#: Outlier scores (higher = more unusual), by name: ``reconstruction`` is the score above
#: (−ELBO or reconstruction error), ``flow`` the code's −log density under the model's flow
#: prior, ``likelihood`` −log p(x) under a model with an exact likelihood (a PixelCNN).
SCORE_KINDS = ("reconstruction", "flow", "likelihood")
SCORE_UNITS = {"reconstruction": "nats per image", "flow": "nats per code", "likelihood": "nats per image"}


@torch.no_grad()
def flow_code_scores(model, images: torch.Tensor) -> np.ndarray:
    """−log p(z) of each image's code (posterior mean) under the model's flow prior, in nats
    per code: how unusual the code is, however well the image reconstructs."""
    from latentlab.models.flow import encode_images

    if not model.has_encoder or model.flow_prior is None:
        raise ConfigError(f"this {model.family} model has no flow prior on its codes; "
                          "fit one with `latentlab fit-prior CHECKPOINT --kind flow`")
    return (-model.flow_prior.log_prob(encode_images(model, images.float()))).double().numpy()


@torch.no_grad()
def likelihood_scores(model, images: torch.Tensor, labels: torch.Tensor | None = None) -> np.ndarray:
    """−log p(x) in nats per image under a model with an exact likelihood (``has_likelihood``)."""
    if not model.has_likelihood:
        raise ConfigError(f"a {model.family} model has no exact likelihood; score it by reconstruction")
    was_training = model.training
    model.eval()
    try:
        out = [model.nll(images[i : i + BATCH].to(model.device).float(),
                         None if labels is None else labels[i : i + BATCH])
               for i in range(0, len(images), BATCH)]
    finally:
        model.train(was_training)
    return torch.cat(out).double().cpu().numpy()


def image_scores(model, images: torch.Tensor, kind: str = "reconstruction", *, samples: int = ELBO_SAMPLES,
                 seed: int = 0) -> np.ndarray:
    """Every image's outlier score of ``kind`` (one of ``SCORE_KINDS``), in input order."""
    if kind == "flow":
        return flow_code_scores(model, images)
    if kind == "likelihood":
        return likelihood_scores(model, images)
    if kind != "reconstruction":
        raise ConfigError(f"unknown outlier score {kind!r}; choose one of {', '.join(SCORE_KINDS)}")
    return rank_outliers(model, images, k=1, samples=samples, seed=seed).all_scores
