"""The decoded frames of an interpolation path in a row, with the judge's verdict under
each frame, the path's metrics, and play / loop controls.

``StripCanvas`` paints the whole row itself (one pixmap per frame, scaled with nearest
neighbour), so a strip of 32 frames costs one paint event, not 64 widgets; the comparison
window stacks canvases of equal width, which keeps their frames aligned. ``StripView``
adds the metrics line, a large copy of the current frame and the player.
"""

from __future__ import annotations

import html

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QEvent, QRect, QRectF, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QFontMetricsF,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from latentlab.latent.path_metrics import (
    MAX_JUMP_HELP,
    PURITY_HELP,
    SEQUENCE_HELP,
    SMOOTHNESS_HELP,
    VERDICT_HELP,
    report,
)
from latentlab.ui.base.palette import class_colors, unknown_color
from latentlab.ui.base.pixmaps import frame_pixmap
from latentlab.ui.base.theme import media_icon

#: Frames are drawn at most this many pixels wide (a 28-pixel digit at 4x).
MAX_CELL = 112
MIN_CELL = 24
CAPTION_HEIGHT = 20
#: Captions are never drawn smaller than this; below it they drop the confidence, then elide.
MIN_CAPTION_PT = 7.0
#: At least this many pixels between the captions of neighbouring frames.
CAPTION_SPACING = 6
STALE_OPACITY = 0.3
#: The tooltip of every place that shows a path's measures (docs/path-measures.md).
MEASURES_HELP = "\n\n".join((VERDICT_HELP, PURITY_HELP, SMOOTHNESS_HELP, MAX_JUMP_HELP, SEQUENCE_HELP))
GAP = 7
INTRUSION_FILL = QColor(214, 39, 40, 60)
INTRUSION_HTML = "#f6cccc"  # the same tint, opaque, for rich text
DEFAULT_FPS = 6
#: An empty strip is as tall as one of this many frames would be.
EMPTY_COUNT = 12
LARGE_FRAME = 168


