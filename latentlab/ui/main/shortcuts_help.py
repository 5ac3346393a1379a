"""The Keyboard shortcuts dialog (F1): every action of the window that has a key, with
what it does, read from the actions themselves so the list cannot go stale."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


#: The dialog's width in average characters, and its largest share of the screen.
WIDTH_CHARS = 110
SCREEN_SHARE = 0.9


def shortcut_rows(actions: list[QAction]) -> list[tuple[str, str, str]]:
    """(keys, action, description) for each of ``actions`` with a shortcut, sorted by name."""
    rows = []
    for action in actions:
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if not k.isEmpty()]
        if not keys:
            continue
        name = action.text().replace("&", "").rstrip("…").strip()
        rows.append((" or ".join(keys), name, action.toolTip()))
    return sorted(rows, key=lambda row: row[1].lower())


class ShortcutsDialog(QDialog):
    def __init__(self, actions: list[QAction], parent: QWidget | None = None) -> None:
        """``actions``: the window's actions (those with a key are listed)."""
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(actions)
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Keys", "Action", "What it does"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a list to read: no current cell drawn
        for r, row in enumerate(rows):
            for c, text in enumerate(row):
                item = QTableWidgetItem(text)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                self.table.setItem(r, c, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        # Rows take their height from the wrapped descriptions, so from the last column's
        # width: measured once before the dialog had its size, that column was a few words
        # wide and the rows 150-330 pixels tall (one to four rows on the screen).
        header.sectionResized.connect(self._fit_rows)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setToolTip("Close this list (Esc)")
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self._size_to_screen()

    def _available(self) -> QSize:
        screen = self.parentWidget().screen() if self.parentWidget() is not None else self.screen()
        if screen is None:
            return QSize(1920, 1080)
        return screen.availableGeometry().size() * SCREEN_SHARE

    def _size_to_screen(self) -> None:
        """About 110 characters wide (within 90% of the screen); the height follows the rows."""
        metrics = self.fontMetrics()
        width = min(metrics.averageCharWidth() * WIDTH_CHARS, self._available().width())
        self.resize(width, metrics.lineSpacing() * (self.table.rowCount() + 4) + 80)

    @Slot()
    def _fit_rows(self, *args) -> None:
        self.table.resizeRowsToContents()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self._fit_rows()
        # Tall enough for every row, within 90% of the screen (beyond, the list scrolls).
        table = self.table
        rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
        missing = table.horizontalHeader().height() + rows + 2 * table.frameWidth() - table.height()
        if missing > 0:
            self.resize(self.width(), min(self.height() + missing, self._available().height()))


def show_shortcuts(actions: list[QAction], parent: QWidget | None = None) -> ShortcutsDialog:
    """Show the dialog (not modal: the keys keep working while it is open)."""
    dialog = ShortcutsDialog(actions, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
