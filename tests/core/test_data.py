"""Dataset registry: bundled mnist-5k, sklearn digits, torchvision sets offline, image folders."""

from __future__ import annotations

import os
import pickle
import re
import struct
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab import data, idx_files
from latentlab.data import DEFAULT_DATASET, ImageDataset, Split, cache_dir, dataset_names, load_dataset
from latentlab.errors import DatasetError

# --- bundled mnist-5k ----------------------------------------------------------------


def test_mnist_5k_is_the_default_with_a_stratified_4000_1000_split() -> None:
    ds = load_dataset()
    assert DEFAULT_DATASET == "mnist-5k" and ds.name == "mnist-5k"
    assert ds.class_names == [str(d) for d in range(10)] and ds.num_classes == 10
    assert ds.image_shape == (1, 28, 28)
    assert ds.train.images.shape == (4000, 1, 28, 28) and ds.test.images.shape == (1000, 1, 28, 28)
    for split in (ds.train, ds.test):
        assert split.images.dtype == torch.float32 and split.labels.dtype == torch.int64
        assert split.images.min() >= 0.0 and split.images.max() == 1.0
    assert torch.bincount(ds.train.labels).tolist() == [400] * 10
    assert torch.bincount(ds.test.labels).tolist() == [100] * 10
    # shuffled: the first rows are not all one class
    assert len(set(ds.test.labels[:20].tolist())) > 3


def test_mnist_5k_split_is_fixed_and_disjoint() -> None:
    first, second = load_dataset("mnist-5k"), load_dataset("mnist-5k")
    assert torch.equal(first.train.images, second.train.images)
    assert torch.equal(first.test.labels, second.test.labels)
    train_rows = {row.numpy().tobytes() for row in first.train.images.flatten(1)}
    assert not any(row.numpy().tobytes() in train_rows for row in first.test.images.flatten(1))


def test_info_is_json_able() -> None:
    import json

    info = load_dataset().info()
    assert json.loads(json.dumps(info)) == {
        "name": "mnist-5k",
        "class_names": [str(d) for d in range(10)],
        "image_shape": [1, 28, 28],
        "n_train": 4000,
        "n_test": 1000,
        "skipped": 0,
    }


def test_to_moves_both_splits() -> None:
    moved = load_dataset().to("meta")
    assert moved.train.images.device.type == "meta" and moved.test.labels.device.type == "meta"
    assert len(moved.train) == 4000 and len(moved.test) == 1000


def test_missing_bundled_file_says_how_to_rebuild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATENTLAB_RESOURCES", str(tmp_path))
    with pytest.raises(DatasetError, match="build_mnist5k.py") as caught:
        load_dataset("mnist-5k")
    assert str(tmp_path) in str(caught.value)


# --- digits, sizes and channels --------------------------------------------------------


def test_digits_loads_offline_as_8x8() -> None:
    ds = load_dataset("digits")
    assert ds.image_shape == (1, 8, 8) and ds.num_classes == 10
    assert len(ds.train) + len(ds.test) == 1797
    assert 0.19 < len(ds.test) / 1797 < 0.21
    assert ds.train.images.min() >= 0.0 and ds.train.images.max() == 1.0
    assert torch.bincount(ds.test.labels).min() >= 30  # stratified
    assert torch.equal(ds.test.labels, load_dataset("digits").test.labels)


def test_image_size_and_channels() -> None:
    ds = load_dataset("mnist-5k", image_size=32, channels=3)
    assert ds.image_shape == (3, 32, 32) and ds.test.images.shape == (1000, 3, 32, 32)
    assert ds.train.images.min() >= 0.0 and ds.train.images.max() <= 1.0
    assert torch.equal(ds.test.images[:, 0], ds.test.images[:, 2])
    small = load_dataset("digits", image_size=16)
    assert small.image_shape == (1, 16, 16)
    native = load_dataset("mnist-5k", image_size=28)
    assert torch.equal(native.test.images, load_dataset("mnist-5k").test.images)


@pytest.mark.parametrize("settings", [{"channels": 2}, {"image_size": 0}, {"image_size": 2.5}])
def test_bad_size_or_channels_is_a_dataset_error(settings: dict) -> None:
    with pytest.raises(DatasetError):
        load_dataset("mnist-5k", **settings)


# --- registry ----------------------------------------------------------------------------


