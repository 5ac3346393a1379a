"""Open a checkpoint for the first screen without PyTorch (see the package docstring).

``open_preview`` accepts a checkpoint (a ``.safetensors`` file, or a folder as the window
saves them) of a 1-D or 2-D ae, vae or msvae with the mlp backbone, trained on the
bundled ``mnist-5k``: all of the shipped 2-D autoencoders, the default VAE among them,
and such models trained in the window. It reads the weights with safetensors' own parser
(no pickle, bounds-checked), the bundled test images, and the bundled judge when it
matches. Anything else raises ``PreviewUnavailable`` with the
reason; the full checkpoint loader, which gives the user-facing errors, runs anyway.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from latentlab.latent.plane_grid import Territory, grid_points, mosaic
from latentlab.locations import resources_dir
from latentlab.preview.nets import ConvJudge, LayoutError, MLPAutoencoder
from latentlab.safe_text import showable_name

#: The bundled dataset (latentlab.data.DEFAULT_DATASET), the only one readable without PyTorch.
BUNDLED_DATASET = "mnist-5k"
BUNDLED_IMAGE_SHAPE = (1, 28, 28)
FAMILIES = ("ae", "vae", "msvae")
#: Larger latents open in PCA or UMAP, whose layouts the real session would redo.
MAX_LATENT_DIM = 2
#: The shipped models are ~1 MB; a file far larger than any preview-able model is not read.
MAX_FILE_BYTES = 16 * 2**20
#: models/checkpoint.py's layout: the JSON record under this metadata key of a single file,
#: or in config.json next to model.safetensors in a folder.
METADATA_KEY = "latentlab"
FOLDER_RECORD, FOLDER_WEIGHTS = "config.json", "model.safetensors"
MAX_RECORD_BYTES = 2**20
FORMAT_VERSION = 1


class PreviewUnavailable(Exception):
    """This checkpoint cannot be shown without PyTorch; the message says why."""


@dataclass
class Preview:
    """A model, its judge and test set, ready for the map, all in NumPy."""

    path: Path
    family: str
    latent_dim: int
    class_names: list[str]
    model: MLPAutoencoder
    judge: ConvJudge | None
    test_images: np.ndarray  # (N, H, W) uint8
    test_labels: np.ndarray  # (N,) int64
    #: The checkpoint's JSON record: "model" (its settings), "metrics", "history", "training",
    #: "dataset"; what the window's panels show about the model (ui/preview_session.py).
    record: dict = field(default_factory=dict)

    @property
    def has_beta(self) -> bool:
        return self.family in ("vae", "msvae")

    def describe(self) -> str:
        return f"{self.family} · mlp · latent {self.latent_dim}"

    def encode_test_set(self) -> np.ndarray:
        """(N, D) encodings (posterior means) of the test images, as ``Session.map_points``."""
        images = self.test_images.astype(np.float32)[:, None] / np.float32(255.0)
        return self.model.encode(images)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """(N, D) -> (N, C, H, W) in [0, 1]."""
        return self.model.decode(z)

    def territory(self, projection, x_range: tuple[float, float], y_range: tuple[float, float],
                  resolution: int) -> Territory:
        """The judge's class of the decode of every cell (latent/territory.py's, in NumPy)."""
        if self.judge is None:
            raise PreviewUnavailable("no judge for the class territory")
        z = projection.to_latent(grid_points(x_range, y_range, resolution, resolution))
        classes, confidence = self.judge.predict(self.decode(z))
        shape = (resolution, resolution)
        return Territory(classes.reshape(shape), confidence.reshape(shape), tuple(x_range), tuple(y_range))

    def manifold(self, projection, x_range: tuple[float, float], y_range: tuple[float, float], n: int) -> np.ndarray:
        """An n x n mosaic of decodes over the region (latent/territory.py's ``manifold``)."""
        return mosaic(self.decode(projection.to_latent(grid_points(x_range, y_range, n, n))), n)


def read_checkpoint(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """The JSON record and the tensors of a checkpoint (file or folder), as NumPy arrays."""
    from safetensors import safe_open

    folder = path.is_dir()
    weights = path / FOLDER_WEIGHTS if folder else path
    if (not folder and path.suffix != ".safetensors") or not weights.is_file():
        raise PreviewUnavailable("not a latentlab checkpoint file or folder")
    try:
        if weights.stat().st_size > MAX_FILE_BYTES:
            raise PreviewUnavailable("larger than any model the preview runs")
        with safe_open(str(weights), framework="numpy") as f:
            text = _folder_record_text(path) if folder else (f.metadata() or {}).get(METADATA_KEY)
            record = json.loads(text) if isinstance(text, str) else None
            if not isinstance(record, dict) or record.get("format_version") != FORMAT_VERSION:
                raise PreviewUnavailable("no latentlab record of a known format in the checkpoint")
            if folder:  # a folder keeps these beside config.json (models/checkpoint.py)
                for key, kind in (("metrics", dict), ("history", list)):
                    value = _folder_json(path / f"{key}.json")
                    record[key] = value if isinstance(value, kind) else kind()
            tensors = {name: f.get_tensor(name) for name in f.keys()}
    except PreviewUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - safetensors' and json's errors: the full loader explains
        raise PreviewUnavailable(f"unreadable ({type(exc).__name__}: {exc})") from None
    return record, tensors


def _folder_record_text(path: Path) -> str | None:
    record = path / FOLDER_RECORD
    if not record.is_file() or record.stat().st_size > MAX_RECORD_BYTES:
        return None
    return record.read_text(encoding="utf-8")


def _folder_json(path: Path):
    """A folder checkpoint's metrics.json or history.json, None when missing or unreadable."""
    if not path.is_file() or path.stat().st_size > MAX_RECORD_BYTES:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _int_in(value, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def _class_names(record: dict) -> list[str]:
    names = (record.get("dataset") or {}).get("class_names")
    if isinstance(names, list) and len(names) == 10 and all(showable_name(n) for n in names):
        return list(names)
    return [str(digit) for digit in range(10)]


def open_preview(path: str | Path) -> Preview:
    """The NumPy preview of the checkpoint at ``path``; raises PreviewUnavailable."""
    path = Path(path)
    record, tensors = read_checkpoint(path)
    config = record.get("model")
    dataset = record.get("dataset") or {}
    if not isinstance(config, dict) or not isinstance(dataset, dict):
        raise PreviewUnavailable("no model settings in the record")
    family = config.get("family")
    if family not in FAMILIES or config.get("backbone") != "mlp":
        raise PreviewUnavailable(f"a {family} with the {config.get('backbone')} backbone runs only in PyTorch")
    latent_dim, hidden = config.get("latent_dim"), config.get("hidden")
    if not _int_in(latent_dim, 1, MAX_LATENT_DIM) or not _int_in(hidden, 8, 8192):
        raise PreviewUnavailable(f"a {latent_dim}-D latent opens in a projection the preview does not compute")
    if (dataset.get("name") or BUNDLED_DATASET) != BUNDLED_DATASET \
            or config.get("image_shape") != list(BUNDLED_IMAGE_SHAPE):
        raise PreviewUnavailable("trained on a dataset other than the bundled mnist-5k")
    try:
        model = MLPAutoencoder(tensors, family=family, latent_dim=latent_dim,
                               image_shape=BUNDLED_IMAGE_SHAPE, hidden=hidden)
    except LayoutError as exc:
        raise PreviewUnavailable(f"weights of another layout: {exc}") from None
    names = _class_names(record)
    images, labels = bundled_test_split()
    return Preview(path, family, latent_dim, names, model, bundled_judge(names), images, labels, record)


def bundled_test_split() -> tuple[np.ndarray, np.ndarray]:
    """The bundled dataset's test images (N, 28, 28) uint8 and labels (N,) int64."""
    path = resources_dir() / "datasets" / f"{BUNDLED_DATASET}.npz"
    try:
        with np.load(path, allow_pickle=False) as arrays:
            images, labels = arrays["test_images"], arrays["test_labels"].astype(np.int64)
    except (OSError, KeyError, ValueError, EOFError) as exc:
        raise PreviewUnavailable(f"the bundled dataset is unreadable ({exc})") from None
    if images.dtype != np.uint8 or images.shape[1:] != BUNDLED_IMAGE_SHAPE[1:] or len(images) != len(labels):
        raise PreviewUnavailable("the bundled dataset has an unexpected layout")
    return images, labels


def bundled_judge(class_names: list[str]) -> ConvJudge | None:
    """The shipped judge of the bundled dataset, or None when it is missing or does not fit."""
    try:
        record, tensors = read_checkpoint(resources_dir() / "pretrained" / f"judge-{BUNDLED_DATASET}.safetensors")
        config, dataset = record.get("model") or {}, record.get("dataset") or {}
        if config.get("family") != "judge" or list(dataset.get("class_names") or []) != class_names \
                or list(dataset.get("image_shape") or []) != list(BUNDLED_IMAGE_SHAPE):
            return None
        features, classes = config.get("latent_dim", 128), config.get("num_classes", 10)
        if not _int_in(features, 1, 8192) or classes != len(class_names):
            return None
        return ConvJudge(tensors, image_shape=BUNDLED_IMAGE_SHAPE, feature_dim=features, num_classes=classes)
    except (PreviewUnavailable, LayoutError):
        return None
