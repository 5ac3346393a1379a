"""Bars of KL per latent dimension: a dimension whose bar sits at zero carries no
information (posterior collapse), which is what a large β does to a VAE."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from latentlab.ui.base.theme import current as current_look
from latentlab.ui.base.theme import set_plot_title

#: A dimension with less KL than this (nats) is counted as collapsed.
ACTIVE_KL = 0.1
ACTIVE = QColor("#1f77b4")
COLLAPSED = QColor("#c7c7c7")
#: At most this many labels under the bars (every k-th dimension beyond).
MAX_TICK_LABELS = 20
#: The title's size in the normal look (theme.set_plot_title scales it with the look).
TITLE_PT = 11.0
#: Room the title leaves at the plot's sides.
TITLE_MARGIN_PX = 16


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that is >= value."""
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * 10**exponent >= value:
            return step * 10**exponent
    return 10.0 ** (exponent + 1)


class KLBars(pg.PlotWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent, background="w")
        self.setToolTip(
            "KL divergence of each latent dimension on the test set (nats). A bar near zero is a "
            f"collapsed dimension (grey: below {ACTIVE_KL} nats): the decoder ignores it.")
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        item = self.getPlotItem()
        self._status = ""  # after the title's dash: "2 of 2 active", or why there are no bars
        self._title_shown: tuple | None = None  # (status, width, font scale) the title was fitted to
        item.setLabel("left", "nats")
        item.showGrid(y=True, alpha=0.2)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.7)
        self.addItem(self.bars)
        self._values: np.ndarray = np.zeros(0)
        self._n = 0
        self._top = 0.0
        item.disableAutoRange()
        item.vb.sigResized.connect(self._on_bars_resized)  # the title's room (axes come and go)
        self.set_kl(None)

    def set_kl(self, values: Sequence[float] | None, *, reason: str = "") -> None:
        """Show ``values`` (one per dimension), or an empty plot with ``reason``."""
        item = self.getPlotItem()
        if values is None or len(values) == 0:
            self._values = np.zeros(0)
            self.bars.setOpts(x=[], height=[], brushes=[])
            self._set_status(reason)
            for axis in ("left", "bottom"):
                item.hideAxis(axis)
            self._n, self._top = 0, 0.0
            return
        for axis in ("left", "bottom"):
            item.showAxis(axis)
        v = np.maximum(np.asarray(values, float), 0.0)
        self._values = v
        n = len(v)
        brushes = [pg.mkBrush(ACTIVE if x >= ACTIVE_KL else COLLAPSED) for x in v]
        self.bars.setOpts(x=np.arange(n), height=v, width=0.7, brushes=brushes, pens=[pg.mkPen(None)] * n)
        active = int((v >= ACTIVE_KL).sum())
        self._set_status(f"{active} of {n} active")
        if n != self._n:  # range changes regenerate the axes: only when they must
            self._n = n
            item.setXRange(-0.6, n - 0.4, padding=0)
        top = nice_ceiling(max(float(v.max()) * 1.1, 0.5))
        if top != self._top:
            self._top = top
            item.setYRange(0, top, padding=0)
        axis = item.getAxis("bottom")
        # "z0".."z7" fit under up to 8 bars; with more, the bare index (the title says what
        # the bars are): "z10z11z12" ran together under 16 bars in a 380-pixel panel.
        step = max(1, -(-n // MAX_TICK_LABELS))
        axis.setTicks([[(i, f"z{i}" if n <= 8 else str(i)) for i in range(0, n, step)]])

    def values(self) -> np.ndarray:
        return self._values.copy()

    # ------------------------------------------------------------- title
    def _set_status(self, status: str) -> None:
        self._status = status
        self._show_title()

    def _show_title(self) -> None:
        """"KL per dimension — status", shortened to "KL — status", then the status alone,
        where the plot is narrower than that (at 1024 pixels the title's end was cut off).
        Measured as drawn (the label's rich text is wider than the widget font says)."""
        status, look = self._status, current_look()
        item = self.getPlotItem()
        # The title is centred over the bars' column (the view box), right of the axis.
        room = min(item.vb.width(), self.viewport().width()) - TITLE_MARGIN_PX
        key = (status, room, look.font_scale)
        if key == self._title_shown:
            return
        self._title_shown = key
        candidates = [f"KL per dimension — {status}", f"KL — {status}", status] if status else ["KL per dimension"]
        for text in candidates:
            set_plot_title(item, text, TITLE_PT)
            if item.titleLabel.item.boundingRect().width() <= room:
                break

    def _on_bars_resized(self, *args) -> None:
        if "_title_shown" in self.__dict__:
            self._show_title()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        if "_title_shown" in self.__dict__:  # (pyqtgraph resizes the view while it is built)
            self._show_title()
