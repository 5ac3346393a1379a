"""What the window asks of the model it shows: the ``ExplorableSession`` protocol.

Two classes implement it: ``latentlab.app.session.Session`` (PyTorch: trains, saves,
analyses) and ``latentlab.preview.session.PreviewSession`` (NumPy: the first screen,
while PyTorch loads). The explorer, the panels and the status bar read only what is
declared here, so neither probes the other's attributes; ``is_preview`` says which one
it is where that matters (the preview's jobs run on a lane without PyTorch models).
``tests/core/test_session_protocol.py`` checks that both implement every member.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from latentlab.app.jobs_base import Job
from latentlab.app.map_points import MapPoints


@runtime_checkable
class ExplorableSession(Protocol):
    """A model the map, the decoded view and the panels can show."""

    #: True for the first screen's NumPy stand-in (no training, analysis or saving).
    is_preview: bool
    path: Path | None
    family: str
    latent_dim: int
    has_beta: bool
    class_names: list[str]
    #: (N, H, W) or (N, H, W, 3) uint8: the hover previews of the map's points.
    test_images: np.ndarray
    judge: Any  # a classifier with ``predict``, or None (no territory, no verdict)
    history: list[dict]
    metrics: dict
    #: The class a conditional model is asked for (the legend's picker); None otherwise.
    condition: int | None

    @property
    def conditional(self) -> bool:
        """The model is told the class (``condition``) and its latent holds only the style."""

    @property
    def can_discriminate(self) -> bool:
        """The model has a discriminator (or critic) whose view of the plane can be painted."""

    @property
    def beta(self) -> float | None:
        """The KL weight, for a model with a KL term."""

    @property
    def config(self) -> dict:
        """The model's settings, as ``ModelConfig.to_dict()`` (the training panel's fields)."""

    @property
    def loss_parts(self) -> tuple[str, ...]:
        """The named parts of the loss: the loss plot's curves."""

    @property
    def data_note(self) -> str:
        """Why there are no data points ("" when there are)."""

    @property
    def epochs_done(self) -> float: ...

    def describe(self) -> str: ...

    def kl_per_dim(self) -> list[float] | None: ...

    def dataset_counts(self) -> tuple[str, int | None, int | None]:
        """The dataset's name, training and test images (None: not known)."""

    def map_points(self) -> MapPoints: ...

    def decode(self, z: np.ndarray) -> np.ndarray: ...

    def decode_image(self, z: np.ndarray) -> np.ndarray: ...

    def judge_image(self, image: np.ndarray) -> tuple[int, float] | None: ...

    def territory_job(self, projection: Any, x_range, y_range, colors: np.ndarray,
                      resolutions: tuple[int, ...]) -> Job: ...

    def manifold_job(self, projection: Any, x_range, y_range, n: int) -> Job: ...


def protocol_members() -> tuple[str, ...]:
    """The names every implementation must have (the test checks both classes)."""
    names = set(getattr(ExplorableSession, "__annotations__", {}))
    names |= {n for n, v in vars(ExplorableSession).items()
              if not n.startswith("_") and (callable(v) or isinstance(v, property))}
    return tuple(sorted(names))
