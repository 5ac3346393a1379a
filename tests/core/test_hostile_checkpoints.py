"""Hostile and malformed checkpoints (issue #7): each crafted case (tests/hostile/make_cases.py)
meets one clear error, strange but valid ones open with the strangeness made harmless, a
few hundred fuzzed copies of a shipped checkpoint never escape as anything but a
CheckpointError, and a checkpoint's dataset name reads nothing the user did not allow."""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil

import pytest

from latentlab.cli import main
from latentlab.data import load_dataset
from latentlab.errors import CheckpointError, DatasetError, LatentLabError
from latentlab.locations import resources_dir
from latentlab.models.checkpoint import load_checkpoint, read_checkpoint_meta
from latentlab.models.checkpoint_schema import SchemaError, validate_history, validate_metrics
from latentlab.preview import PreviewUnavailable, open_preview
from latentlab.recorded_data import DataNotAllowed, load_recorded_dataset, unread_dataset
from latentlab.safe_text import clean, json_safe
from tests.hostile.make_cases import NO_DATA, OPENS, REFUSED, make_cases, make_image_folder, mutations
from tests.hostile.watch import watch

FUZZ_COUNT = 300
FUZZ_SEED = 0


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return make_cases(tmp_path_factory.mktemp("hostile"))


def test_the_generator_covers_every_kind(cases):
    kinds = {c.expect for c in cases}
    assert kinds == {REFUSED, OPENS, NO_DATA} and len(cases) > 50


def test_every_malformed_checkpoint_is_one_clear_error(cases):
    problems = []
    for case in (c for c in cases if c.expect == REFUSED):
        for reader in (load_checkpoint, read_checkpoint_meta):
            try:
                reader(case.path)
                problems.append(f"{case.name}: {reader.__name__} accepted it")
            except CheckpointError as exc:
                message = str(exc)
                missing = [w for w in case.words if w not in message]
                if "\n" in message or len(message) > 700 or missing or str(case.path) not in message:
                    problems.append(f"{case.name}: {message[:300]!r} (missing {missing})")
            except Exception as exc:  # noqa: BLE001 - the point of the test
                problems.append(f"{case.name}: {reader.__name__} raised {type(exc).__name__}: {exc!s:.200}")
    assert not problems, "\n".join(problems)


def test_the_first_screens_preview_declines_rather_than_fails(cases):
    """The NumPy preview reads the same files at start-up: it opens them or says it cannot."""
    for case in cases:
        try:
            preview = open_preview(case.path)
        except PreviewUnavailable:
            continue
        assert all("<" not in name and name.isprintable() for name in preview.class_names), case.name


def test_strange_but_valid_checkpoints_open(cases):
    for case in (c for c in cases if c.expect in (OPENS, NO_DATA)):
        ckpt = load_checkpoint(case.path)
        meta = read_checkpoint_meta(case.path)
        assert ckpt.model.latent_dim == 2 and meta["model"]["family"] == "vae", case.name
        json.dumps(json_safe(meta), allow_nan=False)  # what info --json prints is strict JSON


def test_history_keeps_nan_and_drops_nulls(cases):
    ckpt = load_checkpoint(next(c.path for c in cases if c.name == "nan-history"))
    first, second = ckpt.history
    assert math.isnan(first["train_loss"]) and math.isinf(first["test_kl"])
    assert second == {"epoch": 2, "train_loss": 5.0}  # the null "test_kl" was not measured


@pytest.mark.parametrize("bad", [True, "1", [[1]], ["a"], {"a": 1}, 10**20])
def test_a_metric_must_be_a_number(bad):
    with pytest.raises(SchemaError, match="metric 'm'"):
        validate_metrics({"m": bad})


def test_an_epoch_must_be_a_whole_number():
    with pytest.raises(SchemaError, match="epoch"):
        validate_history([{"epoch": 1.5}])
    assert validate_history([{"epoch": 3, "loss": None}]) == [{"epoch": 3}]


def test_header_cap_refuses_a_20mb_header_quickly(cases, monkeypatch):
    """The header's length is checked before its bytes are read or parsed."""
    parsed = []
    monkeypatch.setattr(json, "loads", lambda *a, **k: parsed.append(1))
    case = next(c for c in cases if c.name == "header-20mb")
    with pytest.raises(CheckpointError, match="20 MB, over the 16 MB limit"):
        read_checkpoint_meta(case.path)
    assert not parsed


