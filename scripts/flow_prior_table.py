"""Does a flow prior sample an autoencoder better than its Gaussian mixture? Several seeds.

    python scripts/flow_prior_table.py resources/pretrained/ae32-flow.safetensors --seeds 0 1 2 3 4 --n 5000

For a checkpoint with a mixture and a flow prior, and for each seed, the judge looks at
``--n`` decoded samples of three sources: the *training codes* themselves (codes of
training images drawn at random with replacement, decoded: what a perfect prior would
give, the reference), the Gaussian mixture and the flow; ``--temperature`` adds the flow
sampled at u ~ N(0, T² I). Printed per seed, then the mean and the spread (min-max):
judge FID (lower is better) and the smallest class share (higher is better; 10% is even).
``--fit`` first fits a fresh flow to the training codes (``--layers``, ``--hidden``,
``--steps``, ``--noise``, ``--patience``, seeded by ``--fit-seed``) instead of using the
stored one; ``--markdown`` prints a table for docs. One CPU thread.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from latentlab.data import load_dataset  # noqa: E402
from latentlab.models.checkpoint import load_checkpoint  # noqa: E402
from latentlab.models.flow import encode_images, fit_latent_flow  # noqa: E402
from latentlab.pretrained import pretrained_dir  # noqa: E402
from latentlab.training.evaluate import frechet_distance, judge_features, judge_probabilities  # noqa: E402


@torch.no_grad()
def judge_view(model, judge, z: torch.Tensor, test_features: np.ndarray, num_classes: int) -> dict:
    images = torch.cat([model.decode(z[i : i + 1000].to(model.device)).cpu() for i in range(0, len(z), 1000)])
    classes = judge_probabilities(judge, images).argmax(1)
    shares = torch.bincount(classes, minlength=num_classes).float() / len(z)
    return {"fid": frechet_distance(judge_features(judge, images), test_features),
            "min_share": float(shares.min()), "shares": shares.tolist()}


@torch.no_grad()
def source_latents(model, source: str, n: int, seed: int, train_codes: torch.Tensor) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    if source == "training codes":
        return train_codes[torch.randint(len(train_codes), (n,), generator=gen)]
    if source == "mixture":
        return model.mixture.sample(n, generator=gen)
    temperature = 1.0 if source == "flow" else float(source.split("T=")[1].rstrip(")"))
    u = torch.randn(n, model.latent_dim, generator=gen) * temperature
    return model.flow_prior.to_latent(u)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=5000, help="samples per source and seed")
    parser.add_argument("--temperature", type=float, nargs="*", default=[], help="also the flow at these T")
    parser.add_argument("--fit", action="store_true", help="fit a fresh flow first (seeded by --fit-seed)")
    parser.add_argument("--layers", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--fit-seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    dataset = load_dataset("mnist-5k")
    judge = load_checkpoint(pretrained_dir() / "judge-mnist-5k.safetensors").model
    model = load_checkpoint(args.checkpoint).model.eval()
    if args.fit or model.flow_prior is None:
        started = time.process_time()
        fit_latent_flow(model, dataset.train.images, layers=args.layers, hidden=args.hidden, steps=args.steps,
                        noise=args.noise, patience=args.patience, seed=args.fit_seed)
        print(f"fitted a flow ({args.layers} layers of {args.hidden}, noise {args.noise:g}, seed {args.fit_seed}) "
              f"in {time.process_time() - started:.0f} s of CPU", flush=True)
    train_codes = encode_images(model, dataset.train.images)
    test_features = judge_features(judge, dataset.test.images)
    sources = ["training codes", "mixture", "flow", *[f"flow (T={t:g})" for t in args.temperature]]
    results: dict[str, list[dict]] = {s: [] for s in sources}
    for seed in args.seeds:
        for source in sources:
            z = source_latents(model, source, args.n, seed, train_codes)
            view = judge_view(model, judge, z, test_features, dataset.num_classes)
            results[source].append(view)
            print(f"seed {seed} {source:<16} FID {view['fid']:7.1f}  min share {view['min_share']:.2%}  "
                  f"shares {' '.join(f'{s:.3f}' for s in view['shares'])}", flush=True)
    print()
    if args.markdown:
        seeds = ", ".join(str(s) for s in args.seeds)
        print(f"| source | judge FID, seeds {seeds} | mean | smallest class share, seeds {seeds} | mean |")
        print("|---|---|---:|---|---:|")
    for source, views in results.items():
        fid = [v["fid"] for v in views]
        share = [v["min_share"] for v in views]
        if args.markdown:
            print(f"| {source} | {' / '.join(f'{f:.1f}' for f in fid)} | {np.mean(fid):.1f} | "
                  f"{' / '.join(f'{s:.1%}' for s in share)} | {np.mean(share):.1%} |")
        else:
            print(f"{source:<16} FID mean {np.mean(fid):7.1f} ({min(fid):.1f}-{max(fid):.1f})  min share mean "
                  f"{np.mean(share):.2%} ({min(share):.2%}-{max(share):.2%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
