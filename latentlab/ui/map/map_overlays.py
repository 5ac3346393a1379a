"""What the latent map draws over its points without being part of the data: marks that
never take a click, the hover preview of a point, and the note saying what is computed."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRect, Qt, QTimer, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QFrame, QLabel, QProgressBar, QVBoxLayout, QWidget

from latentlab.ui.base.pixmaps import frame_pixmap
from latentlab.ui.base.theme import current as current_look

HOVER_SCALE = 4
#: Work for the map that takes longer than this shows a note over it (BusyNote).
BUSY_DELAY_MS = 300


class DecorationScatter(pg.ScatterPlotItem):
    """A ScatterPlotItem that only shows something and never takes a click.

    pyqtgraph hands a click to the items under the cursor before the scene reports it, and a
    ScatterPlotItem accepts a click on any of its symbols: the hover ring, drawn exactly on
    the dot a person is about to click, would swallow that click and the marker would not
    move. Rings, path frames and other marks on the map use this class instead.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph API)
        ev.ignore()


class HoverPreview(QLabel):
    """A small tooltip-like picture of the point under the cursor."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hide()

    def show_image(self, image: np.ndarray, caption: str, color: QColor, at: QPointF) -> None:
        """``image`` is (H, W) or (H, W, 3) uint8."""
        h, w = image.shape[:2]
        pixmap = frame_pixmap(image).scaled(
            w * HOVER_SCALE, h * HOVER_SCALE, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.FastTransformation)
        self.setPixmap(pixmap)
        self.setStyleSheet(
            f"QLabel {{ background: white; border: 3px solid {color.name()}; border-radius: 4px; padding: 2px; }}")
        self.setToolTip(caption)
        self.adjustSize()
        parent = self.parentWidget()
        x, y = int(at.x()) + 18, int(at.y()) + 18
        if x + self.width() > parent.width():
            x = int(at.x()) - 18 - self.width()
        if y + self.height() > parent.height():
            y = int(at.y()) - 18 - self.height()
        self.move(max(0, x), max(0, y))
        self.show()
        self.raise_()


class BusyNote(QFrame):
    """A note over the plot saying what is being computed for it (a GAN's colouring, say),
    with a progress bar; shown only when the work lasts longer than ``BUSY_DELAY_MS``."""

    def __init__(self, parent: QWidget, area: Callable[[], QRect]) -> None:
        """``area``: the plotting area in ``parent``'s pixels (the note sits at its top)."""
        super().__init__(parent)
        self._area = area
        self.setObjectName("mapBusy")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.label = QLabel(self)
        self.bar = QProgressBar(self)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(6)
        self.bar.setStyleSheet("QProgressBar { min-height: 0px; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(4)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        self._delay = QTimer(self)
        self._delay.setSingleShot(True)
        self._delay.setInterval(BUSY_DELAY_MS)
        self._delay.timeout.connect(self._appear)
        self.hide()

    def set_text(self, text: str | None, fraction: float | None = None) -> None:
        """What is being computed (None: nothing) and how far (None: unknown)."""
        if text is None:
            self._delay.stop()
            self.hide()
            return
        self.label.setText(text)
        if fraction is None:
            self.bar.setRange(0, 0)  # a busy bar that moves
        else:
            self.bar.setRange(0, 1000)
            self.bar.setValue(round(1000 * min(max(fraction, 0.0), 1.0)))
        if self.isVisible():
            self.place()
        elif not self._delay.isActive():
            self._delay.start()

    def text(self) -> str | None:
        """The note's text while it is pending or shown, else None."""
        return self.label.text() if self.isVisible() or self._delay.isActive() else None

    @Slot()
    def _appear(self) -> None:
        look = current_look()
        back, ink = ("rgba(0, 0, 0, 200)", "#f4f4f4") if look.dark else ("rgba(255, 255, 255, 225)", "#222222")
        self.setStyleSheet(f"#mapBusy {{ background: {back}; border: 1px solid {look.muted}; border-radius: 5px; }}"
                           f"#mapBusy QLabel {{ color: {ink}; background: transparent; }}")
        self.place()
        self.show()
        self.raise_()

    def place(self) -> None:
        self.adjustSize()
        area = self._area()
        self.move(max(0, area.center().x() - self.width() // 2), max(0, area.top() + 10))
