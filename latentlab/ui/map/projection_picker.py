"""The map's projection picker: Slice / PCA / UMAP, UMAP's progress, and how far the marker
lies from the data.

A small row for the map's header. It knows nothing of models or the worker: the window
connects ``kindChanged`` to its projection switch and feeds ``set_progress`` /
``set_ready`` / ``set_failed`` from the ProjectionController and ``set_distance`` from
``projection.distance_to_data`` at the marker.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QWidget

from latentlab.latent.neighbours import FAR_SPACINGS, LOCAL_NEIGHBOURS, is_far

#: (kind, label, tooltip) of each entry, in order.
CHOICES = (
    ("slice", "Slice",
     "Two latent dimensions, with the others held at the data mean. Exact for a 2-D latent."),
    ("pca", "PCA",
     "The plane of the two directions along which the latents vary most (principal components). "
     "Immediate; a click decodes the point on that plane."),
    ("umap", "UMAP",
     "A non-linear map (umap-learn) that keeps neighbours together, so classes separate better. "
     "Computed in the background (the first time in a session about 30 s) and cached per model and "
     "dataset; PCA is shown until it is ready. A click decodes a blend of the nearest data points' latents."),
)
#: What a "spacing" is, for the readout's tooltip.
SPACING_TIP = (
    "How far the marker lies from the nearest data point (a dot) on the map, in spacings.\n"
    "A spacing is the typical gap between neighbouring dots in that part of the map (the median "
    f"gap of the {LOCAL_NEIGHBOURS} nearest dots): 0 is on a dot, about 1 is between dots.\n"
    f"From {FAR_SPACINGS:g} spacings on the decode is an extrapolation (shown in red): "
    "no dot lies anywhere near it, so the model was never shown anything like it there.")
NEEDS_MORE_DIMS = "Needs a latent of more than 2 dimensions: a 2-D latent is shown whole by the slice."
PROGRESS_STEPS = 1000


class ProjectionPicker(QWidget):
    kindChanged = Signal(str)  # "slice", "pca" or "umap", when the user (or set_kind) changes it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("Map:")
        self.combo = QComboBox()
        for row, (kind, text, tip) in enumerate(CHOICES):
            self.combo.addItem(text, kind)
            self.combo.setItemData(row, tip, Qt.ItemDataRole.ToolTipRole)
        self.combo.setToolTip("How the latent space is laid out on the map")
        self.label.setToolTip(self.combo.toolTip())
        self.combo.currentIndexChanged.connect(self._on_index_changed)

        self.bar = QProgressBar()
        self.bar.setRange(0, PROGRESS_STEPS)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(6)
        self.bar.setStyleSheet("QProgressBar { min-height: 0px; }")  # the theme's 20 px is for full bars
        self.bar.setFixedWidth(120)
        self.bar.setToolTip("UMAP is being computed in a background process")
        self.status = QLabel("")
        self.status.setObjectName("projectionStatus")
        self.status.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        # The progress lines are long: they may be cut (the tooltip has them whole) rather
        # than widen the map, and with it the window.
        self.status.setMinimumWidth(60)
        self.distance = QLabel("")
        self.distance.setObjectName("distanceToData")
        # Fixed width (of the widest, bold text): it changes on every drag step and must not
        # re-lay out the row. Refitted when the font changes (presentation mode's larger one).
        self._fit_distance_width()
        self._far: bool | None = None
        self.distance.setToolTip(SPACING_TIP)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        for widget in (self.label, self.combo, self.bar, self.status, self.distance):
            layout.addWidget(widget)
        self.bar.hide()

    # ------------------------------------------------------------ the choice
    def kind(self) -> str:
        return str(self.combo.currentData())

    def set_kind(self, kind: str) -> None:
        """Select an entry (emits ``kindChanged`` when it changes)."""
        row = self.combo.findData(kind)
        if row < 0:
            raise ValueError(f"unknown projection kind {kind!r}; choose one of {[c[0] for c in CHOICES]}")
        self.combo.setCurrentIndex(row)

    def set_latent_dim(self, latent_dim: int) -> None:
        """PCA and UMAP need more than two dimensions; for fewer the slice is chosen."""
        model = self.combo.model()
        for row, (kind, _text, tip) in enumerate(CHOICES):
            enabled = kind == "slice" or latent_dim > 2
            model.item(row).setEnabled(enabled)
            self.combo.setItemData(row, tip if enabled else NEEDS_MORE_DIMS, Qt.ItemDataRole.ToolTipRole)
        if latent_dim <= 2 and self.kind() != "slice":
            self.set_kind("slice")

    @Slot(int)
    def _on_index_changed(self, row: int) -> None:
        if self.kind() != "umap":
            self.bar.hide()
            self.status.clear()
        self.kindChanged.emit(self.kind())

    # ------------------------------------------------------- UMAP progress
    @Slot(object, str, object)
    def set_progress(self, fraction: float | None, message: str, eta_s: float | None = None) -> None:
        if fraction is not None:
            self.bar.setValue(round(max(0.0, min(1.0, fraction)) * PROGRESS_STEPS))
        self.bar.show()
        self.status.setStyleSheet("")
        self.status.setText(f"UMAP: {message}")
        self.status.setToolTip(f"UMAP: {message}. The map shows PCA until UMAP is ready.")

    @Slot(object)
    def set_ready(self, projection: object = None) -> None:
        self.bar.hide()
        self.status.setStyleSheet("")
        self.status.setText("")

    def set_note(self, text: str) -> None:
        """A neutral line in place of the progress (say, why PCA stands in for UMAP now)."""
        self.bar.hide()
        self.status.setStyleSheet("")
        self.status.setText(text)
        self.status.setToolTip("")

    @Slot(str)
    def set_failed(self, message: str) -> None:
        self.bar.hide()
        self.status.setStyleSheet("color: #b00020;")
        self.status.setText("UMAP failed: PCA shown")
        self.status.setToolTip(message)

    # ------------------------------------------------------------ distance
    def _fit_distance_width(self) -> None:
        bold = QFont(self.distance.font())
        bold.setBold(True)
        self.distance.setFixedWidth(QFontMetrics(bold).horizontalAdvance("Extrapolating: 99.9 spacings from the data") + 8)

    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self._fit_distance_width()
            self._far = None  # restyle the readout for the new look on its next value
        super().changeEvent(event)

    def _far_color(self) -> str:
        """Red that reads on the current background: dark red on light looks, light red on dark."""
        return "#ff6b6b" if self.palette().window().color().lightness() < 128 else "#b00020"

    @Slot(float)
    def set_distance(self, spacings: float) -> None:
        """The marker's distance to the data in data spacings (NaN: unknown, shows nothing)."""
        if not math.isfinite(spacings):
            self.distance.clear()
            return
        far = is_far(spacings)
        if far != self._far:  # restyling costs far more than new text: only when it flips
            self._far = far
            self.distance.setStyleSheet(f"color: {self._far_color()}; font-weight: bold;" if far else "")
        text = f"{spacings:.1f} spacings from the data"
        self.distance.setText(f"Extrapolating: {text}" if far else f"Marker: {text}")
