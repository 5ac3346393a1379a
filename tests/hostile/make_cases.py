"""Hostile and malformed checkpoints, crafted from a tiny valid one (issue #7's cases).

    python tests/hostile/make_cases.py OUT_DIR      write every case there and list them

The tests call :func:`make_cases` with a temporary folder. Every case is a ``Case``: a
file or folder, what is wrong with it, and what latentlab must do:

* ``refused``: every reader (``load_checkpoint``, ``latentlab info``, the window) refuses
  it with one message containing ``words``;
* ``opens``: a valid checkpoint with strange content (escape sequences, NaN metrics) that
  must open, with the strange parts escaped or shown as missing;
* ``no_data``: a valid checkpoint whose dataset may not be read without the user's
  consent (a folder, a download): it opens without data unless the user allows it.

:func:`mutations` yields the fuzz cases: seeded random edits of a shipped checkpoint.
"""

from __future__ import annotations

import copy
import json
import random
import struct
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

REFUSED, OPENS, NO_DATA = "refused", "opens", "no_data"
#: A terminal attack: clear the screen, set the window title, ring the bell.
ESCAPES = "\x1b[2J\x1b]0;PWNED\x07"


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    expect: str  # REFUSED, OPENS or NO_DATA
    words: tuple[str, ...] = ()  # words the one-line error must contain (REFUSED)


# ------------------------------------------------------------------ the base file
def base_checkpoint(root: Path) -> Path:
    """A tiny valid VAE (hidden 32, 2-D latent, 28x28 like the bundled digits), one file."""
    from latentlab.data import DIGIT_NAMES
    from latentlab.models.checkpoint import save_checkpoint
    from latentlab.models.registry import create_model, make_config

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = create_model(make_config("vae", hidden=32, latent_dim=2))
    dataset = {"name": "mnist-5k", "class_names": list(DIGIT_NAMES), "image_shape": [1, 28, 28],
               "n_train": 4000, "n_test": 1000, "skipped": 0}
    history = [{"epoch": 1, "train_loss": 210.0, "test_recon": 200.0, "test_kl": 4.0}]
    return save_checkpoint(root / "base.safetensors", model, dataset=dataset, history=history,
                           metrics={"test_neg_elbo": 204.0, "kl_per_dim": [2.0, 2.0]},
                           training={"epochs": 1, "seed": 0})


