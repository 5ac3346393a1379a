"""The decoded image at the marker, large and crisp, with the judge's verdict under it.

An ImageItem in a ViewBox with locked aspect (nearest-neighbour pixels, levels fixed to
[0, 1], so ``setImage`` costs no level scan). With the manifold toggle on, the same view
shows an N x N grid of decodes over the map's visible region instead.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QCheckBox, QLabel, QSizePolicy, QVBoxLayout, QWidget


#: At most this many of the marker's latent values are written under the image.
MAX_COORDINATES = 6


class DecodedView(QWidget):
    """Shows one decoded image (or the manifold grid) and a readout line."""

    imageShown = Signal()  # after the view holds new pixels of the marker's decode
    gridToggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: np.ndarray | None = None
        self._z: list[float] = []  # the marker's latent (set_coordinates)
        self.view = pg.GraphicsView(background=self.palette().window().color())
        self.view.setToolTip("The decoder's image at the marker: click or drag on the map to move it")
        self.view.setMinimumSize(140, 140)  # a 768-line projector leaves no more in presentation mode
        self.view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.box = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False,
                              defaultPadding=0.0)
        self.view.setCentralItem(self.box)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.grid_item = pg.ImageItem(axisOrder="row-major")
        self.grid_item.setVisible(False)
        self.box.addItem(self.image_item)
        self.box.addItem(self.grid_item)

        self.title = QLabel("Decoded at the marker")
        self.title.setObjectName("panelTitle")
        self.where = QLabel("")
        self.where.setObjectName("coordinates")
        self.where.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.where.setToolTip("The marker's latent point")
        self.readout = QLabel("Judge: —")
        self.readout.setObjectName("readout")
        self.readout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont(self.readout.font())
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.readout.setFont(font)
        self.readout.setToolTip("What the judge (a classifier trained on the same data) sees in this image")
        self.grid_toggle = QCheckBox("Manifold grid (G)")
        self.grid_toggle.setToolTip(
            "Show an N×N grid of decodes over the part of the map you see (one batched forward pass)")
        self.grid_toggle.toggled.connect(self._on_grid_toggled)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.where)
        layout.addWidget(self.readout)
        layout.addWidget(self.grid_toggle)

    # -------------------------------------------------------------- the image
    def show_image(self, image: np.ndarray) -> None:
        """Display an (H, W) or (H, W, 3) float image in [0, 1]."""
        first = self._image is None or self._image.shape != image.shape
        self._image = image
        self.image_item.setImage(image, autoLevels=False, levels=(0.0, 1.0))
        if first and not self.grid_mode:
            self._fit(image)
        self.imageShown.emit()

    def image(self) -> np.ndarray | None:
        """The marker's decode currently displayed."""
        return self._image

    def set_judgement(self, text: str, color: QColor | None = None) -> None:
        """The judge's verdict; ``color`` (the class colour) marks it with a swatch.

        ``text`` is shown as text: it holds a class name from a file or a folder's name, which
        rich text would take for HTML (``<img src=...>`` would make Qt read that file)."""
        # A filled box drawn behind spaces, not a "■" glyph (fonts without one show an empty box).
        swatch = (f'<span style="background-color:{color.name()}">&nbsp;&nbsp;&nbsp;</span>&nbsp;'
                  if color is not None else "")
        self.readout.setText(f"{swatch}{html.escape(text)}")

    def set_coordinates(self, z) -> None:
        """The marker's latent: up to six values, fewer where the column is narrower (a 16-D
        latent's six were cut at 1024 pixels); the tooltip has them all."""
        self._z = [float(v) for v in z]
        self._show_coordinates()

    def _show_coordinates(self) -> None:
        z = self._z
        if not z:
            return
        room, metrics = self.width() - 8, self.where.fontMetrics()
        for k in range(min(len(z), MAX_COORDINATES), 0, -1):
            text = "z = (" + ", ".join(f"{v:+.2f}" for v in z[:k]) + (", …" if len(z) > k else "") + ")"
            if metrics.horizontalAdvance(text) <= room:
                break
        self.where.setText(text)
        self.where.setToolTip("The marker's latent point: " + ", ".join(f"{v:+.3f}" for v in z))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._show_coordinates()

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:  # presentation mode's larger font
            self._show_coordinates()

    def clear(self) -> None:
        self._image = None
        self._z = []
        self.image_item.clear()
        self.grid_item.clear()
        self.where.setText("")
        self.set_judgement("Judge: —")

    # ------------------------------------------------------------ the grid
    @property
    def grid_mode(self) -> bool:
        return self.grid_toggle.isChecked()

    def set_grid_mode(self, on: bool) -> None:
        self.grid_toggle.setChecked(on)

    def show_grid(self, image: np.ndarray) -> None:
        self.grid_item.setImage(image, autoLevels=False, levels=(0.0, 1.0))
        if self.grid_mode:
            self._fit(image)

    def _on_grid_toggled(self, on: bool) -> None:
        self.grid_item.setVisible(on)
        self.image_item.setVisible(not on)
        self.title.setText("Manifold: decodes of the visible map region" if on else "Decoded at the marker")
        shown = self.grid_item.image if on else self._image
        if shown is not None:
            self._fit(shown)
        self.gridToggled.emit(on)

    def _fit(self, image: np.ndarray) -> None:
        h, w = image.shape[:2]
        self.box.setRange(xRange=(0, w), yRange=(0, h), padding=0.0)
