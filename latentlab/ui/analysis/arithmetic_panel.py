"""Latent arithmetic: add the vector from class A's centroid to class B's to a point.

The point is the marker's (it follows the marker) or a test image's latent. The panel
shows the decode before and after, each with the judge's verdict; a scale slider walks
along the vector (0: the point itself, 1: the whole class difference). Two decodes of
the display copy per change: well under a millisecond for the bundled models, so this
runs on the GUI thread as the marker's own decode does.
"""

from __future__ import annotations

import html

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from latentlab.errors import LatentLabError
from latentlab.latent.arithmetic import apply_vector, class_vector
from latentlab.ui.analysis.class_pair import fill_class_pair
from latentlab.ui.analysis.strip_view import to_uint8_frames
from latentlab.ui.base.palette import class_colors, unknown_color
from latentlab.ui.base.pixmaps import frame_pixmap

if TYPE_CHECKING:
    from latentlab.app.state import AppState
    from latentlab.ui.map.explorer import Explorer

IMAGE_SIZE = 168
SCALE_STEPS = 100  # slider units per 1.0 of scale


class ArithmeticPanel(QDialog):
    """A modeless dialog; reads the state's session and the explorer, moves only the marker (on request)."""

    computed = Signal()  # before / after hold a new result

    def __init__(self, state: AppState, explorer: Explorer, parent: QWidget | None = None) -> None:
        super().__init__(parent)  # a modeless dialog: stays above its parent window
        self.setWindowTitle("Latent arithmetic — latentlab")
        self.state = state
        self.explorer = explorer
        self.before: np.ndarray | None = None  # (H, W[, 3]) floats: decode of the point
        self.after: np.ndarray | None = None  # decode of point + scale * vector
        self.point: np.ndarray | None = None
        self.result_latent: np.ndarray | None = None

        self.class_a, self.class_b = QComboBox(), QComboBox()
        for box in (self.class_a, self.class_b):
            box.setToolTip("The vector goes from the centroid of class A to the centroid of class B "
                           "(means of the map's latent points of each class)")
            box.currentIndexChanged.connect(self.refresh)
        self.use_marker = QRadioButton("the marker's point")
        self.use_marker.setChecked(True)
        self.use_image = QRadioButton("test image")
        group = QButtonGroup(self)
        group.addButton(self.use_marker)
        group.addButton(self.use_image)
        self.use_marker.toggled.connect(self.refresh)
        self.image_index = QSpinBox()
        self.image_index.setPrefix("#")
        self.image_index.setToolTip("Apply the vector to this test image's latent (its encoding)")
        self.image_index.valueChanged.connect(self._on_image_changed)
        self.scale = QSlider(Qt.Orientation.Horizontal)
        self.scale.setRange(-2 * SCALE_STEPS, 3 * SCALE_STEPS)
        self.scale.setValue(SCALE_STEPS)
        self.scale.setToolTip("How far along the vector: 0 is the point itself, 1 the whole class difference")
        self.scale.valueChanged.connect(self.refresh)
        self.scale_label = QLabel()
        self.scale_label.setMinimumWidth(70)
        self.move_button = QPushButton("Put the marker on the result")
        self.move_button.setToolTip("Move the map's marker to the result's latent point")
        self.move_button.clicked.connect(self.move_marker_to_result)

        self.before_label, self.after_label = QLabel(), QLabel()
        self.before_caption, self.after_caption = QLabel(), QLabel()
        for label in (self.before_label, self.after_label):
            label.setFixedSize(IMAGE_SIZE, IMAGE_SIZE)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setStyleSheet("QLabel { background: white; border: 1px solid #bbb; }")
        for caption in (self.before_caption, self.after_caption):
            caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption.setTextFormat(Qt.TextFormat.RichText)
        self.info = QLabel("")
        self.info.setTextFormat(Qt.TextFormat.PlainText)  # it holds class names from files
        self.info.setWordWrap(True)

        grid = QGridLayout()
        grid.addWidget(QLabel("Vector: class"), 0, 0)
        row = QHBoxLayout()
        row.addWidget(self.class_a)
        row.addWidget(QLabel("→ class"))
        row.addWidget(self.class_b)
        row.addStretch(1)
        grid.addLayout(row, 0, 1)
        grid.addWidget(QLabel("Apply to:"), 1, 0)
        row = QHBoxLayout()
        row.addWidget(self.use_marker)
        row.addWidget(self.use_image)
        row.addWidget(self.image_index)
        row.addStretch(1)
        grid.addLayout(row, 1, 1)
        grid.addWidget(QLabel("Scale:"), 2, 0)
        row = QHBoxLayout()
        row.addWidget(self.scale, 1)
        row.addWidget(self.scale_label)
        grid.addLayout(row, 2, 1)

        pictures = QGridLayout()
        pictures.addWidget(QLabel("Before"), 0, 0, Qt.AlignmentFlag.AlignCenter)
        pictures.addWidget(QLabel("After"), 0, 2, Qt.AlignmentFlag.AlignCenter)
        pictures.addWidget(self.before_label, 1, 0)
        arrow = QLabel("→")
        arrow.setStyleSheet("font-size: 24pt;")
        pictures.addWidget(arrow, 1, 1)
        pictures.addWidget(self.after_label, 1, 2)
        pictures.addWidget(self.before_caption, 2, 0)
        pictures.addWidget(self.after_caption, 2, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(grid)
        layout.addLayout(pictures)
        layout.addWidget(self.info)
        layout.addWidget(self.move_button)

        state.session_changed.connect(self._on_session_changed)
        explorer.decoded.connect(self._on_marker_decoded)
        self._on_session_changed()

    # ------------------------------------------------------------------ state
    def _on_session_changed(self, *args) -> None:
        session = self.state.session
        names = session.class_names if session is not None else []
        fill_class_pair(self.class_a, self.class_b, names)
        has_data = session is not None and self.explorer.points is not None \
            and self.explorer.points.from_data
        self.use_image.setEnabled(has_data)
        self.image_index.setEnabled(has_data)
        self.use_image.setToolTip("" if has_data else "A model without encoder has no latent for a test image")
        if not has_data:
            self.use_marker.setChecked(True)
        if session is not None:
            self.image_index.setRange(0, len(session.dataset.test) - 1)
        self.refresh()

    def set_classes(self, a: int, b: int) -> None:
        self.class_a.setCurrentIndex(a)
        self.class_b.setCurrentIndex(b)

    def set_scale(self, scale: float) -> None:
        self.scale.setValue(int(round(scale * SCALE_STEPS)))

    def apply_to_test_image(self, index: int) -> None:
        self.image_index.setValue(index)
        self.use_image.setChecked(True)
        self.refresh()

    @Slot(int)
    def _on_image_changed(self, value: int) -> None:
        if self.use_image.isChecked():
            self.refresh()

    @Slot()
    def _on_marker_decoded(self) -> None:
        if self.isVisible() and self.use_marker.isChecked():
            self.refresh()

    # ---------------------------------------------------------------- compute
    @Slot()
    def refresh(self) -> bool:
        """Recompute the result; False (and a reason in the info line) when there is none."""
        scale = self.scale.value() / SCALE_STEPS
        self.scale_label.setText(f"× {scale:.2f}")
        session, explorer = self.state.session, self.explorer
        if session is None or explorer.points is None or self.class_a.count() == 0:
            self._clear("Open a model first.")
            return False
        points = explorer.points
        known = points.labels >= 0
        a, b = int(self.class_a.currentData()), int(self.class_b.currentData())
        try:
            vector = class_vector(points.latents[known], points.labels[known], a, b, session.class_names)
        except LatentLabError as exc:
            self._clear(str(exc))
            return False
        if self.use_image.isChecked() and points.from_data:
            index = self.image_index.value()
            z = points.latents[index]
            where = f"test image #{index} (a {session.class_names[int(points.labels[index])]})"
        else:
            z = explorer.marker_latent()
            where = "the marker's point"
        self.point = np.asarray(z, np.float32)
        self.result_latent = np.asarray(apply_vector(self.point, vector, scale), np.float32)
        self.before = session.decode_image(self.point)
        self.after = session.decode_image(self.result_latent)
        self._show(self.before_label, self.before_caption, self.before)
        self._show(self.after_label, self.after_caption, self.after)
        names = session.class_names
        self.info.setText(f"After = {where} + {scale:.2f} × (centroid of {names[b]} − centroid of {names[a]}), "
                          f"a vector of length {float(np.linalg.norm(vector)):.2f}")
        self.move_button.setEnabled(True)
        self.computed.emit()
        return True

    def _show(self, label: QLabel, caption: QLabel, image: np.ndarray) -> None:
        frame = to_uint8_frames(image[None])[0]
        label.setPixmap(frame_pixmap(frame).scaled(IMAGE_SIZE - 8, IMAGE_SIZE - 8,
                                                   Qt.AspectRatioMode.KeepAspectRatio,
                                                   Qt.TransformationMode.FastTransformation))
        verdict = self.state.session.judge_image(image)
        if verdict is None:
            caption.setText("judge: not available yet")
            return
        cls, conf = verdict
        names = self.state.session.class_names
        colors = class_colors(len(names))
        color = colors[cls].name() if 0 <= cls < len(colors) else unknown_color().name()
        name = names[cls] if 0 <= cls < len(names) else str(cls)
        caption.setText(f'<b style="color:{color}">judge: {html.escape(name)}</b> ({conf:.0%})')

    def _clear(self, reason: str) -> None:
        self.before = self.after = self.point = self.result_latent = None
        for label, caption in ((self.before_label, self.before_caption), (self.after_label, self.after_caption)):
            label.clear()
            caption.setText("")
        self.info.setText(reason)
        self.move_button.setEnabled(False)

    @Slot()
    def move_marker_to_result(self) -> None:
        explorer = self.explorer
        if self.result_latent is None or explorer.projection is None:
            return
        x, y = explorer.projection.to_plane(self.result_latent[None])[0]
        self.use_marker.setChecked(True)
        explorer.set_marker(float(x), float(y))
