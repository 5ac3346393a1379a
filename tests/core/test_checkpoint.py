"""Checkpoint I/O: round trips, optimiser state, pickles refused, corrupt files, atomic saves."""

from __future__ import annotations

import errno
import json
import os
import pickle
import re
import struct
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch

import latentlab
from latentlab.errors import CheckpointError
from latentlab.models import checkpoint as ckpt_mod
from latentlab.models.base import LatentModel
from latentlab.models.checkpoint import (
    FORMAT_VERSION,
    Checkpoint,
    is_checkpoint,
    load_checkpoint,
    read_checkpoint_meta,
    save_checkpoint,
)
from latentlab.models.mixture import LatentMixture
from latentlab.models.registry import create_model, family_names, make_config

SHAPE = [1, 8, 8]
DATASET = {"name": "tiny", "class_names": ["a", "b", "c"], "image_shape": SHAPE, "n_train": 12}
FAMILIES = family_names()
FORMS = ["folder", "file"]


# ---------------------------------------------------------------- helpers
def tiny(family: str = "vae", seed: int = 0, **settings) -> LatentModel:
    torch.manual_seed(seed)
    return create_model(make_config(family, hidden=32, latent_dim=2, image_shape=SHAPE, num_classes=3, **settings))


def batch(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(6, *SHAPE, generator=gen), torch.randint(0, 3, (6,), generator=gen)


def warm_up(model: LatentModel) -> None:
    """A few train-mode passes, so batch-norm statistics are not their initial values."""
    x, y = batch()
    model.train()
    torch.manual_seed(3)
    with torch.no_grad():
        for _ in range(2):
            model.loss(x, y)
    model.eval()


@torch.no_grad()
def outputs(model: LatentModel) -> dict[str, torch.Tensor]:
    """Deterministic outputs of every head the model has, in eval mode."""
    model.eval()
    gen = torch.Generator().manual_seed(7)
    z = torch.randn(5, model.latent_dim, generator=gen)
    x = torch.rand(5, *SHAPE, generator=gen)
    y = torch.arange(5) % 3
    out = {}
    if model.has_decoder:
        out["decode"] = model.decode(z, y)
    if model.has_encoder:
        out["encode"] = model.encode(x, y)
    if model.classifier == "image":
        out["classify"] = model.classify(x)
    if model.classifier == "latent":
        out["classify"] = model.classify(z)
    if hasattr(model, "discriminate"):
        out["discriminate"] = model.discriminate(x, y)
    return out


def target(tmp_path: Path, form: str, name: str = "ckpt") -> Path:
    return tmp_path / (f"{name}.safetensors" if form == "file" else name)


def save_tiny(path: Path, family: str = "vae", **kwargs) -> LatentModel:
    model = tiny(family)
    save_checkpoint(path, model, dataset=DATASET, **kwargs)
    return model


def error_of(path: Path, **kwargs) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, **kwargs)
    message = str(info.value)
    assert str(path) in message
    return message


