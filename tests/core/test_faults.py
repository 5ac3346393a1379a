"""Faults: a process killed mid-save, signals during training, a full disk, a bad --out.

Each case checks what a user finds afterwards: the previous checkpoint (or the new one)
loads, the exit code and the one line say what happened and what was saved, and no
temporary file is left behind after the next save.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from latentlab import atomic
from latentlab.cli import main
from latentlab.errors import CheckpointError, OutputError
from latentlab.models import create_model, make_config
from latentlab.models.base import LatentModel
from latentlab.models.checkpoint import (
    check_save_destination,
    is_checkpoint,
    load_checkpoint,
    read_checkpoint_meta,
    recover_interrupted_save,
    save_checkpoint,
)

ROOT = Path(__file__).resolve().parents[2]
DATASET = {"name": "tiny", "class_names": ["a", "b"], "image_shape": [1, 8, 8]}
TRAIN = ["train", "--dataset", "digits", "--hidden", "32", "--no-judge", "--device", "cpu"]


def tiny(seed: int = 0) -> LatentModel:
    torch.manual_seed(seed)
    return create_model(make_config("vae", hidden=16, image_shape=[1, 8, 8], num_classes=2))


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path).model.state_dict()


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def hidden_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def child_env(tmp_path: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen",
            "LATENTLAB_HOME": str(tmp_path / "data")}


# ------------------------------------------------------------ killed mid-save
def test_a_save_killed_between_its_two_renames_is_recovered_and_the_leftover_removed_by_the_next_save(tmp_path):
    """The real thing: a process saving over a checkpoint folder gets SIGKILL at the
    second rename (new folder into place), as `strace -e inject=rename:signal=KILL:when=2`
    does to `latentlab train`."""
    path = tmp_path / "k"
    save_checkpoint(path, tiny(0), dataset=DATASET, metrics={"v": 1})
    script = textwrap.dedent(f"""
        import os, signal, torch
        from latentlab.models import create_model, make_config
        from latentlab.models.checkpoint import save_checkpoint
        real, calls = os.rename, []
        def rename(src, dst):
            calls.append(1)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(src, dst)
        os.rename = rename
        torch.manual_seed(1)
        model = create_model(make_config("vae", hidden=16, image_shape=[1, 8, 8], num_classes=2))
        save_checkpoint({str(path)!r}, model, dataset={DATASET!r}, metrics={{"v": 2}},
                        optimizers=model.configure_optimizers(1e-3))
    """)
    proc = subprocess.run([sys.executable, "-c", script], env=child_env(tmp_path), capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    assert not path.exists()
    assert [n.split("-")[0] for n in hidden_names(tmp_path)] == [".k.old", ".k.tmp"]

    # `info` and the loader put the checkpoint back by themselves: the new one was complete.
    assert read_checkpoint_meta(path)["metrics"] == {"v": 2}
    assert same_weights(weights(path), tiny(1).state_dict())
    assert load_checkpoint(path, load_optimizer_state=True).optimizer_state is not None
    assert [n.split("-")[0] for n in hidden_names(tmp_path)] == [".k.old"]  # the previous one, kept for now

    save_checkpoint(path, tiny(2), dataset=DATASET, metrics={"v": 3})
    assert hidden_names(tmp_path) == []  # the next save removed it
    assert load_checkpoint(path).metrics == {"v": 3}


def test_an_incomplete_new_folder_is_passed_over_for_the_previous_checkpoint(tmp_path):
    pid = dead_pid()
    previous = tmp_path / f".k.old-{pid}-0badc0de"
    save_checkpoint(previous, tiny(0), dataset=DATASET, metrics={"v": 1})
    partial = tmp_path / f".k.tmp-{pid}-0badf00d"
    partial.mkdir()
    (partial / "metrics.json").write_text("{}")
    (partial / "model.safetensors").write_bytes((previous / "model.safetensors").read_bytes()[:1000])  # cut off

    path = tmp_path / "k"
    assert recover_interrupted_save(path) == previous
    assert load_checkpoint(path).metrics == {"v": 1}
    save_checkpoint(path, tiny(1), dataset=DATASET)
    assert hidden_names(tmp_path) == []


def test_a_save_still_running_in_another_process_is_left_alone(tmp_path):
    path = tmp_path / "k"
    save_checkpoint(path, tiny(0), dataset=DATASET)
    theirs = tmp_path / f".k.old-{os.getppid()}-12345678"  # a live process's save, between its renames
    shutil.copytree(path, theirs)
    stale = tmp_path / f".k.tmp-{dead_pid()}-87654321"
    shutil.copytree(path, stale)
    legacy = tmp_path / ".k.old-abcdef12"  # an older latentlab did not tag its names
    shutil.copytree(path, legacy)
    save_checkpoint(path, tiny(1), dataset=DATASET)
    assert hidden_names(tmp_path) == [theirs.name]

    shutil.rmtree(path)
    assert recover_interrupted_save(path) is None  # not ours to take
    with pytest.raises(CheckpointError, match=theirs.name):
        load_checkpoint(path)


def test_single_file_saves_remove_leftovers_too(tmp_path):
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, tiny(0), dataset=DATASET)
    (tmp_path / f".m.safetensors.tmp-{dead_pid()}-00000001").write_bytes(b"half a file")
    save_checkpoint(path, tiny(1), dataset=DATASET)
    assert hidden_names(tmp_path) == [] and is_checkpoint(path)


# ----------------------------------------------------------------- disk full
class _FullDisk:
    """Files opened by latentlab.atomic accept ``room`` bytes, then fail with ENOSPC."""

    def __init__(self, room: int) -> None:
        self.room = room

    def open(self, file, mode="r", *args, **kwargs):
        f = open(file, mode, *args, **kwargs)
        room, real_write = [self.room], f.write

        def write(data):
            n = len(data.encode() if isinstance(data, str) else data)
            if n > room[0]:
                real_write(data[: room[0]])
                f.flush()
                raise OSError(errno.ENOSPC, "No space left on device")
            room[0] -= n
            return real_write(data)

        f.write = write
        return f


@pytest.fixture
def full_disk(monkeypatch):
    def fill(room: int = 100) -> None:
        monkeypatch.setattr(atomic, "open", _FullDisk(room).open, raising=False)
    return fill


@pytest.fixture(scope="module")
def small_vae(tmp_path_factory):
    from latentlab.data import load_dataset

    dataset = load_dataset("mnist-5k")
    torch.manual_seed(0)
    model = create_model(make_config("vae", hidden=16, image_shape=list(dataset.image_shape),
                                     num_classes=dataset.num_classes))
    return save_checkpoint(tmp_path_factory.mktemp("vae") / "vae", model, dataset=dataset.info())


@pytest.mark.parametrize("command", ["encode", "sample", "interpolate"])
def test_a_full_disk_leaves_no_truncated_output_and_the_old_file_intact(command, small_vae, tmp_path, full_disk,
                                                                        capsys):
    out = tmp_path / ("z.csv" if command == "encode" else "picture.png")
    out.write_bytes(b"the previous version")
    argv = {"encode": ["encode", small_vae, "--out", out],
            "sample": ["sample", small_vae, "--n", "16", "--out", out],
            "interpolate": ["interpolate", small_vae, "--from", "3", "--to", "5", "--out", out]}[command]
    full_disk(100)
    assert main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "No space left on device" in err and "free some disk space" in err, err
    assert out.read_bytes() == b"the previous version"
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_the_exports_write_through_one_atomic_path(tmp_path, full_disk):
    import numpy as np

    from latentlab.latent.export import save_latents_csv, save_strip_gif, save_strip_png
    from latentlab.latent.images import save_png

    frames = torch.rand(4, 1, 8, 8)
    writers = {
        "z.csv": lambda p: save_latents_csv(p, np.zeros((5, 2)), [0, 1, 0, 1, 0], ["a", "b"]),
        "s.png": lambda p: save_strip_png(frames, p),
        "s.gif": lambda p: save_strip_gif(frames, p),
        "g.png": lambda p: save_png(np.zeros((8, 8, 1), np.uint8), p),
    }
    for name, write in writers.items():  # they work ...
        assert write(tmp_path / "ok" / name).stat().st_size > 0
    full_disk(10)
    for name, write in writers.items():  # ... and a full disk is one OutputError, with nothing left
        with pytest.raises(OutputError, match="No space left"):
            write(tmp_path / "full" / name)
    assert list((tmp_path / "full").iterdir()) == []


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str):
    path.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True).returncode == 0
    if not mounted:
        pytest.skip("mounting a small tmpfs needs root; the ENOSPC tests above cover this without one")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_a_really_full_tmpfs(small_vae, tmp_path, capsys):
    """The same on a real 64 KB filesystem: a CSV of 5,000 latents and a bigger checkpoint
    do not fit; nothing half-written stays, and a checkpoint already there survives."""
    with small_tmpfs(tmp_path / "disk", "64k") as disk:
        assert main(["encode", str(small_vae), "--split", "all", "--out", str(disk / "z.csv")]) == 2
        assert "No space left on device" in capsys.readouterr().err
        assert list(disk.iterdir()) == []
        small = create_model(make_config("ae", hidden=8, latent_dim=2, image_shape=[1, 4, 4]))
        save_checkpoint(disk / "ckpt", small, dataset=DATASET, metrics={"v": 1})
        torch.manual_seed(1)
        big = create_model(make_config("vae", hidden=64, image_shape=[1, 8, 8], num_classes=2))
        with pytest.raises(CheckpointError, match="No space left"):
            save_checkpoint(disk / "ckpt", big, dataset=DATASET, optimizers=big.configure_optimizers(1e-3))
        assert sorted(p.name for p in disk.iterdir()) == ["ckpt"]
        assert load_checkpoint(disk / "ckpt").metrics == {"v": 1}


# ------------------------------------------------------------- train --out
def _no_training(monkeypatch):
    from latentlab.training.trainer import Trainer

    def fit(self):
        raise AssertionError("training started although --out cannot be saved")

    monkeypatch.setattr(Trainer, "fit", fit)


@pytest.mark.parametrize("case", ["a file", "a foreign folder", "/dev/null", "a file as parent", "a pickle name"])
def test_a_bad_out_is_refused_before_training(case, tmp_path, monkeypatch, capsys):
    _no_training(monkeypatch)
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "thesis.tex").write_text("precious")
    out = {"a file": tmp_path / "notes.txt", "a foreign folder": tmp_path / "folder", "/dev/null": Path("/dev/null"),
           "a file as parent": tmp_path / "notes.txt" / "run", "a pickle name": tmp_path / "model.pt"}[case]
    assert main([*TRAIN, "--epochs", "1", "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("latentlab: error:") and str(out) in err, err
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / "folder" / "thesis.tex").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_a_read_only_folder_is_refused_before_training(tmp_path, monkeypatch, capsys):
    _no_training(monkeypatch)
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert main([*TRAIN, "--epochs", "1", "--quiet", "--out", str(folder / "run")]) == 2
        assert "not writable" in capsys.readouterr().err
    finally:
        folder.chmod(0o755)


def test_too_little_free_space_is_refused_before_training(tmp_path):
    with pytest.raises(CheckpointError, match="MB free"):
        check_save_destination(tmp_path / "run", needed_bytes=2**62)


def test_a_save_that_fails_after_training_goes_to_the_data_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LATENTLAB_HOME", str(tmp_path / "data"))
    from latentlab.training.trainer import Trainer

    real_save = Trainer.save
    out = tmp_path / "run"

    def save(self, path):
        if Path(path) == out:  # the disk filled up during the hour of training
            raise CheckpointError(f"could not save checkpoint {path}: No space left on device")
        return real_save(self, path)

    monkeypatch.setattr(Trainer, "save", save)
    assert main([*TRAIN, "--epochs", "1", "--quiet", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    rescued = [p for p in (tmp_path / "data" / "rescued").iterdir()]
    assert len(rescued) == 1 and rescued[0].name.startswith("run-") and str(rescued[0]) in err
    assert "No space left" in err and len(load_checkpoint(rescued[0]).history) == 1


# ------------------------------------------------------------------ signals
def _signal_at_step(monkeypatch, signum: int, at: int = 3, times: int = 1, mid_step: bool = False) -> None:
    """Send ``signum`` to this process during the ``at``-th optimiser step (inside it, between
    the backward pass and the update, when ``mid_step``), as a terminal or a scheduler would."""
    real_step = torch.optim.Adam.step
    count = [0]

    def step(self, *args, **kwargs):
        count[0] += 1
        if count[0] == at:
            for _ in range(times if not mid_step else 1):
                os.kill(os.getpid(), signum)
        return real_step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", step)


@pytest.mark.parametrize("name", ["SIGINT", "SIGHUP"])  # SIGTERM: to a real process below
def test_a_stop_signal_finishes_the_step_saves_and_says_what_was_saved(name, tmp_path, monkeypatch, capsys):
    signum = getattr(signal, name)
    _signal_at_step(monkeypatch, signum, at=15, mid_step=True)
    out = tmp_path / "run"
    assert main([*TRAIN, "--epochs", "50", "--out", str(out)]) == 128 + signum
    err = capsys.readouterr().err
    assert f"stopped by {name} in epoch 2 after step 4 of 11" in err and str(out) in err, err

    ckpt = load_checkpoint(out, load_optimizer_state=True)
    assert ckpt.training["status"] == "stopped" and ckpt.training["epochs_trained"] == pytest.approx(1 + 4 / 11, 1e-3)
    assert [r["epoch"] for r in ckpt.history] == [1, 2] and ckpt.history[-1]["epoch_fraction"] == pytest.approx(4 / 11, 1e-3)
    # The weights are those after whole steps: Adam counted every one of the 15, none half-done.
    steps = {int(s["step"]) for s in ckpt.optimizer_state[0]["state"].values()}
    assert steps == {15}
    assert main(["info", str(out)]) == 0
    assert "1.36 of 50 (stopped early)" in capsys.readouterr().out


def test_a_second_signal_quits_without_saving(tmp_path, monkeypatch, capsys):
    _signal_at_step(monkeypatch, signal.SIGINT, at=3, times=2)
    out = tmp_path / "run"
    assert main([*TRAIN, "--epochs", "50", "--out", str(out)]) == 130
    err = capsys.readouterr().err.strip().splitlines()
    assert "quit without saving" in err[-1]
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_sigterm_to_a_real_training_process(tmp_path):
    """A cluster's time limit: SIGTERM to the `latentlab train` process during training."""
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "latentlab", *TRAIN, "--epochs", "1000", "--out", str(out)],
                            stderr=subprocess.PIPE, text=True, env=child_env(tmp_path))
    lines = []
    for line in proc.stderr:  # not a terminal: one line per epoch
        lines.append(line)
        if "epoch 1/1000" in line:
            proc.send_signal(signal.SIGTERM)
            break
    lines += proc.stderr.readlines()
    assert proc.wait(timeout=120) == 143, "".join(lines)
    assert any("stopped by SIGTERM" in line and str(out) in line for line in lines), "".join(lines)
    meta = read_checkpoint_meta(out)
    assert meta["training"]["status"] == "stopped" and meta["training"]["epochs_trained"] >= 1


