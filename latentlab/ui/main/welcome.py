"""What the map area shows while no model is open: one click to train, or Open.

It is shown before PyTorch has loaded (see startup.py): the dataset line and the buttons
come with ``describe_dataset()``, called once the engine is there.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

#: The welcome page's texts wrap at this width or wider (they used to set the window's minimum).
WRAP_MIN_WIDTH = 360


class WelcomePage(QWidget):
    trainRequested = Signal()
    openRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("latentlab")
        title.setObjectName("welcomeTitle")
        self.text = QLabel("Loading PyTorch…")
        self.text.setObjectName("welcomeText")
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text.setWordWrap(True)  # long lines would set the window's minimum width (1,041 px)
        self.notice = QLabel()
        self.notice.setObjectName("welcomeNotice")
        self.notice.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.notice.setWordWrap(True)
        self.notice.setVisible(False)
        self.train_button = QPushButton("Train a 2-D VAE on the bundled digits")
        self.train_button.setObjectName("bigButton")
        self.train_button.setToolTip("One click: train a β-VAE with a 2-D latent space on mnist-5k and watch "
                                     "the map form live")
        self.train_button.clicked.connect(self.trainRequested)
        self.open_button = QPushButton("Open a checkpoint…  (Ctrl+O)")
        self.open_button.setObjectName("bigButton")
        self.open_button.setToolTip("Open a checkpoint folder or .safetensors file")
        self.open_button.clicked.connect(self.openRequested)
        hint = QLabel("…or drop a checkpoint folder or .safetensors file onto this window.")
        hint.setObjectName("welcomeText")
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        hint.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addStretch(2)
        for widget in (title, self.text, self.notice, self.train_button, self.open_button, hint):
            layout.addWidget(widget, 0, Qt.AlignmentFlag.AlignHCenter)
        for label in (self.text, self.notice, hint):  # wrapped, not squeezed to a narrow column
            label.setMinimumWidth(WRAP_MIN_WIDTH)
        layout.addStretch(3)
        self.train_button.setEnabled(False)

    def describe_dataset(self) -> None:
        """Load the bundled dataset (imports PyTorch) and say what it holds."""
        from latentlab.data import DEFAULT_DATASET
        from latentlab.errors import LatentLabError

        from latentlab.app.session import get_dataset

        try:
            dataset = get_dataset(DEFAULT_DATASET)
        except LatentLabError as exc:
            self.text.setText(f"No model is open.\nThe bundled dataset could not be loaded:\n{exc}")
            self.train_button.setEnabled(False)
            return
        self.text.setText(
            f"No model is open.\nThe bundled dataset {dataset.name} is loaded: {len(dataset.train):,} "
            f"training and {len(dataset.test):,} test images in {dataset.num_classes} classes.")
        self.train_button.setEnabled(True)

    def set_notice(self, text: str) -> None:
        """A line above the buttons that says why no model is open (e.g. a missing file); "" hides it."""
        self.notice.setText(text)
        self.notice.setVisible(bool(text))
