"""Build the pretrained checkpoints shipped in resources/pretrained, reproducibly.

    python scripts/build_pretrained.py            # every model (about 25 min on a 2-core CPU)
    python scripts/build_pretrained.py vae gan    # only these
    python scripts/build_pretrained.py --check    # re-evaluate the shipped files, change nothing
    python scripts/build_pretrained.py --ladder   # print how far the test encodings move between rungs

Every model trains on the bundled mnist-5k with a fixed seed, on the CPU (so the files
do not depend on a GPU's arithmetic), and is stored with float16 weights. The weights are
rounded to float16 *before* the metrics are measured, so the metrics describe exactly
the file that ships. The metrics go to ``resources/pretrained/manifest.json`` and into
the table in ``resources/README.md``; ``tests/core/test_pretrained.py`` re-measures each
shipped checkpoint against that manifest.

The β ladder (0.5, 2, 4, 8) is not trained from scratch: each rung is fine-tuned from its
neighbour, starting at the β = 1 VAE, and then aligned to that neighbour by the signed
permutation of the latent axes that brings its test encodings closest (exact for a
diagonal posterior; see ``align_to``). So all rungs share one orientation of the latent
plane, and the window's β slider can step between them with the points gliding, not
jumping. The displacement between neighbouring rungs goes into ``resources/README.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from latentlab.data import load_dataset  # noqa: E402
from latentlab.models.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from latentlab.models.registry import create_model, make_config  # noqa: E402
from latentlab.pretrained import BETA_LADDER, SHIPPED, pretrained_dir  # noqa: E402
from latentlab.training.evaluate import evaluate, fit_sampling_mixture, sample_quality  # noqa: E402
from latentlab.training.judges import JUDGE_EPOCHS  # noqa: E402
from latentlab.training.trainer import Trainer, TrainingCallback, TrainSettings  # noqa: E402

DATASET = "mnist-5k"
SEED = 0
STORAGE_DTYPE = torch.float16
MANIFEST = "manifest.json"
README = ROOT / "resources" / "README.md"
TABLE_BEGIN = "<!-- pretrained-table: begin (written by scripts/build_pretrained.py) -->"
TABLE_END = "<!-- pretrained-table: end -->"
LADDER_BEGIN = "<!-- ladder-displacement: begin (written by scripts/build_pretrained.py) -->"
LADDER_END = "<!-- ladder-displacement: end -->"
MAIN_README = ROOT / "README.md"
LIKELIHOOD_BEGIN = "<!-- likelihood-table: begin (written by scripts/build_pretrained.py) -->"
LIKELIHOOD_END = "<!-- likelihood-table: end -->"
#: Epochs of fine-tuning per rung of the β ladder, from its neighbour.
LADDER_EPOCHS = 30

#: How each shipped model is made: family, config overrides, training settings.
#: MLP autoencoders use hidden 256 (half the default width) to keep the files small.
RECIPES: dict[str, dict] = {
    "judge": {"family": "judge", "config": {}, "epochs": JUDGE_EPOCHS},
    "vae": {"family": "vae", "config": {"hidden": 256}, "epochs": 60},
    "ae": {"family": "ae", "config": {"hidden": 256}, "epochs": 60},
    "dae": {"family": "ae", "config": {"hidden": 256, "denoise": 0.5}, "epochs": 60},
    "msvae": {"family": "msvae", "config": {"hidden": 256}, "epochs": 60},
    # The β ladder: each rung fine-tuned from its neighbour ("from"), starting at the β = 1 VAE.
    "vae-beta0.5": {"family": "vae", "config": {"beta": 0.5}, "from": "vae", "epochs": LADDER_EPOCHS},
    "vae-beta2": {"family": "vae", "config": {"beta": 2.0}, "from": "vae", "epochs": LADDER_EPOCHS},
    "vae-beta4": {"family": "vae", "config": {"beta": 4.0}, "from": "vae-beta2", "epochs": LADDER_EPOCHS},
    "vae-beta8": {"family": "vae", "config": {"beta": 8.0}, "from": "vae-beta4", "epochs": LADDER_EPOCHS},
    "vae-16d": {"family": "vae", "config": {"hidden": 256, "latent_dim": 16}, "epochs": 60},
    "gan": {"family": "gan", "config": {}, "epochs": 100},
    "wgan-gp": {"family": "wgan-gp", "config": {}, "epochs": 200},
    # β = 6: at β = 1 the narrow 1s' posterior covers only part of the prior, and the wide
    # styles decoded as a 1 are blobs the judge calls 8 (73% agreement for class 1); a larger
    # β makes every class's posterior cover the prior (resources/README.md).
    "cvae": {"family": "cvae", "config": {"hidden": 256, "beta": 6.0}, "epochs": 60},
    # The auxiliary classifier is the family's default (see models/cgan.py); its weight 6 and
    # a gentler mode seeking (0.1) make the 1s and 9s judged as asked (resources/README.md).
    "cgan": {"family": "cgan", "config": {"aux_weight": 6.0, "mode_seeking": 0.1}, "epochs": 100},
    # Density models (docs/density-models.md), not in the window's model menu (yet): a gated
    # PixelCNN, and the shipped AE with a RealNVP prior fitted to its codes (no retraining).
    "pixelcnn": {"family": "pixelcnn", "config": {"binarize_context": True}, "epochs": 4},
    "ae-flow": {"family": "ae", "prior_of": "ae", "prior": {"layers": 8, "hidden": 64, "steps": 3000}},
    # A 32-D autoencoder whose codes a 10-component mixture fits less well than a flow does:
    # trained, given its mixture, then a flow fitted to its codes with noise (docs/density-models.md).
    "ae32-flow": {"family": "ae", "config": {"hidden": 256, "latent_dim": 32}, "epochs": 60,
                  "prior": {"layers": 16, "hidden": 128, "noise": 0.3, "patience": 10, "steps": 3000}},
}
#: Shipped files that are not in ``latentlab.pretrained.MODELS`` (the window's menu).
EXTRAS = ("pixelcnn", "ae-flow", "ae32-flow")
#: Samples per source when the sampling sources of a model with a flow prior are compared:
#: the smallest class share of 1,000 samples moves by a point from seed to seed, of 5,000 by
#: 0.4 points (as much as the flow's lead over the mixture in 32-D); of 25,000 by ~0.2.
PRIOR_SAMPLES = 25_000

#: The metrics the manifest records per family, with how they are shown.
SHOWN: dict[str, tuple[tuple[str, str, str], ...]] = {
    "vae": (("test_neg_elbo", "−ELBO", "{:.1f}"), ("test_kl", "KL", "{:.2f}"),
            ("judge_recon_accuracy", "judge acc. on recon.", "{:.1%}"), ("judge_fid", "judge FID", "{:.0f}")),
    "msvae": (("test_neg_elbo", "−ELBO", "{:.1f}"), ("head_accuracy", "head acc.", "{:.1%}"),
              ("judge_recon_accuracy", "judge acc. on recon.", "{:.1%}")),
    "ae": (("test_recon", "recon.", "{:.1f}"), ("judge_recon_accuracy", "judge acc. on recon.", "{:.1%}"),
           ("judge_fid", "judge FID", "{:.0f}")),
    "gan": (("sample_min_class_share", "min class share", "{:.1%}"), ("judge_fid", "judge FID", "{:.0f}"),
            ("sample_mean_confidence", "judge confidence", "{:.1%}")),
    "judge": (("test_accuracy", "test accuracy", "{:.1%}"),),
}
SHOWN["wgan-gp"] = SHOWN["gan"]
SHOWN["cvae"] = (("test_neg_elbo", "−ELBO", "{:.1f}"), ("test_kl", "KL", "{:.2f}"),
                 ("sample_agreement", "judge agrees with the class", "{:.1%}"),
                 ("sample_min_class_agreement", "worst class", "{:.1%}"), ("judge_fid", "judge FID", "{:.0f}"))
SHOWN["cgan"] = (("sample_agreement", "judge agrees with the class", "{:.1%}"),
                 ("sample_min_class_agreement", "worst class", "{:.1%}"),
                 ("sample_min_class_confidence", "worst class's confidence", "{:.1%}"),
                 ("judge_fid", "judge FID", "{:.0f}"))
SHOWN["pixelcnn"] = (("test_nll", "test NLL", "{:.1f}"),)
#: By key, where a model is shown differently from its family.
SHOWN_BY_KEY = {
    "ae-flow": (("test_recon", "recon.", "{:.1f}"),
                ("mixture_judge_fid", "25,000 samples: mixture: judge FID", "{:.0f}"),
                ("mixture_sample_min_class_share", "min class share", "{:.1%}"),
                ("flow_judge_fid", "flow: judge FID", "{:.0f}"),
                ("flow_sample_min_class_share", "min class share", "{:.1%}")),
}
SHOWN_BY_KEY["ae32-flow"] = SHOWN_BY_KEY["ae-flow"]


def model_path(key: str) -> Path:
    return pretrained_dir() / f"{key}.safetensors" if key != "judge" else pretrained_dir() / f"judge-{DATASET}.safetensors"


def round_weights_(model: torch.nn.Module, dtype: torch.dtype = STORAGE_DTYPE) -> None:
    """Round every float32 weight and buffer to ``dtype`` in place (kept as float32)."""
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            if tensor.dtype == torch.float32:
                tensor.copy_(tensor.to(dtype).float())


def measure_all(model, dataset, judge) -> dict:
    """Every test metric, lists included (KL per dimension, class shares): the checkpoint's.
    With a flow prior, also the mixture's and the flow's sample figures (``mixture_…``,
    ``flow_…``, of ``PRIOR_SAMPLES`` samples each; an autoencoder's N(0, I) samples are
    noise) and the test codes' log-density under the mixture and the flow."""
    metrics = evaluate(model, dataset, judge=judge, seed=SEED)
    if model.flow_prior is not None:
        from latentlab.latent.priors import code_log_likelihoods, compare_sources

        for source, value in code_log_likelihoods(model, dataset.test.images).items():
            metrics[f"{source}_test_code_log_likelihood"] = value
        sources = compare_sources(model, judge, dataset, n=PRIOR_SAMPLES, seed=SEED, sources=["mixture", "flow"])
        for source, figures in sources.items():
            metrics.update({f"{source}_{k}": v for k, v in figures.items()})
    return metrics


