"""The `latentlab` command: a tiny end-to-end run, and one-line errors with non-zero exits."""

import csv
import json
import os
import subprocess
import sys

import pytest
import torch
from PIL import Image

from latentlab.cli import main
from latentlab.models import create_model, make_config
from latentlab.models.checkpoint import save_checkpoint


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "vae"
    code = main(["train", "--model", "vae", "--hidden", "32", "--epochs", "1", "--no-judge", "--quiet",
                 "--device", "cpu", "--out", str(out)])
    assert code == 0
    return out


def test_train_writes_a_checkpoint_with_metrics(trained, capsys):
    assert main(["info", str(trained), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["model"]["family"] == "vae" and meta["dataset"]["name"] == "mnist-5k"
    assert meta["metrics"]["test_neg_elbo"] > 0 and len(meta["history"]) == 1
    assert main(["info", str(trained)]) == 0
    assert "test -ELBO" in capsys.readouterr().out


def test_sample_writes_a_grid(trained, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["sample", str(trained), "--n", "16", "--out", str(out), "--scale", "1"]) == 0
    assert Image.open(out).size == (4 * 30 + 2, 4 * 30 + 2)


def test_encode_writes_latents_and_labels(trained, tmp_path):
    out = tmp_path / "z.csv"
    assert main(["encode", str(trained), "--out", str(out)]) == 0
    rows = list(csv.reader(open(out)))
    assert rows[0] == ["z0", "z1", "label", "class_name"] and len(rows) == 1001
    assert {r[3] for r in rows[1:]} == {str(d) for d in range(10)}


def test_resume_continues_the_history(trained, tmp_path, capsys):
    out = tmp_path / "more"
    assert main(["train", "--resume", str(trained), "--epochs", "1", "--no-judge", "--quiet",
                 "--device", "cpu", "--out", str(out)]) == 0
    capsys.readouterr()
    main(["info", str(out), "--json"])
    assert [h["epoch"] for h in json.loads(capsys.readouterr().out)["history"]] == [1, 2]


def _one_line_error(capsys, argv, *words):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1 and err.startswith("latentlab: error:"), err
    for w in words:
        assert w in err, err


def test_error_unknown_family(capsys):
    _one_line_error(capsys, ["train", "--model", "diffusion", "--quiet"], "diffusion", "vae")


def test_error_bad_setting(capsys):
    _one_line_error(capsys, ["train", "--latent-dim", "0", "--quiet"], "latent_dim")


def test_error_unknown_dataset(capsys):
    _one_line_error(capsys, ["train", "--dataset", "imagenet", "--quiet"], "imagenet", "mnist-5k")


def test_error_missing_checkpoint(capsys, tmp_path):
    _one_line_error(capsys, ["info", str(tmp_path / "nope")], "does not exist")


def test_error_corrupt_checkpoint(capsys, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    _one_line_error(capsys, ["sample", str(bad), "--out", str(tmp_path / "x.png")], "corrupt")


def test_error_sample_from_a_classifier(capsys, tmp_path):
    path = tmp_path / "judge.safetensors"
    save_checkpoint(path, create_model(make_config("judge", hidden=32, image_shape=[1, 8, 8])), dataset={"name": "x"})
    _one_line_error(capsys, ["sample", str(path), "--out", str(tmp_path / "x.png")], "cannot generate")


def test_error_encode_with_a_gan(capsys, tmp_path):
    path = tmp_path / "gan.safetensors"
    torch.manual_seed(0)
    save_checkpoint(path, create_model(make_config("gan", hidden=32)), dataset={"name": "mnist-5k"})
    _one_line_error(capsys, ["encode", str(path), "--out", str(tmp_path / "z.csv")], "no encoder")


def test_error_sample_count(capsys, trained, tmp_path):
    _one_line_error(capsys, ["sample", str(trained), "--n", "0", "--out", str(tmp_path / "x.png")], "--n")


def test_usage_errors_exit_non_zero():
    proc = subprocess.run([sys.executable, "-m", "latentlab", "train", "--epochs", "many"],
                          capture_output=True, text=True, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 2 and "invalid int value" in proc.stderr
