"""The analogy row: the marker's latent point decoded under every class, beside the decoded view.

A conditional model is told the class, so its latent holds only the style (slant, width,
stroke): one point decoded under all ten classes is ten digits in one handwriting. The row
is one image (a 1 x K mosaic, one batched forward pass), redrawn with every decode of the
marker, so it follows a drag live. The class asked for is framed; clicking a digit asks the
model for that class. Hidden for models that are not told the class.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QSizePolicy, QVBoxLayout, QWidget

TIP = ("The marker's latent point decoded under every class. The model is told the class, so the point "
       "holds only the style (slant, width, stroke): the same handwriting in every digit.\n"
       "The framed digit is the class asked for; click another digit to ask for its class.")


class AnalogyRow(QWidget):
    classPicked = Signal(int)
    rowShown = Signal()  # after the row holds a new decode (the latency benchmark waits for it)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._cells = 0
        self._cell_width = self._cell_height = 1
        self.title = QLabel("The same style in every class")
        self.title.setObjectName("panelTitle")
        self.title.setToolTip(TIP)
        self.view = pg.GraphicsView(background=self.palette().window().color())
        self.view.setToolTip(TIP)
        self.view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.view.setMinimumHeight(24)
        self.box = pg.ViewBox(lockAspect=True, invertY=True, enableMouse=False, enableMenu=False, defaultPadding=0.0)
        self.view.setCentralItem(self.box)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.box.addItem(self.image_item)
        self.frame = QGraphicsRectItem()
        self.frame.setZValue(1)
        self.box.addItem(self.frame)
        self.view.scene().sigMouseClicked.connect(self._on_clicked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.view)
        self.picked = 0
        self.set_frame_color(QColor("#e8a33d"))

    def set_frame_color(self, color: QColor) -> None:
        pen = QPen(color)
        pen.setWidthF(2.0)
        pen.setCosmetic(True)
        self.frame.setPen(pen)

    def show_row(self, images: np.ndarray, picked: int) -> None:
        """``images``: (K, C, H, W) floats in [0, 1], one per class; ``picked``: the class asked for."""
        k, c, h, w = images.shape
        row = images.transpose(2, 0, 3, 1).reshape(h, k * w, c)
        row = row[..., 0] if c == 1 else row
        first = (k, w, h) != (self._cells, self._cell_width, self._cell_height)
        self._cells, self._cell_width, self._cell_height = k, w, h
        self.image_item.setImage(np.ascontiguousarray(row, np.float32), autoLevels=False, levels=(0.0, 1.0))
        if first:
            self._fit_height()
        self.set_picked(picked, h)
        self.rowShown.emit()

    def set_picked(self, picked: int, height: float | None = None) -> None:
        self.picked = picked
        h = height if height is not None else self.frame.rect().height() or 1.0
        self.frame.setRect(QRectF(picked * self._cell_width, 0, self._cell_width, h))

    def image(self) -> np.ndarray | None:
        return self.image_item.image

    def cell_center(self, index: int) -> tuple[float, float]:
        """Where digit ``index`` is, in the view's widget pixels (for tests and tours)."""
        rect = self.frame.rect()
        point = self.box.mapViewToScene(pg.Point((index + 0.5) * self._cell_width, rect.height() / 2))
        local = self.view.mapFromScene(point)
        return float(local.x()), float(local.y())

    def clear(self) -> None:
        self.image_item.clear()
        self._cells = 0

    def _on_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or not self._cells:
            return
        x = self.box.mapSceneToView(event.scenePos()).x()
        index = int(x // self._cell_width)
        if 0 <= index < self._cells:
            self.classPicked.emit(index)

    def _fit_height(self) -> None:
        """A height that shows the whole row at the view's width, and the row fitted into it
        (after every resize: the locked aspect would otherwise cut the row's ends)."""
        if self._cells:
            self.view.setFixedHeight(max(24, round(self.view.width() / self._cells) + 4))
            self.box.setRange(xRange=(0, self._cells * self._cell_width), yRange=(0, self._cell_height), padding=0.0)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit_height()
