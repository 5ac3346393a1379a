"""The latent map: points coloured by class over the judge's class territory, a draggable
marker, hover previews of the originals, and a legend that toggles classes and the territory
(map_legend.py; what is drawn over the points: map_overlays.py).

The widget knows nothing of models. It takes plane coordinates (``set_points``,
``update_positions``), an RGBA territory image (``set_territory``) and a callable that
gives the preview image of a point; it reports the marker's position (``markerMoved``)
and, 150 ms after the view stops moving, the visible region (``regionChanged``).
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QFont, QFontMetrics
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from latentlab.ui.base.palette import class_colors, unknown_color
from latentlab.ui.base.theme import current as current_look
from latentlab.ui.map.map_legend import TERRITORY_TIP, ClassLegend, swatch_icon, territory_icon
from latentlab.ui.map.map_overlays import BusyNote, DecorationScatter, HoverPreview
from latentlab.ui.map.point_cloud import PointCloudItem
from latentlab.ui.map.realness_legend import REALNESS_TIP, realness_icon

#: Wait this long after the last pan or zoom before asking for a new territory image.
REGION_DEBOUNCE_MS = 150
#: A point is "under the cursor" within this many screen pixels of its centre.
HOVER_RADIUS_PX = 7.0
MARKER_SIZE = 26
MARKER_WIDTH = 3.0
HOVER_RING_SIZE = 16
#: A training run's points that leave the view are re-framed in this long a glide, in steps
#: of this many milliseconds (about 8 repaints: the GUI thread is busy enough while training).
FRAME_GLIDE_MS = 240
FRAME_GLIDE_STEP_MS = 30


def marker_pens(dark: bool, line_scale: float = 1.0):
    """Pen, brush, hover pen and hover brush of the marker on a light or dark map."""
    ink, fill = ("#ffffff", (0, 0, 0, 110)) if dark else ("#111111", (255, 255, 255, 110))
    hover_fill = (0, 0, 0, 160) if dark else (255, 255, 255, 160)
    return (pg.mkPen(ink, width=MARKER_WIDTH * line_scale), fill,
            pg.mkPen("#ff4f4f" if dark else "#d62728", width=(MARKER_WIDTH + 0.5) * line_scale), hover_fill)


def dot_size(n_points: int) -> tuple[float, float]:
    """Dot diameter and halo (pixels) that keep a cloud of ``n_points`` readable."""
    if n_points <= 3000:
        return 8.0, 1.2
    if n_points <= 15000:
        return 5.0, 0.8
    return 3.5, 0.0


class LatentMap(QWidget):
    markerMoved = Signal(float, float)  # plane coordinates of the marker (click, drag or set_marker)
    territoryToggled = Signal(bool)  # the user showed (True) or hid the territory
    realnessToggled = Signal(bool)  # the user showed (True) or hid the discriminator's background
    regionChanged = Signal(object, object)  # (x0, x1), (y0, y1): debounced after pan / zoom / resize
    pointHovered = Signal(int)  # index of the point under the cursor, -1 when none
    dimsChanged = Signal(int, int)  # latent dimensions shown on x and y (latents of more than 2-D)
    classPicked = Signal(int)  # a conditional model's class picked in the legend

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._caption = ""  # set_caption's text
        self._caption_shown: tuple | None = None  # (text, size, colour, height) on the plot now
        self.legend = ClassLegend()
        self.header = QHBoxLayout()
        self.header.setContentsMargins(4, 0, 4, 0)
        self.legend_label = QLabel("Dots:")
        self.header.addWidget(self.legend_label)
        self.header.addWidget(self.legend, 1)
        self.territory_toggle = QToolButton()
        self.territory_toggle.setText("Territory")
        self.territory_toggle.setCheckable(True)
        self.territory_toggle.setChecked(True)
        self.territory_toggle.setAutoRaise(True)
        self.territory_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.territory_toggle.setToolTip(TERRITORY_TIP)
        self.territory_toggle.toggled.connect(self._on_territory_toggled)
        self.header.addWidget(self.territory_toggle)
        # The discriminator's view D(G(z)) instead of the judge's territory (models that have one).
        self.realness_toggle = QToolButton()
        self.realness_toggle.setText("D(G(z))")
        self.realness_toggle.setCheckable(True)
        self.realness_toggle.setAutoRaise(True)
        self.realness_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.realness_toggle.setIcon(realness_icon())
        self.realness_toggle.setToolTip(REALNESS_TIP)
        self.realness_toggle.setVisible(False)
        self.realness_toggle.toggled.connect(self._on_realness_toggled)
        self.header.addWidget(self.realness_toggle)
        self._painted = "territory"  # what the background image shows: "territory" or "realness"
        self.set_dot_meaning("their true class")
        self.dims_label = QLabel("Slice through dims  x:")
        self.dim_x = QSpinBox()
        self.dim_y_label = QLabel("y:")
        self.dim_y = QSpinBox()
        for box, axis in ((self.dim_x, "horizontal"), (self.dim_y, "vertical")):
            box.setPrefix("z")
            box.setToolTip(f"Latent dimension on the {axis} axis; the other dimensions are held at the "
                           "data mean (a slice through the latent space)")
            box.valueChanged.connect(self._on_dim_changed)
        self.dims_label.setToolTip(self.dim_x.toolTip())
        # A second row for how the map is laid out: the window's projection picker
        # (``insert_control``) and the slice dimensions.
        self.controls = QHBoxLayout()
        self.controls.setContentsMargins(4, 0, 4, 0)
        for widget in (self.dims_label, self.dim_x, self.dim_y_label, self.dim_y):
            self.controls.addWidget(widget)
        self.controls.addStretch(1)
        self._latent_dim = 2
        self._slice_shown = True
        self.set_latent_dim(2)

        look = current_look()
        self.size_scale = 1.0  # dots, marker and hover ring (presentation mode: larger)
        self.plot = pg.PlotWidget(background=look.plot_background)
        self.plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        # A status tip, not a tooltip: a tooltip would cover the hover preview.
        self.plot.setStatusTip("Click to decode a point (on a dot: that dot's latent) · drag the marker to decode "
                               "continuously · hover a dot to see its image · wheel zooms, drag pans, R resets the view")
        self.plot_item = self.plot.getPlotItem()
        # No grid: pyqtgraph's grid costs ~10 ms a repaint at this size; the territory is the backdrop.
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideButtons()
        tick_font = QFont(self.font())
        tick_font.setPointSizeF(max(tick_font.pointSizeF(), 10.0))
        for name in ("left", "bottom"):
            axis = self.plot_item.getAxis(name)
            axis.setTickFont(tick_font)
            axis.setTextPen(look.plot_foreground)
            axis.enableAutoSIPrefix(False)  # "z0 (x0.001)" reads like a unit: show the numbers as they are
        self.view_box: pg.ViewBox = self.plot_item.getViewBox()

        self.territory_item = pg.ImageItem(axisOrder="row-major")
        self.territory_item.setZValue(-20)
        self.plot_item.addItem(self.territory_item, ignoreBounds=True)
        self.hover_ring = DecorationScatter(size=HOVER_RING_SIZE, pen=pg.mkPen(look.plot_foreground, width=2),
                                             brush=None, pxMode=True)
        self.hover_ring.setZValue(5)
        self.plot_item.addItem(self.hover_ring, ignoreBounds=True)
        pen, brush, hover_pen, hover_brush = marker_pens(look.dark)
        self.marker = pg.TargetItem(pos=(0, 0), size=MARKER_SIZE, symbol="crosshair", movable=True,
                                    pen=pen, brush=brush, hoverPen=hover_pen, hoverBrush=hover_brush)
        self.marker.setToolTip("Drag the marker to decode continuously, or click anywhere on the map")
        self.marker.setZValue(10)
        self.plot_item.addItem(self.marker, ignoreBounds=True)
        self.marker.sigPositionChanged.connect(self._on_marker_changed)
        self.hover_preview = HoverPreview(self.plot)
        self.busy = BusyNote(self.plot, self._plot_area)

        self.clouds: list[PointCloudItem] = []
        self.colors: list[QColor] = []
        self.class_names: list[str] = []
        self._xy = np.zeros((0, 2))
        self._labels = np.zeros(0, np.int64)
        self._order = np.zeros(0, np.int64)  # point indices grouped by class
        self._bounds = np.zeros(1, np.int64)  # group g is _order[_bounds[g]:_bounds[g+1]]; last group: unknown
        self._hidden: set[int] = set()
        self._hover_index = -1
        self._hover_image: Callable[[int], tuple[np.ndarray, str]] | None = None

        self._region_timer = QTimer(self)
        self._region_timer.setSingleShot(True)
        self._region_timer.setInterval(REGION_DEBOUNCE_MS)
        self._region_timer.timeout.connect(self._emit_region)
        self.following = True  # re-frame the points as they move (training) until the user pans or zooms
        self._frame_timer = QTimer(self)  # glides the view to a new framing (frame_points(smooth=True))
        self._frame_timer.setInterval(FRAME_GLIDE_STEP_MS)
        self._frame_timer.timeout.connect(self._glide_step)
        self._glide: tuple = ((0.0, 1.0), (0.0, 1.0)), ((0.0, 1.0), (0.0, 1.0)), 0.0
        self.view_box.sigRangeChanged.connect(self._on_range_changed)
        self.view_box.sigRangeChangedManually.connect(self._on_manual_range_change)
        self.view_box.sigResized.connect(self._on_range_changed)
        scene = self.plot.scene()
        scene.sigMouseMoved.connect(self._on_mouse_moved)
        scene.sigMouseClicked.connect(self._on_mouse_clicked)
        self.legend.toggled.connect(self._on_class_toggled)
        self.legend.picked.connect(self.classPicked)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self.header)
        layout.addLayout(self.controls)
        layout.addWidget(self.plot, 1)

    # -------------------------------------------------------------- classes
    def set_dot_meaning(self, meaning: str) -> None:
        """What the dots' colours are ("their true class", "the judge's class of G(z)"), for the
        legend's tooltips: the territory uses the same colours for the judge's class."""
        tip = (f"The dots are coloured by {meaning}; the territory behind them by the judge's class of the image "
               "decoded there, in the same colours (paler).\nClick a class to hide or show its dots.")
        self.legend_label.setToolTip(tip)
        self.legend.setToolTip(tip)

    def set_classes(self, names: Sequence[str]) -> None:
        for cloud in self.clouds:
            self.plot_item.removeItem(cloud)
        self.class_names = list(names)
        self.colors = class_colors(len(names))
        self.clouds = []
        for color in [*self.colors, unknown_color()]:  # the last cloud holds unknown-class points
            cloud = PointCloudItem(color)
            self.plot_item.addItem(cloud)
            self.clouds.append(cloud)
        self._hidden.clear()
        self.legend.set_classes(self.class_names, self.colors)
        self.territory_toggle.setIcon(territory_icon(self.colors, round(14 * current_look().font_scale)))

    def restyle(self) -> None:
        """Class colours, dot, marker and ring sizes and pens of the current look (theme.py)."""
        look = current_look()
        self.size_scale = look.marker_scale
        self.colors = class_colors(len(self.class_names))
        size, halo = dot_size(len(self._labels))
        for i, (cloud, color) in enumerate(zip(self.clouds, [*self.colors, unknown_color()])):
            replacement = PointCloudItem(color, size * self.size_scale, halo * self.size_scale)
            replacement.setVisible(cloud.isVisible())
            self.plot_item.removeItem(cloud)
            self.plot_item.addItem(replacement)
            self.clouds[i] = replacement
        if len(self._order):
            self.update_positions(self._xy)
        for button, color in zip(self.legend.buttons, self.colors):
            button.setIcon(swatch_icon(color, round(14 * look.font_scale)))
        self.territory_toggle.setIcon(territory_icon(self.colors, round(14 * look.font_scale)))
        pen, brush, hover_pen, hover_brush = marker_pens(look.dark, look.line_scale)
        self.marker.setPen(pen)
        self.marker.setBrush(brush)
        self.marker.setHoverPen(hover_pen)
        self.marker.setHoverBrush(hover_brush)
        self.marker.prepareGeometryChange()
        self.marker.scale = MARKER_SIZE * self.size_scale  # TargetItem keeps its size here
        self.marker.viewTransformChanged()
        self.marker.update()
        self.hover_ring.setSize(HOVER_RING_SIZE * self.size_scale)

    def marker_size(self) -> float:
        return float(self.marker.scale)

    def dot_size(self) -> float:
        return float(self.clouds[0].size) if self.clouds else dot_size(len(self._labels))[0] * self.size_scale

    def set_class_picker(self, on: bool, current: int = 0) -> None:
        """A conditional model: the legend picks the class asked for (``classPicked``) and
        every class's dots are shown; otherwise it toggles the dots."""
        for index in list(self._hidden):
            self.set_class_visible(index, True)
        self.legend.set_picking(on, current)
        self.legend_label.setText("Ask for:" if on else "Dots:")

    def set_picked_class(self, index: int) -> None:
        self.legend.set_current(index)

    def set_class_visible(self, index: int, visible: bool) -> None:
        self.legend.buttons[index].setChecked(visible)

    def is_class_visible(self, index: int) -> bool:
        return index not in self._hidden

    @Slot(int, bool)
    def _on_class_toggled(self, index: int, on: bool) -> None:
        (self._hidden.discard if on else self._hidden.add)(index)
        self.clouds[index].setVisible(on)

    # ---------------------------------------------------------- slice dims
    def insert_control(self, widget: QWidget, stretch: int = 0) -> None:
        """Put ``widget`` first in the row of the slice dimensions (the projection picker);
        the row's spare room is left empty, at its end."""
        self.controls.insertWidget(0, widget, stretch)

    def set_latent_dim(self, latent_dim: int, dims: tuple[int, int] = (0, 1)) -> None:
        """Show the slice spin boxes only for latents of more than two dimensions."""
        self._latent_dim = latent_dim
        self._show_slice_controls()
        for box, value in ((self.dim_x, dims[0]), (self.dim_y, dims[1])):
            box.blockSignals(True)
            box.setRange(0, max(latent_dim - 1, 0))
            box.setValue(value)
            box.blockSignals(False)

    def set_slice_shown(self, shown: bool) -> None:
        """Whether the map shows a slice (the spin boxes choose its dimensions) or another
        projection (PCA, UMAP: the spin boxes are hidden)."""
        self._slice_shown = shown
        self._show_slice_controls()

    def _show_slice_controls(self) -> None:
        visible = self._slice_shown and self._latent_dim > 2
        for widget in (self.dims_label, self.dim_x, self.dim_y_label, self.dim_y):
            widget.setVisible(visible)

    def dims(self) -> tuple[int, int]:
        return self.dim_x.value(), self.dim_y.value()

    @Slot(int)
    def _on_dim_changed(self, value: int) -> None:
        dx, dy = self.dims()
        if dx == dy:  # two different dimensions: push the other one along
            other = self.dim_y if self.sender() is self.dim_x else self.dim_x
            other.blockSignals(True)
            other.setValue((value + 1) % (other.maximum() + 1))
            other.blockSignals(False)
            dx, dy = self.dims()
        self.dimsChanged.emit(dx, dy)

    # --------------------------------------------------------------- points
    def set_points(self, xy: np.ndarray, labels: np.ndarray) -> None:
        """New points and classes (label -1: not known yet, drawn grey)."""
        labels = np.asarray(labels, np.int64)
        n_classes = len(self.class_names)
        group = np.where((labels >= 0) & (labels < n_classes), labels, n_classes)
        self._order = np.argsort(group, kind="stable")
        self._bounds = np.searchsorted(group[self._order], np.arange(n_classes + 2))
        self._labels = labels
        size, halo = dot_size(len(labels))
        size *= self.size_scale
        for i, cloud in enumerate(self.clouds):
            if cloud.size != size:
                replacement = PointCloudItem(cloud.color, size, halo)
                replacement.setVisible(cloud.isVisible())
                self.plot_item.removeItem(cloud)
                self.plot_item.addItem(replacement)
                self.clouds[i] = replacement
        self.update_positions(xy)

    def update_positions(self, xy: np.ndarray) -> None:
        """New positions for the same points in the same order (fast: no regrouping)."""
        xy = np.asarray(xy, np.float64)
        if len(xy) != len(self._order):
            raise ValueError(f"update_positions got {len(xy)} points, the map holds {len(self._order)}")
        self._xy = xy
        grouped = xy[self._order]
        for g, cloud in enumerate(self.clouds):
            cloud.set_points(grouped[self._bounds[g] : self._bounds[g + 1]])
        if self._hover_index >= 0:
            self._hide_hover()

    def positions(self) -> np.ndarray:
        return self._xy.copy()

    def labels(self) -> np.ndarray:
        return self._labels.copy()

    def point_count(self) -> int:
        return len(self._xy)

    def set_hover_source(self, source: Callable[[int], tuple[np.ndarray, str]] | None) -> None:
        """``source(i)`` gives the uint8 preview image and the caption of point ``i``."""
        self._hover_image = source

    # ------------------------------------------------------------ territory
    def set_territory(self, rgba: np.ndarray | None, x_range=None, y_range=None,
                      background: str = "territory") -> None:
        """An (ny, nx, 4) uint8 image whose row 0 is the lowest y of the region; ``background``:
        what it shows, the judge's "territory" or the discriminator's "realness"."""
        if rgba is None:
            self.territory_item.clear()
            self.territory_item.setVisible(False)
            return
        self._painted = background
        self.territory_item.setImage(rgba, autoLevels=False, levels=(0, 255))
        self.territory_item.setRect(QRectF(x_range[0], y_range[0], x_range[1] - x_range[0], y_range[1] - y_range[0]))
        self.territory_item.setVisible(self.background_kind() == background)

    def background_kind(self) -> str | None:
        """What the user wants behind the points: "realness", "territory" or None."""
        if self.realness_toggle.isChecked() and not self.realness_toggle.isHidden():
            return "realness"
        return "territory" if self.territory_shown() else None

    def set_realness_available(self, available: bool) -> None:
        """Offer the discriminator's background (a model with a discriminator) or not; when it
        goes while shown, the judge's territory comes back (no signals: this is part of showing
        another model, which asks for its own background)."""
        if not available and self.realness_toggle.isChecked():
            for toggle, on in ((self.realness_toggle, False), (self.territory_toggle, True)):
                toggle.blockSignals(True)
                toggle.setChecked(on)
                toggle.blockSignals(False)
        self.realness_toggle.setHidden(not available)
        self.territory_item.setVisible(self._painted_is_wanted())

    def has_territory(self) -> bool:
        """True when a territory image is painted (and not hidden by the user)."""
        return self.territory_item.isVisible() and self.territory_item.image is not None

    def territory_shown(self) -> bool:
        """Whether the user wants the territory (the legend's toggle)."""
        return self.territory_toggle.isChecked()

    def set_territory_shown(self, shown: bool) -> None:
        self.territory_toggle.setChecked(shown)

    @Slot(bool)
    def _on_territory_toggled(self, on: bool) -> None:
        if on and self.realness_toggle.isChecked():  # one background at a time
            self.realness_toggle.setChecked(False)
        self.territory_item.setVisible(self._painted_is_wanted())
        self.territoryToggled.emit(on)

    @Slot(bool)
    def _on_realness_toggled(self, on: bool) -> None:
        if on and self.territory_toggle.isChecked():
            self.territory_toggle.blockSignals(True)  # (the realness request follows)
            self.territory_toggle.setChecked(False)
            self.territory_toggle.blockSignals(False)
        self.territory_item.setVisible(self._painted_is_wanted())
        self.realnessToggled.emit(on)

    def _painted_is_wanted(self) -> bool:
        return self.territory_item.image is not None and self.background_kind() == self._painted

    # ----------------------------------------------------------------- view
    def set_caption(self, text: str) -> None:
        """The line over the plot that says what the points and the background are; broken
        after its "; " into two lines when one is wider than the plot (a narrow window, or
        presentation mode's large font)."""
        self._caption = text
        self._show_caption()

    def _show_caption(self) -> None:
        text, look = self._caption, current_look()
        if not text:
            return
        size = 10 * look.font_scale
        font = QFont(self.font())
        font.setPointSizeF(size)
        metrics = QFontMetrics(font)
        lines = 1
        # The title is HTML, and a caption may quote a file's text: escaped, then broken.
        parts = [html.escape(part, quote=False) for part in text.split("; ", 1)]
        # the title is centred over the view box, right of the y axis
        room, one_line = min(self.plot.width(), self.view_box.width()) - 24, "; ".join(parts)
        fits = metrics.horizontalAdvance(text) <= room
        if fits and self._caption_shown is not None and self._caption_shown[:2] == (one_line, size):
            # shown on one line already: pyqtgraph's HTML label can be wider than the metrics say
            fits = self.plot_item.titleLabel.item.boundingRect().width() <= room
        if not fits and len(parts) == 2:
            text, lines = ";<br>".join(parts), 2
        else:
            text = one_line
        height = max(30, lines * metrics.lineSpacing() + 8)  # setTitle fixes the row at 30 pixels
        shown = (text, size, look.muted, height)
        if shown == self._caption_shown:  # a resize that does not change the lines: no re-layout
            return
        self._caption_shown = shown
        self.plot_item.setTitle(text, size=f"{size:.1f}pt", color=look.muted)
        if lines == 1 and len(parts) == 2 \
                and self.plot_item.titleLabel.item.boundingRect().width() > room:
            # pyqtgraph's HTML label came out wider than the font's metrics said: break it after all
            text, lines = ";<br>".join(parts), 2
            height = max(30, lines * metrics.lineSpacing() + 8)
            self._caption_shown = (text, size, look.muted, height)
            self.plot_item.setTitle(text, size=f"{size:.1f}pt", color=look.muted)
        # The rendered text's own height (pyqtgraph's HTML label is taller than the widget
        # font's metrics say at presentation sizes: the first line was cut at 1080p).
        height = max(height, int(np.ceil(self.plot_item.titleLabel.item.boundingRect().height())) + 2)
        self.plot_item.titleLabel.setMaximumHeight(height)
        self.plot_item.layout.setRowFixedHeight(0, height)

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._show_caption()
        if self.busy.isVisible():
            self.busy.place()

    def set_axis_labels(self, x: str, y: str) -> None:
        look = current_look()
        style = {"font-size": f"{11 * look.font_scale:.1f}pt", "color": look.text}
        self.plot_item.setLabel("bottom", x, **style)
        self.plot_item.setLabel("left", y, **style)

    def visible_region(self) -> tuple[tuple[float, float], tuple[float, float]]:
        (x0, x1), (y0, y1) = self.view_box.viewRange()
        return (float(x0), float(x1)), (float(y0), float(y1))

    def set_region(self, x_range: tuple[float, float], y_range: tuple[float, float]) -> None:
        """Show this region, as the user's own view: the map stops following the points
        (``reset_view`` follows them again)."""
        self.following = False
        self._frame_timer.stop()
        self._show_region(x_range, y_range)

    def _show_region(self, x_range: tuple[float, float], y_range: tuple[float, float]) -> None:
        self.view_box.setRange(xRange=x_range, yRange=y_range, padding=0.0)

    def reset_view(self) -> None:
        """Frame the points, and follow them from now on (until the user pans or zooms)."""
        self.following = True
        self.frame_points(force=True)

    def frame_points(self, force: bool = True, smooth: bool = False) -> None:
        """Frame the central 99% of the points and the marker ([-3, 3]² when there are no points).

        Unless ``force``, only when they have left the view or fill less than a quarter of
        it, with room to grow: a training run's points are followed without the view
        moving at every snapshot. ``smooth`` glides there in ``FRAME_GLIDE_MS``.
        """
        target = self._framing(force)
        if target is None:
            return
        if not smooth:
            self._frame_timer.stop()
            self._show_region(*target)
            return
        self._glide = (self.visible_region(), target, time.monotonic())
        if not self._frame_timer.isActive():
            self._frame_timer.start()

    def _framing(self, force: bool) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """The region ``frame_points`` shows, or None when the view is fine as it is."""
        if len(self._xy):
            lo = np.percentile(self._xy, 0.5, axis=0)
            hi = np.percentile(self._xy, 99.5, axis=0)
            marker = np.array(self.marker_position())
            lo, hi = np.minimum(lo, marker), np.maximum(hi, marker)
        else:
            lo, hi = np.array([-3.0, -3.0]), np.array([3.0, 3.0])
        if not force:
            (x0, x1), (y0, y1) = self._glide[1] if self.is_gliding() else self.visible_region()
            inside = lo[0] >= x0 and hi[0] <= x1 and lo[1] >= y0 and hi[1] <= y1
            filled = np.prod(np.maximum(hi - lo, 1e-9)) / max((x1 - x0) * (y1 - y0), 1e-12)
            if inside and filled >= 0.25:
                return None
        pad = np.maximum((hi - lo) * (0.08 if force else 0.2), 0.05 * max(float(np.max(hi - lo)), 1e-3))
        lo, hi = lo - pad, hi + pad
        return (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))

    def is_gliding(self) -> bool:
        """True while the view glides to a new framing of the points."""
        return self._frame_timer.isActive()

    @Slot()
    def _glide_step(self) -> None:
        (start, target, t0) = self._glide
        t = min(1.0, (time.monotonic() - t0) * 1000.0 / FRAME_GLIDE_MS)
        ease = 1.0 - (1.0 - t) ** 3  # fast at first, settling gently
        region = [tuple(a + (b - a) * ease for a, b in zip(sa, sb)) for sa, sb in zip(start, target)]
        self._show_region(*region)
        if t >= 1.0:
            self._frame_timer.stop()

    @Slot(object)
    def _on_manual_range_change(self, *args) -> None:
        self.following = False
        self._frame_timer.stop()  # the user's wheel or drag wins over a glide

    @Slot()
    def _on_range_changed(self, *args) -> None:
        self._region_timer.start()

    @Slot()
    def _emit_region(self) -> None:
        self.regionChanged.emit(*self.visible_region())

    def region_pending(self) -> bool:
        return self._region_timer.isActive()

    # --------------------------------------------------------------- marker
    def set_marker(self, x: float, y: float) -> None:
        """Move the marker (emits ``markerMoved``)."""
        self.marker.setPos(float(x), float(y))

    def marker_position(self) -> tuple[float, float]:
        p = self.marker.pos()
        return float(p.x()), float(p.y())

    @Slot(object)
    def _on_marker_changed(self, item) -> None:
        p = item.pos()
        self.markerMoved.emit(float(p.x()), float(p.y()))

    def _plot_area(self) -> QRect:
        """The view box (inside the axes) in pixels of the plot widget."""
        return self.plot.mapFromScene(self.view_box.sceneBoundingRect()).boundingRect()

    def viewport_position(self, x: float, y: float) -> QPoint:
        """Where the plane point (x, y) is, in pixels of the plot widget's viewport."""
        return self.plot.mapFromScene(self.view_box.mapViewToScene(QPointF(x, y)))

    # ---------------------------------------------------------------- mouse
    @Slot(object)
    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or event.double() or event.isAccepted():
            return
        scene_pos = event.scenePos()
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            return
        index = self.point_near(scene_pos) if len(self._xy) else -1
        if index >= 0:  # on a dot (the hover ring shows which): decode exactly that point
            self.set_marker(*self._xy[index])
            return
        p = self.view_box.mapSceneToView(scene_pos)
        self.set_marker(p.x(), p.y())

    @Slot(object)
    def _on_mouse_moved(self, scene_pos) -> None:
        if self.marker.moving or self._hover_image is None or not len(self._xy) \
                or QApplication.mouseButtons() != Qt.MouseButton.NoButton:  # no previews while dragging
            self._hide_hover()
            return
        if not self.view_box.sceneBoundingRect().contains(scene_pos):
            self._hide_hover()
            return
        index = self.point_near(scene_pos)
        if index < 0:
            self._hide_hover()
            return
        if index != self._hover_index:
            self._hover_index = index
            image, caption = self._hover_image(index)
            label = int(self._labels[index])
            color = self.colors[label] if 0 <= label < len(self.colors) else unknown_color()
            self.hover_ring.setData([self._xy[index, 0]], [self._xy[index, 1]], pen=pg.mkPen(color, width=2.5))
            self.hover_preview.show_image(image, caption, color, self.plot.mapFromScene(scene_pos))
            self.pointHovered.emit(index)

    def point_near(self, scene_pos: QPointF, radius_px: float = HOVER_RADIUS_PX) -> int:
        """Index of the visible point nearest to ``scene_pos`` within ``radius_px``, else -1."""
        p = self.view_box.mapSceneToView(scene_pos)
        pw, ph = self.view_box.viewPixelSize()
        if not (pw > 0 and ph > 0):
            return -1
        d2 = ((self._xy[:, 0] - p.x()) / pw) ** 2 + ((self._xy[:, 1] - p.y()) / ph) ** 2
        if self._hidden:
            d2[np.isin(self._labels, list(self._hidden))] = np.inf
        index = int(np.argmin(d2))
        return index if d2[index] <= radius_px**2 else -1

    def _hide_hover(self) -> None:
        if self._hover_index >= 0 or self.hover_preview.isVisible():
            self._hover_index = -1
            self.hover_ring.setData([], [])
            self.hover_preview.hide()
            self.pointHovered.emit(-1)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._hide_hover()
        super().leaveEvent(event)
