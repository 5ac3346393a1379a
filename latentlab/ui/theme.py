"""Look and feel: pyqtgraph options, fonts and a light style that projects well."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

STYLE_SHEET = """
QLabel#panelTitle { font-weight: 600; color: #222; padding: 2px 0px; }
QLabel#welcomeTitle { font-size: 20pt; font-weight: 600; color: #222; }
QLabel#welcomeText { font-size: 12pt; color: #444; }
QPushButton#bigButton { font-size: 13pt; padding: 10px 22px; }
QStatusBar QLabel { padding: 0px 8px; color: #333; }
QLabel#summary { color: #333; padding-top: 4px; }
QLabel#coordinates { color: #444; font-family: monospace; }
QProgressBar { min-height: 20px; }
"""

MIN_POINT_SIZE = 10.0


def configure_pyqtgraph() -> None:
    """Row-major images (numpy order), white plots, antialiased curves."""
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True, background="w", foreground="#333")


def apply_theme(app: QApplication) -> None:
    """Fusion style, a readable base font, the style sheet (called once per application)."""
    if app.property("latentlab_themed"):
        return
    app.setStyle("Fusion")
    font = QFont(app.font())
    if font.pointSizeF() < MIN_POINT_SIZE:
        font.setPointSizeF(MIN_POINT_SIZE)
        app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)
    app.setProperty("latentlab_themed", True)
