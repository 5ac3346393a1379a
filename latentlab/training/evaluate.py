"""Evaluation on the test split: the numbers `latentlab info` reports for each family.

All reconstruction figures are nats per image (summed over pixels, averaged over
images). Sampling metrics use the judge (a classifier trained on the same data):
its class histogram of ``n_samples`` generated images, their mean confidence, and
the Fréchet distance between generated and test images in its feature space.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from latentlab.data import ImageDataset
from latentlab.models.base import LatentModel
from latentlab.training.frechet import frechet_distance

EVAL_BATCH = 500


def _batches(x: torch.Tensor, y: torch.Tensor, size: int = EVAL_BATCH) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    for i in range(0, len(x), size):
        yield x[i : i + size], y[i : i + size]


@torch.no_grad()
def encode_all(model: LatentModel, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """Deterministic latents (posterior means) of every image, on the model's device; a
    conditional model encodes each image under its label."""
    return latent_stats_all(model, images, labels)[0]


@torch.no_grad()
def latent_stats_all(
    model: LatentModel, images: torch.Tensor, labels: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(latents (N, D) on the model's device, mean KL per latent dimension (D,) or None for a
    family without a prior): what the map and the KL bars show, asked of the model."""
    device = model.device
    means, kl_sum = [], None
    for i in range(0, len(images), EVAL_BATCH):
        yb = None if labels is None else labels[i : i + EVAL_BATCH].to(device)
        stats = model.latent_stats(images[i : i + EVAL_BATCH].to(device), yb)
        means.append(stats.mean)
        if stats.kl_dims is not None:
            part = stats.kl_dims.sum(0)
            kl_sum = part if kl_sum is None else kl_sum + part
    z = torch.cat(means) if means else torch.zeros(0, model.latent_dim, device=device)
    return z, None if kl_sum is None else kl_sum / max(len(images), 1)


@torch.no_grad()
def judge_features(judge: LatentModel, images: torch.Tensor) -> np.ndarray:
    device = judge.device
    feats = [judge.features(images[i : i + EVAL_BATCH].to(device)) for i in range(0, len(images), EVAL_BATCH)]
    return torch.cat(feats).float().cpu().numpy()


