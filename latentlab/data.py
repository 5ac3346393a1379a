"""Dataset registry: the bundled offline default, scikit-learn digits, torchvision sets, image folders.

Every source yields plain tensors: float32 images ``(N, C, H, W)`` in [0, 1] and int64
labels, with a fixed train/test split that is the same on every run. There is no
DataLoader and there are no worker processes: the sets are small enough to live in one
tensor, moved once onto the training device with :meth:`ImageDataset.to`.

Sources are functions registered by name with :func:`register_dataset`;
:func:`load_dataset` looks the name up, calls the loader and then brings the images to
the asked ``image_size`` and ``channels``. ``folder:PATH`` names take an argument.

torchvision, scikit-learn and Pillow are imported inside the loaders that need them, so
importing this module (on the app's start-up path) stays cheap.
"""

from __future__ import annotations

import string
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from latentlab.errors import DatasetError
from latentlab.locations import cache_dir, resources_dir  # noqa: F401  (re-exported: the public names)

DEFAULT_DATASET = "mnist-5k"
DIGIT_NAMES = [str(digit) for digit in range(10)]
FOLDER_IMAGE_SIZE = 28
TEST_FRACTION = 0.2
SPLIT_SEED = 0
_LUMA = torch.tensor([0.299, 0.587, 0.114])


@dataclass
class Split:
    """One part of a dataset: float32 images (N, C, H, W) in [0, 1] and int64 labels (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def to(self, device: torch.device | str) -> Split:
        """The same split with both tensors on ``device``."""
        return Split(self.images.to(device), self.labels.to(device))


@dataclass
class ImageDataset:
    """A labelled image set with a fixed train/test split.

    ``skipped`` counts files of an image folder that could not be read as images.
    """

    name: str
    class_names: list[str]
    train: Split
    test: Split
    skipped: int = 0

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every image."""
        channels, height, width = self.train.images.shape[1:]
        return int(channels), int(height), int(width)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to(self, device: torch.device | str) -> ImageDataset:
        """The same dataset with both splits on ``device`` (e.g. once onto CUDA for training)."""
        return replace(self, train=self.train.to(device), test=self.test.to(device))

    def info(self) -> dict[str, Any]:
        """A JSON-able summary, e.g. for a checkpoint's config or the status bar."""
        return {
            "name": self.name,
            "class_names": list(self.class_names),
            "image_shape": list(self.image_shape),
            "n_train": len(self.train),
            "n_test": len(self.test),
            "skipped": self.skipped,
        }


@dataclass(frozen=True)
class DatasetRequest:
    """What :func:`load_dataset` was asked for, as handed to a registered loader.

    ``argument`` is the part after the colon of names such as ``folder:PATH`` and None for
    plain names. Loaders may ignore ``image_size`` and ``channels``: the result is
    resized and converted afterwards when it does not match.
    """

    name: str
    argument: str | None
    image_size: int | None
    channels: int
    root: Path | None
    download: bool


DatasetLoader = Callable[[DatasetRequest], ImageDataset]


@dataclass(frozen=True)
class _Source:
    loader: DatasetLoader
    argument: str | None


_SOURCES: dict[str, _Source] = {}


def register_dataset(name: str, *, argument: str | None = None) -> Callable[[DatasetLoader], DatasetLoader]:
    """Decorator: ``@register_dataset("digits")`` makes a loader known by that name.

    With ``argument="PATH"`` the source is addressed as ``name:PATH`` and is not listed
    by :func:`dataset_names`.
    """
    if ":" in name or name != name.strip().lower():
        raise ValueError(f"dataset name {name!r} must be lower case, without ':' or spaces around")

    def wrap(loader: DatasetLoader) -> DatasetLoader:
        if name in _SOURCES:
            raise RuntimeError(f"dataset {name!r} registered twice")
        _SOURCES[name] = _Source(loader, argument)
        return loader

    return wrap


def dataset_names() -> list[str]:
    """Names that load as they are, default first; ``folder:PATH`` is accepted as well."""
    return [name for name, source in _SOURCES.items() if source.argument is None]