def test_registry_lists_the_sources() -> None:
    names = dataset_names()
    assert names[0] == DEFAULT_DATASET
    assert {"mnist-5k", "digits", "mnist", "fashion-mnist", "kmnist", "emnist-letters"} <= set(names)


def test_unknown_name_lists_the_known_names() -> None:
    with pytest.raises(DatasetError) as caught:
        load_dataset("cifar-1000")
    message = str(caught.value)
    assert "cifar-1000" in message and "folder:PATH" in message
    assert all(name in message for name in dataset_names())


def test_registered_loader_is_loadable_and_conformed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "_SOURCES", dict(data._SOURCES))

    @data.register_dataset("noise")
    def _noise(request: data.DatasetRequest) -> ImageDataset:
        split = Split(torch.rand(6, 1, 10, 10), torch.arange(6) % 2)
        return ImageDataset(request.name, ["a", "b"], split, split)

    assert "noise" in dataset_names()
    ds = load_dataset("noise", image_size=20, channels=3)
    assert ds.name == "noise" and ds.image_shape == (3, 20, 20)
    with pytest.raises(RuntimeError):
        data.register_dataset("noise")(_noise)


# --- torchvision sets, offline -------------------------------------------------------------


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """No network: every URL opened is recorded and fails like a machine without internet."""
    opened: list[str] = []

    def refuse(request: object, *args: object, **kwargs: object) -> None:
        opened.append(getattr(request, "full_url", str(request)))
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return opened


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("emnist-letters", "EMNIST")])
def test_offline_download_names_dataset_folder_and_default(
    name: str, folder: str, tmp_path: Path, offline: list[str]
) -> None:
    with pytest.raises(DatasetError) as caught:
        load_dataset(name, root=tmp_path)
    message = str(caught.value)
    assert offline, "the download was attempted"
    assert repr(name) in message and str(tmp_path / folder / "raw") in message and "mnist-5k" in message


def test_no_download_never_goes_online(tmp_path: Path, offline: list[str]) -> None:
    with pytest.raises(DatasetError) as caught:
        load_dataset("fashion-mnist", root=tmp_path, download=False)
    message = str(caught.value)
    assert offline == []
    assert "'fashion-mnist'" in message and str(tmp_path / "FashionMNIST" / "raw") in message
    assert "mnist-5k" in message


def test_default_root_is_the_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: list[str]
) -> None:
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path))
    with pytest.raises(DatasetError, match="kmnist") as caught:
        load_dataset("kmnist")
    assert str(tmp_path / "datasets" / "KMNIST" / "raw") in str(caught.value)