def read_single(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, the latentlab record) of a single-file checkpoint."""
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        record = json.loads(f.metadata()["latentlab"])
    return tensors, record


def write_single(path: Path, tensors: dict[str, torch.Tensor], metadata_text: str) -> Path:
    """A safetensors file holding ``tensors`` and ``metadata_text`` as the latentlab record."""
    import safetensors.torch

    safetensors.torch.save_file(tensors, str(path), metadata={"format": "pt", "latentlab": metadata_text})
    return path


def nested(depth: int, leaf: str = "1") -> str:
    """JSON text of lists ``depth`` deep (json.dumps itself would recurse that deep)."""
    return "[" * depth + leaf + "]" * depth


# ------------------------------------------------------------------- record edits
def _edit(**changes) -> Callable[[dict], dict]:
    """An edit setting top-level or dotted fields (``"dataset.name"``) of the record."""
    def apply(record: dict) -> dict:
        record = copy.deepcopy(record)
        for dotted, value in changes.items():
            *parents, last = dotted.split("__")
            target = record
            for key in parents:
                target = target[key]
            target[last] = value
        return record
    return apply


DEEP = "\x00DEEP\x00"  # replaced by 900 nested lists in the JSON text

#: (name, edit of the record, words of the error) of records that must be refused.
REFUSED_RECORDS: list[tuple[str, Callable[[dict], dict], tuple[str, ...]]] = [
    ("metric-string", _edit(metrics__test_neg_elbo="low"), ("metric", "number")),
    ("metric-object", _edit(metrics__test_neg_elbo={"a": 1}), ("metric", "number")),
    ("metric-huge-int", _edit(metrics__test_neg_elbo=10**40), ("metric", "too large")),
    ("metrics-list", _edit(metrics=[1, 2]), ("metrics", "object")),
    ("many-metrics", _edit(metrics={f"m{i}": 1.0 for i in range(5000)}), ("metrics", "entries")),
    ("class-names-number", _edit(dataset__class_names=5), ("class_names", "list")),
    ("class-names-numbers", _edit(dataset__class_names=[1, 2]), ("class name", "string")),
    ("class-names-many", _edit(dataset__class_names=["c"] * 5000), ("class_names", "entries")),
    ("deep-metrics", _edit(metrics__x=DEEP), ("metric", "number")),
    ("deep-training", _edit(training__x=DEEP), ("training", "nested")),
    ("deep-dataset", _edit(dataset__x=DEEP), ("dataset", "nested")),
    ("deep-model", _edit(model__hidden=DEEP), ("model", "nested")),
    ("deep-history", _edit(history=[{"epoch": 1, "train_loss": DEEP}]), ("history", "number")),
    ("history-strings", _edit(history=[{"epoch": 1, "train_loss": "high"}]), ("history", "number")),
    ("history-numbers", _edit(history=[1, 2, 3]), ("history entry", "object")),
    ("history-object", _edit(history={"epoch": 1}), ("history", "list")),
    ("history-epoch-nan", _edit(history=[{"epoch": float("nan")}]), ("epoch", "whole number")),
    ("history-too-long", _edit(history=[{"epoch": 1}] * 60_000), ("history", "entries")),
    ("kl-string", _edit(metrics__kl_per_dim=["a", 1.0]), ("kl_per_dim", "number")),
    ("kl-wrong-length", _edit(metrics__kl_per_dim=[1.0] * 7), ("kl_per_dim", "2 numbers")),
    ("kl-number", _edit(metrics__kl_per_dim=3.0), ("kl_per_dim", "2 numbers")),
    ("dataset-name-object", _edit(dataset__name={"path": "/usr"}), ("dataset", "name", "string")),
    ("dataset-name-long", _edit(dataset__name="folder:/" + "a" * 10_000), ("dataset", "name", "characters")),
    ("dataset-string", _edit(dataset="mnist"), ("dataset", "object")),
    ("dataset-image-shape", _edit(dataset__image_shape=[1, -28, 28]), ("image_shape", "whole number")),
    ("created-number", _edit(created=5), ("created", "string")),
    ("created-megabyte", _edit(created="x" * 1_000_000), ("created", "characters")),
    ("version-list", _edit(latentlab_version=["1"]), ("latentlab_version", "string")),
    ("parameters-huge", _edit(parameters=10**40), ("parameters", "whole number")),
    ("parameters-string", _edit(parameters="many"), ("parameters", "whole number")),
    ("training-string", _edit(training="fast"), ("training", "object")),
    ("training-epochs-negative", _edit(training__epochs=-1), ("epochs", "whole number")),
    ("training-epochs-string", _edit(training__epochs="ten"), ("epochs", "whole number")),
    ("format-version-string", _edit(format_version="1"), ("format_version",)),
    ("format-version-huge", _edit(format_version=10**30), ("format_version",)),
    ("format-version-newer", _edit(format_version=2), ("newer latentlab",)),
    ("model-family-unknown", _edit(model__family="diffusion"), ("family", "diffusion")),
    ("model-latent-huge", _edit(model__latent_dim=10**9), ("latent_dim",)),
    ("model-hidden-list", _edit(model__hidden=list(range(50))), ("hidden",)),
    ("model-missing", lambda r: {k: v for k, v in r.items() if k != "model"}, ("model",)),
]

#: Records that are valid but strange: they must open, with the strange parts made harmless.
OPENING_RECORDS: list[tuple[str, Callable[[dict], dict]]] = [
    ("escape-created", _edit(created=ESCAPES)),
    ("escape-version", _edit(latentlab_version="1.0\u202e\x1b[31m")),
    ("escape-class-names", _edit(dataset__class_names=[ESCAPES] + [str(d) for d in range(1, 10)])),
    ("escape-metric-name", _edit(metrics={"test\x1b[2J": 1.0, "kl_per_dim": [1.0, 1.0]})),
    ("html-class-names", _edit(dataset__class_names=["<img src='/etc/passwd'>"] + [str(d) for d in range(1, 10)])),
    ("nan-metrics", _edit(metrics={"test_neg_elbo": float("nan"), "judge_fid": float("inf"),
                                   "kl_per_dim": [float("nan"), 1.0]})),
    ("null-metric", _edit(metrics__test_recon=None)),
    ("nan-history", _edit(history=[{"epoch": 1, "train_loss": float("nan"), "test_kl": float("inf")},
                                   {"epoch": 2, "train_loss": 5.0, "test_kl": None}])),
    ("no-history-no-metrics", _edit(history=[], metrics={})),
    ("unknown-dataset", _edit(dataset__name="imagenet-21k")),
]


def _no_data_records(private_folder: Path) -> list[tuple[str, Callable[[dict], dict]]]:
    return [
        ("dataset-folder", _edit(dataset__name=f"folder:{private_folder}")),
        ("dataset-download", _edit(dataset__name="mnist")),
    ]


def _text(record: dict) -> str:
    text = json.dumps(record)  # NaN and Infinity as Python writes them
    return text.replace(json.dumps(DEEP), nested(900))


# ------------------------------------------------------------------------ byte-level
def _float8(root: Path, tensors: dict, record: dict) -> Path:
    weights = {k: (v.to(torch.float8_e4m3fn) if v.is_floating_point() and not k.startswith("mixture.") else v)
               for k, v in tensors.items()}
    return write_single(root / "float8.safetensors", weights, json.dumps(record))


def _huge_header(root: Path, size: int = 20 * 2**20) -> Path:
    """A file whose header says (truthfully) that it is ``size`` bytes long: 20 MB of JSON."""
    text = b'{"__metadata__": {"pad": "' + b"x" * (size - 40) + b'"}}'
    path = root / "huge-header.safetensors"
    path.write_bytes(struct.pack("<Q", len(text)) + text)
    return path


def _metadata_text(root: Path, tensors: dict, name: str, text: str) -> Path:
    return write_single(root / f"{name}.safetensors", tensors, text)


def _folder_cases(root: Path, base: Path) -> list[Case]:
    """The folder form: the same problems in config.json, metrics.json and history.json."""
    from latentlab.models.checkpoint import load_checkpoint, save_checkpoint

    ckpt = load_checkpoint(base)
    cases = []
    for name, file, text, words in (
        ("folder-deep-config", "config.json", None, ("nested",)),
        ("folder-metrics-strings", "metrics.json", '{"test_neg_elbo": "low"}', ("metric", "number")),
        ("folder-history-strings", "history.json", '[{"epoch": "one"}]', ("epoch", "number")),
        ("folder-deep-history", "history.json", nested(900), ("history",)),
    ):
        folder = save_checkpoint(root / name, ckpt.model, dataset=ckpt.dataset, metrics=ckpt.metrics,
                                 history=ckpt.history, training=ckpt.training)
        if text is None:
            config = json.loads((folder / file).read_text())
            config["training"]["x"] = DEEP
            text = _text(config)
        (folder / file).write_text(text)
        cases.append(Case(name, folder, REFUSED, words))
    return cases


# ------------------------------------------------------------------------ the cases
def make_cases(root: Path, private_folder: Path | None = None) -> list[Case]:
    """Write every crafted case under ``root``; ``private_folder`` is what the folder:
    dataset names (default: a folder under ``root`` with two classes of images)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    base = base_checkpoint(root)
    tensors, record = read_single(base)
    if private_folder is None:
        private_folder = make_image_folder(root / "private")
    cases = [Case("base", base, OPENS)]
    for name, edit, words in REFUSED_RECORDS:
        cases.append(Case(name, _metadata_text(root, tensors, name, _text(edit(record))), REFUSED, words))
    for name, edit in OPENING_RECORDS:
        cases.append(Case(name, _metadata_text(root, tensors, name, _text(edit(record))), OPENS))
    for name, edit in _no_data_records(private_folder):
        cases.append(Case(name, _metadata_text(root, tensors, name, _text(edit(record))), NO_DATA))
    cases += [
        Case("float8-weights", _float8(root, tensors, record), REFUSED, ("F8_E4M3", "float32")),
        Case("header-20mb", _huge_header(root), REFUSED, ("header", "MB")),
        Case("metadata-not-json", _metadata_text(root, tensors, "metadata-not-json", "{nope"), REFUSED,
             ("not valid JSON",)),
        Case("metadata-deep", _metadata_text(root, tensors, "metadata-deep", nested(100_000)), REFUSED,
             ("not valid JSON",)),
        Case("metadata-list", _metadata_text(root, tensors, "metadata-list", "[1]"), REFUSED, ("object",)),
    ]
    return cases + _folder_cases(root, base)


