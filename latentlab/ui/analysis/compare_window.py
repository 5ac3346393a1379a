"""Comparing models: the same path through several checkpoints, side by side.

The user loads checkpoints (a file dialog, the shipped β ladder, or every shipped
model), picks class A → class B (the most typical test image of each) or two test
images, and presses Compare. Loading, encoding and, for GANs, latent inversion run in a
``Task`` (ui/work/tasks.py) with a progress bar and Cancel; the result is one strip per model
(their frames aligned column by column; on the left the model's title and its path's
verdict) and a table of each model's path measures (path_metrics.report, the words
every display uses). A result that no longer matches the choices is greyed out (the
path changed) or cleared (the models changed). The comparison exports as a PNG.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal, Slot
from PySide6.QtGui import QColor, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from latentlab import pretrained
from latentlab.app.analysis_jobs import CompareRequest, model_name, run_comparison
from latentlab.app.tasks import ErrorSink
from latentlab.data import DEFAULT_DATASET
from latentlab.errors import LatentLabError
from latentlab.latent.compare import MAX_MODELS, StripSet
from latentlab.latent.path_metrics import (
    ENDS_HELP,
    MAX_JUMP_HELP,
    PURITY_HELP,
    SEQUENCE_HELP,
    SMOOTHNESS_HELP,
    THIRD_HELP,
    VERDICT_HELP,
    report,
)
from latentlab.models.checkpoint import read_checkpoint_meta
from latentlab.ui.analysis.class_pair import fill_class_pair, pair_row
from latentlab.ui.analysis.path_tool import DEFAULT_STEPS, MODES
from latentlab.ui.analysis.strip_view import CAPTION_HEIGHT, GAP, Strip, StripCanvas, to_uint8_frames
from latentlab.ui.base import dialogs
from latentlab.ui.base.palette import class_colors, unknown_color
from latentlab.ui.base.pixmaps import frame_pixmap
from latentlab.ui.work.tasks import Task

MIN_MODELS = 2
INTRUDER_TEXT = "#c81e1e"
DIRECT_TEXT = "#2ca02c"
NAME_WIDTH = 210
PANEL_WIDTH = 340
#: Frames of a comparison row: as large as the rows' height and width allow, within these
#: limits (below the smallest the rows scroll).
ROW_CELL = 112
MIN_ROW_CELL = 48
#: The window's size on a large screen; smaller screens get a window that fits them.
DEFAULT_SIZE = (1400, 900)
#: (header, tooltip) of each column of the table.
TABLE = (
    ("Model", "The model's title"),
    ("Verdict", VERDICT_HELP),
    ("Purity", PURITY_HELP),
    ("Third classes", THIRD_HELP),
    ("Ends", ENDS_HELP),
    ("Smoothness", SMOOTHNESS_HELP),
    ("Max jump", MAX_JUMP_HELP),
    ("Mean confidence", "The judge's mean confidence in its class over the path's frames"),
    ("Class sequence", SEQUENCE_HELP),
)
TABLE_COLUMNS = tuple(title for title, _ in TABLE)
STALE_PATH = "Out of date: the path changed. Press Compare."
CLEARED_MODELS = "The list of models changed: press Compare."


#: The steps of the progress bar.
PROGRESS_STEPS = 1000
FAILED_TITLE = "The comparison failed"


def close_keys() -> list[QKeySequence]:
    """Esc, Ctrl+W and the platform's Close keys, each once (two shortcuts on one key
    would make it ambiguous, and neither would fire)."""
    keys = [QKeySequence(Qt.Key.Key_Escape), QKeySequence("Ctrl+W"),
            *QKeySequence.keyBindings(QKeySequence.StandardKey.Close)]
    return list({k.toString(): k for k in keys if not k.isEmpty()}.values())


class CompareWindow(QWidget):
    """A top-level window: models and the path's choices on the left; strips and measures."""

    comparisonShown = Signal()  # the strips and the table hold a new comparison
    comparisonFailed = Signal(str)

    def __init__(self, parent: QWidget | None = None, class_names: Iterable[str] = (), test_count: int = 1000,
                 errors: ErrorSink | None = None, headless: bool = False) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Compare models — latentlab")
        #: Where failures are shown: the main window's sink, or a dialog of this window's own.
        self.errors = errors if errors is not None else dialogs.ErrorDialogs(self, headless=headless)
        self.result: StripSet | None = None
        self.stale = False  # the result shown no longer matches the path's choices
        self._task: Task | None = None
        self._paths: list[Path] = []
        self._rows: list[tuple[QLabel, StripCanvas]] = []
        self._request: CompareRequest | None = None  # of the comparison running or shown

        # ----------------------------------------------------------- models
        self.model_list = QListWidget()
        self.model_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.model_list.setMinimumHeight(90)
        self.model_list.setToolTip(f"The models to compare ({MIN_MODELS} to {MAX_MODELS}), in row order")
        self.add_button = QPushButton("Add…")
        self.add_button.setToolTip("Add checkpoints (.safetensors files or folders' config.json)")
        self.add_button.clicked.connect(self.choose_checkpoints)
        self.ladder_button = QPushButton("β ladder")
        self.ladder_button.clicked.connect(self.load_beta_ladder)
        self.all_button = QPushButton("All pretrained")
        self.all_button.clicked.connect(self.load_all_pretrained)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected models from the list")
        self.remove_button.clicked.connect(self.remove_selected)
        self.models_note = QLabel("")
        self.models_note.setWordWrap(True)
        self._update_pretrained_buttons()
        buttons = QGridLayout()
        buttons.addWidget(self.add_button, 0, 0)
        buttons.addWidget(self.remove_button, 0, 1)
        buttons.addWidget(self.ladder_button, 1, 0)
        buttons.addWidget(self.all_button, 1, 1)

        # ------------------------------------------------------------- path
        self.source_box = QComboBox()
        self.source_box.addItem("Two classes", "classes")
        self.source_box.addItem("Two test images", "images")
        self.source_box.setToolTip("Two classes: from the most typical test image of class A (the one nearest "
                                   "its class's mean image) to that of class B. Every model encodes (a GAN: "
                                   "inverts) the same two images and interpolates between them.")
        self.class_a, self.class_b = QComboBox(), QComboBox()
        self.image_a, self.image_b = QSpinBox(), QSpinBox()
        for box in (self.image_a, self.image_b):
            box.setPrefix("#")
        self.pair_stack = QStackedWidget()
        self.pair_stack.addWidget(pair_row(self.class_a, self.class_b))
        self.pair_stack.addWidget(pair_row(self.image_a, self.image_b))
        self.source_box.currentIndexChanged.connect(self.pair_stack.setCurrentIndex)
        self.mode_box = QComboBox()
        for key, text in MODES:
            self.mode_box.addItem(text, key)
        self.steps = QSpinBox()
        self.steps.setRange(3, 32)
        self.steps.setValue(DEFAULT_STEPS)
        for box in (self.source_box, self.class_a, self.class_b, self.mode_box):
            box.currentIndexChanged.connect(self._on_path_changed)
        for spin in (self.image_a, self.image_b, self.steps):
            spin.valueChanged.connect(self._on_path_changed)
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip("Encode, interpolate, decode and judge the path in every model")
        self.compare_button.clicked.connect(self.compare)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress_label = QLabel("")
        self.progress_label.setWordWrap(True)
        self.export_button = QPushButton("Export PNG…")
        self.export_button.setToolTip("Save the aligned strips with names and measures as one PNG")
        self.export_button.clicked.connect(self.choose_export_png)
        form = QFormLayout()
        form.addRow("Path:", self.source_box)
        form.addRow(self.pair_stack)
        form.addRow("Mode:", self.mode_box)
        form.addRow("Frames:", self.steps)
        run_row = QHBoxLayout()
        run_row.addWidget(self.compare_button, 1)
        run_row.addWidget(self.cancel_button)

        panel = QWidget()
        panel.setFixedWidth(PANEL_WIDTH)
        side = QVBoxLayout(panel)
        side.setContentsMargins(0, 0, 0, 0)
        for text, widget in (("Models", self.model_list), ("Path", None)):
            title = QLabel(text)
            title.setObjectName("panelTitle")
            side.addWidget(title)
            if widget is not None:
                side.addWidget(widget, 1)
                side.addLayout(buttons)
                side.addWidget(self.models_note)
        side.addLayout(form)
        side.addLayout(run_row)
        side.addWidget(self.progress)
        side.addWidget(self.progress_label)
        side.addWidget(self.export_button)

        # ---------------------------------------------------------- results
        self.summary = QLabel("Load two or more models, pick a path, then Compare.")
        self.summary.setObjectName("panelTitle")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setWordWrap(True)
        self.sources_a, self.sources_b = QLabel(), QLabel()
        for label in (self.sources_a, self.sources_b):
            label.setFixedSize(64, 64)
            label.setStyleSheet("QLabel { background: white; border: 1px solid #bbb; }")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setToolTip("The test image every model starts from (A) or ends at (B)")
        header = QHBoxLayout()
        header.addWidget(self.summary, 1)
        header.addWidget(QLabel("Sources: A"))
        header.addWidget(self.sources_a)
        header.addWidget(QLabel("B"))
        header.addWidget(self.sources_b)
        self.rows_widget = QWidget()
        self.rows_layout = QGridLayout(self.rows_widget)
        self.rows_layout.setContentsMargins(0, 0, 0, 0)
        self.rows_layout.setColumnStretch(1, 1)
        self.rows_layout.setColumnMinimumWidth(0, NAME_WIDTH)
        self.scroll = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.rows_widget)
        scroll.viewport().installEventFilter(self)  # rows shrink to fit when the area does
        strips_widget = QWidget()
        strips_box = QVBoxLayout(strips_widget)
        strips_box.setContentsMargins(0, 0, 0, 0)
        strips_box.addLayout(header)
        strips_box.addWidget(scroll, 1)

        self.table = QTableWidget(0, len(TABLE))
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        for col, (_, tip) in enumerate(TABLE):
            self.table.horizontalHeaderItem(col).setToolTip(tip)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)  # the class sequence
        self.table.setToolTip("Hover a column's header for what it measures (docs/path-measures.md)")

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(strips_widget)
        self.splitter.addWidget(self.table)
        self.splitter.setStretchFactor(0, 4)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        layout = QHBoxLayout(self)
        layout.addWidget(panel)
        layout.addWidget(self.splitter, 1)

        self.close_shortcuts = [QShortcut(keys, self, self.close, context=Qt.ShortcutContext.WindowShortcut)
                                for keys in close_keys()]

        self.set_dataset(list(class_names) or [str(d) for d in range(10)], test_count)
        self._fit_to_screen()
        self._set_busy(False)

    def _fit_to_screen(self) -> None:
        """DEFAULT_SIZE, or less on a smaller screen: the window opens inside it."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else None
        w, h = DEFAULT_SIZE
        if area is not None:
            w, h = min(w, area.width() - 40), min(h, area.height() - 60)
        self.resize(w, h)
        self.splitter.setSizes([int(h * 0.72), int(h * 0.28)])

    # ================================================================ models
    def set_dataset(self, class_names: list[str], test_count: int) -> None:
        """The class names and test-set size the path choices offer (kept when unchanged)."""
        if list(class_names) == getattr(self, "class_names", None) and test_count == self.image_a.maximum() + 1:
            return
        self.class_names = list(class_names)
        fill_class_pair(self.class_a, self.class_b, self.class_names)
        for box, value in ((self.image_a, 0), (self.image_b, 1)):
            box.setRange(0, max(test_count - 1, 0))
            box.setValue(min(value, max(test_count - 1, 0)))

    def paths(self) -> list[Path]:
        return list(self._paths)

    def names(self) -> list[str]:
        return [self.model_list.item(i).data(Qt.ItemDataRole.UserRole + 1) for i in range(self.model_list.count())]

    def add_paths(self, paths: Iterable[str | Path]) -> int:
        """Add checkpoints (up to MAX_MODELS in all; duplicates are skipped); the number added."""
        added, problems = 0, []
        for path in paths:
            path = Path(path)
            if path.resolve() in {p.resolve() for p in self._paths}:
                continue
            if len(self._paths) >= MAX_MODELS:
                problems.append(f"at most {MAX_MODELS} models: {path.name} was not added")
                break
            try:
                meta = read_checkpoint_meta(path)
            except LatentLabError as exc:
                problems.append(str(exc))
                continue
            name = model_name(path, meta)
            config = meta.get("model", {})
            item = QListWidgetItem(name)
            item.setToolTip(f"{path}\n{config.get('family', '?')}, latent {config.get('latent_dim', '?')}, "
                            f"{(meta.get('dataset') or {}).get('name', DEFAULT_DATASET)}")
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setData(Qt.ItemDataRole.UserRole + 1, name)
            self.model_list.addItem(item)
            self._paths.append(path)
            added += 1
        if problems:
            self._error("Some checkpoints were not added", "\n".join(problems))
        if added:
            self._models_changed()
        self._set_busy(self.busy)
        return added

    def clear_models(self) -> None:
        had = bool(self._paths)
        self.model_list.clear()
        self._paths.clear()
        if had:
            self._models_changed()
        self._set_busy(self.busy)

    @Slot()
    def remove_selected(self) -> None:
        items = self.model_list.selectedItems()
        for item in items:
            path = Path(item.data(Qt.ItemDataRole.UserRole))
            self._paths = [p for p in self._paths if p != path]
            self.model_list.takeItem(self.model_list.row(item))
        if items:
            self._models_changed()
        self._set_busy(self.busy)

    def _models_changed(self) -> None:
        """The strips on screen belong to another list of models: take them away."""
        self.models_note.setText("")
        if self.result is not None:
            self.clear_result(CLEARED_MODELS)

    @Slot()
    def choose_checkpoints(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Add checkpoints", "", dialogs.CHECKPOINT_FILTER)
        self.add_paths(Path(f).parent if Path(f).name == "config.json" else Path(f) for f in files)

    @staticmethod
    def beta_ladder_paths() -> list[Path]:
        entries = [pretrained.find(key) for key in pretrained.BETA_LADDER]
        return [e.path for e in entries if e is not None and e.path.is_file()]

    @staticmethod
    def all_pretrained_paths() -> list[Path]:
        """Every shipped model that is installed and walks from one image to the other (at
        most MAX_MODELS, more than ship). The conditional ones answer another question (the
        class moving at a fixed style): add them by file to compare them."""
        return [e.path for e in pretrained.catalogue() if e not in pretrained.CONDITIONAL][:MAX_MODELS]

    @Slot()
    def load_beta_ladder(self) -> None:
        self.clear_models()
        self.add_paths(self.beta_ladder_paths())

    @Slot()
    def load_all_pretrained(self) -> None:
        self.clear_models()
        added = self.add_paths(self.all_pretrained_paths())
        shipped = len(pretrained.MODELS) - len(pretrained.CONDITIONAL)
        note = (f"Loaded all {added} shipped models." if added == shipped else
                f"Loaded {added} shipped models: {shipped - added} of the {shipped} are not installed.")
        self.models_note.setText(f"{note} GANs invert the two images first: a few seconds each.")

    def _update_pretrained_buttons(self) -> None:
        ladder, everything = self.beta_ladder_paths(), self.all_pretrained_paths()
        self.ladder_button.setEnabled(len(ladder) >= MIN_MODELS)
        self.ladder_button.setToolTip(
            f"The shipped β-VAEs, β = 0.5 to 8 ({len(ladder)} of {len(pretrained.BETA_LADDER)} installed)")
        self.all_button.setEnabled(len(everything) >= MIN_MODELS)
        self.all_button.setToolTip(f"Every shipped model: autoencoders, the β ladder, GANs and the 16-D VAE "
                                   f"({len(everything)} of {len(pretrained.MODELS) - len(pretrained.CONDITIONAL)} "
                                   "installed)")

    # ============================================================== compute
    def request(self) -> CompareRequest:
        source = self.source_box.currentData()
        if source == "classes":
            a, b = int(self.class_a.currentData()), int(self.class_b.currentData())
        else:
            a, b = self.image_a.value(), self.image_b.value()
        return CompareRequest(self.paths(), self.names(), source, a, b, self.steps.value(),
                              self.mode_box.currentData())

    @property
    def busy(self) -> bool:
        return self._task is not None

    @Slot()
    def compare(self) -> bool:
        """Start the comparison in the background; False when it cannot start."""
        if self.busy:
            return False
        if not MIN_MODELS <= len(self._paths) <= MAX_MODELS:
            self._error("Not enough models", f"Load {MIN_MODELS} to {MAX_MODELS} models to compare.")
            return False
        self._request = request = self.request()
        self._task = Task(partial(run_comparison, request), "compare", errors=self.errors,
                          title=FAILED_TITLE, heavy=True, parent=self)
        self._task.progress.connect(self._on_progress)
        self._task.done.connect(self._on_finished)
        self._task.failed.connect(self._on_failed)
        self._task.cancelled.connect(self._on_cancelled)
        self._task.ended.connect(self._on_task_ended)
        self._set_busy(True)
        self.progress.setRange(0, PROGRESS_STEPS)
        self.progress.setValue(0)
        self.progress_label.setText("Starting…")
        self._task.start()
        return True

    @Slot()
    def cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self.progress_label.setText("Cancelling after the current step…")

    @Slot(object, str, object)
    def _on_progress(self, fraction, message: str, eta_s) -> None:
        if fraction is not None:
            self.progress.setValue(round(fraction * PROGRESS_STEPS))
        if message:
            self.progress_label.setText(message)

    @Slot()
    def _on_path_changed(self, *args) -> None:
        """A choice of the path changed: the strips on screen show another path."""
        if self.result is not None and not self.stale:
            self.stale = True
            for canvas in self.strip_canvases():
                canvas.set_stale(True)
            for label, _ in self._rows:
                label.setEnabled(False)
            self.table.setEnabled(False)
            self.summary.setText(f'<span style="color:{INTRUDER_TEXT}">{STALE_PATH}</span> '
                                 f'<span style="color:gray">{self._summary_text(self.result)}</span>')
            self._set_busy(self.busy)

    @Slot(str)
    def _on_failed(self, error: str) -> None:
        """The sink has shown the error."""
        self.progress_label.setText("Failed")
        self.comparisonFailed.emit(error)

    @Slot()
    def _on_cancelled(self) -> None:
        self.progress_label.setText("Cancelled")

    @Slot(object)
    def _on_finished(self, result) -> None:
        self.show_result(result)
        if self.request() != self._request:  # the user changed the path while it ran
            self._on_path_changed()

    @Slot()
    def _on_task_ended(self) -> None:
        self._task = None
        self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        enough = MIN_MODELS <= len(self._paths) <= MAX_MODELS
        self.compare_button.setEnabled(not busy and enough)
        self.cancel_button.setEnabled(busy)
        for widget in (self.add_button, self.remove_button, self.ladder_button, self.all_button):
            widget.setEnabled(not busy)
        if not busy:
            self._update_pretrained_buttons()
        self.export_button.setEnabled(not busy and self.result is not None and not self.stale)

    # ================================================================ result
    def show_result(self, result: StripSet) -> None:
        self.result = result
        self.stale = False
        self.table.setEnabled(True)
        names = result.class_names
        self._clear_rows()
        for row, strip in enumerate(result.strips):
            words = report(strip.metrics, names)
            label = QLabel(self._row_html(strip.name, words))
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setFixedWidth(NAME_WIDTH)
            label.setWordWrap(True)
            label.setToolTip(f"{strip.name}: {words.headline}; purity {words.purity}, smoothness "
                             f"{words.smoothness}\n\n{VERDICT_HELP}\n\n{PURITY_HELP}\n\n{SMOOTHNESS_HELP}")
            canvas = StripCanvas(max_cell=ROW_CELL, centered=True)
            m = strip.metrics
            intrusions = [c not in (m.start_class, m.end_class) for c in m.classes]
            canvas.set_strip(Strip(strip.frames.numpy(), m.classes, m.confidences, intrusions), names)
            canvas.set_current(-1)  # no player here: no highlighted frame
            self.rows_layout.addWidget(label, row, 0, Qt.AlignmentFlag.AlignVCenter)
            self.rows_layout.addWidget(canvas, row, 1)
            self._rows.append((label, canvas))
        self.rows_layout.setRowStretch(len(result.strips), 1)
        self._fit_rows()
        if result.sources is not None:
            frames = to_uint8_frames(result.sources.numpy())
            for label, frame in zip((self.sources_a, self.sources_b), frames):
                label.setPixmap(frame_pixmap(frame).scaled(60, 60, Qt.AspectRatioMode.KeepAspectRatio,
                                                           Qt.TransformationMode.FastTransformation))
        self.summary.setText(self._summary_text(result))
        self._fill_table(result)
        self.progress_label.setText(f"Compared {len(result.strips)} models")
        self._set_busy(self.busy)
        self.comparisonShown.emit()

    def clear_result(self, message: str) -> None:
        """No comparison on screen; ``message`` says why."""
        self.result = None
        self.stale = False
        self._clear_rows()
        self.table.setRowCount(0)
        self.table.setEnabled(True)
        for label in (self.sources_a, self.sources_b):
            label.clear()
        self.summary.setText(message)
        self._set_busy(self.busy)

    def _summary_text(self, result: StripSet) -> str:
        direct = sum(s.metrics.pure for s in result.strips)
        return (f"Class {self._span(result.start_class)} → class {self._span(result.end_class)}, "
                f"{'straight' if result.mode == 'lerp' else 'spherical'}, {result.n_frames} frames: "
                f"{direct} of {len(result.strips)} models go directly")

    @staticmethod
    def _row_html(name: str, words) -> str:
        """The row's label: the model's title, its path's verdict (``words``: a
        ``PathReport``), purity and smoothness."""
        colour = DIRECT_TEXT if words.pure else INTRUDER_TEXT
        return (f"<b>{html.escape(name)}</b><br><span style='color:{colour}'>{words.headline}</span><br>"
                f"<small>purity {words.purity} · smoothness {words.smoothness}</small>")

    def _span(self, cls: int) -> str:
        names = self.result.class_names if self.result else self.class_names
        colors = class_colors(len(names))
        color = colors[cls].name() if 0 <= cls < len(colors) else unknown_color().name()
        name = names[cls] if 0 <= cls < len(names) else str(cls)
        return f'<span style="color:{color}">{html.escape(name)}</span>'

    def _fill_table(self, result: StripSet) -> None:
        self.table.setRowCount(len(result.strips))
        for row, strip in enumerate(result.strips):
            words = report(strip.metrics, result.class_names)
            values = (strip.name, words.headline, words.purity, words.third, words.ends, words.smoothness,
                      words.max_jump, f"{strip.metrics.mean_confidence:.0%}", words.sequence)
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(TABLE[col][1])
                if col == 1:
                    item.setForeground(QColor(DIRECT_TEXT if words.pure else INTRUDER_TEXT))
                if (col == 3 and strip.metrics.intruders) or (col == 4 and not strip.metrics.ends_ok):
                    item.setForeground(QColor(INTRUDER_TEXT))
                if TABLE_COLUMNS[col] in ("Purity", "Smoothness", "Max jump", "Mean confidence"):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                self.table.setItem(row, col, item)

    def _clear_rows(self) -> None:
        for label, canvas in self._rows:
            self.rows_layout.removeWidget(label)
            self.rows_layout.removeWidget(canvas)
            label.deleteLater()
            canvas.deleteLater()
        self._rows = []

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Resize and watched is self.scroll.viewport():
            self._fit_rows()
        return False

    def _fit_rows(self) -> None:
        """Frames as large as fits: every model's row in the visible height (down to
        MIN_ROW_CELL pixels; below that the area scrolls), and the canvas's width limits
        them too (StripCanvas.cell_size)."""
        if not self._rows:
            return
        spacing = max(self.rows_layout.verticalSpacing(), 0)
        per_row = self.scroll.viewport().height() // len(self._rows) - spacing
        cell = max(MIN_ROW_CELL, min(ROW_CELL, per_row - CAPTION_HEIGHT - 2 * GAP))
        for _, canvas in self._rows:
            if canvas.max_cell != cell:
                canvas.max_cell = cell
                canvas.refit()

    def strip_canvases(self) -> list[StripCanvas]:
        return [canvas for _, canvas in self._rows]

    # ================================================================ export
    def export_png(self, path: str | Path) -> Path:
        from latentlab.latent.export import save_comparison_png

        if self.result is None:
            raise LatentLabError("compare some models first")
        return Path(save_comparison_png(self.result, path))

    @Slot()
    def choose_export_png(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save the comparison as PNG", "comparison.png",
                                              "PNG image (*.png)")
        if not path:
            return
        try:
            written = self.export_png(path)
        except LatentLabError as exc:
            self._error("Could not save the comparison", str(exc))
            return
        self.progress_label.setText(f"Saved {written}")

    # ============================================================== lifetime
    def _error(self, title: str, message: str) -> None:
        self.errors.report(title, message)

    def shutdown(self) -> None:
        """Cancel a running comparison and wait for its thread (the window closes)."""
        if self._task is not None:
            self.cancel()
            self._task.wait()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)
