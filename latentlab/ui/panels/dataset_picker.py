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
from PySide6.QtGui import QActionGroup
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QMenu, QSizePolicy, QStyle, QToolButton, QWidget

from latentlab.ui.base import dialogs

#: Shipped with latentlab or scikit-learn: always there.
BUNDLED = (
    ("mnist-5k", "MNIST 5k", "5,000 real MNIST digits bundled with latentlab (4,000 train / 1,000 test)"),
    ("digits", "Digits 8×8", "scikit-learn's 1,797 digits of 8×8 pixels, bundled with it"),
)
#: The MNIST-style sets (``latentlab.data.IDX_SETS``): 28×28 grey, official splits.
FULL_SETS = (
    ("mnist", "MNIST", "MNIST: 60,000 train / 10,000 test handwritten digits"),
    ("fashion-mnist", "Fashion", "Fashion-MNIST: 60,000 train / 10,000 test clothing images, ten classes"),
    ("kmnist", "KMNIST", "Kuzushiji-MNIST: 60,000 train / 10,000 test cursive Japanese characters"),
    ("emnist-letters", "EMNIST a–z", "EMNIST letters: 124,800 train / 20,800 test handwritten letters"),
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
    """A combo box of datasets and a "Folder…" button; the button's menu has the folder's
    format (colour or grey, the size its images are resized to). One row: the panel has no
    height to spare in presentation mode."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.combo = QComboBox()
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(8)
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.combo.setToolTip("The images a new model is trained on (Train new). The full sets are read from "
                              "$LATENTLAB_DATA/<name> or /usr/share/datasets/<name> when their files are there, "
                              "else downloaded once")
        self.setToolTip(self.combo.toolTip())  # the panel's "Data" label shows it too
        style = self.style()
        self._icons = {kind: style.standardIcon(pixmap) for kind, pixmap in (
            ("disk", QStyle.StandardPixmap.SP_DriveHDIcon), ("download", QStyle.StandardPixmap.SP_DriveNetIcon),
            ("folder", QStyle.StandardPixmap.SP_DirIcon))}
        for name, title, about in BUNDLED + FULL_SETS:
            self.combo.addItem(self._icons["disk"], title, name)
            self.combo.setItemData(self.combo.count() - 1, about, _TOOLTIP_ROLE)
        self.folder_button = QToolButton()
        self.folder_button.setText("Folder…")
        self.folder_button.setPopupMode(QToolButton.ToolButtonPopupMode.MenuButtonPopup)
        self.folder_button.setToolTip("Train on a folder of your images: one sub-folder per class "
                                      "(e.g. photos/cat/001.jpg, photos/dog/002.jpg). The arrow's menu sets "
                                      "colour or grey and the size the images are resized to")
        menu = QMenu(self.folder_button)
        menu.setToolTipsVisible(True)
        self.open_action = menu.addAction("Open folder…")
        self.open_action.triggered.connect(self.choose_folder)
        menu.addSeparator()
        self.colour = menu.addAction("Colour (RGB)")
        self.colour.setCheckable(True)
        self.colour.setToolTip("Train on the folder's images in colour (three channels) instead of grey; "
                               "ticked by itself when the folder's images are coloured")
        menu.addSeparator()
        self.sides = QActionGroup(menu)
        for side in FOLDER_SIZES:
            action = menu.addAction(f"{side} × {side} px")
            action.setCheckable(True)
            action.setData(side)
            action.setToolTip("The side the folder's images are resized to: 28 as MNIST, 32 as CIFAR-10, "
                              "64 for faces (slower)")
            self.sides.addAction(action)
        self.folder_button.setMenu(menu)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo, 1)
        layout.addWidget(self.folder_button)
        #: Whether each MNIST-style set's files are on disk (known after ``refresh()``).
        self.on_disk: dict[str, bool] = {}
        self._formats: dict[str, tuple[int, int]] = {}  # a folder's (channels, size) as last chosen
        self.combo.currentIndexChanged.connect(self._on_index_changed)
        self.folder_button.clicked.connect(self.choose_folder)
        self.colour.toggled.connect(self._on_format_changed)
        self.sides.triggered.connect(self._on_format_changed)
        self._show_format()

    def side(self) -> int:
        """The side the current folder's images are resized to."""
        checked = self.sides.checkedAction()
        return int(checked.data()) if checked is not None else FOLDER_SIZES[0]

    def set_side(self, side: int) -> None:
        for action in self.sides.actions():
            if action.data() == side and not action.isChecked():
                action.trigger()

    @property
    def folder_chosen(self) -> bool:
        return str(self.combo.currentData()).startswith(FOLDER_PREFIX)

    # ------------------------------------------------------------------ choice
    def choice(self) -> DatasetChoice:
        name = self.combo.currentData()
        if not str(name).startswith(FOLDER_PREFIX):
            return DatasetChoice(name)
        return DatasetChoice(name, 3 if self.colour.isChecked() else 1, self.side())

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
            self.combo.addItem(self._icons["folder"], f"{folder.name or folder}", name)  # its tooltip: below
            index = self.combo.count() - 1
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

        for name, _, about in FULL_SETS:
            index = self.combo.findData(name)
            folder = find_on_disk(name)
            self.on_disk[name] = folder is not None
            if folder is not None:
                tip = f"{about}; on disk, read from {folder}"
            else:
                tip = (f"{about}; not on disk: Train new downloads it once (needs the internet). Offline, copy "
                       f"its .gz files into $LATENTLAB_DATA/{name} or /usr/share/datasets/{name}")
            self.combo.setItemIcon(index, self._icons["disk" if folder is not None else "download"])
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
            self._formats[name] = (3 if self.colour.isChecked() else 1, self.side())
            self._title_folder()
            self.changed.emit()

    def _show_format(self) -> None:
        """The menu shows the current folder's format (and is greyed for the other sets)."""
        channels, side = self._formats.get(self.combo.currentData(), (1, FOLDER_SIZES[0]))
        self.colour.blockSignals(True)
        self.colour.setChecked(channels == 3)
        self.colour.blockSignals(False)
        for action in self.sides.actions():
            action.setChecked(action.data() == side)
        self.colour.setEnabled(self.folder_chosen)
        self.sides.setEnabled(self.folder_chosen)
        self._title_folder()

    def _title_folder(self) -> None:
        """A folder's item is its name (the panel is narrow); its tooltip says the format."""
        name = self.combo.currentData()
        if self.folder_chosen:
            channels, side = self._formats.get(name, (1, FOLDER_SIZES[0]))
            folder = Path(name.removeprefix(FOLDER_PREFIX))
            self.combo.setItemData(self.combo.currentIndex(),
                                   f"{folder}: one sub-folder per class, trained in "
                                   f"{'colour' if channels == 3 else 'grey'} at {side} × {side} px (the "
                                   "Folder… button's arrow changes that)", _TOOLTIP_ROLE)
