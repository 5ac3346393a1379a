"""`latentlab interpolate`: tables of path metrics for one pair and for ten, files, JSON,
and one-line errors. Tiny models trained a few steps on the bundled mnist-5k (the command
reads the dataset and the bundled judge by name)."""

import json
import re

import pytest
import torch
from PIL import Image

from latentlab.cli import main
from latentlab.cli.interpolate import STANDARD_PAIRS, parse_pairs
from latentlab.data import load_dataset
from latentlab.errors import ConfigError
from latentlab.latent.path_metrics import direct_purity, path_verdict
from latentlab.models import create_model, make_config
from latentlab.models.checkpoint import save_checkpoint

DIGITS = [str(d) for d in range(10)]


def _tiny(family, dataset, steps=8, **overrides):
    torch.manual_seed(0)
    model = create_model(make_config(family, hidden=32, image_shape=list(dataset.image_shape),
                                     num_classes=dataset.num_classes, **overrides))
    optimizers = model.configure_optimizers(model.default_lr)
    x, y = dataset.train.images, dataset.train.labels
    g = torch.Generator().manual_seed(0)
    model.train()
    for step in range(steps):
        idx = torch.randint(0, len(x), (64,), generator=g)
        model.train_step(x[idx], y[idx], optimizers, step)
    return model.eval()


@pytest.fixture(scope="module")
def ckpts(tmp_path_factory):
    dataset = load_dataset("mnist-5k")
    root = tmp_path_factory.mktemp("interp")
    paths = {}
    for name, family, extra in (("vae", "vae", {}), ("ae", "ae", {}), ("gan", "gan", {"backbone": "mlp"})):
        paths[name] = save_checkpoint(root / name, _tiny(family, dataset, **extra), dataset=dataset.info())
    judge = create_model(make_config("judge", image_shape=list(dataset.image_shape)))
    paths["judge"] = save_checkpoint(root / "judge", judge, dataset=dataset.info())
    small = create_model(make_config("ae", hidden=16, image_shape=[1, 14, 14]))  # mnist-5k at 14x14
    paths["small"] = save_checkpoint(root / "small", small, dataset={**dataset.info(), "image_shape": [1, 14, 14]})
    return paths


def _run(capsys, argv):
    code = main(["interpolate", *map(str, argv)])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out, err


def test_one_pair_prints_each_models_metrics_and_writes_a_png(ckpts, tmp_path, capsys):
    out_png = tmp_path / "strip.png"
    out, _ = _run(capsys, [ckpts["vae"], ckpts["ae"], "--from", "3", "--to", "8", "--steps", "9", "--out", out_png])
    lines = out.splitlines()
    assert lines[0].startswith("3 to 8, lerp, 9 frames")
    header = next(i for i, line in enumerate(lines) if line.startswith("model"))
    assert [w for w in lines[header].split("  ") if w][:3] == ["model", "verdict", "purity"]
    verdict_at, purity_end = lines[header].index("verdict"), lines[header].index("purity") + len("purity")
    rows = {line.split()[0]: line for line in lines[header + 1 : header + 3]}
    assert set(rows) == {"vae", "ae"}
    data = json.loads(_run(capsys, [ckpts["vae"], ckpts["ae"], "--from", "3", "--to", "8", "--steps", "9",
                                    "--json"])[0])
    for m in data["pairs"][0]["models"]:  # the table says what the JSON says
        row = rows[m["model"]]
        assert row[verdict_at:].startswith(m["headline"] + " ")
        assert row[:purity_end].endswith(f"{m['purity']:.0%}")
    assert f"saved {out_png}" in out
    assert Image.open(out_png).size[0] > 9 * 28 * 3


def test_json_metrics_are_consistent_with_the_frames_classes(ckpts, capsys):
    out, _ = _run(capsys, [ckpts["vae"], ckpts["ae"], "--from", "1", "--to", "7", "--mode", "slerp", "--json"])
    data = json.loads(out)
    assert data["mode"] == "slerp" and data["steps"] == 12 and len(data["pairs"]) == 1
    pair = data["pairs"][0]
    assert (pair["from"], pair["to"]) == ("1", "7")
    for m in pair["models"]:
        assert len(m["classes"]) == 12
        assert m["purity"] == pytest.approx(direct_purity(m["classes"], 1, 7))
        assert m["passes_through_third"] == any(c not in (1, 7) for c in m["classes"])
        assert m["pure"] == (m["classes"][0] == 1 and m["classes"][-1] == 7 and
                             sorted(set(m["classes"])) == [1, 7] and m["classes"] == sorted(m["classes"]))
        assert m["headline"] == path_verdict(m["classes"], 1, 7).headline()
    assert set(data["definitions"]) == {"verdict", "purity", "smoothness"}


