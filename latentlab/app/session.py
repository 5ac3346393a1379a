"""What the window has open: a model, its dataset, the judge, and the copy the GUI reads.

``Session.model`` is the trainable model. While a training run is active it belongs to
the training thread, so the GUI never reads it then: every decode on the GUI thread uses
``Session.display``, a separate CPU copy in eval mode that is refreshed from snapshots
(``apply_snapshot``). Worker threads get ``Session.snapshot`` and build their own copies.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from latentlab.app.caches import AppCaches
from latentlab.app.jobs import ManifoldJob, ModelSnapshot, TerritoryJob, build_model, image_batch, image_for_display
from latentlab.app.map_points import MapPoints
from latentlab.data import DEFAULT_DATASET, ImageDataset
from latentlab.errors import ConfigError, DatasetError
from latentlab.models.base import LatentModel
from latentlab.recorded_data import (
    DataNotAllowed,
    UnreadDataset,
    load_recorded_dataset,
    recorded_name,
    unread_dataset,
)
from latentlab.safe_text import clean

#: How many prior samples stand in for the data on the map of a model without encoder.
PRIOR_POINTS = 2000
PRIOR_SEED = 0



def get_dataset(name: str = DEFAULT_DATASET, image_shape: tuple[int, int, int] | None = None, *,
                download: bool = True, caches: AppCaches | None = None) -> ImageDataset:
    """A dataset the user chose, loaded once per process (``AppCaches.datasets``: re-opening
    a checkpoint is then instant). A checkpoint's dataset goes through
    ``open_recorded_dataset`` instead."""
    return (caches or AppCaches.shared()).datasets.get(name, image_shape, download=download)


#: ``ask(refusal)``: whether the user allows reading the data a checkpoint names.
AskToRead = Callable[[DataNotAllowed], bool]


def open_recorded_dataset(dataset_record: dict, image_shape: tuple[int, int, int], num_classes: int,
                          ask: AskToRead | None = None, caches: AppCaches | None = None) -> ImageDataset:
    """The dataset a checkpoint records, as recorded_data.py allows.

    Bundled and cached sets load; a folder or a download only when ``ask`` says yes.
    Otherwise, or when loading fails, it is an empty ``UnreadDataset`` whose ``why`` the
    map's caption shows; the model opens all the same.
    """
    name = recorded_name(dataset_record)
    shown = clean(name, 120)

    def loader(n: str, download: bool) -> ImageDataset:
        return get_dataset(n, image_shape, download=download, caches=caches)

    try:
        try:
            return load_recorded_dataset(name, loader, allowed=False)
        except DataNotAllowed as refusal:
            if ask is None or not ask(refusal):
                return unread_dataset(dataset_record, image_shape, num_classes, (
                    f"its data ({shown}) was not loaded; loading it {refusal.reason}. "
                    "Open the checkpoint again and allow it to see the data."))
            return load_recorded_dataset(name, loader, allowed=True)
    except DatasetError as exc:
        return unread_dataset(dataset_record, image_shape, num_classes,
                              f"its data ({shown}) could not be loaded; {clean(exc, 300)}")


def get_recorded_dataset(name: str, image_shape: tuple[int, int, int],
                         caches: AppCaches | None = None) -> ImageDataset:
    """A dataset a checkpoint names, without asking: bundled, in the download cache, or
    already loaded in this process (the user allowed it when opening a model). Else
    DataNotAllowed, whose message says what reading it would do."""
    caches = caches or AppCaches.shared()
    loaded = caches.datasets.loaded(name, image_shape)
    if loaded is not None:
        return loaded
    return load_recorded_dataset(name, lambda n, download: caches.datasets.get(n, image_shape, download=download),
                                 allowed=False)


def find_judge_cached(dataset: ImageDataset, caches: AppCaches | None = None) -> LatentModel | None:
    """The saved judge of ``dataset`` (CPU, eval mode) or None (``AppCaches.judges``)."""
    return (caches or AppCaches.shared()).judges.find(dataset)


def remember_judge(dataset: ImageDataset, judge: LatentModel, caches: AppCaches | None = None) -> None:
    (caches or AppCaches.shared()).judges.remember(dataset, judge)


def to_uint8_images(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) floats in [0, 1] -> (N, H, W) or (N, H, W, 3) uint8 for hover previews."""
    arr = (images.detach().float().clamp(0, 1) * 255 + 0.5).to(torch.uint8).cpu().numpy()
    return arr[:, 0] if arr.shape[1] == 1 else arr.transpose(0, 2, 3, 1)


