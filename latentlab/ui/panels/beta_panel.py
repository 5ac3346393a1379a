"""The β slider (KL weight) of the open VAE, with the KL-per-dimension bars beside it.

Moving the slider acts at once: the open model fine-tunes at the new β from its current
weights (steered, if it is training already) until its loss settles or Stop; on the
shipped β ladder, the rungs 0.5, 1, 2, 4 and 8 open that rung's pretrained model. The
window does that; the panel only reports the β the user chose (``betaChanged``).

The slider is logarithmic in quarter octaves from 1/32 to 64 (β × 1.19 per step, a tick
at every power of two), so a short drag moves β by a factor of two or three, not thirty.
Page Up / Down stay the window's next / previous model. The spin box takes any β >= 0.
Models without a KL term (AE, GAN, WGAN-GP) hide both; the KL bars say why.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QSizePolicy, QSlider, QVBoxLayout, QWidget

from latentlab.ui.panels.kl_bars import KLBars

if TYPE_CHECKING:
    from latentlab.app.state import AppState

STEPS_PER_OCTAVE = 4
MIN_OCTAVE, MAX_OCTAVE = -5, 6  # β from 2^-5 = 1/32 to 2^6 = 64

TIP = ("β weighs the KL term of a VAE: large β pulls every posterior to the prior (smooth map, blurry "
       "digits, collapsed dimensions), small β gives sharp reconstructions and a patchy map. Moving the "
       "slider fine-tunes the open model at the new β from its current weights, until the loss settles "
       "or you press Stop; on the shipped β ladder, 0.5, 1, 2, 4 and 8 show the pretrained rungs")


def on_ladder(path) -> bool:
    """Whether ``path`` is one of the shipped rungs of the β ladder."""
    from latentlab.pretrained import BETA_LADDER, shipped_entry

    entry = shipped_entry(path)
    return entry is not None and entry.key in BETA_LADDER


def beta_to_slider(beta: float) -> int:
    """The slider position nearest to ``beta`` (clamped to the slider's range)."""
    octave = math.log2(beta) if beta > 0 else MIN_OCTAVE
    octave = min(max(octave, MIN_OCTAVE), MAX_OCTAVE)
    return int(round((octave - MIN_OCTAVE) * STEPS_PER_OCTAVE))


def slider_to_beta(position: int) -> float:
    """β at a slider position, to three significant digits (the powers of two exactly)."""
    return float(f"{2.0 ** (MIN_OCTAVE + position / STEPS_PER_OCTAVE):.3g}")


class BetaSlider(QSlider):
    """A slider that ignores the mouse wheel unless it has the focus: scrolling past the
    side panel must not start a fine-tune."""

    def wheelEvent(self, event) -> None:  # noqa: N802
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class BetaPanel(QWidget):
    betaChanged = Signal(float)  # the user chose this β (slider or spin box)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("β (KL weight)")
        title.setObjectName("panelTitle")
        title.setToolTip(TIP)
        self.slider = BetaSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, (MAX_OCTAVE - MIN_OCTAVE) * STEPS_PER_OCTAVE)
        self.slider.setSingleStep(1)
        self.slider.setPageStep(STEPS_PER_OCTAVE)
        self.slider.setTickInterval(STEPS_PER_OCTAVE)
        self.slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.slider.setValue(beta_to_slider(1.0))
        self.slider.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.slider.setToolTip(TIP + ". Arrow keys: × 1.19 per step, four steps double β")
        self.spin = QDoubleSpinBox()
        self.spin.setRange(0.0, 1000.0)
        self.spin.setDecimals(3)
        self.spin.setValue(1.0)
        self.spin.setKeyboardTracking(False)
        self.spin.setToolTip("β, typed exactly (0 to 1000); Enter applies it")
        self.note = QLabel("")
        self.note.setObjectName("summary")  # the muted look
        self.note.setWordWrap(True)
        self.note.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)  # never squeezed
        self.note.setToolTip(TIP)
        self.kl = KLBars()
        self.kl.setMinimumHeight(80)
        # No height of its own to ask for: the decoded digit above takes the column's room
        # first (with the plot's own size hint the bars kept 150 px and the digit got 140).
        self.kl.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Ignored)

        self.row = QWidget()
        row = QHBoxLayout(self.row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(title)
        layout.addWidget(self.row)
        layout.addWidget(self.note)
        layout.addWidget(self.kl, 1)

        self.slider.valueChanged.connect(self._on_slider)
        self.spin.valueChanged.connect(self._on_spin)
        self._syncing = False

    def beta(self) -> float:
        return float(self.spin.value())

    # ------------------------------------------------------- the app state
    def observe(self, state: AppState) -> None:
        """Show what ``state`` shows: the model's β (the slider only for a model with a KL
        term; enabled once a PyTorch session is open), the rungs on the β ladder, and the
        KL bars of the model on the map (never a previous model's)."""
        self._state = state
        state.shown_changed.connect(self._on_shown)
        state.engine_changed.connect(self._on_engine)
        state.kl_changed.connect(self._on_kl)
        self._on_shown(state.shown)
        self._on_kl(state.kl)

    def _on_shown(self, shown) -> None:
        state = self._state
        has_beta = shown is not None and shown.has_beta
        session = state.session
        note = ""
        if has_beta and on_ladder(shown.path):  # the first screen's too: the panels keep their place
            note = "Shipped rungs: β = 0.5 · 1 · 2 · 4 · 8"
        if has_beta and shown.beta is not None:
            self.set_beta(shown.beta)
        self.set_available(has_beta, enabled=session is not None and state.engine_ready, note=note)

    def _on_engine(self, ready: bool) -> None:
        self._on_shown(self._state.shown)

    def _on_kl(self, values) -> None:
        shown = self._state.shown
        if shown is None:
            self.kl.set_kl(None, reason="open or train a VAE")
        elif not shown.has_beta:
            self.kl.set_kl(None, reason=f"a {shown.family} has no KL term")
        else:
            self.kl.set_kl(values, reason="" if values else "after the first epoch")

    def set_beta(self, beta: float) -> None:
        """Show ``beta`` without emitting ``betaChanged``."""
        self._syncing = True
        try:
            self.spin.setValue(beta)
            self.slider.setValue(beta_to_slider(beta))
        finally:
            self._syncing = False

    def set_available(self, has_beta: bool, enabled: bool, note: str) -> None:
        """``has_beta``: show the slider (else hide it: the model has no KL term);
        ``enabled``: it can act now; ``note``: one line under it (why not, or what it does)."""
        self.row.setVisible(has_beta)
        self.slider.setEnabled(has_beta and enabled)
        self.spin.setEnabled(has_beta and enabled)
        self.note.setText(note)
        self.note.setVisible(bool(note))

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
