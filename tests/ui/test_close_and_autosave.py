"""Closing the window during training without waiting for the trainer, autosave, SIGTERM,
and files the window writes when the disk is full."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import threading

import pytest
import torch
from PySide6.QtCore import QSettings

from latentlab import atomic
from latentlab.errors import OutputError
from latentlab.models.checkpoint import load_checkpoint
from latentlab.training.trainer import TrainSettings


@pytest.fixture(autouse=True)
def data_folder(tmp_path, monkeypatch):
    """Autosaves and rescued files go to a private data folder, not the user's."""
    folder = tmp_path / "data"
    monkeypatch.setenv("LATENTLAB_HOME", str(folder))
    return folder


@pytest.fixture
def quitting_window(qtbot, tmp_path):
    """A window as `latentlab` opens it: closing it ends the process, so it waits for no thread.
    Afterwards the test waits for them (the process does not end here)."""
    from latentlab.ui.map.explorer import ExplorerOptions
    from latentlab.ui.main.main_window import MainWindow, WindowOptions

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    options = WindowOptions(explorer=ExplorerOptions(territory_stages=(8,), territory_stages_training=(6,)),
                            exit_without_waiting=True)
    window = MainWindow(settings=settings, options=options)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.shutdown()  # what the process exit would have ended: wait for it here


def fine_tune_settings() -> TrainSettings:
    return TrainSettings(epochs=200, report_every_steps=2, device="cpu")


def own_copy(checkpoints, tmp_path, name="vae"):
    path = tmp_path / "mine"
    shutil.copytree(checkpoints[name], path)
    return path


def test_closing_does_not_wait_for_a_trainer_stuck_before_its_first_step(qtbot, quitting_window, checkpoints,
                                                                         tmp_path, dialog_log, monkeypatch):
    """The trainer builds Adam, which imports torch._dynamo: seconds on a busy machine, and
    an import cannot be interrupted. Closing hides the window and returns at once."""
    from latentlab.app import training_job as workers

    window = quitting_window
    stuck, entered = threading.Event(), threading.Event()

    class StuckTrainer(workers.Trainer):
        def __init__(self, *args, **kwargs):
            entered.set()
            stuck.wait(30)  # as an import that takes its time
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(workers, "Trainer", StuckTrainer)
    path = own_copy(checkpoints, tmp_path)
    before = (path / "model.safetensors").read_bytes()
    assert window.open_checkpoint(path)
    window.beta_panel.slider.setValue(window.beta_panel.slider.value() + 1)
    assert window.training.fine_tune_at(window.beta_panel.beta())
    run = window.run
    qtbot.waitUntil(entered.is_set, timeout=10_000)
    dialog_log.answer = "save"
    try:
        assert window.close()
        assert not window.isVisible()
        assert run.running and not stuck.is_set()  # it returned while the trainer was still stuck
        assert "Training is running" in dialog_log.questions[0]
        # No new weights had reached the window: there was nothing to save over the file.
        assert (path / "model.safetensors").read_bytes() == before
    finally:
        stuck.set()


def test_save_on_close_during_training_writes_the_newest_weights(qtbot, quitting_window, checkpoints, tmp_path,
                                                                 dialog_log):
    window = quitting_window
    path = own_copy(checkpoints, tmp_path)
    assert window.open_checkpoint(path)
    assert window.training.fine_tune_at(window.beta_panel.beta())
    qtbot.waitUntil(lambda: window.session.dirty, timeout=20_000)  # new weights have reached the window
    dialog_log.answer = "save"
    assert window.close()
    assert not window.isVisible()
    saved = load_checkpoint(path).model.state_dict()
    shown = window.session.display.state_dict()
    assert all(torch.equal(saved[k], shown[k]) for k in shown)
    original = load_checkpoint(checkpoints["vae"]).model.state_dict()
    assert not all(torch.equal(saved[k], original[k]) for k in original)


