"""The map's projection picker wired into the window: slice, PCA and UMAP of a 4-D VAE.

UMAP's worker process is replaced by a service stand-in whose layouts the test hands out
when it wants (tests/ui/test_projection_controller.py runs the real service): these tests
check what the window does with a layout, not how it is computed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt

from latentlab.latent.embedding import EmbeddingProjection
from latentlab.latent.projection import PCAProjection
from latentlab.latent.umap_service import UmapProgress, UmapResult
from latentlab.models.checkpoint import load_checkpoint


class StandInService:
    """What ProjectionController needs of a UmapService; ``finish`` hands out a layout."""

    def __init__(self) -> None:
        self.jobs: dict[int, tuple[str, np.ndarray]] = {}
        self.cancelled: list[int] = []
        self.events: list = []
        self.open: set[int] = set()  # submitted, neither finished nor cancelled
        self._next = 1

    def submit(self, key: str, latents: np.ndarray, **_) -> int:
        job_id, self._next = self._next, self._next + 1
        self.jobs[job_id] = (key, np.array(latents))
        self.open.add(job_id)
        self.events.append(UmapProgress(job_id, key, 0.4, "laying out the embedding: epoch 80 of 200"))
        return job_id

    def finish(self, job_id: int, embedding: np.ndarray) -> None:
        key, _ = self.jobs[job_id]
        self.open.discard(job_id)
        self.events.append(UmapResult(job_id, key, "hash", np.asarray(embedding, np.float32), from_cache=False))

    def cached(self, key_hash: str):
        return None  # nothing laid out before: a layout comes only through finish

    def cancel(self, job_id: int) -> None:
        self.cancelled.append(job_id)
        self.open.discard(job_id)

    def poll(self) -> list:
        events, self.events = self.events, []
        return events

    @property
    def busy(self) -> bool:
        return bool(self.events or self.open)

    def shutdown(self) -> None:
        self.events.clear()


@pytest.fixture
def vae4_window(window, checkpoints):
    window.projection_controller.service = StandInService()
    assert window.open_checkpoint(checkpoints["vae4"])
    return window


def layout_of(latents: np.ndarray) -> np.ndarray:
    """A stand-in UMAP layout: a non-linear, one-to-one map of two latent dimensions."""
    return np.c_[np.tanh(latents[:, 0]) * 5.0 + latents[:, 2], latents[:, 1] ** 3 + latents[:, 3]]


def on_plane_of(pca: PCAProjection, z: np.ndarray) -> np.ndarray:
    """The orthogonal projection of the latent ``z`` onto the PCA plane, computed here."""
    basis = pca.components  # (2, D), orthonormal
    return pca.mean + (z - pca.mean) @ basis.T @ basis


def decoded(window, z: np.ndarray) -> np.ndarray:
    model = load_checkpoint(window.session.path).model.eval()  # an independent copy of the weights
    with torch.no_grad():
        return model.decode(torch.from_numpy(np.asarray(z, np.float32)[None])).numpy()[0, 0]


def click(qtbot, window, x: float, y: float) -> tuple[float, float]:
    lmap = window.latent_map
    with qtbot.waitSignal(window.explorer.decoded, timeout=2000):
        qtbot.mouseClick(lmap.plot.viewport(), Qt.MouseButton.LeftButton, pos=lmap.viewport_position(x, y))
    return lmap.marker_position()


def test_a_four_dimensional_latent_opens_in_pca_and_switches_to_the_slice_and_back(qtbot, vae4_window):
    window = vae4_window
    lmap, explorer, picker = window.latent_map, window.explorer, window.projection_picker
    latents = explorer.points.latents
    pca = PCAProjection.fit(latents)
    assert picker.kind() == "pca" and picker.isEnabled() and picker.isVisible()
    np.testing.assert_allclose(lmap.positions(), pca.to_plane(latents), atol=1e-5)
    assert lmap.plot_item.getAxis("bottom").labelText.startswith("PC1 (")
    assert not lmap.dim_x.isVisible()

    (x0, x1), (y0, y1) = lmap.visible_region()
    xy = click(qtbot, window, x0 + 0.7 * (x1 - x0), y0 + 0.3 * (y1 - y0))
    np.testing.assert_allclose(window.decoded_view.image(), decoded(window, pca.to_latent([xy])[0]), atol=1e-5)
    near = picker.distance.text()
    assert near.startswith(("Marker: ", "Extrapolating: ")) and "spacings from the data" in near

    far = pca.to_plane(latents).max(0) * 10 + 5  # far out in empty plane
    explorer.set_marker(*far)
    assert picker.distance.text().startswith("Extrapolating: ") and picker.distance.text() != near
    np.testing.assert_allclose(explorer.marker_latent(), pca.to_latent([far])[0], atol=1e-5)

    paths = []
    explorer.projectionChanged.connect(lambda: paths.append(explorer.projection.kind))
    picker.set_kind("slice")
    np.testing.assert_allclose(lmap.positions(), latents[:, [0, 1]], atol=1e-6)
    assert lmap.dim_x.isVisible() and "data mean" in lmap.plot_item.getAxis("bottom").labelText
    lmap.dim_y.setValue(3)
    np.testing.assert_allclose(lmap.positions(), latents[:, [0, 3]], atol=1e-6)

    picker.set_kind("pca")
    np.testing.assert_allclose(lmap.positions(), pca.to_plane(latents), atol=1e-5)
    assert not lmap.dim_x.isVisible() and lmap.dims() == (0, 3)  # kept for the next slice
    assert paths == ["slice", "slice", "pca"]  # the interpolation path is redrawn each time
    xy = click(qtbot, window, x0 + 0.4 * (x1 - x0), y0 + 0.6 * (y1 - y0))
    np.testing.assert_allclose(window.decoded_view.image(), decoded(window, pca.to_latent([xy])[0]), atol=1e-5)


def test_the_marker_keeps_its_latent_across_a_switch(qtbot, vae4_window):
    window = vae4_window
    explorer, picker = window.explorer, window.projection_picker
    latents = explorer.points.latents
    picker.set_kind("slice")
    explorer.set_marker(0.8, -0.4)
    before = explorer.marker_latent()
    picker.set_kind("pca")  # the nearest latent the PCA plane can show
    np.testing.assert_allclose(explorer.marker_latent(), on_plane_of(PCAProjection.fit(latents), before), atol=1e-5)
    np.testing.assert_allclose(window.decoded_view.image(), decoded(window, explorer.marker_latent()), atol=1e-5)

    service = window.projection_controller.service
    picker.set_kind("umap")
    service.finish(max(service.jobs), layout_of(latents))
    qtbot.waitUntil(lambda: explorer.projection.kind == "umap", timeout=5000)
    i = 17
    explorer.set_marker(*explorer.projection.embedding[i])  # on a data point: its own latent
    np.testing.assert_allclose(explorer.marker_latent(), latents[i], atol=1e-6)
    picker.set_kind("pca")
    np.testing.assert_allclose(explorer.marker_latent(), on_plane_of(PCAProjection.fit(latents), latents[i]),
                               atol=1e-5)


def test_umap_shows_pca_until_its_layout_is_ready(qtbot, vae4_window):
    window = vae4_window
    lmap, explorer, picker = window.latent_map, window.explorer, window.projection_picker
    controller, service = window.projection_controller, window.projection_controller.service
    latents = explorer.points.latents
    pca_positions = PCAProjection.fit(latents).to_plane(latents)

    with qtbot.waitSignal(controller.progress, timeout=5000):
        picker.set_kind("umap")
    key, requested = service.jobs[max(service.jobs)]
    assert key == f"{window.session.path}|mnist-5k"
    np.testing.assert_array_equal(requested, latents)
    assert explorer.projection.kind == "pca" and controller.pending
    np.testing.assert_allclose(lmap.positions(), pca_positions, atol=1e-5)
    assert picker.bar.isVisible() and "epoch 80 of 200" in picker.status.text()

    layout = layout_of(latents)
    with qtbot.waitSignal(controller.done, timeout=5000):
        service.finish(max(service.jobs), layout)
    umap = explorer.projection
    assert isinstance(umap, EmbeddingProjection)
    np.testing.assert_allclose(lmap.positions(), layout, atol=1e-5)
    assert lmap.plot_item.getAxis("bottom").labelText == "UMAP 1" and not lmap.dim_x.isVisible()
    assert not picker.bar.isVisible() and picker.status.text() == ""

    xy = click(qtbot, window, *(layout[5] + [0.05, -0.03]))
    np.testing.assert_allclose(window.decoded_view.image(), decoded(window, umap.to_latent([xy])[0]), atol=1e-5)
    assert picker.distance.text().startswith("Marker: ")  # next to data point 5
    explorer.set_marker(*(layout.max(0) + 10 * umap.spacing + 1.0))  # out in empty plane
    assert picker.distance.text().startswith("Extrapolating: ")

    picker.set_kind("pca")
    np.testing.assert_allclose(lmap.positions(), pca_positions, atol=1e-5)
    picker.set_kind("umap")  # the layout of these points is kept: no new request
    assert explorer.projection is umap and not controller.pending


def test_a_stale_umap_layout_is_ignored(qtbot, vae4_window):
    window = vae4_window
    lmap, explorer, picker = window.latent_map, window.explorer, window.projection_picker
    controller, service = window.projection_controller, window.projection_controller.service
    latents = explorer.points.latents
    pca_positions = PCAProjection.fit(latents).to_plane(latents)

    picker.set_kind("umap")
    job = max(service.jobs)
    picker.set_kind("pca")  # before the layout is ready
    assert job in service.cancelled and not controller.pending
    answered = []
    controller.done.connect(answered.append)
    service.finish(job, layout_of(latents))
    controller._poll()  # what the timer would do
    assert answered == [] and explorer.projection.kind == "pca"
    np.testing.assert_allclose(lmap.positions(), pca_positions, atol=1e-5)

    # A layout that reaches the explorer anyway is shown only for the very latents on the
    # map, and only while UMAP is chosen; one of these latents is kept for when it is.
    picker.set_kind("umap")
    explorer.on_umap_ready(EmbeddingProjection(layout_of(latents + 0.5), latents + 0.5))  # another model's
    assert explorer.projection.kind == "pca"
    np.testing.assert_allclose(lmap.positions(), pca_positions, atol=1e-5)
    picker.set_kind("pca")
    explorer.on_umap_ready(EmbeddingProjection(layout_of(latents), latents))
    assert explorer.projection.kind == "pca"
    requests = len(service.jobs)
    picker.set_kind("umap")
    assert explorer.projection.kind == "umap" and len(service.jobs) == requests
    np.testing.assert_allclose(lmap.positions(), layout_of(latents), atol=1e-5)


def test_training_snapshots_refit_pca_and_umap_follows_when_training_ends(qtbot, vae4_window):
    from latentlab.app.training_job import TrainingSnapshot

    window = vae4_window
    lmap, explorer, picker = window.latent_map, window.explorer, window.projection_picker
    service = window.projection_controller.service
    latents = explorer.points.latents
    picker.set_kind("umap")
    service.finish(max(service.jobs), layout_of(latents))
    qtbot.waitUntil(lambda: explorer.projection.kind == "umap", timeout=5000)

    explorer.training = True
    first = explorer.projection
    moved = latents * 1.5 + 0.25
    explorer.apply_training_snapshot(TrainingSnapshot(window.session.snapshot, moved, None, 0.5, 10))
    assert explorer.projection.kind == "pca"  # UMAP cannot follow a few snapshots a second
    np.testing.assert_allclose(lmap.positions(), PCAProjection.fit(moved).to_plane(moved), atol=1e-4)
    pca = explorer.projection
    nudged = moved.copy()
    nudged[:, 0] += 1e-3  # a refit to nearly the same latents keeps the axes' directions
    explorer.apply_training_snapshot(TrainingSnapshot(window.session.snapshot, nudged, None, 0.6, 20))
    assert np.all(np.sum(explorer.projection.components * pca.components, axis=1) > 0.99)
    assert first is not explorer.projection and len(service.jobs) == 1  # no layout asked for while training

    explorer.training = False
    explorer.refresh_all()  # what the window does when training ends
    assert len(service.jobs) == 2
    np.testing.assert_array_equal(service.jobs[2][1], nudged)
    service.finish(2, layout_of(nudged))
    qtbot.waitUntil(lambda: explorer.projection.kind == "umap", timeout=5000)
    np.testing.assert_allclose(lmap.positions(), layout_of(nudged), atol=1e-5)


def test_a_two_dimensional_latent_has_only_the_slice_and_still_measures_distance(qtbot, window, checkpoints):
    window.projection_controller.service = StandInService()
    assert window.open_checkpoint(checkpoints["vae4"])
    window.projection_picker.set_kind("umap")
    assert window.open_checkpoint(checkpoints["vae"])
    picker = window.projection_picker
    assert picker.kind() == "slice" and window.explorer.projection.kind == "slice"
    assert not picker.combo.model().item(picker.combo.findData("pca")).isEnabled()
    assert not window.projection_controller.pending  # the 4-D model's request was dropped
    np.testing.assert_allclose(window.latent_map.positions(), window.explorer.points.latents, atol=1e-6)
    window.explorer.set_marker(0.0, 0.0)
    assert picker.distance.text().endswith("spacings from the data")
    assert window.open_checkpoint(checkpoints["vae4"])
    assert picker.kind() == "pca"  # a latent of more than 2-D opens in PCA again


def test_session_state_keeps_the_projection_and_a_umap_view_waits_for_its_layout(qtbot, vae4_window):
    from latentlab.ui.main import session_state
    from latentlab.ui.main.session_state import SessionState

    window = vae4_window
    explorer, picker, service = window.explorer, window.projection_picker, window.projection_controller.service
    picker.set_kind("slice")
    assert window.capture_state().projection == "slice"
    latents = explorer.points.latents
    layout = layout_of(latents)
    state = SessionState(models=[str(window.session.path.resolve())], projection="umap",
                         view=(-1.0, 2.0, -3.0, 0.5), marker=tuple(layout[9]))
    assert window.restore_view(state)
    assert picker.kind() == "umap" and explorer.waiting_for_umap  # PCA meanwhile: the view waits
    service.finish(max(service.jobs), layout)
    qtbot.waitUntil(lambda: explorer.projection.kind == "umap", timeout=5000)
    assert window.latent_map.marker_position() == pytest.approx(layout[9], abs=1e-5)
    np.testing.assert_allclose(explorer.marker_latent(), latents[9], atol=1e-6)  # on data point 9
    (x0, x1), (y0, y1) = window.latent_map.visible_region()
    assert (x0, x1, y0, y1) == pytest.approx((-1.0, 2.0, -3.0, 0.5), abs=1e-6)
    assert window.capture_state().projection == "umap"
