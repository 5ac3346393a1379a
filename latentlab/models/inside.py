"""What an encoder computes for one image, for the "inside the encoder" view; no Qt.

Every backbone's encoder has ``inside(x)`` for a batch of one image, returning one of
the traces below as NumPy arrays. A view draws a trace by its ``kind``, never by asking
which backbone or family it has:

* ``"dense"``: the activations of each hidden layer (``DenseActivations``);
* ``"convolutional"``: the feature maps of each convolutional layer (``FeatureMaps``);
* ``"recurrent"``: the LSTM's gates, cell state and hidden state at every step
  (``RecurrentTrace``), recomputed from the layer's weights with the lecture notes'
  equations (see :func:`latentlab.models.backbones_lstm.lstm_gates`);
* ``"transformer"``: each layer's attention weights per head (``AttentionTrace``).

:func:`look_inside` is the entry point: a model and one image in, the trace of its encoder out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Union

import numpy as np
import torch

from latentlab.errors import ConfigError

if TYPE_CHECKING:
    from latentlab.models.base import LatentModel


@dataclass
class DenseActivations:
    kind: ClassVar[str] = "dense"
    #: (name, activations of shape (units,)) per hidden layer, input side first.
    layers: list[tuple[str, np.ndarray]]


@dataclass
class FeatureMaps:
    kind: ClassVar[str] = "convolutional"
    #: (name, maps of shape (channels, height, width)) per convolutional layer, input side first.
    layers: list[tuple[str, np.ndarray]]


@dataclass
class Gates:
    """One direction of an LSTM over the steps, each array (steps, units), in image order.

    The notes' equations, with x_t the step's input and H_{t-1} the previous hidden state:
    F_t, I_t, O_t = σ(W·[x_t, H_{t-1}] + b) (forget, input, output gate), the input node
    C̃_t = tanh(W_c·[x_t, H_{t-1}] + b_c), the cell state C_t = F_t ⊙ C_{t-1} + I_t ⊙ C̃_t
    and the hidden state H_t = O_t ⊙ tanh(C_t).
    """

    forget: np.ndarray
    input: np.ndarray
    output: np.ndarray
    candidate: np.ndarray
    cell: np.ndarray
    hidden: np.ndarray

    @property
    def cell_magnitude(self) -> np.ndarray:
        """|C_t| per step and unit: how much the cell remembers."""
        return np.abs(self.cell)


@dataclass
class RecurrentTrace:
    kind: ClassVar[str] = "recurrent"
    #: "rows" or "columns": what one step reads.
    scan: str
    #: (steps, features): the pixels each step reads (the image's rows or columns).
    inputs: np.ndarray
    #: "forward" and, for a bidirectional LSTM, "backward" (read last step first; its
    #: arrays are still indexed by image row or column).
    directions: dict[str, Gates]


@dataclass
class AttentionTrace:
    kind: ClassVar[str] = "transformer"
    #: Side of a square patch, in pixels, and the grid of patches (rows, columns).
    patch: int
    grid: tuple[int, int]
    #: Per layer, (heads, tokens, tokens) softmax weights: row q is how query token q spreads
    #: its attention. Token 0 is the summary token whose output the encoder passes on;
    #: tokens 1.. are the patches in row-major order.
    weights: list[np.ndarray]

    def summary_attention(self, layer: int) -> np.ndarray:
        """(heads, rows, columns): how the summary token attends to each patch in ``layer``."""
        heads = self.weights[layer].shape[0]
        return self.weights[layer][:, 0, 1:].reshape(heads, *self.grid)

    def on_image(self, layer: int, head: int, image_shape: tuple[int, int]) -> np.ndarray:
        """The summary token's attention of one head, spread over the image's pixels (H, W)."""
        grid = self.summary_attention(layer)[head]
        full = np.kron(grid, np.ones((self.patch, self.patch), np.float32))
        return full[: image_shape[0], : image_shape[1]]


Trace = Union[DenseActivations, FeatureMaps, RecurrentTrace, AttentionTrace]


def look_inside(model: "LatentModel", image: np.ndarray) -> Trace:
    """The trace of ``model``'s encoder for one image, (C, H, W) or (1, C, H, W) in [0, 1].

    Call it on a model in eval mode (no dropout), e.g. the window's snapshot copy."""
    encoder = getattr(model, "encoder", None)
    if not model.has_encoder or encoder is None:
        raise ConfigError(f"a {model.family} model has no encoder to look inside")
    x = torch.as_tensor(np.asarray(image, np.float32))
    x = x[None] if x.dim() == 3 else x
    if x.shape[0] != 1 or tuple(x.shape[1:]) != tuple(model.config.image_shape):
        raise ConfigError(f"look_inside takes one image of shape {tuple(model.config.image_shape)}, "
                          f"got {tuple(x.shape)}")
    return encoder.inside(x.to(model.device))