def rewrite_single_file(path: Path, edit_meta=None, edit_tensors=None) -> None:
    """Rewrite a single-file checkpoint with edited metadata or tensors."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        metadata = f.metadata()
        tensors = {k: f.get_tensor(k).clone() for k in f.keys()}
    meta = json.loads(metadata["latentlab"])
    if edit_meta:
        edit_meta(meta)
    if edit_tensors:
        edit_tensors(tensors)
    metadata["latentlab"] = json.dumps(meta)
    safetensors.torch.save_file(tensors, str(path), metadata=metadata)


def edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def listing(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("family", FAMILIES)
def test_round_trip_every_family(tmp_path, family, form):
    model = tiny(family)
    warm_up(model)
    expected = outputs(model)
    path = target(tmp_path, form)
    metrics = {"test_neg_elbo": 150.25, "fid": np.float32(3.5), "accuracy": torch.tensor(0.75)}
    history = [{"epoch": 1, "loss": 200.5}, {"epoch": 2, "loss": 180.0}]
    training = {"epochs": 2, "lr": 1e-3, "batch_size": 64, "seed": 0}

    assert save_checkpoint(path, model, dataset=DATASET, metrics=metrics, history=history, training=training) == path
    ckpt = load_checkpoint(path)

    assert isinstance(ckpt, Checkpoint) and type(ckpt.model) is type(model)
    assert not ckpt.model.training
    assert ckpt.model.config == model.config
    got = outputs(ckpt.model)
    assert got.keys() == expected.keys()
    for name in expected:
        assert torch.equal(got[name], expected[name]), name
    saved, loaded = model.state_dict(), ckpt.model.state_dict()
    assert saved.keys() == loaded.keys()
    assert all(torch.equal(saved[k], loaded[k]) and saved[k].dtype == loaded[k].dtype for k in saved)
    assert ckpt.metrics == {"test_neg_elbo": 150.25, "fid": 3.5, "accuracy": 0.75}
    assert ckpt.history == history and ckpt.dataset == DATASET and ckpt.training == training
    assert ckpt.path == path and ckpt.format_version == FORMAT_VERSION
    assert ckpt.latentlab_version == latentlab.__version__
    datetime.fromisoformat(ckpt.created)
    assert ckpt.optimizer_state is None and ckpt.model.mixture is None


@pytest.mark.parametrize("form", FORMS)
def test_mixture_round_trip(tmp_path, form):
    model = tiny("ae")
    model.mixture = LatentMixture.fit(torch.randn(200, 2, generator=torch.Generator().manual_seed(0)), n_components=3)
    path = target(tmp_path, form)
    save_checkpoint(path, model, dataset=DATASET)

    loaded = load_checkpoint(path).model
    assert loaded.mixture is not None
    for name, tensor in model.mixture.tensors().items():
        assert torch.equal(loaded.mixture.tensors()[name], tensor), name
    gen_a, gen_b = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(loaded.sample_latents(8, gen_a, "mixture"), model.sample_latents(8, gen_b, "mixture"))
    assert "mixture.weights" not in loaded.state_dict()
    assert read_checkpoint_meta(path)["mixture_components"] == 3


@pytest.mark.parametrize(
    "edit",
    [
        lambda t: t.update({"mixture.weights": -t["mixture.weights"]}),
        lambda t: t.pop("mixture.means"),
        lambda t: t.update({"mixture.means": torch.zeros(3, 5), "mixture.scale_tril": torch.zeros(3, 5, 5)}),
        lambda t: t.update({"mixture.extra": torch.zeros(1)}),
        lambda t: t.update({"mixture.weights": torch.zeros(3, 1)}),
    ],
    ids=["negative-weights", "missing-means", "wrong-dim", "extra", "weights-2d"],
)
def test_invalid_mixture_is_refused(tmp_path, edit):
    model = tiny("ae")
    model.mixture = LatentMixture.fit(torch.randn(100, 2, generator=torch.Generator().manual_seed(0)), n_components=3)
    path = tmp_path / "ckpt.safetensors"
    save_checkpoint(path, model, dataset=DATASET)
    rewrite_single_file(path, edit_tensors=edit)
    message = error_of(path)
    assert "latent mixture is invalid" in message


def test_tied_and_non_contiguous_weights_are_saved(tmp_path):
    model = tiny("vae")
    model.to_logvar.weight = model.to_mu.weight  # tied: safetensors refuses shared storage
    w = model.decoder.net[0].weight
    model.decoder.net[0].weight = torch.nn.Parameter(w.detach().t().contiguous().t())
    assert not model.decoder.net[0].weight.is_contiguous()
    path = tmp_path / "tied.safetensors"
    save_checkpoint(path, model, dataset=DATASET)
    loaded = load_checkpoint(path).model
    assert torch.equal(loaded.to_logvar.weight, model.to_mu.weight)
    assert torch.equal(loaded.decoder.net[0].weight, w)


def test_loading_keeps_the_global_rng_stream(tmp_path):
    path = tmp_path / "ckpt"
    save_tiny(path)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    load_checkpoint(path, device="cpu")
    assert torch.equal(torch.get_rng_state(), before)


def test_save_overwrites_own_checkpoint(tmp_path):
    path = tmp_path / "ckpt"
    save_tiny(path, metrics={"v": 1})
    save_tiny(path, metrics={"v": 2})
    assert load_checkpoint(path).metrics == {"v": 2}
    file = tmp_path / "one.safetensors"
    save_tiny(file, metrics={"v": 1})
    save_tiny(file, metrics={"v": 2})
    assert load_checkpoint(file).metrics == {"v": 2}
    assert listing(tmp_path) == ["ckpt", "one.safetensors"]


def test_save_creates_parent_folders(tmp_path):
    path = tmp_path / "runs" / "deep" / "vae"
    save_tiny(path)
    assert is_checkpoint(path)


# ---------------------------------------------------------------- optimiser state
@pytest.mark.parametrize("family", ["vae", "gan"])
def test_optimizer_state_round_trip_continues_identically(tmp_path, family):
    x, y = batch()
    model = tiny(family).train()
    opts = model.configure_optimizers(1e-3)
    for step in range(3):
        torch.manual_seed(step)
        model.train_step(x, y, opts, step)
    path = tmp_path / "ckpt"
    save_checkpoint(path, model, dataset=DATASET, optimizers=opts)

    ckpt = load_checkpoint(path, load_optimizer_state=True)
    assert ckpt.optimizer_state is not None and len(ckpt.optimizer_state) == len(opts)
    resumed = ckpt.model.train()
    new_opts = resumed.configure_optimizers(1e-3)
    for opt, state in zip(new_opts, ckpt.optimizer_state):
        opt.load_state_dict(state)
    for old, new in zip(opts, new_opts):
        a, b = old.state_dict(), new.state_dict()
        assert a["param_groups"] == b["param_groups"]  # betas stay tuples, None stays None
        for pid, entry in a["state"].items():
            assert entry.keys() == b["state"][pid].keys()
            assert all(torch.equal(v, b["state"][pid][k]) for k, v in entry.items())

    torch.manual_seed(99)
    model.train_step(x, y, opts, 3)
    torch.manual_seed(99)
    resumed.train_step(x, y, new_opts, 3)
    a, b = model.state_dict(), resumed.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_optimizer_state_absent_is_none(tmp_path):
    folder, file = tmp_path / "ckpt", tmp_path / "one.safetensors"
    model = tiny()
    opts = model.configure_optimizers(1e-3)
    save_checkpoint(folder, model, dataset=DATASET)
    save_checkpoint(file, model, dataset=DATASET, optimizers=opts)  # the single file holds none
    assert load_checkpoint(folder, load_optimizer_state=True).optimizer_state is None
    assert load_checkpoint(file, load_optimizer_state=True).optimizer_state is None
    save_checkpoint(folder, model, dataset=DATASET, optimizers=opts)
    assert load_checkpoint(folder).optimizer_state is None  # only when asked


def test_corrupt_optimizer_json_is_reported(tmp_path):
    path = tmp_path / "ckpt"
    model = tiny()
    save_checkpoint(path, model, dataset=DATASET, optimizers=model.configure_optimizers(1e-3))
    (path / "optimizer.json").write_text('{"optimizers": [{"state": {"__tensor__": "nope"}}]}')
    assert "truncated or corrupt" in error_of(path, load_optimizer_state=True)
    (path / "optimizer.safetensors").unlink()
    assert "only one of" in error_of(path, load_optimizer_state=True)


# ---------------------------------------------------------------- pickles
class Payload:
    """Unpickling this creates ``marker``: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def no_unpickling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the checkpoint loader must never unpickle")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)


