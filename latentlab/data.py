"""Dataset registry: the bundled offline default, scikit-learn digits, MNIST-style sets, image folders.

Every source yields plain tensors: float32 images ``(N, C, H, W)`` in [0, 1] and int64
labels, with a fixed train/test split that is the same on every run. There is no
DataLoader and there are no worker processes: the sets are small enough to live in one
tensor, moved once onto the training device with :meth:`ImageDataset.to`.

Sources are functions registered by name with :func:`register_dataset`;
:func:`load_dataset` looks the name up, calls the loader and then brings the images to
the asked ``image_size`` and ``channels``. ``folder:PATH`` names take an argument.

The MNIST-style sets (mnist, fashion-mnist, kmnist, emnist-letters) are read from their
IDX files, ``.gz`` or extracted, wherever they are found first (``idx_files``:
``$LATENTLAB_DATA/<name>``, ``/usr/share/datasets/<name>``, the download cache);
torchvision only downloads them. Bad input (an unknown user in ``~user``, an image size
that would not fit in memory, a split left empty) is a one-line :class:`DatasetError`
raised before anything large is allocated; what an image folder leaves out is said in
``ImageDataset.warnings``.

torchvision, scikit-learn and Pillow are imported inside the loaders that need them, so
importing this module (on the app's start-up path) stays cheap.
"""

from __future__ import annotations

import os
import string
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from latentlab import idx_files
from latentlab.errors import DatasetError
from latentlab.locations import cache_dir, resources_dir  # noqa: F401  (re-exported: the public names)

DEFAULT_DATASET = "mnist-5k"
DIGIT_NAMES = [str(digit) for digit in range(10)]
FASHION_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot")
KMNIST_NAMES = ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo")
FOLDER_IMAGE_SIZE = 28
TEST_FRACTION = 0.2
#: The largest image side latentlab resizes to (the models are built for 8 to 64 px).
MAX_IMAGE_SIZE = 256
#: Images of a folder with more pixels than this (about 7,000 x 7,000) are skipped before
#: they are decoded: Pillow itself only warns up to 89 million and refuses at 179 million,
#: and one 13,000 x 13,000 PNG took 2 GB to decode.
MAX_SOURCE_PIXELS = 50_000_000
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

    ``skipped`` counts files of an image folder that could not be read as images;
    ``warnings`` says in sentences what was left out and why (the CLI prints them).
    """

    name: str
    class_names: list[str]
    train: Split
    test: Split
    skipped: int = 0
    warnings: tuple[str, ...] = ()

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
        if image_size > MAX_IMAGE_SIZE:
            raise DatasetError(
                f"image size {image_size} px is larger than latentlab handles (at most {MAX_IMAGE_SIZE}); "
                "pass a smaller size (the models are built for 28 to 64 px)"
            )
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
        root=expand_path(root) if root is not None else None,
        download=download,
    )
    dataset = source.loader(request)
    for part, split in (("training", dataset.train), ("test", dataset.test)):
        if len(split) == 0:
            raise DatasetError(f"the {part} split of {dataset.name!r} is empty; it needs at least one image "
                               "(a folder dataset: put at least two images in one class folder)")
    if image_size is not None:
        check_memory(len(dataset.train) + len(dataset.test), channels, image_size, f"{dataset.name!r}")
    return replace(
        dataset,
        train=_conform(dataset.train, image_size, channels),
        test=_conform(dataset.test, image_size, channels),
    )


# --- shared helpers -------------------------------------------------------------------


def expand_path(path: str | Path) -> Path:
    """``path`` with ``~`` or ``~user`` expanded; an unknown user is a :class:`DatasetError`."""
    try:
        return Path(path).expanduser()
    except RuntimeError as err:  # "Could not determine home directory"
        head = str(path).split("/", 1)[0]
        raise DatasetError(f"cannot expand {head!r} in {str(path)!r}: there is no such user's home folder; "
                           "write the folder's full path") from err


def memory_budget() -> int:
    """Bytes the images of one dataset may take as float32: a quarter of the machine's memory."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
    except (AttributeError, ValueError, OSError):
        return 4 << 30


