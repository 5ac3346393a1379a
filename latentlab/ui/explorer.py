"""The explorer: ties a Session to the latent map and the decoded view.

It owns the projection (plane <-> latent), the map's points, the marker's decode on the
GUI thread (one image from the display copy: well under a millisecond for an MLP), and
two compute lanes that keep heavy work off the GUI thread: the territory image and the
GAN point labels (judge-heavy) on one, the manifold grid on the other. While a model
trains, ``apply_training_snapshot`` takes the newest weights and latents (a few times a
second: the points jump to their new places; tweening between snapshots looked nicer but
cost the GUI thread ~20 extra map repaints a second).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from .decoded_view import DecodedView
from .latent_map import LatentMap
from .palette import class_rgb
from .threads import ComputeLane

if TYPE_CHECKING:  # these import PyTorch or SciPy; the explorer is built before them (see startup.py)
    from latentlab.latent.projection import SliceProjection

    from .session import MapPoints, Session
    from .workers import TrainingSnapshot


@dataclass
class ExplorerOptions:
    #: Territory resolutions computed one after the other (coarse first) when idle.
    territory_stages: tuple[int, ...] = (16, 32, 48)
    #: While training: one cheap resolution, at most every ``territory_every_s`` (sooner when
    #: the view moved), and only when the previous one is done.
    territory_stages_training: tuple[int, ...] = (24,)
    territory_every_s: float = 2.0
    #: The territory covers the visible region plus this fraction on every side,
    #: so a small pan still shows colour while the new image is computed.
    region_margin: float = 0.1
    manifold_n: int = 16


def make_projection(latents: np.ndarray, dims: tuple[int, int] = (0, 1)) -> SliceProjection:
    """Exact for latents of up to 2-D; else a slice through ``dims`` with the rest at the data mean."""
    from latentlab.latent.projection import SliceProjection

    latent_dim = latents.shape[1]
    if latent_dim <= 2:
        return SliceProjection(latent_dim)
    return SliceProjection.through_mean(latents, dims)


def padded(x_range, y_range, margin: float):
    (x0, x1), (y0, y1) = x_range, y_range
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    return (x0 - dx, x1 + dx), (y0 - dy, y1 + dy)


class Explorer(QObject):
    decoded = Signal()  # the decoded view holds the marker's new decode
    errorRaised = Signal(str, str)  # title, message

    def __init__(self, latent_map: LatentMap, decoded_view: DecodedView, options: ExplorerOptions | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.map = latent_map
        self.view = decoded_view
        self.options = options or ExplorerOptions()
        self.session: Session | None = None
        self.points: MapPoints | None = None
        self.projection = None
        self.training = False
        self.decode_count = 0
        self._colors = class_rgb(10)
        self._last_territory_request = 0.0
        self._territory_due = False  # the view moved while training: refresh when the lane is free

        self.territory_lane = ComputeLane("territory", self)
        self.decode_lane = ComputeLane("decode", self)
        for lane in (self.territory_lane, self.decode_lane):
            lane.result.connect(self._on_lane_result)
            lane.failed.connect(self._on_lane_failed)

        self._judge_timer = QTimer(self)
        self._judge_timer.setSingleShot(True)
        self._judge_timer.setInterval(0)
        self._judge_timer.timeout.connect(self._update_judgement)

        self.map.markerMoved.connect(self._on_marker_moved)
        self.map.regionChanged.connect(self._on_region_changed)
        self.map.dimsChanged.connect(self._on_dims_changed)
        self.view.gridToggled.connect(self._on_grid_toggled)

    # ------------------------------------------------------------- session
    def set_session(self, session: Session | None) -> None:
        self.territory_lane.cancel_all()
        self.decode_lane.cancel_all()
        self.session = session
        self.map.set_territory(None)
        if session is None:
            self.points = None
            self.projection = None
            self.view.clear()
            return
        self._colors = class_rgb(len(session.class_names))
        self.map.set_classes(session.class_names)
        self.points = session.map_points()
        self.map.set_latent_dim(session.latent_dim)
        self.projection = make_projection(self.points.latents, self.map.dims())
        self.map.set_axis_labels(*self.projection.axis_labels())
        self.map.set_points(self.projection.to_plane(self.points.latents), self.points.labels)
        self.map.set_hover_source(self._hover_image)
        self.map.set_caption(self._caption())
        self.set_marker(0.0, 0.0)
        self._decode_marker()  # even when the marker already sat at the origin
        self.map.reset_view()
        self.request_labels()
        self.request_territory()

    def restyle(self) -> None:
        """The look changed (theme.py): the map's colours and sizes, the territory's colours."""
        self.map.restyle()
        if self.session is None:
            return
        self._colors = class_rgb(len(self.session.class_names))
        self.map.set_caption(self._caption())
        self.map.set_axis_labels(*self.projection.axis_labels())
        self.request_territory()
        self._judge_timer.start()  # the verdict's swatch takes the new class colour

    def _caption(self) -> str:
        session, n = self.session, len(self.points.latents)
        if self.points.from_data:
            what = "posterior means" if session.model.has_beta else "encodings"
            points = f"{n:,} test images ({what}), coloured by their true class"
        else:
            points = f"{n:,} samples z ~ N(0, I), coloured by the judge's class of G(z)"
        if session.judge is None:
            return points
        return f"{points}; background: the judge's class of the decoded image"

    def judge_arrived(self) -> None:
        """The session got a judge (trained in the background): colour what needs it."""
        if self.points is not None:
            self.map.set_caption(self._caption())
        self._decode_marker()
        self.request_labels()
        self.request_territory()

    # -------------------------------------------------------------- marker
    def set_marker(self, x: float, y: float) -> None:
        self.map.set_marker(x, y)

    @Slot(float, float)
    def _on_marker_moved(self, x: float, y: float) -> None:
        self._decode_marker(x, y)

    def marker_latent(self) -> np.ndarray | None:
        if self.projection is None:
            return None
        return self.projection.to_latent(np.array([self.map.marker_position()], np.float32))[0]

    def _decode_marker(self, x: float | None = None, y: float | None = None) -> None:
        if self.session is None or self.projection is None:
            return
        if x is None or y is None:
            x, y = self.map.marker_position()
        z = self.projection.to_latent(np.array([[x, y]], np.float32))
        self.view.show_image(self.session.decode_image(z))
        self.view.set_coordinates(z[0])
        self.decode_count += 1
        self.decoded.emit()
        self._judge_timer.start()  # the judge's readout follows when the event queue is empty

    @Slot()
    def _update_judgement(self) -> None:
        session, image = self.session, self.view.image()
        if session is None or image is None:
            return
        verdict = session.judge_image(image)
        if verdict is None:
            self.view.set_judgement("Judge: not available yet")
            return
        cls, conf = verdict
        name = session.class_names[cls] if cls < len(session.class_names) else str(cls)
        color = self.map.colors[cls] if cls < len(self.map.colors) else None
        self.view.set_judgement(f"Judge: {name}  ({conf:.0%} sure)", color)

    # -------------------------------------------------------------- hover
    def _hover_image(self, index: int) -> tuple[np.ndarray, str]:
        session, points = self.session, self.points
        label = int(points.labels[index])
        name = session.class_names[label] if 0 <= label < len(session.class_names) else "?"
        if points.from_data:
            return session.test_images[index], f"test image #{index}, class {name}"
        image = session.decode_image(points.latents[index])
        return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8), f"G(z) of prior sample #{index}, judged {name}"

    # --------------------------------------------------------- projection
    @Slot(int, int)
    def _on_dims_changed(self, dx: int, dy: int) -> None:
        if self.points is None:
            return
        self.projection = make_projection(self.points.latents, (dx, dy))
        self.map.set_axis_labels(*self.projection.axis_labels())
        self.map.update_positions(self.projection.to_plane(self.points.latents))
        self.map.reset_view()
        self._decode_marker()
        self.request_territory()

    # ------------------------------------------------- region-bound images
    @Slot(object, object)
    def _on_region_changed(self, x_range, y_range) -> None:
        if self.view.grid_mode:
            self.request_manifold()
        if self.training:  # the view follows the points: the snapshots pace the territory
            self._territory_due = True
        else:
            self.request_territory()

    def request_territory(self, stages: tuple[int, ...] | None = None) -> None:
        session = self.session
        if session is None or session.judge is None or self.projection is None:
            return
        if stages is None:
            stages = self.options.territory_stages_training if self.training else self.options.territory_stages
        from .jobs import TerritoryJob

        x_range, y_range = padded(*self.map.visible_region(), self.options.region_margin)
        self._last_territory_request = time.monotonic()
        self.territory_lane.submit(TerritoryJob(session.snapshot, session.judge, self.projection, x_range, y_range,
                                                self._colors, tuple(stages)))

    def request_manifold(self) -> None:
        if self.session is None or self.projection is None:
            return
        from .jobs import ManifoldJob

        x_range, y_range = self.map.visible_region()
        self.decode_lane.submit(ManifoldJob(self.session.snapshot, self.projection, x_range, y_range,
                                            self.options.manifold_n))

    def request_labels(self) -> None:
        """Colour a GAN's prior samples by the judge's class of G(z)."""
        session, points = self.session, self.points
        if session is None or points is None or points.from_data or session.judge is None:
            return
        from .jobs import SampleLabelsJob

        self.territory_lane.submit(SampleLabelsJob(session.snapshot, session.judge, points.latents))

    @Slot(object, object)
    def _on_lane_result(self, job, value) -> None:
        from .jobs import ManifoldImage, SampleLabels, TerritoryImage

        if self.session is None:
            return
        if isinstance(value, TerritoryImage):
            self.map.set_territory(value.rgba, value.x_range, value.y_range)
        elif isinstance(value, ManifoldImage):
            self.view.show_grid(value.image)
        elif isinstance(value, SampleLabels) and self.points is not None and not self.points.from_data:
            self.points.labels = value.labels
            self.map.set_points(self.projection.to_plane(self.points.latents), value.labels)

    @Slot(object, str)
    def _on_lane_failed(self, job, message: str) -> None:
        self.errorRaised.emit(f"Computing the {job.kind.replace('_', ' ')} failed", message)

    @Slot(bool)
    def _on_grid_toggled(self, on: bool) -> None:
        if on:
            self.request_manifold()

    def refresh_all(self) -> None:
        """Recompute everything that depends on the weights (after training ends)."""
        self._decode_marker()
        self.request_labels()
        self.request_territory()
        if self.view.grid_mode:
            self.request_manifold()

    # ------------------------------------------------------------ training
    def apply_training_snapshot(self, snap: TrainingSnapshot) -> None:
        """Newest weights and test latents of a training run (called from the redraw timer)."""
        session = self.session
        if session is None:
            return
        session.apply_snapshot(snap.snapshot)
        if snap.latents is not None and self.points is not None and len(snap.latents) == len(self.points.latents):
            self.points.latents = snap.latents
            self.projection = make_projection(snap.latents, self.map.dims())
            self.map.update_positions(self.projection.to_plane(snap.latents))
            if self.map.following:
                self.map.frame_points(force=False)
        self._decode_marker()
        if self.view.grid_mode:
            self.request_manifold()
        due = self._territory_due or time.monotonic() - self._last_territory_request >= self.options.territory_every_s
        if self.territory_lane.idle and due:
            self._territory_due = False
            self.request_labels()
            self.request_territory()

    # ------------------------------------------------------------ lifetime
    @property
    def idle(self) -> bool:
        return self.territory_lane.idle and self.decode_lane.idle and not self.map.region_pending()

    def shutdown(self) -> None:
        self._judge_timer.stop()
        self.territory_lane.shutdown()
        self.decode_lane.shutdown()
