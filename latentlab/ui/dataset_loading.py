"""Loading the dataset the training panel names, for Train new.

The data layer does the work (``session.get_dataset``, once per process); this says in
the status bar what is loading, shows a busy cursor meanwhile (Fashion-MNIST's 70,000
images take about half a second, a folder of images as long as decoding them), and puts
what an image folder left out (unreadable files) in the status bar afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEventLoop, Qt
from PySide6.QtGui import QGuiApplication

from .dataset_picker import DatasetChoice

if TYPE_CHECKING:
    from latentlab.data import ImageDataset

    from .main_window import MainWindow

#: How long what a folder left out stays in the status bar.
WARNING_MS = 15_000


def load_chosen_dataset(window: MainWindow, choice: DatasetChoice) -> ImageDataset:
    """The dataset of ``choice``, loaded (or taken from this process's cache); a failure is
    the data layer's one-line DatasetError, which the caller shows as a dialog."""
    from .session import get_dataset

    status = window.statusBar()
    status.showMessage(f"Loading {choice.name}…")
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    QGuiApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)  # show the message
    try:
        dataset = get_dataset(choice.name, choice.image_shape)
    finally:
        QGuiApplication.restoreOverrideCursor()
        status.clearMessage()
    if dataset.warnings:
        status.showMessage("; ".join(dataset.warnings), WARNING_MS)
    return dataset
