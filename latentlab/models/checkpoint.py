"""Checkpoints: a folder or one ``.safetensors`` file, with nothing pickled.

Folder form (any path not ending in ``.safetensors``)::

    config.json             format_version, latentlab_version, created, model, dataset,
                            training, parameters
    model.safetensors       the state_dict, plus the latent mixture as "mixture.*" and the
                            flow prior as "flow_prior.*"
    metrics.json            {"test_neg_elbo": 150.2, ...}
    history.json            [{...per-epoch record...}, ...]
    optimizer.safetensors   optional: the optimisers' tensors ("opt{i}.state.{id}.{name}")
    optimizer.json          optional: the rest of their state_dicts, pointing at those tensors

Single-file form (``*.safetensors``): the same tensors, with everything config.json,
metrics.json and history.json would hold as JSON under the header metadata key
``"latentlab"``; no optimiser state.

Opening a stranger's file must never run code, so this module never unpickles: pickles
are recognised by name and magic bytes and refused before any parser sees them, and the
safetensors header is checked by hand (length, bounds, offsets) before tensors are read.
Saves are atomic: everything is written under a temporary name in the same folder,
fsynced and renamed into place, so a crash leaves the previous checkpoint intact. A
folder is swapped with two renames (the old one aside, the new one in); a process killed
between them leaves no checkpoint at the path, and the next load puts it back by itself
(``recover_interrupted_save``). Each save removes the leftovers of killed saves.
"""

from __future__ import annotations

import copy
import glob
import json
import logging
import math
import os
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.torch
import torch

from latentlab import __version__
from latentlab.atomic import fsync_dir, in_flight, remove_leftovers, replace_file, stale_leftovers, temp_sibling
from latentlab.atomic import write_synced
from latentlab.errors import CheckpointError, ConfigError
from latentlab.models.base import LatentModel
from latentlab.models.checkpoint_schema import (
    SchemaError,
    check_against_config,
    check_weight_dtype,
    validate_record,
)
from latentlab.models.config import ModelConfig
from latentlab.models.flow import LatentFlow
from latentlab.models.mixture import LatentMixture
from latentlab.models.registry import config_from_dict, create_model

FORMAT_VERSION = 1

SUFFIX = ".safetensors"
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
METRICS_FILE = "metrics.json"
HISTORY_FILE = "history.json"
OPTIMIZER_TENSORS_FILE = "optimizer.safetensors"
OPTIMIZER_JSON_FILE = "optimizer.json"
CHECKPOINT_FILES = frozenset(
    {CONFIG_FILE, WEIGHTS_FILE, METRICS_FILE, HISTORY_FILE, OPTIMIZER_TENSORS_FILE, OPTIMIZER_JSON_FILE}
)
#: Suffixes of pickled files (torch.save, pickle.dump); refused by name alone.
PICKLE_SUFFIXES = frozenset({".pt", ".pth", ".ckpt", ".pkl", ".pickle"})
#: Upper bound on a safetensors header and on any JSON file: hostile sizes are refused before
#: they are read. A shipped checkpoint's header is under 20 KB; even a 50,000-epoch history
#: (checkpoint_schema.MAX_HISTORY) stays below this.
MAX_HEADER_BYTES = 16 * 1024 * 1024
MAX_JSON_BYTES = 16 * 1024 * 1024
METADATA_KEY = "latentlab"
MIXTURE_PREFIX = "mixture."
FLOW_PREFIX = "flow_prior."

log = logging.getLogger(__name__)

# Bytes per element of the safetensors dtypes a checkpoint may hold.
_DTYPE_SIZES = {
    "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
    "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
    "I32": 4, "U32": 4, "F32": 4,
    "I64": 8, "U64": 8, "F64": 8,
}


@dataclass
class Checkpoint:
    """A loaded checkpoint: the ready model plus everything saved with it."""

    model: LatentModel
    dataset: dict
    metrics: dict
    history: list
    training: dict
    path: Path | None
    created: str
    latentlab_version: str
    format_version: int
    #: Raw optimiser state_dicts, only when loaded with ``load_optimizer_state=True``.
    optimizer_state: list[dict] | None = None

    def meta(self) -> dict:
        """Everything but the weights, as JSON values (what ``latentlab info --json`` prints)."""
        mixture = self.model.mixture
        return _meta_dict(
            self.path,
            {
                "format_version": self.format_version,
                "latentlab_version": self.latentlab_version,
                "created": self.created,
                "model": self.model.config.to_dict(),
                "parameters": sum(p.numel() for p in self.model.parameters()),
                "dataset": self.dataset,
                "training": self.training,
                "metrics": self.metrics,
                "history": self.history,
            },
            mixture_components=None if mixture is None else int(mixture.weights.shape[0]),
            flow_prior_layers=None if self.model.flow_prior is None else self.model.flow_prior.layers,
        )