class Session:
    """The PyTorch session; implements ``latentlab.app.protocol.ExplorableSession``."""

    is_preview = False

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
        self.display.flow_prior = model.flow_prior  # saved with it (Density ▸ Fit a flow prior)
        self.test_images = to_uint8_images(dataset.test.images)
        #: The class a conditional model is asked for (the legend's picker); None otherwise.
        self.condition: int | None = 0 if model.conditional else None

    # -------------------------------------------------------------- opening
    @classmethod
    def open(cls, path: str | Path, ask: AskToRead | None = None, caches: AppCaches | None = None) -> Session:
        """Load a checkpoint with its dataset and judge; raises LatentLabError subclasses.

        Everything that can fail happens here, before the window swaps sessions. The
        dataset the checkpoint names is read only as ``open_recorded_dataset`` allows
        (``ask``: the window's question; None: never read a folder or download); without
        it the session has no data and ``data_note`` says why.
        """
        from latentlab.models.checkpoint import load_checkpoint

        ckpt = load_checkpoint(path, device="cpu")
        model = ckpt.model
        dataset = open_recorded_dataset(ckpt.dataset, tuple(model.config.image_shape),
                                        model.config.num_classes, ask, caches)
        judge = None if isinstance(dataset, UnreadDataset) else find_judge_cached(dataset, caches)
        return cls(model, dataset, judge=judge, path=Path(path), history=ckpt.history,
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
    def conditional(self) -> bool:
        """The model is told the class (``condition``) and its latent holds only the style."""
        return self.model.conditional

    @property
    def can_discriminate(self) -> bool:
        """The model has a discriminator (or critic) whose view of the plane can be painted."""
        return callable(getattr(self.model, "discriminate", None))

    def set_condition(self, cls: int) -> None:
        """Ask a conditional model for class ``cls`` from now on (decodes, grid, territory)."""
        self.condition = self.model.check_class(int(cls))

    @property
    def class_names(self) -> list[str]:
        return list(self.dataset.class_names)

    @property
    def beta(self) -> float | None:
        return float(self.model.config.beta) if self.model.has_beta else None

    @property
    def config(self) -> dict:
        return self.model.config.to_dict()

    @property
    def loss_parts(self) -> tuple[str, ...]:
        return tuple(self.model.loss_parts)

    def dataset_counts(self) -> tuple[str, int | None, int | None]:
        if not self.has_data:
            return self.dataset.name, None, None
        return self.dataset.name, len(self.dataset.train), len(self.dataset.test)

    @property
    def data_note(self) -> str:
        """Why the session has no data ("" when it has), e.g. "its data (folder:/x) was not
        loaded; ...": a checkpoint's dataset that was not allowed to be read, or could not
        be (recorded_data.py)."""
        return self.dataset.why if isinstance(self.dataset, UnreadDataset) else ""

    @property
    def has_data(self) -> bool:
        return not self.data_note

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
        """The per-dimension KL of the metrics, when it holds a finite number per dimension."""
        values = self.metrics.get("kl_per_dim")
        if not isinstance(values, list) or len(values) != self.latent_dim:
            return None
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            return None
        return [float(v) for v in values]

    # ------------------------------------------------------- the GUI's copy
    def apply_snapshot(self, snapshot: ModelSnapshot) -> None:
        """Make the display copy hold these weights (from a training run, between steps)."""
        if snapshot.config != self.snapshot.config:
            self.display = build_model(snapshot)
        else:
            self.display.load_state_dict(snapshot.state)
        self.snapshot = snapshot
        # New weights move the codes: a flow prior fitted to the old ones no longer fits them.
        self.model.flow_prior = self.display.flow_prior = None

    @torch.inference_mode()
    def decode(self, z: np.ndarray, y: int | None = None) -> np.ndarray:
        """Decode latent points with the display copy: (N, C, H, W) float32 in [0, 1] (a
        conditional model under class ``y``, by default the ``condition``)."""
        zt = torch.from_numpy(np.ascontiguousarray(z, np.float32))
        return self.display.decode(zt, self.condition if y is None else y).numpy()

    @torch.inference_mode()
    def analogy_row(self, z: np.ndarray) -> np.ndarray:
        """One latent point decoded under every class (a conditional model): (K, C, H, W),
        one batched forward pass."""
        from latentlab.latent.conditional import analogy_row

        return analogy_row(self.display, torch.from_numpy(np.asarray(z, np.float32).reshape(-1))).numpy()

    def decode_image(self, z: np.ndarray, y: int | None = None) -> np.ndarray:
        """One latent point -> an (H, W) or (H, W, 3) float image."""
        return image_for_display(self.decode(np.atleast_2d(z), y))

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
        return TerritoryJob(self.snapshot, self.judge, projection, x_range, y_range, colors, tuple(resolutions),
                            condition=self.condition)

    def manifold_job(self, projection, x_range, y_range, n: int) -> ManifoldJob:
        """The job (a compute lane's) decoding an n x n grid over a region."""
        return ManifoldJob(self.snapshot, projection, x_range, y_range, n, condition=self.condition)

    @torch.inference_mode()
    def map_points(self) -> MapPoints:
        """Test-set encodings (posterior means; a conditional model encodes each image under
        its own label), or fixed prior samples for a model without encoder (a conditional
        one's are asked for the classes in turn)."""
        if self.display.has_encoder:
            images, labels = self.dataset.test.images, self.dataset.test.labels
            if len(images) == 0:  # opened without data (data_note says why): no points
                return MapPoints(np.zeros((0, self.latent_dim), np.float32), np.zeros(0, np.int64), True)
            y = labels if self.conditional else None
            z = torch.cat([self.display.encode(images[i : i + 500], None if y is None else y[i : i + 500])
                           for i in range(0, len(images), 500)])
            return MapPoints(z.float().numpy(), labels.numpy().astype(np.int64), True)
        gen = torch.Generator().manual_seed(PRIOR_SEED)
        z = torch.randn(PRIOR_POINTS, self.latent_dim, generator=gen).numpy()
        if self.conditional:
            requested = np.arange(PRIOR_POINTS, dtype=np.int64) % self.model.config.num_classes
            return MapPoints(z, requested, False, requested=True)
        return MapPoints(z, np.full(PRIOR_POINTS, -1, np.int64), False)

    # ----------------------------------------------------------------- saving
    def save(self, path: str | Path, *, copy: bool = False) -> Path:
        """Write the display copy's weights (the newest snapshot) atomically with the history.

        No optimiser state: the window's optimisers live in the trainer of a run, which is
        gone (or busy) when the user saves; a fine-tune starts a fresh Adam, as the CLI's
        ``--resume`` without optimiser state would. Refuses a path inside the installed
        package: the shipped models are templates. A ``copy`` (an autosave) leaves the
        session's path and its unsaved state as they were.
        """
        from latentlab.locations import inside_package
        from latentlab.models.checkpoint import save_checkpoint

        if inside_package(path):
            raise ConfigError(f"{path} is inside the installed latentlab, whose files are never overwritten; "
                              "save the model elsewhere")
        written = Path(save_checkpoint(path, self.display, dataset=self.dataset.info(), metrics=self.metrics,
                                       history=self.history, training=self.training))
        if not copy:
            self.path = written
            self.dirty = False
        return written
