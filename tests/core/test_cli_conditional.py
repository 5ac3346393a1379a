"""The CLI with conditional models: sample a class or every class, interpolate along z or
between classes, info and encode; a class out of range is one line with exit 2."""

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.cli import main
from latentlab.data import load_dataset
from latentlab.models import create_model, make_config
from latentlab.models.checkpoint import save_checkpoint


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Untrained cvae, cgan and vae checkpoints of the bundled digits (the CLI's paths, not
    the models' quality, are under test here)."""
    info = load_dataset("mnist-5k").info()
    folder = tmp_path_factory.mktemp("conditional")
    paths = {}
    for family in ("cvae", "cgan", "vae"):
        torch.manual_seed(0)
        model = create_model(make_config(family, hidden=32, backbone="mlp"))
        paths[family] = folder / f"{family}.safetensors"
        save_checkpoint(paths[family], model, dataset=info)
    return paths


def _one_line_error(capsys, argv, *words):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("latentlab: error:"), err
    for w in words:
        assert w in err, err


@pytest.mark.parametrize("family", ["cvae", "cgan"])
def test_sample_one_class_and_every_class(family, checkpoints, tmp_path, capsys):
    sevens = tmp_path / "sevens.png"
    assert main(["sample", str(checkpoints[family]), "--class", "7", "--n", "16", "--out", str(sevens),
                 "--scale", "1"]) == 0
    assert "16 samples of class 7" in capsys.readouterr().out
    assert Image.open(sevens).size == (4 * 30 + 2, 4 * 30 + 2)
    grid = tmp_path / "classes.png"
    assert main(["sample", str(checkpoints[family]), "--per-class", "--n", "3", "--out", str(grid),
                 "--scale", "1"]) == 0
    assert Image.open(grid).size == (3 * 30 + 2, 10 * 30 + 2)  # a row per class, a column per z


def test_the_rows_of_per_class_share_their_latents(checkpoints, tmp_path):
    """Column k of --per-class is one z under every class: row c equals --class c's decode of it."""
    grid = tmp_path / "classes.png"
    main(["sample", str(checkpoints["cvae"]), "--per-class", "--n", "2", "--out", str(grid), "--scale", "1"])
    three = tmp_path / "three.png"
    main(["sample", str(checkpoints["cvae"]), "--class", "3", "--n", "2", "--out", str(three), "--scale", "1"])
    rows = np.asarray(Image.open(grid).convert("L"))
    one = np.asarray(Image.open(three).convert("L"))
    np.testing.assert_array_equal(rows[3 * 30 : 4 * 30 + 2], one)


@pytest.mark.parametrize("cls", ["12", "-1", "seven"])
def test_a_class_out_of_range_is_one_line(cls, checkpoints, tmp_path, capsys):
    words = ("out of range", "10 classes") if cls != "seven" else ("not a class", "0, 1, 2")
    _one_line_error(capsys, ["sample", str(checkpoints["cvae"]), f"--class={cls}", "--out",
                             str(tmp_path / "x.png")], *words)


def test_class_options_need_a_conditional_model(checkpoints, tmp_path, capsys):
    for option in (["--class", "7"], ["--per-class"]):
        _one_line_error(capsys, ["sample", str(checkpoints["vae"]), *option, "--out", str(tmp_path / "x.png")],
                        "needs a conditional model", "cvae")


def test_info_describes_the_condition(checkpoints, capsys):
    assert main(["info", str(checkpoints["cvae"])]) == 0
    out = capsys.readouterr().out
    assert "cvae: Conditional VAE" in out and "class condition" in out and "--per-class" in out
    assert "β (beta) 1" in out


def test_encode_a_cvae_under_the_labels(checkpoints, tmp_path):
    out = tmp_path / "z.csv"
    assert main(["encode", str(checkpoints["cvae"]), "--out", str(out)]) == 0
    rows = list(csv.reader(open(out)))
    assert rows[0][:2] == ["z0", "z1"] and len(rows) == 1001


def test_interpolate_between_classes_at_a_fixed_style_and_along_z_at_a_fixed_class(checkpoints, capsys):
    args = ["interpolate", str(checkpoints["cvae"]), str(checkpoints["vae"]), "--from", "3", "--to", "8",
            "--steps", "6", "--json"]
    assert main(args) == 0
    models = json.loads(capsys.readouterr().out)["pairs"][0]["models"]
    assert [m["model"] for m in models] == ["cvae [z fixed]", "vae"]
    assert all(len(m["classes"]) == 6 for m in models)
    assert main([*args, "--class", "7"]) == 0
    models = json.loads(capsys.readouterr().out)["pairs"][0]["models"]
    assert models[0]["model"] == "cvae [as 7]" and models[1]["model"] == "vae"


def test_interpolate_a_cgan_inverts_under_the_labels(checkpoints, capsys):
    assert main(["interpolate", str(checkpoints["cgan"]), "--from", "1", "--to", "7", "--steps", "4",
                 "--invert-steps", "3", "--invert-restarts", "1"]) == 0
    assert "cgan [z fixed]" in capsys.readouterr().out


def test_interpolate_class_needs_a_conditional_model(checkpoints, capsys):
    _one_line_error(capsys, ["interpolate", str(checkpoints["vae"]), "--from", "3", "--to", "8", "--class", "7"],
                    "--class", "conditional")


@pytest.mark.parametrize("family", ["cvae", "cgan"])
def test_train_a_conditional_model_from_the_cli(family, tmp_path, capsys):
    out = tmp_path / family
    assert main(["train", "--model", family, "--backbone", "mlp", "--hidden", "16", "--image-size", "8",
                 "--epochs", "1", "--no-judge", "--quiet", "--device", "cpu", "--out", str(out)]) == 0
    capsys.readouterr()
    png = tmp_path / "ones.png"
    assert main(["sample", str(out), "--class", "1", "--n", "4", "--out", str(png), "--scale", "1"]) == 0
    assert Image.open(png).size == (2 * 10 + 2, 2 * 10 + 2)
