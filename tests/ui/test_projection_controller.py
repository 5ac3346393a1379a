"""The window's UMAP controller (Qt signals over the worker process) and the projection picker.

A stand-in ``umap`` package first on sys.path (inherited by the spawned worker) makes fits
instant: these tests check the Qt side, not umap (tests/core/test_umap_service.py fits it).
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from latentlab.latent.embedding import EmbeddingProjection
from latentlab.latent.umap_service import UmapService, key_hash
from latentlab.ui.map.projection_controller import ProjectionController
from latentlab.ui.map.projection_picker import ProjectionPicker

FAKE_UMAP = '''
import time
import numpy as np

class UMAP:
    def __init__(self, **settings):
        self.file = settings["tqdm_kwds"]["file"]

    def fit_transform(self, x):
        if x[0, 0] == 555:
            time.sleep(1.0)
        print("Construct embedding")
        self.file.write("\\r5/5")
        return np.asarray(x[:, :2], np.float32) * 2.0
'''


def shadow_umap(tmp_path, monkeypatch, source: str) -> None:
    package = tmp_path / "shadow" / "umap"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(package.parent))


@pytest.fixture
def controller(qtbot, tmp_path):
    ctl = ProjectionController(service=UmapService(tmp_path / "cache"), poll_ms=10)
    yield ctl
    ctl.shutdown()


def latents(n: int = 200, first: float | None = None) -> np.ndarray:
    z = np.random.default_rng(0).normal(size=(n, 6)).astype(np.float32)
    if first is not None:
        z[0, 0] = first
    return z


def test_a_fit_reports_progress_then_an_embedding_projection(qtbot, controller, tmp_path, monkeypatch):
    shadow_umap(tmp_path, monkeypatch, FAKE_UMAP)
    progress = []
    controller.progress.connect(lambda fraction, message, eta: progress.append((fraction, message)))
    z = latents()
    with qtbot.waitSignal(controller.done, timeout=60_000) as ready:
        controller.request_umap("vae|mnist-5k", z)
        assert controller.pending
    projection = ready.args[0]
    assert isinstance(projection, EmbeddingProjection)
    np.testing.assert_array_equal(projection.embedding, z[:, :2] * 2.0)
    np.testing.assert_allclose(projection.to_latent(projection.embedding[:10]), z[:10], atol=1e-6)
    messages = [m for _, m in progress]
    assert any("epoch 5 of 5" in m for m in messages) and messages[-1] == "UMAP ready"
    assert not controller.pending
    qtbot.waitUntil(lambda: not controller.polling, timeout=5_000)  # idle: no more polling


def test_a_cached_layout_is_ready_without_a_worker_process(qtbot, controller):
    z = latents()
    embedding = np.random.default_rng(1).normal(size=(len(z), 2)).astype(np.float32)
    path = controller.service.cache_path(key_hash(z))
    path.parent.mkdir(parents=True)
    np.save(path, embedding)
    with qtbot.waitSignal(controller.progress) as progress, qtbot.waitSignal(controller.done) as ready:
        controller.request_umap("vae|mnist-5k", z)
    np.testing.assert_array_equal(ready.args[0].embedding, embedding)
    assert progress.args == [1.0, "UMAP ready (from the cache)", None]  # (fraction, message, eta_s)
    assert not controller.service.worker_alive


def test_only_the_newest_request_is_answered(qtbot, controller, tmp_path, monkeypatch):
    shadow_umap(tmp_path, monkeypatch, FAKE_UMAP)
    answered = []
    controller.done.connect(answered.append)
    controller.request_umap("first model", latents(first=555.0))  # takes a second in the worker
    second = latents(n=150)
    controller.request_umap("second model", second)
    qtbot.waitUntil(lambda: len(answered) == 1, timeout=60_000)
    qtbot.wait(50)
    assert len(answered) == 1 and len(answered[0].latents) == 150


def test_a_failure_is_one_signal_with_a_clear_message(qtbot, controller, tmp_path, monkeypatch):
    shadow_umap(tmp_path, monkeypatch, "raise ImportError(\"No module named 'umap'\")\n")
    with qtbot.waitSignal(controller.failed, timeout=60_000) as failed:
        controller.request_umap("vae|mnist-5k", latents())
    assert "pip install umap-learn" in failed.args[0]
    with qtbot.waitSignal(controller.failed) as refused:
        controller.request_umap("vae|mnist-5k", latents(n=3))
    assert "N >= 5" in refused.args[0]


def test_shutdown_stops_the_worker(qtbot, controller, tmp_path, monkeypatch):
    shadow_umap(tmp_path, monkeypatch, FAKE_UMAP)
    with qtbot.waitSignal(controller.done, timeout=60_000):
        controller.request_umap("vae|mnist-5k", latents())
    assert controller.service.worker_alive
    controller.shutdown()
    assert not controller.service.worker_alive


# -------------------------------------------------------------------- picker
def test_picker_offers_pca_and_umap_only_for_latents_of_more_than_two_dimensions(qtbot):
    picker = ProjectionPicker()
    qtbot.addWidget(picker)
    kinds = []
    picker.kindChanged.connect(kinds.append)
    picker.set_latent_dim(16)
    picker.set_kind("umap")
    assert picker.kind() == "umap" and kinds == ["umap"]
    picker.set_latent_dim(2)
    assert picker.kind() == "slice" and kinds == ["umap", "slice"]
    item = picker.combo.model().item(picker.combo.findData("pca"))
    assert not item.isEnabled() and "more than 2 dimensions" in item.toolTip()
    with pytest.raises(ValueError, match="unknown projection kind"):
        picker.set_kind("tsne")


def test_picker_shows_progress_failure_and_distance(qtbot):
    picker = ProjectionPicker()
    qtbot.addWidget(picker)
    picker.show()
    picker.set_latent_dim(8)
    picker.set_kind("umap")
    picker.set_progress(0.4, "laying out the embedding: epoch 80 of 200")
    assert picker.bar.isVisible() and picker.bar.value() == 400
    assert "epoch 80 of 200" in picker.status.text() and "PCA" in picker.status.toolTip()
    picker.set_failed("the UMAP worker process stopped unexpectedly")
    assert not picker.bar.isVisible() and "failed" in picker.status.text()
    assert "stopped unexpectedly" in picker.status.toolTip()
    picker.set_distance(0.6)
    assert picker.distance.text().startswith("Marker: 0.6")
    picker.set_distance(7.0)
    assert picker.distance.text().startswith("Extrapolating: 7.0")
    picker.set_distance(float("nan"))
    assert picker.distance.text() == ""
    picker.set_kind("pca")
    assert picker.status.text() == "" and not picker.bar.isVisible()
