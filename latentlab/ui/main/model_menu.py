"""The Models menu: the pretrained checkpoints of ``latentlab.pretrained``, grouped, the open
one checked, and Next / Previous model (Page Down / Page Up, the keys a presentation
clicker sends) to step through them during a demo.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

if TYPE_CHECKING:
    from latentlab.app.state import AppState
    from latentlab.pretrained import Pretrained

NEXT_KEY = "PgDown"
PREVIOUS_KEY = "PgUp"


def _same_file(a: str | Path | None, b: str | Path | None) -> bool:
    if a is None or b is None:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


class ModelMenu(QMenu):
    """Lists ``catalogue()`` when opened (files may appear while the app runs).

    ``open_checkpoint(path)`` opens a model (the window's open: it asks about unsaved
    training); Next / Previous (``window_actions``) are added to the window, so their keys
    work wherever the focus is.
    """

    def __init__(self, state: AppState, open_checkpoint: Callable[..., bool], parent: QWidget | None = None) -> None:
        super().__init__("&Models", parent)
        self.state = state
        self.open_checkpoint = open_checkpoint
        self.setToolTipsVisible(True)
        self.next_action = self._window_action(
            "&Next model", NEXT_KEY, self.next_model,
            "Open the next pretrained model of the Models menu (Page Down, as a presentation clicker sends)")
        self.previous_action = self._window_action(
            "&Previous model", PREVIOUS_KEY, self.previous_model,
            "Open the previous pretrained model of the Models menu (Page Up)")
        self.aboutToShow.connect(self._fill)
        self._fill()

    def _window_action(self, text: str, key: str, slot, tip: str) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        return action

    def window_actions(self) -> list[QAction]:
        """The actions whose keys the window takes (Page Down / Page Up)."""
        return [self.next_action, self.previous_action]

    # ----------------------------------------------------------- the list
    def entries(self) -> list[Pretrained]:
        """The shipped models whose files exist (a PyTorch-free lookup: listed at once)."""
        from latentlab.pretrained import catalogue

        return catalogue()

    def current_index(self, entries: list[Pretrained]) -> int:
        session = self.state.session
        path = session.path if session is not None else None
        return next((i for i, entry in enumerate(entries) if _same_file(entry.path, path)), -1)

    @Slot()
    def _fill(self) -> None:
        self.clear()
        entries = self.entries()
        current = self.current_index(entries)
        group = None
        for i, entry in enumerate(entries):
            if entry.group != group:
                group = entry.group
                self.addSection(group.capitalize())
            action = self.addAction(entry.title)
            action.setCheckable(True)
            action.setChecked(i == current)
            action.setEnabled(self.state.engine_ready)  # opening needs PyTorch, loading at start-up
            action.setData(entry.key)
            action.setToolTip(f"Open the pretrained {entry.title} ({entry.path.name})")
            action.setStatusTip(action.toolTip())
            action.triggered.connect(self._on_entry_triggered)
        if not entries:
            self.addAction("(no pretrained models installed)").setEnabled(False)
        self.addSeparator()
        self.addAction(self.next_action)
        self.addAction(self.previous_action)

    def model_actions(self) -> list[QAction]:
        """The actions of the listed models, in menu order."""
        return [a for a in self.actions() if a.data()]

    @Slot()
    def _on_entry_triggered(self) -> None:
        action = self.sender()
        if isinstance(action, QAction) and action.data():
            self.open_key(str(action.data()))

    # ----------------------------------------------------------- opening
    def open_key(self, key: str) -> bool:
        entries = self.entries()
        entry = next((e for e in entries if e.key == key), None)
        if entry is not None and not self.state.engine_ready:
            self.state.say("Still loading PyTorch…", 4000)
            return False
        if entry is None:
            self.state.say(f"The pretrained model {key!r} is not installed", 5000)
            return False
        return self.open_checkpoint(entry.path)

    def step(self, delta: int) -> bool:
        """Open the model ``delta`` places after the open one (wrapping around)."""
        entries = self.entries()
        if not entries or not self.state.engine_ready:
            self.state.say("Still loading PyTorch…" if entries else "No pretrained models installed", 4000)
            return False
        current = self.current_index(entries)
        index = (current + delta) % len(entries) if current >= 0 else (0 if delta > 0 else len(entries) - 1)
        entry = entries[index]
        if not self.open_checkpoint(entry.path):
            return False
        self.state.say(f"Model {index + 1} of {len(entries)}: {entry.title}", 5000)
        return True

    @Slot()
    def next_model(self) -> bool:
        return self.step(+1)

    @Slot()
    def previous_model(self) -> bool:
        return self.step(-1)