@torch.no_grad()
def judge_predict(judge: LatentModel, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(class, confidence) for every image, on the CPU."""
    device = judge.device
    out = [judge.predict(images[i : i + EVAL_BATCH].to(device)) for i in range(0, len(images), EVAL_BATCH)]
    return torch.cat([c for c, _ in out]).cpu(), torch.cat([p for _, p in out]).cpu()


@torch.no_grad()
def judge_probabilities(judge: LatentModel, images: torch.Tensor) -> torch.Tensor:
    """The judge's class probabilities (N, K) for every image, on the CPU."""
    device = judge.device
    return torch.cat([torch.softmax(judge.classify(images[i : i + EVAL_BATCH].to(device)), 1).cpu()
                      for i in range(0, len(images), EVAL_BATCH)])


def evaluate(
    model: LatentModel,
    dataset: ImageDataset,
    *,
    judge: LatentModel | None = None,
    n_samples: int = 1000,
    seed: int = 0,
    sample_metrics: bool = True,
) -> dict[str, float | list[float]]:
    """Test-split metrics for ``model``; sampling metrics need a ``judge``.

    Runs in eval mode and restores the model's previous mode. Randomness (the VAE's z
    sample, GAN noise) comes from a forked RNG seeded with ``seed``, so two calls agree
    and the caller's RNG stream is untouched.
    """
    was_training = model.training
    model.eval()
    devices = [model.device] if model.device.type == "cuda" else []
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            metrics = _test_metrics(model, dataset, judge)
            if sample_metrics and judge is not None and model.has_decoder and (
                model.default_sample_source == "prior" or model.mixture is not None
            ):
                metrics.update(sample_quality(model, judge, dataset, n_samples))
    finally:
        model.train(was_training)
    return metrics


def _test_metrics(model: LatentModel, dataset: ImageDataset, judge: LatentModel | None) -> dict:
    """The model's own per-image figures (``evaluation_terms``) averaged over the test split,
    and the judge's accuracy on reconstructions for models that encode and decode."""
    device = model.device
    x_all, y_all = dataset.test.images, dataset.test.labels
    sums: dict[str, torch.Tensor] = {}
    correct_judge = 0
    judge_recon = judge is not None and model.has_encoder and model.has_decoder
    for xb, yb in _batches(x_all, y_all):
        xb, yb = xb.to(device), yb.to(device)
        for name, value in model.evaluation_terms(xb, yb).items():
            total = value.detach().float().sum(0)
            sums[name] = total if name not in sums else sums[name] + total
        if judge_recon:
            cls, _ = judge.predict(model.reconstruct(xb, yb).to(judge.device))
            correct_judge += int((cls.to(device) == yb).sum())
    n = len(x_all)
    out: dict[str, float | list[float]] = {
        name: float(total) / n if total.dim() == 0 else (total / n).cpu().tolist() for name, total in sums.items()
    }
    if judge_recon:
        out["judge_recon_accuracy"] = correct_judge / n
    return out


@torch.no_grad()
def sample_quality(model: LatentModel, judge: LatentModel, dataset: ImageDataset, n: int = 1000,
                   source: str | None = None) -> dict:
    """The judge's view of ``n`` samples (latents from ``source``, see ``sample_latents``):
    class shares, confidence, Fréchet distance; for a conditional model (which is asked for
    the classes in turn) also how often and how confidently the judge sees the class that
    was asked for."""
    requested = torch.arange(n) % dataset.num_classes if model.conditional else None
    samples = torch.cat([
        model.sample(min(EVAL_BATCH, n - i), source=source,
                     y=None if requested is None else requested[i : i + EVAL_BATCH])
        for i in range(0, n, EVAL_BATCH)
    ])
    probabilities = judge_probabilities(judge, samples)
    conf, cls = probabilities.max(1)
    shares = torch.bincount(cls, minlength=dataset.num_classes).float() / n
    fid = frechet_distance(judge_features(judge, samples), judge_features(judge, dataset.test.images))
    out = {
        "sample_class_shares": shares.tolist(),
        "sample_min_class_share": float(shares.min()),
        "sample_mean_confidence": float(conf.mean()),
        "judge_fid": fid,
    }
    if requested is not None:
        out.update(class_agreement(cls, probabilities, requested, dataset.num_classes))
    return out


def class_agreement(judged: torch.Tensor, probabilities: torch.Tensor, requested: torch.Tensor,
                    num_classes: int) -> dict:
    """How well samples asked for ``requested`` classes match them in the judge's eyes: the
    share judged as asked, per class and overall, the worst class's share, and the lowest
    per-class mean probability the judge gives the class asked for."""
    agree = (judged == requested).float()
    asked_probability = probabilities.gather(1, requested[:, None]).squeeze(1)
    per_class = [float(agree[requested == c].mean()) for c in range(num_classes) if (requested == c).any()]
    confidence = [float(asked_probability[requested == c].mean()) for c in range(num_classes)
                  if (requested == c).any()]
    return {
        "sample_agreement": float(agree.mean()),
        "sample_class_agreement": per_class,
        "sample_min_class_agreement": min(per_class),
        "sample_min_class_confidence": min(confidence),
    }


def fit_sampling_mixture(model: LatentModel, dataset: ImageDataset) -> bool:
    """Fit the Gaussian mixture that autoencoders sample from (the material's recipe; VAEs
    may use it too) on the encoded training split (a conditional model encodes each image
    under its label). False for models without an encoder."""
    if not (model.has_encoder and model.has_decoder):
        return False
    from latentlab.models.mixture import fit_latent_mixture

    fit_latent_mixture(model, dataset.train.images.to(model.device), n_components=dataset.num_classes,
                       labels=dataset.train.labels)
    return True