def check_memory(n_images: int, channels: int, size: int, what: str) -> None:
    """Refuse, before anything is decoded or resized, a set whose float32 images would not fit."""
    needed = n_images * channels * size * size * 4
    budget = memory_budget()
    if needed > budget:
        raise DatasetError(
            f"{what} at {size}x{size} px would take {needed / 1e9:.1f} GB of memory, more than latentlab uses on "
            f"this machine ({budget / 1e9:.1f} GB); pass a smaller image size (the models are built for 28 to 64 px)"
        )


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


# --- MNIST-style sets: IDX files found on disk, or downloaded once -----------------------


@dataclass(frozen=True)
class IdxSet:
    """One of the MNIST-style sets: its four IDX files and how torchvision downloads them.

    ``torchvision_class`` names the class whose URLs and checksums are used to download
    (and the ``<class>/raw`` cache folder torchvision would use); ``files`` are the train
    images, train labels, test images and test labels, without ``.gz``; ``archive`` is a zip
    that holds them as ``.gz`` members under ``gzip/`` (EMNIST ships only that).
    """

    torchvision_class: str
    files: tuple[str, str, str, str] = (
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
    )
    class_names: tuple[str, ...] = tuple(DIGIT_NAMES)
    transposed: bool = False
    first_label: int = 0
    archive: str | None = None


def dataset_folders(request: DatasetRequest, spec: IdxSet) -> list[Path]:
    """Where the files of ``spec`` are looked for, in order.

    With an explicit ``root`` only ``root/<class>/raw``; otherwise ``$LATENTLAB_DATA/<name>``,
    ``/usr/share/datasets/<name>`` (Debian's ``dataset-*`` packages), then the download
    cache ``cache_dir()/datasets/<class>/raw``.
    """
    if request.root is not None:
        return [request.root / spec.torchvision_class / "raw"]
    return [*(folder / request.name for folder in idx_files.data_dirs()), _download_folder(request, spec)]


def _download_folder(request: DatasetRequest, spec: IdxSet) -> Path:
    root = request.root if request.root is not None else cache_dir() / "datasets"
    return root / spec.torchvision_class / "raw"


def _load_idx_set(request: DatasetRequest, spec: IdxSet) -> ImageDataset:
    """One of the MNIST-like sets with its official train/test split, from disk or downloaded."""
    folders = dataset_folders(request, spec)
    arrays = _read_idx_set(folders, spec)
    if arrays is None:
        _download(request, spec)
        arrays = _read_idx_set(folders[-1:], spec)
        if arrays is None:  # downloaded, yet not all there: say what is missing
            raise _unavailable_error(request, spec, RuntimeError("the download is incomplete"))
    train_x, train_y, test_x, test_y = arrays
    names = list(spec.class_names)
    for images, labels, part in ((train_x, train_y, "training"), (test_x, test_y, "test")):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels) or len(images) == 0:
            raise DatasetError(
                f"the {request.name!r} {part} files do not match ({images.shape} images, {labels.shape} labels); "
                "replace them with fresh copies of the originals"
            )
        bad = (labels < spec.first_label) | (labels >= spec.first_label + len(names))
        if bad.any():
            raise DatasetError(f"the {request.name!r} {part} labels hold {int(labels[bad][0])}, which is no "
                               f"class of {len(names)}; replace them with fresh copies of the originals")

    def split(images: np.ndarray, labels: np.ndarray) -> Split:
        images = images.transpose(0, 2, 1) if spec.transposed else images
        return _split_from_uint8(np.ascontiguousarray(images), labels.astype(np.int64) - spec.first_label)

    return ImageDataset(request.name, names, split(train_x, train_y), split(test_x, test_y))