def assert_pickle_refused(path: Path) -> None:
    message = error_of(path)
    assert "pickled PyTorch/Python file" in message and "arbitrary code" in message
    with pytest.raises(CheckpointError, match="pickled"):
        read_checkpoint_meta(path)
    assert not is_checkpoint(path)


def test_payload_is_live(tmp_path):
    """The payload really runs code when unpickled, so the refusal tests mean something."""
    marker = tmp_path / "control-marker"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()


@pytest.mark.parametrize("protocol", [2, 5])
def test_raw_pickle_named_safetensors_is_refused(tmp_path, no_unpickling, protocol):
    marker = tmp_path / "marker"
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(Payload(marker), protocol=protocol))
    assert_pickle_refused(path)
    assert not marker.exists()


def test_torch_zip_inside_checkpoint_folder_is_refused(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "ckpt"
    save_tiny(path)
    torch.save(Payload(marker), path / "model.safetensors")
    assert (path / "model.safetensors").read_bytes()[:4] == b"PK\x03\x04"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load called"))
        mp.setattr(pickle, "loads", lambda *a, **k: pytest.fail("pickle.loads called"))
        message = error_of(path)
    assert "pickled" in message and "model.safetensors" in message
    assert not marker.exists()


def test_pt_files_and_legacy_torch_save_are_refused(tmp_path, no_unpickling):
    marker = tmp_path / "marker"
    pt = tmp_path / "evil.pt"
    torch.save({"w": torch.zeros(2), "x": Payload(marker)}, pt)
    legacy = tmp_path / "evil-legacy.bin"
    torch.save(Payload(marker), legacy, _use_new_zipfile_serialization=False)
    assert legacy.read_bytes()[:2] == b"\x80\x02"
    for path in (pt, legacy):
        assert_pickle_refused(path)
    assert not marker.exists()


def test_safetensors_whose_length_looks_like_a_pickle_marker_is_not_called_a_pickle(tmp_path):
    """A header of 640 bytes starts with b"\\x80\\x02", like pickle protocol 2."""
    path = tmp_path / "weights.safetensors"
    for pad in range(700):
        safetensors.torch.save_file({"w": torch.zeros(1)}, str(path), metadata={"pad": "x" * pad})
        if path.read_bytes()[:2] == b"\x80\x02":
            break
    else:
        pytest.fail("no padding gave a header length starting with a pickle marker")
    message = error_of(path)
    assert "not a latentlab checkpoint" in message and "pickle" not in message


# ---------------------------------------------------------------- corrupt, foreign, newer
def test_missing_path(tmp_path):
    message = error_of(tmp_path / "nope")
    assert "does not exist" in message
    assert not is_checkpoint(tmp_path / "nope")


@pytest.mark.parametrize("keep", ["half", "4 bytes", "header only"])
def test_truncated_single_file(tmp_path, keep):
    path = tmp_path / "ckpt.safetensors"
    save_tiny(path)
    data = path.read_bytes()
    header_end = 8 + struct.unpack("<Q", data[:8])[0]
    cut = {"half": len(data) // 2, "4 bytes": 4, "header only": header_end}[keep]
    assert cut < len(data)
    path.write_bytes(data[:cut])
    assert "truncated or corrupt" in error_of(path)
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        read_checkpoint_meta(path)


def test_truncated_weights_in_folder(tmp_path):
    path = tmp_path / "ckpt"
    save_tiny(path)
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    assert "truncated or corrupt" in error_of(path)
    (path / "model.safetensors").unlink()
    assert "truncated or corrupt" in error_of(path)


@pytest.mark.parametrize(
    "content",
    [
        bytes(range(256)) * 4,  # garbage
        struct.pack("<Q", 2**62) + b"{}",  # hostile header length
        struct.pack("<Q", 99 * 2**20) + b"{}",  # under the limit, longer than the file
        struct.pack("<Q", 10) + b"not json!!",
        struct.pack("<Q", 2) + b"[]",
    ],
    ids=["garbage", "huge-length", "length-past-end", "bad-json", "not-object"],
)
def test_corrupt_single_file(tmp_path, content):
    path = tmp_path / "ckpt.safetensors"
    path.write_bytes(content)
    assert "truncated or corrupt" in error_of(path)
    assert not is_checkpoint(path)


def test_hostile_header_length_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    path.write_bytes(struct.pack("<Q", 2**40) + b"{" + b" " * 100)
    monkeypatch.setattr(safetensors.torch, "load", lambda *a: pytest.fail("tensors parsed"))
    assert "limit" in error_of(path)


def test_header_offsets_past_the_data_are_truncation(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save_tiny(path)
    data = path.read_bytes()
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + length])
    data_size = len(data) - 8 - length
    header["huge"] = {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [data_size, data_size + 4_000_000]}
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + length :])
    monkeypatch.setattr(safetensors.torch, "load", lambda *a: pytest.fail("tensors parsed"))
    message = error_of(path)
    assert "truncated or corrupt" in message and str(data_size + 4_000_000) in message


