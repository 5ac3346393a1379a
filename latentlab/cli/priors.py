"""``latentlab fit-prior``: fit a latent prior (a flow or a Gaussian mixture) to a model's codes.

    latentlab fit-prior CKPT --kind flow [--out runs/ae-flow.safetensors]
    latentlab fit-prior CKPT --kind gmm --components 10

The model encodes its training split (posterior means), the prior is fitted to the codes
and attached to a copy of the checkpoint (``--out``; the original is not changed), so
``latentlab sample OUT --source flow`` draws from it. Then the judge compares the
sampling sources the model now has (N(0, I), the mixture, the flow) on ``--samples``
decoded images: class shares, smallest class share, mean confidence and judge FID, and
the mean log-density of the *test* codes under each fitted prior.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from latentlab.cli.checks import add_data_consent_flag, recorded_dataset, seed
from latentlab.errors import ConfigError
from latentlab.safe_text import clean, json_safe

KINDS = ("flow", "gmm")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "fit-prior",
        help="fit a flow or a Gaussian mixture to a model's latent codes; compare the sampling sources",
        description="Encode the training split, fit a latent prior to the codes (a RealNVP flow or a "
        "Gaussian mixture), save the model with it (--out), and let the judge compare the sampling "
        "sources: N(0, I), the mixture and the flow.",
    )
    p.add_argument("checkpoint", help="a model with an encoder (ae, vae, msvae)")
    p.add_argument("--kind", choices=KINDS, required=True, help="flow (RealNVP) or gmm (Gaussian mixture)")
    p.add_argument("--out", help="where to save the model with its prior: a folder or a .safetensors file "
                   "(default runs/NAME-KIND, in the checkpoint's form)")
    p.add_argument("--components", type=int, default=None, help="gmm: mixture components (default: one per class)")
    p.add_argument("--layers", type=int, default=None,
                   help="flow: coupling layers (default 8 for a 2-D latent, 16 above)")
    p.add_argument("--hidden", type=int, default=None,
                   help="flow: width of each coupling's network (default 64 for a 2-D latent, 128 above)")
    p.add_argument("--noise", type=float, default=None, help="flow: noise added to the codes while fitting, in "
                   "standard deviations of each dimension (default 0 for a 2-D latent, 0.3 above)")
    p.add_argument("--steps", type=int, default=3000, help="flow: optimisation steps (default 3000)")
    p.add_argument("--samples", type=int, default=1000, help="samples per source for the judge (default 1000)")
    p.add_argument("--seed", type=seed, default=0, help="random seed, 0 to 4294967295 (default 0)")
    p.add_argument("--dataset", default=None, help="fit to this dataset's codes (default: the checkpoint's)")
    p.add_argument("--no-judge", action="store_true", help="skip the comparison of sampling sources")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    add_data_consent_flag(p)
    p.set_defaults(run=cmd_fit_prior)


def default_out(checkpoint: str, kind: str) -> Path:
    path = Path(checkpoint)
    name = path.name[: -len(".safetensors")] if path.name.endswith(".safetensors") else path.name
    return Path("runs") / (f"{name}-{kind}" + (".safetensors" if path.name.endswith(".safetensors") else ""))


def _check_args(args: argparse.Namespace) -> None:
    from latentlab.models.flow import MAX_HIDDEN, MAX_LAYERS, MAX_NOISE

    if args.components is not None and not 1 <= args.components <= 100:
        raise ConfigError(f"--components must be from 1 to 100, got {args.components}")
    if args.layers is not None and not 1 <= args.layers <= MAX_LAYERS:
        raise ConfigError(f"--layers must be from 1 to {MAX_LAYERS}, got {args.layers}")
    if args.hidden is not None and not 2 <= args.hidden <= MAX_HIDDEN:
        raise ConfigError(f"--hidden must be from 2 to {MAX_HIDDEN}, got {args.hidden}")
    if args.noise is not None and not 0 <= args.noise <= MAX_NOISE:
        raise ConfigError(f"--noise must be from 0 to {MAX_NOISE:g} standard deviations, got {args.noise}")
    if not 1 <= args.steps <= 1_000_000:
        raise ConfigError(f"--steps must be from 1 to 1000000, got {args.steps}")
    if not 10 <= args.samples <= 100_000:
        raise ConfigError(f"--samples must be from 10 to 100000, got {args.samples}")
    out = Path(args.out or default_out(args.checkpoint, args.kind)).expanduser()
    if out.resolve() == Path(args.checkpoint).expanduser().resolve():
        raise ConfigError("--out is the checkpoint itself; give another name (the original stays as it is)")
    args.out = str(out)


def fit_prior(model, dataset, kind: str, *, components: int | None = None, steps: int = 3000, seed: int = 0,
              log=lambda message: None, **flow_options) -> None:
    """Fit the prior of ``kind`` to the codes of ``dataset``'s training split and attach it to ``model``;
    a flow's ``layers``, ``hidden`` and ``noise`` default to ``recommended_fit`` for the latent size."""
    from latentlab.models.flow import fit_latent_flow, recommended_fit
    from latentlab.models.mixture import fit_latent_mixture

    images = dataset.train.images
    if kind == "gmm":
        fit_latent_mixture(model, images.to(model.device), n_components=components or dataset.num_classes, seed=seed)
        return

    def progress(step: int, total: int, nll: float) -> None:
        if step % 500 == 0 or step == total:
            log(f"flow step {step}/{total}: held-out codes' -log p {nll:.3f} nats")

    options = {**recommended_fit(model.latent_dim), **{k: v for k, v in flow_options.items() if v is not None}}
    log(f"flow: {options['layers']} coupling layers of width {options['hidden']}, noise {options['noise']:g}")
    fit_latent_flow(model, images, steps=steps, seed=seed, on_progress=progress, **options)


