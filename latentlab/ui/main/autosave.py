"""Autosave: every few minutes, a copy of unsaved training goes to the user's data folder.

A power cut or a killed window then loses minutes of training, not hours. The copy never
replaces the user's own file (that is what Save does, and "Discard" on closing must still
mean discard) and never goes inside the installed package: it is a checkpoint folder in
``<data folder>/autosave/`` (see ``latentlab.locations.data_dir``), one per model and
session, overwritten atomically at each autosave; the newest ``KEEP`` are kept. The status
bar says where it went. Training ▸ Autosave turns it on or off (a QSettings setting,
``autosave/enabled``; the interval is ``autosave/minutes``, default 10).
"""

from __future__ import annotations

import re
import shutil
import sys
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, QTimer, Slot
from PySide6.QtGui import QAction

if TYPE_CHECKING:
    from latentlab.app.state import AppState

DEFAULT_MINUTES = 10.0
#: Autosave folders kept; older ones are deleted after each autosave.
KEEP = 10


def autosave_folder() -> Path:
    from latentlab.locations import data_dir

    return data_dir() / "autosave"


class Autosave(QObject):
    """The window's autosave timer and its Training-menu switch."""

    def __init__(self, state: AppState, settings: QSettings, flush: Callable[[], None],
                 parent: QObject | None = None) -> None:
        """``flush()`` draws the newest weights a training run has sent (the ones to save)."""
        super().__init__(parent)
        self.state = state
        self.settings = settings
        self.flush = flush
        self.minutes = _minutes(settings.value("autosave/minutes", DEFAULT_MINUTES))
        self.action = QAction(f"Autosave unsaved training every {self.minutes:g} min", self)
        self.action.setCheckable(True)
        self.action.setChecked(_flag(settings.value("autosave/enabled", True)))
        tip = ("While a model has unsaved training, save a copy to latentlab's data folder every "
               f"{self.minutes:g} minutes, so a crash or power cut loses minutes, not hours. "
               "Your own checkpoint file is only replaced when you save.")
        self.action.setToolTip(tip)
        self.action.setStatusTip(tip)
        self.action.toggled.connect(self._on_toggled)
        self.timer = QTimer(self)
        self.timer.setInterval(int(self.minutes * 60_000))
        self.timer.timeout.connect(self._on_timer)
        self.last_path: Path | None = None
        self._target: tuple[weakref.ref, Path] | None = None
        if self.action.isChecked():
            self.timer.start()

    # -------------------------------------------------------------- control
    @Slot(bool)
    def _on_toggled(self, on: bool) -> None:
        self.settings.setValue("autosave/enabled", on)
        if on:
            self.timer.start()
        else:
            self.timer.stop()

    def stop(self) -> None:
        self.timer.stop()

    @property
    def needed(self) -> bool:
        session = self.state.session
        return session is not None and (self.state.is_training or session.dirty)

    @Slot()
    def _on_timer(self) -> None:
        if self.needed:
            self.save_now()

    # --------------------------------------------------------------- saving
    def target(self) -> Path:
        """This session's autosave folder: ``FAMILY-DATASET-DATE-TIME`` (fixed per session)."""
        session = self.state.session
        if self._target is not None and self._target[0]() is session:
            return self._target[1]
        name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{session.family}-{session.dataset.name}")
        path = autosave_folder() / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
        self._target = (weakref.ref(session), path)
        return path

    def save_now(self, reason: str = "") -> Path | None:
        """Save a copy of the open model (its newest weights) now; None when there is
        nothing to save or it failed (the status bar says why). ``reason`` (a signal's
        name) also prints the path on the terminal."""
        state, session = self.state, self.state.session
        if session is None or not self.needed:
            return None
        self.flush()  # the newest weights the worker has sent
        try:
            path = session.save(self.target(), copy=True)
        except Exception as exc:  # noqa: BLE001 - an autosave never interrupts the work
            state.say(f"Autosave failed: {exc}", 15_000)
            if reason:
                print(f"latentlab: {reason}: could not save the unsaved model: {exc}", file=sys.stderr)
            return None
        self.last_path = path
        state.say(f"Autosaved a copy of the unsaved training to {path}", 8000)
        if reason:
            print(f"latentlab: {reason}: saved the unsaved model to {path}", file=sys.stderr)
        _prune(path.parent, keep=path)
        return path


def _prune(folder: Path, keep: Path) -> None:
    """Delete all but the KEEP newest autosave folders (never ``keep``)."""
    try:
        entries = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return
    entries.sort(key=_mtime, reverse=True)
    for old in entries[KEEP:]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _minutes(value) -> float:
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        return DEFAULT_MINUTES
    return minutes if 0.05 <= minutes <= 24 * 60 else DEFAULT_MINUTES


def _flag(value) -> bool:
    return value not in (False, "false", "0", 0)
