"""The UMAP worker process: events, the cache, a missing umap, a dying worker, one real fit.

Most tests put a stand-in ``umap`` package first on sys.path (the spawned worker inherits
the parent's sys.path): it answers at once, so these tests check the service's plumbing in
a real child process without numba's ~30 s of compiling. One test fits the real umap.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from latentlab.latent.embedding import EmbeddingProjection
from latentlab.latent.umap_service import (
    UmapFailed,
    UmapPartial,
    UmapProgress,
    UmapResult,
    UmapService,
    key_hash,
    layout_available,
)
from latentlab.latent.umap_worker import ProgressStream

#: The stand-in's embedding is twice the first two columns; a first value of 999 hangs it
#: (so a test can kill the worker mid-fit), 555 makes it take a second.
FAKE_UMAP = '''
import time
import numpy as np

class UMAP:
    def __init__(self, n_components=2, n_neighbors=15, random_state=None, verbose=False, tqdm_kwds=None,
                 init="spectral", precomputed_knn=None):
        self.file = (tqdm_kwds or {}).get("file")
        self.init, self.knn = init, precomputed_knn

    def fit_transform(self, x):
        assert self.knn is not None and self.knn[0].shape == (len(x), self.knn[0].shape[1])
        with open(__file__ + ".fits", "a") as log:  # one line per fit (and its start), for the tests
            log.write(f"fit {len(x)} {'array' if isinstance(self.init, np.ndarray) else self.init}\\n")
        if x[0, 0] == 999:
            time.sleep(600)
        if x[0, 0] == 555:
            time.sleep(1.0)
        print("Construct fuzzy simplicial set")
        print("Finished Nearest Neighbor Search")
        print("Construct embedding")
        self.file.write("\\r10/10")
        print("Finished embedding")
        return np.asarray(x[:, :2], np.float32) * 2.0
'''


def shadow_umap(tmp_path, monkeypatch, source: str) -> Path:
    """A ``umap`` package first on sys.path; returns its __init__.py."""
    package = tmp_path / "shadow" / "umap"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(package.parent))
    return package / "__init__.py"


@pytest.fixture
def fake_umap(tmp_path, monkeypatch) -> Path:
    """The stand-in umap; returns the log file with a line per fit."""
    init = shadow_umap(tmp_path, monkeypatch, FAKE_UMAP)
    return Path(f"{init}.fits")


@pytest.fixture
def service(tmp_path):
    svc = UmapService(tmp_path / "cache")
    yield svc
    svc.shutdown()


def collect(service: UmapService, job_id: int, timeout: float = 60.0) -> list:
    """Poll until ``job_id`` has a result or failed; every event of that job, in order."""
    events = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        events += [e for e in service.poll() if e.job_id == job_id]
        if events and isinstance(events[-1], (UmapResult, UmapFailed)):
            return events
        time.sleep(0.02)
    raise AssertionError(f"no result within {timeout} s; events: {events}")


def clusters(n: int = 300, dim: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=8.0, size=(3, dim))
    labels = np.arange(n) % 3
    return (centres[labels] + rng.normal(size=(n, dim))).astype(np.float32), labels


def test_a_fit_runs_in_a_child_process_with_progress_and_is_cached(service, fake_umap, tmp_path):
    latents, _ = clusters()
    job = service.submit("model|data", latents)
    events = collect(service, job)
    assert isinstance(events[-1], UmapResult) and not events[-1].from_cache
    np.testing.assert_array_equal(events[-1].embedding, latents[:, :2] * 2.0)
    assert service.worker_pid not in (None, os.getpid())
    messages = [e.message for e in events if isinstance(e, UmapProgress)]
    assert messages[0] == "starting the UMAP worker process"
    assert any("importing umap" in m for m in messages) and any("epoch 10 of 10" in m for m in messages)
    assert messages[-1] == "done"
    fractions = [e.fraction for e in events if isinstance(e, UmapProgress)]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0

    again = UmapService(tmp_path / "cache")  # a later run: the cache answers, no process starts
    try:
        np.testing.assert_array_equal(again.cached(key_hash(latents)), latents[:, :2] * 2.0)
        events = collect(again, again.submit("model|data", latents))
        assert [type(e) for e in events] == [UmapResult] and events[0].from_cache
        assert not again.worker_alive
        assert again.cached(key_hash(latents, n_neighbors=30)) is None  # other parameters: another fit
    finally:
        again.shutdown()


def test_a_killed_worker_gives_a_failed_event_and_the_next_request_restarts_it(service, fake_umap):
    latents, _ = clusters()
    hanging = latents.copy()
    hanging[0, 0] = 999
    job = service.submit("model|data", hanging)
    end = time.monotonic() + 60
    while not any("fitting" in getattr(e, "message", "") for e in service.poll()):
        assert time.monotonic() < end, "the worker never started fitting"
        time.sleep(0.02)
    first_pid = service.worker_pid
    os.kill(first_pid, signal.SIGKILL)
    events = collect(service, job)
    assert isinstance(events[-1], UmapFailed)
    assert "stopped unexpectedly" in events[-1].message and "SIGKILL" in events[-1].message
    assert not service.worker_alive

    events = collect(service, service.submit("model|data", latents))
    assert isinstance(events[-1], UmapResult)
    assert service.worker_pid not in (None, first_pid)


def test_a_newer_request_for_the_same_key_wins_and_the_older_result_is_still_cached(service, fake_umap):
    latents, _ = clusters()
    slow = latents.copy()
    slow[0, 0] = 555
    older = service.submit("model|data", slow)
    newer = service.submit("model|data", latents)
    seen = []
    end = time.monotonic() + 60
    while not any(isinstance(e, UmapResult) and e.job_id == newer for e in seen):
        assert time.monotonic() < end, f"no result for the newer job; events: {seen}"
        seen += service.poll()
        time.sleep(0.02)
    assert not any(e.job_id == older and not isinstance(e, UmapProgress) for e in seen)
    assert service.cached(key_hash(slow)) is not None  # it was already fitting: kept for later


def test_a_request_for_latents_being_fitted_joins_that_fit(service, fake_umap):
    slow, _ = clusters()
    slow[0, 0] = 555
    first = service.submit("model|data", slow)
    service.cancel(first)  # say the user left UMAP and came back while it was fitting
    second = service.submit("model|data", slow)
    assert second == first
    events = collect(service, second)
    assert isinstance(events[-1], UmapResult)
    assert fake_umap.read_text().count("fit") == 1


def test_an_unusable_cache_folder_only_costs_the_cache(fake_umap, tmp_path):
    (tmp_path / "a file").write_text("not a folder")
    service = UmapService(tmp_path / "a file" / "umap")
    try:
        latents, _ = clusters()
        events = collect(service, service.submit("model|data", latents))
        assert isinstance(events[-1], UmapResult) and not events[-1].from_cache
        assert service.cached(key_hash(latents)) is None
    finally:
        service.shutdown()


def test_umap_not_installed_names_the_package_to_install(service, tmp_path, monkeypatch):
    shadow_umap(tmp_path, monkeypatch, "raise ImportError(\"No module named 'umap'\")\n")
    events = collect(service, service.submit("model|data", clusters()[0]))
    assert isinstance(events[-1], UmapFailed)
    assert "pip install umap-learn" in events[-1].message
    assert service.worker_alive  # the worker itself is fine and waits for the next request


def test_shutdown_stops_the_worker_and_bad_latents_are_refused(service, fake_umap):
    with pytest.raises(ValueError, match="N >= 5"):
        service.submit("k", np.zeros((3, 4), np.float32))
    with pytest.raises(ValueError, match="NaN"):
        service.submit("k", np.full((10, 4), np.nan, np.float32))
    collect(service, service.submit("k", clusters()[0]))
    pid = service.worker_pid
    service.shutdown()
    assert not service.worker_alive and not service.busy
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


ORPHAN_SCRIPT = """
import os, signal, sys, time
import numpy as np
from latentlab.latent.umap_service import UmapService

