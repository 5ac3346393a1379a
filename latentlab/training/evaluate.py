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
from latentlab.models.ae import reconstruction_nats
from latentlab.models.base import LatentModel
from latentlab.training.frechet import frechet_distance

EVAL_BATCH = 500


def _batches(x: torch.Tensor, y: torch.Tensor, size: int = EVAL_BATCH) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    for i in range(0, len(x), size):
        yield x[i : i + size], y[i : i + size]


@torch.no_grad()
def encode_all(model: LatentModel, images: torch.Tensor) -> torch.Tensor:
    """Deterministic latents (posterior means) of every image, on the model's device."""
    device = model.device
    return torch.cat([model.encode(images[i : i + EVAL_BATCH].to(device)) for i in range(0, len(images), EVAL_BATCH)])


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
    device = model.device
    x_all, y_all = dataset.test.images, dataset.test.labels
    sums: dict[str, float] = {}
    kl_dims = None
    correct_head = correct_judge = 0

    def add(name: str, value: torch.Tensor) -> None:
        sums[name] = sums.get(name, 0.0) + float(value.sum())

    for xb, yb in _batches(x_all, y_all):
        xb, yb = xb.to(device), yb.to(device)
        if model.family == "judge":
            correct_head += int((model.classify(xb).argmax(1) == yb).sum())
            continue
        if model.has_beta:  # vae, msvae
            p = model.elbo_parts(xb)
            add("recon", p["recon"])
            add("kl", p["kl"])
            kl_dims = p["kl_dims"].sum(0) if kl_dims is None else kl_dims + p["kl_dims"].sum(0)
            if hasattr(model, "classify"):
                correct_head += int((model.classify(p["mu"]).argmax(1) == yb).sum())
            recon_images = model.decode(p["mu"])
        elif model.has_encoder:  # ae
            z = model.encode(xb)
            add("recon", reconstruction_nats(model.decoder(z), xb))
            recon_images = model.decode(z)
        else:  # GAN families: both players' losses on the test images
            for name, value in model.loss(xb).items():
                add(name, value * len(xb))
            continue
        if judge is not None:
            cls, _ = judge.predict(recon_images.to(judge.device))
            correct_judge += int((cls.to(device) == yb).sum())

    n = len(x_all)
    out: dict[str, float | list[float]] = {}
    if model.family == "judge":
        return {"test_accuracy": correct_head / n}
    if model.has_beta:
        out["test_recon"] = sums["recon"] / n
        out["test_kl"] = sums["kl"] / n
        out["test_neg_elbo"] = (sums["recon"] + sums["kl"]) / n
        out["kl_per_dim"] = (kl_dims / n).cpu().tolist()
        if hasattr(model, "classify"):
            out["head_accuracy"] = correct_head / n
    elif model.has_encoder:
        out["test_recon"] = sums["recon"] / n
    else:
        out.update({f"test_{k}": v / n for k, v in sums.items()})
    if judge is not None and model.has_encoder:
        out["judge_recon_accuracy"] = correct_judge / n
    return out


@torch.no_grad()
def sample_quality(model: LatentModel, judge: LatentModel, dataset: ImageDataset, n: int = 1000,
                   source: str | None = None) -> dict:
    """The judge's view of ``n`` samples (latents from ``source``, see ``sample_latents``):
    class shares, confidence, Fréchet distance."""
    samples = torch.cat([model.sample(min(EVAL_BATCH, n - i), source=source) for i in range(0, n, EVAL_BATCH)])
    cls, conf = judge_predict(judge, samples)
    shares = torch.bincount(cls, minlength=dataset.num_classes).float() / n
    fid = frechet_distance(judge_features(judge, samples), judge_features(judge, dataset.test.images))
    return {
        "sample_class_shares": shares.tolist(),
        "sample_min_class_share": float(shares.min()),
        "sample_mean_confidence": float(conf.mean()),
        "judge_fid": fid,
    }


def fit_sampling_mixture(model: LatentModel, dataset: ImageDataset) -> bool:
    """Fit the Gaussian mixture that autoencoders sample from (the material's recipe; VAEs
    may use it too) on the encoded training split. False for models without an encoder."""
    if not (model.has_encoder and model.has_decoder):
        return False
    from latentlab.models.mixture import fit_latent_mixture

    fit_latent_mixture(model, dataset.train.images.to(model.device), n_components=dataset.num_classes)
    return True