def measure(model, dataset, judge) -> dict:
    """The scalar metrics: the manifest's, and what the test re-measures."""
    return {k: v for k, v in measure_all(model, dataset, judge).items() if isinstance(v, (int, float))}


class EpochLog(TrainingCallback):
    """One line per evaluated epoch: a long build shows where it is."""

    def __init__(self, key: str) -> None:
        self.key, self.started = key, time.perf_counter()

    def on_epoch(self, trainer, report) -> None:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in report.metrics.items() if isinstance(v, float))
        print(f"  {self.key} epoch {report.epoch}/{report.epochs} ({time.perf_counter() - self.started:.0f} s)"
              + (f": {shown}" if shown else ""), flush=True)


#: Samples per class for a conditional model's goals (issue 13: 1,000 prior samples per class).
GOAL_SAMPLES_PER_CLASS = 1000


def conditional_goals(model, dataset, judge) -> dict:
    """How often (and how confidently) the judge sees the requested class in 1,000 prior
    samples of each class; recorded in the manifest beside the metrics (``--check``
    re-measures them; the test reads them)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        q = sample_quality(model.eval(), judge, dataset, n=GOAL_SAMPLES_PER_CLASS * dataset.num_classes)
    return {"samples_per_class": GOAL_SAMPLES_PER_CLASS, "agreement": q["sample_agreement"],
            "class_agreement": q["sample_class_agreement"], "min_class_agreement": q["sample_min_class_agreement"],
            "min_class_confidence": q["sample_min_class_confidence"]}


def entry_for(key: str, model, dataset, judge, metrics: dict, **extra) -> dict:
    """A manifest entry: family, scalar metrics and, for a conditional model, its goals."""
    entry = {"family": RECIPES[key]["family"], "metrics": metrics, **extra}
    if model.conditional:
        entry["goals"] = conditional_goals(model, dataset, judge)
    return entry


class Progress(TrainingCallback):
    """Every ``every`` epochs, one line of the sample metrics, to watch a GAN's mode coverage."""

    def __init__(self, key: str, dataset, judge, every: int) -> None:
        self.key, self.dataset, self.judge, self.every = key, dataset, judge, every
        self.started = time.perf_counter()

    def on_epoch(self, trainer, report) -> None:
        if self.judge is None or report.epoch % self.every:
            return
        m = evaluate(trainer.model, self.dataset, judge=self.judge, seed=SEED + 1)
        shares = " ".join(f"{s:.2f}" for s in m.get("sample_class_agreement", m.get("sample_class_shares", [])))
        what = "agreement per class" if "sample_class_agreement" in m else "shares"
        print(f"  {self.key} epoch {report.epoch} ({time.perf_counter() - self.started:.0f} s): "
              f"min share {m.get('sample_min_class_share', float('nan')):.3f}, judge FID "
              f"{m.get('judge_fid', float('nan')):.0f}, confidence {m.get('sample_mean_confidence', float('nan')):.3f}, "
              f"{what} {shares}", flush=True)


