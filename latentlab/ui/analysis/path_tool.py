"""Picking an interpolation path on the latent map, and drawing it there.

``PathOverlay`` adds the path to the map's plot: the line, a dot per frame, the two
ends (A, B) and a ring on the frame the strip is showing. ``MapPathPicker`` watches
the map's viewport for the path gestures, before pyqtgraph sees them, so they neither
move the marker nor pan the view:

* Shift+click sets the start A, Ctrl+click the end B (Cmd+click on macOS);
* with "Draw path" on, a drag draws a freehand path (released: resampled to N frames).

``PathPanel`` holds the choices: where the ends come from (two map points, two test
images, two class centroids, or a freehand path), straight or spherical, the number of
frames. The panel and the picker only report what the user chose (signals); the
``AnalysisActions`` turn that into latents and a background job.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal, Slot
from PySide6.QtGui import QAction, QColor, QMouseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from latentlab.ui.analysis.class_pair import fill_class_pair, pair_row
from latentlab.ui.base.theme import current as current_look
from latentlab.ui.map.latent_map import LatentMap
from latentlab.ui.map.map_overlays import DecorationScatter

#: Where the ends of a path come from (PathPanel.source).
SOURCE_POINTS, SOURCE_IMAGES, SOURCE_CENTROIDS, SOURCE_FREEHAND = "points", "images", "centroids", "freehand"
SOURCES = (
    (SOURCE_CENTROIDS, "Two class centroids"),
    (SOURCE_POINTS, "Two points on the map"),
    (SOURCE_IMAGES, "Two test images"),
    (SOURCE_FREEHAND, "A path drawn on the map"),
)
MODES = (("lerp", "Straight (lerp)"), ("slerp", "Spherical (slerp)"))
DEFAULT_STEPS = 12
PICK_HINT = "Shift+click on the map sets the start A, Ctrl+click the end B"
DRAW_HINT = "Drag on the map to draw a path; release to interpolate along it"
#: Freehand: ignore mouse moves closer than this many screen pixels to the last point.
DRAW_MIN_PX = 2.0


class PathOverlay:
    """The path's pyqtgraph items on the map's plot (above the points, below the marker)."""

    def __init__(self, latent_map: LatentMap) -> None:
        self.map = latent_map
        plot = latent_map.plot_item
        self.halo = pg.PlotCurveItem()
        self.line = pg.PlotCurveItem()
        self.frames = DecorationScatter()  # marks only: a click on them reaches the map
        self.ends = DecorationScatter()
        self.cursor = DecorationScatter(brush=None)
        self.labels = [pg.TextItem(text, anchor=(0.5, 1.3)) for text in ("A", "B")]
        for z, item in enumerate((self.halo, self.line, self.frames, self.ends, self.cursor, *self.labels)):
            item.setZValue(6 + 0.1 * z)
            plot.addItem(item, ignoreBounds=True)
        self._xy = np.zeros((0, 2))
        self.restyle()
        self.clear()

    def restyle(self) -> None:
        """Pens and sizes of the current look (theme.py): dark ink on light plots and the reverse."""
        look = current_look()
        ink, paper = (QColor("#f4f4f4"), QColor("#000000")) if look.dark else (QColor("#111111"), QColor("#ffffff"))
        w, m = look.line_scale, look.marker_scale
        halo = QColor(paper)
        halo.setAlpha(220)
        self.halo.setPen(pg.mkPen(halo, width=6 * w))
        self.line.setPen(pg.mkPen(ink, width=2.5 * w))
        for item, size, width in ((self.frames, 7, 1.2), (self.ends, 15, 2.0)):
            item.setPen(pg.mkPen(ink, width=width * w))
            item.setBrush(pg.mkBrush(paper))
            item.setSize(size * m)
        self.cursor.setPen(pg.mkPen("#ff4f4f" if look.dark else "#d62728", width=3.5 * w))
        self.cursor.setSize(20 * m)
        fill = QColor(paper)
        fill.setAlpha(190)
        for label in self.labels:
            label.setColor(ink)
            label.fill = pg.mkBrush(fill)
            font = label.textItem.font()
            font.setBold(True)
            font.setPointSizeF(12 * look.font_scale)
            label.setFont(font)

    def set_path(self, xy: np.ndarray | None) -> None:
        """The path's frames in plane coordinates ((N, 2)); None hides the line."""
        if xy is None or not len(xy):
            self._xy = np.zeros((0, 2))
            for item in (self.halo, self.line):
                item.setData([], [])
            self.frames.setData([], [])
            self.cursor.setData([], [])
            return
        self._xy = np.asarray(xy, np.float64)
        for item in (self.halo, self.line):
            item.setData(self._xy[:, 0], self._xy[:, 1])
        self.frames.setData(self._xy[:, 0], self._xy[:, 1])
        self.set_ends(self._xy[0], self._xy[-1])

    def set_polyline(self, xy: np.ndarray) -> None:
        """A line without frame dots (a freehand path while it is being drawn)."""
        xy = np.asarray(xy, np.float64)
        for item in (self.halo, self.line):
            item.setData(xy[:, 0], xy[:, 1])

    def set_ends(self, a: Sequence[float] | None, b: Sequence[float] | None) -> None:
        spots = [p for p in (a, b) if p is not None]
        self.ends.setData([p[0] for p in spots], [p[1] for p in spots])
        for label, p in zip(self.labels, (a, b)):
            label.setVisible(p is not None)
            if p is not None:
                label.setPos(float(p[0]), float(p[1]))

    def set_cursor(self, index: int) -> None:
        if 0 <= index < len(self._xy):
            self.cursor.setData([self._xy[index, 0]], [self._xy[index, 1]])
        else:
            self.cursor.setData([], [])

    def path(self) -> np.ndarray:
        return self._xy.copy()

    def clear(self) -> None:
        self.set_path(None)
        self.set_ends(None, None)