def _write_idx(path: Path, array: np.ndarray) -> None:
    """An IDX (ubyte) file as MNIST distributes them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_torchvision_files_on_disk_load_with_official_split(tmp_path: Path, offline: list[str]) -> None:
    raw = tmp_path / "MNIST" / "raw"
    for part, n in (("train", 6), ("t10k", 4)):
        _write_idx(raw / f"{part}-images-idx3-ubyte", np.full((n, 28, 28), 255))
        _write_idx(raw / f"{part}-labels-idx1-ubyte", np.arange(n))
    ds = load_dataset("mnist", root=tmp_path, image_size=14)
    assert offline == []
    assert (len(ds.train), len(ds.test)) == (6, 4) and ds.image_shape == (1, 14, 14)
    assert ds.class_names == [str(d) for d in range(10)]
    assert ds.test.labels.tolist() == [0, 1, 2, 3] and ds.train.images.min() == 1.0


def test_emnist_letters_are_upright_and_labelled_a_to_z(tmp_path: Path, offline: list[str]) -> None:
    raw = tmp_path / "EMNIST" / "raw"
    stored = np.zeros((2, 28, 28))
    stored[:, 0, 5] = 255  # EMNIST stores images transposed
    for part in ("train", "test"):
        _write_idx(raw / f"emnist-letters-{part}-images-idx3-ubyte", stored)
        _write_idx(raw / f"emnist-letters-{part}-labels-idx1-ubyte", np.array([1, 26]))
    ds = load_dataset("emnist-letters", root=tmp_path, download=False)
    assert ds.class_names == list("abcdefghijklmnopqrstuvwxyz")
    assert ds.train.labels.tolist() == [0, 25]
    assert ds.train.images[0, 0, 5, 0] == 1.0 and ds.train.images[0, 0, 0, 5] == 0.0


# --- image folders ---------------------------------------------------------------------------


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """bird: 1 image; cat: 5 white RGB + a corrupt PNG; dog: 5 black gray + a .txt; hidden files."""
    root = tmp_path / "pets"
    for name in ("bird", "cat", "dog"):
        (root / name).mkdir(parents=True)
    Image.new("RGB", (20, 20), (128, 128, 128)).save(root / "bird" / "b.png")
    for i in range(5):
        Image.new("RGB", (40, 30), (255, 255, 255)).save(root / "cat" / f"{i:03}.png")
        Image.new("L", (28, 28), 0).save(root / "dog" / f"{i:03}.jpg")
    (root / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    (root / "dog" / "notes.txt").write_text("good dogs")
    (root / "dog" / ".DS_Store").write_bytes(b"\0\0")
    (root / ".thumbnails").mkdir()
    (root / "readme.txt").write_text("one sub-folder per class")
    return root


def test_folder_source_reads_classes_and_counts_skipped_files(image_folder: Path) -> None:
    ds = load_dataset(f"folder:{image_folder}")
    assert ds.class_names == ["bird", "cat", "dog"]
    assert ds.skipped == 2 and ds.info()["skipped"] == 2
    assert ds.image_shape == (1, 28, 28)
    assert (len(ds.train), len(ds.test)) == (9, 2)
    assert 0 in ds.train.labels.tolist()  # the single bird goes to train
    assert sorted(ds.test.labels.tolist()) == [1, 2]
    everything = torch.cat([ds.train.images, ds.test.images])
    labels = torch.cat([ds.train.labels, ds.test.labels])
    assert torch.all(everything[labels == 1] == 1.0) and torch.all(everything[labels == 2] == 0.0)
    assert ds.name.startswith("folder:") and ds.name.endswith("pets")


def test_folder_source_resizes_and_makes_rgb(image_folder: Path) -> None:
    ds = load_dataset(f"folder:{image_folder}", image_size=16, channels=3)
    assert ds.image_shape == (3, 16, 16) and ds.train.images.dtype == torch.float32
    again = load_dataset(f"folder:{image_folder}", image_size=16, channels=3)
    assert torch.equal(ds.test.labels, again.test.labels)


def test_folder_errors_say_what_was_expected(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "a_file.png").write_bytes(b"")
    (tmp_path / "junk" / "cat").mkdir(parents=True)
    (tmp_path / "junk" / "cat" / "x.txt").write_text("no image")
    for path in ("missing", "a_file.png", "empty", "junk"):
        with pytest.raises(DatasetError, match="one sub-folder per class") as caught:
            load_dataset(f"folder:{tmp_path / path}")
        assert str(tmp_path / path) in str(caught.value)
    with pytest.raises(DatasetError, match="folder:PATH"):
        load_dataset("folder:")


# --- folders on disk ----------------------------------------------------------------------------


def test_cache_dir_follows_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine" and (tmp_path / "mine").is_dir()
    if sys.platform != "win32":
        monkeypatch.delenv("LATENTLAB_CACHE")
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert cache_dir() == tmp_path / "xdg" / "latentlab" and cache_dir().is_dir()


def test_resources_dir_defaults_to_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LATENTLAB_RESOURCES", raising=False)
    assert (data.resources_dir() / "datasets" / "mnist-5k.npz").is_file()


# --- MNIST-style files found on disk: .gz as distributed, system and $LATENTLAB_DATA folders -----

FASHION_SYSTEM = Path("/usr/share/datasets/fashion-mnist")


def _write_idx_gz(path: Path, array: np.ndarray) -> None:
    import gzip

    _write_idx(path.with_suffix(""), array)
    path.write_bytes(gzip.compress(path.with_suffix("").read_bytes()))
    path.with_suffix("").unlink()


def _write_fake_set(folder: Path, files: list[str], n_train: int = 6, n_test: int = 4) -> None:
    """The four IDX files, gzipped (``NAME.gz``), of a tiny MNIST-like set: train images all 255, test all 0."""
    for name in files:
        name = name.removesuffix(".gz")
        n = n_train if name.startswith("train") else n_test
        value = 255 if name.startswith("train") else 0
        array = np.full((n, 28, 28), value) if "images" in name else np.arange(n) % 10
        _write_idx_gz(folder / f"{name}.gz", array)


@pytest.fixture
def no_shared_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh cache and no system or $LATENTLAB_DATA folders: only what the test puts there."""
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LATENTLAB_DATA", raising=False)
    monkeypatch.setattr(idx_files, "SYSTEM_DATA_DIRS", ())
    return tmp_path / "cache"