def source_path(key: str, out_dir: Path | None) -> Path:
    """The checkpoint a fine-tuned recipe starts from: an experiment's own build if there is one."""
    if out_dir is not None and (out_dir / model_path(key).name).is_file():
        return out_dir / model_path(key).name
    return model_path(key)


def build(key: str, dataset, judge, watch_every: int = 0, out_dir: Path | None = None) -> dict:
    """Train, round, measure and save one model; ``out_dir`` (experiments) instead of the shipped folder."""
    recipe = RECIPES[key]
    if "prior_of" in recipe:
        return build_prior(key, dataset, judge, out_dir)
    torch.manual_seed(SEED)
    source = recipe.get("from")
    if source:  # a rung of the β ladder: its neighbour's weights, history and orientation
        start = load_checkpoint(source_path(source, out_dir))
        model, history = start.model, start.history
        for name, value in recipe["config"].items():
            setattr(model.config, name, value)
        model.config.validate()
        reference = encode_test_split(model, dataset)
    else:
        config = make_config(recipe["family"], image_shape=list(dataset.image_shape),
                             num_classes=dataset.num_classes, **recipe["config"])
        model, history, reference = create_model(config), [], None
    # Test curves for the window's loss plots: evaluation runs on a forked RNG in eval mode, so
    # it leaves the training (and the weights) exactly as without it. GANs skip it (slow).
    evaluate_every = 1 if model.has_encoder else 0
    settings = TrainSettings(epochs=recipe["epochs"], seed=SEED, device="cpu", evaluate_every=evaluate_every)
    started = time.perf_counter()
    callbacks = [EpochLog(key), *([Progress(key, dataset, judge, watch_every)] if watch_every else [])]
    trainer = Trainer(model, dataset, settings, callbacks=callbacks, history=history)
    result = trainer.fit()
    if result.status != "finished":
        raise SystemExit(f"{key}: training did not finish: {result.message}")
    seconds = time.perf_counter() - started
    model.eval()
    round_weights_(model)
    if reference is not None:
        axes, signs = align_to(model, reference, dataset.test.images)
        print(f"{key}: aligned to {source} by axes {axes}, signs {signs}", flush=True)
    fit_sampling_mixture(model, dataset)
    if "prior" in recipe:  # a flow prior too, fitted to the codes of the rounded weights
        from latentlab.models.flow import fit_latent_flow

        fit_latent_flow(model, dataset.train.images, seed=SEED, **recipe["prior"])
    all_metrics = measure_all(model, dataset, judge if key != "judge" else None)
    metrics = {k: v for k, v in all_metrics.items() if isinstance(v, (int, float))}
    save_checkpoint((out_dir / model_path(key).name) if out_dir else model_path(key), model.cpu(),
                    dataset=dataset.info(), metrics=all_metrics, history=trainer.history,
                    training={**settings.to_dict(), "recipe": recipe}, weights_dtype=STORAGE_DTYPE)
    print(f"{key}: trained in {seconds:.0f} s; " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()), flush=True)
    entry = entry_for(key, model, dataset, judge, metrics, train_seconds=round(seconds, 1))
    if "goals" in entry:
        print(f"{key}: goals {entry['goals']}", flush=True)
    return entry


