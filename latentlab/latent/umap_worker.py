"""The body of the UMAP worker process (see :mod:`latentlab.latent.umap_service`).

It runs in a separate, spawned process, so it imports only the standard library and
numpy at module level: umap (with numba) is imported on the first request, and the
process stays alive so numba's code is loaded once per app run (and compiled once per
computer: ``cache_numba_on_disk``). It talks to the
parent through two queues of plain tuples:

- requests: ``(job_id, latents, n_neighbors, seed)``, or ``None`` to stop;
- events: ``("progress", job_id, fraction, message)``, ``("partial", job_id, embedding)``
  (a preview layout of every point, for large sets), ``("result", job_id, embedding)``,
  ``("failed", job_id, message)``.

Progress comes from umap's own ``verbose`` output (its stage lines and the tqdm bar of
the layout epochs), read from a stream that stands in for stdout during a fit. If a
future umap prints other lines, only the intermediate stages are lost.

Like every ``spawn`` process, the worker imports the parent's main script as
``__mp_main__``: a script that starts the service must guard its work with
``if __name__ == "__main__":`` (the ``latentlab`` command and ``python -m latentlab`` do).
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import re
import threading
import time
import traceback
import warnings
from typing import Any, Callable

import numpy as np

INSTALL_HINT = "pip install umap-learn"

#: (text in umap's verbose output, fraction reached, what the user is told)
STAGES = (
    ("Construct fuzzy simplicial set", 0.05, "finding neighbours"),
    ("Finished Nearest Neighbor Search", 0.30, "building the neighbour graph"),
    ("Construct embedding", 0.35, "laying out the embedding"),
    ("Finished embedding", 0.97, "finishing"),
)
LAYOUT_START, LAYOUT_END = 0.35, 0.95
#: Above this many points a preview layout of PREVIEW_POINTS of them is streamed first.
PREVIEW_ABOVE = 10_000
PREVIEW_POINTS = 5_000
_EPOCHS = re.compile(r"(\d+)/(\d+)")

Report = Callable[[float, str], None]


class UmapMissing(RuntimeError):
    """umap-learn cannot be imported in the worker."""


class ProgressStream:
    """A write-only text stream that turns umap's verbose output into progress reports."""

    def __init__(self, report: Report, *, first_fit: bool = False) -> None:
        self.report = report
        #: The first fit in a process compiles umap with numba before and while it lays out.
        self.note = " (a first fit also compiles umap, once per computer: up to 30 s)" if first_fit else ""
        self._laying_out = False  # epoch counts are read only after "Construct embedding"
        self._last_epoch_report = 0.0

    def write(self, text: str) -> int:
        for needle, fraction, message in STAGES:
            if needle in text:
                self._laying_out = LAYOUT_START <= fraction < LAYOUT_END
                self.report(fraction, message + (self.note if fraction <= LAYOUT_START else ""))
        counts = _EPOCHS.findall(text) if self._laying_out else []
        if counts:
            done, total = (int(value) for value in counts[-1])
            now = time.monotonic()
            if total > 0 and (now - self._last_epoch_report >= 0.2 or done == total):
                self._last_epoch_report = now
                fraction = LAYOUT_START + (LAYOUT_END - LAYOUT_START) * done / total
                self.report(fraction, f"laying out the embedding: epoch {done} of {total}")
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def cache_numba_on_disk() -> None:
    """Keep numba's compiled code across runs, in the user's cache folder (``cache_dir()/numba``).

    pynndescent marks its functions ``cache=True`` (by default cached beside its sources,
    inside the installed package); umap-learn marks none, so every app run compiled them
    again (~15 CPU-seconds). Before umap is imported, numba's cache folder is pointed at
    the user cache (unless ``NUMBA_CACHE_DIR`` is set) and ``numba.njit`` / ``numba.jit``
    default to ``cache=True``. This happens in the worker process only; a function numba
    cannot cache (a closure, dynamic globals) is compiled as before.
    """
    if "NUMBA_CACHE_DIR" not in os.environ:
        from latentlab.errors import LatentLabError
        from latentlab.locations import cache_dir

        with contextlib.suppress(LatentLabError, OSError):
            os.environ["NUMBA_CACHE_DIR"] = str(cache_dir() / "numba")
    try:
        import numba
    except ImportError:
        return
    for name in ("njit", "jit"):
        decorator = getattr(numba, name)
        if not getattr(decorator, "_latentlab_caching", False):
            setattr(numba, name, _caching(decorator))


def _caching(decorator: Callable) -> Callable:
    @functools.wraps(decorator)
    def with_cache(*args: Any, **options: Any) -> Any:
        options.setdefault("cache", True)
        return decorator(*args, **options)

    with_cache._latentlab_caching = True  # type: ignore[attr-defined]
    return with_cache


def import_umap() -> Any:
    """``umap``, or :class:`UmapMissing` with the command that installs it."""
    cache_numba_on_disk()
    try:
        import umap
    except ImportError as err:
        raise UmapMissing(f"UMAP needs the umap-learn package, which cannot be imported here ({err}); "
                          f"install it with `{INSTALL_HINT}` and restart latentlab") from err
    return umap


