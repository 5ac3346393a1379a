"""The main window: the latent map in the centre, the decoded view, β and KL bars on the
right, the training panel and loss curves at the bottom.

The window turns gestures into calls on the core and core results into pixels. It owns
the application state (``latentlab.app.state.AppState``: the open session, what the map
shows, the training status) and builds the rooms around it: the explorer (map and
decoded view), the panels, the Analyse room, the training controller. Those get the
state and the few widgets they drive, never the window; the panels observe the state, so
a newly opened model's values replace the previous one's everywhere. Opening, saving and
dropped files are ``ModelFiles``' (model_files.py); the judge classifier and the warm-up
run as background tasks in ``JudgeAndWarmUp`` (judge_and_warm_up.py). The window itself
closes, holds the menus and the status bar; every error goes to its one error sink
(``self.errors``: a dialog).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QScreen
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from latentlab.app.state import AppState
from latentlab.app.tasks import SNAPSHOTS_PER_S
from latentlab.errors import LatentLabError
from latentlab.ui.analysis.analysis_actions import AnalysisActions
from latentlab.ui.analysis.density_actions import DensityActions
from latentlab.ui.analysis.inside_dock import FIRST_SIZE as INSIDE_DOCK_SIZE
from latentlab.ui.analysis.inside_dock import InsideDock
from latentlab.ui.base import dialogs
from latentlab.ui.base.compat import protect_singletons
from latentlab.ui.base.theme import apply_theme, configure_pyqtgraph
from latentlab.ui.main import session_state
from latentlab.ui.main.autosave import Autosave
from latentlab.ui.main.beta_steering import BetaSteering
from latentlab.ui.main.judge_and_warm_up import JudgeAndWarmUp
from latentlab.ui.main.model_files import ModelFiles
from latentlab.ui.main.model_menu import ModelMenu
from latentlab.ui.main.presentation import PresentationMode, PresentationParts
from latentlab.ui.main.recent import RecentMenu
from latentlab.ui.main.screen_fit import ScreenFit
from latentlab.ui.main.training_controller import TrainingController
from latentlab.ui.main.welcome import WelcomePage
from latentlab.ui.map.explorer import Explorer, ExplorerOptions
from latentlab.ui.map.latent_map import LatentMap
from latentlab.ui.map.posterior_view import PosteriorView
from latentlab.ui.map.projection_controller import ProjectionController
from latentlab.ui.map.projection_picker import ProjectionPicker
from latentlab.ui.panels.analogy_row import AnalogyRow
from latentlab.ui.panels.beta_panel import BetaPanel
from latentlab.ui.panels.decoded_view import DecodedView
from latentlab.ui.panels.loss_plot import LossPlot
from latentlab.ui.panels.training_panel import FAMILY_TITLES, TrainingPanel, describe_data, summarize
from latentlab.ui.work.runtime import SWITCH_INTERVAL_S, unfreeze_startup_objects

if TYPE_CHECKING:  # this module imports no PyTorch: the window is shown before it loads (startup.py)
    from latentlab.app.protocol import ExplorableSession
    from latentlab.app.session import Session
    from latentlab.ui.main.startup import Startup
    from latentlab.ui.work.training_run import TrainingRun

#: The decoded view's column: narrower would cut its readouts.
RIGHT_MIN_WIDTH = 280
#: The training panel's families on the first screen (before PyTorch): the preset list;
#: the registry's full list replaces it when PyTorch has loaded (training_panel.py).
TRAINABLE_FAMILIES = tuple(FAMILY_TITLES)
#: Beside the picker while a >2-D latent is shown as PCA (its tooltip: PCA_EXPLAINED); the
#: shorter ones where the map's header has less room.
PCA_NOTES = ("a flat shadow: classes may overlap here, not in the model",
             "a flat shadow: overlap here, not in the model", "a flat shadow of {d}-D")
CONTROL_ROW_MARGINS_PX = 12
#: From this window width on, the status bar's data line has the dataset's sizes.
STATUS_FULL_FROM_PX = 1280
PCA_EXPLAINED = ("PCA shows the {d}-D latents along their two widest directions only, like a shadow: "
                 "points that overlap here can lie far apart in the other dimensions, so mixed classes "
                 "on this map do not mean the model mixes them. UMAP (Map: UMAP) keeps neighbours together "
                 "and shows the classes' structure.")


@dataclass
class WindowOptions:
    explorer: ExplorerOptions = field(default_factory=ExplorerOptions)
    #: The redraw timer: newest snapshot and loss points are drawn at most this often.
    redraw_ms: int = 100
    report_every_steps: int = 5
    snapshots_per_s: float = SNAPSHOTS_PER_S
    #: Errors go to stderr instead of dialogs (the headless screenshot mode).
    headless: bool = False
    #: Import what training needs in the background once the window is up (JudgeAndWarmUp).
    warm_up: bool = True
    #: ... this long after the engine is there (the start-up gives the first map a head start).
    warm_up_delay_ms: int = 0
    #: Build and show the window without PyTorch; ``engine_loaded()`` follows (see startup.py).
    defer_engine: bool = False
    #: Closing waits for no worker thread: the process ends right after (``app.run_app`` with
    #: ``exit_process``), so a thread stuck in an import cannot hold the window up.
    exit_without_waiting: bool = False
    #: Open inside the screen (fit_into_screen); off for ``--screenshot``, whose size is its own.
    fit_to_screen: bool = True


class MainWindow(QMainWindow):
    trainingEnded = Signal(object)  # TrainOutcome, after the training thread has stopped

    def __init__(self, settings: QSettings | None = None, options: WindowOptions | None = None) -> None:
        protect_singletons()  # before the many Qt calls below (see compat.py)
        super().__init__()
        configure_pyqtgraph()
        apply_theme(QApplication.instance())
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self.options = options or WindowOptions()
        self.settings = settings if settings is not None else QSettings()
        #: What the window has open and shows; the panels observe it (app/state.py).
        self.state = AppState()
        #: The one place errors are shown: a dialog (stderr when headless).
        self.errors = dialogs.ErrorDialogs(self, headless=self.options.headless)
        self.state.session_changed.connect(self._on_session_changed)  # first: the map before the panels
        self.state.message.connect(self._show_message)
        self._keep_view = False  # set_session's keep_view, for _on_session_changed
        self._close_reason = ""  # set by close_unattended
        self._threads_joined = False  # shutdown(wait=True) has run

        self.setWindowTitle("latentlab")
        self.setAcceptDrops(True)
        self.screen_fit = ScreenFit(self, enabled=self.options.fit_to_screen)
        self._build_widgets()
        self._build_status_bar()
        self._build_actions()
        self.screen_fit.attach(self.bottom_action, is_presenting=self._presenting, say=self.state.say,
                               closing=self._closing)
        self.explorer = Explorer(self.latent_map, self.decoded_view, self.options.explorer, self,
                                 errors=self.errors, state=self.state, analogy_row=self.analogy_row)
        self.latent_map.classPicked.connect(self.explorer.set_condition)
        self.analogy_row.classPicked.connect(self.explorer.set_condition)
        self._connect_projections()
        #: The judge classifier a dataset lacks and the warm-up, in the background.
        self.judge_and_warm_up = JudgeAndWarmUp(self.state, self.errors, self.explorer, self.judge_progress,
                                                parent=self)
        self._build_analysis()
        # Analyse ▸ Show posterior (a VAE's ellipse on the map) and ▸ Inside the encoder
        self.posterior_view = PosteriorView(self.state, self.explorer, self.analysis.menu, parent=self)
        self.addActions(self.posterior_view.actions())
        self.inside_dock = InsideDock(self.state, self.explorer, self.analysis.menu, self.analysis.compare_action,
                                      place=self._place_inside_dock, parent=self)
        self.addAction(self.inside_dock.action)
        # Analyse ▸ Density models: PixelCNN, flow prior, debiasing
        self.density = DensityActions(self.state, self.analysis.menu, self.errors, self.open_checkpoint,
                                      self.statusBar(), parent=self)
        self.addActions(self.density.actions())
        options = self.options
        self.training = TrainingController(self.state, self.explorer, self.training_panel, self.loss_plot,
                                           self.errors, ask_discard=self.confirm_discard,
                                           redraw_ms=options.redraw_ms,
                                           report_every_steps=options.report_every_steps,
                                           snapshots_per_s=options.snapshots_per_s, parent=self)
        self.training.changed.connect(self._update_ui_state)
        self.training.ended.connect(self.trainingEnded)
        self._build_files()
        self.beta_steering = BetaSteering(self.state, self.training, self.latent_map, self.open_checkpoint,
                                          parent=self)
        self.beta_panel.betaChanged.connect(self.beta_steering.request)
        self.autosave = Autosave(self.state, self.settings, flush=self.training.flush, parent=self)
        self.train_menu.addSeparator()
        self.train_menu.addAction(self.autosave.action)
        for panel in (self.beta_panel, self.training_panel, self.loss_plot):
            panel.observe(self.state)
        self._update_ui_state()
        self.fit_into_screen(fresh=True)
        if not self.options.defer_engine:
            self.engine_loaded()

    def engine_loaded(self) -> None:
        """PyTorch and the model code are imported: fill in what needs them (once)."""
        if self.engine_ready:
            return
        self.training_panel.load_model_defaults()
        self.welcome.describe_dataset()
        self.state.caches.threads.pin_gui_thread()
        self.state.set_engine_ready()
        self._update_ui_state()
        if self.options.warm_up:
            self.judge_and_warm_up.warm_up_once(self.options.warm_up_delay_ms)

    # =========================================================== the state
    @property
    def session(self) -> Session | None:
        """The open PyTorch session (``state.session``); None on the first screen."""
        return self.state.session

    @property
    def engine_ready(self) -> bool:
        """PyTorch and the model code are imported (``engine_loaded``)."""
        return self.state.engine_ready

    @property
    def closing(self) -> bool:
        return self.state.closing

    def _presenting(self) -> bool:
        return self.presentation.active

    def _closing(self) -> bool:
        return self.state.closing

    def _show_message(self, text: str, ms: int) -> None:
        """``state.message``: a line in the status bar."""
        if text:
            self.statusBar().showMessage(text, ms)
        else:
            self.statusBar().clearMessage()

    # ================================================================= layout
    def _build_widgets(self) -> None:
        self.latent_map = LatentMap()
        self.decoded_view = DecodedView()
        self.analogy_row = AnalogyRow()  # shown for conditional models
        self.analogy_row.setVisible(False)
        self.beta_panel = BetaPanel()
        self.training_panel = TrainingPanel(list(TRAINABLE_FAMILIES), load_defaults=False)
        self.loss_plot = LossPlot()
        self.loss_plot.setMinimumHeight(140)
        self.welcome = WelcomePage()
        self.welcome.trainRequested.connect(self.train_default_vae)

        self.projection_picker = ProjectionPicker()
        self.latent_map.insert_control(self.projection_picker)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.latent_map)
        self.stack.currentChanged.connect(self._size_by_current_page)
        self._size_by_current_page()

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(6, 0, 0, 0)
        right_layout.addWidget(self.decoded_view, 3)
        right_layout.addWidget(self.analogy_row)
        right_layout.addWidget(self.beta_panel, 2)
        right.setMinimumWidth(RIGHT_MIN_WIDTH)

        self.top_splitter = top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.stack)
        top.addWidget(right)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)
        top.setSizes([1010, 390])

        self.bottom = bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        bottom_layout.setSpacing(0)
        row = QHBoxLayout()
        row.addWidget(self.training_panel, 0)
        row.addWidget(self.loss_plot, 1)
        bottom_layout.addLayout(row, 1)
        bottom_layout.addWidget(self.training_panel.summary)  # one line, the whole width

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([580, 240])  # the training panel, the model's summary under it
        self.setCentralWidget(self.splitter)

        self.training_panel.startRequested.connect(self.start_training)
        self.training_panel.pauseRequested.connect(self.toggle_pause)
        self.training_panel.stopRequested.connect(self.stop_training)
        self.decoded_view.gridToggled.connect(self._on_grid_toggled)

    # ============================================================ geometry
    def fit_into_screen(self, screen: QScreen | None = None, *, fresh: bool = False) -> None:
        """Keep the window inside its screen (screen_fit.ScreenFit.fit)."""
        self.screen_fit.fit(screen, fresh=fresh)

    @Slot(bool)
    def fit_screen(self, shown: bool = True) -> None:
        """A dock was shown or hidden (its visibilityChanged): ScreenFit.dock_shown."""
        dock = self.sender()
        self.screen_fit.dock_shown(shown, dock if isinstance(dock, QDockWidget) else None)

    def docks_shown(self) -> bool:
        """A dock (the interpolation strip) is open in the window."""
        return any(dock.isVisible() and not dock.isFloating() for dock in self.findChildren(QDockWidget))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        QTimer.singleShot(0, self, self._describe_projection)  # its note fits the map's new width
        self._fit_status_line()

    @Slot()
    def _size_by_current_page(self) -> None:
        """Only the shown page of the map area counts for the window's minimum size (a
        QStackedWidget asks for the largest page's: the welcome page's long lines made the
        window 1,170 pixels wide at least in presentation mode)."""
        shown = self.stack.currentWidget()
        for i in range(self.stack.count()):
            page = self.stack.widget(i)
            policy = QSizePolicy.Policy.Preferred if page is shown else QSizePolicy.Policy.Ignored
            page.setSizePolicy(policy, policy)
        self.stack.updateGeometry()

    def _connect_projections(self) -> None:
        """The picker switches the explorer's projection; the controller lays out UMAP in a
        worker process (started on the first UMAP request) and reports to both."""
        self.projection_controller = ProjectionController(self, errors=self.errors)
        self.explorer.umap_controller = self.projection_controller
        picker, controller = self.projection_picker, self.projection_controller
        controller.progress.connect(picker.set_progress)
        controller.failed.connect(picker.set_failed)
        for signal in (controller.partial, controller.done):
            signal.connect(picker.set_ready)
            signal.connect(self.explorer.on_umap_ready)
        picker.kindChanged.connect(self.explorer.set_projection_kind)
        self.explorer.projectionChanged.connect(self._describe_projection)
        self.explorer.markerDistance.connect(picker.set_distance)

    def _action(self, text: str, slot, shortcut=None, tip: str = "", checkable: bool = False) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tip or text)
        action.setStatusTip(tip or text)
        action.setCheckable(checkable)
        if slot is not None:  # None: connected by its owner (the file actions: _build_files)
            (action.toggled if checkable else action.triggered).connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.open_action = self._action("&Open…", None, QKeySequence.StandardKey.Open,
                                        "Open a checkpoint folder or .safetensors file (Ctrl+O)")
        self.save_action = self._action("&Save", None, QKeySequence.StandardKey.Save,
                                        "Save the model as a checkpoint, atomically (Ctrl+S)")
        self.save_as_action = self._action("Save &As…", None, "Ctrl+Shift+S",
                                           "Save the model under a new name (Ctrl+Shift+S)")
        self.revert_action = self._action("&Revert to shipped model", None, None,
                                          "Discard the fine-tuning of this shipped model and reopen it as "
                                          "it ships (stops a running fine-tune first)")
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q", "Close latentlab (Ctrl+Q)")
        self.train_action = self._action("Start / Pause training", self.toggle_training, "Space",
                                         "Start training a new model, or pause / resume the running one (Space)")
        self.stop_action = self._action("Stop training", self.stop_training, None,
                                        "Stop training after the current step")
        self.default_vae_action = self._action("Train a 2-D VAE on the bundled data", self.train_default_vae,
                                               None, "Train a β-VAE with a 2-D latent on mnist-5k")
        self.grid_action = self._action("Manifold &grid", self._on_grid_action, "G",
                                        "Show a grid of decodes over the visible region in the decoded view (G)",
                                        checkable=True)
        self.reset_view_action = self._action("&Reset view", self.reset_view, "R",
                                              "Frame all points on the map (R)")
        self.bottom_action = self._action("&Training panel and losses", self.bottom.setVisible, "T",
                                          "Show or hide the training panel and the loss curves under the map (T); "
                                          "hidden, the map and the decoded view get the room", checkable=True)
        self.bottom_action.setChecked(True)
        self.recent_menu = RecentMenu(self.settings, self)

        menu_bar = self.menuBar()
        file_menu = menu_bar.addMenu("&File")
        file_menu.addAction(self.open_action)
        file_menu.addMenu(self.recent_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.save_as_action)
        file_menu.addAction(self.revert_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self.train_menu = train_menu = menu_bar.addMenu("&Training")
        for action in (self.train_action, self.stop_action, self.default_vae_action):
            train_menu.addAction(action)
        view_menu = menu_bar.addMenu("&View")
        view_menu.addAction(self.grid_action)
        view_menu.addAction(self.reset_view_action)
        view_menu.addAction(self.bottom_action)
        self.model_menu = ModelMenu(self.state, self.open_checkpoint, self)
        self.addActions(self.model_menu.window_actions())
        menu_bar.insertMenu(train_menu.menuAction(), self.model_menu)
        parts = PresentationParts(self.bottom_action, self.top_splitter, self.screen_fit,
                                  quiet_labels=(self.status_dataset, self.status_device),
                                  docks_shown=self.docks_shown, dock_shown=self.fit_screen,
                                  restyle=self._restyle, say=self.state.say)
        self.presentation = PresentationMode(self, parts, view_menu, menu_bar.addMenu("&Help"))
        self.addActions(self.presentation.actions())

    def _build_files(self) -> None:
        """File ▸ Open, Open Recent, Save, Save As, Revert, and dropped files (model_files.py)."""
        self.files = ModelFiles(self.state, self.errors, self.recent_menu, self.training,
                                set_session=self.set_session, opens_elsewhere=self.density.opens_elsewhere,
                                parent=self)
        for action, slot in ((self.open_action, self.files.choose_and_open), (self.save_action, self.files.save),
                             (self.save_as_action, self.files.save_as),
                             (self.revert_action, self.files.revert_to_shipped)):
            action.triggered.connect(slot)
        self.welcome.openRequested.connect(self.files.choose_and_open)
        self.state.model_saved.connect(lambda _path: self._update_ui_state())  # the title's "*" goes

    def _build_analysis(self) -> None:
        """The Analyse room: its menu (before Help), the interpolation dock under the map."""
        self.analysis = AnalysisActions(self.state, self.explorer, self.errors, presentation=self.presentation,
                                        parent=self)
        self.explorer.projectionChanged.connect(self.analysis.reproject)
        self.addActions(self.analysis.actions())
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.analysis.dock)
        self.analysis.dock.hide()
        self.analysis.dock.visibilityChanged.connect(self.fit_screen)
        bar = self.menuBar()
        help_menu = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
        bar.insertMenu(help_menu, self.analysis.menu) if help_menu is not None else bar.addMenu(self.analysis.menu)

    def _place_inside_dock(self, dock: QDockWidget) -> None:
        """The inside-the-encoder dock's first place: floating beside the window, so the map
        keeps its room (it can be docked on any side)."""
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        dock.setFloating(True)
        frame = self.frameGeometry()
        dock.resize(*INSIDE_DOCK_SIZE)
        dock.move(max(0, frame.right() - INSIDE_DOCK_SIZE[0] - 20), frame.top() + 60)

    def _restyle(self) -> None:
        """The look changed (presentation mode, the system's scheme): the map's colours."""
        self.explorer.restyle()

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.status_device = QLabel()
        self.status_device.setToolTip("Where training runs")
        self.status_model = QLabel("no model")
        self.status_model.setToolTip("The open model: family, backbone, latent size")
        self.status_dataset = QLabel()
        self.status_dataset.setToolTip("The dataset: name, training / test images")
        self._dataset_lines = ("", "")  # with and without its sizes (_show_dataset)
        self.status_epoch = QLabel()
        self.status_epoch.setToolTip("Epochs trained")
        for label in (self.status_model, self.status_dataset, self.status_epoch, self.status_device):
            bar.addPermanentWidget(label)
        from latentlab.ui.panels.task_progress import TaskProgress

        self.judge_progress = TaskProgress("Training the judge classifier that colours the class territory "
                                           "and grades samples: once per dataset, then cached")
        bar.addPermanentWidget(self.judge_progress)

    # ============================================================= opening
    def open_checkpoint(self, path: str | Path, *, discard: bool = False) -> bool:
        """Open a checkpoint (``ModelFiles.open_checkpoint``): False and one dialog on failure."""
        return self.files.open_checkpoint(path, discard=discard)

    def show_preview(self, preview: ExplorableSession) -> None:
        """The first screen: the map of the model being opened, from NumPy networks, while
        PyTorch loads (startup.py). Exploring works; training, analysis and saving wait
        for the real session, which ``set_session(..., keep_view=True)`` puts in its place.
        The panels observe ``state.shown``: they show what the full session will (the same
        record); the loss curves follow in show_preview_losses, once the map is painted."""
        if self.session is not None or self.state.closing:
            return
        self.explorer.set_session(preview, self._projection_kind_for(preview))
        self.stack.setCurrentWidget(self.latent_map)
        self.state.set_shown(preview)
        self._update_ui_state()

    def make_startup(self, checkpoint: str | None, saved: session_state.SessionState) -> Startup:
        """The start-up of this window: the first screen, PyTorch, ``checkpoint`` (None: the
        last session's model or the pretrained VAE), the ``saved`` view restored."""
        from latentlab.ui.main.startup import Startup

        return Startup(self, self.state, self.explorer, checkpoint, saved, errors=self.errors, parent=self)

    def startup_failed(self, message: str, *, ask_user: bool) -> None:
        """The start-up could open no model: the welcome page says why (a dialog too when
        the user named the checkpoint)."""
        self.welcome.set_notice(message)
        self.state.say(message, 10_000)
        if ask_user:
            self.show_error("Could not open the checkpoint", message)

    def startup_opened(self, path: str, notice: str) -> None:
        self.recent_menu.add(path)
        self.state.say(notice or f"Opened {Path(path).name}", 8000)

    def show_preview_losses(self, preview: ExplorableSession) -> None:
        """The first screen's loss curves (the checkpoint's history). Called once the map is
        painted: building the plots takes ~0.16 s of the GUI thread, which the map's first
        territory would otherwise wait for; the real session then only refills them."""
        if self.session is None and self.explorer.session is preview:
            self.loss_plot.fill_from(preview)

    def set_session(self, session: Session | None, *, keep_view: bool = False) -> None:
        """Open ``session`` (None: the welcome page). ``keep_view``: it replaces the first
        screen's preview of the same checkpoint, so the view and marker stay where they are.
        The state tells everyone (``_on_session_changed`` first, then the panels)."""
        self._keep_view = keep_view
        try:
            self.state.set_session(session)
        finally:
            self._keep_view = False

    def _on_session_changed(self, session: Session | None) -> None:
        """``state.session_changed``: the map, the projection picker (the judge: JudgeAndWarmUp)."""
        keep_view = self._keep_view
        layout = self._available_umap(session)
        self.explorer.set_session(session, self._projection_kind_for(session, umap_ready=layout is not None),
                                  keep_view=keep_view)
        if layout is not None:  # shown now, not after a poll of the worker (with PCA until then)
            self.projection_controller.cancel()
            self.explorer.on_umap_ready(layout)
        self._describe_projection()
        if session is not None:
            self.stack.setCurrentWidget(self.latent_map)
        else:
            self.stack.setCurrentWidget(self.welcome)
        self._update_ui_state()

    def _projection_kind_for(self, session: ExplorableSession | None, umap_ready: bool = False) -> str:
        """Set the picker up for ``session``'s latent and return the kind to show: the slice
        for a 1-D or 2-D latent (exact); for more dimensions UMAP when its layout is
        available (``umap_ready``: it shows the classes' structure, where PCA's plane mixes
        them), else PCA or UMAP, whichever was chosen last (PCA at first: it is immediate)."""
        picker = self.projection_picker
        kind = picker.kind()
        if session is not None:
            if session.latent_dim <= 2:
                kind = "slice"
            elif umap_ready:
                kind = "umap"
            elif kind not in ("pca", "umap"):
                kind = "pca"
        picker.blockSignals(True)  # the explorer gets the kind with the session, not before it
        try:
            if session is not None:
                picker.set_latent_dim(session.latent_dim)
            picker.set_kind(kind)
        finally:
            picker.blockSignals(False)
        return kind

    def _available_umap(self, session: Session | None):
        """The UMAP layout of a >2-D ``session``'s map points when one is already laid out
        (the layout cache, with the shipped models' layouts), else None."""
        if session is None or session.latent_dim <= 2:
            return None
        return self.projection_controller.cached_layout(session.map_points().latents)

    @Slot()
    def _describe_projection(self) -> None:
        """Say plainly what a PCA map of a >2-D latent shows (and does not)."""
        projection, session = self.explorer.projection, self.explorer.session
        if projection is None or session is None or session.latent_dim <= 2 \
                or projection.kind != "pca" or self.projection_picker.kind() != "pca":
            return
        picker = self.projection_picker
        others = [w for w in (picker.label, picker.combo, picker.bar, picker.distance) if not w.isHidden()]
        spacing = picker.layout().spacing() * len(others)
        # The picker leads the map's control row; for PCA nothing else is in it (the slice's dims are hidden).
        room = self.latent_map.width() - CONTROL_ROW_MARGINS_PX - spacing \
            - sum(max(w.width(), w.minimumSizeHint().width()) for w in others)
        metrics = picker.status.fontMetrics()
        notes = [note.format(d=session.latent_dim) for note in PCA_NOTES]
        picker.set_note(next((n for n in notes if metrics.horizontalAdvance(n) <= room), notes[-1]))
        picker.status.setToolTip(PCA_EXPLAINED.format(d=session.latent_dim))

    def recent_checkpoints(self) -> list[str]:
        return self.recent_menu.paths()

    # --------------------------------------------------------- drag & drop
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        self.files.drag_enter(event)

    def dropEvent(self, event) -> None:  # noqa: N802
        self.files.drop(event)

    def open_dropped(self) -> None:
        """The file dropped while PyTorch loaded, if one waits (``ModelFiles.open_dropped``)."""
        self.files.open_dropped()

    # ============================================================== saving
    def save_checkpoint(self, path: str | Path | None = None) -> Path | None:
        """Save the model (``ModelFiles.save_checkpoint``); None when not saved."""
        return self.files.save_checkpoint(path)

    def confirm_discard(self, question: str) -> bool:
        """Ask Save / Discard / Cancel when the open model has unsaved training (``ModelFiles``)."""
        return self.files.confirm_discard(question)

    # ============================================================ training
    @property
    def run(self) -> TrainingRun | None:
        return self.training.run

    @property
    def is_training(self) -> bool:
        return self.training.running

    def start_training(self, config=None, settings=None, dataset_name: str | None = None) -> bool:
        """Train a new model (``config``/``settings`` default to the training panel's fields)."""
        return self.training.start_new(config, settings, dataset_name)

    @Slot()
    def train_default_vae(self) -> None:
        from latentlab.data import DEFAULT_DATASET

        panel = self.training_panel
        panel.family.setCurrentIndex(panel.family.findData("vae"))
        panel.backbone.setCurrentText("mlp")
        panel.latent_dim.setValue(2)
        self.start_training(dataset_name=DEFAULT_DATASET)

    @Slot()
    def toggle_training(self) -> None:
        if self.is_training:
            self.training.toggle_pause()
        else:
            self.start_training()

    @Slot()
    def toggle_pause(self) -> None:
        self.training.toggle_pause()

    @Slot()
    def stop_training(self) -> None:
        self.training.stop()

    # ================================================================= view
    @Slot()
    def reset_view(self) -> None:
        self.latent_map.reset_view()

    @Slot(bool)
    def _on_grid_action(self, on: bool) -> None:
        self.decoded_view.set_grid_mode(on)

    @Slot(bool)
    def _on_grid_toggled(self, on: bool) -> None:
        if self.grid_action.isChecked() != on:
            self.grid_action.setChecked(on)

    @Slot()
    def _update_ui_state(self) -> None:
        """The window's own actions and status bar (the panels observe the state)."""
        session, run = self.session, self.run
        training = run is not None
        for action in (self.save_action, self.save_as_action):
            action.setEnabled(session is not None)
        self.revert_action.setEnabled(session is not None and (session.dirty or training)
                                      and session.path is not None and self._is_shipped(session.path))
        for action in (self.grid_action, self.reset_view_action):  # the first screen's preview too
            action.setEnabled(self.explorer.session is not None)
        for action in (self.open_action, self.train_action, self.default_vae_action):
            action.setEnabled(self.engine_ready)  # before that, opening would wait for PyTorch
        self.welcome.open_button.setEnabled(self.engine_ready)
        self.stop_action.setEnabled(training)
        if training and self.projection_picker.kind() == "umap" and session.model.has_encoder:  # the points move
            self.projection_picker.set_note("UMAP after training: PCA follows the training")
        self._update_status()

    @staticmethod
    def _is_shipped(path: Path) -> bool:
        from latentlab.pretrained import shipped_entry

        return shipped_entry(path) is not None

    def _show_dataset(self, name: str, n_train: int | None, n_test: int | None) -> None:
        """The status bar's data line: with its sizes where the window is wide enough, else
        the name alone (the sizes in the tooltip), so the bar's messages keep their room."""
        self._dataset_lines = (describe_data(name, n_train, n_test), describe_data(name, None, None))
        self.status_dataset.setToolTip(f"The dataset: {self._dataset_lines[0].removeprefix('data: ')}")
        self._fit_status_line()

    def _fit_status_line(self) -> None:
        full, short = self._dataset_lines
        self.status_dataset.setText(full if self.width() >= STATUS_FULL_FROM_PX else short)

    def _update_status(self) -> None:
        """The status bar and the title, of the model on the map (``state.shown``: the
        first screen's preview too) and the run."""
        shown, session, run = self.state.shown, self.session, self.run
        if self.engine_ready:
            from latentlab.training.device import resolve_device

            device = run.job.settings.device if run is not None else self.training_panel.device.currentText()
            try:
                device = str(resolve_device(device))
            except LatentLabError:
                pass
            self.status_device.setText(f"device: {device}")
        else:
            self.status_device.setText("loading PyTorch…")
        if shown is None:
            self.status_model.setText("no model")
            self.training_panel.summary.setText("")
            self.status_epoch.setText("")
            self.setWindowTitle("latentlab")
            if self.engine_ready:
                from latentlab.data import DEFAULT_DATASET

                self._show_dataset(DEFAULT_DATASET, None, None)
            return
        self.status_model.setText(f"model: {shown.describe()}")
        self.training_panel.summary.setText(summarize(shown.family, shown.epochs_done, shown.metrics))
        if shown.data_note:
            self._dataset_lines = ("data: not loaded (the map says why)",) * 2
            self._fit_status_line()
        else:
            self._show_dataset(*shown.dataset_counts())
        self.status_epoch.setText(f"epoch {shown.epochs_done}" + (" (training)" if run is not None else ""))
        if session is not None:
            name = session.path.name if session.path else "unsaved"
            self.setWindowTitle(f"latentlab — {name}{' *' if session.dirty else ''} — {session.describe()}")

    # =============================================================== errors
    def show_error(self, title: str, message: str) -> None:
        """A dialog that names the problem (the error sink; stderr in headless mode)."""
        self.errors.report(title, message)

    # ============================================================ lifetime
    def wait_until_idle(self, timeout_s: float = 60.0) -> bool:
        """Process events until no background work is pending (headless capture, tests)."""
        deadline = time.monotonic() + timeout_s
        calm = 0
        while time.monotonic() < deadline:
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            if self.explorer.idle and self.analysis.idle and self.density.idle and self.judge_and_warm_up.idle:
                calm += 1
                if calm >= 3:
                    return True
            else:
                calm = 0
            time.sleep(0.005)
        return False

    #: Saving while closing during training waits at most this long for the run to stop
    #: and send its final weights (a stop, the test-split evaluation and the snapshot take
    #: ~0.1 s); after that the newest snapshot (at most 1/SNAPSHOTS_PER_S old) is saved.
    CLOSE_WAIT_S = 0.15

    def capture_state(self) -> session_state.SessionState:
        """What the next start restores: the layout, and the view of the model on the map
        (closed during the first screen: its preview's)."""
        return session_state.capture(self, splitter=self.splitter, presentation=self.presentation,
                                     shown=self.state.shown, latent_map=self.latent_map,
                                     projection=self.projection_picker.kind(), grid=self.decoded_view.grid_mode)

    def restore_layout(self, saved: session_state.SessionState) -> None:
        session_state.restore_layout(self, self.splitter, saved, self.fit_into_screen)

    def restore_view(self, saved: session_state.SessionState) -> bool:
        return session_state.restore_view(saved, shown=self.state.shown, explorer=self.explorer,
                                          picker=self.projection_picker, grid_action=self.grid_action)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.state.closing:
            event.accept()
            return
        if not self._confirm_close():
            event.ignore()
            return
        state = self.capture_state()
        self.hide()  # at once: stopping the workers happens out of sight
        session_state.save(self.settings, state)
        self.shutdown(wait=not self.options.exit_without_waiting)
        event.accept()

    def _confirm_close(self) -> bool:
        running = self.is_training
        if not running and (self.session is None or not self.session.dirty):
            return True
        if self._close_reason:  # a signal, not a person: nobody can answer, keep a copy
            self._stop_training_for_close(self.CLOSE_WAIT_S)
            self.autosave.save_now(self._close_reason)
            return True
        question = ("Training is running. Save the model before closing?" if running
                    else "The model has unsaved training. Save it before closing?")
        answer = dialogs.ask_save_changes(self, question)
        if answer == dialogs.CANCEL:
            return False
        if answer == dialogs.SAVE:
            # Final weights are worth a moment only from a trainer that has sent some: one
            # that has not is still building its optimiser and will not stop soon.
            self._stop_training_for_close(self.CLOSE_WAIT_S if self.session.dirty else 0.0)
            return self.save_checkpoint() is not None
        self._stop_training_for_close(0.0)
        return True

    def _stop_training_for_close(self, wait_s: float) -> None:
        """Stop a run. When the process ends right after the window, wait at most ``wait_s``
        for its final weights: the save is of the GUI's copy of the weights, so it need not
        wait for the training thread, which can be stuck for seconds in an import (Adam's
        first step imports torch._dynamo). Otherwise wait until the thread has ended."""
        self.training.stop_and_wait(wait_s if self.options.exit_without_waiting else None)

    def close_unattended(self, reason: str) -> None:
        """Close for a signal (SIGTERM, SIGHUP): no question; unsaved training is saved to
        the autosave folder in the user's data folder, and the terminal is told where."""
        self._close_reason = reason
        self.close()

    def shutdown(self, wait: bool = True) -> None:
        """Stop training and every worker (idempotent). With ``wait``, block until their
        threads have ended, as an owner that goes on living must (tests, an in-process
        caller); without, only ask them to stop and end the UMAP worker process: the process
        is about to end (``app.run_app``) and needs nothing from them. A later call with
        ``wait`` still waits."""
        if not self.state.closing:
            self.state.closing = True
            self.autosave.stop()
            self.training.stop()
            self.training.redraw_timer.stop()
            self.judge_and_warm_up.cancel_judge()  # stops at its next step
            self.projection_controller.shutdown()  # a child process: it would outlive us
        if not wait or self._threads_joined:
            return
        self._threads_joined = True
        self.training.stop_and_wait()
        self.judge_and_warm_up.wait()
        self.analysis.shutdown()
        self.density.shutdown()
        self.explorer.shutdown()
        unfreeze_startup_objects()
