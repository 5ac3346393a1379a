"""A scatter item that takes new positions for tens of thousands of points in milliseconds.

pyqtgraph's ScatterPlotItem rebuilds per-point records on every ``setData`` (70-140 ms for
50k points even with shared brushes), far too slow for a latent map that re-encodes a few
times a second while a model trains. One ``PointCloudItem`` draws the points of one
class: their coordinates live in a QPolygonF filled from numpy in one copy, and ``paint``
maps them to device pixels in one matrix product and blits one pre-rendered dot (a white
halo around the class colour) at each with ``QPainter.drawPixmapFragments``, so the dot
keeps its size in screen pixels at any zoom. (An antialiased ``drawPoints`` with a
round-capped pen is the obvious alternative; it paints 60k points about ten times slower.)
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pyqtgraph.functions as fn
from pyqtgraph.Qt import internals
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap, QPolygonF


def dot_pixmap(color: QColor, size: float, halo: float, dpr: float = 1.0) -> QPixmap:
    """A round dot ``size`` px wide with a white ``halo`` px ring, for ``dpr`` device pixels per px."""
    side = int(np.ceil((size + 2 * halo + 2) * dpr))
    pixmap = QPixmap(side, side)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    centre = QPointF(side / 2, side / 2)
    painter.setPen(Qt.PenStyle.NoPen)
    if halo > 0:
        painter.setBrush(QColor(255, 255, 255, 235))
        r = (size / 2 + halo) * dpr
        painter.drawEllipse(centre, r, r)
    painter.setBrush(color)
    r = size / 2 * dpr
    painter.drawEllipse(centre, r, r)
    painter.end()
    pixmap.setDevicePixelRatio(dpr)
    return pixmap


class PointCloudItem(pg.GraphicsObject):
    """Points of one colour, drawn as round dots ``size`` device pixels wide."""

    def __init__(self, color: QColor, size: float = 7.0, halo: float = 1.2) -> None:
        super().__init__()
        self._polygon = QPolygonF()
        self._bounds = (0.0, 0.0, 0.0, 0.0)  # x0, x1, y0, y1 of the data
        self._size = float(size)
        self._halo = float(halo)
        self.color = QColor(color)
        self._sprite: QPixmap | None = None
        self._rect: QRectF | None = None  # cached: the scene asks for it on every mouse move
        self._fragments = internals.PrimitiveArray(QPainter.PixmapFragment, 10)

    # -------------------------------------------------------------------- data
    def set_points(self, xy: np.ndarray) -> None:
        """Replace the points; ``xy`` is (n, 2). One copy into the polygon, no per-point objects."""
        xy = np.asarray(xy)
        n = len(xy)
        polygon = fn.create_qpolygonf(n)
        if n:
            fn.ndarray_from_qpolygonf(polygon)[:] = xy
            lo, hi = xy.min(axis=0), xy.max(axis=0)
            self._bounds = (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))
        else:
            self._bounds = (0.0, 0.0, 0.0, 0.0)
        self.prepareGeometryChange()
        self._rect = None
        self._polygon = polygon
        self.update()

    def points(self) -> np.ndarray:
        """A copy of the current positions, (n, 2) float64."""
        if self._polygon.isEmpty():
            return np.zeros((0, 2))
        return fn.ndarray_from_qpolygonf(self._polygon).copy()

    def __len__(self) -> int:
        return len(self._polygon)

    @property
    def size(self) -> float:
        return self._size

    # ---------------------------------------------------------------- geometry
    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange=None):  # noqa: N802 (pyqtgraph API)
        if self._polygon.isEmpty():
            return None, None
        x0, x1, y0, y1 = self._bounds
        return (x0, x1) if ax == 0 else (y0, y1)

    def pixelPadding(self) -> float:  # noqa: N802 (pyqtgraph API, used by ViewBox auto-range)
        return self._size / 2 + self._halo

    def boundingRect(self) -> QRectF:  # noqa: N802
        if self._rect is None:
            self._rect = self._compute_rect()
        return self._rect

    def _compute_rect(self) -> QRectF:
        if self._polygon.isEmpty():
            return QRectF()
        x0, x1, y0, y1 = self._bounds
        # Pad by the dot radius in data units, so partial repaints never clip a dot.
        pw, ph = self.pixelWidth(), self.pixelHeight()
        pad = self.pixelPadding() + 1.0
        px = pad * (pw if pw and np.isfinite(pw) else 0.0)
        py = pad * (ph if ph and np.isfinite(ph) else 0.0)
        return QRectF(x0 - px, y0 - py, (x1 - x0) + 2 * px, (y1 - y0) + 2 * py)

    def viewTransformChanged(self) -> None:  # noqa: N802 (pyqtgraph hook)
        # The padding is in pixels, so the bounding rect changes with the zoom.
        self.prepareGeometryChange()
        self._rect = None

    # ------------------------------------------------------------------ paint
    def paint(self, painter: QPainter, option=None, widget=None) -> None:
        n = len(self._polygon)
        if n == 0:
            return
        dpr = widget.devicePixelRatioF() if widget is not None else 1.0
        if self._sprite is None or self._sprite.devicePixelRatio() != dpr:
            self._sprite = dot_pixmap(self.color, self._size, self._halo, dpr)
        t = painter.transform()
        xy = fn.ndarray_from_qpolygonf(self._polygon)
        self._fragments.resize(n)
        frags = self._fragments.ndarray()
        # Item -> device coordinates (an affine map: no perspective in a ViewBox).
        frags[:, 0] = xy[:, 0] * t.m11() + xy[:, 1] * t.m21() + t.dx()
        frags[:, 1] = xy[:, 0] * t.m12() + xy[:, 1] * t.m22() + t.dy()
        np.clip(frags[:, 0:2], -(2.0**30), 2.0**30, out=frags[:, 0:2])  # huge values crash Qt
        side = self._sprite.width()
        frags[:, 2:6] = (0.0, 0.0, side, side)
        frags[:, 6:10] = (1.0 / dpr, 1.0 / dpr, 0.0, 1.0)
        painter.save()
        painter.resetTransform()
        painter.drawPixmapFragments(*self._fragments.drawargs(), self._sprite)
        painter.restore()
