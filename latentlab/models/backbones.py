"""Encoder and decoder trunks shared by every family, looked up by backbone name.

A backbone is registered once (:func:`register_backbone`) with a builder for its encoder
(image -> features) and its decoder (latent -> logits); the families call
:func:`Encoder` and :func:`Decoder` with the config's ``backbone`` name, so a new backbone
is one module plus its tests, and every family with an encoder, a decoder, a generator or
a discriminator offers it. The four kinds are the lecture notes' four kinds of encoder
layers:

``mlp`` (dense): dense layers on the flattened image. ``conv`` (convolutional): two
strided Conv2d layers (each halves the side, rounding up) and a dense layer; the decoder
mirrors it with ConvTranspose2d layers (each doubles the side) and crops to the exact
image size, so any side from 4 pixels up works (8x8 digits, 28x28 MNIST, 32x32 folders).
``lstm`` (recurrent, :mod:`backbones_lstm`) reads the image row by row;
``transformer`` (:mod:`backbones_transformer`) attends over patches.

Decoders return logits; families apply the sigmoid, so losses can use the numerically
stable ``binary_cross_entropy_with_logits``. Every encoder has ``out_features`` and an
``inside(x)`` method returning what it computed for one image (see
:mod:`latentlab.models.inside`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from latentlab.errors import ConfigError
from latentlab.models.inside import DenseActivations, FeatureMaps


@dataclass(frozen=True)
class Backbone:
    name: str
    #: "dense", "convolutional", "recurrent" or "transformer".
    kind: str
    #: One line for --help and tooltips.
    description: str
    #: ``(image_shape, hidden, *, act, dropout, norm) -> nn.Module`` with ``out_features``.
    encoder: Callable[..., nn.Module]
    #: ``(latent_dim, image_shape, hidden, *, batch_norm) -> nn.Module`` giving logits.
    decoder: Callable[..., nn.Module]


BACKBONES: dict[str, Backbone] = {}


def register_backbone(backbone: Backbone) -> Backbone:
    if backbone.name in BACKBONES:
        raise RuntimeError(f"backbone {backbone.name!r} registered twice")
    BACKBONES[backbone.name] = backbone
    return backbone


def backbone_names() -> list[str]:
    _load_builtin_backbones()
    return list(BACKBONES)


def get_backbone(name: str) -> Backbone:
    _load_builtin_backbones()
    try:
        return BACKBONES[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown backbone {name!r}; choose one of {', '.join(BACKBONES)}") from None


def Encoder(  # noqa: N802 - called like the class it was before backbones had a registry
    backbone: str,
    image_shape: tuple[int, int, int],
    hidden: int,
    *,
    act: str = "relu",
    dropout: float = 0.0,
    norm: bool = False,
) -> nn.Module:
    """Image (N, C, H, W) -> features (N, out_features), built by the named backbone."""
    return get_backbone(backbone).encoder(tuple(image_shape), hidden, act=act, dropout=dropout, norm=norm)


def Decoder(  # noqa: N802
    backbone: str,
    latent_dim: int,
    image_shape: tuple[int, int, int],
    hidden: int,
    *,
    batch_norm: bool = False,
) -> nn.Module:
    """Latent (N, latent_dim) -> logits (N, C, H, W), built by the named backbone."""
    return get_backbone(backbone).decoder(latent_dim, tuple(image_shape), hidden, batch_norm=batch_norm)


def activation(name: str) -> nn.Module:
    return nn.LeakyReLU(0.2) if name == "lrelu" else nn.ReLU()


def _down(side: int) -> int:
    return math.ceil(math.ceil(side / 2) / 2)


class _Sequential(nn.Module):
    """A trunk kept in ``self.net`` (the weight names checkpoints store)."""

    net: nn.Sequential

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def _layer_outputs(self, x: torch.Tensor, after: type[nn.Module]) -> list[tuple[int, torch.Tensor]]:
        """The output of every activation that follows a layer of type ``after``."""
        outputs, pending = [], False
        for i, layer in enumerate(self.net):
            x = layer(x)
            if isinstance(layer, after):
                pending = True
            elif pending and isinstance(layer, (nn.ReLU, nn.LeakyReLU)):
                outputs.append((i, x))
                pending = False
        return outputs


class DenseEncoder(_Sequential):
    def __init__(self, image_shape, hidden, *, act="relu", dropout=0.0, norm=False) -> None:
        super().__init__()
        c, h, w = image_shape
        layers: list[nn.Module] = [nn.Flatten(), nn.Linear(c * h * w, hidden)]
        layers += [nn.LayerNorm(hidden)] if norm else []
        layers += [activation(act), nn.Dropout(dropout), nn.Linear(hidden, hidden // 2), activation(act)]
        layers += [nn.Dropout(dropout)] if dropout else []
        self.net = nn.Sequential(*layers)
        self.out_features = hidden // 2

    @torch.no_grad()
    def inside(self, x: torch.Tensor) -> DenseActivations:
        """The activations of both hidden layers for one image (1, C, H, W)."""
        outputs = self._layer_outputs(x, nn.Linear)
        names = [f"dense {k + 1}" for k in range(len(outputs))]
        return DenseActivations([(n, a[0].cpu().numpy()) for n, (_, a) in zip(names, outputs)])


class ConvEncoder(_Sequential):
    def __init__(self, image_shape, hidden, *, act="relu", dropout=0.0, norm=False) -> None:
        super().__init__()
        c, h, w = image_shape
        layers: list[nn.Module] = [nn.Conv2d(c, 32, 3, stride=2, padding=1), activation(act)]
        layers += [nn.Dropout2d(dropout)] if dropout else []
        layers += [nn.Conv2d(32, 64, 3, stride=2, padding=1)]
        layers += [nn.GroupNorm(8, 64)] if norm else []
        layers += [activation(act)]
        layers += [nn.Dropout2d(dropout)] if dropout else []
        layers += [nn.Flatten(), nn.Linear(64 * _down(h) * _down(w), hidden // 2), activation(act)]
        self.net = nn.Sequential(*layers)
        self.out_features = hidden // 2

    @torch.no_grad()
    def inside(self, x: torch.Tensor) -> FeatureMaps:
        """The feature maps of both convolutional layers (after their activation) for one image."""
        outputs = self._layer_outputs(x, nn.Conv2d)
        return FeatureMaps([(f"conv {k + 1}", a[0].cpu().numpy()) for k, (_, a) in enumerate(outputs)])


class _CroppedDecoder(nn.Module):
    net: nn.Sequential

    def __init__(self, image_shape) -> None:
        super().__init__()
        self.image_shape = image_shape

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _, h, w = self.image_shape
        return self.net(z)[..., :h, :w]


def _bn1(n: int, on: bool) -> list[nn.Module]:
    return [nn.BatchNorm1d(n)] if on else []


class DenseDecoder(_CroppedDecoder):
    def __init__(self, latent_dim, image_shape, hidden, *, batch_norm=False) -> None:
        super().__init__(image_shape)
        c, h, w = image_shape
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden // 2), *_bn1(hidden // 2, batch_norm), nn.ReLU(),
            nn.Linear(hidden // 2, hidden), *_bn1(hidden, batch_norm), nn.ReLU(),
            nn.Linear(hidden, c * h * w),
            nn.Unflatten(1, (c, h, w)),
        )


class ConvDecoder(_CroppedDecoder):
    def __init__(self, latent_dim, image_shape, hidden, *, batch_norm=False) -> None:
        super().__init__(image_shape)
        c, h, w = image_shape
        dh, dw = _down(h), _down(w)
        bn2 = (lambda n: [nn.BatchNorm2d(n)]) if batch_norm else (lambda n: [])
        self.net = nn.Sequential(
            nn.Linear(latent_dim, hidden // 2), *_bn1(hidden // 2, batch_norm), nn.ReLU(),
            nn.Linear(hidden // 2, 64 * dh * dw), *_bn1(64 * dh * dw, batch_norm), nn.ReLU(),
            nn.Unflatten(1, (64, dh, dw)),
            nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1), *bn2(32), nn.ReLU(),
            nn.ConvTranspose2d(32, c, 4, stride=2, padding=1),
        )


register_backbone(Backbone("mlp", "dense", "dense layers on the flattened image (fast on a CPU)",
                           DenseEncoder, DenseDecoder))
register_backbone(Backbone("conv", "convolutional", "strided convolutions; the decoder mirrors them with "
                           "transposed convolutions", ConvEncoder, ConvDecoder))


def _load_builtin_backbones() -> None:
    # Importing the modules runs their register_backbone calls.
    from latentlab.models import backbones_lstm, backbones_transformer  # noqa: F401