def build_prior(key: str, dataset, judge, out_dir: Path | None = None) -> dict:
    """A shipped model with a flow prior fitted to its training codes (the model is not retrained)."""
    from latentlab.models.flow import fit_latent_flow

    recipe = RECIPES[key]
    start = load_checkpoint(source_path(recipe["prior_of"], out_dir))
    model = start.model
    started = time.perf_counter()
    fit_latent_flow(model, dataset.train.images, seed=SEED, **recipe["prior"])
    seconds = time.perf_counter() - started
    all_metrics = measure_all(model, dataset, judge)
    metrics = {k: v for k, v in all_metrics.items() if isinstance(v, (int, float))}
    save_checkpoint((out_dir / model_path(key).name) if out_dir else model_path(key), model.cpu(),
                    dataset=dataset.info(), metrics=all_metrics, history=start.history,
                    training={**start.training, "prior": recipe}, weights_dtype=STORAGE_DTYPE)
    print(f"{key}: flow fitted in {seconds:.0f} s; " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()), flush=True)
    return {"family": recipe["family"], "metrics": metrics, "train_seconds": round(seconds, 1)}


# ------------------------------------------------------------------ the β ladder's orientation
@torch.no_grad()
def encodings_of(model, images: torch.Tensor) -> np.ndarray:
    """Posterior means, (N, D) float64."""
    model.eval()
    return model.encode(images.to(model.device)).double().cpu().numpy()


