"""The training panel's choice of data: the bundled digits, the MNIST-style sets (found on
disk or downloaded once), and folders of images, grey or colour.

The picker only says what was chosen (:class:`DatasetChoice`); the data layer
(``latentlab.data``) loads it when a model is trained, and its one-line errors (a folder
without class sub-folders, a set that cannot be downloaded offline) become the window's
dialog. Until PyTorch has loaded (``latentlab.data`` imports it) the MNIST-style sets are
listed without saying whether they are on disk; ``refresh()`` adds that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QPushButton, QSizePolicy, QWidget

from . import dialogs

#: Shipped with latentlab or scikit-learn: always there.
BUNDLED = (
    ("mnist-5k", "MNIST digits · 5,000 (bundled)"),
    ("digits", "Digits 8×8 · 1,797 (scikit-learn)"),
)
#: The MNIST-style sets (``latentlab.data.IDX_SETS``): 28×28 grey, official splits.
FULL_SETS = (
    ("mnist", "MNIST · 70,000"),
    ("fashion-mnist", "Fashion-MNIST · 70,000"),
    ("kmnist", "Kuzushiji-MNIST · 70,000"),
    ("emnist-letters", "EMNIST letters · 145,600"),
)
FOLDER_PREFIX = "folder:"
_TOOLTIP_ROLE = Qt.ItemDataRole.ToolTipRole
#: Sides a folder's images are resized to: 28 as MNIST, 32 as CIFAR-10, 64 for faces.
FOLDER_SIZES = (28, 32, 64)


@dataclass(frozen=True)
class DatasetChoice:
    """A dataset as ``latentlab.data.load_dataset`` names it; a folder also has the
    channels (1 grey, 3 colour) and the side its images are resized to."""

    name: str
    channels: int = 1
    image_size: int | None = None

    @property
    def is_folder(self) -> bool:
        return self.name.startswith(FOLDER_PREFIX)

    @property
    def image_shape(self) -> tuple[int, int, int] | None:
        """(C, H, W) to load a folder at; None: the set's own (grey, as distributed)."""
        if self.image_size is None:
            return None
        return self.channels, self.image_size, self.image_size

    def matches(self, dataset) -> bool:
        """Whether the loaded ``dataset`` is this choice (so it need not be loaded again)."""
        if dataset.name != self.name:
            return False
        return self.image_shape is None or tuple(dataset.image_shape) == self.image_shape


