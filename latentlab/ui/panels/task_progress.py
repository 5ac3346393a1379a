"""A status-bar progress bar for one long background task, with its time left and a Cancel button.

Hidden while no task runs. The window shows one for the judge classifier that a new
dataset needs (minutes on a laptop for a 60,000-image set).
"""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QToolButton, QWidget

from latentlab.ui.panels.training_panel import format_eta

STEPS = 1000
#: What a cancelled task reports instead of an error message.
CANCELLED = "cancelled"


class TaskProgress(QWidget):
    cancelRequested = Signal()

    def __init__(self, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bar = QProgressBar()
        self.bar.setRange(0, STEPS)
        self.bar.setMaximumWidth(260)
        self.bar.setToolTip(tooltip)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop this task; nothing is kept, and it starts again when it is needed")
        self.cancel_button.clicked.connect(self._on_cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._title = ""
        self.hide()

    def start(self, title: str) -> None:
        self._title = title
        self.bar.setValue(0)
        self.bar.setFormat(f"{title}: starting…")
        self.cancel_button.setEnabled(True)
        self.show()

    @Slot(float, float)
    def set_progress(self, fraction: float, eta_s: float) -> None:
        self.bar.setValue(round(min(max(fraction, 0.0), 1.0) * STEPS))
        self.bar.setFormat(f"{self._title}: {fraction:.0%} · {format_eta(eta_s)} left")

    @Slot()
    def _on_cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.bar.setFormat(f"{self._title}: cancelling…")
        self.cancelRequested.emit()

    def finish(self) -> None:
        self.hide()