def _name_forms() -> str:
    return ", ".join(
        name if source.argument is None else f"{name}:{source.argument}" for name, source in _SOURCES.items()
    )


def load_dataset(
    name: str = DEFAULT_DATASET,
    *,
    image_size: int | None = None,
    channels: int = 1,
    root: str | Path | None = None,
    download: bool = True,
) -> ImageDataset:
    """Load a dataset by name, optionally resized to ``image_size`` square and ``channels``.

    ``root`` is where downloadable sets are stored (default: ``cache_dir()/datasets``);
    ``download=False`` never goes online. Every failure is a :class:`DatasetError`.
    """
    if channels not in (1, 3):
        raise DatasetError(f"channels must be 1 (grayscale) or 3 (RGB), not {channels!r}; pass 1 or 3")
    if image_size is not None:
        if isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 1:
            raise DatasetError(
                f"image_size must be a positive whole number of pixels, not {image_size!r}; pass e.g. 28"
            )
        image_size = int(image_size)
    key, colon, value = str(name).partition(":")
    key, value = key.strip().lower(), value.strip()
    source = _SOURCES.get(key)
    if source is None or (source.argument is None and colon):
        raise DatasetError(
            f"unknown dataset {name!r}; choose one of {_name_forms()} "
            f"(folder:PATH is a folder of images with one sub-folder per class)"
        )
    if source.argument is not None and not value:
        raise DatasetError(f"dataset {key!r} needs a value: write it as {key}:{source.argument}")
    argument = value if source.argument is not None else None
    request = DatasetRequest(
        name=key if argument is None else f"{key}:{argument}",
        argument=argument,
        image_size=image_size,
        channels=channels,
        root=Path(root).expanduser() if root is not None else None,
        download=download,
    )
    dataset = source.loader(request)
    return replace(
        dataset,
        train=_conform(dataset.train, image_size, channels),
        test=_conform(dataset.test, image_size, channels),
    )


# --- shared helpers -------------------------------------------------------------------


def _split_from_uint8(images: np.ndarray | torch.Tensor, labels: np.ndarray | torch.Tensor) -> Split:
    """A Split from uint8 images (N, H, W) or (N, H, W, C) and integer labels."""
    pixels = torch.as_tensor(images)
    pixels = pixels.unsqueeze(1) if pixels.ndim == 3 else pixels.permute(0, 3, 1, 2)
    return Split(
        pixels.to(torch.float32).div_(255.0).contiguous(),
        torch.as_tensor(labels).to(torch.int64),
    )


def _stratified_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fixed train/test row indices: TEST_FRACTION of each class in test, SPLIT_SEED.

    A class with a single image goes to train; each split is shuffled so that its first
    rows mix the classes.
    """
    rng = np.random.default_rng(SPLIT_SEED)
    train: list[np.ndarray] = []
    test: list[np.ndarray] = []
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        n_test = 0 if len(rows) < 2 else max(1, int(len(rows) * TEST_FRACTION + 0.5))
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _conform(split: Split, image_size: int | None, channels: int) -> Split:
    """Resize to ``image_size`` square (bilinear, antialiased) and match ``channels``."""
    images = split.images
    n, have, height, width = images.shape
    if image_size is not None and (height, width) != (image_size, image_size):
        if n == 0:
            images = images.new_zeros((0, have, image_size, image_size))
        else:
            images = F.interpolate(
                images, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False
            ).clamp_(0.0, 1.0)
    if have != channels:
        if have == 1:
            images = images.repeat(1, channels, 1, 1)
        elif have == 3 and channels == 1:
            images = (images * _LUMA.to(images).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)
        else:
            raise DatasetError(
                f"cannot turn {have}-channel images into {channels} channels; pass channels={have}"
            )
    return split if images is split.images else Split(images, split.labels)


# --- bundled and scikit-learn sources -------------------------------------------------


@register_dataset("mnist-5k")
def _load_mnist_5k(request: DatasetRequest) -> ImageDataset:
    """5,000 real MNIST digits bundled with latentlab: 4,000 train / 1,000 test, offline."""
    path = resources_dir() / "datasets" / "mnist-5k.npz"
    rebuild = "reinstall latentlab or rebuild it with `python scripts/build_mnist5k.py`"
    if not path.is_file():
        raise DatasetError(f"the bundled dataset file {path} is missing; {rebuild}")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            train = _split_from_uint8(arrays["train_images"], arrays["train_labels"])
            test = _split_from_uint8(arrays["test_images"], arrays["test_labels"])
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DatasetError(f"the bundled dataset file {path} is damaged ({err}); {rebuild}") from err
    return ImageDataset("mnist-5k", list(DIGIT_NAMES), train, test)


@register_dataset("digits")
def _load_digits(request: DatasetRequest) -> ImageDataset:
    """scikit-learn's bundled 8x8 digits (1,797 images), offline; stratified 20% test."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    train, test = (torch.from_numpy(rows) for rows in _stratified_split(bunch.target))
    return ImageDataset(
        "digits",
        [str(name) for name in bunch.target_names],
        Split(images[train].contiguous(), labels[train]),
        Split(images[test].contiguous(), labels[test]),
    )