# ====================================================================== saving
def save_checkpoint(
    path: str | os.PathLike[str],
    model: LatentModel,
    *,
    dataset: dict,
    metrics: dict | None = None,
    history: list | None = None,
    training: dict | None = None,
    optimizers: list[torch.optim.Optimizer] | None = None,
    weights_dtype: torch.dtype | None = None,
) -> Path:
    """Save atomically as a folder, or as one file when ``path`` ends in ``.safetensors``.

    The single-file form holds no optimiser state: ``optimizers`` is ignored there.
    ``weights_dtype`` (e.g. ``torch.float16``) stores the model's float32 weights in that
    type, halving the file (the shipped checkpoints use it); loading casts them back to
    the model's dtype. The latent mixture and the flow prior always stay float32.
    Replaces an existing latentlab checkpoint; refuses to replace anything else.
    Returns the path written.
    """
    path = Path(path).expanduser()
    single = path.suffix.lower() == SUFFIX
    _refuse_pickle_suffix(path)
    for name, value, kind in (
        ("dataset", dataset, dict), ("metrics", metrics, dict),
        ("history", history, list), ("training", training, dict),
    ):
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"save_checkpoint: {name} must be a {kind.__name__}, got {type(value).__name__}")
    try:
        _check_replaceable(path, single)
        _writable_folder_above(path)
        try:
            config_from_dict(model.config.to_dict())
        except ConfigError as exc:
            raise CheckpointError(f"cannot save {path}: the model's config is invalid ({exc})") from exc
        weights = _weights_for_save(path, model, weights_dtype)
        record = {
            "format_version": FORMAT_VERSION,
            "latentlab_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "model": model.config.to_dict(),
            "parameters": sum(p.numel() for p in model.parameters()),
            "dataset": dataset,
            "training": training or {},
        }
        metrics, history = metrics or {}, history or []
        if single:
            everything = {**record, "metrics": metrics, "history": history}
            metadata = {"format": "pt", METADATA_KEY: _to_json(path, everything, "the checkpoint's metadata")}
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(path, _serialize(weights, metadata))
            remove_leftovers(path)
            return path
        # JSON is encoded up front (it is small and may be refused); tensors one file at a time.
        # config.json comes last: a temporary folder that has it is complete (recovery relies on it).
        files: dict[str, bytes | Callable[[], bytes]] = {
            METRICS_FILE: _to_json(path, metrics, "metrics", indent=1).encode(),
            HISTORY_FILE: _to_json(path, history, "history", indent=1).encode(),
            WEIGHTS_FILE: lambda: _serialize(weights, {"format": "pt"}),
        }
        if optimizers:
            opt_tensors, opt_json = _flatten_optimizers(path, optimizers)
            files[OPTIMIZER_JSON_FILE] = opt_json.encode()
            files[OPTIMIZER_TENSORS_FILE] = lambda: _serialize(opt_tensors, {"format": "pt"})
        files[CONFIG_FILE] = _to_json(path, record, "the config", indent=1).encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        _replace_folder(path, files)
        remove_leftovers(path)
    except OSError as exc:
        raise CheckpointError(
            f"could not save checkpoint {path}: {exc.strerror or exc}; check the free disk space and "
            "that the folder is writable (any previous checkpoint there is unchanged)"
        ) from exc
    return path


def _check_replaceable(path: Path, single: bool) -> None:
    """Refuse to overwrite anything that is not a latentlab checkpoint of the same form."""
    if not os.path.lexists(path):
        return
    what = "folder" if path.is_dir() else "file"
    if path.is_symlink():
        raise CheckpointError(
            f"refusing to save over {path}: it is a symbolic link; save to the real path or choose a new name"
        )
    if single:
        if path.is_file() and is_checkpoint(path):
            return
    elif path.is_dir():
        entries = sorted(os.listdir(path))
        if not entries:
            return
        if _folder_record_or_none(path) is not None:
            strangers = [e for e in entries if e not in CHECKPOINT_FILES]
            if not strangers:
                return
            raise CheckpointError(
                f"refusing to save over checkpoint {path}: it also holds {_few(strangers)}, which saving "
                "would delete; move them away or choose a new name"
            )
    raise CheckpointError(
        f"refusing to save over {path}: the {what} exists and is not a latentlab checkpoint; "
        "choose a new name (latentlab only replaces its own checkpoints)"
    )


def check_save_destination(path: str | os.PathLike[str], *, needed_bytes: int = 0) -> Path:
    """Raise CheckpointError now if a checkpoint could not be saved at ``path`` later: the
    checks ``save_checkpoint`` makes before writing (a pickle suffix, something there that
    is not a latentlab checkpoint, a file where a folder should be, a folder that is not
    writable) and, with ``needed_bytes``, too little free space. Call it before training.
    Returns the expanded path.
    """
    path = Path(path).expanduser()
    _refuse_pickle_suffix(path)
    _check_replaceable(path, path.suffix.lower() == SUFFIX)
    folder = _writable_folder_above(path)
    if needed_bytes > 0:
        try:
            free = shutil.disk_usage(folder).free
        except OSError:
            return path
        if free < needed_bytes:
            raise CheckpointError(
                f"cannot save to {path}: {folder} has {free / 2**20:.1f} MB free and the checkpoint needs "
                f"about {needed_bytes / 2**20:.1f} MB; free some space or choose another disk"
            )
    return path