def test_invalid_json_in_config_and_metadata(tmp_path):
    folder = tmp_path / "ckpt"
    save_tiny(folder)
    (folder / "config.json").write_text('{"format_version": 1, ')
    assert "truncated or corrupt" in error_of(folder)
    save_tiny(folder := tmp_path / "ckpt2")
    (folder / "history.json").write_text("[{")
    assert "truncated or corrupt" in error_of(folder)

    file = tmp_path / "one.safetensors"
    safetensors.torch.save_file({"w": torch.zeros(2)}, str(file), metadata={"latentlab": "{not json"})
    assert "truncated or corrupt" in error_of(file)


def test_foreign_files_and_folders(tmp_path):
    hf = tmp_path / "weights.safetensors"
    safetensors.torch.save_file({"w": torch.randn(3, 4), "b": torch.randn(3)}, str(hf))
    assert "not a latentlab checkpoint" in error_of(hf)

    empty = tmp_path / "empty"
    empty.mkdir()
    assert "not a latentlab checkpoint" in error_of(empty)

    hf_folder = tmp_path / "hf"
    hf_folder.mkdir()
    (hf_folder / "config.json").write_text('{"model_type": "bert"}')
    safetensors.torch.save_file({"w": torch.zeros(2)}, str(hf_folder / "model.safetensors"))
    assert "not a latentlab checkpoint" in error_of(hf_folder)

    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a checkpoint at all")
    assert "not a latentlab checkpoint" in error_of(text)
    for path in (hf, empty, hf_folder, text):
        assert not is_checkpoint(path)


