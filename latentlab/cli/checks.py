"""Checks of the command line, made before any work starts, each failing in one line.

The parser prints its errors as one line (argparse's usage block is two), output paths
are checked before a model is loaded, numbers are range-checked before they reach
PyTorch, and a word that is neither a command nor a file is called that, with the
closest command suggested.
"""

from __future__ import annotations

import argparse
import difflib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from latentlab.errors import ConfigError, UsageError
from latentlab.safe_text import clean

#: Seeds go to torch.manual_seed and NumPy, which take at most 64 bits; 32 are plenty.
MAX_SEED = 2**32 - 1


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose errors are UsageErrors, which the CLI prints as one line (exit 2):
    ``latentlab: error: ...; see 'latentlab train --help'`` (argparse prints two)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}; see '{self.prog} --help'")


def seed(text: str) -> int:
    """An argparse type: a whole number from 0 to MAX_SEED."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid seed {text!r}: give a whole number") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"seed {text} is out of range: give a whole number from 0 to {MAX_SEED}")
    return value


def unknown_command(word: str, commands: tuple[str, ...]) -> UsageError:
    """The error for a first argument that is neither a command nor an existing path."""
    close = difflib.get_close_matches(word.lower(), commands, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return UsageError(
        f"unknown command or file {clean(word, 80)!r}: {hint}the commands are {', '.join(commands)} "
        "('latentlab COMMAND --help'), or give the path of a checkpoint to open it in the window"
    )


def check_output(out: str, suffixes: tuple[str, ...], example: str) -> Path:
    """``--out`` as a path that can be written: the right suffix, not a folder, in a folder
    that exists (or can be made) and is writable. Raises ConfigError naming the fix."""
    path = Path(out).expanduser()
    wanted = " or ".join(suffixes)
    if path.is_dir():
        raise ConfigError(f"--out {clean(out)} is a folder; give a file name in it, e.g. {path / example}")
    if path.suffix.lower() not in suffixes:
        ending = f"ends in {clean(path.suffix)}" if path.suffix else "has no extension"
        raise ConfigError(f"--out {clean(out)} {ending}; give a name ending in {wanted}, e.g. {example}")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:  # the folders to be made
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError(f"cannot write {clean(out)}: {clean(folder)} is a file, not a folder; choose another place")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        where = path if path.exists() else folder
        raise ConfigError(f"cannot write {clean(out)}: {clean(where)} is not writable; choose a folder you may write to")
    return path


def add_data_consent_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-from-checkpoint", action="store_true",
        help="read the dataset the checkpoint names even when that is an image folder or a download "
             "(without this flag only the bundled and already downloaded sets are read)")


def recorded_dataset(ckpt_dataset: dict, image_shape: Sequence[int], allowed: bool,
                     instead: str | None = "--dataset NAME"):
    """The dataset a checkpoint names, at ``image_shape``, read only as recorded_data.py allows
    (``allowed``: --data-from-checkpoint; ``instead``: the option naming other data)."""
    from latentlab.data import load_dataset
    from latentlab.errors import DatasetError
    from latentlab.recorded_data import DataNotAllowed, load_recorded_dataset, recorded_name

    channels, size = image_shape[0], image_shape[1]
    try:
        return load_recorded_dataset(
            recorded_name(ckpt_dataset),
            lambda name, download: load_dataset(name, image_size=size, channels=channels, download=download),
            allowed=allowed)
    except DataNotAllowed as exc:
        other = f", or give {instead}" if instead else ""
        raise DatasetError(f"{exc}: add --data-from-checkpoint to read it{other}") from None
