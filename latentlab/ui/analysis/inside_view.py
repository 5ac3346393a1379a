"""Inside the encoder: what the encoder computes for one test image, drawn as images.

``latentlab.models.inside.look_inside`` returns a trace whose ``kind`` says how to draw
it; this view draws each kind with pyqtgraph ImageItems and never asks which backbone or
family the model is:

* "dense": each hidden layer's activations, its units laid out in a square;
* "convolutional": each convolutional layer's feature maps, one tile per channel;
* "recurrent": per step (a row of the image, beside it), the forget, input and output
  gates and the cell state |C_t| of every unit;
* "transformer": each layer's and head's attention of the summary token over the
  patches, drawn on the image.

Every panel's title and picture carry a tooltip that explains the term for a student.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from latentlab.ui.base.theme import current as current_look

IMAGE_TIP = "The image the encoder reads: the test image nearest the marker, or the one under the cursor."
DENSE_TIP = ("A dense (fully connected) layer: every unit sees every pixel (or every unit of the layer before) "
             "and outputs max(0, w·x + b). Each square is one unit's activation for this image; bright = active.")
CONV_TIP = ("A convolutional layer slides small 3×3 filters over the image. Each tile is one filter's feature map: "
            "bright where the pattern it detects (an edge, a stroke end, a curve) is found. The second layer "
            "combines the first one's maps into larger patterns, at half the resolution.")
GATE_TIPS = {
    "forget": ("Forget gate F_t = σ(W_F·[x_t, H_t−1] + b_F), between 0 and 1 per unit: how much of the cell "
               "state C_t−1 each unit keeps at this step (1 = keep all, 0 = forget)."),
    "input": ("Input gate I_t = σ(W_I·[x_t, H_t−1] + b_I): how much of the new candidate C̃_t = tanh(…) each unit "
              "writes into its cell at this step, C_t = F_t ⊙ C_t−1 + I_t ⊙ C̃_t."),
    "output": ("Output gate O_t = σ(W_O·[x_t, H_t−1] + b_O): how much of each cell is shown as the hidden state "
               "H_t = O_t ⊙ tanh(C_t), which the next step and, after the last step, μ and σ read."),
    "cell": ("Cell state |C_t|: the LSTM's memory, carried from step to step and changed only by the gates; "
             "bright = a unit holds a large value."),
}
STEPS_TIP = ("An LSTM reads the image one step at a time: here each step is one {what} of pixels, shown on the "
             "left at the height of its step. Every heat map has one row per step and one column per unit.")
ATTENTION_TIP = ("Self-attention: the image is cut into {p}×{p}-pixel patches, and each layer lets every token "
                 "look at every other one. Orange shows where the summary token (whose output becomes μ and σ) "
                 "looks in layer {layer}, head {head}: each head learns its own way of looking; the weights sum to 1.")
#: Orange attention drawn over the grey image.
ATTENTION_RGB = np.array([255.0, 120.0, 0.0], np.float32)


def square_grid(values: np.ndarray) -> np.ndarray:
    """(n,) -> a (rows, cols) image of the values, near-square, NaN-padded."""
    n = len(values)
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.full(rows * cols, np.nan, np.float32)
    grid[:n] = values
    return grid.reshape(rows, cols)


def tile_maps(maps: np.ndarray, gap: int = 1) -> np.ndarray:
    """(channels, h, w) -> one near-square mosaic with ``gap``-pixel NaN seams, each map
    scaled to [0, 1] by the layer's largest activation."""
    c, h, w = maps.shape
    cols = math.ceil(math.sqrt(c))
    rows = math.ceil(c / cols)
    top = float(np.max(maps)) or 1.0
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), np.nan, np.float32)
    for i in range(c):
        r, k = divmod(i, cols)
        out[r * (h + gap): r * (h + gap) + h, k * (w + gap): k * (w + gap) + w] = maps[i] / top
    return out


def attention_on_image(image: np.ndarray, attention: np.ndarray) -> np.ndarray:
    """(H, W) image in [0, 1] and (H, W) attention -> (H, W, 3) uint8: grey image, orange attention."""
    a = attention / max(float(attention.max()), 1e-12)
    rgb = 0.45 * 255.0 * image[..., None] + a[..., None] * ATTENTION_RGB * 0.9
    return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


