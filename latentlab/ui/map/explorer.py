"""The explorer: ties a Session to the latent map and the decoded view.

It owns the projection (plane <-> latent), the map's points, the marker's decode on the
GUI thread (one image from the display copy: well under a millisecond for an MLP), and
two compute lanes that keep heavy work off the GUI thread: the territory image and the
GAN point labels (judge-heavy) on one, the manifold grid on the other. While a model
trains, ``apply_training_snapshot`` takes the newest weights and latents (a few times a
second: the points jump to their new places; tweening between snapshots looked nicer but
cost the GUI thread ~20 extra map repaints a second).

The projection is one of three kinds (the window's picker): a slice through two latent
dimensions, the data's PCA plane, or a UMAP embedding. UMAP is laid out in the window's
ProjectionController (a worker process); until it is ready, and while a model trains (the
latents change a few times a second), the map shows PCA. Switching keeps the marker on
the same latent (as far as the new projection can show it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from latentlab.app.jobs_base import ManifoldImage, SampleLabels, TerritoryImage
from latentlab.ui.base.palette import class_rgb
from latentlab.ui.map.latent_map import LatentMap
from latentlab.ui.panels.analogy_row import AnalogyRow
from latentlab.ui.panels.decoded_view import DecodedView
from latentlab.ui.work.tasks import ComputeLane

if TYPE_CHECKING:  # these import PyTorch or SciPy; the explorer is built before them (see startup.py)
    from latentlab.app.protocol import ExplorableSession
    from latentlab.app.state import AppState
    from latentlab.app.tasks import ErrorSink
    from latentlab.app.training_job import TrainingSnapshot
    from latentlab.latent.embedding import EmbeddingProjection
    from latentlab.latent.projection import PCAProjection, SliceProjection

    from latentlab.ui.map.projection_controller import ProjectionController
    from latentlab.app.map_points import MapPoints


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


#: The picker's kinds; PCA and UMAP need a latent of more than two dimensions.
KINDS = ("slice", "pca", "umap")
#: The judge readout under the decoded image is one line in large type: longer class names
#: (a folder's "circle-on-blue") are cut with an ellipsis; the legend shows them whole.
JUDGED_NAME_CHARS = 12


def make_projection(latents: np.ndarray, dims: tuple[int, int] = (0, 1), kind: str = "slice",
                    previous=None) -> SliceProjection | PCAProjection:
    """The projection of ``kind`` that needs no background work.

    A latent of up to 2-D is always shown by the (exact) slice. For more dimensions,
    "slice" is the slice through ``dims`` with the rest at the data mean, and "pca" and
    "umap" the data's PCA plane (UMAP's stand-in until its layout is ready), with the
    component signs of ``previous`` (a PCA of the previous snapshot) so the map does not
    mirror. The slice goes through the data mean for 2-D latents too: it then remembers the
    data, for ``distance_to_data``.
    """
    from latentlab.latent.projection import PCAProjection, SliceProjection

    latent_dim = latents.shape[1]
    if latent_dim <= 2:
        return SliceProjection.through_mean(latents)
    if kind in ("pca", "umap") and len(latents) >= 2:
        return PCAProjection.fit(latents).aligned_with(previous)
    return SliceProjection.through_mean(latents, dims)


def padded(x_range, y_range, margin: float):
    (x0, x1), (y0, y1) = x_range, y_range
    dx, dy = (x1 - x0) * margin, (y1 - y0) * margin
    return (x0 - dx, x1 + dx), (y0 - dy, y1 + dy)


class Explorer(QObject):
    decoded = Signal()  # the decoded view holds the marker's new decode
    #: The marker's distance to the data on the map, in data spacings (NaN: unknown).
    markerDistance = Signal(float)
    #: A new projection is shown (another kind or slice, UMAP ready, a training snapshot):
    #: whatever is drawn in plane coordinates must be redrawn.
    projectionChanged = Signal()
    #: A territory image was painted on the map (start-up waits for the first one).
    territoryShown = Signal()
    #: A conditional model is asked for another class (the legend's picker, the analogy row).
    conditionChanged = Signal(int)

    def __init__(self, latent_map: LatentMap, decoded_view: DecodedView, options: ExplorerOptions | None = None,
                 parent: QObject | None = None, *, errors: ErrorSink | None = None,
                 state: AppState | None = None, analogy_row: AnalogyRow | None = None) -> None:
        """``errors``: where the lanes' failures are shown; ``state``: the app state that
        learns the marker's place and the projection kind (None: nobody listens); ``analogy_row``: the marker's point under every class
        (a conditional model's)."""
        super().__init__(parent)
        self.map = latent_map
        self.view = decoded_view
        #: The marker's point under every class, for a conditional model (hidden otherwise).
        self.analogy = analogy_row
        self.options = options or ExplorerOptions()
        self.state = state
        self.session: ExplorableSession | None = None
        self.points: MapPoints | None = None
        self.projection = None
        #: What the picker asks for ("slice", "pca" or "umap"); ``projection.kind`` says what
        #: is shown (PCA while UMAP is computed).
        self.kind = "slice"
        #: Lays out UMAP embeddings (the window's); without one, "umap" shows PCA.
        self.umap_controller: ProjectionController | None = None
        self._umap: EmbeddingProjection | None = None  # the newest layout of the current points
        self._axis_labels: tuple[str, str] | None = None
        #: View and marker (UMAP coordinates) to show with the awaited layout (session restore).
        self._umap_view: tuple | None = None
        self.training = False
        self.decode_count = 0
        self._colors = class_rgb(10)
        self._last_territory_request = 0.0
        self._territory_due = False  # the view moved while training: refresh when the lane is free
        self._territory_region: tuple | None = None  # the visible region of the last territory request
        self._territory_resolution = 0  # cells per side of the territory image shown
        self._finer_territory: tuple[int, ...] = ()  # a GAN's first colouring: territory after its samples
        self._colouring_failed = False
        self.background_image: TerritoryImage | None = None  # the newest background shown

        self.territory_lane = ComputeLane("territory", self, errors=errors)
        self.decode_lane = ComputeLane("decode", self, errors=errors)
        #: The NumPy jobs of a PreviewSession (the first screen, before PyTorch is loaded).
        self.preview_lane = ComputeLane("preview", self, errors=errors, make_models=None)
        self._lanes = (self.territory_lane, self.decode_lane, self.preview_lane)
        for lane in self._lanes:
            lane.result.connect(self._on_lane_result)
            lane.failed.connect(self._on_lane_failed)

        self._judge_timer = QTimer(self)
        self._judge_timer.setSingleShot(True)
        self._judge_timer.setInterval(0)
        self._judge_timer.timeout.connect(self._update_judgement)

        self.map.markerMoved.connect(self._on_marker_moved)
        self.map.regionChanged.connect(self._on_region_changed)
        self.map.dimsChanged.connect(self._on_dims_changed)
        self.map.territoryToggled.connect(self._on_territory_toggled)
        self.map.realnessToggled.connect(self._on_realness_toggled)
        self.view.gridToggled.connect(self._on_grid_toggled)

    # ------------------------------------------------------------- session
    def set_session(self, session: ExplorableSession | None, kind: str | None = None, *,
                    keep_view: bool = False) -> None:
        """Show ``session`` in the projection of ``kind`` (default: the current kind).

        ``keep_view``: keep the view, the marker's place and the territory shown until the
        new one is computed: the real session replacing the first screen's preview of the
        same checkpoint (the same map, to ~1e-6).
        """
        marker = self.map.marker_position() if keep_view else (0.0, 0.0)
        for lane in self._lanes:
            lane.cancel_all()
        self._cancel_umap()
        self._umap = None
        self._finer_territory, self._colouring_failed = (), False
        self.session = session
        if kind is not None:
            self._check_kind(kind)
            self._set_kind(kind)
        if not keep_view or session is None:
            self.map.set_territory(None)
        if session is None:
            self.points = None
            self.projection = None
            self.view.clear()
            if self.analogy is not None:
                self.analogy.setVisible(False)
            self.markerDistance.emit(float("nan"))
            self._show_busy()
            return
        self._colors = class_rgb(len(session.class_names))
        self.map.set_classes(session.class_names)
        conditional = self.conditional
        self.map.set_class_picker(conditional, session.condition or 0)
        if self.state is not None:  # the class a conditional model generates (None: not told one)
            self.state.set_condition(session.condition if conditional else None)
        if self.analogy is not None:
            self.analogy.setVisible(conditional)
            self.analogy.clear()
        self.map.set_realness_available(session.can_discriminate)
        self.points = session.map_points()
        self.map.set_latent_dim(session.latent_dim)
        self.projection = None  # another model's PCA: nothing to align with
        self.projection = self._projection_for(self.kind)
        self.map.set_slice_shown(self.projection.kind == "slice")
        self._set_axis_labels()
        self.map.set_points(self.projection.to_plane(self.points.latents), self.points.labels)
        self.map.set_hover_source(self._hover_image)
        self.map.set_caption(self._caption())
        self.map.set_dot_meaning("their true class" if self.points.from_data else
                                 "the class asked for" if self.points.requested else "the judge's class of G(z)")
        self.set_marker(*marker)
        self._decode_marker()  # even when the marker did not move
        stages = None
        if not keep_view:
            self.map.reset_view()
        elif self.map.has_territory():  # the preview's image is right: only finer ones are new
            stages = tuple(s for s in self.options.territory_stages if s > self._territory_resolution) or None
        self.request_colouring(stages)

    def restyle(self) -> None:
        """The look changed (theme.py): the map's colours and sizes, the territory's colours."""
        self.map.restyle()
        if self.session is None:
            return
        self._colors = class_rgb(len(self.session.class_names))
        self.map.set_caption(self._caption())
        self._set_axis_labels(force=True)
        self.request_territory()
        self._judge_timer.start()  # the verdict's swatch takes the new class colour

    def _caption(self) -> str:
        session, n = self.session, len(self.points.latents)
        note = session.data_note  # a model opened without its data says why
        if note:
            return f"{'No points' if self.points.from_data else f'{n:,} samples z ~ N(0, I), no classes'}: {note}"
        if self.conditional:
            return self._conditional_caption()
        if self.points.from_data:
            what = "posterior means" if session.has_beta else "encodings"
            points = f"{n:,} test images ({what}), coloured by their true class"
        else:
            points = f"{n:,} samples z ~ N(0, I), coloured by the judge's class of G(z)"
        if self.map.background_kind() == "realness":
            return f"{points}; background: D(G(z)), how real the discriminator finds G(z) (green real, purple fake)"
        if session.judge is None:
            return points
        return f"{points}; background (territory): the judge's class of the decoded image"

    def _conditional_caption(self) -> str:
        """Short enough for one line at 1024 pixels: the model is told the class, so the
        classes overlap on the map (z holds only the style)."""
        session, n = self.session, len(self.points.latents)
        if self.points.from_data:
            points = f"{n:,} test images encoded with their class: the classes overlap"
        else:
            points = f"{n:,} samples z ~ N(0, I) of the class asked for: the classes overlap"
        if session.judge is None:
            return points
        return f"{points}; background: how sure the judge is that it sees a {session.class_names[session.condition]}"

    @property
    def conditional(self) -> bool:
        """The open model is told the class (its ``condition``)."""
        return self.session is not None and self.session.conditional

    @Slot(int)
    def set_condition(self, cls: int) -> None:
        """Ask a conditional model for class ``cls``: the decode, the analogy row's frame, the
        manifold grid, the territory and the caption follow."""
        session = self.session
        if session is None or not self.conditional or cls == session.condition:
            return
        session.set_condition(cls)
        self.map.set_picked_class(cls)
        self.map.set_caption(self._caption())
        self._decode_marker()
        self.request_territory()
        if self.view.grid_mode:
            self.request_manifold()
        if self.state is not None:
            self.state.set_condition(cls)
        self.conditionChanged.emit(cls)

    def judge_arrived(self) -> None:
        """The session got a judge (trained in the background): colour what needs it."""
        if self.points is not None:
            self.map.set_caption(self._caption())
        self._decode_marker()
        self.request_colouring()

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
        if self.state is not None:
            self.state.set_marker(float(x), float(y))
        xy = np.array([[x, y]], np.float32)
        z = self.projection.to_latent(xy)
        self.view.show_image(self.session.decode_image(z))
        self.view.set_coordinates(z[0])
        if self.analogy is not None and self.conditional:
            self.analogy.show_row(self.session.analogy_row(z[0]), self.session.condition)
        self.markerDistance.emit(float(self.projection.distance_to_data(xy)[0]))
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
        shown = name if len(name) <= JUDGED_NAME_CHARS else name[: JUDGED_NAME_CHARS - 1] + "…"
        self.view.set_judgement(f"Judge: {shown}  ({conf:.0%} sure)", color)

    # -------------------------------------------------------------- hover
    def _hover_image(self, index: int) -> tuple[np.ndarray, str]:
        session, points = self.session, self.points
        label = int(points.labels[index])
        name = session.class_names[label] if 0 <= label < len(session.class_names) else "?"
        if points.from_data:
            return session.test_images[index], f"test image #{index}, class {name}"
        if points.requested:  # a conditional generator's sample, under the class it was asked for
            image = session.decode_image(points.latents[index], label)
            return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8), f"G(z, {name}) of prior sample #{index}"
        image = session.decode_image(points.latents[index])
        return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8), f"G(z) of prior sample #{index}, judged {name}"

    # --------------------------------------------------------- projection
    @Slot(int, int)
    def _on_dims_changed(self, dx: int, dy: int) -> None:
        if self.points is None or self.kind != "slice":  # the spin boxes are hidden then
            return
        self.projection = make_projection(self.points.latents, (dx, dy))
        self._set_axis_labels()
        self.map.update_positions(self.projection.to_plane(self.points.latents))
        self.map.reset_view()
        self._decode_marker()
        self.request_territory()
        self.projectionChanged.emit()

    def _set_axis_labels(self, force: bool = False) -> None:
        """The projection's axis labels, unless they are shown already (re-laying out the axes
        costs a repaint of the plot's frame: not a few times a second while training)."""
        labels = self.projection.axis_labels()
        if force or labels != self._axis_labels:
            self._axis_labels = labels
            self.map.set_axis_labels(*labels)

    def _set_kind(self, kind: str) -> None:
        self.kind = kind
        if self.state is not None:
            self.state.set_projection(kind)

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown projection kind {kind!r}; choose one of {list(KINDS)}")

    @Slot(str)
    def set_projection_kind(self, kind: str) -> None:
        """Show the map as a slice, the PCA plane or the UMAP layout (PCA until it is ready)."""
        self._check_kind(kind)
        if kind == self.kind and self.projection is not None:
            return
        self._set_kind(kind)
        if kind != "umap":
            self._cancel_umap()
        if self.points is None:
            return
        self._show_projection(self._projection_for(kind))

    def _projection_for(self, kind: str):
        """The projection to show now for ``kind``; for UMAP, the layout of the current
        points if there is one, else PCA while one is requested (not while training)."""
        latents = self.points.latents
        if kind == "umap" and latents.shape[1] > 2:
            if self._umap is not None and self._umap.latents.shape == latents.shape \
                    and np.array_equal(self._umap.latents, latents):
                return self._umap
            if not self.training:
                self._request_umap()
        previous = self.projection if self.projection is not None and self.projection.kind == "pca" else None
        return make_projection(latents, self.map.dims(), kind, previous)

    def _request_umap(self) -> None:
        session, controller = self.session, self.umap_controller
        if session is None or controller is None or self.points is None:
            return
        controller.request_umap(f"{session.path or session.family}|{session.dataset.name}", self.points.latents)

    def _cancel_umap(self) -> None:
        self._umap_view = None
        if self.umap_controller is not None:
            self.umap_controller.cancel()

    @property
    def waiting_for_umap(self) -> bool:
        """True while UMAP is chosen and PCA stands in until its layout is ready."""
        return (self.kind == "umap" and self.projection is not None and self.projection.kind != "umap"
                and self.umap_controller is not None and self.umap_controller.pending)

    def restore_on_umap(self, view: tuple | None, marker: tuple[float, float] | None) -> None:
        """Show ``view`` ((x0, x1), (y0, y1)) and put the marker at ``marker``, both in UMAP
        coordinates, when the awaited layout is shown (rather than keeping the marker's latent)."""
        self._umap_view = (view, marker)

    @Slot(object)
    def on_umap_ready(self, projection: EmbeddingProjection) -> None:
        """A UMAP layout arrived: show it, if UMAP is still wanted for these very points."""
        points = self.points
        if points is None or projection.latents.shape != points.latents.shape \
                or not np.array_equal(projection.latents, points.latents):
            return  # a layout of another model, or of latents a training run has moved since
        self._umap = projection
        if self.kind == "umap" and not self.training:
            restore, self._umap_view = self._umap_view, None
            self._show_projection(projection, *(restore or (None, None)))

    def _show_projection(self, projection, view: tuple | None = None,
                         marker: tuple[float, float] | None = None) -> None:
        """Replace the shown projection, keeping the marker on its latent (or putting it at
        ``marker``) and framing the points (or showing ``view``)."""
        old_z = self.marker_latent()
        self.projection = projection
        self.map.set_slice_shown(projection.kind == "slice")
        self._set_axis_labels()
        self.map.update_positions(projection.to_plane(self.points.latents))
        if marker is None:
            marker = projection.to_plane(old_z[None])[0] if old_z is not None else (0.0, 0.0)
        before = self.decode_count
        self.set_marker(float(marker[0]), float(marker[1]))  # decodes (markerMoved) unless it did not move
        if self.decode_count == before:
            self._decode_marker()
        if view is None:
            self.map.reset_view()
        else:
            self.map.following = False
            self.map.set_region(*view)
        self.request_territory()
        if self.view.grid_mode:
            self.request_manifold()
        self.projectionChanged.emit()

    # ------------------------------------------------- region-bound images
    @Slot(object, object)
    def _on_region_changed(self, x_range, y_range) -> None:
        if self.view.grid_mode:
            self.request_manifold()
        if self.training:  # the view follows the points: the snapshots pace the territory
            self._territory_due = True
        elif (tuple(x_range), tuple(y_range)) != self._territory_region:
            self.request_territory()  # (not again for the region just requested, e.g. by set_session)

    def request_colouring(self, stages: tuple[int, ...] | None = None) -> None:
        """The judge's colouring: the territory, and a GAN's samples' classes.

        A GAN's 2,000 samples cost the judge ~1.5 s of CPU (two cores). Coloured for the
        first time, the coarsest territory comes first (a fraction of that), then the
        samples (coloured in batch by batch), then the finer territory.
        """
        if stages is None:
            stages = self.options.territory_stages_training if self.training else self.options.territory_stages
        if self._samples_unjudged():
            self.request_territory(stages[:1])
            self.request_labels()
            self._finer_territory = tuple(stages[1:])
        else:
            self.request_labels()
            self.request_territory(stages)
        self._show_busy()

    def _samples_unjudged(self) -> bool:
        """True while a GAN's samples wait for the judge's classes (grey dots)."""
        points, session = self.points, self.session
        return (points is not None and not points.from_data and not points.requested and session is not None
                and session.judge is not None and bool(np.any(points.labels < 0)))

    def _show_busy(self) -> None:
        """Say over the map what it waits for, while it has no colouring yet."""
        session, points, text, fraction = self.session, self.points, None, None
        if session is not None and session.judge is not None and points is not None and not self._colouring_failed:
            if self._samples_unjudged():
                done, n = int(np.sum(points.labels >= 0)), len(points.labels)
                text = f"Colouring the map: the judge is classifying {n:,} generated images G(z) ({done:,} done)"
                fraction = done / n
            elif self.map.territory_shown() and not self.map.has_territory():
                text = "Colouring the map: the judge is classifying the images decoded all over it"
        self.map.busy.set_text(text, fraction)

    def request_territory(self, stages: tuple[int, ...] | None = None) -> None:
        """The map's background image: the judge's territory, or the discriminator's D(G(z))."""
        self._finer_territory = ()  # this request replaces the colouring's own next one
        session, background = self.session, self.map.background_kind()
        if session is None or self.projection is None or background is None \
                or (background == "territory" and session.judge is None):
            return
        if stages is None:
            stages = self.options.territory_stages_training if self.training else self.options.territory_stages
        region = self.map.visible_region()
        self._territory_region = (tuple(region[0]), tuple(region[1]))
        x_range, y_range = padded(*region, self.options.region_margin)
        self._last_territory_request = time.monotonic()
        if background == "realness":
            from latentlab.app.realness_job import RealnessJob

            job = RealnessJob(session.snapshot, self.projection, x_range, y_range, tuple(stages),
                              condition=session.condition)
        else:
            job = session.territory_job(self.projection, x_range, y_range, self._colors, tuple(stages))
        self._lane(self.territory_lane).submit(job)

    def request_manifold(self) -> None:
        if self.session is None or self.projection is None:
            return
        x_range, y_range = self.map.visible_region()
        job = self.session.manifold_job(self.projection, x_range, y_range, self.options.manifold_n)
        self._lane(self.decode_lane).submit(job)

    def _lane(self, lane: ComputeLane) -> ComputeLane:
        """``lane``, or the preview's lane while the session is the first screen's preview."""
        return self.preview_lane if self.session is not None and self.session.is_preview else lane

    def request_labels(self) -> None:
        """Colour a GAN's prior samples by the judge's class of G(z)."""
        session, points = self.session, self.points
        if session is None or points is None or points.from_data or points.requested or session.judge is None:
            return
        from latentlab.app.jobs import SampleLabelsJob

        self.territory_lane.submit(SampleLabelsJob(session.snapshot, session.judge, points.latents, points.labels))

    @Slot(object, object)
    def _on_lane_result(self, job, value) -> None:
        if self.session is None:
            return
        if isinstance(value, TerritoryImage):
            self.background_image = value  # the newest, for tests and exports
            self.map.set_territory(value.rgba, value.x_range, value.y_range, value.background)
            self._territory_resolution = value.resolution
            self.territoryShown.emit()
            self._show_busy()
        elif isinstance(value, ManifoldImage):
            self.view.show_grid(value.image)
        elif isinstance(value, SampleLabels) and self.points is not None and not self.points.from_data:
            self.points.labels = value.labels
            self.map.set_points(self.projection.to_plane(self.points.latents), value.labels)
            if not self._samples_unjudged() and self._finer_territory:
                self.request_territory(self._finer_territory)
            self._show_busy()

    @Slot(object, str)
    def _on_lane_failed(self, job, message: str) -> None:
        if job.kind in ("territory", "sample_labels"):
            self._colouring_failed = True  # (the dialog says why) no note promising a colouring
            self._show_busy()  # (the lane's error sink shows the failure)

    @Slot(bool)
    def _on_territory_toggled(self, on: bool) -> None:
        if on:  # (hidden, it is not recomputed: the view may have moved since)
            self.request_territory()
        self._show_busy()

    @Slot(bool)
    def _on_realness_toggled(self, on: bool) -> None:
        """The discriminator's background on (or off: back to the territory, if that is wanted)."""
        if self.points is not None:
            self.map.set_caption(self._caption())
        self.request_territory()
        self._show_busy()

    @Slot(bool)
    def _on_grid_toggled(self, on: bool) -> None:
        if on:
            self.request_manifold()

    def refresh_all(self) -> None:
        """Recompute everything that depends on the weights (after training ends)."""
        if self.kind == "umap" and self.points is not None and self.projection is not None \
                and self.projection.kind != "umap":
            self._request_umap()  # the final latents' layout; PCA until then
        self._decode_marker()
        self.request_colouring()
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
            # PCA is refitted per snapshot (milliseconds); UMAP falls back to PCA (refresh_all
            # asks for a new layout when training ends).
            self._cancel_umap()
            self._umap = None
            previous = self.projection if self.projection is not None and self.projection.kind == "pca" else None
            shown = self.projection.kind if self.projection is not None else "slice"
            self.projection = make_projection(snap.latents, self.map.dims(), self.kind, previous)
            if self.projection.kind != shown:
                self.map.set_slice_shown(self.projection.kind == "slice")
            self._set_axis_labels()  # PCA's shares of the variance change as it trains
            self.map.update_positions(self.projection.to_plane(snap.latents))
            if self.map.following:
                self.map.frame_points(force=False, smooth=True)
            self.projectionChanged.emit()
        self._decode_marker()
        if self.view.grid_mode:
            self.request_manifold()
        due = self._territory_due or time.monotonic() - self._last_territory_request >= self.options.territory_every_s
        if self.territory_lane.idle and due:
            self._territory_due = False
            self.request_colouring()

    # ------------------------------------------------------------ lifetime
    @property
    def idle(self) -> bool:
        return all(lane.idle for lane in self._lanes) and not self.map.region_pending()

    def shutdown(self) -> None:
        self._judge_timer.stop()
        for lane in self._lanes:
            lane.shutdown()
