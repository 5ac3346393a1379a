"""The autoregressive view: a PixelCNN draws images pixel by pixel, as an animation.

A PixelCNN has no latent space, so it gets this window instead of the map:

* **Sample**: 16 images drawn pixel by pixel in raster order (784 steps), shown as they
  arrive, with the distribution the current pixel is drawn from (p(on) for each image).
* **Complete**: a test image with a region hidden; the model fills it in, several
  completions side by side, the original beside them.
* **What a pixel sees**: click a pixel of any image: its receptive field (the pixels its
  prediction depends on) drawn over the grid of the image, next to the pixels before it.

The work runs on the view's own compute lane (``latentlab.app.pixel_jobs``); frames arrive at most every
40 ms and a timer draws the newest, so the GUI never waits for the model. Cancel stops
between two pixels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from latentlab.app.pixel_jobs import HIDDEN_REGIONS, PixelFrame, PixelSamplingJob, ReceptiveField, ReceptiveFieldJob
from latentlab.ui.analysis.strip_view import to_uint8_frames
from latentlab.ui.base.pixmaps import frame_pixmap
from latentlab.ui.panels.task_progress import TaskProgress
from latentlab.ui.work.tasks import ComputeLane

if TYPE_CHECKING:
    from latentlab.app.tasks import ErrorSink

SAMPLES = 16
COMPLETIONS = 8
SCALE = 4
GAP = 4
REDRAW_MS = 33
FIELD_SCALE = 6
KNOWN_TINT = (60, 130, 220)
#: Colours of the receptive-field picture (RGB).
FIELD_COLOURS = {"field": (70, 140, 230), "unseen": (240, 160, 40), "pixel": (220, 40, 40), "after": (40, 40, 40)}
EXPLANATION = (
    "An <b>autoregressive</b> model writes an image one pixel at a time, each pixel drawn from "
    "p(pixel | every pixel before it), left to right, top to bottom. It has an exact likelihood "
    "but no latent space, so there is no map. Click a pixel to see its <b>receptive field</b>."
)


#: Images per row of the grid (16 samples: 4 × 4; 8 completions: 2 × 4).
GRID_COLUMNS = 4


def grid_layout(n: int) -> tuple[int, int]:
    """(rows, columns) of the grid of ``n`` images."""
    cols = min(n, GRID_COLUMNS)
    return -(-n // cols), cols


class ImageGrid(QLabel):
    """A grid of images enlarged SCALE times; a click reports the image and pixel under the mouse."""

    pixelClicked = Signal(int, int, int)  # image, row, col

    def __init__(self) -> None:
        super().__init__()
        self.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignHCenter)
        self.setMinimumSize(4 * (28 * SCALE + GAP), 4 * (28 * SCALE + GAP))
        self.setToolTip("The images as they are drawn; the red square is the pixel being drawn. "
                        "Click a pixel to see its receptive field")
        self.shape: tuple[int, int] = (28, 28)
        self.layout_: tuple[int, int] = (4, 4)

    def show_images(self, images: np.ndarray, current: tuple[int, int] | None, known: np.ndarray | None) -> None:
        n, _, h, w = images.shape
        rows, cols = grid_layout(n)
        self.shape, self.layout_ = (h, w), (rows, cols)
        frames = tinted(to_uint8_frames(images), known)
        canvas = QPixmap(cols * (w * SCALE + GAP) - GAP, rows * (h * SCALE + GAP) - GAP)
        canvas.fill(QColor(255, 255, 255))
        painter = QPainter(canvas)
        for i in range(n):
            r, c = divmod(i, cols)
            x, y = c * (w * SCALE + GAP), r * (h * SCALE + GAP)
            painter.drawPixmap(x, y, frame_pixmap(frames[i]).scaled(w * SCALE, h * SCALE))
            if current is not None:
                painter.setPen(QPen(QColor(220, 40, 40), 2))
                painter.drawRect(x + current[1] * SCALE, y + current[0] * SCALE, SCALE, SCALE)
        painter.end()
        self.setPixmap(canvas)

    def cell_at(self, pos: QPoint) -> tuple[int, int, int] | None:
        """(image, row, col) under widget position ``pos``, or None between images."""
        h, w = self.shape
        rows, cols = self.layout_
        pixmap = self.pixmap()
        if pixmap is None or pixmap.isNull():
            return None
        x = pos.x() - (self.width() - pixmap.width()) // 2
        y = pos.y() - self.contentsRect().top()
        c, xr = divmod(x, w * SCALE + GAP)
        r, yr = divmod(y, h * SCALE + GAP)
        if not (0 <= c < cols and 0 <= r < rows) or xr >= w * SCALE or yr >= h * SCALE:
            return None
        return int(r * cols + c), int(yr // SCALE), int(xr // SCALE)

    def pixel_position(self, image: int, row: int, col: int) -> QPoint:
        """The widget position of the centre of pixel (row, col) of ``image`` (tests move the mouse there)."""
        h, w = self.shape
        cols = self.layout_[1]
        r, c = divmod(image, cols)
        pixmap = self.pixmap()
        x0 = (self.width() - pixmap.width()) // 2 + c * (w * SCALE + GAP)
        y0 = self.contentsRect().top() + r * (h * SCALE + GAP)
        return QPoint(x0 + col * SCALE + SCALE // 2, y0 + row * SCALE + SCALE // 2)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        cell = self.cell_at(event.position().toPoint())
        if cell is not None and event.button() == Qt.MouseButton.LeftButton:
            self.pixelClicked.emit(*cell)
        super().mousePressEvent(event)


def tinted(frames: np.ndarray, known: np.ndarray | None) -> np.ndarray:
    """(N, H, W[, 3]) uint8 frames with the ``known`` pixels (H, W) tinted blue (what the model was given)."""
    if known is None:
        return frames
    rgb = np.repeat(frames[..., None], 3, axis=-1) if frames.ndim == 3 else frames.copy()
    rgb[:, known] = (0.65 * rgb[:, known] + 0.35 * np.array(KNOWN_TINT)).astype(np.uint8)
    return np.ascontiguousarray(rgb)


def field_pixmap(result: ReceptiveField) -> QPixmap:
    """The receptive field of one pixel: blue what it depends on, orange what comes before it
    but is out of its reach (a blind spot, or too far), red the pixel, dark what comes after."""
    h, w = result.field.shape
    rgb = np.empty((h, w, 3), np.uint8)
    rgb[:] = FIELD_COLOURS["after"]
    rgb[result.before & ~result.field] = FIELD_COLOURS["unseen"]
    rgb[result.field] = FIELD_COLOURS["field"]
    rgb[result.row, result.col] = FIELD_COLOURS["pixel"]
    return frame_pixmap(np.ascontiguousarray(rgb)).scaled(w * FIELD_SCALE, h * FIELD_SCALE)


class AutoregressiveView(QDialog):
    """A modeless window that draws from a PixelCNN checkpoint (see the module docstring)."""

    frameShown = Signal()  # a new frame is on screen
    finished_ = Signal(str)  # "finished", "cancelled" or an error message

    def __init__(self, path: str, parent: QWidget | None = None, *, errors: ErrorSink | None = None) -> None:
        """``errors``: where a failed sampling or receptive field is also reported (the window's sink)."""
        super().__init__(parent)
        self.setWindowTitle("Autoregressive view (PixelCNN) — latentlab")
        self.path = str(path)
        self.lane = ComputeLane("pixels", self, errors=errors)
        self.lane.result.connect(self._on_result)
        self.lane.failed.connect(self._on_failed)
        self._job: PixelSamplingJob | None = None
        self._field_job: ReceptiveFieldJob | None = None
        self._newest: PixelFrame | None = None
        self._drawn: PixelFrame | None = None
        self.frame: PixelFrame | None = None  # the frame on screen
        self.field: ReceptiveField | None = None

        intro = QLabel(EXPLANATION)
        intro.setWordWrap(True)
        self.sample_button = QPushButton(f"Sample {SAMPLES}")
        self.sample_button.setToolTip(f"Draw {SAMPLES} new images, one pixel at a time (784 steps)")
        self.sample_button.clicked.connect(self.sample)
        self.index = QSpinBox()
        self.index.setRange(0, 99_999)
        self.index.setPrefix("test image #")
        self.index.setToolTip("The test image to complete")
        self.region = QComboBox()
        self.region.addItems(HIDDEN_REGIONS)
        self.region.setToolTip("What to hide from the model. It reads pixels in raster order and only looks "
                               "back, so given pixels after a hidden one are not used")
        self.complete_button = QPushButton(f"Complete ×{COMPLETIONS}")
        self.complete_button.setToolTip(f"Hide the region and let the model fill it in, {COMPLETIONS} times")
        self.complete_button.clicked.connect(self.complete)
        self.progress = TaskProgress("Pixels drawn so far, and the time left")
        self.progress.cancelRequested.connect(self.cancel)
        policy = self.progress.sizePolicy()
        policy.setRetainSizeWhenHidden(True)  # the grid does not jump when a run ends
        self.progress.setSizePolicy(policy)
        self.status = QLabel("")
        self.status.setWordWrap(True)

        self.grid = ImageGrid()
        self.grid.pixelClicked.connect(self.show_field)
        self.source = QLabel()
        self.source.setToolTip("The test image being completed (blue: the pixels the model is given)")
        self.distribution = pg.PlotWidget()
        self.distribution.setMinimumSize(300, 160)
        self.distribution.setYRange(0, 1)
        self.distribution.setLabel("left", "p(on)")
        self.distribution.setLabel("bottom", "image")
        self.distribution.setToolTip("The distribution the current pixel is drawn from: for each image, the "
                                     "probability that the pixel is on, given every pixel before it")
        self.bars = pg.BarGraphItem(x=np.arange(SAMPLES), height=np.zeros(SAMPLES), width=0.7, brush="#4682d2")
        self.distribution.addItem(self.bars)
        self.distribution_title = QLabel("The current pixel's distribution")
        self.field_view = QLabel("Click a pixel of an image")
        self.field_view.setMinimumSize(28 * FIELD_SCALE, 28 * FIELD_SCALE)
        self.field_view.setToolTip("Blue: the pixels this pixel's prediction depends on (its receptive field). "
                                   "Orange: pixels before it that it cannot see (a blind spot, or out of reach). "
                                   "Red: the pixel. Dark: pixels after it, never used")
        self.field_title = QLabel("Receptive field")

        controls = QHBoxLayout()
        for widget in (self.sample_button, self.index, self.region, self.complete_button):
            controls.addWidget(widget)
        controls.addStretch(1)
        side = QGridLayout()
        side.addWidget(self.distribution_title, 0, 0)
        side.addWidget(self.distribution, 1, 0)
        side.addWidget(self.field_title, 2, 0)
        side.addWidget(self.field_view, 3, 0)
        side.addWidget(self.source, 4, 0)
        side.setRowStretch(5, 1)
        body = QHBoxLayout()
        body.addWidget(self.grid, 1)
        body.addLayout(side)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(controls)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(body, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw)

    # ----------------------------------------------------------------- actions
    @property
    def running(self) -> bool:
        return self._job is not None

    @Slot()
    def sample(self) -> None:
        self._start(PixelSamplingJob(self.path, n=SAMPLES, seed=self._next_seed()), f"Sampling {SAMPLES} images")

    @Slot()
    def complete(self) -> None:
        job = PixelSamplingJob(self.path, n=COMPLETIONS, seed=self._next_seed(), test_index=self.index.value(),
                               region=self.region.currentText())
        self._start(job, f"Completing test image #{self.index.value()}")

    @Slot()
    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.status.setText("Cancelling: the pixel being drawn is the last one…")

    @Slot(int, int, int)
    def show_field(self, image: int, row: int, col: int) -> None:
        self._field_job = ReceptiveFieldJob(self.path, row, col)
        self.field_title.setText(f"Receptive field of pixel ({row}, {col}): computing…")
        self.lane.submit(self._field_job)

    def _seed_counter(self) -> int:
        return getattr(self, "_seed", 0)

    def _next_seed(self) -> int:
        self._seed = self._seed_counter() + 1
        return self._seed

    def _start(self, job: PixelSamplingJob, title: str) -> None:
        if self._job is not None:
            self._job.cancel()
        self._job = job
        self._newest = None
        self.source.clear()
        self.progress.start(title)
        self.status.setText(f"{title}, pixel by pixel…")
        self.sample_button.setEnabled(False)
        self.complete_button.setEnabled(False)
        self.lane.submit(job)
        self._timer.start()

    # ----------------------------------------------------------------- results
    @Slot(object, object)
    def _on_result(self, job, value) -> None:
        if job is self._job and isinstance(value, PixelFrame):
            self._newest = value
        elif job is self._field_job and isinstance(value, ReceptiveField):
            self._field_job = None
            self.field = value
            self.field_view.setPixmap(field_pixmap(value))
            seen, before = int(value.field.sum()), int(value.before.sum())
            self.field_title.setText(f"Receptive field of pixel ({value.row}, {value.col}): it sees {seen} of the "
                                     f"{before} pixels before it")

    @Slot(object, str)
    def _on_failed(self, job, message: str) -> None:
        if job is self._job:
            self._end(f"Failed: {message}")
            self.finished_.emit(message)
        elif job is self._field_job:
            self._field_job = None
            self.field_title.setText(f"Receptive field: {message}")

    @Slot()
    def _redraw(self) -> None:
        frame = self._newest
        if frame is not None and frame is not self._drawn:
            self._drawn = frame
            self.frame = frame
            self.grid.show_images(frame.images, None if frame.finished else (frame.row, frame.col), frame.known)
            n = len(frame.probabilities)
            self.bars.setOpts(x=np.arange(n), height=frame.probabilities, width=0.7)
            self.distribution.setXRange(-0.5, n - 0.5, padding=0)
            self.distribution_title.setText(f"p(pixel ({frame.row}, {frame.col}) on | the pixels before it)")
            if frame.source is not None and self.source.pixmap().isNull():
                self.source.setPixmap(self._source_pixmap(frame))
            self.progress.set_progress(frame.index / frame.total, frame.eta_s)
            self.frameShown.emit()
            if frame.finished:
                self._end(f"Done: {frame.total} pixels in {frame.elapsed_s:.1f} s.")
                self.finished_.emit("finished")
                return
        job = self._job
        if job is not None and job.cancelled and self.lane.idle:
            drawn = 0 if self.frame is None else self.frame.index
            self._end(f"Cancelled after {drawn} pixels.")
            self.finished_.emit("cancelled")

    def _source_pixmap(self, frame: PixelFrame) -> QPixmap:
        rgb = tinted(to_uint8_frames(frame.source[None]), frame.known)[0]
        h, w = rgb.shape[:2]
        return frame_pixmap(np.ascontiguousarray(rgb)).scaled(w * FIELD_SCALE // 2, h * FIELD_SCALE // 2)

    def _end(self, message: str) -> None:
        self._job = None
        self._timer.stop()
        self.progress.finish()
        self.status.setText(message)
        self.sample_button.setEnabled(True)
        self.complete_button.setEnabled(True)

    # ----------------------------------------------------------------- lifetime
    def shutdown(self) -> None:
        """Cancel and wait for the lane (called when the window closes)."""
        self._timer.stop()
        self.lane.shutdown()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._job is not None:
            self._job.cancel()
        super().closeEvent(event)
