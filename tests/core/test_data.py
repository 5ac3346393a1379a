"""Dataset registry: bundled mnist-5k, sklearn digits, torchvision sets offline, image folders."""

from __future__ import annotations

import struct
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab import data
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
