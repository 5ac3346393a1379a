"""What the application keeps for the whole run, as objects it owns (no module globals).

* :class:`DatasetCache`: datasets the user chose, loaded once (re-opening a checkpoint
  is then instant: mnist-5k takes ~0.3 s to read, a 60,000-image set seconds).
* :class:`JudgeCache`: the judge classifier of each dataset, looked up once.
* :class:`ThreadBudget`: torch's intra-op thread count while heavy background work runs
  (every core but one, so the GUI keeps a core; see ``enter``).
* ``warmed_up``: the one-time warm-up of training's first-step imports has run.

One :class:`AppCaches` lives in ``AppCaches.shared()``: every window of the process and
the headless helpers (a comparison's worker thread) share it, so a dataset is read once
per process as before, but the cache is an object that tests can replace or clear.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # PyTorch: imported by the methods that need it (the first screen has none)
    from latentlab.data import ImageDataset
    from latentlab.models.base import LatentModel


def _dataset_key(name: str, image_shape: tuple[int, int, int] | None) -> tuple:
    channels, size = (image_shape[0], image_shape[1]) if image_shape else (1, None)
    return name, size, channels


class DatasetCache:
    """Datasets by (name, image size, channels), loaded at most once."""

    def __init__(self) -> None:
        self._datasets: dict[tuple, ImageDataset] = {}
        self._lock = threading.Lock()

    def get(self, name: str, image_shape: tuple[int, int, int] | None = None, *,
            download: bool = True) -> ImageDataset:
        from latentlab.data import load_dataset

        key = _dataset_key(name, image_shape)
        with self._lock:
            if key in self._datasets:
                return self._datasets[key]
        channels, size = key[2], key[1]
        dataset = load_dataset(name, channels=channels, download=download)
        if size is not None and dataset.image_shape[1:] != tuple(image_shape[1:]):
            dataset = load_dataset(name, image_size=size, channels=channels, download=download)
        with self._lock:
            return self._datasets.setdefault(key, dataset)

    def loaded(self, name: str, image_shape: tuple[int, int, int] | None) -> ImageDataset | None:
        """The dataset if it is already loaded in this process, else None (never reads)."""
        return self._datasets.get(_dataset_key(name, image_shape))

    def clear(self) -> None:
        with self._lock:
            self._datasets.clear()


class JudgeCache:
    """The saved judge of each dataset (CPU, eval mode), or None where there is none yet."""

    def __init__(self, find: Callable[[ImageDataset], LatentModel | None] | None = None) -> None:
        self._judges: dict[tuple, LatentModel | None] = {}
        self._find = find

    @staticmethod
    def key(dataset: ImageDataset) -> tuple:
        return dataset.name, dataset.image_shape, tuple(dataset.class_names)

    def find(self, dataset: ImageDataset) -> LatentModel | None:
        """The saved judge of ``dataset``; looked up on disk until one is found."""
        key = self.key(dataset)
        if self._judges.get(key) is None:
            if self._find is not None:
                judge = self._find(dataset)
            else:
                from latentlab.training.judges import find_judge

                judge = find_judge(dataset, "cpu")
            self._judges[key] = judge.eval() if judge is not None else None
        return self._judges[key]

    def remember(self, dataset: ImageDataset, judge: LatentModel) -> None:
        self._judges[self.key(dataset)] = judge

    def clear(self) -> None:
        self._judges.clear()


#: torch threads for the GUI thread's own forward passes (the marker's decode, the analogy
#: row, the judge's verdict) and for the lanes started after it: one. A decode of one image
#: is too small to gain from a second thread, and a second thread only adds a wait when
#: another process holds a core: beside two busy processes the conv decoder's drag p99 was
#: 11.4-18.8 ms with two threads and 2.0-9.9 ms with one (benchmarks/ui_latency.py --load 2,
#: issue 17).
GUI_TORCH_THREADS = 1


def training_threads() -> int:
    """torch threads for training launched from the GUI: every core but one for the GUI."""
    return max(1, (os.cpu_count() or 2) - 1)


class ThreadBudget:
    """torch's thread count while heavy background runs (training, a judge, a comparison)
    work: ``training_threads()``, so one core stays free for the GUI and the territory
    worker (with both cores busy in torch the event loop waited ~100 ms at a time);
    the previous count comes back when the last run leaves."""

    def __init__(self) -> None:
        self._runs = 0
        self._saved: int | None = None
        self._lock = threading.Lock()

    @property
    def runs(self) -> int:
        return self._runs

    def pin_gui_thread(self) -> None:
        """Once, on the GUI thread, when PyTorch has been imported: its own torch operations
        run on ``GUI_TORCH_THREADS`` from now on, and so do threads that start later without
        a count of their own (torch's default for a new thread is the last count set)."""
        import torch

        with self._lock:
            if self._runs == 0:
                torch.set_num_threads(GUI_TORCH_THREADS)
            else:  # a heavy run holds the budget: the GUI thread returns to one when it ends
                self._saved = GUI_TORCH_THREADS

    def enter(self) -> None:
        import torch

        with self._lock:
            if self._runs == 0:
                self._saved = torch.get_num_threads()
                torch.set_num_threads(training_threads())
            self._runs += 1

    def leave(self) -> None:
        with self._lock:
            self._runs = max(0, self._runs - 1)
            if self._runs == 0 and self._saved is not None:
                import torch

                torch.set_num_threads(self._saved)


class AppCaches:
    """The process's caches, as one object the application owns."""

    _shared: AppCaches | None = None

    def __init__(self) -> None:
        self.datasets = DatasetCache()
        self.judges = JudgeCache()
        self.threads = ThreadBudget()
        #: The warm-up (WarmUp task) has been started in this process.
        self.warmed_up = False

    @classmethod
    def shared(cls) -> AppCaches:
        """The caches of this process (made on first use)."""
        if cls._shared is None:
            cls._shared = cls()
        return cls._shared
