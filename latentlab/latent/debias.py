"""Debiasing a training set through a VAE's latent density (after Amini et al. 2019,
"Uncovering and Mitigating Algorithmic Bias through Learned Latent Structure").

The demo, step by step:

1. **Bias on purpose.** A stated rule keeps only a fraction of one group of training
   images: a whole class (``class``: e.g. 10% of the 8s), or the most slanted images of
   a class (``slant``: slant measured from the pixels, see ``slant``). The test split is
   left as it is.
2. **A VAE trained on the biased set** (the "before" model).
3. **Its latent density.** The training images are encoded (posterior means) and their
   density estimated, either with a normalizing flow on the codes (``flow``) or, as in
   Amini et al., with a histogram per latent dimension multiplied together (``hist``).
   Labels are not used: the rare group is found as the thinly populated part of the
   latent space.
4. **Weights.** Each training image is drawn with probability ∝ density^−α (α = 0: no
   change; α = 1: roughly uniform over the occupied latent space). The weights are capped
   at ``WEIGHT_CAP`` times their mean, so a handful of stray codes cannot take over.
5. **A second VAE**, same settings and seed, trained with weighted sampling (an epoch
   draws as many images as the set holds, with replacement).

Labels serve only to make the bias and to measure its effect: the reconstruction error
and the judge's accuracy on reconstructions of the rare group's *test* images, before
and after, next to the same figures for everything else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch

from latentlab.data import ImageDataset, Split
from latentlab.errors import ConfigError
from latentlab.models.ae import reconstruction_nats

RULE_KINDS = ("class", "slant")
DENSITIES = ("flow", "hist")
#: No image may weigh more than this many times the mean weight.
WEIGHT_CAP = 20.0
HIST_BINS = 30


# ------------------------------------------------------------------ the bias
def slant(images: torch.Tensor) -> np.ndarray:
    """The slant of each image's strokes, from its ink moments: how far the ink's x moves per
    row downwards (the shear that deskewing removes). Positive: the top leans right, as in /."""
    x = images.float().sum(1)  # (N, H, W)
    n, h, w = x.shape
    rows = torch.arange(h, dtype=torch.float32)[None, :, None]
    cols = torch.arange(w, dtype=torch.float32)[None, None, :]
    mass = x.sum((1, 2)).clamp_min(1e-6)
    my = (x * rows).sum((1, 2)) / mass
    mx = (x * cols).sum((1, 2)) / mass
    cov_xy = (x * (cols - mx[:, None, None]) * (rows - my[:, None, None])).sum((1, 2)) / mass
    var_y = (x * (rows - my[:, None, None]) ** 2).sum((1, 2)) / mass
    return (-cov_xy / var_y.clamp_min(1e-6)).numpy()


@dataclass(frozen=True)
class BiasRule:
    """Keep ``keep`` of a group of training images. ``class``: the group is class
    ``target``. ``slant``: the group is the ``share`` most slanted images of class ``target``
    (by ``slant``, the threshold set on the training split)."""

    kind: str = "class"
    target: int = 8
    keep: float = 0.1
    share: float = 0.3

    def __post_init__(self) -> None:
        if self.kind not in RULE_KINDS:
            raise ConfigError(f"unknown bias rule {self.kind!r}; choose one of {', '.join(RULE_KINDS)}")
        if not 0.0 < self.keep <= 1.0:
            raise ConfigError(f"the kept fraction must be in (0, 1], got {self.keep!r}")
        if not 0.0 < self.share < 1.0:
            raise ConfigError(f"the slanted share must be in (0, 1), got {self.share!r}")

    def describe(self, class_names: list[str]) -> str:
        name = class_names[self.target] if 0 <= self.target < len(class_names) else str(self.target)
        group = (f"class {name}" if self.kind == "class"
                 else f"the {self.share:.0%} most slanted (/) images of class {name}")
        return f"keep {self.keep:.0%} of {group} in the training set"

    def check(self, dataset: ImageDataset) -> None:
        if not 0 <= self.target < dataset.num_classes:
            raise ConfigError(f"class {self.target} is not in {dataset.name}: choose 0 to {dataset.num_classes - 1}")

    def slant_threshold(self, train: Split) -> float:
        in_class = (train.labels == self.target).numpy()
        return float(np.quantile(slant(train.images[in_class]), 1.0 - self.share))

    def group(self, split: Split, threshold: float | None) -> np.ndarray:
        """Boolean mask of the split's images in the group."""
        in_class = (split.labels == self.target).numpy()
        if self.kind == "class":
            return in_class
        return in_class & (slant(split.images) >= threshold)


