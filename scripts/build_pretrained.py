"""Build the pretrained checkpoints shipped in resources/pretrained, reproducibly.

    python scripts/build_pretrained.py            # every model (about 25 min on a 2-core CPU)
    python scripts/build_pretrained.py vae gan    # only these
    python scripts/build_pretrained.py --check    # re-evaluate the shipped files, change nothing

Every model trains on the bundled mnist-5k with a fixed seed, on the CPU (so the files
do not depend on a GPU's arithmetic), and is stored with float16 weights. The weights are
rounded to float16 *before* the metrics are measured, so the metrics describe exactly
the file that ships. The metrics go to ``resources/pretrained/manifest.json`` and into
the table in ``resources/README.md``; ``tests/core/test_pretrained.py`` re-measures each
shipped checkpoint against that manifest.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from latentlab.data import load_dataset  # noqa: E402
from latentlab.models.checkpoint import load_checkpoint, save_checkpoint  # noqa: E402
from latentlab.models.registry import create_model, make_config  # noqa: E402
from latentlab.pretrained import MODELS, pretrained_dir  # noqa: E402
from latentlab.training.evaluate import evaluate, fit_sampling_mixture  # noqa: E402
from latentlab.training.judges import JUDGE_EPOCHS  # noqa: E402
from latentlab.training.trainer import Trainer, TrainingCallback, TrainSettings  # noqa: E402

DATASET = "mnist-5k"
SEED = 0
STORAGE_DTYPE = torch.float16
MANIFEST = "manifest.json"
README = ROOT / "resources" / "README.md"
TABLE_BEGIN = "<!-- pretrained-table: begin (written by scripts/build_pretrained.py) -->"
TABLE_END = "<!-- pretrained-table: end -->"

#: How each shipped model is made: family, config overrides, training settings.
#: MLP autoencoders use hidden 256 (half the default width) to keep the files small.
RECIPES: dict[str, dict] = {
    "judge": {"family": "judge", "config": {}, "epochs": JUDGE_EPOCHS},
    "vae": {"family": "vae", "config": {"hidden": 256}, "epochs": 60},
    "ae": {"family": "ae", "config": {"hidden": 256}, "epochs": 60},
    "dae": {"family": "ae", "config": {"hidden": 256, "denoise": 0.5}, "epochs": 60},
    "msvae": {"family": "msvae", "config": {"hidden": 256}, "epochs": 60},
    "vae-beta0.5": {"family": "vae", "config": {"hidden": 256, "beta": 0.5}, "epochs": 60},
    "vae-beta2": {"family": "vae", "config": {"hidden": 256, "beta": 2.0}, "epochs": 60},
    "vae-beta4": {"family": "vae", "config": {"hidden": 256, "beta": 4.0}, "epochs": 60},
    "vae-beta8": {"family": "vae", "config": {"hidden": 256, "beta": 8.0}, "epochs": 60},
    "vae-16d": {"family": "vae", "config": {"hidden": 256, "latent_dim": 16}, "epochs": 60},
    "gan": {"family": "gan", "config": {}, "epochs": 100},
    "wgan-gp": {"family": "wgan-gp", "config": {}, "epochs": 200},
}

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


def model_path(key: str) -> Path:
    return pretrained_dir() / f"{key}.safetensors" if key != "judge" else pretrained_dir() / f"judge-{DATASET}.safetensors"


def round_weights_(model: torch.nn.Module, dtype: torch.dtype = STORAGE_DTYPE) -> None:
    """Round every float32 weight and buffer to ``dtype`` in place (kept as float32)."""
    with torch.no_grad():
        for tensor in [*model.parameters(), *model.buffers()]:
            if tensor.dtype == torch.float32:
                tensor.copy_(tensor.to(dtype).float())


def measure_all(model, dataset, judge) -> dict:
    """Every test metric, lists included (KL per dimension, class shares): the checkpoint's."""
    return evaluate(model, dataset, judge=judge, seed=SEED)


def measure(model, dataset, judge) -> dict:
    """The scalar metrics: the manifest's, and what the test re-measures."""
    return {k: v for k, v in measure_all(model, dataset, judge).items() if isinstance(v, (int, float))}


class Progress(TrainingCallback):
    """Every ``every`` epochs, one line of the sample metrics, to watch a GAN's mode coverage."""

    def __init__(self, key: str, dataset, judge, every: int) -> None:
        self.key, self.dataset, self.judge, self.every = key, dataset, judge, every
        self.started = time.perf_counter()

    def on_epoch(self, trainer, report) -> None:
        if self.judge is None or report.epoch % self.every:
            return
        m = evaluate(trainer.model, self.dataset, judge=self.judge, seed=SEED + 1)
        shares = " ".join(f"{s:.2f}" for s in m.get("sample_class_shares", []))
        print(f"  {self.key} epoch {report.epoch} ({time.perf_counter() - self.started:.0f} s): "
              f"min share {m.get('sample_min_class_share', float('nan')):.3f}, judge FID "
              f"{m.get('judge_fid', float('nan')):.0f}, shares {shares}", flush=True)


