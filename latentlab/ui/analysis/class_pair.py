"""The "A → B" pair of class choosers that the interpolation panel, the comparison window
and the latent-arithmetic panel share."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from latentlab.ui.base.palette import class_colors

#: The classes a new pair starts on: 3 → 8, a pair whose path shows a lot.
DEFAULT_CLASSES = (3, 8)


def pair_row(a: QWidget, b: QWidget) -> QWidget:
    """``A [a] → B [b]`` in one row."""
    widget = QWidget()
    row = QHBoxLayout(widget)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(QLabel("A"))
    row.addWidget(a, 1)
    row.addWidget(QLabel("→ B"))
    row.addWidget(b, 1)
    return widget


def fill_class_pair(box_a: QComboBox, box_b: QComboBox, names: Sequence[str],
                    defaults: tuple[int, int] = DEFAULT_CLASSES) -> None:
    """List ``names`` in both boxes, each in its class colour (item data: the class index),
    and select the defaults, clamped to the classes there are and never the same class
    twice when there are two or more. Emits no change signals."""
    n = len(names)
    colors = class_colors(n)
    a = min(defaults[0], n - 1)
    b = min(defaults[1], n - 1)
    if n > 1 and a == b:
        b = (a + 1) % n
    for box, index in ((box_a, a), (box_b, b)):
        box.blockSignals(True)
        box.clear()
        for i, name in enumerate(names):
            box.addItem(name, i)
            box.setItemData(i, colors[i], Qt.ItemDataRole.ForegroundRole)
        if n:
            box.setCurrentIndex(index)
        box.blockSignals(False)