# --- torchvision sources --------------------------------------------------------------


def _load_torchvision(
    request: DatasetRequest,
    class_name: str,
    class_names: list[str] | None = None,
    *,
    transposed: bool = False,
    first_label: int = 0,
    **options: Any,
) -> ImageDataset:
    """One of torchvision's 28x28 MNIST-like sets with its official train/test split."""
    from torchvision import datasets

    cls = getattr(datasets, class_name)
    root = request.root if request.root is not None else cache_dir() / "datasets"
    raw = root / class_name / "raw"
    try:
        train_set = cls(str(root), train=True, download=request.download, **options)
        test_set = cls(str(root), train=False, download=request.download, **options)
    except (OSError, RuntimeError) as err:
        raise _unavailable_error(request, cls, raw, err) from err
    except (AssertionError, ValueError, TypeError, KeyError, EOFError) as err:
        raise DatasetError(
            f"the {request.name!r} files in {raw} are damaged ({_reason(err)}); delete that folder and "
            f"load it again to download fresh copies, or use the bundled offline dataset '{DEFAULT_DATASET}'"
        ) from err

    def split(part: Any) -> Split:
        images = part.data.transpose(1, 2) if transposed else part.data
        return _split_from_uint8(images, part.targets.to(torch.int64) - first_label)

    names = list(class_names) if class_names is not None else [str(c) for c in train_set.classes]
    return ImageDataset(request.name, names, split(train_set), split(test_set))