def encode_test_split(model, dataset) -> np.ndarray:
    return encodings_of(model, dataset.test.images)


def best_signed_permutation(z: np.ndarray, reference: np.ndarray) -> tuple[tuple[int, ...], np.ndarray]:
    """The axis order and signs that bring ``z[:, axes] * signs`` closest to ``reference``.

    Only permutations and sign flips: a general rotation of a 2-D latent can be baked into
    the μ head and the decoder exactly, but not into a *diagonal* posterior's variances (a
    rotated diagonal covariance is not diagonal), so it would change the model's KL and
    ELBO. A signed permutation changes nothing but the names of the axes.
    """
    d = z.shape[1]
    best = None
    for axes in itertools.permutations(range(d)):
        for signs in itertools.product((1.0, -1.0), repeat=d):
            error = float(np.square(z[:, axes] * np.array(signs) - reference).sum())
            if best is None or error < best[0]:
                best = (error, axes, np.array(signs))
    return best[1], best[2]


@torch.no_grad()
def align_to(model, reference: np.ndarray, images: torch.Tensor) -> tuple[tuple[int, ...], list[float]]:
    """Relabel ``model``'s latent axes (in place) so its encodings of ``images`` best match ``reference``:
    new z = old z[:, axes] * signs, baked into the μ and log σ² heads and the decoder's first
    layer. The model computes exactly the same decodes, KL and ELBO as before."""
    axes, signs = best_signed_permutation(encodings_of(model, images), reference)
    index = torch.tensor(axes)
    sign = torch.tensor(signs, dtype=torch.float32)
    model.to_mu.weight.copy_(model.to_mu.weight[index] * sign[:, None])
    model.to_mu.bias.copy_(model.to_mu.bias[index] * sign)
    model.to_logvar.weight.copy_(model.to_logvar.weight[index])
    model.to_logvar.bias.copy_(model.to_logvar.bias[index])
    first = model.decoder.net[0]  # the Linear that takes z
    first.weight.copy_(first.weight[:, index] * sign[None, :])
    return tuple(int(a) for a in axes), [float(s) for s in signs]


