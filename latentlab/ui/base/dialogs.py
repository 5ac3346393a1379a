"""Every modal question and message the window asks, in one place.

Tests replace these functions (or ``QMessageBox.critical``) with monkeypatch, so the
window calls them through this module: ``dialogs.ask_save_changes(...)``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

CHECKPOINT_FILTER = "latentlab checkpoints (*.safetensors config.json);;All files (*)"

SAVE, DISCARD, CANCEL = "save", "discard", "cancel"


def show_error(parent: QWidget | None, title: str, message: str) -> None:
    """A critical message box that names the problem; the window stays usable afterwards."""
    QMessageBox.critical(parent, title, as_plain_text(message))


def as_plain_text(message: str) -> str:
    """``message`` as Qt will show it literally. A message box takes text that starts like
    HTML for HTML, and a message may quote a file (a class name ``<img src=...>`` would load
    that image): such text is converted to HTML that shows it as written."""
    return Qt.convertFromPlainText(message) if Qt.mightBeRichText(message) else message


def ask_read_checkpoint_data(parent: QWidget | None, question: str) -> bool:
    """Whether to read the data a checkpoint names (a folder, a download): Yes / No."""
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.question(parent, "Read this checkpoint's data?", as_plain_text(question),
                                  buttons.Yes | buttons.No, buttons.No)
    return answer == buttons.Yes


def ask_save_changes(parent: QWidget | None, question: str) -> str:
    """Save / Discard / Cancel: returns SAVE, DISCARD or CANCEL."""
    buttons = QMessageBox.StandardButton
    answer = QMessageBox.question(parent, "Save the model?", question,
                                  buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
    return {buttons.Save: SAVE, buttons.Discard: DISCARD}.get(answer, CANCEL)


def choose_checkpoint_to_open(parent: QWidget | None, start: str = "") -> str | None:
    """A checkpoint file or folder: pick a .safetensors file or a folder's config.json."""
    path, _ = QFileDialog.getOpenFileName(parent, "Open checkpoint", start, CHECKPOINT_FILTER)
    if not path:
        return None
    chosen = Path(path)
    return str(chosen.parent if chosen.name == "config.json" else chosen)


def choose_save_path(parent: QWidget | None, suggestion: str) -> str | None:
    """Where to save: a name ending in .safetensors gives one file, any other name a folder."""
    path, _ = QFileDialog.getSaveFileName(
        parent, "Save checkpoint as", suggestion,
        "Checkpoint folder (*);;Single-file checkpoint (*.safetensors)",
        options=QFileDialog.Option.DontConfirmOverwrite)
    return path or None


def choose_dataset_folder(parent: QWidget | None, start: str = "") -> str | None:
    """A folder of images to train on (one sub-folder per class)."""
    path = QFileDialog.getExistingDirectory(parent, "Open a folder of images (one sub-folder per class)", start)
    return path or None


class ErrorDialogs:
    """The window's one error sink (``latentlab.app.tasks.ErrorSink``): every failure of a
    background task, a compute lane, an open or a save is one critical message box here,
    or one line on stderr when headless (``--screenshot``, scripts).

    The same failure reported again within ``REPEAT_S`` (a lane's job that fails at every
    pan of the map, the manifold grid's two requests when G is pressed) is not shown again:
    one failure, one dialog."""

    REPEAT_S = 10.0

    def __init__(self, parent: QWidget | None = None, *, headless: bool = False) -> None:
        self.parent = parent
        self.headless = headless
        self.shown: list[tuple[str, str]] = []  # (title, message) of each dialog, in order
        self._last: tuple[str, str, float] | None = None

    def report(self, title: str, message: str) -> None:
        import sys
        import time

        now = time.monotonic()
        if self._last is not None and self._last[:2] == (title, message) and now - self._last[2] < self.REPEAT_S:
            print(f"latentlab: error (again): {title}: {message}", file=sys.stderr)
            return
        self._last = (title, message, now)
        self.shown.append((title, message))
        if self.headless:
            print(f"latentlab: error: {title}: {message}", file=sys.stderr)
        else:
            show_error(self.parent, title, message)