def test_autosave_to_out_while_training(tmp_path, monkeypatch, capsys):
    """--autosave 1ep: the checkpoint at --out follows the epochs while training runs."""
    seen = []
    from latentlab.training.trainer import Trainer

    real_save = Trainer.save

    def save(self, path):
        written = real_save(self, path)
        seen.append(read_checkpoint_meta(written)["training"])
        return written

    monkeypatch.setattr(Trainer, "save", save)
    out = tmp_path / "run"
    assert main([*TRAIN, "--epochs", "3", "--quiet", "--autosave", "1ep", "--out", str(out)]) == 0
    assert [(t["status"], t["epochs_trained"]) for t in seen] == [("running", 1), ("running", 2), ("running", 3),
                                                                  ("finished", 3)]
    assert hidden_names(tmp_path) == []


@pytest.mark.parametrize("text, expected", [("10", (600.0, None)), ("2.5min", (150.0, None)), ("3ep", (None, 3)),
                                            ("1epoch", (None, 1)), ("off", (None, None)), ("0", (None, None))])
def test_autosave_intervals(text, expected):
    from latentlab.cli.train import autosave_spec

    assert autosave_spec(text) == expected


def test_a_bad_autosave_interval_is_a_usage_error(capsys):
    assert main([*TRAIN, "--autosave", "often"]) == 2
    err = capsys.readouterr().err
    assert "not an autosave interval" in err and len(err.strip().splitlines()) == 1


# -------------------------------------------------------------- what info says
def test_info_after_nan_in_the_first_epoch_reports_what_was_trained(tmp_path, monkeypatch, capsys):
    def nan_step(self, x, y, optimizers, step):
        return {"loss": torch.tensor(float("nan"))}

    monkeypatch.setattr(LatentModel, "train_step", nan_step)
    out = tmp_path / "run"
    assert main([*TRAIN, "--epochs", "3", "--quiet", "--out", str(out)]) == 1
    assert "non-finite" in capsys.readouterr().err
    assert main(["info", str(out)]) == 0
    assert "epochs       0 of 3 (training failed" in capsys.readouterr().out
    assert main(["info", str(out), "--json"]) == 0
    training = json.loads(capsys.readouterr().out)["training"]
    assert training["status"] == "failed" and training["epochs_trained"] == 0
