"""The discriminator's background job: D(G(z)) over a region of the map, coarse to fine.

A GAN's map can show, instead of the judge's class territory, how real its discriminator
finds what each latent point generates (``latentlab.latent.realness``; GAN Lab's picture).
It runs like the territory: in the explorer's territory lane, from the session's weight
snapshot (the lane's own model copy, never the model a training run is changing), and it
fills the same background image, so a newer request of either replaces an older one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from latentlab.latent.realness import realness, realness_rgba

from latentlab.app.jobs import ModelCache, ModelSnapshot
from latentlab.app.jobs_base import CoarseToFineJob, TerritoryImage


@dataclass
class RealnessImage(TerritoryImage):
    #: D(G(z)) of each cell of the grid (row 0 = lowest y): a probability, or a critic's value.
    scores: np.ndarray | None = None
    score_kind: str = "probability"


@dataclass
class RealnessJob(CoarseToFineJob):
    """D(G(z)) on every cell of a region, coarse first; fills the map's background slot."""

    kind = "territory"  # the same slot as the judge's territory: the newest of either wins
    snapshot: ModelSnapshot
    projection: Any
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    resolutions: tuple[int, ...] = (16, 32, 48)
    smooth: int = 4
    condition: int | None = None  # a conditional model's class

    def paint(self, models: ModelCache, resolution: int) -> RealnessImage:
        model = models.get(self.snapshot)  # outside inference mode: its weights are updated in place later
        with torch.inference_mode():
            result = realness(model, self.projection, self.x_range, self.y_range, resolution,
                              y=self.condition)
        return RealnessImage(realness_rgba(result, smooth=self.smooth), self.x_range, self.y_range, resolution,
                             background="realness", scores=result.scores, score_kind=result.kind)
