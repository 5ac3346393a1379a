"""The judge: a small CNN classifier trained on the same dataset as the generative models.

It labels what decoders and generators produce: the class of G(z) to colour a GAN's
latent map, the class of every frame along an interpolation path, and sample-quality
metrics. Its penultimate layer (``latent_dim`` wide) is the feature space of the
Fréchet distance between generated and real images.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.models.base import ROLE_JUDGE, LatentModel
from latentlab.models.config import ModelConfig, setting
from latentlab.models.registry import register


def random_affine(x: torch.Tensor, max_shift: float = 0.1, max_degrees: float = 10.0) -> torch.Tensor:
    """Small random rotations, scalings and shifts, per image: cheap augmentation."""
    n = x.shape[0]
    angle = (torch.rand(n, device=x.device) * 2 - 1) * math.radians(max_degrees)
    scale = 1.0 + (torch.rand(n, device=x.device) * 2 - 1) * 0.1
    shift = (torch.rand(n, 2, device=x.device) * 2 - 1) * max_shift * 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="zeros")


@dataclass
class JudgeConfig(ModelConfig):
    backbone: str = "conv"
    latent_dim: int = setting(
        128, "Feature width", "Width of the judge's feature layer, the space of the Fréchet distance",
        minimum=1, maximum=1024)
    augment: bool = setting(
        True, "Augment", "Train on small random rotations, scalings and shifts of the images")


@register("judge")
class Judge(LatentModel):
    """The judge's role is "judge": it is trained and saved like a model (``latentlab train
    --model judge``) but labels other models' images instead of being explored."""

    title = "Judge (classifier)"
    role = ROLE_JUDGE
    config_class = JudgeConfig
    has_encoder = False
    has_decoder = False
    classifier = "image"
    loss_parts = ("loss", "accuracy")

    def __init__(self, config: JudgeConfig) -> None:
        super().__init__(config)
        c, h, w = config.image_shape
        side = lambda s: math.ceil(math.ceil(s / 2) / 2)  # noqa: E731
        self.trunk = nn.Sequential(
            nn.Conv2d(c, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True),
            nn.Flatten(), nn.Dropout(0.25),
            nn.Linear(64 * side(h) * side(w), config.latent_dim), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(config.latent_dim, config.num_classes))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits, shape (N, num_classes)."""
        return self.head(self.trunk(x))

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(class, confidence) per image."""
        conf, cls = F.softmax(self.classify(x), dim=1).max(dim=1)
        return cls, conf

    def loss(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if y is None:
            raise ValueError("the judge needs labels to train")
        if self.training and self.config.augment:
            x = random_affine(x)
        logits = self.classify(x)
        loss = F.cross_entropy(logits, y)
        return {"loss": loss, "accuracy": (logits.argmax(1) == y).float().mean()}

    def evaluation_terms(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"test_accuracy": (self.classify(x).argmax(1) == y).float()}
