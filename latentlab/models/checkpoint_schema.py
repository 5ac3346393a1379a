"""What a checkpoint's JSON may hold: every field read from a file is checked here, once.

A checkpoint may come from a stranger, so nothing read from one is trusted. Before any
other code sees it, :func:`validate_record` checks each field's type, range, length and
nesting depth, and returns new, plain values: strings, finite-or-NaN numbers, lists and
dicts no deeper than the schema says. The limits lie far above what latentlab writes (a
real record is a few kilobytes; a 50,000-epoch history is about 15 MB), so they refuse
only files made to hurt: a 900-deep list, a million class names, a string where a number
belongs. Problems are raised as :class:`SchemaError` naming the field; the checkpoint
reader words them as a CheckpointError with the path.

The model's config is checked by ``ModelConfig.from_dict`` (models/config.py) after the
shape checks here; weights by the header checks in checkpoint.py and :func:`check_weight_dtype`.
"""

from __future__ import annotations

import math
from typing import Any

#: Longest strings: versions and dates, names (a dataset name holds a folder path), class names.
MAX_SHORT_TEXT = 100
MAX_NAME_TEXT = 4096
MAX_CLASS_NAME = 200
#: Most classes of a dataset (ModelConfig's num_classes allows up to 1000).
MAX_CLASSES = 1000
#: Most epochs in a history, keys in one record or a metrics map, numbers in one metric.
MAX_HISTORY = 50_000
MAX_KEYS = 256
MAX_VECTOR = 4096
#: Free-form settings (``training``, unknown dataset fields): at most this deep and long.
MAX_EXTRA_DEPTH = 4
MAX_EXTRA_ITEMS = 64
#: Whole numbers beyond this are refused (formatting 10**4000 as a float overflows).
MAX_INT = 10**15
#: Element types latentlab reads as weights (safetensors names). 8-bit floats are refused:
#: torch cannot even test them for NaN, and latentlab never writes them.
WEIGHT_DTYPES = frozenset({"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"})


class SchemaError(ValueError):
    """A field of a checkpoint's record does not fit the schema; the message names it."""


# ----------------------------------------------------------------------- the record
def validate_record(raw: dict, metrics: Any, history: Any) -> dict:
    """The checked record: format_version, latentlab_version, created, model, parameters,
    dataset, training, metrics and history, as new plain values.

    ``raw`` is config.json (or the single file's metadata) as parsed; ``metrics`` and
    ``history`` come from their own files in a folder. ``model`` is shape-checked only:
    the caller builds the config from it. Raises SchemaError.
    """
    if not isinstance(raw, dict):
        raise SchemaError(f"the record must be a JSON object, got {_kind(raw)}")
    record: dict[str, Any] = {"format_version": _count(_required(raw, "format_version"), "format_version")}
    for name in ("latentlab_version", "created"):
        record[name] = _text(_required(raw, name), name, MAX_SHORT_TEXT)
    record["model"] = _extra_object(_required(raw, "model"), "model", depth=2)
    for key, value in record["model"].items():
        if isinstance(value, str):
            _text(value, f"model's {_short(key)}", MAX_SHORT_TEXT)
    parameters = raw.get("parameters")
    record["parameters"] = None if parameters is None else _count(parameters, "parameters")
    record["dataset"] = validate_dataset(_required(raw, "dataset"))
    record["training"] = _extra_object(_required(raw, "training"), "training")
    if "epochs" in record["training"]:
        _count(record["training"]["epochs"], "training's 'epochs'")
    record["metrics"] = validate_metrics(metrics)
    record["history"] = validate_history(history)
    return record


def check_against_config(record: dict, latent_dim: int) -> None:
    """Cross-checks that need the model's config: one KL value per latent dimension."""
    kl = record["metrics"].get("kl_per_dim")
    if kl is not None and (not isinstance(kl, list) or len(kl) != latent_dim):
        raise SchemaError(f"metrics' 'kl_per_dim' must list {latent_dim} numbers (one per latent dimension)")


def check_weight_dtype(key: str, dtype: str) -> None:
    if dtype not in WEIGHT_DTYPES:
        raise SchemaError(
            f"tensor {key!r} is stored as {dtype}, which latentlab does not read; "
            "save the weights as float32, float16 or bfloat16"
        )


# ---------------------------------------------------------------------- the fields
def validate_dataset(value: Any) -> dict:
    """``name`` (a string), ``class_names`` (strings), ``image_shape`` (3 counts), the
    counts ``n_train``, ``n_test`` and ``skipped``; other fields as bounded plain JSON."""
    dataset: dict[str, Any] = {}
    for key, item in _object(value, "dataset").items():
        if key == "name":
            dataset[key] = _text(item, "dataset's 'name'", MAX_NAME_TEXT)
        elif key == "class_names":
            names = _list(item, "dataset's 'class_names'", MAX_CLASSES)
            dataset[key] = [_text(n, "a class name", MAX_CLASS_NAME) for n in names]
        elif key == "image_shape":
            if not isinstance(item, list) or len(item) != 3:
                raise SchemaError("dataset's 'image_shape' must list 3 whole numbers (channels, height, width)")
            dataset[key] = [_count(v, "dataset's 'image_shape'") for v in item]
        elif key in ("n_train", "n_test", "skipped"):
            dataset[key] = _count(item, f"dataset's {key!r}")
        else:
            _text(key, "a field name in dataset", MAX_SHORT_TEXT)
            dataset[key] = _plain(item, f"dataset's {_short(key)}", MAX_EXTRA_DEPTH - 1)
    return dataset


