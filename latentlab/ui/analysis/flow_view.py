"""The distribution transformer: a flow prior carrying N(0, I) onto a 2-D latent plane.

A normalizing flow is a chain of invertible maps. This window plays it as an animation:
a square grid and Gaussian samples start as N(0, I) and are carried, one coupling layer
at a time, onto the distribution of the model's codes, over the flow's density drawn as
a background. Played backwards it is the story a GAN tells: noise in, data out, here with
every step invertible. The stages are computed once when the window opens (a few
thousand points through a few small layers: milliseconds); the animation only blends
between them.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QCheckBox, QDialog, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from latentlab.latent.priors import flow_density_grid, flow_transport

#: Slider steps between two stages, and the animation's frame interval.
STEPS_PER_STAGE = 20
FRAME_MS = 30
DENSITY_RESOLUTION = 120
EXPLANATION = (
    "A <b>normalizing flow</b> is a chain of invertible maps. Press Play: a grid and Gaussian samples "
    "drawn from N(0, I) are carried, one coupling layer at a time, onto the distribution of the model's "
    "codes; the background is the flow's density. Backwards, the same chain turns codes into noise."
)


def polyline(lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, connect) for pyqtgraph: the grid's lines (L, P, D) as one item, not joined to each other."""
    n_lines, points = lines.shape[:2]
    connect = np.ones((n_lines, points), dtype=bool)
    connect[:, -1] = False
    return lines[..., 0].ravel(), lines[..., 1].ravel(), connect.ravel()


class DistributionTransformerView(QDialog):
    stageShown = Signal(float)  # the position shown, in stages (0: N(0, I), last: codes)

    def __init__(self, flow, parent: QWidget | None = None, *, title: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Distribution transformer{': ' + title if title else ''} — latentlab")
        self.transport = flow_transport(flow)
        final = self.transport.samples[-1]
        low, high = np.percentile(final[:, :2], [2, 98], axis=0)  # a few far codes would shrink the rest
        pad = 0.2 * (high - low)
        self.x_range = (float(low[0] - pad[0]), float(high[0] + pad[0]))
        self.y_range = (float(low[1] - pad[1]), float(high[1] + pad[1]))
        xs, ys, log_p = flow_density_grid(flow, self.x_range, self.y_range, DENSITY_RESOLUTION)
        self.position = 0.0

        intro = QLabel(EXPLANATION)
        intro.setWordWrap(True)
        self.plot = pg.PlotWidget()
        self.plot.setMinimumSize(520, 420)
        self.plot.setAspectLocked(False)
        density = np.exp(log_p - log_p.max())
        self.density = pg.ImageItem(density, levels=(0.0, 1.0))
        self.density.setColorMap(pg.colormap.get("CET-L12"))
        self.density.setOpacity(0.55)
        self.density.setRect(self.x_range[0], self.y_range[0], self.x_range[1] - self.x_range[0],
                             self.y_range[1] - self.y_range[0])
        self.density.setToolTip("The flow's density p(z) over the latent plane (darker: more likely)")
        self.plot.addItem(self.density)
        self.grid = pg.PlotDataItem(pen=pg.mkPen((60, 60, 60, 160), width=1))
        self.samples = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(220, 80, 30, 200))
        self.plot.addItem(self.grid)
        self.plot.addItem(self.samples)
        self.plot.setLabel("bottom", "z₁")
        self.plot.setLabel("left", "z₂")

        last = len(self.transport.stage_names) - 1
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, last * STEPS_PER_STAGE)
        self.slider.setToolTip("Where the points are: from N(0, I) (left) through each coupling layer to the "
                               "codes (right)")
        self.slider.valueChanged.connect(self._on_slider)
        self.play_button = QPushButton("Play")
        self.play_button.setToolTip("Carry the points from noise to codes (or back, with Reverse)")
        self.play_button.clicked.connect(self.toggle_play)
        self.reverse = QCheckBox("Reverse (codes → noise)")
        self.reverse.setToolTip("Run the chain the other way: the flow's forward map f, codes to noise")
        self.stage_label = QLabel()
        row = QHBoxLayout()
        row.addWidget(self.play_button)
        row.addWidget(self.reverse)
        row.addWidget(self.slider, 1)
        row.addWidget(self.stage_label)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.plot, 1)
        layout.addLayout(row)
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._advance)
        self.show_position(0.0)
        self.plot.setXRange(*self.x_range, padding=0)
        self.plot.setYRange(*self.y_range, padding=0)

    @property
    def stages(self) -> int:
        return len(self.transport.stage_names)

    def points_at(self, position: float) -> tuple[np.ndarray, np.ndarray]:
        """(grid lines, samples) at ``position`` (in stages), blended linearly between two stages."""
        k = int(np.clip(np.floor(position), 0, self.stages - 1))
        t = float(np.clip(position - k, 0.0, 1.0))
        nxt = min(k + 1, self.stages - 1)
        blend = (lambda a: (1 - t) * a[k] + t * a[nxt])
        return blend(self.transport.grid)[..., :2], blend(self.transport.samples)[:, :2]

    def show_position(self, position: float) -> None:
        self.position = float(np.clip(position, 0.0, self.stages - 1))
        lines, samples = self.points_at(self.position)
        x, y, connect = polyline(lines)
        self.grid.setData(x, y, connect=connect)
        self.samples.setData(samples[:, 0], samples[:, 1])
        self.stage_label.setText(self.transport.stage_names[int(round(self.position))])
        self.stageShown.emit(self.position)

    @Slot(int)
    def _on_slider(self, value: int) -> None:
        self.show_position(value / STEPS_PER_STAGE)

    @Slot()
    def toggle_play(self) -> None:
        if self.timer.isActive():
            self.timer.stop()
            self.play_button.setText("Play")
            return
        end = 0 if self.reverse.isChecked() else self.slider.maximum()
        if self.slider.value() == end:  # start from the other end
            self.slider.setValue(self.slider.maximum() - end)
        self.play_button.setText("Pause")
        self.timer.start()

    @Slot()
    def _advance(self) -> None:
        step = -1 if self.reverse.isChecked() else 1
        value = min(max(self.slider.value() + step, 0), self.slider.maximum())
        if value in (0, self.slider.maximum()):  # the end of the chain: stop there
            self.timer.stop()
            self.play_button.setText("Play")
        self.slider.setValue(value)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.timer.stop()
        super().closeEvent(event)
