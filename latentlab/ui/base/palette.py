"""Class colours: tab10 for up to ten classes on white, BRIGHT10 (the same hues, lighter and
more saturated) on the dark and projector looks, evenly spaced hues beyond ten, and grey
for points whose class is not known yet."""

from __future__ import annotations

import colorsys

import numpy as np
from PySide6.QtGui import QColor

TAB10 = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
#: tab10's hues in the same order, bright enough on black: the class keeps its colour
#: family when presentation mode switches the background.
BRIGHT10 = (
    "#4da6ff", "#ff9a1f", "#3ddc5a", "#ff4f4f", "#c58cff",
    "#d9a066", "#ff7ad9", "#d0d0d0", "#e8e83a", "#2ee8f0",
)
UNKNOWN = "#9a9a9a"
GOLDEN = 0.618033988749895
_bright = [False]


def use_bright(on: bool) -> None:
    """Colour classes with BRIGHT10 (dark backgrounds) or tab10 (light ones) from now on."""
    _bright[0] = bool(on)


def first_ten() -> tuple[str, ...]:
    return BRIGHT10 if _bright[0] else TAB10


def class_rgb(n: int) -> np.ndarray:
    """(n, 3) uint8 colours: tab10 (or BRIGHT10) first, then hues spaced by the golden ratio."""
    colours = [tuple(int(h[i : i + 2], 16) for i in (1, 3, 5)) for h in first_ten()[: min(n, 10)]]
    hue = 0.11
    while len(colours) < n:
        hue = (hue + GOLDEN) % 1.0
        r, g, b = colorsys.hsv_to_rgb(hue, 0.7, 1.0 if _bright[0] else 0.85)
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return np.asarray(colours, np.uint8).reshape(n, 3)


def class_colors(n: int) -> list[QColor]:
    return [QColor(int(r), int(g), int(b)) for r, g, b in class_rgb(n)]


def unknown_color() -> QColor:
    return QColor(UNKNOWN)