class DatasetPicker(QWidget):
    """A combo box of datasets and a "Folder…" button; ``format_row`` (colour, size) applies
    to folders and is laid out by the panel."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(14)
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.combo.setToolTip("The images a new model is trained on (Train new). The full sets are read from "
                              "$LATENTLAB_DATA/<name> or /usr/share/datasets/<name> when their files are there, "
                              "else downloaded once")
        for name, title in BUNDLED + FULL_SETS:
            self.combo.addItem(title, name)
        self.folder_button = QPushButton("Folder…")
        self.folder_button.setToolTip("Train on a folder of your images: one sub-folder per class "
                                      "(e.g. photos/cat/001.jpg, photos/dog/002.jpg), grey or colour")
        self.colour = QCheckBox("Colour")
        self.colour.setToolTip("Train on the folder's images in colour (RGB, three channels) instead of grey; "
                               "ticked by itself when the folder's images are coloured")
        self.size = QComboBox()
        for side in FOLDER_SIZES:
            self.size.addItem(f"{side} px", side)
        self.size.setToolTip("The side the folder's images are resized to (square): 28 as MNIST, 32 as "
                             "CIFAR-10, 64 for faces (slower)")
        #: Colour and size, for folders only; the panel puts it in its grid.
        self.format_row = QWidget()
        self.format_row.setToolTip("For a folder of images: colour or grey, and the size they are resized to")
        row = QHBoxLayout(self.format_row)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.colour)
        row.addWidget(self.size)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.folder_button)
        self._formats: dict[str, tuple[int, int]] = {}  # a folder's (channels, size) as last chosen
        self.combo.currentIndexChanged.connect(self._on_index_changed)
        self.folder_button.clicked.connect(self.choose_folder)
        self.colour.toggled.connect(self._on_format_changed)
        self.size.currentIndexChanged.connect(self._on_format_changed)
        self._show_format()

    # ------------------------------------------------------------------ choice
    def choice(self) -> DatasetChoice:
        name = self.combo.currentData()
        if not str(name).startswith(FOLDER_PREFIX):
            return DatasetChoice(name)
        return DatasetChoice(name, 3 if self.colour.isChecked() else 1, int(self.size.currentData()))

    def select(self, name: str, image_shape: tuple[int, int, int] | None = None) -> None:
        """Show ``name`` as chosen (a model of that dataset was opened); a folder is added
        with the channels and size of ``image_shape``."""
        if name.startswith(FOLDER_PREFIX):
            channels, side = (image_shape[0], image_shape[1]) if image_shape else (1, FOLDER_SIZES[0])
            self.add_folder(name.removeprefix(FOLDER_PREFIX), channels=channels, size=side)
            return
        index = self.combo.findData(name)
        if index >= 0:
            self.combo.setCurrentIndex(index)

    @Slot()
    def choose_folder(self) -> None:
        """Ask for a folder of images and choose it; colour is ticked when its images are."""
        current = self.choice()
        start = current.name.removeprefix(FOLDER_PREFIX) if current.is_folder else str(Path.home())
        path = dialogs.choose_dataset_folder(self.window(), start)
        if path:
            self.add_folder(path)

    def add_folder(self, path: str, *, channels: int | None = None, size: int | None = None) -> None:
        """Choose the folder ``path`` (listed once); ``channels`` None: colour if its images are."""
        folder = Path(path).expanduser().resolve()
        name = f"{FOLDER_PREFIX}{folder}"
        if channels is None:
            from latentlab.data import folder_has_colour

            channels = 3 if folder_has_colour(folder) else 1
        if size is None:
            size = 32 if channels == 3 else FOLDER_SIZES[0]
        self._formats[name] = (channels, size)
        index = self.combo.findData(name)
        if index < 0:
            self.combo.addItem(f"Folder: {folder.name or folder}", name)
            index = self.combo.count() - 1
            self.combo.setItemData(index, f"{folder} (one sub-folder per class)", _TOOLTIP_ROLE)
        if index == self.combo.currentIndex():
            self._show_format()
            self.changed.emit()
        else:
            self.combo.setCurrentIndex(index)

    # -------------------------------------------------------------- on disk?
    def refresh(self) -> None:
        """Say for each MNIST-style set whether its files are on disk, and where (imports
        PyTorch with ``latentlab.data``: call it once that has loaded)."""
        from latentlab.data import find_on_disk

        for name, title in FULL_SETS:
            index = self.combo.findData(name)
            folder = find_on_disk(name)
            if folder is not None:
                self.combo.setItemText(index, f"{title} (on disk)")
                tip = f"Read from {folder}"
            else:
                self.combo.setItemText(index, f"{title} (download)")
                tip = (f"Not on disk: Train new downloads it once (needs the internet). Offline, copy its four "
                       f".gz files into $LATENTLAB_DATA/{name} or /usr/share/datasets/{name}")
            self.combo.setItemData(index, tip, _TOOLTIP_ROLE)

    # ------------------------------------------------------------------ slots
    @Slot()
    def _on_index_changed(self) -> None:
        self._show_format()
        self.changed.emit()

    @Slot()
    def _on_format_changed(self) -> None:
        name = self.combo.currentData()
        if str(name).startswith(FOLDER_PREFIX):
            self._formats[name] = (3 if self.colour.isChecked() else 1, int(self.size.currentData()))
            self.changed.emit()

    def _show_format(self) -> None:
        """Colour and size show the current folder's (and are off for the other sets)."""
        name = self.combo.currentData()
        is_folder = str(name).startswith(FOLDER_PREFIX)
        channels, side = self._formats.get(name, (1, FOLDER_SIZES[0]))
        for widget, value in ((self.colour, channels == 3), (self.size, self.size.findData(side))):
            widget.blockSignals(True)
            if widget is self.colour:
                widget.setChecked(value)
            else:
                widget.setCurrentIndex(max(0, value))
            widget.blockSignals(False)
        self.format_row.setEnabled(is_folder and self.isEnabled())

    def setEnabled(self, enabled: bool) -> None:  # noqa: N802 - Qt's name
        super().setEnabled(enabled)
        name = self.combo.currentData()
        self.format_row.setEnabled(enabled and str(name).startswith(FOLDER_PREFIX))