def test_ten_class_pairs_give_a_model_by_pair_table_of_verdicts(ckpts, capsys):
    argv = [ckpts["vae"], ckpts["ae"], "--pairs", "standard", "--steps", "6"]
    out, _ = _run(capsys, [*argv, "--names", "V,A"])
    data = json.loads(_run(capsys, [*argv, "--json"])[0])
    assert [f"{p['from']}-{p['to']}" for p in data["pairs"]] == list(STANDARD_PAIRS)
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("model"))
    assert header.split() == ["model", *STANDARD_PAIRS, "direct", "purity"]
    starts = [header.index(f" {label}") + 1 for label in STANDARD_PAIRS] + [header.index(" direct")]
    for k, (name, key) in enumerate((("V", "vae"), ("A", "ae"))):
        row = next(line for line in lines if line.startswith(name + " "))
        cells = [row[a:b].strip() for a, b in zip(starts, starts[1:])]
        assert cells == [p["models"][k]["short"] for p in data["pairs"]]
        summary = data["summary"][key]
        direct = sum(p["models"][k]["pure"] for p in data["pairs"])
        assert summary["direct"] == direct and summary["pairs"] == 10
        assert summary["mean_purity"] == pytest.approx(sum(p["models"][k]["purity"] for p in data["pairs"]) / 10)
        assert row[starts[-1]:].split() == [f"{direct}/10", f"{summary['mean_purity']:.0%}"]
    bottom = next(line for line in lines if line.startswith("direct "))
    assert bottom.split()[1:] == [f"{sum(m['pure'] for m in p['models'])}/2" for p in data["pairs"]]


def test_a_gif_has_one_frame_per_step_and_several_pairs_write_one_file_each(ckpts, tmp_path, capsys):
    _run(capsys, [ckpts["vae"], "--from", "0", "--to", "6", "--steps", "7", "--out", tmp_path / "s.gif"])
    with Image.open(tmp_path / "s.gif") as gif:
        assert gif.n_frames == 7
    _run(capsys, [ckpts["vae"], ckpts["ae"], "--pairs", "3-8,4:9", "--steps", "5", "--out", tmp_path / "c.gif"])
    for label in ("3-8", "4-9"):
        with Image.open(tmp_path / f"c-{label}.gif") as gif:
            assert gif.n_frames == 5


def test_a_gan_is_inverted_and_explicit_test_images_set_the_classes(ckpts, capsys):
    out, err = _run(capsys, [ckpts["gan"], ckpts["vae"], "--index-a", "0", "--index-b", "1", "--steps", "4",
                             "--invert-steps", "5", "--invert-restarts", "1"])
    assert "inverting 2 test images" in err
    labels = load_dataset("mnist-5k").test.labels
    assert out.startswith(f"{int(labels[0])} to {int(labels[1])}, lerp, 4 frames; test images #0 and #1")


def test_parse_pairs_accepts_both_separators_and_names_an_unknown_class():
    pairs = parse_pairs("3-8, 1:7", DIGITS)
    assert [(p.a, p.b) for p in pairs] == [(3, 8), (1, 7)]
    assert [(p.a, p.b) for p in parse_pairs("a-b-c", ["a-b", "c", "a"])] == [(0, 1)]
    with pytest.raises(ConfigError, match="'x'"):
        parse_pairs("3-x", DIGITS)
    with pytest.raises(ConfigError, match="digits"):
        parse_pairs("standard", ["cat", "dog"])


def _one_line_error(capsys, argv, *words):
    code = main(["interpolate", *map(str, argv)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("latentlab: error:"), err
    for w in words:
        assert re.search(w, err), err


def test_errors_are_one_line(ckpts, capsys, tmp_path):
    vae = ckpts["vae"]
    _one_line_error(capsys, [vae, "--from", "3", "--to", "eleven"], "eleven", "0, 1, 2")
    _one_line_error(capsys, [vae, "--from", "3"], "--from A --to B")
    _one_line_error(capsys, [vae, "--pairs", "3-8", "--from", "3", "--to", "8"], "either --pairs")
    _one_line_error(capsys, [vae, "--pairs", "3+8"], "3\\+8")
    _one_line_error(capsys, [vae, "--from", "3", "--to", "8", "--steps", "1"], "--steps")
    _one_line_error(capsys, [vae, "--from", "3", "--to", "8", "--out", tmp_path / "x.jpg"], ".png or .gif")
    _one_line_error(capsys, [vae, "--index-a", "0", "--index-b", "100000"], "--index-b")
    _one_line_error(capsys, [ckpts["judge"], "--from", "3", "--to", "8"], "judge", "decodes nothing")
    _one_line_error(capsys, [vae, ckpts["small"], "--from", "3", "--to", "8"], "same dataset")
    _one_line_error(capsys, [vae, "--from", "3", "--to", "8", "--names", "a,b"], "--names")
    _one_line_error(capsys, [ckpts["gan"], "--from", "3", "--to", "8", "--invert-restarts", "0"], "--invert-restarts")
    _one_line_error(capsys, [tmp_path / "missing", "--from", "3", "--to", "8"], "missing")


def test_the_readme_shows_the_commands_that_made_its_path_tables(monkeypatch):
    import importlib.util
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location("path_tables", root / "scripts" / "path_tables.py")
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "path_tables", script)  # its dataclasses look their module up
    spec.loader.exec_module(script)
    readme = (root / "README.md").read_text(encoding="utf-8")
    for block in script.BLOCKS:
        start = readme.index(f"<!-- path-tables:{block.name} -->")
        end = readme.index(f"<!-- /path-tables:{block.name} -->")
        assert f"```bash\n{block.command()}\n```" in readme[start:end], block.name
        out = next((block.argv[i + 1] for i, a in enumerate(block.argv) if a == "--out"), None)
        assert out is None or (root / out).is_file()
    assert "(docs/path-measures.md)" in readme and (root / "docs" / "path-measures.md").is_file()