def test_the_offline_instructions_work_as_written(no_shared_data: Path, offline: list[str]) -> None:
    """Do literally what the message says: copy the named .gz files into the named folder, load again."""
    with pytest.raises(DatasetError) as caught:
        load_dataset("fashion-mnist")
    message = str(caught.value)
    assert offline and len(message.splitlines()) == 1
    files, folder = re.search(r"copy (.+?) into (\S+) ", message).groups()
    assert Path(folder) == no_shared_data / "datasets" / "FashionMNIST" / "raw"
    names = files.split(", ")
    assert len(names) == 4 and all(name.endswith("-ubyte.gz") for name in names)
    _write_fake_set(Path(folder), names)
    offline.clear()
    ds = load_dataset("fashion-mnist")
    assert offline == [], "nothing is fetched once the files are there"
    assert (len(ds.train), len(ds.test)) == (6, 4) and ds.class_names[0] == "T-shirt/top"
    assert ds.train.images.min() == 1.0 and ds.test.images.max() == 0.0


def test_latentlab_data_folder_is_searched_before_the_cache(
    no_shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: list[str]
) -> None:
    shared = tmp_path / "class-data"
    _write_fake_set(shared / "kmnist", list(data.IdxSet("KMNIST").files), n_train=3, n_test=2)
    monkeypatch.setenv("LATENTLAB_DATA", f"{tmp_path / 'nothing-here'}{os.pathsep}{shared}")
    ds = load_dataset("kmnist")
    assert (len(ds.train), len(ds.test)) == (3, 2) and ds.class_names[:2] == ["o", "ki"]
    assert offline == [] and not (no_shared_data / "datasets").exists()


@pytest.mark.skipif(not FASHION_SYSTEM.is_dir(),
                    reason="Debian's dataset-fashion-mnist package is not installed (/usr/share/datasets/fashion-mnist)")
def test_debian_fashion_mnist_package_is_found_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, offline: list[str]
) -> None:
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path))
    monkeypatch.delenv("LATENTLAB_DATA", raising=False)
    ds = load_dataset("fashion-mnist")
    assert offline == [] and (len(ds.train), len(ds.test)) == (60_000, 10_000)
    assert torch.bincount(ds.test.labels).tolist() == [1000] * 10 and ds.num_classes == 10
    assert ds.train.images.max() == 1.0


def test_emnist_is_read_from_its_zip_archive(no_shared_data: Path, tmp_path: Path, offline: list[str]) -> None:
    import gzip
    import zipfile

    raw = tmp_path / "EMNIST" / "raw"
    raw.mkdir(parents=True)
    with zipfile.ZipFile(raw / "gzip.zip", "w") as archive:
        for part in ("train", "test"):
            for kind, array in (("images", np.zeros((2, 28, 28))), ("labels", np.array([1, 26]))):
                name = f"emnist-letters-{part}-{kind}-idx{3 if kind == 'images' else 1}-ubyte"
                _write_idx(tmp_path / name, array)
                archive.writestr(f"gzip/{name}.gz", gzip.compress((tmp_path / name).read_bytes()))
    ds = load_dataset("emnist-letters", root=tmp_path, download=False)
    assert ds.train.labels.tolist() == [0, 25] and offline == []


def _one_line_dataset_error(*args: object, **kwargs: object) -> str:
    with pytest.raises(DatasetError) as caught:
        load_dataset(*args, **kwargs)
    message = str(caught.value)
    assert len(message.splitlines()) == 1, message
    return message