def procrustes_rotation(z: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The orthogonal matrix R minimising ||z R - reference|| (rotation or reflection)."""
    u, _, vt = np.linalg.svd(z.T @ reference)
    return u @ vt


def ladder_displacements(dataset, directory: Path | None = None) -> list[dict]:
    """For each pair of neighbouring rungs: the mean distance a test image's encoding moves
    (as shipped, and after the best rotation, for comparison), and the encodings' RMS radius."""
    encodings = {}
    for key in BETA_LADDER:
        encodings[key] = encode_test_split(load_checkpoint(source_path(key, directory)).model, dataset)
    rows = []
    for a, b in zip(BETA_LADDER, BETA_LADDER[1:]):
        za, zb = encodings[a], encodings[b]
        rotated = zb @ procrustes_rotation(zb, za)
        rows.append({
            "from": a, "to": b,
            "shipped": float(np.linalg.norm(za - zb, axis=1).mean()),
            "best_rotation": float(np.linalg.norm(za - rotated, axis=1).mean()),
            "radius": float(np.sqrt(np.square(np.concatenate([za, zb])).sum(1).mean())),
        })
    return rows


def rung_beta(key: str) -> str:
    return "1" if key == "vae" else key.removeprefix("vae-beta")


#: The same measure on the ladder shipped before it was rebuilt this way (each rung trained
#: from scratch, 60 epochs; measured with ``--ladder`` at commit 11f5aab).
PREVIOUS_LADDER = {
    ("vae-beta0.5", "vae"): (0.7054, 0.7059),
    ("vae", "vae-beta2"): (0.2889, 0.2797),
    ("vae-beta2", "vae-beta4"): (0.3021, 0.2834),
    ("vae-beta4", "vae-beta8"): (1.3785, 0.3126),
}


def render_ladder(rows: list[dict]) -> str:
    lines = ["| rungs | mean displacement (as shipped: aligned) | after the best rotation | RMS radius "
             "| before: trained apart (after the best rotation) |",
             "|---|---:|---:|---:|---:|"]
    for row in rows:
        before = PREVIOUS_LADDER.get((row["from"], row["to"]))
        lines.append(f"| β {rung_beta(row['from'])} → {rung_beta(row['to'])} | {row['shipped']:.3f} | "
                     f"{row['best_rotation']:.3f} | {row['radius']:.2f} | "
                     + (f"{before[0]:.3f} ({before[1]:.3f} rotated) |" if before else "– |"))
    return "\n".join(lines)


def write_section(begin: str, end: str, body: str, readme: Path = README) -> None:
    text = readme.read_text()
    if begin not in text or end not in text:
        raise SystemExit(f"{readme} lacks the markers {begin!r} … {end!r}")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{begin}\n{body}\n{end}{tail}")


#: The test split's own entropy, Σ −x log x − (1 − x) log(1 − x) over pixels, mean per image:
#: the floor of every Bernoulli cross-entropy on these grey levels.
def target_entropy(dataset) -> float:
    x = dataset.test.images.double()
    h = -(torch.special.xlogy(x, x) + torch.special.xlogy(1 - x, 1 - x))
    return float(h.flatten(1).sum(1).mean())


def render_likelihood_table(manifest: dict, floor: float) -> str:
    """The PixelCNN's test NLL next to the VAEs' −ELBO (the main README's table)."""
    rows = [("`vae`", "VAE, 2-D latent", "−ELBO (bounds −log p(x) from above)", manifest.get("vae", {}), "test_neg_elbo"),
            ("`vae-16d`", "VAE, 16-D latent", "−ELBO (bounds −log p(x) from above)", manifest.get("vae-16d", {}),
             "test_neg_elbo"),
            ("`pixelcnn`", "gated PixelCNN", "−log p(x), exact", manifest.get("pixelcnn", {}), "test_nll")]
    lines = ["| shipped model | what | score | nats per test image |", "|---|---|---|---:|"]
    for key, title, what, entry, metric in rows:
        if metric in entry.get("metrics", {}):
            lines.append(f"| {key} | {title} | {what} | {entry['metrics'][metric]:.1f} |")
    lines.append(f"| | the targets' own entropy (the floor) | | {floor:.1f} |")
    return "\n".join(lines)


def render_table(manifest: dict) -> str:
    lines = ["| model | file | size | metrics (test split; samples: 1,000) |", "|---|---|---:|---|"]
    for key, entry in manifest.items():
        path = model_path(key)
        size = path.stat().st_size / 1e6 if path.exists() else float("nan")
        shown = SHOWN_BY_KEY.get(key, SHOWN[entry["family"]])
        text = "; ".join(f"{label} {fmt.format(entry['metrics'][name])}" for name, label, fmt in shown
                         if name in entry["metrics"])
        goals = entry.get("goals")
        if goals:
            text += (f"; {goals['samples_per_class']:,} samples per class: judge agrees {goals['agreement']:.1%}, "
                     f"worst class {goals['min_class_agreement']:.1%}, worst class's mean confidence in it "
                     f"{goals['min_class_confidence']:.1%}")
        lines.append(f"| {key} | `{path.name}` | {size:.2f} MB | {text} |")
    return "\n".join(lines)


def write_readme_table(manifest: dict) -> None:
    write_section(TABLE_BEGIN, TABLE_END, render_table(manifest))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("keys", nargs="*", help=f"models to build (default: all of {', '.join(RECIPES)})")
    parser.add_argument("--check", action="store_true", help="re-measure the shipped files against the manifest")
    parser.add_argument("--ladder", action="store_true",
                        help="print how far the test encodings move between neighbouring rungs of the β ladder")
    parser.add_argument("--measure-only", action="store_true",
                        help="measure the shipped files of KEYS and record them in the manifest, without training")
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                        help="try other settings: config overrides or epochs=N (needs --out-dir)")
    parser.add_argument("--out-dir", type=Path, help="write the files here, not into resources (experiments)")
    parser.add_argument("--watch", type=int, default=0, metavar="N",
                        help="print sample metrics every N epochs (another seed than the final ones)")
    args = parser.parse_args()
    unknown = [k for k in args.keys if k not in RECIPES]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(RECIPES)}")
    if args.set and not args.out_dir:
        parser.error("--set builds variants that differ from the recipes: give --out-dir too")
    for item in args.set:
        name, _, value = item.partition("=")
        for key in args.keys:
            target = RECIPES[key] if name == "epochs" else RECIPES[key]["config"]
            target[name] = json.loads(value)
    torch.set_num_threads(1)  # the same float reductions on every machine, whatever its core count
    dataset = load_dataset(DATASET)
    manifest_path = pretrained_dir() / MANIFEST
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    judge_file = model_path("judge")

    if args.ladder:
        for row in ladder_displacements(dataset, args.out_dir):
            print(f"β {rung_beta(row['from'])} -> {rung_beta(row['to'])}: mean displacement {row['shipped']:.4f}, "
                  f"after the best rotation {row['best_rotation']:.4f} (RMS radius {row['radius']:.3f})")
        return 0

    if args.out_dir:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        judge = load_checkpoint(judge_file).model
        for key in args.keys:
            entry = build(key, dataset, judge, args.watch, args.out_dir)
            (args.out_dir / f"{key}.json").write_text(json.dumps({**entry, "recipe": RECIPES[key]}, indent=1))
        return 0

    if args.check:
        judge = load_checkpoint(judge_file).model
        for key, entry in manifest.items():
            model = load_checkpoint(model_path(key)).model
            now = measure(model, dataset, judge if key != "judge" else None)
            if "goals" in entry:
                goals = conditional_goals(model, dataset, judge)
                now.update({f"goals.{k}": v for k, v in goals.items() if isinstance(v, float)})
                listed = {**entry["metrics"], **{f"goals.{k}": v for k, v in entry["goals"].items()
                                                 if isinstance(v, float)}}
            else:
                listed = entry["metrics"]
            worst = max(abs(now[k] - v) / max(abs(v), 1e-9) for k, v in listed.items())
            print(f"{key}: largest relative difference from the manifest {worst:.2e}")
        return 0

    keys = args.keys or list(RECIPES)
    if args.measure_only:  # record the metrics of files already built, without retraining
        for key in keys:
            judge = load_checkpoint(judge_file).model if key != "judge" else None
            model = load_checkpoint(model_path(key)).model
            kept = {k: v for k, v in manifest.get(key, {}).items() if k == "train_seconds"}
            manifest[key] = {**entry_for(key, model, dataset, judge, measure(model, dataset, judge)), **kept}
    elif "judge" in keys:  # everything else is measured by the judge: build it first
        manifest["judge"] = build("judge", dataset, None)
    judge = load_checkpoint(judge_file).model
    for key in keys:
        if key != "judge" and not args.measure_only:
            manifest[key] = build(key, dataset, judge, args.watch)
    built = {k: manifest[k] for k in keys}
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}  # another build may have written
    manifest.update(built)
    order = ["judge", *[m.key for m in SHIPPED], *EXTRAS]
    manifest = {k: manifest[k] for k in order if k in manifest}
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    write_readme_table(manifest)
    write_section(LIKELIHOOD_BEGIN, LIKELIHOOD_END, render_likelihood_table(manifest, target_entropy(dataset)),
                  MAIN_README)
    if any(k in BETA_LADDER for k in keys):
        write_section(LADDER_BEGIN, LADDER_END, render_ladder(ladder_displacements(dataset)))
    print(f"wrote {manifest_path} and the table in {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
