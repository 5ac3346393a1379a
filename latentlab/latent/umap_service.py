"""UMAP in a worker process that stays alive, with progress events and a disk cache.

Why a process: umap's first fit in a process spent about 30 s compiling with numba, and
in a thread of the GUI process that held the GIL long enough to freeze the window for up
to 270 ms at a time. A separate process cannot freeze the GUI; keeping it alive means
numba's code is loaded once per app run (and compiled once per computer: the worker keeps
numba's cache in the user cache folder, see ``umap_worker.cache_numba_on_disk``). It is a ``spawn`` process (no fork of a process that
runs Qt and torch threads), daemonic, at a lower CPU priority, and it is stopped by
:meth:`UmapService.shutdown` or, at the latest, when the interpreter exits.

The service is plain Python (no Qt): the window polls it on a timer
(``latentlab.ui.map.projection_controller``). :meth:`UmapService.poll` never blocks.

Results are cached in ``cache_dir()/"umap"/<key hash>.npy``; the key hash is the SHA-1 of
the latents' bytes and shape, the fit's parameters and umap-learn's version, so the same
model on the same data finds its embedding again, in a later run too, without starting
the process. Layouts of the shipped models come with latentlab (``resources/umap``, see
:func:`shipped_layout`); :func:`layout_available` says whether a layout can be shown
without a fit. Large sets stream a preview layout first (:class:`UmapPartial`). The cache keeps the 64 most recently used layouts (at most ~30 MB for 60,000
points each); older ones are deleted when a new one is stored. One fit runs at a time; later requests wait in order. A new request with
the same ``key`` (say, the same model and dataset with new weights) cancels the older one.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import json
import os
import queue
import signal
import weakref
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentlab.errors import LatentLabError
from latentlab.latent import umap_worker

CACHE_FORMAT = 1
#: Layouts kept in the disk cache (the most recently used).
CACHE_ENTRIES = 64
#: A spawned worker told to stop while idle gets this long before it is terminated.
STOP_GRACE_S = 1.0
#: Fewer points than this cannot be laid out by umap (its spectral initialisation).
MIN_POINTS = 5


@dataclass(frozen=True)
class UmapProgress:
    job_id: int
    key: str
    fraction: float  # 0..1
    message: str


@dataclass(frozen=True)
class UmapResult:
    job_id: int
    key: str
    key_hash: str
    embedding: np.ndarray = field(repr=False)  # (N, 2) float32, in the order of the latents
    from_cache: bool


@dataclass(frozen=True)
class UmapPartial:
    """A preview layout of every point (large sets), shown while the full fit runs."""

    job_id: int
    key: str
    embedding: np.ndarray = field(repr=False)  # (N, 2) float32


@dataclass(frozen=True)
class UmapFailed:
    job_id: int
    key: str
    message: str


UmapEvent = UmapProgress | UmapPartial | UmapResult | UmapFailed


@dataclass
class _Job:
    job_id: int
    key: str
    key_hash: str
    latents: np.ndarray
    n_neighbors: int
    seed: int
    cancelled: bool = False


@functools.lru_cache(maxsize=1)
def umap_version() -> str:
    """umap-learn's version without importing it (importing it compiles), or "missing".

    Looked up once per process: the metadata scan costs milliseconds on the GUI thread."""
    from importlib import metadata

    try:
        return metadata.version("umap-learn")
    except metadata.PackageNotFoundError:
        return "missing"


def key_hash(latents: np.ndarray, *, n_neighbors: int = 15, seed: int = 0) -> str:
    """The cache key of a fit: SHA-1 of the float32 latents, their shape and the parameters."""
    latents = np.ascontiguousarray(latents, np.float32)
    params = {"format": CACHE_FORMAT, "shape": list(latents.shape), "n_neighbors": int(n_neighbors),
              "seed": int(seed), "umap": umap_version()}
    digest = hashlib.sha1(json.dumps(params, sort_keys=True).encode())
    digest.update(latents.tobytes())
    return digest.hexdigest()


def _usable(embedding: np.ndarray, n: int | None = None) -> bool:
    return (embedding.ndim == 2 and embedding.shape[1] == 2 and (n is None or len(embedding) == n)
            and bool(np.all(np.isfinite(embedding))))


def shipped_layout(latents: np.ndarray, *, n_neighbors: int = 15, seed: int = 0,
                   digest: str | None = None) -> np.ndarray | None:
    """A layout shipped in ``resources/umap`` for these latents, or None.

    The files are named by :func:`key_hash` (``scripts/build_umap_layouts.py`` writes them)
    and hold the latents they were fitted on. The name is tried first; then any file whose
    latents equal these to float rounding (rtol 1e-4) with the same parameters, because
    the same checkpoint encodes to slightly different floats on another CPU, with another
    PyTorch, or in the NumPy first screen, and another umap-learn changes the name.
    """
    from latentlab.locations import resources_dir

    folder = resources_dir() / "umap"
    latents = np.ascontiguousarray(latents, np.float32)
    digest = digest or key_hash(latents, n_neighbors=n_neighbors, seed=seed)
    named = folder / f"{digest}.npz"
    try:
        candidates = [named] if named.is_file() else []
        candidates += sorted(path for path in folder.glob("*.npz") if path != named)
    except OSError:
        return None
    for path in candidates:
        try:
            with np.load(path, allow_pickle=False) as stored:
                if (stored["latents"].shape != latents.shape or int(stored["n_neighbors"]) != n_neighbors
                        or int(stored["seed"]) != seed):
                    continue
                if path != named and not np.allclose(stored["latents"], latents, rtol=1e-4, atol=1e-4):
                    continue
                embedding = np.asarray(stored["embedding"], np.float32)
        except (OSError, ValueError, KeyError, EOFError):
            continue
        if _usable(embedding, len(latents)):
            return embedding
    return None


def find_layout(latents: np.ndarray, *, n_neighbors: int = 15, seed: int = 0,
                cache_root: str | Path | None = None) -> np.ndarray | None:
    """The UMAP layout of ``latents`` that exists without fitting: the runtime cache's, else a
    shipped one (``resources/umap``); None when it would have to be fitted."""
    latents = np.ascontiguousarray(latents, np.float32)
    digest = key_hash(latents, n_neighbors=n_neighbors, seed=seed)
    try:
        root = Path(cache_root) if cache_root is not None else default_cache_root()
    except LatentLabError:  # no usable cache folder: only the shipped layouts count
        root = None
    found = read_cached(root / f"{digest}.npy") if root is not None else None
    return found if found is not None else shipped_layout(latents, n_neighbors=n_neighbors, seed=seed, digest=digest)


def default_cache_root() -> Path:
    from latentlab.locations import cache_dir

    return cache_dir() / "umap"


def read_cached(path: Path) -> np.ndarray | None:
    """The (N, 2) embedding stored at ``path``, or None (a missing or damaged file counts as none);
    a hit is marked recently used, the last to be pruned."""
    try:
        embedding = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if not _usable(embedding):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)
    return embedding.astype(np.float32, copy=False)


def layout_available(latents: np.ndarray, *, n_neighbors: int = 15, seed: int = 0,
                     cache_root: str | Path | None = None) -> bool:
    """True when the UMAP map of ``latents`` can be shown at once (cached or shipped), without
    a fit: the window may then open a model with more than two latent dimensions in UMAP."""
    return find_layout(latents, n_neighbors=n_neighbors, seed=seed, cache_root=cache_root) is not None


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "it stopped answering"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (SIGKILL: perhaps it ran out of memory)" if name == "SIGKILL" else ""
        return f"it was killed by {name}{hint}"
    return f"it exited with code {exitcode}"


class UmapService:
    """Fits UMAP embeddings in one long-lived worker process; poll it for events."""

    def __init__(self, cache_root: str | Path | None = None) -> None:
        """``cache_root`` defaults to ``cache_dir()/"umap"`` (created on first use)."""
        import multiprocessing

        self._context = multiprocessing.get_context("spawn")
        self._cache_root = Path(cache_root) if cache_root is not None else None
        self._process = None
        self._requests = None
        self._events = None
        self._pending: deque[_Job] = deque()
        self._running: _Job | None = None
        self._ready: list[UmapEvent] = []
        self._next_id = 1
        _live_services.add(self)

    # ------------------------------------------------------------------ cache
    @property
    def cache_root(self) -> Path:
        if self._cache_root is None:
            self._cache_root = default_cache_root()
        return self._cache_root

    def cache_path(self, key_hash: str) -> Path:
        return self.cache_root / f"{key_hash}.npy"

    def cached(self, key_hash: str) -> np.ndarray | None:
        """The cached (N, 2) embedding of that key hash, or None (a damaged file, or no usable
        cache folder, counts as none)."""
        try:
            return read_cached(self.cache_path(key_hash))
        except LatentLabError:
            return None

    def _store(self, key_hash: str, embedding: np.ndarray) -> None:
        """Write atomically (a temporary name, then rename); a failed write only costs a refit."""
        try:
            path = self.cache_path(key_hash)
        except LatentLabError:  # no writable cache folder: the result is still handed out
            return
        temporary = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.save(temporary, embedding, allow_pickle=False)
            os.replace(temporary, path)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink()
            return
        self._prune()

    def _prune(self) -> None:
        """Keep the CACHE_ENTRIES most recently used layouts; delete the others."""
        try:
            entries = [(p.stat().st_mtime, p) for p in self.cache_root.glob("*.npy") if ".tmp." not in p.name]
        except (OSError, LatentLabError):
            return
        for _, stale in sorted(entries, reverse=True)[CACHE_ENTRIES:]:
            with contextlib.suppress(OSError):
                stale.unlink()

    # ------------------------------------------------------------------- jobs
    def submit(self, key: str, latents: np.ndarray, *, n_neighbors: int = 15, seed: int = 0) -> int:
        """Ask for the UMAP of ``latents`` (N, D); returns the job id its events carry.

        A cached result is handed out by the next :meth:`poll` without the process.
        Earlier jobs with the same ``key`` are cancelled. A request for latents and
        parameters that are already waiting or being fitted (even by a cancelled job)
        joins that job and returns its id, rather than fitting them twice.
        """
        latents = np.ascontiguousarray(latents, np.float32)
        if latents.ndim != 2 or len(latents) < MIN_POINTS:
            raise ValueError(f"UMAP needs latents (N, D) with N >= {MIN_POINTS}, got shape {latents.shape}")
        if not np.all(np.isfinite(latents)):
            raise ValueError("UMAP cannot lay out latents with NaN or infinite values")
        job_hash = key_hash(latents, n_neighbors=n_neighbors, seed=seed)
        joined = self._find(job_hash)
        for job in self._jobs():
            if job.key == key and job is not joined:
                self.cancel(job.job_id)
        if joined is not None:  # these latents are being laid out already: wait for that fit
            joined.cancelled = False
            joined.key = key
            return joined.job_id
        job = _Job(self._next_id, key, job_hash, latents, int(n_neighbors), int(seed))
        self._next_id += 1
        embedding = self.cached(job.key_hash)
        if embedding is None:
            embedding = shipped_layout(latents, n_neighbors=job.n_neighbors, seed=job.seed, digest=job.key_hash)
        if embedding is not None:
            self._ready.append(UmapResult(job.job_id, key, job.key_hash, embedding, from_cache=True))
            return job.job_id
        waiting = "starting the UMAP worker process" if not self.worker_alive else "waiting for the UMAP worker"
        self._ready.append(UmapProgress(job.job_id, key, 0.0, waiting))
        self._pending.append(job)
        self._dispatch()
        return job.job_id

    def cancel(self, job_id: int) -> None:
        """Forget a job: a waiting one is dropped; a running fit cannot be interrupted, so it
        runs to its end and its result is cached but not reported."""
        self._pending = deque(job for job in self._pending if job.job_id != job_id)
        if self._running is not None and self._running.job_id == job_id:
            self._running.cancelled = True

    def _jobs(self) -> list[_Job]:
        return [*([self._running] if self._running is not None else []), *self._pending]

    def _find(self, job_hash: str) -> _Job | None:
        return next((job for job in self._jobs() if job.key_hash == job_hash), None)

    @property
    def busy(self) -> bool:
        """True while a job waits or runs (also a cancelled one still fitting)."""
        return bool(self._pending) or self._running is not None or bool(self._ready)

    def poll(self) -> list[UmapEvent]:
        """Events since the last poll, in order; starts the next job. Never blocks."""
        self._drain()
        if self._running is not None and not self.worker_alive:
            self._drain()  # what the worker sent just before it stopped
            if self._running is not None:
                job, self._running = self._running, None
                reason = describe_exit(self._process.exitcode if self._process is not None else None)
                self._discard_process()
                if not job.cancelled:
                    self._ready.append(UmapFailed(job.job_id, job.key, (
                        f"the UMAP worker process stopped unexpectedly: {reason}. "
                        "It is started again for the next request.")))
        self._dispatch()
        events, self._ready = self._ready, []
        return events

    # ---------------------------------------------------------------- process
    @property
    def worker_alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def worker_pid(self) -> int | None:
        """The worker process's id while it runs (it is never this process)."""
        return self._process.pid if self.worker_alive else None

    def _dispatch(self) -> None:
        if self._running is not None or not self._pending:
            return
        job = self._pending.popleft()
        try:
            self._ensure_process()
            self._requests.put((job.job_id, job.latents, job.n_neighbors, job.seed))
        except (OSError, ValueError, RuntimeError) as err:
            self._discard_process()
            self._ready.append(UmapFailed(job.job_id, job.key, f"cannot start the UMAP worker process: {err}"))
            return
        self._running = job

    def _ensure_process(self) -> None:
        if self.worker_alive:
            return
        self._discard_process()
        self._requests = self._context.Queue()
        self._events = self._context.Queue()
        self._process = self._context.Process(target=umap_worker.serve, args=(self._requests, self._events),
                                              name="latentlab-umap", daemon=True)
        self._process.start()

    def _drain(self) -> None:
        if self._events is None:
            return
        while True:
            try:
                message = self._events.get_nowait()
            except (queue.Empty, OSError, ValueError, EOFError):
                return
            self._handle(message)

    def _handle(self, message: tuple) -> None:
        kind, job_id = message[0], message[1]
        job = self._running
        if job is None or job.job_id != job_id:
            return
        if kind == "progress":
            if not job.cancelled:
                self._ready.append(UmapProgress(job_id, job.key, message[2], message[3]))
            return
        if kind == "partial":
            embedding = np.asarray(message[2], np.float32)
            if not job.cancelled and _usable(embedding, len(job.latents)):
                self._ready.append(UmapPartial(job_id, job.key, embedding))
            return
        self._running = None
        if kind == "result":
            embedding = np.asarray(message[2], np.float32)
            self._store(job.key_hash, embedding)
            if not job.cancelled:
                self._ready.append(UmapResult(job_id, job.key, job.key_hash, embedding, from_cache=False))
        elif not job.cancelled:
            self._ready.append(UmapFailed(job_id, job.key, message[2]))

    def _discard_process(self) -> None:
        """Stop the worker (at once if it is busy) and let go of it and its queues."""
        process, requests, events = self._process, self._requests, self._events
        self._process = self._requests = self._events = None
        if process is not None:
            if process.is_alive() and self._running is None and requests is not None:
                try:
                    requests.put(None)
                    process.join(STOP_GRACE_S)
                except (OSError, ValueError):
                    pass
            if process.is_alive():
                process.terminate()
                process.join(STOP_GRACE_S)
            if process.is_alive():
                process.kill()
                process.join()
            process.close()
        for channel in (requests, events):
            if channel is not None:
                channel.cancel_join_thread()  # never wait at exit for data a dead worker will not read
                channel.close()

    def shutdown(self) -> None:
        """Drop every job and stop the worker process; the service can be used again after."""
        self._pending.clear()
        running, self._running = self._running, None
        if running is not None:  # a fit in progress: no point in waiting for it
            if self._process is not None and self._process.is_alive():
                self._process.terminate()
        self._discard_process()
        self._ready.clear()


_live_services: weakref.WeakSet[UmapService] = weakref.WeakSet()


@atexit.register
def _shutdown_all() -> None:
    """At interpreter exit, before multiprocessing's own clean-up, stop every worker."""
    for service in list(_live_services):
        service.shutdown()
