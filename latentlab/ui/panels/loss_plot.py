"""Live loss curves: one small plot per loss part, so a small KL is not flattened by a
large reconstruction term. Each plot shows the step reports of the current run (thin
line), the per-epoch training means of the whole history (dots) and the test-set value
where the history has one (dashed).

Adding points only stores them; ``refresh`` (called from the window's redraw timer)
pushes them to the curves at most ``REFRESH_EVERY_S``, so the redraw rate does not
follow the training rate. Axis ranges are set by hand and change only when the data
leaves them (or shrinks well inside): every range change makes pyqtgraph regenerate
its axis pictures, which made a repaint of these plots cost ~30 ms on a loaded CPU.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg

from latentlab.ui.base.theme import current as current_look
from latentlab.ui.base.theme import restyle_plot_item, set_plot_title

PART_TITLES = {
    "loss": "loss (optimised)",
    "recon": "reconstruction",
    "kl": "KL",
    "ce": "class cross-entropy",
    "d_loss": "discriminator loss",
    "g_loss": "generator loss",
    "d_real": "D(real)",
    "d_fake": "D(G(z))",
    "critic_loss": "critic loss",
    "gp": "gradient penalty",
    "wasserstein": "Wasserstein estimate",
    "accuracy": "accuracy",
}
STEP_PEN = pg.mkPen("#6baed6", width=1.5)
EPOCH_PEN = pg.mkPen("#08519c", width=2)
TEST_PEN = pg.mkPen("#e6550d", width=2, style=pg.QtCore.Qt.PenStyle.DashLine)
REFRESH_EVERY_S = 0.5
#: Title and note sizes in the normal look (scaled with the look, theme.py).
TITLE_PT = 10.0
NOTE_PT = 9.0


def padded_range(lo: float, hi: float, current: tuple[float, float] | None) -> tuple[float, float] | None:
    """A new (lo, hi) view range for data in [lo, hi], or None to keep ``current``.

    Keeps the current range while it holds the data and the data fills at least a third of it.
    """
    span = hi - lo
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    if current is not None:
        c0, c1 = current
        if c0 <= lo and hi <= c1 and span >= (c1 - c0) / 3:
            return None
    pad = max(span * 0.12, abs(hi) * 0.02, 1e-6)
    return lo - pad, hi + pad


def note_style() -> dict:
    """A grey line's colour and size in the current look."""
    look = current_look()
    return {"color": look.muted, "size": f"{NOTE_PT * look.font_scale:.1f}pt"}


class _Series:
    def __init__(self) -> None:
        self.x: list[float] = []
        self.y: list[float] = []

    def add(self, x: float, y: float) -> None:
        if np.isfinite(y):
            self.x.append(float(x))
            self.y.append(float(y))

    def clear(self) -> None:
        self.x.clear()
        self.y.clear()

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.x, float), np.asarray(self.y, float)


#: Under the empty plots of a checkpoint saved without history (the shipped GANs).
NO_HISTORY = ("This checkpoint was saved without its per-epoch losses; "
              "the curves appear here when you train it.")