def _read_idx_set(folders: list[Path], spec: IdxSet) -> list[np.ndarray] | None:
    """The four arrays from the first folder that holds all four files (or the zip), else None."""
    found = idx_files.find_set(folders, list(spec.files))
    if found is not None:
        return [idx_files.read_idx(found[name]) for name in spec.files]
    if spec.archive is not None:
        for folder in folders:
            if (folder / spec.archive).is_file():
                return [idx_files.read_zip_member(folder / spec.archive, f"gzip/{name}.gz") for name in spec.files]
    return None


def _download(request: DatasetRequest, spec: IdxSet) -> None:
    """Fetch the archives into the cache with torchvision's URLs and checksums (no extraction:
    the ``.gz`` files are read as they are). A failure is the offline message."""
    if not request.download:
        raise _unavailable_error(request, spec, None)
    from urllib.error import URLError

    from torchvision import datasets
    from torchvision.datasets.utils import download_url

    cls = getattr(datasets, spec.torchvision_class)
    raw = _download_folder(request, spec)
    if spec.archive is not None:
        downloads = [([cls.url], spec.archive, cls.md5)]
    else:
        downloads = [([f"{mirror}{name}" for mirror in cls.mirrors], name, md5) for name, md5 in cls.resources]
    for urls, filename, md5 in downloads:
        errors: list[BaseException] = []
        for url in urls:
            try:
                download_url(url, str(raw), filename=filename, md5=md5)
                break
            except (OSError, RuntimeError, URLError, ValueError) as err:
                errors.append(err)
        else:
            raise _unavailable_error(request, spec, errors[-1])


def _archives(spec: IdxSet) -> list[str]:
    return [spec.archive] if spec.archive is not None else [f"{name}.gz" for name in spec.files]


