"""Finding the judge for a dataset: bundled, cached, or trained once and cached.

Generators are evaluated by a classifier trained on their dataset. A judge for the
bundled ``mnist-5k`` ships in ``resources/pretrained``; for any other dataset one is
trained on first use and kept in the user's cache folder.

Its training is bounded, whatever the set's size: at most :data:`JUDGE_PIXEL_BUDGET`
pixel-steps (images x epochs x height x width), so a 60,000-image set trains for two
epochs on a fixed random 30,000 of its images instead of fifteen epochs on all (about one
CPU-minute; measured figures are in the README). It reports progress through
the Trainer's callbacks and stops when its ``control`` asks; a judge that was stopped is
not cached.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

from latentlab.data import ImageDataset, Split, cache_dir, resources_dir
from latentlab.errors import CheckpointError, TrainingError
from latentlab.models.base import ROLE_JUDGE, LatentModel
from latentlab.models.registry import create_model, make_config

JUDGE_EPOCHS = 15
#: Fewest epochs a judge trains for, however large its set.
MIN_JUDGE_EPOCHS = 2
#: Judges trained for fewer epochs than this see no augmented images.
MIN_AUGMENT_EPOCHS = 5
#: What a judge may train on at most: 60,000 images x epochs of 28 x 28 pixels. On
#: mnist-5k that is all 15 epochs; on a 60,000-image set, two epochs of 30,000 of them.
JUDGE_PIXEL_BUDGET = 60_000 * 28 * 28


def judge_plan(n_train: int, image_shape: tuple[int, int, int] | list[int]) -> tuple[int, int]:
    """(epochs, training images) of a judge for a training split of ``n_train`` images."""
    height, width = int(image_shape[1]), int(image_shape[2])
    budget = max(1, JUDGE_PIXEL_BUDGET // (height * width))
    epochs = max(MIN_JUDGE_EPOCHS, min(JUDGE_EPOCHS, budget // max(n_train, 1)))
    return epochs, max(1, min(n_train, budget // epochs))


def judge_subset(dataset: ImageDataset, n_images: int, seed: int = 0) -> ImageDataset:
    """``dataset`` with a fixed random ``n_images`` of its training split (the whole when it
    has no more); the test split stays whole, so the accuracy is measured on all of it."""
    if n_images >= len(dataset.train):
        return dataset
    rows = torch.randperm(len(dataset.train), generator=torch.Generator().manual_seed(seed))[:n_images]
    train = dataset.train
    return replace(dataset, train=Split(train.images[rows], train.labels[rows]))


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
    epochs: int | None = None,
    seed: int = 0,
    callbacks=(),
    control=None,
) -> tuple[LatentModel, dict]:
    """Train a judge on ``dataset``; returns the model and its test metrics.

    ``epochs`` None follows :func:`judge_plan` (subsampling a large set). ``callbacks``
    and ``control`` go to the Trainer, for progress and to stop it; a stopped judge is a
    :class:`TrainingError`.
    """
    from latentlab.training.trainer import Trainer, TrainSettings

    planned, n_images = judge_plan(len(dataset.train), dataset.image_shape)
    if epochs is None:
        epochs, dataset = planned, judge_subset(dataset, n_images, seed)
    torch.manual_seed(seed)
    # Augmentation counters over-fitting, which needs many passes over the same images; in two
    # passes it only slows learning (Fashion-MNIST, 30,000 x 2: 80.0% with it, 87.2% without).
    judge = create_model(make_config("judge", image_shape=list(dataset.image_shape), num_classes=dataset.num_classes,
                                     augment=epochs >= MIN_AUGMENT_EPOCHS))
    settings = TrainSettings(epochs=epochs, seed=seed, device=str(device), evaluate_every=0)
    result = Trainer(judge, dataset, settings, callbacks=callbacks, control=control).fit()
    if result.status != "finished":
        raise TrainingError(f"the judge for {dataset.name} was not trained: {result.message}")
    metrics = {**result.metrics, "judge_train_images": len(dataset.train), "judge_epochs": epochs}
    return judge.eval(), metrics


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
    epochs, n_images = judge_plan(len(dataset.train), dataset.image_shape)
    log(f"training a judge classifier for {dataset.name} on {n_images:,} images for {epochs} epochs "
        "(once; cached afterwards)")
    judge, metrics = train_judge(dataset, device, callbacks=callbacks, control=control)
    from latentlab.models.checkpoint import save_checkpoint

    path = judge_paths(dataset.name)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, judge.cpu(), dataset=dataset.info(), metrics=metrics)
    log(f"judge test accuracy {metrics.get('test_accuracy', float('nan')):.1%}, saved to {path}")
    return judge.to(device)
