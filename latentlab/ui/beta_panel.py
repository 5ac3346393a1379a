"""The β slider (KL weight) with the KL-per-dimension bars beside it.

While a VAE trains, moving the slider changes β from the next optimizer step; on a
trained model, "Fine-tune at this β" continues training from the current weights. The
slider is logarithmic (0.01 to 100, 1 in the middle); the spin box takes any β >= 0.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from .kl_bars import KLBars

SLIDER_STEPS_PER_DECADE = 100
LOG_MIN, LOG_MAX = -2.0, 2.0


def beta_to_slider(beta: float) -> int:
    log = math.log10(beta) if beta > 0 else LOG_MIN
    return int(round((min(max(log, LOG_MIN), LOG_MAX) - LOG_MIN) * SLIDER_STEPS_PER_DECADE))


def slider_to_beta(position: int) -> float:
    return float(f"{10 ** (LOG_MIN + position / SLIDER_STEPS_PER_DECADE):.3g}")


class BetaPanel(QWidget):
    betaChanged = Signal(float)
    fineTuneRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("β (KL weight)")
        title.setObjectName("panelTitle")
        tip = ("β weighs the KL term of a VAE: large β pulls every posterior to the prior (smooth map, blurry "
               "digits, collapsed dimensions), small β gives sharp reconstructions and a patchy map. Used when "
               "training starts; while a VAE trains it changes β from the next step")
        title.setToolTip(tip)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, int((LOG_MAX - LOG_MIN) * SLIDER_STEPS_PER_DECADE))
        self.slider.setValue(beta_to_slider(1.0))
        self.slider.setToolTip(tip)
        self.spin = QDoubleSpinBox()
        self.spin.setRange(0.0, 1000.0)
        self.spin.setDecimals(3)
        self.spin.setValue(1.0)
        self.spin.setKeyboardTracking(False)
        self.spin.setToolTip("β, typed exactly (0 to 1000)")
        self.fine_tune = QPushButton("Fine-tune at this β")
        self.fine_tune.setToolTip("Continue training the open model from its current weights with this β, "
                                  "for the number of epochs set in the training panel")
        self.fine_tune.clicked.connect(self.fineTuneRequested)
        self.kl = KLBars()
        self.kl.setMinimumHeight(110)

        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(title)
        layout.addLayout(row)
        layout.addWidget(self.fine_tune)
        layout.addWidget(self.kl, 1)

        self.slider.valueChanged.connect(self._on_slider)
        self.spin.valueChanged.connect(self._on_spin)
        self._syncing = False

    def beta(self) -> float:
        return float(self.spin.value())

    def set_beta(self, beta: float) -> None:
        """Show ``beta`` without emitting ``betaChanged``."""
        self._syncing = True
        try:
            self.spin.setValue(beta)
            self.slider.setValue(beta_to_slider(beta))
        finally:
            self._syncing = False

    def set_enabled_for(self, has_beta: bool, can_fine_tune: bool) -> None:
        self.slider.setEnabled(has_beta)
        self.spin.setEnabled(has_beta)
        self.fine_tune.setEnabled(can_fine_tune)

    @Slot(int)
    def _on_slider(self, position: int) -> None:
        if self._syncing:
            return
        beta = slider_to_beta(position)
        self._syncing = True
        try:
            self.spin.setValue(beta)
        finally:
            self._syncing = False
        self.betaChanged.emit(beta)

    @Slot(float)
    def _on_spin(self, beta: float) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            self.slider.setValue(beta_to_slider(beta))
        finally:
            self._syncing = False
        self.betaChanged.emit(float(beta))
