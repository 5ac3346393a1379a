"""Gated PixelCNN: each pixel predicted from the pixels before it, through masked convolutions.

The image is read in raster order (row by row, left to right), and

    p(x) = Π_i p(x_i | x_1 … x_{i-1})

is exact, so the model has a likelihood and no latent space. Two stacks of convolutions
keep the order (van den Oord et al. 2016, "Conditional Image Generation with PixelCNN
Decoders"), which avoids the blind spot of the first PixelCNN's masked 3×3 kernels:

* the **vertical stack** sees a growing rectangle of rows *above and at* a row (kernel
  ``(k//2 + 1) × k``, padded on top); before it feeds the horizontal stack it is shifted
  down by one row, so row ``r`` receives only rows ``< r``;
* the **horizontal stack** sees the pixels to the left in the same row: the first layer
  (mask A) the columns strictly left of a pixel (kernel ``1 × k//2``), later layers
  (mask B) the columns up to and including it (kernel ``1 × (k//2 + 1)``), since from
  then on a position holds features that already exclude its own pixel.

Each layer is gated, ``tanh(a) · σ(b)``, the horizontal stack has a residual
connection, and with ``conditional`` both stacks get a per-layer bias from the class
label (p(x | y)).

**Likelihood.** The output is one logit per pixel: a Bernoulli on the grey-level targets,
exactly the reconstruction term the VAEs use (binary cross-entropy with the grey value as
target, summed over pixels, averaged over images). So the test NLL in nats per image is
directly comparable with a VAE's −ELBO. Grey levels are not binary, so the number is not
a normalised density of grey images; both models are scored by the same cross-entropy,
and neither can go below the targets' own entropy (46.4 nats per test image of mnist-5k).
Samples draw each pixel from its Bernoulli, so they are black-and-white images.

Sampling, completion, the receptive field: ``latentlab.models.pixelcnn_sampler``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.errors import ConfigError
from latentlab.models.base import LatentModel, reconstruction_nats
from latentlab.models.config import ModelConfig, _shown, setting
from latentlab.models.registry import register

_MAX_LAYERS = 32
_KERNELS = (3, 5, 7, 9)


@dataclass
class PixelCNNConfig(ModelConfig):
    """``hidden`` is the number of feature channels of both stacks; ``latent_dim`` is unused
    (a PixelCNN has no latent space)."""

    backbone: str = "conv"
    hidden: int = setting(32, "Channels", "Feature channels of both stacks of every gated layer",
                          minimum=1, maximum=1024)
    layers: int = setting(8, "Gated layers", "Masked gated layers (the first one is mask A, the rest mask B); "
                          "each reaches kernel // 2 pixels further", minimum=1, maximum=_MAX_LAYERS)
    kernel: int = setting(5, "Kernel", "Width of the later layers' kernels: 3, 5, 7 or 9", minimum=3, maximum=9)
    first_kernel: int = setting(7, "First kernel", "Width of the first (mask A) layer's kernel: 3, 5, 7 or 9",
                                minimum=3, maximum=9)
    conditional: bool = setting(False, "Class-conditional", "Condition every pixel on the class label: p(x | y)")
    binarize_context: bool = setting(
        False, "Black-and-white context", "Train on contexts drawn in black and white (each pixel on with "
        "probability its grey level, afresh every batch) while the targets stay grey: sampling draws "
        "black-and-white pixels, so the model then reads the kind of context it was trained on")

    def validate(self) -> None:
        super().validate()
        if self.backbone != "conv":
            raise ConfigError(
                f"a pixelcnn is built of masked convolutions: its backbone must be conv, got {_shown(self.backbone)}"
            )
        if isinstance(self.layers, bool) or not isinstance(self.layers, int) or not 1 <= self.layers <= _MAX_LAYERS:
            raise ConfigError(f"layers must be an integer from 1 to {_MAX_LAYERS}, got {_shown(self.layers)}")
        for name in ("conditional", "binarize_context"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{name} must be true or false, got {_shown(getattr(self, name))}")
        for name in ("kernel", "first_kernel"):
            if getattr(self, name) not in _KERNELS:
                raise ConfigError(f"{name} must be one of {', '.join(map(str, _KERNELS))}, got {_shown(getattr(self, name))}")


def gate(pre: torch.Tensor) -> torch.Tensor:
    """tanh(a) · σ(b) for the two halves of the channels."""
    a, b = pre.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One layer of both stacks. ``first`` makes it the mask-A layer (input: the image)."""

    def __init__(self, in_channels: int, channels: int, kernel: int, first: bool, num_classes: int) -> None:
        super().__init__()
        self.pad = kernel // 2
        self.first = first
        c2 = 2 * channels
        self.vertical = nn.Conv2d(in_channels, c2, (self.pad + 1, kernel))
        self.vertical_to_horizontal = nn.Conv2d(c2, c2, 1)
        self.horizontal = nn.Conv2d(in_channels, c2, (1, self.pad if first else self.pad + 1))
        self.horizontal_out = nn.Conv2d(channels, channels, 1)
        self.label_bias = nn.Embedding(num_classes, 2 * c2) if num_classes else None
        #: The gate; ``pixelcnn_sampler.receptive_field`` swaps in a linear one to trace dependencies.
        self.activation = gate

    def _biases(self, y: torch.Tensor | None) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        if self.label_bias is None or y is None:
            return 0.0, 0.0
        vb, hb = self.label_bias(y)[:, :, None, None].chunk(2, dim=1)
        return vb, hb

    def vertical_step(self, v: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(next vertical features, the contribution to the horizontal stack shifted down one row)."""
        p = self.pad
        pre = self.vertical(F.pad(v, (p, p, p, 0)))
        shifted = F.pad(pre, (0, 0, 1, 0))[:, :, :-1]  # row r now holds rows < r
        vb, _ = self._biases(y)
        return self.activation(pre + vb), self.vertical_to_horizontal(shifted)

    def horizontal_step(self, h: torch.Tensor, from_vertical: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Next horizontal features of the same rows; works on whole images or on one row."""
        width = h.shape[-1]
        pre = self.horizontal(F.pad(h, (self.pad, 0, 0, 0)))[..., :width] + from_vertical
        _, hb = self._biases(y)
        out = self.horizontal_out(self.activation(pre + hb))
        return out if self.first else out + h


@register("pixelcnn")
class PixelCNN(LatentModel):
    title = "PixelCNN (autoregressive, exact likelihood)"
    config_class = PixelCNNConfig
    score_name = "-log p(x)"
    has_encoder = False
    has_decoder = False
    has_latent_space = False
    has_likelihood = True
    loss_parts = ("loss", "nll")
    default_lr = 2e-3
    default_batch_size = 64

    def __init__(self, config: PixelCNNConfig) -> None:
        super().__init__(config)
        c = config
        classes = c.num_classes if c.conditional else 0
        channels = c.image_shape[0]
        self.layers = nn.ModuleList(
            [GatedLayer(channels, c.hidden, c.first_kernel, True, classes)]
            + [GatedLayer(c.hidden, c.hidden, c.kernel, False, classes) for _ in range(c.layers - 1)]
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(c.hidden, c.hidden, 1), nn.ReLU(), nn.Conv2d(c.hidden, channels, 1))

    @property
    def latent_dim(self) -> int:
        return 0

    @property
    def can_sample(self) -> bool:
        return True

    # ----------------------------------------------------------------- the network
    def vertical_stack(self, x: torch.Tensor, y: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Per layer, what the vertical stack adds to the horizontal one; row r depends on rows < r only."""
        contributions, v = [], x
        for layer in self.layers:
            v, to_h = layer.vertical_step(v, y)
            contributions.append(to_h)
        return contributions

    def horizontal_stack(self, x: torch.Tensor, from_vertical: list[torch.Tensor], y: torch.Tensor | None = None) -> torch.Tensor:
        """Logits for the rows of ``x`` (whole images or single rows), given the vertical stack's
        contributions for the same rows."""
        h = x
        for layer, to_h in zip(self.layers, from_vertical):
            h = layer.horizontal_step(h, to_h, y)
        return self.head(h)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Logits of p(x_i = 1 | pixels before i), shape of ``x``."""
        y = self._labels(y, len(x))
        return self.horizontal_stack(x, self.vertical_stack(x, y), y)

    def _labels(self, y: torch.Tensor | None, n: int) -> torch.Tensor | None:
        if not self.config.conditional:
            return None
        if y is None:
            raise ConfigError("this pixelcnn is class-conditional: give the class labels")
        y = torch.as_tensor(y, device=self.device).long().reshape(-1)
        if len(y) != n or (y < 0).any() or (y >= self.config.num_classes).any():
            raise ConfigError(f"give {n} class labels from 0 to {self.config.num_classes - 1}")
        return y

    # ----------------------------------------------------------------- likelihood
    def nll(self, x: torch.Tensor, y: torch.Tensor | None = None, context: torch.Tensor | None = None) -> torch.Tensor:
        """−log p(x) in nats, one value per image (Bernoulli on the grey levels, summed over pixels).
        ``context``: the pixels the predictions read (default ``x`` itself)."""
        return reconstruction_nats(self(x if context is None else context, y), x)

    def score_images(self, x: torch.Tensor, y=None, *, samples: int = 1) -> torch.Tensor:
        """−log p(x) per image (exact: ``samples`` does not apply), for outlier ranking."""
        return self.nll(x, y if self.config.conditional else None)

    def evaluation_terms(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        nll = self.score_images(x, y)
        return {"test_loss": nll, "test_nll": nll}

    def loss(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        context = None
        if self.training and self.config.binarize_context:
            context = torch.bernoulli(x.clamp(0, 1))
        nll = self.nll(x, y, context).mean()
        return {"loss": nll, "nll": nll.detach()}

    def sample(self, n: int, generator: torch.Generator | None = None, source: str | None = None,
               y=None) -> torch.Tensor:
        """n images drawn pixel by pixel (see ``pixelcnn_sampler`` for progress and cancelling);
        a conditional one draws class ``y`` (an int or (n,) labels; default: the classes in turn)."""
        labels = None if y is None else (torch.full((n,), int(y)) if isinstance(y, int) else torch.as_tensor(y))
        if source not in (None, "model"):
            raise ConfigError(f"a pixelcnn has no latent space to draw from ({source!r}); sample without a source")
        from latentlab.models.pixelcnn_sampler import PixelSampler

        if self.config.conditional and labels is None:
            labels = torch.arange(n) % self.config.num_classes
        return PixelSampler(self, n, labels=labels, generator=generator).run()