def fit_embedding(umap: Any, latents: np.ndarray, n_neighbors: int, seed: int, report: Report, *,
                  first_fit: bool = False, partial: Callable[[np.ndarray], None] | None = None) -> np.ndarray:
    """UMAP of ``latents`` (N, D) to (N, 2) float32, reporting progress as it goes.

    The k nearest neighbours are found exactly (scikit-learn) and handed to umap: its own
    approximate search (pynndescent's ``nn_descent``) cannot be cached by numba and cost
    24 CPU-seconds of compiling in every app run. Above :data:`PREVIEW_ABOVE` points a
    layout of :data:`PREVIEW_POINTS` of them, with the rest placed among their nearest
    neighbours, goes to ``partial`` first (seconds) and is where the full fit starts, so
    the final layout refines the preview instead of replacing it.
    """
    k = max(2, min(n_neighbors, len(latents) - 1))
    init: Any = "spectral"
    if partial is not None and len(latents) > PREVIEW_ABOVE:
        rows = np.sort(np.random.default_rng(seed).choice(len(latents), PREVIEW_POINTS, replace=False))
        report(0.06, f"a first layout of {PREVIEW_POINTS:,} of the {len(latents):,} points")
        sample = _layout(umap, latents[rows], k, seed, lambda f, m: report(0.06 + 0.1 * f, f"preview: {m}"),
                         "spectral", first_fit=first_fit)
        from latentlab.latent.embedding import EmbeddingProjection

        init = EmbeddingProjection(sample, latents[rows]).to_plane(latents).astype(np.float32)
        init[rows] = sample
        partial(init)
        report(0.17, f"preview shown; laying out all {len(latents):,} points")
        whole = report
        report, first_fit = (lambda f, m: whole(0.17 + 0.83 * f, m)), False
    return _layout(umap, latents, k, seed, report, init, first_fit=first_fit)


def _layout(umap: Any, latents: np.ndarray, k: int, seed: int, report: Report, init: Any, *,
            first_fit: bool) -> np.ndarray:
    from sklearn.neighbors import NearestNeighbors

    report(0.05, "finding neighbours")
    distances, indices = NearestNeighbors(n_neighbors=k).fit(latents).kneighbors(latents)
    stream = ProgressStream(report, first_fit=first_fit)
    model = umap.UMAP(
        n_components=2,
        n_neighbors=k,
        random_state=seed,
        init=init,
        precomputed_knn=(indices, distances.astype(np.float32), None),
        verbose=True,
        tqdm_kwds={"file": stream, "bar_format": "{n_fmt}/{total_fmt}", "mininterval": 0.2, "ascii": True},
    )
    with warnings.catch_warnings(), contextlib.redirect_stdout(stream):
        # With a seed umap runs single-threaded and says so on every fit; that is intended
        # here (reproducible, and it leaves a core to the GUI). Without a search index umap
        # warns that ``transform`` is unavailable: it is never used.
        warnings.filterwarnings("ignore", message="n_jobs value")
        warnings.filterwarnings("ignore", message=".*precomputed_knn.*")
        warnings.filterwarnings("ignore", message=".*transform.*")
        embedding = model.fit_transform(latents)
    embedding = np.asarray(embedding, np.float32)
    if embedding.shape != (len(latents), 2) or not np.all(np.isfinite(embedding)):
        raise RuntimeError(f"umap returned an unusable embedding (shape {embedding.shape}, "
                           f"{int(np.sum(~np.isfinite(embedding)))} non-finite values)")
    return embedding


def lower_priority() -> None:
    """Let the GUI process win the CPU: the worker is background work."""
    if hasattr(os, "nice"):
        with contextlib.suppress(OSError):
            os.nice(10)


def exit_with_parent() -> None:
    """End this process as soon as the parent process is gone, even in the middle of a fit.

    A parent that exits normally stops the worker itself; one that crashes or is killed
    cannot, and the worker would otherwise wait for requests (or fit) forever.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()  # returns when the parent's sentinel closes: it has exited
        os._exit(0)

    threading.Thread(target=watch, name="latentlab-umap-parent-watch", daemon=True).start()


def serve(requests: Any, events: Any) -> None:
    """The worker process's main loop: one fit at a time until ``None`` arrives."""
    lower_priority()
    exit_with_parent()
    umap = None
    fits = 0
    while True:
        request = requests.get()
        if request is None:
            return
        job_id, latents, n_neighbors, seed = request

        def report(fraction: float, message: str, job_id: int = job_id) -> None:
            events.put(("progress", job_id, float(fraction), message))

        try:
            if umap is None:
                report(0.02, "importing umap (compiled once per computer, then loaded from the cache)")
                umap = import_umap()
            report(0.04, "fitting UMAP")

            def partial(embedding: np.ndarray, job_id: int = job_id) -> None:
                events.put(("partial", job_id, embedding))

            embedding = fit_embedding(umap, latents, n_neighbors, seed, report, first_fit=fits == 0, partial=partial)
            fits += 1
            report(1.0, "done")
            events.put(("result", job_id, embedding))
        except UmapMissing as err:
            events.put(("failed", job_id, str(err)))
        except Exception as err:  # noqa: BLE001 - reported to the window; the worker lives on
            traceback.print_exc()
            events.put(("failed", job_id, f"UMAP failed: {type(err).__name__}: {err}"))