@pytest.mark.parametrize("form", FORMS)
def test_newer_format_version(tmp_path, form):
    path = target(tmp_path, form)
    save_tiny(path)

    def bump(meta):
        meta["format_version"] = FORMAT_VERSION + 1
        meta["model"] = {"family": "something-new"}  # a newer format may change anything else

    if form == "file":
        rewrite_single_file(path, edit_meta=bump)
    else:
        edit_json(path / "config.json", bump)
    message = error_of(path)
    assert f"newer latentlab (format {FORMAT_VERSION + 1}, this version reads up to {FORMAT_VERSION})" in message
    assert "upgrade latentlab" in message
    with pytest.raises(CheckpointError, match="newer"):
        read_checkpoint_meta(path)
    assert is_checkpoint(path)  # still recognised, so the open dialog can explain


def test_architecture_mismatch_names_keys(tmp_path):
    path = tmp_path / "ckpt"
    save_tiny(path, "vae")
    edit_json(path / "config.json", lambda c: c["model"].update(latent_dim=3))
    message = error_of(path)
    assert "shape mismatch" in message and "to_mu.weight" in message and "[2, 16]" in message

    edit_json(path / "config.json", lambda c: c["model"].update(latent_dim=2, family="ae", beta=None) or
              c["model"].pop("beta"))
    message = error_of(path)
    assert "missing to_z.weight, to_z.bias" in message and "unexpected to_logvar.bias" in message