def test_autosave_keeps_a_copy_and_leaves_the_users_file_and_state_alone(qtbot, window, checkpoints, tmp_path,
                                                                         data_folder):
    path = own_copy(checkpoints, tmp_path)
    before = (path / "model.safetensors").read_bytes()
    assert window.open_checkpoint(path)
    assert window.autosave.save_now() is None  # nothing unsaved: nothing written
    assert window.training.fine_tune_at(window.beta_panel.beta())
    qtbot.waitUntil(lambda: window.session.dirty, timeout=20_000)
    window.autosave._on_timer()  # what the timer does every few minutes
    copy = window.autosave.last_path
    assert copy is not None and copy.parent == data_folder / "autosave" and copy.name.startswith("vae-mnist-5k-")
    assert window.session.path == path and window.session.dirty  # still unsaved, still the user's file
    assert (path / "model.safetensors").read_bytes() == before
    assert load_checkpoint(copy).dataset["name"] == "mnist-5k"
    assert "Autosaved" in window.statusBar().currentMessage()
    window.stop_training()
    qtbot.waitUntil(lambda: not window.is_training, timeout=10_000)
    window.autosave.save_now()
    assert sorted(p.name for p in copy.parent.iterdir()) == [copy.name]  # one folder per session, replaced
    window.session.dirty = False  # the test's fixture closes it without a question


def test_the_autosave_switch_is_in_the_training_menu_and_remembered(window):
    action = window.autosave.action
    assert action in window.train_menu.actions() and action.toolTip()
    assert action.isChecked() and window.autosave.timer.isActive()
    action.trigger()
    assert not window.autosave.timer.isActive()
    assert window.settings.value("autosave/enabled") in (False, "false")


def test_sigterm_closes_without_a_question_and_keeps_a_copy(qtbot, window, checkpoints, tmp_path, dialog_log,
                                                            data_folder, capsys):
    path = own_copy(checkpoints, tmp_path)
    assert window.open_checkpoint(path)
    assert window.training.fine_tune_at(window.beta_panel.beta())
    qtbot.waitUntil(lambda: window.session.dirty, timeout=20_000)
    window.close_unattended("SIGTERM")
    assert not window.isVisible() and not window.is_training
    assert dialog_log.questions == []
    copies = list((data_folder / "autosave").iterdir())
    assert len(copies) == 1 and str(copies[0]) in capsys.readouterr().err
    assert load_checkpoint(copies[0]).model.latent_dim == 2


def test_stale_capture_folders_are_removed_and_live_ones_kept(tmp_path):
    from latentlab.ui.main.app import CAPTURE_PREFIX, remove_stale_capture_folders

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = tmp_path / f"{CAPTURE_PREFIX}{proc.pid}-abc123_x"
    live = tmp_path / f"{CAPTURE_PREFIX}{os.getppid()}-def456yz"
    ours = tmp_path / f"{CAPTURE_PREFIX}{os.getpid()}-ghi789ab"
    old_style = tmp_path / f"{CAPTURE_PREFIX}k2j4h5g6"
    recent_old_style = tmp_path / f"{CAPTURE_PREFIX}zz9y8x7w"
    unrelated = tmp_path / "latentlab-capture-notes.txt"
    for folder in (dead, live, ours, old_style, recent_old_style):
        folder.mkdir()
        (folder / "settings.ini").write_text("[x]")
    unrelated.write_text("a file, not ours")
    os.utime(old_style, (0, 0))
    assert sorted(remove_stale_capture_folders(tmp_path)) == sorted([dead, old_style])
    assert live.exists() and ours.exists() and recent_old_style.exists() and unrelated.exists()


def test_a_map_export_on_a_full_disk_leaves_no_empty_file(window, checkpoints, tmp_path, monkeypatch):
    assert window.open_checkpoint(checkpoints["vae"])
    real_open = open

    def full(file, mode="r", *args, **kwargs):
        f = real_open(file, mode, *args, **kwargs)

        def write(data):
            raise OSError(errno.ENOSPC, "No space left on device")

        f.write = write
        return f

    monkeypatch.setattr(atomic, "open", full, raising=False)
    for export, name in ((window.analysis.export_map_png, "map.png"), (window.analysis.export_map_svg, "map.svg"),
                         (window.analysis.export_latents_csv, "z.csv")):
        with pytest.raises(OutputError, match="No space left"):
            export(tmp_path / "out" / name)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_beta_change_just_before_closing_starts_no_training(qtbot, quitting_window, checkpoints, tmp_path):
    """The β slider applies its value a moment after the last move: a move just before the
    window closes must not start a fine-tuning run in a window that is going away."""
    from latentlab.ui.main.beta_steering import APPLY_EVERY_MS

    window = quitting_window
    assert window.open_checkpoint(own_copy(checkpoints, tmp_path))
    window.beta_panel.slider.setValue(window.beta_panel.slider.value() + 1)
    assert window.close()
    qtbot.wait(3 * APPLY_EVERY_MS)
    assert window.training.run is None and not window.is_training
