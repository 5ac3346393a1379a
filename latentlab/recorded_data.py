"""The dataset a checkpoint names, and when latentlab may read it.

A checkpoint records the dataset it was trained on, and opening it loads that dataset for
the map's points, the hover previews and ``latentlab encode``. But a checkpoint may come
from a stranger, and its dataset name must not decide what is read: ``folder:/home/you``
would walk your files into the hover previews and a CSV, and ``mnist`` would go online.
So a name recorded in a checkpoint is read as follows:

* the bundled sets (``mnist-5k``, ``digits``) as named: they ship with latentlab;
* a downloadable set from the local cache only, never downloaded;
* anything else (an image folder, a download) only with the user's consent: the window
  asks, the CLI takes ``--data-from-checkpoint`` or a ``--dataset`` of the user's own.

Without consent :func:`load_recorded_dataset` raises :class:`DataNotAllowed`, and the
window opens the model without data (:func:`unread_dataset`): decoding, sampling and the
map's grid work, the map has no points and its caption says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from latentlab.data import DEFAULT_DATASET, ImageDataset, Split, dataset_names
from latentlab.errors import DatasetError
from latentlab.safe_text import clean, showable_name

#: Datasets that ship with latentlab: reading them reads nothing of the user's and goes nowhere.
BUNDLED = frozenset({"mnist-5k", "digits"})

#: ``loader(name, download)``: the dataset ``name`` at the model's image shape.
Loader = Callable[[str, bool], ImageDataset]


class DataNotAllowed(DatasetError):
    """Reading a checkpoint's dataset needs the user's consent, which was not given."""

    def __init__(self, name: str, reason: str) -> None:
        self.name, self.reason = name, reason
        super().__init__(f"the checkpoint names the dataset {clean(name, 200)!r}, and loading it {reason}; "
                         "latentlab does that only when you allow it")

    @property
    def question(self) -> str:
        """The question the window asks, in plain text."""
        return (f"This checkpoint was trained on the dataset\n\n    {clean(self.name, 200)}\n\n"
                f"Loading it {self.reason}. A checkpoint from someone else can name any folder, so "
                "latentlab asks first.\n\nRead this data? Without it the model still decodes, samples "
                "and draws its grid, but the map shows no points.")


def recorded_name(dataset_record: dict) -> str:
    """The dataset name a checkpoint records (its schema-checked ``dataset`` field)."""
    name = dataset_record.get("name")
    return name if isinstance(name, str) and name.strip() else DEFAULT_DATASET


def load_recorded_dataset(name: str, loader: Loader, *, allowed: bool) -> ImageDataset:
    """The dataset ``name`` recorded in a checkpoint, if it may be read.

    ``allowed``: the user consented (the window's dialog, ``--data-from-checkpoint``), so
    folders are read and missing sets downloaded. Otherwise only bundled and cached sets
    load and anything else raises :class:`DataNotAllowed`. Loading errors are
    DatasetErrors (an unknown name, a missing folder, offline).
    """
    if allowed:
        return loader(name, True)
    key, colon, value = name.partition(":")
    key = key.strip().lower()
    if key in BUNDLED and not colon:
        return loader(name, False)
    if key in dataset_names() and not colon:  # downloadable: from the cache or not at all
        try:
            return loader(name, False)
        except DatasetError:
            raise DataNotAllowed(name, "downloads it from the internet (it is not in the cache yet)") from None
    if not colon:
        return loader(name, False)  # an unknown name: load_dataset says which names exist
    if key == "folder":
        raise DataNotAllowed(name, f"reads the images in the folder {clean(value.strip(), 200)}")
    raise DataNotAllowed(name, "reads files or goes online")


@dataclass
class UnreadDataset(ImageDataset):
    """The dataset of a model opened without its data: no images, the checkpoint's record.

    ``info()`` gives back the record as it was, so saving the model keeps the dataset it
    was trained on; ``why`` says why it was not read.
    """

    record: dict[str, Any] = field(default_factory=dict)
    why: str = ""

    def info(self) -> dict[str, Any]:
        return dict(self.record)


def unread_dataset(dataset_record: dict, image_shape: tuple[int, int, int], num_classes: int,
                   why: str) -> UnreadDataset:
    """An empty dataset standing in for the checkpoint's, with class names fit to show:
    the recorded ones when they are plain, short text, else 0, 1, 2, ..."""
    names = dataset_record.get("class_names")
    if not (isinstance(names, list) and names and all(showable_name(n) for n in names)):
        names = [str(i) for i in range(num_classes)]
    empty = Split(torch.zeros((0, *image_shape)), torch.zeros(0, dtype=torch.int64))
    return UnreadDataset(recorded_name(dataset_record), list(names), empty, empty,
                         record=dict(dataset_record), why=why)