def _reason(err: BaseException) -> str:
    """The most specific line of an exception message (torchvision's span several lines)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[-1][:200] if lines else type(err).__name__


def _unavailable_error(request: DatasetRequest, spec: IdxSet, err: BaseException | None) -> DatasetError:
    """The one message for a set that is neither on disk nor downloadable: where to put the files."""
    raw = _download_folder(request, spec)
    files = ", ".join(_archives(spec))
    elsewhere = "" if request.root is not None else (
        f" (or into ${idx_files.DATA_ENV}/{request.name}, or /usr/share/datasets/{request.name})")
    offline = f"or use the bundled offline dataset '{DEFAULT_DATASET}'"
    if err is not None:
        return DatasetError(
            f"cannot download the {request.name!r} dataset ({_reason(err)}). Without internet, copy "
            f"{files} into {raw}{elsewhere} by hand and load it again, {offline}"
        )
    return DatasetError(
        f"the {request.name!r} dataset is not in {raw} and downloading is off. Allow downloading, or copy "
        f"{files} into that folder{elsewhere} by hand and load it again, {offline}"
    )


_EMNIST_LETTERS = tuple(f"emnist-letters-{part}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
                        for part in ("train", "test") for kind in ("images", "labels"))
#: The MNIST-style sets by name: their files and how torchvision downloads them.
IDX_SETS: dict[str, IdxSet] = {
    "mnist": IdxSet("MNIST"),
    "fashion-mnist": IdxSet("FashionMNIST", class_names=FASHION_NAMES),
    "kmnist": IdxSet("KMNIST", class_names=KMNIST_NAMES),
    "emnist-letters": IdxSet("EMNIST", _EMNIST_LETTERS, tuple(string.ascii_lowercase), transposed=True,
                             first_label=1, archive="gzip.zip"),
}


def find_on_disk(name: str) -> Path | None:
    """The folder that holds the files of the MNIST-style set ``name`` (in the order
    :func:`dataset_folders` looks), or None when it is not on disk (it would be downloaded).
    Cheap: only file names are checked, nothing is read."""
    spec = IDX_SETS[name]
    request = DatasetRequest(name, None, None, 1, None, download=False)
    for folder in dataset_folders(request, spec):
        if idx_files.find_set([folder], list(spec.files)) is not None:
            return folder
        if spec.archive is not None and (folder / spec.archive).is_file():
            return folder
    return None


@register_dataset("mnist")
def _load_mnist(request: DatasetRequest) -> ImageDataset:
    """MNIST: 60,000 train / 10,000 test handwritten digits."""
    return _load_idx_set(request, IDX_SETS["mnist"])


@register_dataset("fashion-mnist")
def _load_fashion_mnist(request: DatasetRequest) -> ImageDataset:
    """Fashion-MNIST: 60,000 / 10,000 Zalando clothing images in ten classes."""
    return _load_idx_set(request, IDX_SETS["fashion-mnist"])


@register_dataset("kmnist")
def _load_kmnist(request: DatasetRequest) -> ImageDataset:
    """Kuzushiji-MNIST: 60,000 / 10,000 cursive Japanese characters in ten classes."""
    return _load_idx_set(request, IDX_SETS["kmnist"])


@register_dataset("emnist-letters")
def _load_emnist_letters(request: DatasetRequest) -> ImageDataset:
    """EMNIST letters: 124,800 / 20,800 handwritten letters a..z, turned upright."""
    return _load_idx_set(request, IDX_SETS["emnist-letters"])


# --- image folders --------------------------------------------------------------------


@register_dataset("folder", argument="PATH")
def _load_folder(request: DatasetRequest) -> ImageDataset:
    """A folder with one sub-folder of images per class; sorted sub-folder names are the classes.

    Images are resized to ``image_size`` (default 28) square and made grayscale or RGB.
    Hidden files are ignored; other files that are not readable images, and images over
    :data:`MAX_SOURCE_PIXELS`, are skipped and counted; folders that cannot be read and
    classes without a readable image are left out. Each of these is said in
    ``ImageDataset.warnings``. Stratified 20% test split.
    """
    path = expand_path(request.argument or "")
    expected = f"expected one sub-folder per class, e.g. {path / 'cat' / '001.png'}"
    if not path.exists():
        raise DatasetError(f"image folder {path} does not exist; {expected}")
    if not path.is_dir():
        raise DatasetError(f"{path} is a file, not a folder; {expected}")
    size = request.image_size or FOLDER_IMAGE_SIZE
    mode = "L" if request.channels == 1 else "RGB"
    try:
        class_dirs = sorted(
            (entry for entry in path.iterdir() if entry.is_dir() and not entry.name.startswith(".")),
            key=lambda entry: entry.name,
        )
    except OSError as err:
        raise DatasetError(
            f"cannot read the image folder {path} ({err.strerror or err}); check that you may read it"
        ) from err
    if not class_dirs:
        raise DatasetError(f"{path} has no class sub-folders; {expected}")
    unreadable_dirs: list[Path] = []
    listing = [(class_dir, _list_files(class_dir, unreadable_dirs)) for class_dir in class_dirs]
    n_files = sum(len(files) for _, files in listing)
    check_memory(n_files, request.channels, size, f"the {n_files:,} files in {path}")

    class_names: list[str] = []
    images: list[np.ndarray] = []
    labels: list[int] = []
    skipped: dict[str, list[Path]] = {"not": [], "large": []}
    empty_classes: list[str] = []
    for class_dir, files in listing:
        found = 0
        for file in files:
            pixels, problem = _read_image(file, size, mode)
            if pixels is None:
                skipped[problem].append(file)
                continue
            images.append(pixels)
            labels.append(len(class_names))
            found += 1
        if found:
            class_names.append(class_dir.name)
        elif class_dir not in unreadable_dirs:  # an unreadable one is said once, below
            empty_classes.append(class_dir.name)
    n_skipped = len(skipped["not"]) + len(skipped["large"])
    if not images:
        raise DatasetError(
            f"no readable images in {path} ({n_skipped} files skipped: not PNG, JPEG or another "
            f"image format Pillow reads, or over {MAX_SOURCE_PIXELS // 1_000_000} megapixels); {expected}"
        )
    label_array = np.asarray(labels, dtype=np.int64)
    train, test = _stratified_split(label_array)
    if len(test) == 0:
        raise DatasetError(
            f"{path} has only {len(images)} readable image(s), one per class, so none is left to test on; "
            "put at least two images in one class folder"
        )
    stacked = np.stack(images)
    notes = _folder_warnings(path, n_files, skipped, unreadable_dirs, empty_classes)
    return ImageDataset(
        f"folder:{path.resolve()}",
        class_names,
        _split_from_uint8(stacked[train], label_array[train]),
        _split_from_uint8(stacked[test], label_array[test]),
        skipped=n_skipped,
        warnings=notes,
    )


def _list_files(class_dir: Path, unreadable: list[Path]) -> list[Path]:
    """Every file under ``class_dir`` (recursively, sorted; symbolic links to folders are not
    followed). Hidden files and folders (``.DS_Store``, ``.thumbnails``) are ignored; folders
    that cannot be listed are added to ``unreadable``."""
    files: list[Path] = []

    def note(err: OSError) -> None:
        unreadable.append(Path(err.filename) if err.filename else class_dir)

    for folder, subfolders, names in os.walk(class_dir, onerror=note):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        files += [Path(folder) / name for name in names if not name.startswith(".")]
    return sorted(file for file in files if file.is_file())


def _folder_warnings(path: Path, n_files: int, skipped: dict[str, list[Path]], unreadable_dirs: list[Path],
                     empty_classes: list[str]) -> tuple[str, ...]:
    """One sentence per kind of thing left out of an image folder, with an example of each."""

    def example(files: list[Path]) -> str:
        return f"e.g. {files[0].relative_to(path)}"

    notes = []
    if skipped["not"]:
        notes.append(f"skipped {len(skipped['not'])} of {n_files} files in {path} that are not images Pillow "
                     f"can read ({example(skipped['not'])})")
    if skipped["large"]:
        notes.append(f"skipped {len(skipped['large'])} images in {path} over {MAX_SOURCE_PIXELS // 1_000_000} "
                     f"megapixels ({example(skipped['large'])}); shrink them to use them")
    if unreadable_dirs:
        notes.append(f"cannot read {len(unreadable_dirs)} folder(s) in {path} (permission denied: "
                     f"{', '.join(str(d.relative_to(path)) for d in unreadable_dirs[:3])}); their images are left "
                     "out")
    if empty_classes:
        notes.append(f"class folder(s) without a readable image left out: {', '.join(empty_classes[:5])}")
    return tuple(notes)


def _read_image(file: Path, size: int, mode: str) -> tuple[np.ndarray | None, str]:
    """``file`` as a uint8 array (size, size[, 3]) in ``mode`` and "", or None and why not:
    "not" (no readable image) or "large" (over :data:`MAX_SOURCE_PIXELS`, checked before
    the pixels are decoded)."""
    import warnings

    from PIL import Image, ImageOps

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own, lower limit applies
            with Image.open(file) as opened:
                width, height = opened.size
                if width * height > MAX_SOURCE_PIXELS:
                    return None, "large"
                opened.draft(mode, (size, size))  # JPEG: decode at a reduced scale, much faster
                image = ImageOps.exif_transpose(opened)
                if image.mode == "P":
                    image = image.convert("RGBA")
                image = image.convert(mode).resize((size, size), Image.Resampling.BILINEAR)
                return np.asarray(image, dtype=np.uint8), ""
    except Image.DecompressionBombError:
        return None, "large"
    except (OSError, ValueError, SyntaxError, EOFError):
        return None, "not"


def folder_has_colour(path: str | Path, sample: int = 24) -> bool:
    """Whether an image folder (one sub-folder per class) holds colour images: up to
    ``sample`` of its files, taken across the classes, are opened at a small size, and
    any whose channels differ is colour. Files that are not images are passed over."""
    root = expand_path(path)
    try:
        class_dirs = sorted(entry for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith("."))
    except OSError:
        return False
    files = [_list_files(class_dir, [])[:max(1, sample // max(1, len(class_dirs)))] for class_dir in class_dirs]
    for file in [file for chunk in files for file in chunk][:sample]:
        pixels, _ = _read_image(file, 16, "RGB")
        if pixels is not None and np.ptp(pixels.astype(np.int16), axis=2).max() > 8:
            return True
    return False