def estimated_size(model: LatentModel, *, optimizer_copies: int = 2) -> int:
    """Bytes a saved checkpoint of ``model`` takes, about: its weights plus the optimiser's
    per-weight state (Adam keeps two moments), with a margin for the JSON files."""
    weights = sum(p.numel() * p.element_size() for p in model.state_dict().values())
    return int(weights * (1 + optimizer_copies) * 1.1) + 2**20


def fallback_path(path: str | os.PathLike[str]) -> Path:
    """Where to save when ``path`` fails at the end of a long run: a fresh name in the user's
    data folder (``rescued/NAME-DATE-TIME``, same form: folder or ``.safetensors``)."""
    from latentlab.locations import data_dir

    path = Path(path)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    stem = path.stem if path.suffix.lower() == SUFFIX else path.name
    suffix = SUFFIX if path.suffix.lower() == SUFFIX else ""
    folder = data_dir() / "rescued"
    candidate = folder / f"{stem or 'model'}-{stamp}{suffix}"
    n = 1
    while os.path.lexists(candidate):
        n += 1
        candidate = folder / f"{stem or 'model'}-{stamp}-{n}{suffix}"
    return candidate


def _refuse_pickle_suffix(path: Path) -> None:
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(
            f"cannot save a checkpoint as {path}: {path.suffix} is the suffix of pickled files, "
            f"which latentlab never writes; choose a folder name or a name ending in {SUFFIX}"
        )