if __name__ == "__main__":
    service = UmapService(sys.argv[2])
    latents = np.ones((50, 4), np.float32)
    latents[0, 0] = 999  # the stand-in umap hangs on this
    service.submit("k", latents)
    while not any("fitting" in getattr(e, "message", "") for e in service.poll()):
        time.sleep(0.02)
    print(service.worker_pid, flush=True)
    if sys.argv[1] == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
"""


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie no one has reaped yet (an init that does not reap) has stopped too
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


@pytest.mark.parametrize("how", ["exits", "killed"])
def test_the_worker_ends_with_the_app(fake_umap, tmp_path, how):
    """At a normal exit the service stops it; if the app is killed, the worker notices."""
    script = tmp_path / "app.py"
    script.write_text(ORPHAN_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake_umap.parent.parent), os.getcwd()])}
    proc = subprocess.run([sys.executable, str(script), how, str(tmp_path / "cache")], env=env,
                          capture_output=True, text=True, timeout=90)
    pid = int(proc.stdout.split()[0])
    end = time.monotonic() + 30
    while not process_gone(pid):
        assert time.monotonic() < end, f"the worker {pid} outlived the app ({how})"
        time.sleep(0.05)


def test_progress_stream_reads_umaps_verbose_output():
    reports = []
    stream = ProgressStream(lambda fraction, message: reports.append((fraction, message)), first_fit=True)
    stream.write("Sat Nov 21 12:00:00 2026 Construct fuzzy simplicial set\n")
    stream.write("UMAP(n_neighbors=15/2)\n")  # not an epoch count: the layout has not begun
    stream.write("Sat Nov 21 12:00:05 2026 Construct embedding\n")
    stream.write("\r0/200")
    stream.write("\r200/200")
    assert [round(f, 2) for f, _ in reports] == [0.05, 0.35, 0.35, 0.95]
    assert "compiles umap" in reports[0][1] and reports[-1][1] == "laying out the embedding: epoch 200 of 200"


@pytest.mark.slow
def test_real_umap_fits_in_the_worker_process_and_separates_clusters(service, tmp_path):
    """The one real fit (about 30-40 s: numba compiles umap in the fresh worker)."""
    latents, labels = clusters()
    job = service.submit("model|data", latents)
    events = collect(service, job, timeout=600)
    assert isinstance(events[-1], UmapResult), events[-1]
    assert service.worker_pid not in (None, os.getpid())
    assert "umap" not in sys.modules  # the parent never imported it
    messages = " | ".join(e.message for e in events if isinstance(e, UmapProgress))
    for stage in ("importing umap", "finding neighbours", "laying out the embedding: epoch", "done"):
        assert stage in messages
    embedding = events[-1].embedding
    assert embedding.shape == (300, 2) and embedding.dtype == np.float32
    # the three clusters stay apart: every point's nearest embedded neighbour is of its cluster
    d = np.linalg.norm(embedding[:, None] - embedding[None], axis=2)
    np.fill_diagonal(d, np.inf)
    assert np.all(labels[np.argmin(d, 1)] == labels)
    # the fast inverse returns each point's latent at its position, and between a point and its
    # nearest neighbour in the embedding it stays within its cluster's spread of that point
    projection = EmbeddingProjection(embedding, latents)
    np.testing.assert_allclose(projection.to_latent(embedding), latents, atol=1e-4)
    midway = projection.to_latent((embedding + embedding[np.argmin(d, 1)]) / 2)
    spread = np.median(np.linalg.norm(latents - latents[labels == 0].mean(0), axis=1)[labels == 0])
    assert np.all(np.linalg.norm(midway - latents, axis=1) < 1.5 * spread)
    # and the second time, the cache answers without the worker
    again = UmapService(tmp_path / "cache")
    try:
        events = collect(again, again.submit("model|data", latents))
        assert events[0].from_cache and not again.worker_alive
        np.testing.assert_array_equal(events[0].embedding, embedding)
    finally:
        again.shutdown()


def test_the_cache_keeps_only_the_most_recently_used_layouts(tmp_path, monkeypatch):
    from latentlab.latent import umap_service

    monkeypatch.setattr(umap_service, "CACHE_ENTRIES", 3)
    svc = UmapService(tmp_path / "cache")
    layout = np.zeros((5, 2), np.float32)
    for i, key in enumerate("abcd"):
        svc._store(key, layout + i)
        os.utime(svc.cache_path(key), (1000 + i, 1000 + i))  # distinct ages, a then b, c, d
    # Storing d pruned a (the oldest); reading b makes it the most recent, so e prunes c.
    assert not svc.cache_path("a").exists()
    assert svc.cached("b") is not None
    svc._store("e", layout)
    assert sorted(p.stem for p in (tmp_path / "cache").glob("*.npy")) == ["b", "d", "e"]


# --- large sets, shipped layouts, numba's disk cache -----------------------------------------------


def test_a_large_set_streams_a_preview_that_the_full_fit_starts_from(service, fake_umap):
    latents, _ = clusters(n=12_000, dim=4)
    job = service.submit("big|data", latents)
    events = collect(service, job)
    kinds = [type(e) for e in events]
    assert kinds.count(UmapPartial) == 1 and kinds.index(UmapPartial) < kinds.index(UmapResult)
    preview = next(e for e in events if isinstance(e, UmapPartial)).embedding
    assert preview.shape == (12_000, 2) and np.all(np.isfinite(preview))
    # the preview lays out 5,000 of the points (the stand-in: twice their first two values) and
    # places the others among them; the full fit then starts from it
    placed = np.all(preview == latents[:, :2] * 2.0, axis=1)
    assert placed.sum() >= 5_000
    assert fake_umap.read_text().splitlines() == ["fit 5000 spectral", "fit 12000 array"]
    fractions = [e.fraction for e in events if isinstance(e, UmapProgress)]
    assert fractions == sorted(fractions)


def test_shipped_layouts_are_found_without_a_fit_even_for_slightly_other_floats(tmp_path, monkeypatch, fake_umap):
    resources = tmp_path / "resources"
    (resources / "umap").mkdir(parents=True)
    monkeypatch.setenv("LATENTLAB_RESOURCES", str(resources))
    latents, _ = clusters(n=50)
    layout = np.random.default_rng(1).normal(size=(50, 2)).astype(np.float32)
    np.savez_compressed(resources / "umap" / "made-with-another-umap.npz", embedding=layout, latents=latents,
                        n_neighbors=np.int64(15), seed=np.int64(0))
    cache = tmp_path / "cache"
    assert layout_available(latents, cache_root=cache)
    assert layout_available(latents * (1 + 1e-6), cache_root=cache)  # another CPU's rounding
    assert not layout_available(latents + 0.1, cache_root=cache)
    assert not layout_available(latents, n_neighbors=30, cache_root=cache)
    svc = UmapService(cache)
    try:
        events = collect(svc, svc.submit("shipped|data", latents))
        assert [type(e) for e in events] == [UmapResult] and events[0].from_cache and not svc.worker_alive
        np.testing.assert_array_equal(events[0].embedding, layout)
    finally:
        svc.shutdown()
    assert not fake_umap.exists()


def test_the_shipped_16d_vae_has_its_umap_layout(tmp_path, monkeypatch):
    """resources/umap holds the layout of exactly what the window maps (scripts/build_umap_layouts.py)."""
    from latentlab.locations import resources_dir
    from latentlab.app.session import Session

    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path))
    latents = Session.open(resources_dir() / "pretrained" / "vae-16d.safetensors").map_points().latents
    assert latents.shape == (1000, 16)
    assert layout_available(latents), "rebuild it: python scripts/build_umap_layouts.py"


def test_numbas_compiled_code_is_kept_in_the_user_cache(tmp_path):
    """In a fresh process, as the worker does: numba's cache goes to cache_dir()/numba and
    functions without cache=True (all of umap-learn's) are cached too."""
    code = textwrap.dedent("""
        from latentlab.latent.umap_worker import cache_numba_on_disk
        cache_numba_on_disk()
        import numba

        @numba.njit
        def plus_one(x):
            return x + 1

        assert plus_one(1) == 2
    """)
    script = tmp_path / "compile_once.py"  # numba caches functions of files, not of `python -c`
    script.write_text(code)
    env = {**os.environ, "LATENTLAB_CACHE": str(tmp_path), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("NUMBA_CACHE_DIR", None)
    subprocess.run([sys.executable, str(script)], env=env, check=True, timeout=120)
    assert list((tmp_path / "numba").rglob("*.nbi")), "nothing was cached"
