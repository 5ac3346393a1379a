"""The debiasing demo in the window (``latentlab.latent.debias``): choose a rule that makes
the training set biased on purpose and α, run, and see each training image's sampling
weight on the first VAE's latent map and the rare group's figures before and after.

The run (two VAE trainings, a density fit) takes a minute or two on a CPU: it runs in a
background task (``latentlab.app.debias_job``) with progress, time left and Cancel.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFormLayout,
    QHeaderView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from latentlab.ui.panels.task_progress import TaskProgress
from latentlab.ui.work.tasks import Task

if TYPE_CHECKING:
    from latentlab.app.state import AppState
    from latentlab.app.tasks import ErrorSink

FAILED_TITLE = "The debiasing demo failed"
GROUP_COLOUR = (230, 120, 20, 200)
OTHER_COLOUR = (120, 120, 120, 90)
EXPLANATION = (
    "<b>Debiasing</b> (Amini et al. 2019): a VAE trained on a biased set reconstructs the rare images badly. "
    "The training images are weighed by their <b>latent density</b>: an image whose code lies where few "
    "codes are is drawn more often (weight ∝ density<sup>−α</sup>), and a second VAE is trained with the "
    "weights. No labels are used to find the rare images; labels only make the bias and measure it."
)


class DebiasDialog(QDialog):
    done_ = Signal(str)  # "finished", "cancelled" or an error message

    def __init__(self, state: AppState, errors: ErrorSink | None, parent: QWidget | None = None) -> None:
        """``errors``: where a failed run is reported (the window's sink); ``state``: its caches."""
        super().__init__(parent)
        self.setWindowTitle("Debiasing demo — latentlab")
        self.state = state
        self.errors = errors
        self.task: Task | None = None
        self.report = None

        intro = QLabel(EXPLANATION)
        intro.setWordWrap(True)
        self.target = QSpinBox()
        self.target.setRange(0, 9)
        self.target.setValue(8)
        self.target.setToolTip("The class made rare in the training set")
        self.keep = QDoubleSpinBox()
        self.keep.setRange(0.01, 1.0)
        self.keep.setSingleStep(0.05)
        self.keep.setValue(0.1)
        self.keep.setToolTip("The share of that class's training images that is kept")
        self.alpha = QDoubleSpinBox()
        self.alpha.setRange(0.0, 3.0)
        self.alpha.setSingleStep(0.25)
        self.alpha.setValue(1.0)
        self.alpha.setToolTip("Weight ∝ density^−α: 0 changes nothing; 1 draws the occupied latent space about "
                              "evenly")
        self.density = QComboBox()
        self.density.addItem("histogram per latent dimension", "hist")
        self.density.addItem("normalizing flow on the codes", "flow")
        self.density.setToolTip("How the density of the codes is estimated: Amini et al.'s histograms (one per "
                                "dimension, multiplied), or a RealNVP flow fitted to the codes")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 200)
        self.epochs.setValue(30)
        self.epochs.setToolTip("Epochs of each of the two VAEs")
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Train a VAE on the biased set, weigh its training images, train a second "
                                   "one with the weights, and compare")
        self.run_button.clicked.connect(self.run)
        self.progress = TaskProgress("Two VAE trainings and a density fit")
        self.progress.cancelRequested.connect(self.cancel)
        self.status = QLabel("")
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Rare class", self.target)
        form.addRow("Kept share", self.keep)
        form.addRow("α", self.alpha)
        form.addRow("Density", self.density)
        form.addRow("Epochs", self.epochs)
        form.addRow(self.run_button)

        self.plot = pg.PlotWidget()
        self.plot.setMinimumSize(360, 300)
        self.plot.setLabel("bottom", "z₁")
        self.plot.setLabel("left", "z₂")
        self.plot.setToolTip("Every training image at its code under the first VAE; the size of a dot is its "
                             "sampling weight. Orange: the rare group")
        self.others = pg.ScatterPlotItem(pen=None, brush=pg.mkBrush(*OTHER_COLOUR))
        self.group = pg.ScatterPlotItem(pen=None, brush=pg.mkBrush(*GROUP_COLOUR))
        self.plot.addItem(self.others)
        self.plot.addItem(self.group)
        self.table = QTableWidget(3, 4)
        self.table.setHorizontalHeaderLabels(["recon. before", "recon. after", "judge acc. before",
                                              "judge acc. after"])
        self.table.setVerticalHeaderLabels(["rare group", "others", "all"])
        self.table.setToolTip("Test split: reconstruction error (nats per image, lower is better) and the share of "
                              "reconstructions the judge classifier labels with the right class")
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self._fit_table_height()
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        # A wrapped label's height is not negotiated in this layout: reserve three lines.
        self.summary.setMinimumHeight(3 * self.summary.fontMetrics().lineSpacing() + 6)

        left = QVBoxLayout()
        left.addLayout(form)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(self.plot, 1)
        right.addWidget(self.table)
        right.addWidget(self.summary)
        body = QHBoxLayout()
        body.addLayout(left)
        body.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(body, 1)
        self.resize(900, 640)

    def _fit_table_height(self) -> None:
        """Exactly as tall as its three rows, so the summary below is never squeezed."""
        table = self.table
        rows = sum(table.rowHeight(r) for r in range(table.rowCount()))
        table.setFixedHeight(table.horizontalHeader().sizeHint().height() + rows + 2 * table.frameWidth())

    @property
    def running(self) -> bool:
        return self.task is not None

    def settings(self) -> dict:
        from latentlab.data import DEFAULT_DATASET

        return {"dataset": DEFAULT_DATASET, "target": self.target.value(), "keep": self.keep.value(),
                "alpha": self.alpha.value(), "density": self.density.currentData(), "epochs": self.epochs.value(),
                "seed": 0}

    @Slot()
    def run(self) -> None:
        if self.task is not None:
            return
        from latentlab.app.debias_job import run_debias_demo

        caches = self.state.caches
        self.task = Task(partial(run_debias_demo, self.settings(), caches=caches), "debias", errors=self.errors,
                         title=FAILED_TITLE, heavy=True, budget=caches.threads, parent=self)
        self.task.progress.connect(self._on_progress)
        self.task.done.connect(self._on_finished)
        self.task.failed.connect(self._on_failed)
        self.task.cancelled.connect(self._on_cancelled)
        self.task.ended.connect(self._on_ended)
        self.run_button.setEnabled(False)
        self.progress.start("Debiasing")
        self.status.setText("Starting…")
        self.task.start()

    @Slot()
    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    @Slot(object, str, object)
    def _on_progress(self, fraction, message: str, eta_s) -> None:
        if message:
            self.status.setText(message)
        if fraction is not None:
            self.progress.set_progress(fraction, eta_s if eta_s is not None else float("nan"))

    @Slot(object)
    def _on_finished(self, report) -> None:
        self.show_report(report)
        self.done_.emit("finished")

    @Slot(str)
    def _on_failed(self, error: str) -> None:
        """The sink has shown the error."""
        self.status.setText(f"Failed: {error}")
        self.done_.emit(error)

    @Slot()
    def _on_cancelled(self) -> None:
        self.status.setText("Cancelled.")
        self.done_.emit("cancelled")

    @Slot()
    def _on_ended(self) -> None:
        self.task = None
        self.progress.finish()
        self.run_button.setEnabled(True)

    def show_report(self, report) -> None:
        self.report = report
        w = report.weights / report.weights.mean()
        sizes = np.clip(3.0 + 4.0 * np.sqrt(w), 2.0, 30.0)
        g = report.in_group
        self.others.setData(report.codes[~g, 0], report.codes[~g, 1], size=sizes[~g])
        self.group.setData(report.codes[g, 0], report.codes[g, 1], size=sizes[g])
        for row, key in enumerate(("group", "others", "all")):
            before, after = report.before[key], report.after[key]
            for col, text in enumerate((f"{before.recon:.1f}", f"{after.recon:.1f}", f"{before.judge_accuracy:.1%}",
                                        f"{after.judge_accuracy:.1%}")):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, col, item)
        self.summary.setText(
            f"{report.rule}. The rare group's share of training draws: {report.group_share_before:.1%} → "
            f"{report.group_share_after:.1%}. Judge accuracy on its test reconstructions: "
            f"{report.before['group'].judge_accuracy:.1%} → {report.after['group'].judge_accuracy:.1%} "
            f"({100 * report.accuracy_gain:+.0f} points); on the others "
            f"{report.before['others'].judge_accuracy:.1%} → {report.after['others'].judge_accuracy:.1%}.")
        self.status.setText("Done.")

    def shutdown(self) -> None:
        if self.task is not None:
            self.cancel()
            self.task.wait()
