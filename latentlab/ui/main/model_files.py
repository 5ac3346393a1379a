"""The window's model files: File ▸ Open, Open Recent, Save, Save As, Revert to shipped
model, a checkpoint dropped on the window, and the Save / Discard / Cancel question
before unsaved training would be lost.

It gets the state (the open session, the status bar's messages), the error sink, the
recent menu, the training controller (a running training blocks opening, and saving
takes its newest weights), the window's ``set_session`` and the density models'
``opens_elsewhere`` (a PixelCNN opens in its own view), and a widget to parent its
dialogs; never the window. Nothing is written inside the installed package: a shipped
model is a template, so saving it proposes a free name in the user's models folder.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import QApplication, QWidget

from latentlab.app.tasks import ErrorSink, report_exception
from latentlab.ui.base import dialogs

if TYPE_CHECKING:
    from latentlab.app.session import Session
    from latentlab.app.state import AppState
    from latentlab.ui.main.recent import RecentMenu
    from latentlab.ui.main.training_controller import TrainingController


class ModelFiles(QObject):
    def __init__(self, state: AppState, errors: ErrorSink, recent_menu: RecentMenu, training: TrainingController,
                 *, set_session: Callable[..., None], opens_elsewhere: Callable[[str | Path], bool],
                 parent: QWidget) -> None:
        """``set_session(session, keep_view=False)``: installs an opened session (the
        window's); ``opens_elsewhere(path)``: True when a model without a latent space was
        opened in its own view (DensityActions); ``parent``: the dialogs' parent. A save
        emits ``state.model_saved(path)``."""
        super().__init__(parent)
        self.state = state
        self.errors = errors
        self.recent_menu = recent_menu
        self.training = training
        self._set_session = set_session
        self._opens_elsewhere = opens_elsewhere
        self._dialog_parent = parent
        self._dropped_path: str | None = None
        recent_menu.chosen.connect(self.open_checkpoint)

    @property
    def session(self) -> Session | None:
        return self.state.session

    # ============================================================= opening
    @Slot()
    def choose_and_open(self) -> None:
        start = str(self.session.path.parent) if self.session and self.session.path else ""
        path = dialogs.choose_checkpoint_to_open(self._dialog_parent, start)
        if path:
            self.open_checkpoint(path)

    @Slot(str)
    def open_checkpoint(self, path: str | Path, *, discard: bool = False) -> bool:
        """Open a checkpoint; on failure show one dialog and keep the current model.
        ``discard``: drop the open model's unsaved training without asking.

        Everything that can fail (reading and validating the file, building the model,
        loading its data) happens in ``Session.open``, before the swap. Data the file names
        beyond the bundled sets (a folder, a download) is read only if the user says yes.
        Should installing the new session fail all the same, the previous one goes back.
        """
        if self.training.running:
            self.errors.report("Training is running", "Stop the running training before opening another model.")
            return False
        if not discard and not self.confirm_discard(
                "The open model has unsaved training. Save it before opening another?"):
            return False
        if self._opens_elsewhere(path):
            return True
        from latentlab.app.session import Session

        title = f"Could not open {Path(path).name}"
        previous = self.session
        QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            session = Session.open(path, ask=self._ask_to_read_data)
            try:
                self._set_session(session)
            except Exception:
                self._set_session(previous, keep_view=previous is not None)
                raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes a dialog
            QApplication.restoreOverrideCursor()
            report_exception(self.errors, title, exc)
            return False
        QApplication.restoreOverrideCursor()
        self.recent_menu.add(path)
        if session.data_note:
            self.state.say(f"Opened {Path(path).name} without data: {session.data_note}", 10_000)
        else:
            self.state.say(f"Opened {Path(path).name}", 5000)  # (the whole path: File ▸ Recent)
        return True

    def _ask_to_read_data(self, refusal) -> bool:
        """Session.open's question: may the data the checkpoint names be read?"""
        QApplication.restoreOverrideCursor()
        try:
            return dialogs.ask_read_checkpoint_data(self._dialog_parent, refusal.question)
        finally:
            QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)

    @Slot()
    def revert_to_shipped(self) -> bool:
        """Reopen the open shipped model as it ships, dropping its fine-tuning (a running
        fine-tune is stopped first)."""
        from latentlab.pretrained import shipped_entry

        session = self.session
        entry = shipped_entry(session.path) if session is not None else None
        if entry is None:
            self.state.say("Revert to shipped: the open model is not a shipped one", 5000)
            return False
        self.training.stop_and_wait()
        if not self.open_checkpoint(entry.path, discard=True):
            return False
        self.state.say(f"Reverted to the shipped {entry.title}", 6000)
        return True

    # --------------------------------------------------------- drag & drop
    @staticmethod
    def _local_path(mime) -> str | None:
        if mime.hasUrls():
            for url in mime.urls():
                if url.isLocalFile():
                    return url.toLocalFile()
        return None

    def drag_enter(self, event) -> None:
        """The window's dragEnterEvent: a local file may be dropped."""
        if self._local_path(event.mimeData()):
            event.acceptProposedAction()

    def drop(self, event) -> None:
        """The window's dropEvent: open the dropped file (once PyTorch has loaded)."""
        path = self._local_path(event.mimeData())
        if path:
            event.acceptProposedAction()
            self._dropped_path = path
            if not self.state.engine_ready:  # opened after the start-up model (startup.py), not instead of it
                self.state.say(f"{Path(path).name} opens as soon as PyTorch has loaded", 0)
                return
            QTimer.singleShot(0, self, self.open_dropped)  # not inside the drop handler: it may show a dialog

    @Slot()
    def open_dropped(self) -> None:
        """Open the file dropped on the window, if one waits (dropped while PyTorch loaded)."""
        path, self._dropped_path = self._dropped_path, None
        if path:
            self.open_checkpoint(path)

    # ============================================================== saving
    @Slot()
    def save(self) -> None:
        self.save_checkpoint()

    @Slot()
    def save_as(self) -> None:
        if self.session is None:
            self.errors.report("Nothing to save", "Open a checkpoint or train a model first.")
            return
        path = self._ask_save_path()
        if path:
            self.save_checkpoint(path)

    def _ask_save_path(self) -> str | None:
        """The save dialog, opened on ``_save_suggestion()``."""
        suggestion = self._save_suggestion()
        try:
            Path(suggestion).parent.mkdir(parents=True, exist_ok=True)  # the dialog opens there
        except OSError:
            pass
        return dialogs.choose_save_path(self._dialog_parent, suggestion)

    def _save_suggestion(self) -> str:
        """The model's own file, unless it is a shipped one (a template, never overwritten) or
        new: then a free name in the user's models folder (``locations.models_dir()``)."""
        from latentlab.locations import free_name, inside_package, models_dir
        from latentlab.pretrained import shipped_entry

        session = self.session
        if session.path is not None and not inside_package(session.path):
            return str(session.path)
        entry = shipped_entry(session.path)
        if entry is not None:
            stem = f"{entry.key}-fine-tuned"
        elif session.path is not None:
            stem = f"{session.path.stem}-copy"
        else:
            stem = f"{session.family}-{session.dataset.name}"
        return str(free_name(models_dir(), stem))

    def save_checkpoint(self, path: str | Path | None = None) -> Path | None:
        """Save the model (its newest snapshot while training) atomically; None when not saved.

        Without ``path``: to the model's own file, or, for a new model or a shipped one (a
        template: nothing is written inside the installed package), where the Save As dialog
        says. A ``path`` inside the package is refused with a message."""
        from latentlab.locations import inside_package, models_dir

        session = self.session
        if session is None:
            self.errors.report("Nothing to save", "Open a checkpoint or train a model first.")
            return None
        if path is None:
            if session.path is not None and not session.dirty:
                # Nothing to write; rewriting would only drop the file's optimizer state.
                self.state.say(f"No unsaved changes ({session.path.name})", 3000)
                return session.path
            if session.path is not None and not inside_package(session.path):
                path = session.path
            else:  # Save on a new or shipped model behaves as Save As
                path = self._ask_save_path()
            if not path:
                return None
        if inside_package(path):
            self.errors.report("Cannot save inside latentlab",
                               f"{path} is inside the installed latentlab, whose models are templates that "
                               f"are never overwritten. Save it elsewhere, e.g. in {models_dir()}.")
            return None
        self.training.flush()  # save the newest weights the worker has sent
        try:
            written = session.save(path)
        except Exception as exc:  # noqa: BLE001
            report_exception(self.errors, "Could not save the checkpoint", exc)
            return None
        self.recent_menu.add(written)
        self.state.say(f"Saved {written}", 5000)
        self.state.model_saved.emit(written)
        return written

    def confirm_discard(self, question: str) -> bool:
        """Ask Save / Discard / Cancel when the open model has unsaved training."""
        if self.session is None or not self.session.dirty:
            return True
        answer = dialogs.ask_save_changes(self._dialog_parent, question)
        if answer == dialogs.CANCEL:
            return False
        if answer == dialogs.SAVE:
            return self.save_checkpoint() is not None
        return True
