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

from latentlab.ui.panels.dataset_picker import DatasetChoice

if TYPE_CHECKING:
    from latentlab.data import ImageDataset

    from latentlab.app.state import AppState

#: How long what a folder left out stays in the status bar.
WARNING_MS = 15_000


def load_chosen_dataset(state: AppState, choice: DatasetChoice) -> ImageDataset:
    """The dataset of ``choice``, loaded (or taken from the state's cache); a failure is
    the data layer's one-line DatasetError, which the caller shows as a dialog. The status
    bar's lines go through ``state.say``."""
    from latentlab.app.session import get_dataset

    state.say(f"Loading {choice.name}…", 0)
    QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    QGuiApplication.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents)  # show the message
    try:
        dataset = get_dataset(choice.name, choice.image_shape, caches=state.caches)
    finally:
        QGuiApplication.restoreOverrideCursor()
        state.say("", 0)
    if dataset.warnings:
        state.say("; ".join(dataset.warnings), WARNING_MS)
    return dataset