def _writable_folder_above(path: Path) -> Path:
    """The nearest existing folder above ``path`` (where saving creates or renames), after
    checking that no file stands in the way and that it is writable."""
    folder = path.parent
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise CheckpointError(
            f"cannot save to {path}: {folder} is a file, not a folder; choose another path"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CheckpointError(
            f"cannot save to {path}: the folder {folder} is not writable; choose a folder you can write to"
        )
    return folder


def _weights_for_save(path: Path, model: LatentModel, dtype: torch.dtype | None = None) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies of the state_dict (float32 ones cast to ``dtype`` if given) and
    the mixture; each copy owns its storage."""
    state = model.state_dict()
    clash = [k for k in state if k.startswith((MIXTURE_PREFIX, FLOW_PREFIX))]
    if clash:
        raise CheckpointError(
            f"cannot save {path}: the model's weight names {_few(clash)} clash with the reserved "
            f"prefixes {MIXTURE_PREFIX!r} and {FLOW_PREFIX!r} of the latent priors"
        )
    tensors = {k: _owned_cpu_copy(v) for k, v in state.items()}
    if dtype is not None:
        tensors = {k: v.to(dtype) if v.dtype == torch.float32 else v for k, v in tensors.items()}
    if model.mixture is not None:
        tensors.update({MIXTURE_PREFIX + k: _owned_cpu_copy(v) for k, v in model.mixture.tensors().items()})
    if model.flow_prior is not None:
        tensors.update({FLOW_PREFIX + k: _owned_cpu_copy(v) for k, v in model.flow_prior.tensors().items()})
    bad = _non_finite_keys(tensors)
    if bad:
        raise CheckpointError(
            f"cannot save {path}: the weights {_few(bad)} hold NaN or infinity, so the model is "
            "broken (training diverged); lower the learning rate and retrain, or save an earlier state"
        )
    return tensors


def _owned_cpu_copy(t: torch.Tensor) -> torch.Tensor:
    # A fresh contiguous copy: tied or viewed tensors would share storage, which safetensors refuses.
    return t.detach().to("cpu", copy=True).contiguous()


def _flatten_optimizers(
    path: Path, optimizers: list[torch.optim.Optimizer]
) -> tuple[dict[str, torch.Tensor], str]:
    """(tensors for optimizer.safetensors, text of optimizer.json) of the optimisers' state_dicts."""
    tensors: dict[str, torch.Tensor] = {}
    encoded = [_encode(opt.state_dict(), f"opt{i}", tensors) for i, opt in enumerate(optimizers)]
    return tensors, _to_json(path, {"optimizers": encoded}, "the optimiser state")


def _encode(obj: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    """A JSON value for ``obj``; tensors move to ``tensors`` under ``key`` and leave a reference.

    Tuples become ``{"__tuple__": [...]}`` and dicts with non-string (or ``__``-prefixed)
    keys become ``{"__items__": [[k, v], ...]}``, so ``_decode`` restores them exactly.
    """
    if isinstance(obj, torch.Tensor):
        if key in tensors:
            raise CheckpointError(f"optimiser state has two tensors named {key!r}")
        tensors[key] = _owned_cpu_copy(obj)
        return {"__tensor__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _encode(v, f"{key}.{k}", tensors) for k, v in obj.items()}
        return {"__items__": [[_encode(k, "", {}), _encode(v, f"{key}.{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{key}.{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{key}.{i}", tensors) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise CheckpointError(
        f"cannot save the optimiser state: it holds a {type(obj).__name__} at {key!r}, which only a "
        "pickle could store; use a torch optimiser whose state is tensors and numbers"
    )


def _decode(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]].clone()
        if "__tuple__" in obj:
            return tuple(_decode(v, tensors) for v in obj["__tuple__"])
        if "__items__" in obj:
            return {_decode(k, tensors): _decode(v, tensors) for k, v in obj["__items__"]}
        return {k: _decode(v, tensors) for k, v in obj.items()}
    return obj


def _to_json(path: Path, value: Any, what: str, indent: int | None = None) -> str:
    """``value`` as JSON text; numpy and tensor numbers become plain ones, anything else is refused."""
    def plain(obj: Any) -> Any:
        if isinstance(obj, (np.generic, np.ndarray)):
            return obj.tolist()
        if isinstance(obj, torch.Tensor):
            return obj.detach().cpu().tolist()
        if isinstance(obj, os.PathLike):
            return os.fspath(obj)
        raise TypeError(f"a {type(obj).__name__} is not a JSON value")

    try:
        return json.dumps(value, default=plain, indent=indent)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"cannot save {path}: {what} must be plain JSON data ({exc})") from exc


def _serialize(tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> bytes:
    return safetensors.torch.save(tensors, metadata=metadata)


def _replace_folder(path: Path, files: dict[str, bytes | Callable[[], bytes]]) -> None:
    """Write ``files`` (bytes, or a callable making them) into a temp folder, then swap it
    with ``path``; on failure the temp folder goes and the old checkpoint stays."""
    tmp, old = temp_sibling(path, "tmp"), temp_sibling(path, "old")
    with in_flight(tmp, old):
        tmp.mkdir()
        try:
            for name, make in files.items():
                write_synced(tmp / name, make() if callable(make) else make)
            fsync_dir(tmp)
            if os.path.lexists(path):
                os.rename(path, old)
                try:
                    os.rename(tmp, path)
                except BaseException:
                    os.rename(old, path)
                    raise
                fsync_dir(path.parent)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tmp, path)
                fsync_dir(path.parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise


# ============================================================ interrupted saves
def recover_interrupted_save(path: str | os.PathLike[str]) -> Path | None:
    """Put back a checkpoint folder whose save was killed between its two renames.

    Then ``path`` is missing, the previous checkpoint sits complete at ``.NAME.old-*`` and
    the new one complete at ``.NAME.tmp-*`` (config.json is written last, so a temporary
    folder that has a valid one was written to the end). The new one is renamed to ``path``
    when it is complete, else the previous one. Only leftovers of processes that have ended
    are considered; nothing happens when ``path`` exists. Returns the leftover renamed to
    ``path``, or None.
    """
    path = Path(path).expanduser()
    if os.path.lexists(path) or path.suffix.lower() == SUFFIX:
        return None
    leftovers = [p for p in stale_leftovers(path) if p.is_dir() and not p.is_symlink()]
    leftovers.sort(key=lambda p: ".tmp-" not in p.name)  # newest save first, then the previous one
    for candidate in leftovers:
        if not _complete_folder(candidate):
            continue
        try:
            os.rename(candidate, path)
        except OSError:
            return None  # read-only, or another process recovered it first; loading explains
        fsync_dir(path.parent)
        log.warning("latentlab: %s was missing after an interrupted save; restored it from %s",
                     path, candidate.name)
        return candidate
    return None


def _complete_folder(folder: Path) -> bool:
    """Whether a leftover folder holds a whole checkpoint: a config.json with a format
    version, weights whose header fits the file, and both optimiser files or neither."""
    if _folder_record_or_none(folder) is None or not (folder / WEIGHTS_FILE).is_file():
        return False
    if (folder / OPTIMIZER_JSON_FILE).is_file() != (folder / OPTIMIZER_TENSORS_FILE).is_file():
        return False
    try:
        _read_header(folder / WEIGHTS_FILE)
    except (CheckpointError, OSError):
        return False
    return True


# ===================================================================== loading
def load_checkpoint(
    path: str | os.PathLike[str], *, device: str | torch.device = "cpu", load_optimizer_state: bool = False
) -> Checkpoint:
    """Validate and load a checkpoint: the model comes back on ``device``, in eval mode.

    Raises CheckpointError naming the path and the problem: missing, pickled, truncated
    or corrupt, not a latentlab checkpoint, newer format, invalid config, another
    architecture, or non-finite weights.
    """
    path = Path(path).expanduser()
    recover_interrupted_save(path)
    record, weights_file = _read_record(path)
    config = _config_of(path, record)
    header = _weights_header(path, weights_file)
    mixture_keys = {k for k in header if k.startswith(MIXTURE_PREFIX)}
    flow_keys = {k for k in header if k.startswith(FLOW_PREFIX)}
    _check_architecture(path, config, {k: v["shape"] for k, v in header.items()
                                       if k not in mixture_keys and k not in flow_keys})

    # Only now read the tensor data, whose size the architecture check has bounded.
    data = _read_bytes(weights_file)
    if _parse_header(weights_file, data, len(data)) != header:
        raise _corrupt(weights_file, "the file changed while it was being read")
    tensors = _deserialize(weights_file, data)
    del data
    if set(tensors) != set(header):
        raise _corrupt(weights_file, "safetensors read other tensors than its header lists")
    bad = _non_finite_keys(tensors)
    if bad:
        raise CheckpointError(
            f"{path} holds non-finite weights (NaN or infinity) in {_few(bad)}: the training that wrote "
            "it diverged, so the model is unusable; open an earlier checkpoint or retrain with a lower "
            "learning rate"
        )
    mixture = _mixture_from(path, config, {k[len(MIXTURE_PREFIX):]: tensors.pop(k).clone() for k in mixture_keys})
    flow = _flow_from(path, config, {k[len(FLOW_PREFIX):]: tensors.pop(k).clone() for k in flow_keys})

    with torch.random.fork_rng(devices=[]):  # building initialises weights: keep the caller's RNG stream
        model = create_model(config)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        raise _corrupt(weights_file, f"the weights do not load into the model: {exc}") from None
    del tensors
    model.mixture = mixture
    model.flow_prior = flow
    model.to(device).eval()

    optimizer_state = None
    if load_optimizer_state and path.is_dir():
        optimizer_state = _read_optimizer_state(path)
    return Checkpoint(
        model=model,
        dataset=record["dataset"],
        metrics=record["metrics"],
        history=record["history"],
        training=record["training"],
        path=path,
        created=record["created"],
        latentlab_version=record["latentlab_version"],
        format_version=record["format_version"],
        optimizer_state=optimizer_state,
    )


def read_checkpoint_meta(path: str | os.PathLike[str]) -> dict:
    """The metadata of a checkpoint, validated, without reading weights or building the model.

    Same keys as ``Checkpoint.meta()``; ``parameters`` is the count recorded at save time.
    """
    path = Path(path).expanduser()
    recover_interrupted_save(path)
    record, weights_file = _read_record(path)
    config = _config_of(path, record)
    header = _weights_header(path, weights_file)
    mixture_weights = header.get(MIXTURE_PREFIX + "weights")
    components = int(mixture_weights["shape"][0]) if mixture_weights and mixture_weights["shape"] else None
    flow_layers = len({k.split(".")[2] for k in header if k.startswith(FLOW_PREFIX + "couplings.")}) or None
    return _meta_dict(path, {**record, "model": config.to_dict()}, mixture_components=components,
                      flow_prior_layers=flow_layers)


def is_checkpoint(path: str | os.PathLike[str]) -> bool:
    """Cheap test whether ``path`` looks like a latentlab checkpoint (any format version).

    True for a folder whose config.json carries a format_version next to a
    model.safetensors, and for a .safetensors file with latentlab metadata. Never raises.
    """
    try:
        path = Path(path).expanduser()
        if path.is_dir():
            return _folder_record_or_none(path) is not None and (path / WEIGHTS_FILE).is_file()
        if path.is_file() and path.suffix.lower() not in PICKLE_SUFFIXES:
            _refuse_pickle(path)
            return _single_file_record(path, _header_json(*_read_header_bytes(path))[0]) is not None
    except (CheckpointError, _Corrupt, OSError, ValueError):
        pass
    return False


# ------------------------------------------------------------------- records
class _Corrupt(Exception):
    """Internal: a file's bytes are unreadable; the caller words the message."""


def _corrupt(path: Path, detail: str) -> CheckpointError:
    return CheckpointError(
        f"{path} is truncated or corrupt ({detail}); save the checkpoint again or restore a copy"
    )


def _foreign(path: Path, detail: str) -> CheckpointError:
    return CheckpointError(
        f"{path} is not a latentlab checkpoint ({detail}); open a folder or a {SUFFIX} file saved by latentlab"
    )


def _read_record(path: Path) -> tuple[dict, Path]:
    """(validated record, weights file) of a checkpoint, reading no tensor data."""
    if not os.path.lexists(path):
        raise CheckpointError(f"checkpoint {path} does not exist{_interrupted_hint(path)}")
    if path.is_dir():
        record = _folder_record(path)
        weights_file = path / WEIGHTS_FILE
        if not weights_file.is_file():
            raise _corrupt(path, f"the folder has no {WEIGHTS_FILE}, so it is incomplete")
        _refuse_pickle(weights_file)
        return record, weights_file
    if not path.is_file():
        raise _foreign(path, "it is neither a folder nor a regular file")
    _refuse_pickle(path)
    try:
        header, _ = _header_json(*_read_header_bytes(path))
    except _Corrupt as exc:
        if path.suffix.lower() == SUFFIX:
            raise _corrupt(path, str(exc)) from None
        raise _foreign(path, f"it is not a safetensors file: {exc}") from None
    raw = _single_file_record(path, header)
    if raw is None:
        raise _foreign(path, "a safetensors file without latentlab metadata, e.g. weights from another tool")
    _check_format_version(path, raw, "the metadata")
    return _validated(path, raw, raw.get("metrics", {}), raw.get("history", []), "the metadata"), path


def _interrupted_hint(path: Path) -> str:
    parent = path.parent if path.parent.is_dir() else None
    leftovers = sorted(parent.glob(f".{glob.escape(path.name)}.old-*")) if parent else []
    if leftovers:
        return (f": a save there was interrupted, and the previous checkpoint is at {leftovers[-1]}; "
                "rename it back to use it")
    return ": check the path, or train and save a model first"


def _folder_record(path: Path) -> dict:
    config_file = path / CONFIG_FILE
    if not config_file.is_file():
        raise _foreign(path, f"the folder has no {CONFIG_FILE}")
    raw = _read_json(config_file)
    if not isinstance(raw, dict) or "format_version" not in raw:
        raise _foreign(path, f"its {CONFIG_FILE} has no format_version, so another tool wrote it")
    _check_format_version(path, raw, CONFIG_FILE)
    metrics, history = ((_read_json(path / file) if (path / file).is_file() else kind())
                        for file, kind in ((METRICS_FILE, dict), (HISTORY_FILE, list)))
    return _validated(path, raw, metrics, history, "the folder's JSON files")


def _folder_record_or_none(path: Path) -> dict | None:
    """config.json of a checkpoint folder if it parses and carries a format_version."""
    config_file = path / CONFIG_FILE
    try:
        if not config_file.is_file() or config_file.stat().st_size > MAX_JSON_BYTES:
            return None
        raw = json.loads(config_file.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    return raw if isinstance(raw, dict) and "format_version" in raw else None


def _single_file_record(path: Path, header: dict) -> dict | None:
    """The latentlab JSON in a safetensors header, or None when there is none."""
    metadata = header.get("__metadata__")
    if not isinstance(metadata, dict) or METADATA_KEY not in metadata:
        return None
    text = metadata[METADATA_KEY]
    try:
        raw = json.loads(text) if isinstance(text, str) else None
    except (ValueError, RecursionError) as exc:
        raise _corrupt(path, f"its latentlab metadata is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise _corrupt(path, "its latentlab metadata is not a JSON object")
    return raw


def _check_format_version(path: Path, raw: dict, source: str) -> None:
    """A newer format gets its own message before the schema of this version is applied."""
    version = raw.get("format_version")
    if not _is_count(version) or not 1 <= version < 10**6:
        raise _corrupt(path, f"{source} has an invalid format_version (expected a whole number such as 1)")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} was written by a newer latentlab (format {version}, this version reads up to "
            f"{FORMAT_VERSION}): upgrade latentlab to open it"
        )


def _validated(path: Path, raw: dict, metrics: Any, history: Any, source: str) -> dict:
    """The record checked against the schema (checkpoint_schema.py) before anything uses it."""
    try:
        return validate_record(raw, metrics, history)
    except SchemaError as exc:
        raise _corrupt(path, f"{source}: {exc}") from None


def _config_of(path: Path, record: dict) -> ModelConfig:
    try:
        config = config_from_dict(record["model"])
    except ConfigError as exc:
        raise CheckpointError(
            f"{path} has an invalid model config: {exc}; the file was edited or written by another "
            "version, so re-save it from the model that made it"
        ) from exc
    try:
        check_against_config(record, config.latent_dim)
    except SchemaError as exc:
        raise _corrupt(path, str(exc)) from None
    return config


def _weights_header(path: Path, weights_file: Path) -> dict[str, dict]:
    """The weights file's validated tensor entries, each of a type latentlab reads."""
    header = _read_header(weights_file)
    try:
        for key, entry in header.items():
            check_weight_dtype(key, entry["dtype"])
    except SchemaError as exc:
        raise CheckpointError(f"{path} cannot be opened: {exc}") from None
    return header


def _meta_dict(path: Path | None, record: dict, *, mixture_components: int | None,
               flow_prior_layers: int | None = None) -> dict:
    keys = ("format_version", "latentlab_version", "created", "model", "parameters",
            "dataset", "training", "metrics", "history")
    meta = {"path": None if path is None else str(path)}
    meta.update({k: copy.deepcopy(record[k]) for k in keys})
    meta["mixture_components"] = mixture_components
    meta["flow_prior_layers"] = flow_prior_layers
    return meta


# ------------------------------------------------------------------ raw files
def _refuse_pickle(path: Path) -> None:
    """Refuse pickles by suffix or magic bytes, before any parser sees the file."""
    with open(path, "rb") as f:
        head = f.read(9)
        size = os.fstat(f.fileno()).st_size
    if path.suffix.lower() in PICKLE_SUFFIXES or _looks_pickled(head, size):
        raise CheckpointError(
            f"{path} is a pickled PyTorch/Python file: latentlab refuses pickles because loading one "
            "can run arbitrary code; export the weights with safetensors (safetensors.torch.save_file) "
            "or open a latentlab checkpoint"
        )


def _looks_pickled(head: bytes, size: int) -> bool:
    if head.startswith(b"PK\x03\x04"):  # torch.save's zip format
        return True
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:  # pickle PROTO opcode
        # A safetensors header length can start with the same two bytes (e.g. 640): then
        # byte 8 opens the JSON header and the length fits the file.
        length = int.from_bytes(head[:8], "little") if len(head) >= 8 else 0
        return not (head[8:9] == b"{" and 8 + length <= size)
    return False


def _read_bytes(path: Path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _read_json(path: Path) -> Any:
    _refuse_pickle(path)
    if path.stat().st_size > MAX_JSON_BYTES:
        raise _corrupt(path, f"{path.name} is {_megabytes(path.stat().st_size)}, over the "
                             f"{MAX_JSON_BYTES // 2**20} MB limit that latentlab's own files stay far below")
    try:
        return json.loads(_read_bytes(path).decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise _corrupt(path, f"{path.name} is not valid JSON: {exc}") from None


def _read_header_bytes(path: Path) -> tuple[bytes, int]:
    """(the first 8 + header-length bytes, file size), reading no tensor data."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(8)
        if len(head) == 8:
            length = int.from_bytes(head, "little")
            if length < MAX_HEADER_BYTES and 8 + length <= size:
                head += f.read(length)
    return head, size


def _read_header(path: Path) -> dict:
    """The validated tensor entries of a safetensors file, reading only its header."""
    head, size = _read_header_bytes(path)
    return _parse_header(path, head, size)


def _parse_header(path: Path, data: bytes, size: int) -> dict[str, dict]:
    """The validated tensor entries of a safetensors file whose first bytes are ``data``."""
    try:
        return _tensor_entries(*_header_json(data, size), size)
    except _Corrupt as exc:
        raise _corrupt(path, str(exc)) from None


def _header_json(data: bytes, size: int) -> tuple[dict, int]:
    """(JSON header, offset of the tensor data) of a safetensors file whose first bytes are
    ``data``; the length is checked against the limit and the file size before parsing."""
    if size < 8 or len(data) < 8:
        raise _Corrupt(f"the file is {size} bytes, too short for the 8-byte safetensors header length")
    length = int.from_bytes(data[:8], "little")
    if length >= MAX_HEADER_BYTES:
        raise _Corrupt(f"its header claims {_megabytes(length)}, over the {MAX_HEADER_BYTES // 2**20} MB limit that "
                       "latentlab's own files stay far below, so it was not read")
    if 8 + length > size or len(data) < 8 + length:
        raise _Corrupt(f"the header claims {length} bytes but the file holds only {size - 8} after the length")
    try:
        header = json.loads(data[8 : 8 + length].decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise _Corrupt(f"the header is not valid JSON: {exc}") from None
    if not isinstance(header, dict):
        raise _Corrupt("the header is not a JSON object")
    metadata = header.get("__metadata__")
    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    ):
        raise _Corrupt("the header metadata is not a map of strings")
    return header, 8 + length


def _tensor_entries(header: dict, data_start: int, size: int) -> dict[str, dict]:
    """The header's tensor entries, each checked to lie inside the file."""
    available = size - data_start
    entries: dict[str, dict] = {}
    needed = 0
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        if not (isinstance(entry, dict) and isinstance(entry.get("shape"), list)
                and isinstance(entry.get("data_offsets"), list) and len(entry["data_offsets"]) == 2):
            raise _Corrupt(f"the header entry for {key!r} is malformed")
        shape, (start, end) = entry["shape"], entry["data_offsets"]
        if not all(_is_count(v) for v in [*shape, start, end]):
            raise _Corrupt(f"the header entry for {key!r} has a non-integer shape or offset")
        itemsize = _DTYPE_SIZES.get(entry.get("dtype"))  # type: ignore[arg-type]
        if itemsize is None:
            raise _Corrupt(f"tensor {key!r} has an unsupported dtype {entry.get('dtype')!r}")
        if end < start or end - start != math.prod(shape) * itemsize:
            raise _Corrupt(f"tensor {key!r} has offsets that do not match its shape {shape}")
        needed = max(needed, end)
        entries[key] = {"dtype": entry["dtype"], "shape": tuple(shape)}
    if needed > available:
        raise _Corrupt(f"the header describes {needed} bytes of tensor data but the file holds only {available}")
    return entries


def _deserialize(path: Path, data: bytes) -> dict[str, torch.Tensor]:
    try:
        return safetensors.torch.load(data)
    except (safetensors.SafetensorError, ValueError, TypeError, RuntimeError) as exc:
        raise _corrupt(path, f"safetensors could not read the tensors: {exc}") from None


def _non_finite_keys(tensors: dict[str, torch.Tensor]) -> list[str]:
    return [k for k, t in tensors.items() if t.is_floating_point() and not bool(torch.isfinite(t).all())]


# --------------------------------------------------------- model and friends
def _check_architecture(path: Path, config: ModelConfig, found: dict[str, tuple[int, ...]]) -> None:
    """Compare the file's names and shapes with a weightless (meta-device) model of ``config``.

    Only after they match is the real model allocated, so memory use is bounded by the size
    of the file rather than by whatever the config claims.
    """
    try:
        with torch.device("meta"):
            skeleton = create_model(config)
    except ConfigError as exc:
        raise CheckpointError(f"{path} has an invalid model config: {exc}") from exc
    expected = {k: tuple(v.shape) for k, v in skeleton.state_dict().items()}
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    mismatched = [
        f"{k} (file {list(found[k])}, model {list(expected[k])})"
        for k in expected if k in found and tuple(found[k]) != expected[k]
    ]
    problems = [
        f"{label} {_few(keys)}"
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatch in", mismatched))
        if keys
    ]
    if problems:
        c = config
        raise CheckpointError(
            f"{path} does not match the architecture in its own config ({c.family}, {c.backbone} backbone, "
            f"latent_dim {c.latent_dim}, hidden {c.hidden}): {'; '.join(problems)}; the weights and "
            "config come from different models, so save the checkpoint again from the model that made it"
        )


def _mixture_from(path: Path, config: ModelConfig, tensors: dict[str, torch.Tensor]) -> LatentMixture | None:
    if not tensors:
        return None
    unknown = sorted(set(tensors) - {"weights", "means", "scale_tril"})
    try:
        if unknown:
            raise ConfigError(f"unexpected tensors {_few([MIXTURE_PREFIX + k for k in unknown])}")
        for name, ndim in (("weights", 1), ("means", 2), ("scale_tril", 3)):
            if name in tensors and tensors[name].dim() != ndim:
                raise ConfigError(f"{MIXTURE_PREFIX}{name} must have {ndim} dimensions")
        mixture = LatentMixture.from_tensors(tensors)
        if mixture.means.shape[1] != config.latent_dim:
            raise ConfigError(f"it is {mixture.means.shape[1]}-dimensional, the latent space {config.latent_dim}")
        if len(mixture.weights) == 0 or (mixture.weights < 0).any() or mixture.weights.sum() <= 0:
            raise ConfigError("its component weights must be non-negative with a positive sum")
    except ConfigError as exc:
        raise _corrupt(path, f"the latent mixture is invalid: {exc}") from None
    return mixture


#: A flow prior's tensors may hold at most this many numbers (a shipped one holds ~70,000).
MAX_FLOW_NUMBERS = 50_000_000


def _flow_from(path: Path, config: ModelConfig, tensors: dict[str, torch.Tensor]) -> LatentFlow | None:
    if not tensors:
        return None
    try:
        if sum(t.numel() for t in tensors.values()) > MAX_FLOW_NUMBERS:
            raise ConfigError("it is too large")
        flow = LatentFlow.from_tensors(tensors, dim=config.latent_dim)
    except ConfigError as exc:
        raise _corrupt(path, f"the flow prior is invalid: {exc}") from None
    return flow


def _read_optimizer_state(path: Path) -> list[dict] | None:
    json_file, tensor_file = path / OPTIMIZER_JSON_FILE, path / OPTIMIZER_TENSORS_FILE
    if not json_file.exists() and not tensor_file.exists():
        return None
    if not (json_file.is_file() and tensor_file.is_file()):
        raise _corrupt(path, f"it has only one of {OPTIMIZER_JSON_FILE} and {OPTIMIZER_TENSORS_FILE}")
    raw = _read_json(json_file)
    _refuse_pickle(tensor_file)
    data = _read_bytes(tensor_file)
    _parse_header(tensor_file, data, len(data))
    tensors = _deserialize(tensor_file, data)
    try:
        if not isinstance(raw, dict) or not isinstance(raw.get("optimizers"), list):
            raise ValueError("no 'optimizers' list")
        states = [_decode(s, tensors) for s in raw["optimizers"]]
        for state in states:
            if not (isinstance(state, dict) and isinstance(state.get("state"), dict)
                    and isinstance(state.get("param_groups"), list)):
                raise ValueError("an entry is not an optimiser state_dict")
    except (KeyError, TypeError, ValueError, RecursionError) as exc:
        raise _corrupt(json_file, f"the optimiser state is inconsistent: {exc}") from None
    return states


def _megabytes(size: int) -> str:
    return f"{size / 2**20:,.0f} MB" if size < 2**50 else f"{size:.2e} bytes"


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _few(items: Iterable[str], limit: int = 3) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
