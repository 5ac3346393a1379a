"""The window's Analyse menu: interpolation paths, model comparison, latent arithmetic,
outliers, and exports.

``AnalysisActions`` gets the app state, the explorer and the error sink; it makes the
menu, its actions and the "Interpolation" dock (path choices with the "Draw path" toggle
on the left, the decoded strip on the right), which the window puts in place, and draws
the path on the latent map. It reads the state's session and the explorer but changes
neither: paths are decoded and judged on its own compute lane from the session's weight
snapshot, never from the model a training run is changing.
"""

from __future__ import annotations

import importlib
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401 - makes pg.exporters available
from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QHBoxLayout, QMenu, QWidget

from latentlab.app.tasks import report_exception
from latentlab.atomic import write_output
from latentlab.errors import ConfigError, LatentLabError
from latentlab.ui.analysis.path_tool import (
    DRAW_HINT,
    PICK_HINT,
    SOURCE_CENTROIDS,
    SOURCE_FREEHAND,
    SOURCE_IMAGES,
    SOURCE_POINTS,
    MapPathPicker,
    PathOverlay,
    PathPanel,
)
from latentlab.ui.analysis.strip_view import Strip, StripView, metrics_html
from latentlab.ui.base.image_files import write_png
from latentlab.ui.work.tasks import ComputeLane

if TYPE_CHECKING:
    from latentlab.app.analysis_jobs import PathResult
    from latentlab.app.state import AppState
    from latentlab.app.tasks import ErrorSink
    from latentlab.ui.main.presentation import PresentationMode
    from latentlab.ui.map.explorer import Explorer

# The modules that import PyTorch (analysis_jobs, latentlab.latent.*, the other windows)
# are imported where they are first needed: the window is built before PyTorch loads.

MODE_WORDS = {"lerp": "straight", "slerp": "spherical"}
#: After the user changes the path's choices, wait this long for more changes before decoding.
RECOMPUTE_DELAY_MS = 150
STALE_INVERSION = ("Out of date: the path changed. Press Interpolate to invert its test images through the "
                   "generator (a GAN has no encoder: this takes a few seconds).")
STALE_POINTS = f"Out of date: pick the new path's ends on the map ({PICK_HINT})."
STALE_FREEHAND = "Out of date: draw the new path on the map (Draw path)."
STALE_UPDATING = "Decoding the new path…"


def choose_export_path(parent: QWidget, title: str, suggestion: str, file_filter: str) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, title, suggestion, file_filter)
    return path or None


@contextmanager
def closed_svg_paths_tolerated():
    """pyqtgraph 0.14's SVGExporter reads path data as "x,y" pairs and fails on the close-path
    command "Z" that Qt 6.11's SVG generator writes (pyqtgraph issue #3495, fixed upstream
    after 0.14.0). While exporting, drop the "Z"s first: Qt's closed paths already end at
    their first point, so only the corner join of an outline changes."""
    module = importlib.import_module("pyqtgraph.exporters.SVGExporter")
    original = module.correctCoordinates

    def tolerant(node, defs, item, options):
        for element in node.getElementsByTagName("path"):
            data = element.getAttribute("d")
            if "Z" in data or "z" in data:
                element.setAttribute("d", " ".join(data.replace("Z", " ").replace("z", " ").split()))
        return original(node, defs, item, options)

    module.correctCoordinates = tolerant
    try:
        yield
    finally:
        module.correctCoordinates = original


def _require_data(session) -> None:
    if not session.has_data:
        raise ConfigError("this model was opened without its data, so there are no classes or test images "
                          "to start from; pick two map points (Shift+click, Ctrl+click) or draw a path")


def bring_up(window: QWidget) -> None:
    """Show a tool window, or raise it when it is already open (behind the main window)."""
    if window.isVisible():
        window.raise_()
    else:
        window.show()


