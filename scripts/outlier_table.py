"""How well does each outlier score find planted outliers? ROC AUC per score and kind.

    python scripts/outlier_table.py            # print the table and rewrite it in docs/density-models.md

The inliers are the 1,000 test digits of mnist-5k; the planted outliers are 200 test digits
turned by 90°, 200 turned by 180° and 200 inverted, plus 200 letters of emnist-letters
when that set is already downloaded (``latentlab.latent.planted``). Each score ranks them
all (``latentlab.latent.outliers.image_scores``); the AUC is the chance that a random
outlier of the kind scores higher than a random inlier.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from latentlab.data import load_dataset  # noqa: E402
from latentlab.latent.outliers import SCORE_UNITS, image_scores  # noqa: E402
from latentlab.latent.planted import PLANTED_KINDS, planted_outliers, roc_auc  # noqa: E402
from latentlab.models.checkpoint import load_checkpoint  # noqa: E402
from latentlab.pretrained import pretrained_dir  # noqa: E402

DOC = ROOT / "docs" / "density-models.md"
BEGIN = "<!-- outlier-table: begin (written by scripts/outlier_table.py) -->"
END = "<!-- outlier-table: end -->"
#: (shipped model, score, what the row is called)
ROWS = (
    ("ae", "reconstruction", "AE (2-D): reconstruction error"),
    ("ae-flow", "flow", "AE (2-D) + flow prior: −log p(code)"),
    ("vae", "reconstruction", "VAE (2-D): −ELBO"),
    ("vae-16d", "reconstruction", "VAE (16-D): −ELBO"),
    ("pixelcnn", "likelihood", "PixelCNN: −log p(x)"),
)


def measure() -> tuple[list[str], list[tuple[str, str, dict[str, float]]]]:
    torch.set_num_threads(1)
    dataset = load_dataset("mnist-5k")
    planted = planted_outliers(dataset.test.images, n=200, seed=0)
    kinds = [k for k in PLANTED_KINDS if k in planted.outliers]
    rows = []
    for key, score, title in ROWS:
        path = pretrained_dir() / f"{key}.safetensors"
        if not path.is_file():
            print(f"skipped {key}: {path} is not there", file=sys.stderr)
            continue
        model = load_checkpoint(path).model
        started = time.perf_counter()
        inliers = image_scores(model, planted.inliers, score)
        aucs = {kind: roc_auc(inliers, image_scores(model, planted.outliers[kind], score)) for kind in kinds}
        print(f"{title}: " + ", ".join(f"{k} {v:.3f}" for k, v in aucs.items())
              + f" ({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
        rows.append((title, SCORE_UNITS[score], aucs))
    return kinds, rows


def render(kinds: list[str], rows) -> str:
    lines = [f"| score (shipped model) | units | {' | '.join(kinds)} |", "|---|---|" + "---:|" * len(kinds)]
    for title, units, aucs in rows:
        lines.append(f"| {title} | {units} | " + " | ".join(f"{aucs[k]:.3f}" for k in kinds) + " |")
    if "letters" not in kinds:
        lines.append("")
        lines.append("(`emnist-letters` was not downloaded on the machine that made this table, so it has no "
                     "letters column.)")
    return "\n".join(lines)


def main() -> int:
    table = render(*measure())
    print(table)
    text = DOC.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{DOC} has no {BEGIN} ... {END} section")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")
    print(f"wrote the table in {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