def _reason(err: BaseException) -> str:
    """The most specific line of an exception message (torchvision's span several lines)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[-1][:200] if lines else type(err).__name__


def _unavailable_error(request: DatasetRequest, cls: type, raw: Path, err: BaseException) -> DatasetError:
    """The one message for a torchvision set that is neither on disk nor downloadable."""
    from torchvision.datasets import EMNIST

    archives = [Path(cls.url).name] if issubclass(cls, EMNIST) else [name for name, _ in cls.resources]
    files = ", ".join(archives)
    offline = f"or use the bundled offline dataset '{DEFAULT_DATASET}'"
    if request.download:
        return DatasetError(
            f"cannot download the {request.name!r} dataset ({_reason(err)}). Without internet, copy "
            f"{files} into {raw} by hand and load it again, {offline}"
        )
    return DatasetError(
        f"the {request.name!r} dataset is not in {raw} and downloading is off. Allow downloading, or copy "
        f"{files} into that folder by hand and load it with downloading allowed (nothing is fetched "
        f"once the files are there), {offline}"
    )


@register_dataset("mnist")
def _load_mnist(request: DatasetRequest) -> ImageDataset:
    """MNIST: 60,000 train / 10,000 test handwritten digits."""
    return _load_torchvision(request, "MNIST", DIGIT_NAMES)


@register_dataset("fashion-mnist")
def _load_fashion_mnist(request: DatasetRequest) -> ImageDataset:
    """Fashion-MNIST: 60,000 / 10,000 Zalando clothing images in ten classes."""
    return _load_torchvision(request, "FashionMNIST")


@register_dataset("kmnist")
def _load_kmnist(request: DatasetRequest) -> ImageDataset:
    """Kuzushiji-MNIST: 60,000 / 10,000 cursive Japanese characters in ten classes."""
    return _load_torchvision(request, "KMNIST")


@register_dataset("emnist-letters")
def _load_emnist_letters(request: DatasetRequest) -> ImageDataset:
    """EMNIST letters: 124,800 / 20,800 handwritten letters a..z, turned upright."""
    return _load_torchvision(
        request, "EMNIST", list(string.ascii_lowercase), split="letters", transposed=True, first_label=1
    )


# --- image folders --------------------------------------------------------------------


@register_dataset("folder", argument="PATH")
def _load_folder(request: DatasetRequest) -> ImageDataset:
    """A folder with one sub-folder of images per class; sorted sub-folder names are the classes.

    Images are resized to ``image_size`` (default 28) square and made grayscale or RGB.
    Hidden files are ignored; other files that are not readable images are skipped and
    counted. Classes without a readable image are left out. Stratified 20% test split.
    """
    path = Path(request.argument or "").expanduser()
    expected = f"expected one sub-folder per class, e.g. {path / 'cat' / '001.png'}"
    if not path.exists():
        raise DatasetError(f"image folder {path} does not exist; {expected}")
    if not path.is_dir():
        raise DatasetError(f"{path} is a file, not a folder; {expected}")
    size = request.image_size or FOLDER_IMAGE_SIZE
    mode = "L" if request.channels == 1 else "RGB"
    class_names: list[str] = []
    images: list[np.ndarray] = []
    labels: list[int] = []
    skipped = 0
    try:
        class_dirs = sorted(
            (entry for entry in path.iterdir() if entry.is_dir() and not entry.name.startswith(".")),
            key=lambda entry: entry.name,
        )
        if not class_dirs:
            raise DatasetError(f"{path} has no class sub-folders; {expected}")
        for class_dir in class_dirs:
            found, unreadable = _read_class(class_dir, size, mode)
            skipped += unreadable
            if found:
                labels += [len(class_names)] * len(found)
                class_names.append(class_dir.name)
                images += found
    except OSError as err:
        raise DatasetError(
            f"cannot read the image folder {path} ({err.strerror or err}); check that you may read it"
        ) from err
    if not images:
        raise DatasetError(
            f"no readable images in {path} ({skipped} files skipped: not PNG, JPEG or another "
            f"image format Pillow reads); {expected}"
        )

    label_array = np.asarray(labels, dtype=np.int64)
    stacked = np.stack(images)
    train, test = _stratified_split(label_array)
    return ImageDataset(
        f"folder:{path.resolve()}",
        class_names,
        _split_from_uint8(stacked[train], label_array[train]),
        _split_from_uint8(stacked[test], label_array[test]),
        skipped=skipped,
    )


def _read_class(class_dir: Path, size: int, mode: str) -> tuple[list[np.ndarray], int]:
    """Every readable image under ``class_dir`` (recursively, sorted) and how many files were not.

    Hidden files and folders (``.DS_Store``, ``.thumbnails``) are ignored, not counted.
    """
    found: list[np.ndarray] = []
    unreadable = 0
    for file in sorted(class_dir.rglob("*")):
        if not file.is_file() or any(part.startswith(".") for part in file.relative_to(class_dir).parts):
            continue
        pixels = _read_image(file, size, mode)
        if pixels is None:
            unreadable += 1
        else:
            found.append(pixels)
    return found, unreadable


def _read_image(file: Path, size: int, mode: str) -> np.ndarray | None:
    """``file`` as a uint8 array (size, size[, 3]) in ``mode``, or None if it is no readable image."""
    from PIL import Image, ImageOps

    try:
        with Image.open(file) as opened:
            image = ImageOps.exif_transpose(opened)
            if image.mode == "P":
                image = image.convert("RGBA")
            image = image.convert(mode).resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(image, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError):
        return None
