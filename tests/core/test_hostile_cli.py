"""The `latentlab` command against hostile files and bad command lines (issue #7): one
error line and exit 2, nothing written, nothing read that the user did not name, and what
a file says reaches the terminal escaped. Most cases run in-process (``main(argv)``); a
few run the real command to see what a terminal sees."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest

from latentlab.cli import main
from latentlab.cli.commands import EXIT_BROKEN_PIPE
from tests.hostile.make_cases import REFUSED, make_cases, read_single, write_single
from tests.hostile.watch import watch

CONTROL = {chr(c) for c in range(32) if chr(c) != "\n"} | {"\x7f", "\u202e"}


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return {c.name: c for c in make_cases(tmp_path_factory.mktemp("hostile-cli"))}


@pytest.fixture(scope="module")
def base(cases):
    return str(cases["base"].path)


def one_line_error(capsys, argv, *words) -> str:
    code = main(argv)
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == 2, (code, captured.err)
    assert len(lines) == 1 and lines[0].startswith("latentlab: error: "), captured.err
    assert "Traceback" not in captured.err
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------- info
def test_info_refuses_every_malformed_checkpoint_in_one_line(cases, capsys):
    for case in cases.values():
        if case.expect == REFUSED:
            for argv in (["info", str(case.path)], ["info", str(case.path), "--json"]):
                one_line_error(capsys, argv, *case.words)


def test_info_escapes_what_a_file_says(cases, capsys):
    for name in ("escape-created", "escape-version", "escape-metric-name"):
        assert main(["info", str(cases[name].path)]) == 0
        out = capsys.readouterr().out
        assert not CONTROL & set(out), (name, out)
    assert main(["info", str(cases["escape-created"].path)]) == 0
    assert "saved        \\x1b[2J\\x1b]0;PWNED\\x07 by" in capsys.readouterr().out


def test_info_json_is_strict_json(cases, capsys):
    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    for name in ("nan-metrics", "nan-history", "null-metric", "escape-created"):
        assert main(["info", str(cases[name].path), "--json"]) == 0
        meta = json.loads(capsys.readouterr().out, parse_constant=refuse)
    assert meta["created"] == "\x1b[2J\x1b]0;PWNED\x07"  # escaped in the JSON text, exact in the value
    assert main(["info", str(cases["nan-metrics"].path), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    assert metrics == {"test_neg_elbo": None, "judge_fid": None, "kl_per_dim": [None, 1.0]}


def test_info_shows_missing_and_non_finite_metrics(cases, capsys):
    assert main(["info", str(cases["null-metric"].path)]) == 0
    assert "test reconstruction                  n/a" in capsys.readouterr().out
    assert main(["info", str(cases["nan-metrics"].path)]) == 0
    out = capsys.readouterr().out
    assert "test -ELBO                           nan" in out and "[nan, 1]" in out


# ------------------------------------------------------------------ sample
@pytest.mark.parametrize("out, words", [
    ("grid", ["has no extension", ".png"]),
    ("grid.xyz", ["ends in .xyz", ".png"]),
    (".", ["is a folder", "grid.png"]),
    ("file.txt/grid.png", ["is a file, not a folder"]),
])
def test_sample_checks_its_destination_first(base, tmp_path, capsys, out, words):
    (tmp_path / "file.txt").write_text("x")
    before = sorted(p.name for p in tmp_path.iterdir())
    one_line_error(capsys, ["sample", base, "--out", str(tmp_path / out)], *words)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_sample_into_a_read_only_folder(base, tmp_path, capsys, monkeypatch):
    # root may write anywhere, so the folder's permission is simulated where that is us
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(locked) else real_access(p, mode))
    one_line_error(capsys, ["sample", base, "--out", str(locked / "grid.png")], "not writable")
    assert not list(locked.iterdir())


def test_sample_caps_the_scale(base, tmp_path, capsys):
    one_line_error(capsys, ["sample", base, "--out", str(tmp_path / "g.png"), "--scale", "1000"], "--scale", "32")
    assert main(["sample", base, "--out", str(tmp_path / "g.png"), "--n", "4", "--scale", "2"]) == 0


# ------------------------------------------------------------------- train
def test_train_refuses_an_overflowing_seed_before_loading_anything(capsys):
    one_line_error(capsys, ["train", "--seed", "1180591620717411303424"], "--seed", "4294967295")
    one_line_error(capsys, ["train", "--seed", "-1"], "--seed")


def test_resume_on_another_image_size_is_one_line(base, tmp_path, capsys):
    out = tmp_path / "resumed"
    one_line_error(capsys, ["train", "--resume", base, "--dataset", "digits", "--epochs", "1", "--no-judge",
                            "--quiet", "--out", str(out)], "--resume", "1x28x28", "--image-size 28")
    assert not out.exists()


def test_argparse_errors_are_one_line(capsys):
    one_line_error(capsys, ["train", "--epochs", "many"], "invalid int value", "latentlab train --help")
    one_line_error(capsys, ["sample"], "required")


# -------------------------------------------------------- unknown commands
def test_a_word_that_is_no_command_and_no_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = one_line_error(capsys, ["trian"], "unknown command or file 'trian'", "did you mean 'train'")
    assert "info" in line and "interpolate" in line
    one_line_error(capsys, ["nothing-like-it"], "unknown command or file")


# ------------------------------------------------- data named by a checkpoint
def test_encode_reads_a_recorded_folder_only_when_told(cases, tmp_path, capsys):
    folder_case = str(cases["dataset-folder"].path)
    private = cases["dataset-folder"].path.parent / "private"  # what the checkpoint names
    csv_out = tmp_path / "latents.csv"
    with watch(private) as seen:
        one_line_error(capsys, ["encode", folder_case, "--out", str(csv_out)],
                       "folder:", "--data-from-checkpoint", "--dataset")
        one_line_error(capsys, ["interpolate", folder_case, "--from", "cat", "--to", "dog"], "--data-from-checkpoint")
    assert not seen.reads and not csv_out.exists()
    with watch(private) as seen:
        assert main(["encode", folder_case, "--out", str(csv_out), "--data-from-checkpoint"]) == 0
    assert seen.reads  # the watch does see reads: the silence above is real
    rows = list(csv.reader(open(csv_out)))
    assert {r[3] for r in rows[1:]} == {"cat", "dog"}


def test_encode_does_not_download_what_a_checkpoint_names(cases, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))
    with watch(tmp_path) as seen:
        one_line_error(capsys, ["encode", str(cases["dataset-download"].path), "--out", str(tmp_path / "z.csv")],
                       "'mnist'", "downloads it", "--data-from-checkpoint")
    assert not seen.network


def test_encode_with_a_dataset_of_ones_own(cases, tmp_path):
    out = tmp_path / "z.csv"
    assert main(["encode", str(cases["dataset-folder"].path), "--dataset", "mnist-5k", "--out", str(out)]) == 0
    assert len(list(csv.reader(open(out)))) == 1001


# ------------------------------------------------------- real processes
def _run(args, **kwargs):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": os.getcwd()}
    return subprocess.run([sys.executable, "-m", "latentlab", *args], capture_output=True, text=True,
                          env=env, timeout=120, **kwargs)


def test_real_unknown_command_is_not_taken_for_a_window(tmp_path):
    proc = _run(["trian"], cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "did you mean 'train'" in proc.stderr
    assert "display" not in proc.stderr


def test_a_closed_pipe_ends_quietly(cases, tmp_path):
    """`latentlab info X --json | head -2` with more output than a pipe holds: no
    BrokenPipeError, nothing on stderr, the exit status of a process ended by SIGPIPE."""
    tensors, record = read_single(cases["base"].path)
    record["history"] = [{"epoch": i, "train_loss": 1.0} for i in range(1, 3001)]
    long = write_single(tmp_path / "long.safetensors", tensors, json.dumps(record))
    err = tmp_path / "err.txt"
    command = (f"set -o pipefail; '{sys.executable}' -m latentlab info '{long}' --json 2>'{err}' | head -2 >/dev/null")
    proc = subprocess.run(["bash", "-c", command], env={**os.environ, "PYTHONPATH": os.getcwd()}, timeout=120)
    assert proc.returncode == EXIT_BROKEN_PIPE and err.read_text() == ""