class MapPathPicker(QObject):
    """Path gestures on the map's viewport (see the module docstring)."""

    startPicked = Signal(float, float)
    endPicked = Signal(float, float)
    drawn = Signal(object)  # (M, 2) plane points of a freehand path, M >= 2
    drawing = Signal(object)  # the freehand path so far, while the mouse is down

    def __init__(self, latent_map: LatentMap, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.map = latent_map
        self.draw_mode = False
        self._stroke: list[tuple[float, float]] | None = None
        self._last_px: QPointF | None = None
        self._picked = False  # a pick press was ours: so is its release
        latent_map.plot.viewport().installEventFilter(self)

    def set_draw_mode(self, on: bool) -> None:
        self.draw_mode = on
        self._stroke = None
        viewport = self.map.plot.viewport()
        viewport.setCursor(Qt.CursorShape.CrossCursor) if on else viewport.unsetCursor()

    def plane_point(self, pos: QPointF) -> tuple[float, float]:
        scene = self.map.plot.mapToScene(pos.toPoint())
        p = self.map.view_box.mapSceneToView(scene)
        return float(p.x()), float(p.y())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        kind = event.type()
        if kind not in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove, QEvent.Type.MouseButtonRelease):
            return False
        assert isinstance(event, QMouseEvent)
        if self.draw_mode:
            return self._draw(kind, event)
        if kind != QEvent.Type.MouseButtonPress or event.button() != Qt.MouseButton.LeftButton:
            return self._swallow_release(kind)
        mods = event.modifiers()
        if mods & Qt.KeyboardModifier.ShiftModifier:
            self._picked = True
            self.startPicked.emit(*self.plane_point(event.position()))
            return True
        if mods & Qt.KeyboardModifier.ControlModifier:
            self._picked = True
            self.endPicked.emit(*self.plane_point(event.position()))
            return True
        return False

    def _swallow_release(self, kind: QEvent.Type) -> bool:
        """The release of a pick press is ours too (pyqtgraph would make it a click)."""
        if kind == QEvent.Type.MouseButtonRelease and self._picked:
            self._picked = False
            return True
        return False

    def _draw(self, kind: QEvent.Type, event: QMouseEvent) -> bool:
        pos = event.position()
        if kind == QEvent.Type.MouseButtonPress:
            if event.button() != Qt.MouseButton.LeftButton:
                return False
            self._stroke = [self.plane_point(pos)]
            self._last_px = pos
            return True
        if self._stroke is None:
            return False
        if kind == QEvent.Type.MouseMove:
            if (pos - self._last_px).manhattanLength() >= DRAW_MIN_PX:
                self._stroke.append(self.plane_point(pos))
                self._last_px = pos
                self.drawing.emit(np.asarray(self._stroke, np.float64))
            return True
        stroke, self._stroke = self._stroke, None  # release
        stroke.append(self.plane_point(pos))
        if len(stroke) >= 2:
            self.drawn.emit(np.asarray(stroke, np.float64))
        return True