def validate_metrics(value: Any) -> dict:
    """A map of names to a number, null, or a list of numbers (e.g. ``kl_per_dim``)."""
    metrics: dict[str, Any] = {}
    for key, item in _object(value, "the metrics").items():
        name = f"metric {_short(key)}"
        _text(key, "a metric name", MAX_SHORT_TEXT)
        if isinstance(item, list):
            metrics[key] = [_number_or_null(v, name) for v in _list(item, name, MAX_VECTOR)]
        else:
            metrics[key] = _number_or_null(item, name)
    return metrics


def validate_history(value: Any) -> list[dict]:
    """Per-epoch records: a map of names to numbers (NaN allowed: a diverged loss), with
    ``epoch`` a count. A null value means "not measured" and is left out."""
    entries = _list(value, "the history", MAX_HISTORY)
    history = []
    for entry in entries:
        record = {}
        for key, item in _object(entry, "a history entry").items():
            _text(key, "a history field name", MAX_SHORT_TEXT)
            number = _number_or_null(item, f"history field {_short(key)}")
            if number is not None:
                record[key] = number
        if "epoch" in record:
            record["epoch"] = _count(record["epoch"], "a history entry's 'epoch'")
        history.append(record)
    return history


# ----------------------------------------------------------------------- the types
def _required(raw: dict, name: str) -> Any:
    if name not in raw:
        raise SchemaError(f"it lacks {name!r}")
    return raw[name]


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _short(text: Any, limit: int = 40) -> str:
    """A field name for a message: quoted, cut, without control characters."""
    if not isinstance(text, str):
        return _kind(text)
    shown = "".join(ch if ch.isprintable() else "?" for ch in text[:limit])
    return repr(shown + ("…" if len(text) > limit else ""))


def _text(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str):
        raise SchemaError(f"{what} must be a string, got {_kind(value)}")
    if len(value) > limit:
        raise SchemaError(f"{what} is {len(value):,} characters long, more than {limit:,}")
    return value


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_INT:
        raise SchemaError(f"{what} must be a whole number from 0 to {MAX_INT:.0e}, got {_describe(value)}")
    return value


def _number_or_null(value: Any, what: str) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SchemaError(f"{what} must be a number, got {_kind(value)}")
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise SchemaError(f"{what} is a whole number of {len(str(abs(value)))} digits, too large")
    return value


def _describe(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, int) and abs(value) > MAX_INT:
            return f"a number of {len(str(abs(value)))} digits"
        return repr(value) if isinstance(value, int) or math.isfinite(value) else str(value)
    return _kind(value)


def _list(value: Any, what: str, limit: int) -> list:
    return _sized(value, list, what, limit)


def _object(value: Any, what: str, limit: int = MAX_KEYS) -> dict:
    return _sized(value, dict, what, limit)


def _sized(value: Any, kind: type, what: str, limit: int) -> Any:
    """``value`` if it is a JSON list or object (``kind``) of at most ``limit`` entries."""
    if not isinstance(value, kind):
        raise SchemaError(f"{what} must be a JSON {'list' if kind is list else 'object'}, got {_kind(value)}")
    if len(value) > limit:
        raise SchemaError(f"{what} has {len(value):,} entries, more than {limit:,}")
    return value


def _extra_object(value: Any, what: str, depth: int = MAX_EXTRA_DEPTH) -> dict:
    """A JSON object of bounded plain values (settings whose keys this schema need not know),
    at most ``depth`` containers deep counting itself."""
    return _plain(_object(value, what), what, depth, limit=MAX_KEYS)


def _plain(value: Any, what: str, depth: int, limit: int = MAX_EXTRA_ITEMS) -> Any:
    """A copy of a JSON value at most ``depth`` containers deep, with bounded lengths."""
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        return _number_or_null(value, what)
    if isinstance(value, str):
        return _text(value, what, MAX_NAME_TEXT)
    if not isinstance(value, (list, dict)):
        raise SchemaError(f"{what} holds {_kind(value)}")
    if depth <= 0:
        raise SchemaError(f"{what} is nested deeper than the schema allows")
    if len(value) > limit:
        raise SchemaError(f"{what} has {len(value):,} entries, more than {limit}")
    if isinstance(value, list):
        return [_plain(v, what, depth - 1) for v in value]
    copy = {}
    for key, item in value.items():
        _text(key, f"a field name in {what}", MAX_SHORT_TEXT)
        copy[key] = _plain(item, f"{what}'s {_short(key)}", depth - 1)
    return copy
