"""Planted outliers: how well does a score find images that do not belong?

The held-out set is the test split as it is (the inliers) plus, for each kind of
outlier, ``n`` test images changed so that they are no longer digits as the training set
knows them: turned by 90° or 180°, or inverted (white background); and letters from
``emnist-letters`` when that set is already downloaded (never downloaded here). Each kind
is scored against the inliers by the ROC AUC of the score: the chance that a random
outlier scores higher than a random inlier (1 perfect, 0.5 chance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentlab.errors import DatasetError

PLANTED_KINDS = ("rotated 90°", "rotated 180°", "inverted", "letters")


@dataclass
class PlantedSet:
    inliers: torch.Tensor  # (N, C, H, W)
    outliers: dict[str, torch.Tensor]  # kind -> (n, C, H, W)


def planted_outliers(test_images: torch.Tensor, n: int = 200, seed: int = 0, *, letters: bool = True) -> PlantedSet:
    """The inliers (all of ``test_images``) and ``n`` outliers of each kind (see the module
    docstring); letters only when ``emnist-letters`` is cached at the same image size."""
    g = torch.Generator().manual_seed(seed)
    pick = test_images[torch.randperm(len(test_images), generator=g)[:n]]
    outliers = {
        "rotated 90°": torch.rot90(pick, 1, dims=(2, 3)),
        "rotated 180°": torch.rot90(pick, 2, dims=(2, 3)),
        "inverted": 1.0 - pick,
    }
    if letters:
        found = cached_letters(test_images.shape[1:], n, seed)
        if found is not None:
            outliers["letters"] = found
    return PlantedSet(test_images, outliers)


def cached_letters(shape, n: int, seed: int) -> torch.Tensor | None:
    """``n`` test images of ``emnist-letters`` if it is already downloaded, else None."""
    from latentlab.data import load_dataset

    channels, size = int(shape[0]), int(shape[1])
    try:
        letters = load_dataset("emnist-letters", image_size=size, channels=channels, download=False)
    except (DatasetError, OSError):
        return None
    g = torch.Generator().manual_seed(seed)
    return letters.test.images[torch.randperm(len(letters.test.images), generator=g)[:n]]


def roc_auc(inlier_scores: np.ndarray, outlier_scores: np.ndarray) -> float:
    """P(outlier score > inlier score) + ½ P(equal): the area under the ROC curve."""
    from scipy.stats import rankdata

    scores = np.concatenate([np.asarray(inlier_scores, float), np.asarray(outlier_scores, float)])
    ranks = rankdata(scores)
    n_in, n_out = len(inlier_scores), len(outlier_scores)
    return float((ranks[n_in:].sum() - n_out * (n_out + 1) / 2) / (n_in * n_out))