# ------------------------------------------------------------------------ fuzzing
def test_fuzzed_copies_of_a_shipped_checkpoint_fail_cleanly(tmp_path):
    """300 seeded mutations of the shipped VAE: loading either works or raises a
    CheckpointError, the start-up preview works or declines; `info` exits 0 or 2 with one
    line, and its --json is strict JSON."""
    source = resources_dir() / "pretrained" / "vae.safetensors"
    problems, outcomes = [], {"loaded": 0, "refused": 0}
    for i, path in enumerate(mutations(source, tmp_path, FUZZ_COUNT, seed=FUZZ_SEED)):
        try:
            load_checkpoint(path)
            outcomes["loaded"] += 1
        except CheckpointError:
            outcomes["refused"] += 1
        except Exception as exc:  # noqa: BLE001
            problems.append(f"mutation {i}: load raised {type(exc).__name__}: {exc!s:.200}")
        try:
            open_preview(path)
        except PreviewUnavailable:
            pass
        except Exception as exc:  # noqa: BLE001
            problems.append(f"mutation {i}: the preview raised {type(exc).__name__}: {exc!s:.200}")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["info", str(path), "--json"])
        lines = err.getvalue().splitlines()
        if code == 0:
            json.loads(out.getvalue(), parse_constant=lambda c: problems.append(f"mutation {i}: {c} in JSON"))
        elif code != 2 or len(lines) != 1 or not lines[0].startswith("latentlab: error:"):
            problems.append(f"mutation {i}: info exited {code} with {err.getvalue()[:300]!r}")
        if problems and not (tmp_path / "first-failure.safetensors").exists():
            shutil.copy(path, tmp_path / "first-failure.safetensors")
    assert not problems, "\n".join(problems[:20])
    assert outcomes["loaded"] > 20 and outcomes["refused"] > 100, outcomes  # both paths were exercised


# -------------------------------------------------------------- the dataset name
@pytest.fixture
def private_folder(tmp_path):
    return make_image_folder(tmp_path / "private")


def _loader(reads: list):
    def load(name: str, download: bool):
        reads.append((name, download))
        return load_dataset(name, image_size=28, download=download)
    return load


def test_a_recorded_folder_is_read_only_when_allowed(private_folder):
    name, calls = f"folder:{private_folder}", []
    with watch(private_folder) as seen:
        with pytest.raises(DataNotAllowed, match="reads the images in the folder"):
            load_recorded_dataset(name, _loader(calls), allowed=False)
    assert not seen.reads and not calls
    with watch(private_folder) as seen:
        dataset = load_recorded_dataset(name, _loader(calls), allowed=True)
    assert dataset.class_names == ["cat", "dog"] and seen.reads


def test_a_recorded_download_is_not_fetched(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "empty-cache"))
    calls = []
    with watch(tmp_path) as seen:
        with pytest.raises(DataNotAllowed, match="downloads it"):
            load_recorded_dataset("mnist", _loader(calls), allowed=False)
    assert calls == [("mnist", False)] and not seen.network  # only the cache was looked at


def test_bundled_sets_load_and_unknown_names_say_so():
    calls = []
    assert len(load_recorded_dataset("mnist-5k", _loader(calls), allowed=False).test) == 1000
    with pytest.raises(DatasetError, match="unknown dataset"):
        load_recorded_dataset("imagenet-21k", _loader(calls), allowed=False)
    assert calls == [("mnist-5k", False), ("imagenet-21k", False)]


def test_a_model_without_data_keeps_its_record_and_shows_plain_class_names():
    record = {"name": "folder:/x", "class_names": ["<img src=x>", "b"], "n_train": 7}
    dataset = unread_dataset(record, (1, 28, 28), 3, "why")
    assert dataset.info() == record  # saving keeps what it was trained on
    assert dataset.class_names == ["0", "1", "2"] and dataset.image_shape == (1, 28, 28)
    assert len(dataset.test) == 0 and dataset.why == "why"


def test_clean_escapes_control_characters():
    assert clean("a\x1b[2J\x07\n\u202eb") == "a\\x1b[2J\\x07\\n\\u202eb"
    assert clean("plain text, ünïcode") == "plain text, ünïcode"
    assert json_safe({"a": [float("nan"), 1.0, float("-inf")]}) == {"a": [None, 1.0, None]}


def test_errors_are_latentlab_errors():
    assert issubclass(DataNotAllowed, DatasetError) and issubclass(DatasetError, LatentLabError)