class LossPlot(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setBackground("w")
        self.setToolTip("Loss parts per image (nats for reconstruction and KL). Thin: step reports of "
                        "this run; dots: epoch means; dashed: test set")
        self.parts: tuple[str, ...] = ()
        self._plots: dict[str, pg.PlotItem] = {}
        self._curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self._series: dict[tuple[str, str], _Series] = {}
        self._dirty = False
        self._last_refresh = 0.0
        self._x_span: tuple[float, float] | None = None
        self._x_range: tuple[float, float] | None = None
        self._y_ranges: dict[str, tuple[float, float]] = {}
        self._empty = self.addLabel("Loss curves appear here once a model is open or training.",
                                    **note_style())
        self._note: pg.LabelItem | None = None  # under the plots: why they are empty

    # ---------------------------------------------------------------- setup
    def observe(self, state) -> None:
        """Follow the app state (latentlab.app.state.AppState): the curves of the model on
        the map, with its loss history. The first screen's preview is left to the window,
        which fills its curves once the map is painted (``fill_from``)."""
        state.shown_changed.connect(self._on_shown)

    def _on_shown(self, shown) -> None:
        if shown is not None and not shown.is_preview:
            self.fill_from(shown)

    def fill_from(self, shown) -> None:
        """The loss parts and history of ``shown`` (an ExplorableSession)."""
        self.set_parts(shown.loss_parts)
        self.set_history(shown.history)

    def set_parts(self, parts: Sequence[str]) -> None:
        parts = tuple(parts)
        if parts == self.parts:
            self.clear_data()
            return
        self.clear()
        self._note = None
        self._plots.clear()
        self._curves.clear()
        self._series.clear()
        self.parts = parts
        first = None
        for part in parts:
            plot = self.addPlot()
            set_plot_title(plot, PART_TITLES.get(part, part.replace("_", " ")), TITLE_PT)
            plot.setLabel("bottom", "epoch")
            plot.showGrid(x=False, y=True, alpha=0.2)  # an x grid doubles the repaint time
            plot.setMenuEnabled(False)
            plot.disableAutoRange()
            if first is None:
                first = plot
                plot.addLegend(offset=(-4, 4), labelTextSize="8pt", brush=(255, 255, 255, 200))
            else:
                plot.setXLink(first)
            self._plots[part] = plot
            for kind, kwargs in (
                ("steps", dict(pen=STEP_PEN)),
                ("epochs", dict(pen=EPOCH_PEN, symbol="o", symbolSize=5, symbolBrush="#08519c",
                                symbolPen=None)),
                ("test", dict(pen=TEST_PEN)),
            ):
                name = {"steps": "steps", "epochs": "epoch mean", "test": "test"}[kind]
                curve = plot.plot([], [], name=name if plot is first else None, skipFiniteCheck=True, **kwargs)
                # Thousands of step points: draw at most ~2 per pixel column, only the visible ones.
                curve.setDownsampling(auto=True, method="peak")
                curve.setClipToView(True)
                self._curves[(part, kind)] = curve
                self._series[(part, kind)] = _Series()
        look = current_look()  # new plots in the look of the moment (presentation mode too)
        for plot in self._plots.values():
            restyle_plot_item(plot, look)
        self._dirty = True

    def clear_data(self) -> None:
        for series in self._series.values():
            series.clear()
        self._y_ranges.clear()
        self._x_span = self._x_range = None
        self._dirty = True

    def set_x_span(self, lo: float, hi: float) -> None:
        """Fix the epoch axis, e.g. to the whole of a training run, so it does not move each step."""
        self._x_span = (float(lo), float(max(hi, lo + 1)))
        self._dirty = True

    # ----------------------------------------------------------------- data
    def set_history(self, history: Sequence[dict]) -> None:
        """Replace everything with the per-epoch records of a checkpoint."""
        self.clear_data()
        for record in history:
            self.add_epoch(record)
        self.show_note("" if history else NO_HISTORY)
        self.refresh(force=True)

    def show_note(self, text: str) -> None:
        """A grey line under the plots (none when ``text`` is empty); gone with the first data."""
        if self._note is not None:
            self.removeItem(self._note)
            self._note = None
        if text and self._plots:
            self._note = self.addLabel(text, row=1, col=0, colspan=len(self._plots), **note_style())

    def add_epoch(self, record: dict) -> None:
        x = record.get("epoch")
        if x is None:
            return
        if self._note is not None:
            self.show_note("")
        for part in self.parts:
            if f"train_{part}" in record:
                self._series[(part, "epochs")].add(x, record[f"train_{part}"])
            if f"test_{part}" in record:
                self._series[(part, "test")].add(x, record[f"test_{part}"])
        self._dirty = True

    def add_step(self, x: float, losses: dict[str, float]) -> None:
        if self._note is not None:
            self.show_note("")
        for part in self.parts:
            if part in losses:
                self._series[(part, "steps")].add(x, losses[part])
        self._dirty = True

    def refresh(self, force: bool = False) -> None:
        """Push stored points to the curves, at most every REFRESH_EVERY_S unless ``force``."""
        now = time.monotonic()
        if not self._dirty or (not force and now - self._last_refresh < REFRESH_EVERY_S):
            return
        self._dirty = False
        self._last_refresh = now
        x_lo, x_hi = math.inf, -math.inf
        for part, plot in self._plots.items():
            y_lo, y_hi = math.inf, -math.inf
            for kind in ("steps", "epochs", "test"):
                x, y = self._series[(part, kind)].arrays()
                self._curves[(part, kind)].setData(x, y)
                if len(x):
                    x_lo, x_hi = min(x_lo, x.min()), max(x_hi, x.max())
                    y_lo, y_hi = min(y_lo, y.min()), max(y_hi, y.max())
            y_range = padded_range(y_lo, y_hi, self._y_ranges.get(part))
            if y_range is not None:
                self._y_ranges[part] = y_range
                plot.setYRange(*y_range, padding=0)
        first = next(iter(self._plots.values()), None)
        if first is not None and math.isfinite(x_lo):
            lo, hi = self._x_span if self._x_span else (min(x_lo, 1.0), x_hi)
            hi = max(hi, x_hi, lo + 1)
            if (lo, hi) != self._x_range:
                self._x_range = (lo, hi)
                first.setXRange(lo, hi, padding=0.02)

    def series(self, part: str, kind: str = "steps") -> tuple[np.ndarray, np.ndarray]:
        """(x, y) of one curve: kind is "steps", "epochs" or "test"."""
        return self._series[(part, kind)].arrays()

    def curve_data(self, part: str, kind: str = "steps") -> tuple[np.ndarray, np.ndarray]:
        """What the curve currently draws (may lag ``series`` until the next refresh)."""
        x, y = self._curves[(part, kind)].getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))

    def point_count(self) -> int:
        return sum(len(s.x) for s in self._series.values())
