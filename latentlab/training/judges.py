"""Finding the judge for a dataset: bundled, cached, or trained once and cached.

Generators are evaluated by a classifier trained on their dataset. A judge for the
bundled ``mnist-5k`` ships in ``resources/pretrained``; for any other dataset one is
trained on first use (seconds on mnist-5k) and kept in the user's cache folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from latentlab.data import ImageDataset, cache_dir, resources_dir
from latentlab.errors import CheckpointError, TrainingError
from latentlab.models.base import ROLE_JUDGE, LatentModel
from latentlab.models.registry import create_model, make_config

JUDGE_EPOCHS = 15


def _safe_name(dataset_name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in dataset_name)


def judge_paths(dataset_name: str) -> list[Path]:
    name = f"judge-{_safe_name(dataset_name)}.safetensors"
    return [resources_dir() / "pretrained" / name, cache_dir() / "judges" / name]


def find_judge(dataset: ImageDataset | dict, device: str | torch.device = "cpu") -> LatentModel | None:
    """A saved judge matching this dataset's name, image shape and classes, or None."""
    from latentlab.models.checkpoint import load_checkpoint

    info = dataset.info() if isinstance(dataset, ImageDataset) else dataset
    for path in judge_paths(info["name"]):
        if not path.exists():
            continue
        try:
            ckpt = load_checkpoint(path, device=device)
        except CheckpointError:
            continue  # a broken cache entry is retrained, not fatal
        if (
            ckpt.model.role == ROLE_JUDGE
            and list(ckpt.dataset.get("image_shape", [])) == list(info["image_shape"])
            and list(ckpt.dataset.get("class_names", [])) == list(info["class_names"])
        ):
            return ckpt.model
    return None


def train_judge(
    dataset: ImageDataset,
    device: str | torch.device = "auto",
    *,
    epochs: int = JUDGE_EPOCHS,
    seed: int = 0,
    callbacks=(),
    control=None,
) -> tuple[LatentModel, dict]:
    """Train a judge on ``dataset``; returns the model and its test metrics.

    ``callbacks`` and ``control`` go to the Trainer, for progress and to stop it.
    """
    from latentlab.training.trainer import Trainer, TrainSettings

    torch.manual_seed(seed)
    judge = create_model(make_config("judge", image_shape=list(dataset.image_shape), num_classes=dataset.num_classes))
    settings = TrainSettings(epochs=epochs, seed=seed, device=str(device), evaluate_every=0)
    result = Trainer(judge, dataset, settings, callbacks=callbacks, control=control).fit()
    if result.status != "finished":
        raise TrainingError(f"the judge for {dataset.name} was not trained: {result.message}")
    return judge.eval(), result.metrics


def get_judge(
    dataset: ImageDataset,
    device: str | torch.device = "cpu",
    *,
    log: Callable[[str], None] = lambda msg: None,
    callbacks=(),
    control=None,
) -> LatentModel:
    """The judge for ``dataset``: found on disk, or trained now (with ``callbacks`` for
    progress and ``control`` to stop it) and cached."""
    from latentlab.training.device import resolve_device

    device = resolve_device(device)
    judge = find_judge(dataset, device)
    if judge is not None:
        return judge
    log(f"training a judge classifier for {dataset.name} (once; cached afterwards)")
    judge, metrics = train_judge(dataset, device, callbacks=callbacks, control=control)
    from latentlab.models.checkpoint import save_checkpoint

    path = judge_paths(dataset.name)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, judge.cpu(), dataset=dataset.info(), metrics=metrics)
    log(f"judge test accuracy {metrics.get('test_accuracy', float('nan')):.1%}, saved to {path}")
    return judge.to(device)