@pytest.mark.parametrize("damage, words", [
    (lambda b: b[: len(b) // 2], "ends early"),
    (lambda b: b"\x00\x00\x0d\x03" + b[4:], "not an IDX file of unsigned bytes"),
    (lambda b: b[:4] + struct.pack(">III", 60000, 99999, 99999) + b[16:], "GB of data"),
    (lambda b: b + b"extra", "longer than its header"),
    (lambda b: pickle.dumps({"not": "an idx file"}), "not an IDX file"),
])
def test_damaged_files_are_one_line_errors(
    no_shared_data: Path, tmp_path: Path, offline: list[str], damage: Callable[[bytes], bytes], words: str
) -> None:
    raw = tmp_path / "MNIST" / "raw"
    _write_fake_set(raw, list(data.IdxSet("MNIST").files))
    target = raw / "train-images-idx3-ubyte"
    _write_idx(target, np.full((6, 28, 28), 255))
    (raw / "train-images-idx3-ubyte.gz").unlink()
    target.write_bytes(damage(target.read_bytes()))
    message = _one_line_dataset_error("mnist", root=tmp_path)
    assert words in message and str(target) in message and "fresh copy" in message


def test_a_pickled_torchvision_cache_is_never_unpickled(tmp_path: Path, offline: list[str]) -> None:
    """torchvision's legacy processed/training.pt is a pickle: it is not even opened."""
    marker = tmp_path / "code-ran"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    processed = tmp_path / "MNIST" / "processed"
    processed.mkdir(parents=True)
    for name in ("training.pt", "test.pt"):
        (processed / name).write_bytes(pickle.dumps(Payload()))
    message = _one_line_dataset_error("mnist", root=tmp_path, download=False)
    assert "is not in" in message and not marker.exists()


# --- bad sizes, unknown users, folders that say little ---------------------------------------------


def test_huge_image_size_is_refused_before_anything_is_allocated() -> None:
    message = _one_line_dataset_error("mnist-5k", image_size=100_000)
    assert "100000" in message and "at most 256" in message


def test_image_size_that_does_not_fit_in_memory_is_refused_before_resizing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "memory_budget", lambda: 100_000_000)
    monkeypatch.setattr(data, "_conform", lambda *a: pytest.fail("resized before the memory check"))
    message = _one_line_dataset_error("mnist-5k", image_size=128)
    assert "GB of memory" in message and "smaller image size" in message


def test_unknown_user_in_a_folder_path_is_a_dataset_error() -> None:
    message = _one_line_dataset_error("folder:~no-such-user-latentlab/x")
    assert "~no-such-user-latentlab" in message and "full path" in message


def test_one_image_per_class_is_an_error_not_an_empty_test_split(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        Image.new("L", (8, 8), 255).save(tmp_path / name / "only.png")
    message = _one_line_dataset_error(f"folder:{tmp_path}")
    assert "at least two images in one class folder" in message


def test_images_over_the_pixel_limit_are_skipped_undecoded(
    image_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import ImageFile

    Image.new("L", (60, 60), 255).save(image_folder / "cat" / "huge.png")
    monkeypatch.setattr(data, "MAX_SOURCE_PIXELS", 50 * 50)
    loads: list[int] = []
    real_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: (loads.append(self.size[0]), real_load(self))[1])
    ds = load_dataset(f"folder:{image_folder}")
    assert 60 not in loads, "the oversized image was decoded"
    assert ds.skipped == 3
    assert any("skipped 1 images" in note and "huge.png" in note for note in ds.warnings)


@pytest.mark.skipif(sys.platform == "win32", reason="chmod 0 does not lock a folder on Windows")
def test_unreadable_class_folder_is_a_warning(image_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = image_folder / "dog"
    if os.geteuid() == 0:  # root reads any folder: refuse it as the kernel would refuse a student
        real_scandir = os.scandir

        def scandir(path: object = ".") -> object:
            if Path(path) == locked:
                raise PermissionError(13, "Permission denied", str(path))
            return real_scandir(path)

        monkeypatch.setattr(os, "scandir", scandir)
    locked.chmod(0)
    try:
        ds = load_dataset(f"folder:{image_folder}")
    finally:
        locked.chmod(0o755)
    assert ds.class_names == ["bird", "cat"]
    assert any("cannot read 1 folder" in note and "dog" in note for note in ds.warnings), ds.warnings


def test_the_command_line_prints_skipped_files_and_exits_2_on_dataset_errors(
    image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from latentlab.cli import main

    out = tmp_path / "pets.safetensors"
    assert main(["train", "--dataset", f"folder:{image_folder}", "--epochs", "1", "--hidden", "16",
                 "--no-judge", "--quiet", "--device", "cpu", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "latentlab: warning: skipped 2 of 13 files" in err and out.exists()
    for argv in (["--image-size", "100000"], ["--dataset", "folder:~no-such-user-latentlab/x"]):
        assert main(["train", *argv, "--quiet", "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.startswith("latentlab: error:"), err
