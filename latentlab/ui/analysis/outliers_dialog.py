"""The test images the model explains worst: ranked by reconstruction error (-ELBO for
VAEs), each shown beside its reconstruction with its score. Clicking one puts the map's
marker on its latent point. The ranking (an encode, decode and loss of the whole test
set) runs on the analysis lane from the session's weight snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from latentlab.app.analysis_jobs import OutliersJob
from latentlab.latent.outliers import OutlierRanking
from latentlab.ui.analysis.strip_view import to_uint8_frames
from latentlab.ui.base.pixmaps import frame_pixmap
from latentlab.ui.work.tasks import ComputeLane

if TYPE_CHECKING:
    from latentlab.app.state import AppState

DEFAULT_K = 16
#: The scores the dialog offers: (job score, menu text, tooltip).
SCORES = (
    ("reconstruction", "reconstruction (−ELBO for VAEs)",
     "How badly the model reconstructs the image; for a VAE the negative ELBO, a bound on −log p(x)"),
    ("flow", "flow prior: −log p(code)",
     "How unusual the image's latent code is under the model's flow prior (a normalizing flow fitted to the "
     "training codes), however well the image reconstructs"),
    ("likelihood", "PixelCNN: −log p(x)",
     "The exact negative log-likelihood of the image under the shipped PixelCNN, which predicts each pixel "
     "from the pixels before it"),
)
SCALE = 3
GAP = 6


def pair_pixmap(original: np.ndarray, reconstruction: np.ndarray) -> QPixmap:
    """Original and reconstruction side by side ((H, W[, 3]) uint8 each), enlarged SCALE times."""
    h, w = original.shape[:2]
    gap_shape = (h, GAP) + original.shape[2:]
    joined = np.concatenate([original, np.full(gap_shape, 255, np.uint8), reconstruction], axis=1)
    pixmap = frame_pixmap(np.ascontiguousarray(joined))
    return pixmap.scaled(joined.shape[1] * SCALE, h * SCALE, Qt.AspectRatioMode.KeepAspectRatio,
                         Qt.TransformationMode.FastTransformation)


class OutliersDialog(QDialog):
    pointChosen = Signal(int)  # test image index: put the marker on its latent
    ranked = Signal()  # the list holds a new ranking

    def __init__(self, state: AppState, lane: ComputeLane, parent: QWidget | None = None) -> None:
        super().__init__(parent)  # a modeless dialog: stays above its parent window
        self.setWindowTitle("Outliers — latentlab")
        self.resize(460, 640)
        self.state = state
        self.lane = lane
        self.ranking: OutlierRanking | None = None
        self._job: OutliersJob | None = None

        self.k = QSpinBox()
        self.k.setRange(1, 200)
        self.k.setValue(DEFAULT_K)
        self.k.setToolTip("How many of the worst-explained test images to list")
        self.score = QComboBox()
        for key, text, tip in SCORES:
            self.score.addItem(text, key)
            self.score.setItemData(self.score.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.score.setToolTip("What makes an image an outlier: hover each choice for what it measures")
        self.score.currentIndexChanged.connect(self._on_score_changed)
        self.rank_button = QPushButton("Rank")
        self.rank_button.clicked.connect(self.rank)
        self.header = QLabel("")
        self.header.setWordWrap(True)
        self.list = QListWidget()
        self.list.setIconSize(QSize((2 * 28 + GAP) * SCALE, 28 * SCALE))
        self.list.setToolTip("Left: the test image; right: the model's reconstruction. Click to put the marker "
                             "on the image's latent point")
        self.list.itemClicked.connect(self._on_item_clicked)

        row = QHBoxLayout()
        row.addWidget(QLabel("Show the top"))
        row.addWidget(self.k)
        row.addWidget(QLabel("by"))
        row.addWidget(self.score)
        row.addWidget(self.rank_button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.header)
        layout.addWidget(self.list, 1)

        lane.result.connect(self._on_result)
        lane.failed.connect(self._on_failed)
        state.session_changed.connect(self._on_session_changed)

    @Slot()
    def rank(self) -> bool:
        """Rank the test set in the background; False when the model cannot be ranked."""
        session = self.state.session
        if session is None:
            self.header.setText("Open a model first.")
            return False
        if not session.model.has_encoder:
            self.header.setText(f"A {session.family} has no encoder, so images have no reconstruction to score.")
            return False
        test = session.dataset.test
        self._update_scores()
        score = self.score.currentData()
        flow = session.model.flow_prior
        self._job = OutliersJob(session.snapshot, test.images, test.labels, self.k.value(), score=score,
                                flow_tensors=None if flow is None else flow.tensors(),
                                likelihood_model=self._likelihood_model(session))
        self.lane.submit(self._job)
        self.rank_button.setEnabled(False)
        self.header.setText(f"Scoring {len(test):,} test images…")
        return True

    @staticmethod
    def _likelihood_model(session) -> str | None:
        """The shipped PixelCNN, when it models this session's images."""
        from latentlab.pretrained import pretrained_dir

        path = pretrained_dir() / "pixelcnn.safetensors"
        if not path.is_file() or tuple(session.model.config.image_shape) != (1, 28, 28):
            return None
        return str(path)

    def _update_scores(self) -> None:
        """Offer only the scores the open model has: the flow's needs a flow prior."""
        session = self.state.session
        available = {"reconstruction": True,
                     "flow": session is not None and session.model.flow_prior is not None,
                     "likelihood": session is not None and self._likelihood_model(session) is not None}
        model = self.score.model()
        for row, (key, _, _) in enumerate(SCORES):
            model.item(row).setEnabled(available[key])
        if not available[self.score.currentData()]:
            self.score.setCurrentIndex(0)

    @Slot(int)
    def _on_score_changed(self, _index: int) -> None:
        if self.isVisible() and self.state.session is not None:
            self.rank()

    @Slot(object, object)
    def _on_result(self, job, value) -> None:
        if job is not self._job or not isinstance(value, OutlierRanking):
            return
        self._job = None
        self.rank_button.setEnabled(True)
        self.show_ranking(value)

    @Slot(object, str)
    def _on_failed(self, job, message: str) -> None:
        if job is self._job:
            self._job = None
            self.rank_button.setEnabled(True)
            self.header.setText(f"Ranking failed: {message}")

    def show_ranking(self, ranking: OutlierRanking) -> None:
        session = self.state.session
        self.ranking = ranking
        self.list.clear()
        recon = to_uint8_frames(ranking.reconstructions.numpy())
        names = session.class_names
        h, w = session.test_images.shape[1:3]
        self.list.setIconSize(QSize((2 * w + GAP) * SCALE, h * SCALE))
        for row, (index, score) in enumerate(zip(ranking.indices, ranking.scores)):
            original = session.test_images[int(index)]
            label = int(ranking.labels[row]) if ranking.labels is not None else -1
            name = names[label] if 0 <= label < len(names) else "?"
            item = QListWidgetItem(QIcon(pair_pixmap(original, recon[row])),
                                   f"#{int(index)}  class {name}\n{ranking.score_name} = {score:.1f} nats")
            item.setToolTip(f"Score: {self.score.currentText()}")
            item.setData(Qt.ItemDataRole.UserRole, int(index))
            self.list.addItem(item)
        median = float(np.median(ranking.all_scores))
        self.header.setText(f"The {len(ranking.indices)} test images with the highest {ranking.score_name} "
                            f"(median over all {len(ranking.all_scores):,}: {median:.1f} nats). "
                            "Left: the image, right: its reconstruction.")
        self.ranked.emit()

    @Slot(QListWidgetItem)
    def _on_item_clicked(self, item: QListWidgetItem) -> None:
        self.pointChosen.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def choose(self, row: int) -> None:
        """Act as if the user clicked row ``row``."""
        self._on_item_clicked(self.list.item(row))

    def _on_session_changed(self, *args) -> None:
        self._job = None
        self.ranking = None
        self.list.clear()
        self.rank_button.setEnabled(True)
        self.header.setText("")
        if self.isVisible():
            self.rank()