class PathPanel(QWidget):
    """The choices of a path: source of the ends, mode, frames; and the Interpolate button."""

    interpolateRequested = Signal()
    sourceChanged = Signal(str)
    #: The user changed the path's ends, mode, frames or source: the strip is out of date.
    choiceChanged = Signal()

    def __init__(self, draw_action: QAction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source_box = QComboBox()
        for key, text in SOURCES:
            self.source_box.addItem(text, key)
        self.source_box.setToolTip("Where the two ends of the path come from")
        self.source_box.currentIndexChanged.connect(self._on_source_changed)

        self.stack = QStackedWidget()
        # class centroids
        self.class_a, self.class_b = QComboBox(), QComboBox()
        for box, end in ((self.class_a, "start"), (self.class_b, "end")):
            box.setToolTip(f"The path's {end}: the mean latent of this class's test images")
        self.stack.addWidget(pair_row(self.class_a, self.class_b))
        # map points
        self.points_label = QLabel(f"<small>{PICK_HINT}.</small>")
        self.points_label.setWordWrap(True)
        self.stack.addWidget(self.points_label)
        # test images
        self.image_a, self.image_b = QSpinBox(), QSpinBox()
        for box, end in ((self.image_a, "start"), (self.image_b, "end")):
            box.setPrefix("#")
            box.setRange(0, 0)
            box.setToolTip(f"Index of the test image at the path's {end} (encoded; inverted for a GAN)")
        self.stack.addWidget(pair_row(self.image_a, self.image_b))
        # freehand
        self.freehand_label = QLabel("Press Draw path, then drag on the map.")
        self.freehand_label.setWordWrap(True)
        self.stack.addWidget(self.freehand_label)

        self.mode_box = QComboBox()
        for key, text in MODES:
            self.mode_box.addItem(text, key)
        self.mode_box.setToolTip("Straight line, or the great circle (slerp: keeps the norm of a Gaussian latent)")
        self.steps = QSpinBox()
        self.steps.setRange(3, 64)
        self.steps.setValue(DEFAULT_STEPS)
        self.steps.setToolTip("Frames in the strip, both ends included")
        self.go = QPushButton("Interpolate")
        self.go.setToolTip("Decode the path and let the judge classify every frame")
        self.go.clicked.connect(self.interpolateRequested)

        for box in (self.class_a, self.class_b, self.mode_box):
            box.currentIndexChanged.connect(self.choiceChanged)
        for spin in (self.image_a, self.image_b, self.steps):
            spin.valueChanged.connect(self.choiceChanged)

        self.draw_button = QToolButton()
        self.draw_button.setDefaultAction(draw_action)
        self.draw_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)

        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setVerticalSpacing(3)
        form.addRow("From:", self.source_box)
        form.addRow("", self.stack)
        form.addRow("Mode:", self.mode_box)
        form.addRow("Frames:", self.steps)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.go, 1)
        buttons.addWidget(self.draw_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(3)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addStretch(1)

    # ------------------------------------------------------------------ state
    def set_classes(self, names: Sequence[str]) -> None:
        fill_class_pair(self.class_a, self.class_b, names)

    def set_test_count(self, n: int) -> None:
        """The test set's size (another model's dataset): not a choice of the user's."""
        for box in (self.image_a, self.image_b):
            box.blockSignals(True)
            box.setRange(0, max(n - 1, 0))
        self.image_b.setValue(min(1, max(n - 1, 0)))
        for box in (self.image_a, self.image_b):
            box.blockSignals(False)

    @property
    def source(self) -> str:
        return self.source_box.currentData()

    def set_source(self, source: str) -> None:
        self.source_box.setCurrentIndex(self.source_box.findData(source))

    @property
    def mode(self) -> str:
        return self.mode_box.currentData()

    def set_mode(self, mode: str) -> None:
        self.mode_box.setCurrentIndex(self.mode_box.findData(mode))

    def classes(self) -> tuple[int, int]:
        return int(self.class_a.currentData()), int(self.class_b.currentData())

    def set_class_pair(self, a: int, b: int) -> None:
        self.class_a.setCurrentIndex(a)
        self.class_b.setCurrentIndex(b)

    def images(self) -> tuple[int, int]:
        return self.image_a.value(), self.image_b.value()

    def show_points(self, a: Sequence[float] | None, b: Sequence[float] | None) -> None:
        def fmt(p):
            return "not set" if p is None else f"({p[0]:+.2f}, {p[1]:+.2f})"

        self.points_label.setText(f"A {fmt(a)} → B {fmt(b)}<br><small>{PICK_HINT}.</small>")
        self.points_label.setToolTip(PICK_HINT)

    @Slot(int)
    def _on_source_changed(self, index: int) -> None:
        self.stack.setCurrentIndex(index)
        self.mode_box.setEnabled(self.source != SOURCE_FREEHAND)
        self.sourceChanged.emit(self.source)
        self.choiceChanged.emit()