def biased_indices(train: Split, group: np.ndarray, keep: float, seed: int) -> np.ndarray:
    """Indices of the training images the rule keeps: all outside the group, ``keep`` of it."""
    rng = np.random.default_rng(seed)
    members = np.nonzero(group)[0]
    kept = rng.choice(members, size=max(1, int(round(keep * len(members)))), replace=False) if len(members) else members
    return np.sort(np.concatenate([np.nonzero(~group)[0], kept]))


# ------------------------------------------------------------------ the weights
def log_density(codes: np.ndarray, method: str = "flow", seed: int = 0) -> np.ndarray:
    """log p(z) of each code under a density fitted to the codes themselves."""
    codes = np.asarray(codes, dtype=np.float64)
    if method == "flow":
        from latentlab.models.flow import LatentFlow

        if codes.shape[1] < 2:
            method = "hist"
        else:
            # validation=0: the weights are for these very codes, so fit them closely (no held-out
            # early stop; with one the rare group was weighed less, see docs/debiasing.md)
            flow = LatentFlow.fit(codes.astype(np.float32), seed=seed, steps=2000, validation=0.0)
            with torch.no_grad():
                return flow.log_prob(torch.from_numpy(codes).float()).double().numpy()
    if method != "hist":
        raise ConfigError(f"unknown density {method!r}; choose one of {', '.join(DENSITIES)}")
    total = np.zeros(len(codes))
    for d in range(codes.shape[1]):
        counts, edges = np.histogram(codes[:, d], bins=HIST_BINS)
        density = (counts + 1.0) / ((counts.sum() + HIST_BINS) * np.diff(edges))  # add-one smoothing
        which = np.clip(np.searchsorted(edges, codes[:, d], side="right") - 1, 0, HIST_BINS - 1)
        total += np.log(density[which])
    return total


def density_weights(log_p: np.ndarray, alpha: float) -> np.ndarray:
    """Sampling weights ∝ p^−α, scaled to mean 1, none above ``WEIGHT_CAP``: the weights are
    min(k·p^−α, cap) with k found (by bisection) so that their mean is 1."""
    if not 0.0 <= alpha <= 10.0:
        raise ConfigError(f"alpha must be from 0 to 10, got {alpha!r}")
    logw = -alpha * np.asarray(log_p, dtype=np.float64)
    w = np.exp(logw - logw.max())
    w = w / w.mean()
    # mean(min(k·w, cap)) grows with k: at most 1 at k = 1, the cap (≥ 1) once k·min(w) ≥ cap.
    low, high = 0.0, float(np.log(WEIGHT_CAP / w.min()))
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if np.minimum(np.exp(mid) * w, WEIGHT_CAP).mean() < 1.0 else (low, mid)
    return np.minimum(np.exp(high) * w, WEIGHT_CAP)


# ------------------------------------------------------------------ the figures
@dataclass
class GroupFigures:
    images: int
    recon: float  # mean reconstruction error, nats per image
    judge_accuracy: float  # share of reconstructions the judge labels with the true class


@torch.no_grad()
def group_figures(model, judge, split: Split, groups: dict[str, np.ndarray]) -> dict[str, GroupFigures]:
    """Reconstruction error and the judge's accuracy on reconstructions (from the posterior
    mean) for each named group of the split."""
    model.eval()
    x, y = split.images.to(model.device), split.labels
    mu = torch.cat([model.encode(x[i : i + 500]) for i in range(0, len(x), 500)])
    logits = torch.cat([model.decoder(mu[i : i + 500]) for i in range(0, len(mu), 500)])
    recon = reconstruction_nats(logits, x).cpu().numpy()
    cls, _ = judge.predict(torch.sigmoid(logits).to(judge.device))
    right = (cls.cpu() == y).numpy()
    return {name: GroupFigures(int(mask.sum()), float(recon[mask].mean()) if mask.any() else float("nan"),
                               float(right[mask].mean()) if mask.any() else float("nan"))
            for name, mask in groups.items()}