def test_invalid_config_is_a_checkpoint_error(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save_tiny(path)
    rewrite_single_file(path, edit_meta=lambda m: m["model"].update(family="nope"))
    message = error_of(path)
    assert "invalid model config" in message and "unknown model family" in message

    folder = tmp_path / "ckpt"
    save_tiny(folder)
    edit_json(folder / "config.json", lambda c: c["model"].update(latent_dim=10**9))
    assert "latent_dim" in error_of(folder)
    with pytest.raises(CheckpointError, match="invalid model config"):
        read_checkpoint_meta(folder)


def test_wrong_json_types_are_corrupt(tmp_path):
    path = tmp_path / "ckpt"
    save_tiny(path)
    edit_json(path / "config.json", lambda c: c.update(dataset=["not", "a", "dict"]))
    assert "truncated or corrupt" in error_of(path)


@pytest.mark.parametrize("form", FORMS)
def test_non_finite_weights_are_refused(tmp_path, form):
    path = target(tmp_path, form)
    save_tiny(path)

    def poison(tensors):
        tensors["to_mu.weight"][0, 0] = float("nan")

    if form == "file":
        rewrite_single_file(path, edit_tensors=poison)
    else:
        weights = safetensors.torch.load_file(str(path / "model.safetensors"))
        poison(weights)
        safetensors.torch.save_file(weights, str(path / "model.safetensors"))
    message = error_of(path)
    assert "non-finite" in message and "to_mu.weight" in message


def test_saving_non_finite_weights_is_refused(tmp_path):
    model = tiny()
    with torch.no_grad():
        model.to_mu.bias[0] = float("inf")
    with pytest.raises(CheckpointError, match="NaN or infinity"):
        save_checkpoint(tmp_path / "ckpt", model, dataset=DATASET)
    assert listing(tmp_path) == []


# ---------------------------------------------------------------- atomic saves
def test_failure_mid_save_leaves_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    model = tiny()
    save_checkpoint(path, model, dataset=DATASET, metrics={"v": 1})
    before = {name: (path / name).read_bytes() for name in listing(path)}

    real_save = safetensors.torch.save
    calls = []

    def failing_save(tensors, metadata=None):
        calls.append(1)
        if len(calls) == 2:  # the weights are already written; the optimiser file fails
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(tensors, metadata=metadata)

    monkeypatch.setattr(safetensors.torch, "save", failing_save)
    with pytest.raises(CheckpointError, match="could not save .*No space left"):
        save_checkpoint(path, tiny(seed=1), dataset=DATASET, metrics={"v": 2},
                        optimizers=model.configure_optimizers(1e-3))
    assert len(calls) == 2
    assert listing(tmp_path) == ["ckpt"]
    assert {name: (path / name).read_bytes() for name in listing(path)} == before
    assert load_checkpoint(path).metrics == {"v": 1}


def test_failure_while_swapping_folders_rolls_back(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    save_tiny(path, metrics={"v": 1})
    real_rename = os.rename

    def failing_rename(src, dst):
        if ".tmp-" in os.fspath(src):
            raise OSError(errno.EIO, "Input/output error")
        return real_rename(src, dst)

    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(CheckpointError, match="could not save"):
        save_tiny(path, metrics={"v": 2})
    monkeypatch.undo()
    assert listing(tmp_path) == ["ckpt"]
    assert load_checkpoint(path).metrics == {"v": 1}


def test_failure_in_single_file_save_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    save_tiny(path, metrics={"v": 1})
    before = path.read_bytes()

    def failing_replace(src, dst):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(CheckpointError, match="could not save"):
        save_tiny(path, metrics={"v": 2})
    monkeypatch.undo()
    assert listing(tmp_path) == ["ckpt.safetensors"]
    assert path.read_bytes() == before


def test_unexpected_error_mid_save_cleans_up_and_propagates(tmp_path, monkeypatch):
    path = tmp_path / "ckpt"
    save_tiny(path, metrics={"v": 1})
    monkeypatch.setattr(safetensors.torch, "save", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        save_tiny(path, metrics={"v": 2})
    monkeypatch.undo()
    assert listing(tmp_path) == ["ckpt"]
    assert load_checkpoint(path).metrics == {"v": 1}


def test_interrupted_swap_of_a_running_save_is_explained(tmp_path):
    path = tmp_path / "ckpt"
    save_tiny(path)
    leftover = f".ckpt.old-{os.getppid()}-1234abcd"  # mid-swap in a process that still runs: not touched
    os.rename(path, tmp_path / leftover)
    message = error_of(path)
    assert "does not exist" in message and leftover in message


# ---------------------------------------------------------------- refusing to overwrite
def test_refuses_to_overwrite_what_is_not_a_checkpoint(tmp_path):
    model = tiny()
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("precious")
    with pytest.raises(CheckpointError, match="not a latentlab checkpoint"):
        save_checkpoint(home, model, dataset=DATASET)
    assert listing(home) == ["thesis.tex"]

    hf = tmp_path / "other.safetensors"
    safetensors.torch.save_file({"w": torch.zeros(2)}, str(hf))
    data = hf.read_bytes()
    with pytest.raises(CheckpointError, match="refusing"):
        save_checkpoint(hf, model, dataset=DATASET)
    assert hf.read_bytes() == data

    a_file = tmp_path / "plain"
    a_file.write_text("x")
    with pytest.raises(CheckpointError, match="refusing"):
        save_checkpoint(a_file, model, dataset=DATASET)

    folder = tmp_path / "ckpt"
    save_checkpoint(folder, model, dataset=DATASET)
    (folder / "notes.txt").write_text("mine")
    with pytest.raises(CheckpointError, match="notes.txt"):
        save_checkpoint(folder, model, dataset=DATASET)
    assert (folder / "notes.txt").read_text() == "mine"

    with pytest.raises(CheckpointError, match="pickled"):
        save_checkpoint(tmp_path / "model.pt", model, dataset=DATASET)
    assert sorted(listing(tmp_path)) == ["ckpt", "home", "other.safetensors", "plain"]


def test_saves_into_an_empty_folder(tmp_path):
    folder = tmp_path / "new"
    folder.mkdir()
    save_tiny(folder)
    assert is_checkpoint(folder)


def test_metrics_must_be_json(tmp_path):
    with pytest.raises(CheckpointError, match="metrics must be plain JSON"):
        save_tiny(tmp_path / "ckpt", metrics={"bad": object()})
    assert listing(tmp_path) == []


# ---------------------------------------------------------------- metadata and detection
@pytest.mark.parametrize("form", FORMS)
def test_read_checkpoint_meta_builds_no_model(tmp_path, form, monkeypatch):
    path = target(tmp_path, form)
    model = tiny("gan")
    save_checkpoint(path, model, dataset=DATASET, metrics={"fid": 12.5}, history=[{"epoch": 1}],
                    training={"epochs": 1})
    expected = load_checkpoint(path).meta()

    monkeypatch.setattr(ckpt_mod, "create_model", lambda config: pytest.fail("built a model"))
    monkeypatch.setattr(safetensors.torch, "load", lambda data: pytest.fail("read the tensors"))
    meta = read_checkpoint_meta(path)
    assert meta == expected
    assert meta["model"] == model.config.to_dict()
    assert meta["parameters"] == sum(p.numel() for p in model.parameters())
    assert meta["metrics"] == {"fid": 12.5} and meta["history"] == [{"epoch": 1}]
    assert meta["dataset"] == DATASET and meta["training"] == {"epochs": 1}
    assert meta["format_version"] == FORMAT_VERSION and meta["path"] == str(path)
    assert meta["mixture_components"] is None
    json.dumps(meta)  # what `latentlab info --json` prints


def test_is_checkpoint(tmp_path):
    folder, file = tmp_path / "ckpt", tmp_path / "ckpt.safetensors"
    save_tiny(folder)
    save_tiny(file)
    assert is_checkpoint(folder) and is_checkpoint(str(file))
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "config.json").write_text('{"format_version": 1}')  # no weights
    short = tmp_path / "short.safetensors"
    short.write_bytes(b"\x01\x02\x03\x04")
    for path in (tmp_path / "missing", tmp_path, stub, short, folder / "config.json"):
        assert not is_checkpoint(path), path


def test_checkpoint_module_imports_no_qt_and_never_unpickles():
    code = ("import sys, latentlab.models.checkpoint; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')]; "
            "sys.exit(1 if bad else 0)")
    root = str(Path(latentlab.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0
    source = Path(ckpt_mod.__file__).read_text()
    assert not re.search(r"^\s*(import|from) (pickle|dill)|pickle\.loads?\(|(?<!safetensors\.)torch\.load\(",
                         source, re.M)


# ---------------------------------------------------------------- float16 storage
@pytest.mark.parametrize("form", FORMS)
def test_float16_storage_halves_the_weights_and_loads_as_float32(tmp_path, form):
    model = tiny("vae").eval()
    path32 = tmp_path / ("a.safetensors" if form == "file" else "a")
    path16 = tmp_path / ("b.safetensors" if form == "file" else "b")
    save_checkpoint(path32, model, dataset=DATASET)
    save_checkpoint(path16, model, dataset=DATASET, weights_dtype=torch.float16)

    def size(p: Path) -> int:
        return p.stat().st_size if p.is_file() else (p / "model.safetensors").stat().st_size

    assert size(path16) < 0.6 * size(path32)
    loaded = load_checkpoint(path16).model
    state = loaded.state_dict()
    assert all(t.dtype == torch.float32 for t in state.values() if t.is_floating_point())
    for name, original in model.state_dict().items():  # exactly the float16-rounded values
        if original.dtype == torch.float32:
            assert torch.equal(state[name], original.half().float()), name


def test_weights_already_rounded_to_float16_round_trip_bit_identically(tmp_path):
    """What scripts/build_pretrained.py relies on: metrics measured before saving hold after."""
    model = tiny("vae").eval()
    with torch.no_grad():
        for t in [*model.parameters(), *model.buffers()]:
            t.copy_(t.half().float())
    path = save_checkpoint(tmp_path / "m.safetensors", model, dataset=DATASET, weights_dtype=torch.float16)
    z = torch.randn(5, 2)
    assert torch.equal(load_checkpoint(path).model.decode(z), model.decode(z))