def make_image_folder(path: Path, classes: tuple[str, ...] = ("cat", "dog"), per_class: int = 6) -> Path:
    """A small image folder dataset (one sub-folder of 28x28 PNGs per class)."""
    from PIL import Image

    rng = random.Random(0)
    for name in classes:
        (path / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = bytes(rng.randrange(256) for _ in range(28 * 28))
            Image.frombytes("L", (28, 28), pixels).save(path / name / f"{i}.png")
    return path


# ------------------------------------------------------------------------- fuzzing
def mutations(source: Path, out: Path, count: int, seed: int = 0) -> Iterator[Path]:
    """``count`` mutated copies of the single-file checkpoint ``source`` (fixed ``seed``),
    each written to the same file ``out/mutant.safetensors`` in turn (copy it to keep it).

    Half are byte edits (flips, truncation, insertion, a new header length), aimed mostly
    at the header where the parser works; half are record edits that swap a random field
    for a hostile value, written as a well-formed file so the schema is what meets them.
    """
    rng = random.Random(seed)
    data = source.read_bytes()
    header_end = 8 + struct.unpack("<Q", data[:8])[0]
    tensors, record = read_single(source)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "mutant.safetensors"
    for i in range(count):
        if i % 2:
            path.write_bytes(_byte_mutation(rng, data, header_end))
        else:
            write_single(path, tensors, _record_mutation(rng, record))
        yield path


def _byte_mutation(rng: random.Random, data: bytes, header_end: int) -> bytes:
    buf = bytearray(data)
    kind = rng.randrange(5)
    if kind == 0:  # flip a few bytes in the header
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(8, header_end)] = rng.randrange(256)
    elif kind == 1:  # flip bytes anywhere
        for _ in range(rng.randint(1, 32)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif kind == 2:  # truncate
        del buf[rng.randrange(len(buf)):]
    elif kind == 3:  # insert or delete bytes in the header
        at = rng.randrange(8, header_end)
        if rng.random() < 0.5:
            del buf[at : at + rng.randint(1, 16)]
        else:
            buf[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    else:  # another header length
        length = rng.choice([0, 1, header_end - 9, header_end, 2**31, 2**63 - 1, rng.randrange(2**64)])
        buf[:8] = struct.pack("<Q", length % 2**64)
    return bytes(buf)


_HOSTILE_VALUES = [None, True, -1, 0, 10**30, 1e308, float("nan"), float("inf"), "", "x" * 5000, ESCAPES,
                   [], [1, "a"], {}, {"a": {"b": {"c": {"d": {"e": 1}}}}}, DEEP, "folder:/usr", "mnist"]


def _record_mutation(rng: random.Random, record: dict) -> str:
    record = copy.deepcopy(record)
    for _ in range(rng.randint(1, 3)):
        parent, key = _random_slot(rng, record)
        if rng.random() < 0.1 and isinstance(parent, dict):
            parent.pop(key, None)
        else:
            parent[key] = copy.deepcopy(rng.choice(_HOSTILE_VALUES))
    return _text(record)


def _random_slot(rng: random.Random, record: dict) -> tuple[dict | list, str | int]:
    """A random (container, key) in the record, reached by a random walk from the top."""
    parent: dict | list = record
    key: str | int = rng.choice(list(record))
    while rng.random() < 0.7:
        child = parent[key]
        if isinstance(child, dict) and child:
            parent, key = child, rng.choice(list(child))
        elif isinstance(child, list) and child:
            parent, key = child, rng.randrange(len(child))
        else:
            break
    return parent, key


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tests/hostile/make_cases.py OUT_DIR")
    for case in make_cases(Path(sys.argv[1])):
        print(f"{case.expect:8} {case.name:28} {case.path}")
