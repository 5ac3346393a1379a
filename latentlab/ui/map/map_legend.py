"""The map's legend: what the dots' colours and the territory's colours mean.

Dots and territory share one palette, with two meanings: a dot is coloured by its true
class (for a GAN's samples, by the judge's class of G(z)), the territory behind them by the
judge's class of the image decoded there. So each class's swatch is its dot on its
territory tint, and the territory has its own toggle; the tooltips define the words.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QWidget

from latentlab.app.jobs_base import TERRITORY_ALPHA
from latentlab.ui.map.point_cloud import dot_pixmap
from latentlab.ui.base.theme import current as current_look

#: What the map's words mean, for tooltips (a student meets them here first).
JUDGE_TIP = ("The judge is a separate classifier network, trained on the real images of this dataset. "
             "It says which class an image looks like, and how sure it is: here it reads the decoded images.")
TERRITORY_TIP = ("Territory: the pale background colour at each place of the map is the class the judge sees in "
                 "the image decoded at that place, in the same colours as the dots.\n"
                 "The dots are the data. Where a dot's colour differs from the territory around it, the decoder "
                 "turns that place into an image of another class than the dot's.\n"
                 "Click to hide or show the territory.\n\n" + JUDGE_TIP)
#: The territory's tint behind a class's swatch: its alpha on the map.
SWATCH_TINT = TERRITORY_ALPHA


def swatch_icon(color: QColor, size: int = 14) -> QPixmap:
    """The class's dot on a square of its territory tint: one palette, two meanings."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    tint = QColor(color)
    tint.setAlphaF(SWATCH_TINT)
    painter.fillRect(0, 0, size, size, tint)
    dot = dot_pixmap(color, size * 0.55, 1.0)
    painter.drawPixmap((size - dot.width()) // 2, (size - dot.height()) // 2, dot)
    painter.end()
    return pixmap


def territory_icon(colors: Sequence[QColor], size: int = 14) -> QPixmap:
    """A square of territory tints (the first four class colours), for the territory's toggle."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    half = size // 2
    for i, color in enumerate(list(colors)[:4]):
        tint = QColor(color)
        tint.setAlphaF(SWATCH_TINT)
        painter.fillRect((i % 2) * half, (i // 2) * half, size - half if i % 2 else half,
                         size - half if i // 2 else half, tint)
    painter.end()
    return pixmap


class ClassLegend(QWidget):
    """A row of toggle buttons, one per class, in the class colours.

    For a conditional model the row is the class picker instead (``set_picking``): exactly
    one button is checked, the class the model is asked for, and a click picks another.
    """

    toggled = Signal(int, bool)
    picked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(2)
        self.buttons: list[QToolButton] = []
        self.picking = False

    def set_classes(self, names: Sequence[str], colors: Sequence[QColor]) -> None:
        for button in self.buttons:
            self._layout.removeWidget(button)
            button.hide()  # (deleted later: not drawn meanwhile)
            button.deleteLater()
        self.buttons = []
        while self._layout.count():
            self._layout.takeAt(0)
        for i, (name, color) in enumerate(zip(names, colors)):
            button = QToolButton(self)
            button.setText(name)
            button.setIcon(swatch_icon(color, round(14 * current_look().font_scale)))
            button.setCheckable(True)
            button.setChecked(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            button.setAutoRaise(True)
            button.setToolTip(f"Class {name}: show or hide its dots (the territory keeps its colour)")
            button.setProperty("class_index", i)
            button.setProperty("class_name", name)
            button.toggled.connect(self._on_button_toggled)
            self._layout.addWidget(button)
            self.buttons.append(button)
        self._layout.addStretch(1)
        self.picking = False

    def set_picking(self, on: bool, current: int = 0) -> None:
        """Make the row the class picker (``on``: only ``current`` checked) or the dots'
        visibility toggles again (all checked)."""
        self.picking = on
        for i, button in enumerate(self.buttons):
            button.blockSignals(True)
            button.setChecked(i == current if on else True)
            button.blockSignals(False)
            name = button.property("class_name")
            button.setToolTip(
                f"Ask the model for a {name}: the decoded image, the manifold grid and the territory show "
                "this class" if on else f"Class {name}: show or hide its dots (the territory keeps its colour)")

    def set_current(self, index: int) -> None:
        """The picker's class (no signal)."""
        if self.picking:
            for i, button in enumerate(self.buttons):
                button.blockSignals(True)
                button.setChecked(i == index)
                button.blockSignals(False)

    @Slot(bool)
    def _on_button_toggled(self, on: bool) -> None:
        button = self.sender()
        index = int(button.property("class_index"))
        if not self.picking:
            self.toggled.emit(index, on)
            return
        self.set_current(index)  # one class is always asked for: a click on it keeps it
        if on:
            self.picked.emit(index)