@dataclass
class DebiasReport:
    rule: str
    alpha: float
    density: str
    train_images: int  # in the biased training set
    group_train_images: int
    group_share_before: float  # share of the group among training draws, unweighted
    group_share_after: float  # the same with the weights (expected)
    before: dict[str, GroupFigures]
    after: dict[str, GroupFigures]
    #: Per image of the biased training set: its weight, its code under the first VAE, its
    #: label and whether it is in the group (for a view of the weights on the map).
    weights: np.ndarray = field(repr=False)
    codes: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    in_group: np.ndarray = field(repr=False)

    @property
    def accuracy_gain(self) -> float:
        """Change of the judge's accuracy on the group's test reconstructions, in points."""
        return self.after["group"].judge_accuracy - self.before["group"].judge_accuracy

    def summary(self) -> dict:
        """JSON-ready figures (no per-image arrays)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("weights", "codes", "labels", "in_group")}
        out["accuracy_gain"] = self.accuracy_gain
        return out


def train_vae(dataset: ImageDataset, *, latent_dim: int, hidden: int, epochs: int, seed: int,
              weights: np.ndarray | None = None, callbacks=(), control=None):
    """One VAE on ``dataset`` (its training split possibly weighted), as ``latentlab train`` would."""
    from latentlab.models.registry import create_model, make_config
    from latentlab.training.trainer import Trainer, TrainSettings

    torch.manual_seed(seed)
    model = create_model(make_config("vae", image_shape=list(dataset.image_shape), num_classes=dataset.num_classes,
                                     latent_dim=latent_dim, hidden=hidden))
    settings = TrainSettings(epochs=epochs, seed=seed, device="cpu", evaluate_every=0)
    trainer = Trainer(model, dataset, settings, callbacks=callbacks, control=control,
                      sample_weights=None if weights is None else torch.from_numpy(weights).float())
    result = trainer.fit()
    if result.status != "finished":
        raise ConfigError(f"training stopped: {result.message}")
    return model.eval()


def run_debias(
    dataset: ImageDataset,
    judge,
    rule: BiasRule,
    *,
    alpha: float = 1.0,
    density: str = "hist",
    latent_dim: int = 2,
    hidden: int = 256,
    epochs: int = 30,
    seed: int = 0,
    log: Callable[[str], None] = lambda message: None,
    callbacks=(),
    control=None,
) -> tuple[DebiasReport, object, object]:
    """The whole demo (see the module docstring): (report, biased VAE, debiased VAE)."""
    from latentlab.models.flow import encode_images

    rule.check(dataset)
    if density not in DENSITIES:
        raise ConfigError(f"unknown density {density!r}; choose one of {', '.join(DENSITIES)}")
    density_weights(np.zeros(1), alpha)  # checks alpha before any training
    threshold = rule.slant_threshold(dataset.train) if rule.kind == "slant" else None
    kept = biased_indices(dataset.train, rule.group(dataset.train, threshold), rule.keep, seed)
    train = Split(dataset.train.images[kept], dataset.train.labels[kept])
    biased = replace(dataset, train=train)
    in_group = rule.group(train, threshold)
    log(f"biased training set: {rule.describe(dataset.class_names)}: {len(train)} images, "
        f"{int(in_group.sum())} in the group")

    log("training the VAE on the biased set")
    before_model = train_vae(biased, latent_dim=latent_dim, hidden=hidden, epochs=epochs, seed=seed,
                             callbacks=callbacks, control=control)
    codes = encode_images(before_model, train.images).numpy()
    weights = density_weights(log_density(codes, density, seed), alpha)
    log(f"weights from the {density} density, alpha {alpha:g}: the group's share of draws "
        f"{in_group.mean():.1%} -> {weights[in_group].sum() / weights.sum():.1%}")

    log("training the VAE with the weights")
    after_model = train_vae(biased, latent_dim=latent_dim, hidden=hidden, epochs=epochs, seed=seed,
                            weights=weights, callbacks=callbacks, control=control)

    test_group = rule.group(dataset.test, threshold)
    groups = {"group": test_group, "others": ~test_group, "all": np.ones_like(test_group)}
    report = DebiasReport(
        rule=rule.describe(dataset.class_names), alpha=alpha, density=density,
        train_images=len(train), group_train_images=int(in_group.sum()),
        group_share_before=float(in_group.mean()),
        group_share_after=float(weights[in_group].sum() / weights.sum()),
        before=group_figures(before_model, judge, dataset.test, groups),
        after=group_figures(after_model, judge, dataset.test, groups),
        weights=weights, codes=codes, labels=train.labels.numpy(), in_group=in_group,
    )
    return report, before_model, after_model