def cmd_fit_prior(args: argparse.Namespace) -> int:
    from latentlab.data import load_dataset
    from latentlab.latent.priors import code_log_likelihoods, compare_sources
    from latentlab.models.checkpoint import load_checkpoint, save_checkpoint

    _check_args(args)
    log = (lambda message: None) if args.json else (lambda message: print(message, file=sys.stderr))
    ckpt = load_checkpoint(args.checkpoint)
    model = ckpt.model
    if not (model.has_encoder and model.has_decoder):
        raise ConfigError(f"a {model.family} model has no encoder, so it has no latent codes to fit a prior to; "
                          "use an ae, vae or msvae checkpoint")
    if args.kind == "flow" and model.latent_dim < 2:
        raise ConfigError("a flow prior needs a latent space of 2 or more dimensions; use --kind gmm")
    shape = tuple(model.config.image_shape)
    if args.dataset:
        dataset = load_dataset(args.dataset, image_size=shape[1], channels=shape[0])
    else:
        dataset = recorded_dataset(ckpt.dataset, shape, args.data_from_checkpoint)
    if tuple(dataset.image_shape) != shape:
        raise ConfigError(f"dataset images are {dataset.image_shape}, the model expects {shape}")
    started = time.perf_counter()
    fit_prior(model, dataset, args.kind, components=args.components, layers=args.layers, hidden=args.hidden,
              noise=args.noise, steps=args.steps, seed=args.seed, log=log)
    log(f"fitted a {args.kind} prior to {len(dataset.train)} codes in {time.perf_counter() - started:.1f} s")
    metrics = dict(ckpt.metrics)
    likelihoods = code_log_likelihoods(model, dataset.test.images)
    for source, value in likelihoods.items():
        metrics[f"{source}_test_code_log_likelihood"] = value
    comparison = {}
    if not args.no_judge:
        from latentlab.training.judges import get_judge

        comparison = compare_sources(model, get_judge(dataset, "cpu", log=log), dataset, n=args.samples, seed=args.seed)
        for source, figures in comparison.items():
            metrics.update({f"{source}_{k}": v for k, v in figures.items()})
    path = save_checkpoint(args.out, model, dataset=ckpt.dataset, metrics=metrics, history=ckpt.history,
                           training=ckpt.training)
    if args.json:
        print(json.dumps(json_safe({"out": str(path), "code_log_likelihood": likelihoods,
                                    "sources": comparison}), indent=1, allow_nan=False))
        return 0
    for source, value in likelihoods.items():
        print(f"{source:<8} test codes' mean log-density {value:.3f} nats per code")
    if comparison:
        print(format_comparison(comparison, dataset.class_names))
    print(f"saved {clean(path)} (sample from it: latentlab sample {clean(path)} --source {args.kind.replace('gmm', 'mixture')} "
          "--out grid.png)")
    return 0


SOURCE_TITLES = {"prior": "N(0, I)", "mixture": "mixture", "flow": "flow"}


def format_comparison(comparison: dict, class_names: list[str]) -> str:
    """One row per sampling source: smallest class share, mean confidence, judge FID, shares."""
    header = f"{'source':<9} {'min share':>9} {'confidence':>10} {'judge FID':>9}  class shares ({' '.join(class_names)})"
    rows = [clean(header, 200)]
    for source, m in comparison.items():
        shares = " ".join(f"{s:.2f}" for s in m["sample_class_shares"])
        rows.append(f"{SOURCE_TITLES.get(source, source):<9} {m['sample_min_class_share']:>9.1%} "
                    f"{m['sample_mean_confidence']:>10.1%} {m['judge_fid']:>9.1f}  {shares}")
    return "\n".join(rows)