class TracePlot(pg.GraphicsLayoutWidget):
    """The panels of one trace, each a titled ImageItem with a tooltip."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        look = current_look()
        self.setBackground(look.plot_background)
        self.cmap = pg.colormap.get("viridis")
        #: (title, ImageItem) of every panel drawn, in order (tests and screenshots read them).
        self.panels: list[tuple[str, pg.ImageItem]] = []
        self._drawers: dict[str, Callable] = {
            "dense": self._draw_dense, "convolutional": self._draw_conv,
            "recurrent": self._draw_recurrent, "transformer": self._draw_transformer,
        }

    def show_trace(self, trace, image: np.ndarray) -> None:
        """Draw ``trace`` of ``image`` ((H, W) floats in [0, 1], the encoder's input)."""
        self.clear()
        self.panels = []
        self._drawers[trace.kind](trace, np.asarray(image, np.float32))

    def _panel(self, row: int, col: int, title: str, data: np.ndarray, tip: str, *,
               levels: tuple[float, float] | None = (0.0, 1.0), heat: bool = True, aspect: bool = True,
               rowspan: int = 1) -> pg.ImageItem:
        label = self.addLabel(title, row=2 * row, col=col, size="9pt")
        label.setToolTip(tip)
        box = self.addViewBox(row=2 * row + 1, col=col, rowspan=rowspan, lockAspect=aspect, invertY=True,
                              enableMouse=False)
        box.setMenuEnabled(False)
        item = pg.ImageItem(axisOrder="row-major")
        data = np.asarray(data)
        if heat:
            item.setLookupTable(self.cmap.getLookupTable(nPts=256))
            clean = np.nan_to_num(data.astype(np.float32), nan=levels[0] if levels else 0.0)
            item.setImage(clean, autoLevels=levels is None, **({"levels": levels} if levels else {}))
        else:
            item.setImage(data, autoLevels=False, levels=(0, 255) if data.dtype == np.uint8 else (0, 1))
        item.setToolTip(tip)
        box.addItem(item)
        box.autoRange(padding=0.02)
        self.panels.append((title, item))
        return item

    # ------------------------------------------------------------- the kinds
    def _draw_dense(self, trace, image: np.ndarray) -> None:
        self._panel(0, 0, "input image", image, IMAGE_TIP, heat=False)
        for k, (name, values) in enumerate(trace.layers, start=1):
            top = float(np.max(values)) or 1.0
            self._panel(0, k, f"{name}: {len(values)} units", square_grid(values / top), DENSE_TIP)

    def _draw_conv(self, trace, image: np.ndarray) -> None:
        self._panel(0, 0, "input image", image, IMAGE_TIP, heat=False)
        for k, (name, maps) in enumerate(trace.layers, start=1):
            c, h, w = maps.shape
            self._panel(0, k, f"{name}: {c} feature maps of {h}×{w}", tile_maps(maps), CONV_TIP)

    def _draw_recurrent(self, trace, image: np.ndarray) -> None:
        what = "row" if trace.scan == "rows" else "column"
        steps_tip = STEPS_TIP.format(what=what)
        for r, (direction, gates) in enumerate(trace.directions.items()):
            read = " (backward: read bottom up)" if direction == "backward" else ""
            self._panel(r, 0, f"{what}s, one per step{read}", trace.inputs, steps_tip, heat=False, aspect=False)
            for k, name in enumerate(("forget", "input", "output"), start=1):
                self._panel(r, k, f"{name} gate", getattr(gates, name), GATE_TIPS[name], aspect=False)
            cell = gates.cell_magnitude
            self._panel(r, 4, f"cell |C_t| (max {cell.max():.2f})", cell, GATE_TIPS["cell"],
                        levels=(0.0, max(float(cell.max()), 1e-6)), aspect=False)
        grid = self.ci.layout
        grid.setColumnStretchFactor(0, 2)  # the image's rows: narrow; the units: wide
        for col in range(1, 5):
            grid.setColumnStretchFactor(col, 3)

    def _draw_transformer(self, trace, image: np.ndarray) -> None:
        self._panel(0, 0, "input image", image, IMAGE_TIP, heat=False)
        grey = image if image.ndim == 2 else image.mean(-1)
        for layer in range(len(trace.weights)):
            for head in range(trace.weights[layer].shape[0]):
                attention = trace.on_image(layer, head, grey.shape)
                tip = ATTENTION_TIP.format(p=trace.patch, layer=layer + 1, head=head + 1)
                self._panel(layer, head + 1, f"layer {layer + 1}, head {head + 1}",
                            attention_on_image(grey, attention), tip, heat=False)


class InsidePanel(QWidget):
    """A line saying which image and what kind of encoder, over the trace's panels."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = QLabel("Move the marker or hover a test point to look inside the encoder.")
        self.caption.setWordWrap(True)
        self.plot = TracePlot()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot, 1)

    def show_trace(self, trace, image: np.ndarray, caption: str) -> None:
        self.caption.setText(caption)
        self.plot.show_trace(trace, image)

    def show_message(self, text: str) -> None:
        self.caption.setText(text)
        self.plot.clear()
        self.plot.panels = []