class AnalysisActions(QObject):
    pathReady = Signal()  # the strip shows a newly decoded path

    def __init__(self, state: AppState, explorer: Explorer, errors: ErrorSink, *,
                 presentation: PresentationMode | None = None, parent: QObject | None = None) -> None:
        """``presentation``: its "Play interpolation" (P) plays the strip."""
        super().__init__(parent)
        self.state = state
        self.errors = errors
        self.explorer = explorer
        self.map = explorer.map
        self._presentation = presentation
        self._actions: list[QAction] = []
        self.path: PathResult | None = None
        self.start_xy: tuple[float, float] | None = None
        self.end_xy: tuple[float, float] | None = None
        self.stroke: np.ndarray | None = None  # the last freehand path, plane coordinates
        self._play_when_ready = False  # play asked for before there was a strip
        self.compare_window = None
        self.arithmetic_panel = None
        self.outliers_dialog = None

        self.lane = ComputeLane("analysis", self, errors=errors)
        self.lane.result.connect(self._on_lane_result)
        self.lane.failed.connect(self._on_lane_failed)
        self.overlay = PathOverlay(self.map)
        self.picker = MapPathPicker(self.map, self)
        self.picker.startPicked.connect(self.set_start)
        self.picker.endPicked.connect(self.set_end)
        self.picker.drawing.connect(self._on_drawing)
        self.picker.drawn.connect(self.set_stroke)
        plot = self.map.plot
        plot.setStatusTip(f"{plot.statusTip()} · {PICK_HINT} (an interpolation path)")

        self._build_actions()
        self.panel = PathPanel(self.draw_action)
        self.panel.interpolateRequested.connect(self.interpolate)
        self.panel.choiceChanged.connect(self._on_choice_changed)
        self._recompute = QTimer(self)
        self._recompute.setSingleShot(True)
        self._recompute.setInterval(RECOMPUTE_DELAY_MS)
        self._recompute.timeout.connect(self._recompute_path)
        self.strip_view = StripView()
        self.strip_view.frameChanged.connect(self.overlay.set_cursor)
        content = QWidget()
        row = QHBoxLayout(content)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.panel, 0)
        row.addWidget(self.strip_view, 1)
        self.dock = QDockWidget("Interpolation")  # the window docks it (under the map)
        self.dock.setObjectName("interpolationDock")
        self.dock.setWidget(content)
        self.dock.setAllowedAreas(Qt.DockWidgetArea.BottomDockWidgetArea | Qt.DockWidgetArea.TopDockWidgetArea)
        self._build_menu()

        state.session_changed.connect(self._on_session_changed)
        self.map.dimsChanged.connect(self.reproject)
        self._on_session_changed()

    # ================================================================= actions
    def _action(self, text: str, slot, tip: str, shortcut=None, checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        self._actions.append(action)
        return action

    def actions(self) -> list[QAction]:
        """The room's actions, for the window to add (their keys work wherever the focus is)."""
        return list(self._actions)

    def _build_actions(self) -> None:
        self.interpolate_action = self._action(
            "&Interpolate…", self.show_interpolation,
            f"Decode a path between two points, images or class centroids (Ctrl+I). {PICK_HINT}.", "Ctrl+I")
        self.draw_action = self._action("Draw path", self.set_draw_mode,
                                        f"Draw a freehand path on the map: {DRAW_HINT.lower()}", checkable=True)
        self.presentation = self._presentation
        self._listening = False  # to presentation mode's "Play interpolation" (P), while a model is open
        if self.presentation is not None:
            self.presentation.toggled.connect(self.restyle)
            self.play_action = self.presentation.play_action
        else:
            self.play_action = self._action("Play / pause interpolation", self.toggle_play,
                                            "Step through the strip's frames, highlighting each on the map")
        self.compare_action = self._action("&Compare models…", self.show_compare,
                                           "The same path through two to six models side by side, with metrics")
        self.arithmetic_action = self._action("Latent &arithmetic…", self.show_arithmetic,
                                              "Add the vector from class A's centroid to class B's to a point")
        self.outliers_action = self._action("&Outliers…", self.show_outliers,
                                            "The test images the model reconstructs worst (-ELBO for VAEs)")
        self.export_map_png_action = self._action("Map as &PNG…", self.choose_map_png, "Save the latent map as PNG")
        self.export_map_svg_action = self._action("Map as &SVG…", self.choose_map_svg,
                                                  "Save the latent map as SVG (vector)")
        self.export_strip_png_action = self._action("Strip as P&NG…", self.choose_strip_png,
                                                    "Save the interpolation strip as one PNG")
        self.export_strip_gif_action = self._action("Strip as animated &GIF…", self.choose_strip_gif,
                                                    "Save the interpolation strip as an animated GIF, a frame each")
        self.export_csv_action = self._action("Latents with labels as &CSV…", self.choose_latents_csv,
                                              "Save the map's latent points and their classes as CSV")

    def _build_menu(self) -> None:
        menu = QMenu("&Analyse")  # the window puts it before Help
        self.menu = menu
        for action in (self.interpolate_action, self.draw_action, self.play_action):
            menu.addAction(action)
        menu.addSeparator()
        for action in (self.compare_action, self.arithmetic_action, self.outliers_action):
            menu.addAction(action)
        menu.addSeparator()
        self.export_menu = menu.addMenu("&Export")
        for action in (self.export_map_png_action, self.export_map_svg_action, self.export_strip_png_action,
                       self.export_strip_gif_action, self.export_csv_action):
            self.export_menu.addAction(action)

    def _update_enabled(self) -> None:
        session = self.state.session
        has = session is not None
        for action in (self.interpolate_action, self.draw_action, self.arithmetic_action,
                       self.export_map_png_action, self.export_map_svg_action, self.export_csv_action):
            action.setEnabled(has)
        if self.presentation is None:
            self.play_action.setEnabled(has)  # play without a strip decodes the panel's path first
        elif has != self._listening:  # without a model, presentation mode says there is no strip
            signal = self.presentation.playRequested
            signal.connect(self.toggle_play) if has else signal.disconnect(self.toggle_play)
            self._listening = has
        self.outliers_action.setEnabled(has and session.model.has_encoder and session.has_data)
        has_strip = self.path is not None
        for action in (self.export_strip_png_action, self.export_strip_gif_action):
            action.setEnabled(has_strip)
        self.panel.go.setEnabled(has)

    def status(self, text: str, ms: int = 5000) -> None:
        self.state.say(text, ms)

    # ================================================================ session
    def _on_session_changed(self, *args) -> None:
        self._recompute.stop()
        self.lane.cancel_all()
        self.path = None
        self._play_when_ready = False
        self.start_xy = self.end_xy = None
        self.stroke = None
        self.overlay.clear()
        self.strip_view.set_strip(None)
        session = self.state.session
        if session is not None:
            self.panel.set_classes(session.class_names)
            self.panel.set_test_count(len(session.dataset.test))
        self.panel.show_points(None, None)
        self._update_enabled()

    @Slot()
    def reproject(self, *args) -> None:
        """The explorer's projection changed (another slice, say): draw the same path in the
        new plane coordinates. Connected to ``dimsChanged``; a new projection kind calls it too."""
        if self.path is not None and self.explorer.projection is not None:
            self.overlay.set_path(self.explorer.projection.to_plane(self.path.latents))
            self.overlay.set_cursor(self.strip_view.current)

    # ============================================================ picking
    @Slot()
    def show_interpolation(self) -> None:
        """Show the dock and decode the path the panel describes (a problem, such as a class
        the judge sees no sample of, is said in the dock rather than in a dialog)."""
        self.dock.show()
        self.dock.raise_()
        if self.state.session is not None:
            self.interpolate(quiet=True)

    @Slot(float, float)
    def set_start(self, x: float, y: float) -> None:
        self.start_xy = (x, y)
        self._points_picked()

    @Slot(float, float)
    def set_end(self, x: float, y: float) -> None:
        self.end_xy = (x, y)
        self._points_picked()

    def _points_picked(self) -> None:
        self.panel.set_source(SOURCE_POINTS)
        self.panel.show_points(self.start_xy, self.end_xy)
        self.overlay.set_path(None)
        self.overlay.set_ends(self.start_xy, self.end_xy)
        self.dock.show()
        if self.start_xy is not None and self.end_xy is not None:
            self.interpolate()
        else:
            self.status("Start A set; Ctrl+click the end B" if self.end_xy is None
                        else "End B set; Shift+click the start A")

    @Slot(bool)
    def set_draw_mode(self, on: bool) -> None:
        if self.draw_action.isChecked() != on:
            self.draw_action.setChecked(on)  # comes back here through toggled
            return
        self.picker.set_draw_mode(on)
        if on:
            self.panel.set_source(SOURCE_FREEHAND)
            self.dock.show()
            self.status(DRAW_HINT, 0)
        else:
            self.state.say("", 0)

    @Slot(object)
    def _on_drawing(self, xy: np.ndarray) -> None:
        self.overlay.set_polyline(xy)

    @Slot(object)
    def set_stroke(self, xy: np.ndarray) -> None:
        """A freehand path in plane coordinates: resampled to the panel's frame count and decoded."""
        self.stroke = np.asarray(xy, np.float64)
        self.panel.set_source(SOURCE_FREEHAND)
        self.draw_action.setChecked(False)
        self.interpolate()

    # ================================================ the panel's choices changed
    def _stale_reason(self) -> str:
        """Why the panel's path cannot be decoded at once ("" when it can): a GAN must
        invert test images (seconds), or the user has not picked the ends yet."""
        source, session = self.panel.source, self.state.session
        if source == SOURCE_IMAGES and not session.model.has_encoder:
            return STALE_INVERSION
        if source == SOURCE_POINTS and (self.start_xy is None or self.end_xy is None):
            return STALE_POINTS
        if source == SOURCE_FREEHAND and self.stroke is None:
            return STALE_FREEHAND
        return ""

    @Slot()
    def _on_choice_changed(self) -> None:
        """The user changed A, B, the mode, the frames or the source: decode the new path at
        once when that is fast (an encoder, centroids, map points), else grey the strip out
        and say what to do. The heading never names a pair the strip does not show."""
        if self.state.session is None or self.explorer.projection is None or not self.dock.isVisible():
            return
        reason = self._stale_reason()
        if reason:
            self._recompute.stop()
            if self.path is not None:
                self.strip_view.set_stale(reason)
            return
        if self.path is not None:
            self.strip_view.set_stale(STALE_UPDATING)
        self._recompute.start()

    @Slot()
    def _recompute_path(self) -> None:
        if self.state.session is not None and not self._stale_reason():
            self.interpolate(quiet=True)

    # ========================================================== the path job
    @Slot()
    def interpolate(self, quiet: bool = False) -> bool:
        """Decode the path the panel describes (in the background); False when it cannot.
        ``quiet``: a problem greys the strip out with a note instead of opening a dialog."""
        self._recompute.stop()
        session = self.state.session
        if session is None or self.explorer.projection is None:
            self.status("Open a model first")
            return False
        from latentlab.app.analysis_jobs import PathJob

        steps, mode, source = self.panel.steps.value(), self.panel.mode, self.panel.source
        make = {SOURCE_CENTROIDS: self._centroid_path, SOURCE_POINTS: self._points_path,
                SOURCE_IMAGES: self._images_path, SOURCE_FREEHAND: self._freehand_path}[source]
        try:
            path = make(steps, mode)
        except LatentLabError as exc:
            if quiet:
                self.strip_view.set_stale(f"Cannot make this path: {exc}")
            else:
                self.errors.report("Cannot make this path", str(exc))
            return False
        if path is None:
            return False
        if source != SOURCE_FREEHAND:
            path["description"] += f", {MODE_WORDS[mode]}"
        path["description"] += f", {steps} frames"
        if session.conditional:  # a style morph: every frame is asked for the picked class
            path.update(start_class=session.condition, end_class=session.condition, condition=session.condition)
            path["description"] += f", all asked for {session.class_names[session.condition]}"
        self.lane.submit(PathJob(session.snapshot, session.judge, steps=steps, mode=mode, **path))
        self.dock.show()
        return True

    # Each gives PathJob's arguments for one kind of path, or None (with a hint) when the
    # user has not chosen its ends yet.
    def _centroid_path(self, steps: int, mode: str) -> dict:
        from latentlab.latent.paths import centroid_endpoints, interpolate

        a, b = self.panel.classes()
        points, names = self.explorer.points, self.state.session.class_names
        known = points.labels >= 0
        _require_data(self.state.session)
        if not known.any():
            raise ConfigError("the map's points have no classes yet (the judge labels a GAN's samples)")
        za, zb = centroid_endpoints(points.latents[known], points.labels[known], a, b)
        return dict(latents=interpolate(za, zb, steps, mode), start_class=a, end_class=b,
                    description=f"centroid of {names[a]} → centroid of {names[b]}")

    def _points_path(self, steps: int, mode: str) -> dict | None:
        from latentlab.latent.paths import interpolate

        if self.start_xy is None or self.end_xy is None:
            self.status(PICK_HINT, 8000)
            return None
        za, zb = self.explorer.projection.to_latent(np.array([self.start_xy, self.end_xy], np.float32))
        return dict(latents=interpolate(za, zb, steps, mode), description="map point A → map point B")

    def _images_path(self, steps: int, mode: str) -> dict:
        session = self.state.session
        _require_data(session)
        i, j = self.panel.images()
        test, names = session.dataset.test, session.class_names
        a, b = int(test.labels[i]), int(test.labels[j])
        if not session.model.has_encoder:
            self.status("Inverting the two images through the generator (a few seconds)…", 0)
        return dict(images=test.images[[i, j]].float(), labels=test.labels[[i, j]], start_class=a, end_class=b,
                    description=f"test image #{i} ({names[a]}) → #{j} ({names[b]})")

    def _freehand_path(self, steps: int, mode: str) -> dict | None:
        from latentlab.latent.paths import resample_polyline

        if self.stroke is None:
            self.draw_action.setChecked(True)  # nothing drawn yet: start drawing
            return None
        plane = resample_polyline(self.stroke, steps).astype(np.float32)
        return dict(latents=self.explorer.projection.to_latent(plane), description="freehand path")

    @Slot(object, object)
    def _on_lane_result(self, job, value) -> None:
        from latentlab.app.analysis_jobs import PathResult

        if self.state.session is None:
            return
        if isinstance(value, PathResult):
            self.show_path(value)

    def show_path(self, result: PathResult, announce: bool = True) -> None:
        session = self.state.session
        self.path = result
        metrics = result.metrics
        intrusions = np.isin(result.classes, metrics.intruders) if metrics is not None else None
        strip = Strip(result.frames, result.classes, result.confidences, intrusions)
        html = (metrics_html(metrics, session.class_names) if metrics is not None
                else "No judge classifier yet: classes and purity appear once it is ready.")
        self.strip_view.set_strip(strip, session.class_names, html, f"Interpolation: {result.description}")
        self.overlay.set_path(self.explorer.projection.to_plane(result.latents))
        self.strip_view.set_current(0)
        self._update_enabled()
        if not announce:
            return
        self.status(f"Path decoded: {result.description}")
        self.pathReady.emit()
        if self._play_when_ready:
            self._play_when_ready = False
            self.strip_view.play()

    @Slot(object, str)
    def _on_lane_failed(self, job, message: str) -> None:
        """(The lane's error sink has shown it.) A path that failed leaves no strip to play."""
        self._play_when_ready = False

    # ================================================================ player
    @Slot()
    def play(self) -> None:
        self.strip_view.play()

    @Slot()
    def toggle_play(self) -> None:
        """Play or pause the strip (presentation mode's P); without a strip yet, decode the
        panel's path and play it when it arrives."""
        if self.state.session is None:
            self.status("No interpolation strip to play: open a model first")
            return
        if self.path is None:
            self._play_when_ready = True
            self.show_interpolation()
            return
        self.dock.show()
        self.strip_view.toggle_play()

    @Slot(bool)
    def restyle(self, *args) -> None:
        """The look changed (presentation mode): the path's pens and the class colours."""
        self.overlay.restyle()
        if self.path is not None:
            current = self.strip_view.current
            self.show_path(self.path, announce=False)
            self.strip_view.set_current(current)

    # ======================================================= other windows
    @Slot()
    def show_compare(self) -> None:
        from latentlab.ui.analysis.compare_window import CompareWindow

        session = self.state.session
        if self.compare_window is None:
            self.compare_window = CompareWindow(self.map.window(), errors=self.errors)
        if session is not None:
            self.compare_window.set_dataset(session.class_names, len(session.dataset.test))
        if session is not None and session.path is not None and not self.compare_window.paths():
            self.compare_window.add_paths([session.path])
        bring_up(self.compare_window)

    @Slot()
    def show_arithmetic(self) -> None:
        from latentlab.ui.analysis.arithmetic_panel import ArithmeticPanel

        if self.arithmetic_panel is None:
            self.arithmetic_panel = ArithmeticPanel(self.state, self.explorer, self.map.window())
        bring_up(self.arithmetic_panel)
        self.arithmetic_panel.refresh()

    @Slot()
    def show_outliers(self) -> None:
        from latentlab.ui.analysis.outliers_dialog import OutliersDialog

        if self.outliers_dialog is None:
            self.outliers_dialog = OutliersDialog(self.state, self.lane, self.map.window())
            self.outliers_dialog.pointChosen.connect(self.put_marker_on_test_image)
        bring_up(self.outliers_dialog)
        self.outliers_dialog.rank()

    @Slot(int)
    def put_marker_on_test_image(self, index: int) -> None:
        points, projection = self.explorer.points, self.explorer.projection
        if points is None or projection is None or not points.from_data:
            return
        x, y = projection.to_plane(points.latents[index : index + 1])[0]
        self.explorer.set_marker(float(x), float(y))

    # ================================================================ exports
    def export_map_png(self, path: str | Path, width: int = 1600) -> Path:
        exporter = pg.exporters.ImageExporter(self.map.plot_item)
        exporter.parameters()["width"] = width
        return write_png(exporter.export(toBytes=True), path, what="the map")

    def export_map_svg(self, path: str | Path) -> Path:
        """The map as SVG: axes, labels, path and marker as vectors; territory and dots as images."""
        with closed_svg_paths_tolerated():
            data = pg.exporters.SVGExporter(self.map.plot_item).export(toBytes=True)
        return write_output(path, lambda f: f.write(data), what="the map")

    def export_strip_png(self, path: str | Path) -> Path:
        from latentlab.latent.export import save_strip_png

        from latentlab.latent.export import ARROW, path_headline

        path_result = self._strip_for_export()
        names = self.state.session.class_names
        title = path_result.description.replace(" → ", ARROW)  # Pillow's default font has no arrow
        if path_result.metrics is not None:
            title += f": {path_headline(path_result.metrics, names)}"
        return Path(save_strip_png(path_result, path, class_names=names, title=title))

    def export_strip_gif(self, path: str | Path) -> Path:
        from latentlab.latent.export import save_strip_gif

        return Path(save_strip_gif(self._strip_for_export(), path, fps=float(self.strip_view.speed.value()),
                                   class_names=self.state.session.class_names))

    def export_latents_csv(self, path: str | Path) -> Path:
        from latentlab.latent.export import save_latents_csv

        session, points = self.state.session, self.explorer.points
        if session is None or points is None:
            raise ConfigError("open a model first: there are no latents to save")
        return Path(save_latents_csv(path, points.latents, points.labels, session.class_names))

    def _strip_for_export(self):
        if self.path is None:
            raise ConfigError("decode a path first (Analyse ▸ Interpolate…)")
        return self.path

    def _choose_and_export(self, title: str, suggestion: str, file_filter: str, export) -> None:
        path = choose_export_path(self.map.window(), title, suggestion, file_filter)
        if not path:
            return
        try:
            written = export(path)
        except Exception as exc:  # noqa: BLE001 - shown in a dialog; the window stays usable
            report_exception(self.errors, f"Could not write {Path(path).name}", exc)
            return
        self.status(f"Saved {written}")

    @Slot()
    def choose_map_png(self) -> None:
        self._choose_and_export("Save the map as PNG", "latent-map.png", "PNG image (*.png)", self.export_map_png)

    @Slot()
    def choose_map_svg(self) -> None:
        self._choose_and_export("Save the map as SVG", "latent-map.svg", "SVG image (*.svg)", self.export_map_svg)

    @Slot()
    def choose_strip_png(self) -> None:
        self._choose_and_export("Save the strip as PNG", "strip.png", "PNG image (*.png)", self.export_strip_png)

    @Slot()
    def choose_strip_gif(self) -> None:
        self._choose_and_export("Save the strip as GIF", "strip.gif", "Animated GIF (*.gif)", self.export_strip_gif)

    @Slot()
    def choose_latents_csv(self) -> None:
        self._choose_and_export("Save latents as CSV", "latents.csv", "CSV (*.csv)", self.export_latents_csv)

    # ============================================================== lifetime
    @property
    def idle(self) -> bool:
        return self.lane.idle

    def shutdown(self) -> None:
        """Stop the player, close the tool windows, wait for a running comparison and the lane."""
        self.strip_view.pause()
        if self.compare_window is not None:
            self.compare_window.shutdown()  # cancels a running comparison and waits for it
        for window in (self.compare_window, self.arithmetic_panel, self.outliers_dialog):
            if window is not None:
                window.close()
        self.lane.shutdown()
