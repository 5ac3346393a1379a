"""Recently opened checkpoints, kept in QSettings, and the File > Open Recent menu."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QWidget

MAX_RECENT = 8
RECENT_KEY = "recentCheckpoints"


class RecentMenu(QMenu):
    chosen = Signal(str)  # a path picked from the menu

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__("Open &Recent", parent)
        self.settings = settings
        self.setToolTipsVisible(True)
        self.aboutToShow.connect(self._fill)
        self.triggered.connect(self._on_triggered)

    def paths(self) -> list[str]:
        value = self.settings.value(RECENT_KEY, [])
        if isinstance(value, str):  # QSettings gives a lone string for a one-element list
            value = [value]
        return [str(v) for v in (value or []) if v]

    def add(self, path: str | Path) -> None:
        path = str(Path(path).expanduser().resolve())
        self.settings.setValue(RECENT_KEY, ([path] + [p for p in self.paths() if p != path])[:MAX_RECENT])

    @Slot()
    def _fill(self) -> None:
        self.clear()
        for path in self.paths():
            action = self.addAction(Path(path).name)
            action.setData(path)
            action.setToolTip(path)
        if self.isEmpty():
            self.addAction("(none yet)").setEnabled(False)

    @Slot(QAction)
    def _on_triggered(self, action: QAction) -> None:
        if action.data():
            self.chosen.emit(str(action.data()))