def to_uint8_frames(frames: np.ndarray) -> np.ndarray:
    """(N, C, H, W) or (N, H, W[, 3]) frames, floats in [0, 1] or uint8 -> (N, H, W) or (N, H, W, 3) uint8."""
    arr = np.asarray(frames)
    if arr.ndim == 4 and arr.shape[1] in (1, 3) and arr.shape[-1] not in (1, 3):
        arr = arr.transpose(0, 2, 3, 1)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.dtype != np.uint8:
        arr = (np.clip(arr.astype(np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return np.ascontiguousarray(arr)


@dataclass
class Strip:
    """What a strip shows: frames, and (when a judge exists) their classes and confidences."""

    frames: np.ndarray  # (N, H, W) or (N, H, W, 3) uint8
    classes: np.ndarray | None = None  # (N,) int
    confidences: np.ndarray | None = None  # (N,) float in [0, 1]
    #: Frames whose class is neither the start's nor the end's (a detour through a third class).
    intrusions: np.ndarray | None = None  # (N,) bool

    def __post_init__(self) -> None:
        self.frames = to_uint8_frames(self.frames)
        if self.classes is not None:
            self.classes = np.asarray(self.classes, np.int64)
        if self.confidences is not None:
            self.confidences = np.asarray(self.confidences, np.float32)
        if self.intrusions is None and self.classes is not None and len(self.classes):
            ends = {int(self.classes[0]), int(self.classes[-1])}
            self.intrusions = np.array([int(c) not in ends for c in self.classes], bool)

    def __len__(self) -> int:
        return len(self.frames)


class StripCanvas(QWidget):
    """A row of frames with a coloured caption (class and confidence) under each."""

    frameClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None, *, max_cell: int = MAX_CELL, centered: bool = False) -> None:
        super().__init__(parent)
        self.max_cell = max_cell
        self.centered = centered  # the row of frames in the middle of the widget, not on its left
        self.strip: Strip | None = None
        self.class_names: list[str] = []
        self.colors: list[QColor] = []
        self.current = -1
        self.stale = False  # greyed: the strip no longer matches the chosen path
        self._pixmaps: list[QPixmap] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(MIN_CELL + CAPTION_HEIGHT + 2 * GAP)
        self.setToolTip("Click a frame to show it large")

    def set_strip(self, strip: Strip | None, class_names: Sequence[str] = ()) -> None:
        self.strip = strip
        self.class_names = list(class_names)
        self.colors = class_colors(len(self.class_names)) if self.class_names else []
        self._pixmaps = [frame_pixmap(f) for f in strip.frames] if strip is not None else []
        self.current = -1 if strip is None or not len(strip) else min(max(self.current, 0), len(strip) - 1)
        self._fit_height()
        self.update()

    def set_current(self, index: int) -> None:
        if index != self.current:
            self.current = index
            self.update()

    def set_stale(self, stale: bool) -> None:
        if stale != self.stale:
            self.stale = stale
            self.update()

    def count(self) -> int:
        return len(self._pixmaps)

    # ---------------------------------------------------------------- geometry
    def cell_size(self, width: int | None = None) -> int:
        n = self.count() or EMPTY_COUNT
        width = self.width() if width is None else width
        return int(max(MIN_CELL, min(self.max_cell, (width - GAP * (n + 1)) // n)))

    def _left(self, cell: int) -> int:
        """x of the first frame."""
        if not self.centered:
            return GAP
        used = self.count() * (cell + GAP) + GAP
        return GAP + max(0, (self.width() - used) // 2)

    def frame_rect(self, index: int) -> QRect:
        cell = self.cell_size()
        return QRect(self._left(cell) + index * (cell + GAP), GAP, cell, cell)

    def index_at(self, x: float, y: float) -> int:
        cell = self.cell_size()
        i = int((x - self._left(cell)) // (cell + GAP))
        if 0 <= i < self.count() and self.frame_rect(i).adjusted(0, 0, 0, CAPTION_HEIGHT).contains(int(x), int(y)):
            return i
        return -1

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return self.cell_size(width) + CAPTION_HEIGHT + 2 * GAP

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def sizeHint(self) -> QSize:  # noqa: N802
        n = max(self.count(), 8)
        cell = min(self.max_cell, 72)
        return QSize(n * (cell + GAP) + GAP, cell + CAPTION_HEIGHT + 2 * GAP)

    def refit(self) -> None:
        """The frame size changed (``max_cell``): new height, repaint."""
        self._fit_height()
        self.update()

    def _fit_height(self) -> None:
        """Exactly as tall as a row of frames at this width (the frame size follows the width)."""
        height = self.heightForWidth(self.width())
        if self.minimumHeight() != height or self.maximumHeight() != height:
            self.setFixedHeight(height)

    def resizeEvent(self, event) -> None:  # noqa: N802
        self._fit_height()
        super().resizeEvent(event)

    # ------------------------------------------------------------------ drawing
    def caption(self, index: int, confidence: bool = True) -> tuple[str, QColor]:
        strip = self.strip
        if strip is None or strip.classes is None:
            return "", unknown_color()
        cls = int(strip.classes[index])
        name = self.class_names[cls] if 0 <= cls < len(self.class_names) else str(cls)
        color = self.colors[cls] if 0 <= cls < len(self.colors) else unknown_color()
        conf = f" {strip.confidences[index]:.0%}" if confidence and strip.confidences is not None else ""
        return f"{name}{conf}", color

    def caption_room(self) -> int:
        """The widest a caption may be: its frame's width and the gap, less the spacing."""
        return self.cell_size() + GAP - CAPTION_SPACING

    def caption_texts(self) -> tuple[QFont, list[str]]:
        """The font and the texts drawn under the frames. "8 97%" when that fits the frame's
        width at MIN_CAPTION_PT or more; else the class alone ("8"), elided if even that is
        too wide: captions never run into each other (the confidence stays in the tooltip
        and under the large frame)."""
        n = len(self._pixmaps)
        font = QFont(self.font())
        font.setBold(True)
        base = font.pointSizeF() if font.pointSizeF() > 0 else 9.0
        font.setPointSizeF(max(8.0, min(base, self.cell_size() / 5.0)))
        room = self.caption_room()

        def widest(texts: list[str], f: QFont) -> float:
            metrics = QFontMetricsF(f)
            return max((metrics.horizontalAdvance(t) for t in texts), default=0.0)

        for confidence in (True, False):
            texts = [self.caption(i, confidence)[0] for i in range(n)]
            wide = widest(texts, font)
            if wide <= room:
                return font, texts
            shrunk = QFont(font)
            shrunk.setPointSizeF(max(MIN_CAPTION_PT, font.pointSizeF() * room / wide))
            if widest(texts, shrunk) <= room:
                return shrunk, texts
        metrics = QFontMetrics(shrunk)
        return shrunk, [metrics.elidedText(t, Qt.TextElideMode.ElideRight, room) for t in texts]

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        band = self.rect()
        band.setHeight(min(band.height(), self.heightForWidth(self.width())))
        painter.fillRect(band, self.palette().base())
        if not self._pixmaps:
            painter.setPen(QColor("#777"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no path yet")
            painter.end()
            return
        font, texts = self.caption_texts()
        painter.setFont(font)
        if self.stale:
            painter.setOpacity(STALE_OPACITY)
        intrusions = self.strip.intrusions
        for i, pixmap in enumerate(self._pixmaps):
            rect = self.frame_rect(i)
            painter.drawPixmap(rect, pixmap)
            color = self.caption(i)[1]
            caption_rect = QRect(rect.left() - GAP // 2, rect.bottom() + 2, rect.width() + GAP, CAPTION_HEIGHT - 2)
            if intrusions is not None and intrusions[i]:
                painter.fillRect(caption_rect, INTRUSION_FILL)
            if texts[i]:
                painter.setPen(color)
                painter.drawText(caption_rect, Qt.AlignmentFlag.AlignCenter, texts[i])
        painter.setOpacity(1.0)
        if 0 <= self.current < len(self._pixmaps):
            painter.setPen(QPen(self.palette().text().color(), 3))  # dark on light looks, light on dark
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(self.frame_rect(self.current)).adjusted(-3.5, -3.5, 3.5, 3.5 + CAPTION_HEIGHT))
        painter.end()

    def event(self, event: QEvent) -> bool:
        """A frame's tooltip: its class and the judge's confidence, which a small caption drops."""
        if event.type() == QEvent.Type.ToolTip and self.strip is not None:
            index = self.index_at(event.pos().x(), event.pos().y())
            if index >= 0:
                text = self.caption(index)[0]
                QToolTip.showText(event.globalPos(), f"Frame {index + 1}: the judge says {text}"
                                  if text else f"Frame {index + 1}", self)
                return True
        return super().event(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        index = self.index_at(event.position().x(), event.position().y())
        if index >= 0:
            self.frameClicked.emit(index)
        super().mousePressEvent(event)


class StripView(QWidget):
    """A strip, its metrics line, a large current frame and a player (play / pause, loop, speed)."""

    frameChanged = Signal(int)
    playingChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.class_names: list[str] = []
        self.title = QLabel("Interpolation")
        self.title.setObjectName("panelTitle")
        self.title.setWordWrap(True)  # a long path description must not widen the window
        self.metrics_label = QLabel("Pick a start and an end, then Interpolate.")
        self.metrics_label.setTextFormat(Qt.TextFormat.RichText)
        self.metrics_label.setWordWrap(True)
        self.metrics_label.setToolTip(MEASURES_HELP)
        self.stale_label = QLabel("")
        self.stale_label.setObjectName("staleNote")
        self.stale_label.setWordWrap(True)
        self.stale_label.setStyleSheet("QLabel#staleNote { color: #d62728; font-weight: 600; }")
        self.stale_label.hide()
        self.canvas = StripCanvas()
        self.canvas.frameClicked.connect(self.set_current)

        self.large = QLabel()
        self.large.setFixedSize(LARGE_FRAME, LARGE_FRAME)
        self.large.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.large.setStyleSheet("QLabel { background: palette(base); border: 1px solid palette(mid); }")
        self.large.setToolTip("The current frame of the strip")
        self.large_caption = QLabel("")
        self.large_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont(self.large_caption.font())
        font.setBold(True)
        self.large_caption.setFont(font)

        self.play_button = QPushButton("Play")
        self.play_button.setIcon(media_icon("play"))  # drawn: not a font glyph
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play the strip frame by frame (P)")
        self.play_button.toggled.connect(self._on_play_toggled)
        self.loop_box = QCheckBox("Loop")
        self.loop_box.setChecked(True)
        self.loop_box.setToolTip("Start again from the first frame after the last one")
        self.speed = QSpinBox()
        self.speed.setRange(1, 30)
        self.speed.setValue(DEFAULT_FPS)
        self.speed.setSuffix(" fps")
        self.speed.setToolTip("Playback speed in frames per second")
        self.speed.valueChanged.connect(self._on_speed_changed)
        self.position = QLabel("")
        self.position.setMinimumWidth(90)

        self.timer = QTimer(self)
        self.timer.setInterval(1000 // DEFAULT_FPS)
        self.timer.timeout.connect(self.step)

        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(self.play_button)
        controls.addWidget(self.loop_box)
        controls.addSpacing(8)  # squeezed, "Loop" and "Speed:" ran together
        controls.addWidget(QLabel("Speed:"))
        controls.addWidget(self.speed)
        controls.addWidget(self.position)
        controls.addStretch(1)

        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(self.title)
        left.addWidget(self.stale_label)
        left.addWidget(self.metrics_label)
        left.addWidget(self.canvas)
        left.addLayout(controls)
        left.addStretch(1)
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.large)
        right.addWidget(self.large_caption)
        right.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addLayout(left, 1)
        layout.addLayout(right, 0)
        self._update_controls()

    # ------------------------------------------------------------------ content
    @property
    def strip(self) -> Strip | None:
        return self.canvas.strip

    def set_strip(self, strip: Strip | None, class_names: Sequence[str] = (), metrics_html: str = "",
                  title: str = "") -> None:
        """Show a new strip (``None`` clears); keeps playing when it was."""
        self.set_stale("")
        self.class_names = list(class_names)
        self.canvas.set_strip(strip, class_names)
        if title:
            self.title.setText(title)
        self.metrics_label.setText(metrics_html or ("" if strip is not None else
                                                    "Pick a start and an end, then Interpolate."))
        if strip is None or not len(strip):
            self.pause()
        self._update_controls()
        self._show_current()

    def count(self) -> int:
        return self.canvas.count()

    def set_stale(self, message: str) -> None:
        """Grey the strip out and say why (``message``), or ("") show it as current again."""
        self.canvas.set_stale(bool(message))
        self.stale_label.setText(message)
        self.stale_label.setVisible(bool(message))
        for widget in (self.metrics_label, self.large, self.large_caption):
            widget.setEnabled(not message)

    @property
    def stale(self) -> bool:
        return self.canvas.stale

    @property
    def current(self) -> int:
        return self.canvas.current

    @Slot(int)
    def set_current(self, index: int) -> None:
        if not 0 <= index < self.count():
            return
        self.canvas.set_current(index)
        self._show_current()
        self.frameChanged.emit(index)

    def current_frame(self) -> np.ndarray | None:
        strip = self.strip
        return None if strip is None or self.current < 0 else strip.frames[self.current]

    def _show_current(self) -> None:
        index, n = self.current, self.count()
        if index < 0:
            self.large.clear()
            self.large_caption.setText("")
            self.position.setText("")
            return
        pixmap = frame_pixmap(self.strip.frames[index]).scaled(
            LARGE_FRAME - 8, LARGE_FRAME - 8, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.FastTransformation)
        self.large.setPixmap(pixmap)
        text, color = self.canvas.caption(index)
        self.large_caption.setText(text)
        self.large_caption.setStyleSheet(f"color: {color.name()};")
        self.position.setText(f"frame {index + 1} / {n}")

    # ------------------------------------------------------------------- player
    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    @property
    def looping(self) -> bool:
        return self.loop_box.isChecked()

    def set_loop(self, on: bool) -> None:
        self.loop_box.setChecked(on)

    def set_speed(self, fps: int) -> None:
        self.speed.setValue(fps)

    @Slot()
    def play(self) -> None:
        """Start stepping through the frames (from the first when the last one is showing)."""
        if self.count() < 2:
            return
        if self.current < 0 or (self.current >= self.count() - 1 and not self.looping):
            self.set_current(0)
        self.play_button.setChecked(True)

    @Slot()
    def pause(self) -> None:
        self.play_button.setChecked(False)

    @Slot()
    def toggle_play(self) -> None:
        """Play or pause: the presentation keyboard shortcut calls this."""
        if self.playing:
            self.pause()
        else:
            self.play()

    @Slot()
    def step(self) -> None:
        """Advance one frame; at the end wrap around (loop) or stop."""
        n = self.count()
        if n == 0:
            self.pause()
            return
        nxt = self.current + 1
        if nxt >= n:
            if not self.looping:
                self.pause()
                return
            nxt = 0
        self.set_current(nxt)

    @Slot(bool)
    def _on_play_toggled(self, on: bool) -> None:
        if on and self.count() >= 2:
            self.timer.start()
        else:
            self.timer.stop()
            if self.play_button.isChecked():
                self.play_button.setChecked(False)
        playing = self.timer.isActive()  # drawn icons: "⏸" is missing from common fonts (an empty box)
        self.play_button.setText("Pause" if playing else "Play")
        self.play_button.setIcon(media_icon("pause" if playing else "play"))
        self.playingChanged.emit(self.timer.isActive())

    @Slot(int)
    def _on_speed_changed(self, fps: int) -> None:
        self.timer.setInterval(max(1, 1000 // fps))

    def _update_controls(self) -> None:
        self.play_button.setEnabled(self.count() >= 2)


# ------------------------------------------------------------------ metrics text
def _class_span(cls: int, class_names: Sequence[str], colors: Sequence[QColor], intruder: bool = False) -> str:
    name = class_names[cls] if 0 <= cls < len(class_names) else str(cls)
    color = colors[cls].name() if 0 <= cls < len(colors) else unknown_color().name()
    style = f"color:{color}; font-weight:600;"
    if intruder:
        style += f" background:{INTRUSION_HTML}; text-decoration: underline;"
    return f'<span style="{style}">{html.escape(name)}</span>'


def metrics_html(metrics, class_names: Sequence[str]) -> str:
    """A path's verdict and measures (a ``PathMetrics``) as one rich-text paragraph: the
    words of ``path_metrics.report``, with classes in their colours, third classes
    underlined on a red tint, and the verdict red unless the path is direct."""
    colors = class_colors(len(class_names))
    intruders = set(metrics.intruders)

    def span(c: int) -> str:
        return _class_span(c, class_names, colors, c in intruders)

    words = report(metrics, class_names)
    verdict = metrics.verdict
    mark = "#2ca02c" if verdict.pure else "#d62728"
    headline = f'<b style="color:{mark};">{verdict.headline(span)}</b>'
    sequence = " → ".join(span(c) for c in metrics.sequence)
    return (f"{headline} · purity {words.purity} · smoothness {words.smoothness} "
            f"(max jump {words.max_jump}) · classes {sequence}")
