"""Comparing models: the same path through two to six checkpoints, side by side.

The user loads checkpoints (a file dialog, the shipped β ladder, or every shipped
family), picks class A → class B (the most typical test image of each) or two test
images, and presses Compare. Loading, encoding and, for GANs, latent inversion run in a
``BackgroundTask`` with a progress bar and Cancel; the result is one strip per model
(their frames aligned column by column, the model's name on the left) and a table of
each model's path metrics. The comparison exports as a PNG.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal, Slot
from PySide6.QtGui import QColor
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
from latentlab.data import DEFAULT_DATASET
from latentlab.errors import LatentLabError
from latentlab.latent.compare import MAX_MODELS, StripSet
from latentlab.models.checkpoint import read_checkpoint_meta

from . import dialogs
from .analysis_jobs import Cancelled, CompareRequest, model_name, run_comparison
from .class_pair import fill_class_pair, pair_row
from .palette import class_colors, unknown_color
from .path_tool import DEFAULT_STEPS, MODES
from .pixmaps import frame_pixmap
from .runtime import describe_exception
from .strip_view import CAPTION_HEIGHT, GAP, Strip, StripCanvas, to_uint8_frames
from .threads import BackgroundTask
from .workers import demote_current_thread

MIN_MODELS = 2
INTRUDER_TEXT = "#c81e1e"
NAME_WIDTH = 150
#: Frames of a comparison row are drawn at most this many pixels wide (six rows fit).
ROW_CELL = 72
MIN_ROW_CELL = 36
#: "All pretrained": one model of each kind (the β ladder has its own button).
ALL_GROUPS = ("autoencoders", "generators")
TABLE_COLUMNS = ("Model", "Class sequence", "Purity", "Third classes", "Smoothness", "Max jump", "Ends right",
                 "Mean confidence")


class CompareWorker(QObject):
    """Runs ``run_comparison`` in its thread; progress and the outcome come back as signals."""

    progress = Signal(int, int, str)  # done, total, message
    finished = Signal(object, str)  # StripSet or None; error message ("" when fine, "cancelled")

    def __init__(self, request: CompareRequest, cancel: threading.Event) -> None:
        super().__init__()
        self.request = request
        self.cancel = cancel

    @Slot()
    def run(self) -> None:
        demote_current_thread()
        try:
            result = run_comparison(self.request, self.cancel, self.progress.emit)
        except Cancelled:
            self.finished.emit(None, "cancelled")
            return
        except Exception as exc:  # noqa: BLE001 - shown in the window, which stays usable
            if not isinstance(exc, LatentLabError):
                import sys
                import traceback

                traceback.print_exc(file=sys.stderr)
            self.finished.emit(None, describe_exception(exc))
            return
        self.finished.emit(result, "")


class CompareWindow(QWidget):
    """A top-level window: models on the left, the path's choices, strips and metrics."""

    comparisonShown = Signal()  # the strips and the table hold a new comparison
    comparisonFailed = Signal(str)

    def __init__(self, parent: QWidget | None = None, class_names: Iterable[str] = (), test_count: int = 1000,
                 headless: bool = False) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Compare models — latentlab")
        self.resize(1250, 820)
        self.headless = headless
        self.result: StripSet | None = None
        self._task: BackgroundTask | None = None
        self._cancel: threading.Event | None = None
        self._paths: list[Path] = []
        self._rows: list[tuple[QLabel, StripCanvas]] = []

        # ----------------------------------------------------------- models
        self.model_list = QListWidget()
        self.model_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.model_list.setMinimumHeight(60)
        self.model_list.setMaximumHeight(130)
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
        self._update_pretrained_buttons()
        buttons = QGridLayout()
        buttons.addWidget(self.add_button, 0, 0)
        buttons.addWidget(self.remove_button, 0, 1)
        buttons.addWidget(self.ladder_button, 1, 0)
        buttons.addWidget(self.all_button, 1, 1)
        models_box = QVBoxLayout()
        title = QLabel("Models")
        title.setObjectName("panelTitle")
        models_box.addWidget(title)
        models_box.addWidget(self.model_list, 1)
        models_box.addLayout(buttons)

        # ------------------------------------------------------------- path
        self.source_box = QComboBox()
        self.source_box.addItem("Class A → class B (most typical test images)", "classes")
        self.source_box.addItem("Two test images", "images")
        self.source_box.setToolTip("The two images every model encodes (GANs: inverts) and interpolates between")
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
        self.export_button.setToolTip("Save the aligned strips with names and metrics as one PNG")
        self.export_button.clicked.connect(self.choose_export_png)
        form = QFormLayout()
        form.addRow("Path:", self.source_box)
        form.addRow("", self.pair_stack)
        form.addRow("Mode:", self.mode_box)
        form.addRow("Frames:", self.steps)
        run_row = QHBoxLayout()
        run_row.addWidget(self.compare_button)
        run_row.addWidget(self.cancel_button)
        run_row.addWidget(self.export_button)
        path_box = QVBoxLayout()
        path_title = QLabel("Path")
        path_title.setObjectName("panelTitle")
        path_box.addWidget(path_title)
        path_box.addLayout(form)
        path_box.addLayout(run_row)
        path_box.addWidget(self.progress)
        path_box.addWidget(self.progress_label)
        path_box.addStretch(1)

        top = QHBoxLayout()
        top.addLayout(models_box, 1)
        top.addLayout(path_box, 1)
        top_widget = QWidget()
        top_widget.setLayout(top)

        # ---------------------------------------------------------- results
        self.summary = QLabel("Load two to six models, pick a path, then Compare.")
        self.summary.setObjectName("panelTitle")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.sources_a, self.sources_b = QLabel(), QLabel()
        for label in (self.sources_a, self.sources_b):
            label.setFixedSize(64, 64)
            label.setStyleSheet("QLabel { background: white; border: 1px solid #bbb; }")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
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

        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels(TABLE_COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip(
            "Purity: share of frames judged as the start or end class. Third classes: other classes the path "
            "passes through. Smoothness: mean absolute pixel change between neighbouring frames (lower is "
            "smoother). Ends right: whether the first and last frames are judged as the source images' classes")

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top_widget)
        splitter.addWidget(strips_widget)
        splitter.addWidget(self.table)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 3)
        splitter.setStretchFactor(2, 1)
        splitter.setSizes([190, 480, 150])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

        self.set_dataset(list(class_names) or [str(d) for d in range(10)], test_count)
        self._set_busy(False)

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
        """Add checkpoints (up to six in all; duplicates are skipped); the number added."""
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
            item = QListWidgetItem(f"{name}  ·  {config.get('family', '?')}, latent {config.get('latent_dim', '?')}, "
                                   f"{(meta.get('dataset') or {}).get('name', DEFAULT_DATASET)}")
            item.setToolTip(str(path))
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setData(Qt.ItemDataRole.UserRole + 1, name)
            self.model_list.addItem(item)
            self._paths.append(path)
            added += 1
        if problems:
            self._error("Some checkpoints were not added", "\n".join(problems))
        self._set_busy(self.busy)
        return added

    def clear_models(self) -> None:
        self.model_list.clear()
        self._paths.clear()
        self._set_busy(self.busy)

    @Slot()
    def remove_selected(self) -> None:
        for item in self.model_list.selectedItems():
            path = Path(item.data(Qt.ItemDataRole.UserRole))
            self._paths = [p for p in self._paths if p != path]
            self.model_list.takeItem(self.model_list.row(item))
        self._set_busy(self.busy)

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
        return [e.path for e in pretrained.catalogue() if e.group in ALL_GROUPS][:MAX_MODELS]

    @Slot()
    def load_beta_ladder(self) -> None:
        self.clear_models()
        self.add_paths(self.beta_ladder_paths())

    @Slot()
    def load_all_pretrained(self) -> None:
        self.clear_models()
        self.add_paths(self.all_pretrained_paths())

    def _update_pretrained_buttons(self) -> None:
        ladder, everything = self.beta_ladder_paths(), self.all_pretrained_paths()
        self.ladder_button.setEnabled(len(ladder) >= MIN_MODELS)
        self.ladder_button.setToolTip(
            f"The shipped β-VAEs, β = 0.5 to 8 ({len(ladder)} of {len(pretrained.BETA_LADDER)} installed)")
        self.all_button.setEnabled(len(everything) >= MIN_MODELS)
        self.all_button.setToolTip(f"One shipped model of each kind: autoencoders and GANs ({len(everything)} "
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
        self._cancel = threading.Event()
        worker = CompareWorker(self.request(), self._cancel)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        self._task = BackgroundTask(worker, "compare", heavy=True, parent=self)
        self._task.ended.connect(self._on_task_ended)
        self._set_busy(True)
        self.progress.setValue(0)
        self.progress_label.setText("Starting…")
        self._task.start()
        return True

    @Slot()
    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.progress_label.setText("Cancelling after the current step…")

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, message: str) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress_label.setText(message)

    @Slot(object, str)
    def _on_finished(self, result, error: str) -> None:
        if result is None:
            self.progress_label.setText("Cancelled" if error == "cancelled" else "Failed")
            if error != "cancelled":
                self._error("The comparison failed", error)
                self.comparisonFailed.emit(error)
            return
        self.show_result(result)

    @Slot()
    def _on_task_ended(self) -> None:
        self._task = None
        self._cancel = None
        self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        enough = MIN_MODELS <= len(self._paths) <= MAX_MODELS
        self.compare_button.setEnabled(not busy and enough)
        self.cancel_button.setEnabled(busy)
        for widget in (self.add_button, self.remove_button, self.ladder_button, self.all_button):
            widget.setEnabled(not busy)
        if not busy:
            self._update_pretrained_buttons()
        self.export_button.setEnabled(not busy and self.result is not None)

    # ================================================================ result
    def show_result(self, result: StripSet) -> None:
        self.result = result
        names = result.class_names
        self._clear_rows()
        for row, strip in enumerate(result.strips):
            m = strip.metrics
            label = QLabel(f"<b>{strip.name}</b>")
            label.setFixedWidth(NAME_WIDTH)
            label.setWordWrap(True)
            label.setToolTip(f"{strip.name}: purity {m.purity:.0%}, smoothness {m.smoothness:.3f}")
            canvas = StripCanvas(max_cell=ROW_CELL)
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
        self.summary.setText(
            f"Class {self._span(result.start_class)} → class {self._span(result.end_class)}, "
            f"{'straight' if result.mode == 'lerp' else 'spherical'}, {result.n_frames} frames, "
            f"{len(result.strips)} models")
        self._fill_table(result)
        self.progress_label.setText(f"Compared {len(result.strips)} models")
        self._set_busy(self.busy)
        self.comparisonShown.emit()

    def _span(self, cls: int) -> str:
        names = self.result.class_names if self.result else self.class_names
        colors = class_colors(len(names))
        color = colors[cls].name() if 0 <= cls < len(colors) else unknown_color().name()
        name = names[cls] if 0 <= cls < len(names) else str(cls)
        return f'<span style="color:{color}">{name}</span>'

    def _fill_table(self, result: StripSet) -> None:
        names = result.class_names

        def cls_name(c: int) -> str:
            return names[c] if 0 <= c < len(names) else str(c)

        self.table.setRowCount(len(result.strips))
        for row, strip in enumerate(result.strips):
            m = strip.metrics
            values = (
                strip.name,
                " → ".join(cls_name(c) for c in m.sequence),
                f"{m.purity:.0%}",
                ", ".join(cls_name(c) for c in m.intruders) or "none",
                f"{m.smoothness:.4f}",
                f"{m.max_jump:.4f}",
                {(True, True): "both", (True, False): "start only", (False, True): "end only"}.get(
                    (m.start_ok, m.end_ok), "neither"),
                f"{m.mean_confidence:.0%}",
            )
            for col, value in enumerate(values):
                item = QTableWidgetItem(value)
                if col == 3 and m.intruders:
                    item.setForeground(QColor(INTRUDER_TEXT))
                if col >= 2:
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
        """Frames small enough that every model's row fits the visible area (down to
        MIN_ROW_CELL pixels; below that the area scrolls)."""
        if not self._rows:
            return
        spacing = self.rows_layout.verticalSpacing()
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
        if self.headless:
            import sys

            print(f"latentlab: error: {title}: {message}", file=sys.stderr)
        else:
            dialogs.show_error(self, title, message)

    def shutdown(self) -> None:
        """Cancel a running comparison and wait for its thread (the window closes)."""
        if self._task is not None:
            self.cancel()
            self._task.wait()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.shutdown()
        super().closeEvent(event)
