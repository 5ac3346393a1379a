"""Encoder and decoder trunks shared by every family.

``mlp``: dense layers on the flattened image. ``conv``: two strided Conv2d layers
(each halves the side, rounding up) and a dense layer; the decoder mirrors it with
ConvTranspose2d layers (each doubles the side) and crops to the exact image size, so
any side from 4 pixels up works (8x8 digits, 28x28 MNIST, 32x32 folders).

Decoders return logits; families apply the sigmoid, so losses can use the numerically
stable ``binary_cross_entropy_with_logits``.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _act(name: str) -> nn.Module:
    return nn.LeakyReLU(0.2) if name == "lrelu" else nn.ReLU()


def _down(side: int) -> int:
    return math.ceil(math.ceil(side / 2) / 2)


class Encoder(nn.Module):
    """Image (N, C, H, W) -> features (N, out_features)."""

    def __init__(
        self,
        backbone: str,
        image_shape: tuple[int, int, int],
        hidden: int,
        *,
        act: str = "relu",
        dropout: float = 0.0,
        norm: bool = False,
    ) -> None:
        super().__init__()
        c, h, w = image_shape
        layers: list[nn.Module] = []
        if backbone == "mlp":
            layers += [nn.Flatten(), nn.Linear(c * h * w, hidden)]
            layers += [nn.LayerNorm(hidden)] if norm else []
            layers += [_act(act), nn.Dropout(dropout), nn.Linear(hidden, hidden // 2), _act(act)]
            layers += [nn.Dropout(dropout)] if dropout else []
        else:
            layers += [nn.Conv2d(c, 32, 3, stride=2, padding=1), _act(act)]
            layers += [nn.Dropout2d(dropout)] if dropout else []
            layers += [nn.Conv2d(32, 64, 3, stride=2, padding=1)]
            layers += [nn.GroupNorm(8, 64)] if norm else []
            layers += [_act(act)]
            layers += [nn.Dropout2d(dropout)] if dropout else []
            layers += [nn.Flatten(), nn.Linear(64 * _down(h) * _down(w), hidden // 2), _act(act)]
        self.net = nn.Sequential(*layers)
        self.out_features = hidden // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class Decoder(nn.Module):
    """Latent (N, latent_dim) -> logits (N, C, H, W)."""

    def __init__(
        self,
        backbone: str,
        latent_dim: int,
        image_shape: tuple[int, int, int],
        hidden: int,
        *,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        c, h, w = image_shape
        self.image_shape = image_shape

        def bn1(n: int) -> list[nn.Module]:
            return [nn.BatchNorm1d(n)] if batch_norm else []

        def bn2(n: int) -> list[nn.Module]:
            return [nn.BatchNorm2d(n)] if batch_norm else []

        if backbone == "mlp":
            self.net = nn.Sequential(
                nn.Linear(latent_dim, hidden // 2), *bn1(hidden // 2), nn.ReLU(),
                nn.Linear(hidden // 2, hidden), *bn1(hidden), nn.ReLU(),
                nn.Linear(hidden, c * h * w),
                nn.Unflatten(1, (c, h, w)),
            )
        else:
            dh, dw = _down(h), _down(w)
            self.net = nn.Sequential(
                nn.Linear(latent_dim, hidden // 2), *bn1(hidden // 2), nn.ReLU(),
                nn.Linear(hidden // 2, 64 * dh * dw), *bn1(64 * dh * dw), nn.ReLU(),
                nn.Unflatten(1, (64, dh, dw)),
                nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), *bn2(32), nn.ReLU(),
                nn.ConvTranspose2d(32, c, 4, stride=2, padding=1),
            )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _, h, w = self.image_shape
        return self.net(z)[..., :h, :w]
