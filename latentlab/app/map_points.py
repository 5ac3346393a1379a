"""The points of the latent map (no PyTorch: the first screen's preview makes them too)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class MapPoints:
    """The points of the latent map, in latent coordinates."""

    latents: np.ndarray  # (N, D) float32
    labels: np.ndarray  # (N,) int64, -1 where the class is not known yet
    from_data: bool  # True: test-set encodings; False: prior samples (GAN families)
    #: True when ``labels`` are the classes a conditional model was asked for (its prior
    #: samples are drawn under given classes), not classes for the judge to find.
    requested: bool = False
