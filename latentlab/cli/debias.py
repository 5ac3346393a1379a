"""``latentlab debias``: the latent-density debiasing demo (``latentlab.latent.debias``).

    latentlab debias                                  keep 10% of the 8s, α = 1, histogram density
    latentlab debias --rule slant --target 1 --keep 0.1 --share 0.3 --alpha 0.5 --density flow
    latentlab debias --out runs/debias                also save both VAEs, the weights and the report

Makes a training set biased by the stated rule, trains a VAE on it, weighs every training
image by its latent density^−α, trains a second VAE with those weights, and prints the
rare group's reconstruction error and the judge's accuracy on its reconstructions (test
split) before and after, next to the rest.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from latentlab.cli.checks import seed
from latentlab.errors import ConfigError
from latentlab.safe_text import clean, json_safe


def add_parser(sub) -> None:
    from latentlab.data import DEFAULT_DATASET
    from latentlab.latent.debias import DENSITIES, RULE_KINDS

    p = sub.add_parser(
        "debias",
        help="bias a training set on purpose, then reweigh it by latent density and compare two VAEs",
        description="The debiasing demo: keep only a fraction of one group of training images (a class, "
        "or the most slanted images of a class), train a VAE, weigh each training image by its latent "
        "density^-alpha, train a second VAE with the weights, and compare the group's reconstructions.",
    )
    p.add_argument("--rule", choices=RULE_KINDS, default="class",
                   help="class: the group is one class; slant: the most slanted images of one class (default class)")
    p.add_argument("--target", type=int, default=8, help="the class of the group (default 8)")
    p.add_argument("--keep", type=float, default=0.1, help="fraction of the group kept for training (default 0.1)")
    p.add_argument("--share", type=float, default=0.3,
                   help="slant: the share of the class's most slanted images that forms the group (default 0.3)")
    p.add_argument("--alpha", type=float, default=1.0, help="weights = density^-alpha, 0 to 10 (default 1)")
    p.add_argument("--density", choices=DENSITIES, default="hist",
                   help="flow: a RealNVP on the codes; hist: a histogram per latent dimension (default hist, as Amini et al.)")
    p.add_argument("--latent-dim", type=int, default=2, help="latent size of both VAEs (default 2)")
    p.add_argument("--hidden", type=int, default=256, help="hidden width of both VAEs (default 256)")
    p.add_argument("--epochs", type=int, default=30, help="epochs of each VAE (default 30)")
    p.add_argument("--seed", type=seed, default=0, help="random seed, 0 to 4294967295 (default 0)")
    p.add_argument("--dataset", default=DEFAULT_DATASET, help=f"dataset (default {DEFAULT_DATASET})")
    p.add_argument("--out", help="a folder for both VAEs, the weights (CSV) and the report (JSON)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(run=cmd_debias)


def cmd_debias(args: argparse.Namespace) -> int:
    from latentlab.data import load_dataset
    from latentlab.latent.debias import BiasRule, run_debias
    from latentlab.training.judges import get_judge

    if not 1 <= args.latent_dim <= 64:
        raise ConfigError(f"--latent-dim must be from 1 to 64, got {args.latent_dim}")
    if not 1 <= args.epochs <= 1000:
        raise ConfigError(f"--epochs must be from 1 to 1000, got {args.epochs}")
    out = Path(args.out).expanduser() if args.out else None
    if out is not None and out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"--out {clean(args.out)} exists and is not an empty folder; give a new folder name")
    rule = BiasRule(args.rule, args.target, args.keep, args.share)
    quiet = args.quiet or args.json
    log = (lambda message: None) if quiet else (lambda message: print(message, file=sys.stderr, flush=True))
    dataset = load_dataset(args.dataset)
    rule.check(dataset)
    judge = get_judge(dataset, "cpu", log=log)
    report, before, after = run_debias(
        dataset, judge, rule, alpha=args.alpha, density=args.density, latent_dim=args.latent_dim,
        hidden=args.hidden, epochs=args.epochs, seed=args.seed, log=log)
    if out is not None:
        save_outputs(out, report, before, after, dataset)
        log(f"saved both VAEs, weights.csv and report.json to {out}")
    if args.json:
        print(json.dumps(json_safe(report.summary()), indent=1, allow_nan=False))
    else:
        print(format_report(report, dataset.class_names[rule.target]))
    return 0


def format_report(report, group_name: str) -> str:
    b, a = report.before, report.after
    rows = [
        f"rule     {clean(report.rule)}: {report.train_images} training images, {report.group_train_images} in the group",
        f"weights  {report.density} density, alpha {report.alpha:g}: the group's share of training draws "
        f"{report.group_share_before:.1%} -> {report.group_share_after:.1%}",
        "",
        f"{'test images':<14} {'n':>5}   {'before: recon':>13} {'judge acc.':>10}   {'after: recon':>12} {'judge acc.':>10}",
    ]
    titles = {"group": f"group ({clean(group_name, 20)})", "others": "others", "all": "all"}
    for key, title in titles.items():
        rows.append(f"{title:<14} {b[key].images:>5}   {b[key].recon:>13.1f} {b[key].judge_accuracy:>10.1%}   "
                    f"{a[key].recon:>12.1f} {a[key].judge_accuracy:>10.1%}")
    rows.append("")
    rows.append(f"judge accuracy on the group's reconstructions: {b['group'].judge_accuracy:.1%} -> "
                f"{a['group'].judge_accuracy:.1%} ({100 * report.accuracy_gain:+.1f} points)")
    return "\n".join(rows)


def save_outputs(out: Path, report, before, after, dataset) -> None:
    import numpy as np

    from latentlab.models.checkpoint import save_checkpoint

    out.mkdir(parents=True, exist_ok=True)
    info = dataset.info()
    summary = report.summary()
    save_checkpoint(out / "biased.safetensors", before, dataset=info, training={"debias": summary})
    save_checkpoint(out / "debiased.safetensors", after, dataset=info, training={"debias": summary})
    columns = ["label", "in_group", "weight", *[f"z{d}" for d in range(report.codes.shape[1])]]
    table = np.column_stack([report.labels, report.in_group.astype(int), report.weights, report.codes])
    np.savetxt(out / "weights.csv", table, delimiter=",", header=",".join(columns), comments="",
               fmt=["%d", "%d", "%.6g", *["%.6g"] * report.codes.shape[1]])
    (out / "report.json").write_text(json.dumps(json_safe(summary), indent=1, allow_nan=False) + "\n")