def build(key: str, dataset, judge, watch_every: int = 0, out_dir: Path | None = None) -> dict:
    """Train, round, measure and save one model; ``out_dir`` (experiments) instead of the shipped folder."""
    recipe = RECIPES[key]
    torch.manual_seed(SEED)
    config = make_config(recipe["family"], image_shape=list(dataset.image_shape),
                         num_classes=dataset.num_classes, **recipe["config"])
    model = create_model(config)
    # Test curves for the window's loss plots: evaluation runs on a forked RNG in eval mode, so
    # it leaves the training (and the weights) exactly as without it. GANs skip it (slow).
    evaluate_every = 0 if recipe["family"] in ("gan", "wgan-gp") else 1
    settings = TrainSettings(epochs=recipe["epochs"], seed=SEED, device="cpu", evaluate_every=evaluate_every)
    started = time.perf_counter()
    callbacks = [Progress(key, dataset, judge, watch_every)] if watch_every else []
    trainer = Trainer(model, dataset, settings, callbacks=callbacks)
    result = trainer.fit()
    if result.status != "finished":
        raise SystemExit(f"{key}: training did not finish: {result.message}")
    seconds = time.perf_counter() - started
    model.eval()
    round_weights_(model)
    fit_sampling_mixture(model, dataset)
    all_metrics = measure_all(model, dataset, judge if key != "judge" else None)
    metrics = {k: v for k, v in all_metrics.items() if isinstance(v, (int, float))}
    save_checkpoint((out_dir / model_path(key).name) if out_dir else model_path(key), model.cpu(),
                    dataset=dataset.info(), metrics=all_metrics, history=trainer.history,
                    training={**settings.to_dict(), "recipe": recipe}, weights_dtype=STORAGE_DTYPE)
    print(f"{key}: trained in {seconds:.0f} s; " + ", ".join(f"{k} {v:.4g}" for k, v in metrics.items()), flush=True)
    return {"family": recipe["family"], "metrics": metrics, "train_seconds": round(seconds, 1)}


def render_table(manifest: dict) -> str:
    lines = ["| model | file | size | metrics (test split; samples: 1,000) |", "|---|---|---:|---|"]
    for key, entry in manifest.items():
        path = model_path(key)
        size = path.stat().st_size / 1e6 if path.exists() else float("nan")
        shown = SHOWN[entry["family"]]
        text = "; ".join(f"{label} {fmt.format(entry['metrics'][name])}" for name, label, fmt in shown
                         if name in entry["metrics"])
        lines.append(f"| {key} | `{path.name}` | {size:.2f} MB | {text} |")
    return "\n".join(lines)


def write_readme_table(manifest: dict) -> None:
    text = README.read_text()
    if TABLE_BEGIN not in text or TABLE_END not in text:
        raise SystemExit(f"{README} lacks the table markers {TABLE_BEGIN!r} … {TABLE_END!r}")
    head, rest = text.split(TABLE_BEGIN, 1)
    _, tail = rest.split(TABLE_END, 1)
    README.write_text(f"{head}{TABLE_BEGIN}\n{render_table(manifest)}\n{TABLE_END}{tail}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("keys", nargs="*", help=f"models to build (default: all of {', '.join(RECIPES)})")
    parser.add_argument("--check", action="store_true", help="re-measure the shipped files against the manifest")
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
            worst = max(abs(now[k] - v) / max(abs(v), 1e-9) for k, v in entry["metrics"].items())
            print(f"{key}: largest relative difference from the manifest {worst:.2e}")
        return 0

    keys = args.keys or list(RECIPES)
    if args.measure_only:  # record the metrics of files already built, without retraining
        for key in keys:
            judge = load_checkpoint(judge_file).model if key != "judge" else None
            model = load_checkpoint(model_path(key)).model
            manifest[key] = {"family": RECIPES[key]["family"], "metrics": measure(model, dataset, judge)}
    elif "judge" in keys:  # everything else is measured by the judge: build it first
        manifest["judge"] = build("judge", dataset, None)
    judge = load_checkpoint(judge_file).model
    for key in keys:
        if key != "judge" and not args.measure_only:
            manifest[key] = build(key, dataset, judge, args.watch)
    built = {k: manifest[k] for k in keys}
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}  # another build may have written
    manifest.update(built)
    order = ["judge", *[m.key for m in MODELS]]
    manifest = {k: manifest[k] for k in order if k in manifest}
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    write_readme_table(manifest)
    print(f"wrote {manifest_path} and the table in {README}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
