"""Saving never writes inside the package: a shipped model is a template, so every save
path of the window proposes a folder in the user's data directory instead; and a
fine-tuned shipped model can be reverted to what ships."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from latentlab.errors import ConfigError
from latentlab.locations import models_dir
from latentlab.models.checkpoint import load_checkpoint
from latentlab.ui.base import dialogs

from pretrained_helpers import pretrained  # noqa: F401 - a fixture

LIVE_TIMEOUT_MS = 30_000


def running(thread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # deleted after it finished
        return False


def tree_digest(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root`` (links followed), by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def data_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("LATENTLAB_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data" / "latentlab" / "models"


@pytest.fixture
def save_dialog(monkeypatch) -> list[str]:
    """The save dialog accepts its suggestion; the suggestions are recorded."""
    suggested: list[str] = []

    def accept_default(parent, suggestion):
        suggested.append(suggestion)
        return suggestion

    monkeypatch.setattr(dialogs, "choose_save_path", accept_default)
    return suggested


def fine_tune_shipped(qtbot, window, key: str = "vae", *, keep_running: bool = False) -> None:
    """Open the shipped ``key`` and move the β slider, as a user does; stop once it changed."""
    assert window.model_menu.open_key(key)
    slider = window.beta_panel.slider
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.is_training and window.session.dirty, timeout=LIVE_TIMEOUT_MS)
    if not keep_running:
        qtbot.mouseClick(window.training_panel.stop_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not window.is_training, timeout=LIVE_TIMEOUT_MS)
        assert window.session.dirty


def ctrl_s(qtbot, window) -> None:
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)


def save_as_default(qtbot, window) -> None:
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)


def train_new_prompt(qtbot, window) -> None:
    panel = window.training_panel
    panel.hidden.setValue(32)
    panel.epochs.setValue(1)
    with qtbot.waitSignal(window.trainingEnded, timeout=LIVE_TIMEOUT_MS):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)


def open_another_prompt(qtbot, window) -> None:
    window.model_menu.aboutToShow.emit()
    next(a for a in window.model_menu.model_actions() if a.data() == "ae").trigger()


def page_down_prompt(qtbot, window) -> None:
    qtbot.keyClick(window, Qt.Key.Key_PageDown)


def close_prompt(qtbot, window) -> None:
    assert window.close()


SAVE_PATHS = {
    "ctrl+s": (ctrl_s, False),
    "save as, default": (save_as_default, False),
    "train-new prompt": (train_new_prompt, True),
    "open-another prompt": (open_another_prompt, True),
    "page-down prompt": (page_down_prompt, True),
    "close prompt, training running": (close_prompt, True),
}


@pytest.mark.parametrize("name", list(SAVE_PATHS))
def test_no_save_path_writes_inside_the_package(
    qtbot, window, pretrained, data_home, save_dialog, dialog_log, name  # noqa: F811
):
    act, prompts = SAVE_PATHS[name]
    resources = pretrained.parent
    before = tree_digest(resources)
    fine_tune_shipped(qtbot, window, keep_running=name.endswith("training running"))
    shipped = window.session.path
    dialog_log.answer = "save"
    act(qtbot, window)
    assert bool(dialog_log.questions) == prompts
    assert tree_digest(resources) == before  # the package's resources are unchanged
    assert save_dialog == [str(data_home / "vae-fine-tuned")]  # Save behaved as Save As
    saved = load_checkpoint(data_home / "vae-fine-tuned")
    assert saved.model.config.beta == 1.19 and len(saved.history) > len(load_checkpoint(shipped).history)
    assert not window.is_training


def test_a_second_copy_gets_a_free_name_and_later_saves_go_to_it(
    qtbot, window, pretrained, data_home, save_dialog  # noqa: F811
):
    fine_tune_shipped(qtbot, window)
    ctrl_s(qtbot, window)
    assert window.session.path == data_home / "vae-fine-tuned" and not window.session.dirty
    assert not window.revert_action.isEnabled()  # the open model is the user's copy now
    fine_tune_shipped(qtbot, window)
    ctrl_s(qtbot, window)
    assert window.session.path == data_home / "vae-fine-tuned-2"
    window.session.dirty = True
    ctrl_s(qtbot, window)  # the user's own file: saved in place, no dialog
    assert len(save_dialog) == 2 and window.session.path == data_home / "vae-fine-tuned-2"


def test_choosing_a_folder_inside_the_package_is_refused(
    qtbot, window, pretrained, data_home, dialog_log, monkeypatch  # noqa: F811
):
    dialog_log.expect_errors = True
    before = tree_digest(pretrained.parent)
    fine_tune_shipped(qtbot, window)
    monkeypatch.setattr(dialogs, "choose_save_path", lambda parent, suggestion: str(pretrained / "vae.safetensors"))
    save_as_default(qtbot, window)
    assert dialog_log.errors and "inside the installed latentlab" in dialog_log.errors[0][1]
    assert tree_digest(pretrained.parent) == before and window.session.dirty
    with pytest.raises(ConfigError, match="never overwritten"):
        window.session.save(Path(__file__).resolve().parents[2] / "latentlab" / "model.safetensors")


def test_revert_to_shipped_after_fine_tuning(qtbot, window, pretrained, dialog_log):  # noqa: F811
    fine_tune_shipped(qtbot, window)
    assert window.revert_action.isEnabled()
    window.revert_action.trigger()
    assert window.session.path == pretrained / "vae.safetensors" and not window.session.dirty
    assert window.session.model.config.beta == 1.0 and window.beta_panel.beta() == 1.0
    shipped = load_checkpoint(pretrained / "vae.safetensors").model
    for key, value in shipped.state_dict().items():
        np.testing.assert_array_equal(window.session.display.state_dict()[key].numpy(), value.numpy())
    assert not window.revert_action.isEnabled() and not dialog_log.questions


def test_revert_to_shipped_while_training_stops_it_first(
    qtbot, window, pretrained, no_dangling_qthreads  # noqa: F811
):
    fine_tune_shipped(qtbot, window, keep_running=True)
    assert window.revert_action.isEnabled()
    window.revert_action.trigger()
    assert not window.is_training and not window.session.dirty
    assert window.session.path == pretrained / "vae.safetensors"
    assert not any(running(t) for t in no_dangling_qthreads if t.objectName() == "latentlab-training")
    assert "Reverted" in window.statusBar().currentMessage()


def test_the_default_folder_follows_xdg_data_home(data_home):
    assert models_dir() == data_home
