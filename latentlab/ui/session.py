"""What the window has open: a model, its dataset, the judge, and the copy the GUI reads.

``Session.model`` is the trainable model. While a training run is active it belongs to
the training thread, so the GUI never reads it then: every decode on the GUI thread uses
``Session.display``, a separate CPU copy in eval mode that is refreshed from snapshots
(``apply_snapshot``). Worker threads get ``Session.snapshot`` and build their own copies.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from latentlab.data import DEFAULT_DATASET, ImageDataset, load_dataset
from latentlab.errors import ConfigError
from latentlab.models.base import LatentModel

from .jobs import ManifoldJob, ModelSnapshot, TerritoryJob, build_model, image_batch, image_for_display
from .map_points import MapPoints

#: How many prior samples stand in for the data on the map of a model without encoder.
PRIOR_POINTS = 2000
PRIOR_SEED = 0

_datasets: dict[tuple, ImageDataset] = {}
_judges: dict[tuple, LatentModel | None] = {}


def get_dataset(name: str = DEFAULT_DATASET, image_shape: tuple[int, int, int] | None = None) -> ImageDataset:
    """A dataset, loaded once per process (re-opening a checkpoint is then instant)."""
    channels, size = (image_shape[0], image_shape[1]) if image_shape else (1, None)
    key = (name, size, channels)
    if key not in _datasets:
        dataset = load_dataset(name, channels=channels)
        if size is not None and dataset.image_shape[1:] != tuple(image_shape[1:]):
            dataset = load_dataset(name, image_size=size, channels=channels)
        _datasets[key] = dataset
    return _datasets[key]


def find_judge_cached(dataset: ImageDataset) -> LatentModel | None:
    """The saved judge of ``dataset`` (CPU, eval mode) or None; looked up once per dataset."""
    key = (dataset.name, dataset.image_shape, tuple(dataset.class_names))
    if _judges.get(key) is None:
        from latentlab.training.judges import find_judge

        judge = find_judge(dataset, "cpu")
        _judges[key] = judge.eval() if judge is not None else None
    return _judges[key]


def remember_judge(dataset: ImageDataset, judge: LatentModel) -> None:
    _judges[(dataset.name, dataset.image_shape, tuple(dataset.class_names))] = judge


def to_uint8_images(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) floats in [0, 1] -> (N, H, W) or (N, H, W, 3) uint8 for hover previews."""
    arr = (images.detach().float().clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()
    return arr[:, 0] if arr.shape[1] == 1 else arr.transpose(0, 2, 3, 1)


class Session:
    def __init__(
        self,
        model: LatentModel,
        dataset: ImageDataset,
        *,
        judge: LatentModel | None = None,
        path: Path | None = None,
        history: list[dict] | None = None,
        metrics: dict | None = None,
        training: dict | None = None,
    ) -> None:
        if not model.has_decoder:
            raise ConfigError(
                f"a {model.family} checkpoint has no decoder, so there is no latent space to explore; "
                "open an ae, vae, msvae, gan or wgan-gp checkpoint"
            )
        if tuple(model.config.image_shape) != tuple(dataset.image_shape):
            raise ConfigError(
                f"the model makes {tuple(model.config.image_shape)} images but the dataset {dataset.name!r} "
                f"has {dataset.image_shape}; open it with a matching dataset"
            )
        self.model = model.cpu().eval()
        self.dataset = dataset
        self.judge = judge
        self.path = Path(path) if path is not None else None
        self.history: list[dict] = list(history or [])
        self.metrics: dict = dict(metrics or {})
        self.training: dict = dict(training or {})
        #: True when the weights differ from what is on disk.
        self.dirty = False
        self.snapshot = ModelSnapshot.of(self.model)
        self.display = build_model(self.snapshot)
        self.display.mixture = model.mixture
        self.test_images = to_uint8_images(dataset.test.images)

    # -------------------------------------------------------------- opening
    @classmethod
    def open(cls, path: str | Path) -> Session:
        """Load a checkpoint with its dataset and judge; raises LatentLabError subclasses."""
        from latentlab.models.checkpoint import load_checkpoint

        ckpt = load_checkpoint(path, device="cpu")
        model = ckpt.model
        name = (ckpt.dataset or {}).get("name") or DEFAULT_DATASET
        dataset = get_dataset(name, tuple(model.config.image_shape))
        return cls(model, dataset, judge=find_judge_cached(dataset), path=Path(path), history=ckpt.history,
                   metrics=ckpt.metrics, training=ckpt.training)

    # ---------------------------------------------------------------- facts
    @property
    def family(self) -> str:
        return self.model.family

    @property
    def latent_dim(self) -> int:
        return self.model.latent_dim

    @property
    def has_beta(self) -> bool:
        return self.model.has_beta

    @property
    def class_names(self) -> list[str]:
        return list(self.dataset.class_names)

    def describe(self) -> str:
        c = self.model.config
        return f"{self.family} · {c.backbone} · latent {c.latent_dim}"

    @property
    def epochs_done(self) -> float:
        """Epochs trained: the history's (a stopped run's last epoch counts its fraction), or
        the training record's for a checkpoint saved without per-epoch history (the shipped
        GANs; a run that failed in its first epoch: 0)."""
        from latentlab.training.progress import epochs_trained

        epochs = epochs_trained(self.history, self.training)
        return int(epochs) if epochs == int(epochs) else round(epochs, 2)

    def kl_per_dim(self) -> list[float] | None:
        values = self.metrics.get("kl_per_dim")
        return [float(v) for v in values] if isinstance(values, list) else None

    # ------------------------------------------------------- the GUI's copy
    def apply_snapshot(self, snapshot: ModelSnapshot) -> None:
        """Make the display copy hold these weights (from a training run, between steps)."""
        if snapshot.config != self.snapshot.config:
            self.display = build_model(snapshot)
        else:
            self.display.load_state_dict(snapshot.state)
        self.snapshot = snapshot

    @torch.inference_mode()
    def decode(self, z: np.ndarray) -> np.ndarray:
        """Decode latent points with the display copy: (N, C, H, W) float32 in [0, 1]."""
        zt = torch.from_numpy(np.ascontiguousarray(z, np.float32))
        return self.display.decode(zt).numpy()

    def decode_image(self, z: np.ndarray) -> np.ndarray:
        """One latent point -> an (H, W) or (H, W, 3) float image."""
        return image_for_display(self.decode(np.atleast_2d(z)))

    @torch.inference_mode()
    def judge_image(self, image: np.ndarray) -> tuple[int, float] | None:
        """The judge's (class, confidence) for an (H, W) or (H, W, 3) image; None without judge."""
        if self.judge is None:
            return None
        cls, conf = self.judge.predict(torch.from_numpy(image_batch(image)))
        return int(cls[0]), float(conf[0])

    def territory_job(self, projection, x_range, y_range, colors: np.ndarray,
                      resolutions: tuple[int, ...]) -> TerritoryJob:
        """The job (a compute lane's) painting the judge's class territory of a region."""
        return TerritoryJob(self.snapshot, self.judge, projection, x_range, y_range, colors, tuple(resolutions))

    def manifold_job(self, projection, x_range, y_range, n: int) -> ManifoldJob:
        """The job (a compute lane's) decoding an n x n grid over a region."""
        return ManifoldJob(self.snapshot, projection, x_range, y_range, n)

    @torch.inference_mode()
    def map_points(self) -> MapPoints:
        """Test-set encodings (posterior means), or fixed prior samples for a model without encoder."""
        if self.display.has_encoder:
            images = self.dataset.test.images
            z = torch.cat([self.display.encode(images[i : i + 500]) for i in range(0, len(images), 500)])
            return MapPoints(z.float().numpy(), self.dataset.test.labels.numpy().astype(np.int64), True)
        gen = torch.Generator().manual_seed(PRIOR_SEED)
        z = torch.randn(PRIOR_POINTS, self.latent_dim, generator=gen).numpy()
        return MapPoints(z, np.full(PRIOR_POINTS, -1, np.int64), False)

    # ----------------------------------------------------------------- saving
    def save(self, path: str | Path, *, copy: bool = False) -> Path:
        """Write the display copy's weights (the newest snapshot) atomically with the history.

        No optimiser state: the window's optimisers live in the trainer of a run, which is
        gone (or busy) when the user saves; a fine-tune starts a fresh Adam, as the CLI's
        ``--resume`` without optimiser state would. A ``copy`` (an autosave) leaves the
        session's path and its unsaved state as they were.
        """
        from latentlab.models.checkpoint import save_checkpoint

        written = Path(save_checkpoint(path, self.display, dataset=self.dataset.info(), metrics=self.metrics,
                                       history=self.history, training=self.training))
        if not copy:
            self.path = written
            self.dirty = False
        return written
