"""The ``latentlab`` command's parsers, its dispatch and the train / info / encode commands;
the other commands live beside it (sample.py, interpolate.py, priors.py, debias.py), with
the checks of their arguments (checks.py) and the progress bar (progress.py)."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from latentlab.cli.families import (
    add_model_flags,
    apply_live_settings,
    describe_model,
    family_help,
    format_lines,
    settings_from_flags,
)
from latentlab.cli.progress import ProgressBar
from latentlab.cli.checks import (
    ArgumentParser,
    add_data_consent_flag,
    check_output,
    recorded_dataset,
    seed,
    unknown_command,
)
from latentlab.errors import LatentLabError
from latentlab.safe_text import clean, json_safe

SUBCOMMANDS = ("train", "info", "sample", "encode", "interpolate", "fit-prior", "debias")
EXIT_USAGE = 2
#: A reader that closed the pipe (``latentlab info X | head -2``): stop quietly, as a
#: process killed by SIGPIPE would (128 + 13).
EXIT_BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in SUBCOMMANDS:
            args = _subcommand_parser().parse_args(argv)
            code = args.run(args)
        else:
            if argv and not argv[0].startswith("-") and not os.path.lexists(argv[0]):
                raise unknown_command(argv[0], SUBCOMMANDS)
            code = _run_gui(_gui_parser().parse_args(argv))
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except LatentLabError as exc:
        print(f"latentlab: error: {clean(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as exc:  # Ctrl+C outside training, or a second stop signal in it
        print(f"latentlab: {clean(str(exc)) or 'interrupted'}", file=sys.stderr)
        return 128 + getattr(exc, "signum", 2)
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE


def _discard_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass


def say(text: str = "") -> None:
    """Print a line that may hold text from a file, control characters escaped."""
    print(clean(text))


# --------------------------------------------------------------------------- GUI
def _gui_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="latentlab",
        description="Explore the latent spaces of autoencoders, VAEs and GANs. "
        f"Subcommands for headless work: {', '.join(SUBCOMMANDS)} (latentlab SUBCOMMAND --help).",
    )
    p.add_argument("checkpoint", nargs="?", help="a checkpoint (folder or .safetensors file) to open")
    p.add_argument("--screenshot", metavar="PNG", help="render the window offscreen to PNG and exit")
    return p


def _run_gui(args: argparse.Namespace) -> int:
    from latentlab.ui.main.app import run_app

    return run_app(checkpoint=args.checkpoint, screenshot=args.screenshot, exit_process=True)


# -------------------------------------------------------------------- subcommands
def _subcommand_parser() -> argparse.ArgumentParser:
    from latentlab.cli.train import DEFAULT_AUTOSAVE, autosave_spec
    from latentlab.data import DEFAULT_DATASET

    p = ArgumentParser(prog="latentlab")
    sub = p.add_subparsers(required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train a model and save a checkpoint")
    t.add_argument("--model", default="vae", help=family_help())
    add_model_flags(t)  # --backbone, --latent-dim, --beta, ...: every family's settings
    t.add_argument("--dataset", default=DEFAULT_DATASET, help=f"dataset name or folder:PATH (default {DEFAULT_DATASET})")
    t.add_argument("--image-size", type=int, default=None, help="resize images to this side")
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--batch-size", type=int, default=None)
    t.add_argument("--lr", type=float, default=None, help="learning rate (default: the family's)")
    t.add_argument("--seed", type=seed, default=0, help="random seed, 0 to 4294967295 (default 0)")
    t.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    t.add_argument("--resume", metavar="CKPT", help="continue training this checkpoint (fine-tune)")
    t.add_argument("--out", help="checkpoint folder or .safetensors file (default runs/MODEL-DATASET); "
                   "checked before training starts")
    t.add_argument("--autosave", metavar="INTERVAL", type=autosave_spec, default=autosave_spec(DEFAULT_AUTOSAVE),
                   help=f"save to --out while training: every N minutes (default {DEFAULT_AUTOSAVE}), "
                   "every N epochs (e.g. 3ep), or off")
    t.add_argument("--no-judge", action="store_true", help="skip the judge-based metrics")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(run=cmd_train)

    i = sub.add_parser("info", help="describe a checkpoint")
    i.add_argument("checkpoint")
    i.add_argument("--json", action="store_true", help="machine-readable output")
    i.set_defaults(run=cmd_info)

    from latentlab.cli.sample import add_parser as add_sample_parser

    add_sample_parser(sub)

    e = sub.add_parser("encode", help="write latents and labels as CSV")
    e.add_argument("checkpoint")
    e.add_argument("--out", required=True, help="CSV file")
    e.add_argument("--split", choices=["test", "train", "all"], default="test")
    e.add_argument("--dataset", default=None, help="encode this dataset (default: the checkpoint's, see --data-from-checkpoint)")
    add_data_consent_flag(e)
    e.set_defaults(run=cmd_encode)

    from latentlab.cli.interpolate import add_parser as add_interpolate_parser

    add_interpolate_parser(sub)
    from latentlab.cli.debias import add_parser as add_debias_parser
    from latentlab.cli.priors import add_parser as add_fit_prior_parser

    add_fit_prior_parser(sub)
    add_debias_parser(sub)
    return p


def check_resume_fits(model, dataset) -> None:
    """A resumed model and the dataset it is to train on must agree on images and classes."""
    from latentlab.errors import ConfigError

    shape = tuple(model.config.image_shape)
    if tuple(dataset.image_shape) != shape:
        c, h, w = shape
        raise ConfigError(
            f"--resume: the checkpoint's model takes {c}x{h}x{w} images but {clean(dataset.name)} has "
            f"{'x'.join(map(str, dataset.image_shape))}; add --image-size {h} (and use a dataset with "
            f"{c} channel{'s' if c > 1 else ''}), or resume on the dataset it was trained on")
    if model.info().uses_labels and dataset.num_classes != model.config.num_classes:
        raise ConfigError(
            f"--resume: the checkpoint's {model.family} has {model.config.num_classes} classes but "
            f"{clean(dataset.name)} has {dataset.num_classes}; resume on a dataset with the same classes")


def cmd_train(args: argparse.Namespace) -> int:
    import torch

    from latentlab.cli.train import AutosaveLog, StopOnSignals, describe_autosave, finish
    from latentlab.data import load_dataset
    from latentlab.errors import ConfigError
    from latentlab.models.checkpoint import check_save_destination, estimated_size, load_checkpoint
    from latentlab.models.base import ROLE_MODEL
    from latentlab.models.registry import create_model, make_config
    from latentlab.training import distributed
    from latentlab.training.control import TrainControl
    from latentlab.training.finish import finish_training
    from latentlab.training.judges import get_judge
    from latentlab.training.trainer import Trainer, TrainSettings

    ranks = distributed.init_from_env(args.device)  # under torchrun: this process's rank; else None
    main_rank = ranks is None or ranks.is_main  # the one that prints, judges and saves
    quiet = args.quiet or not main_rank
    log = (lambda msg: None) if quiet else (lambda msg: print(msg, file=sys.stderr))
    dataset = load_dataset(args.dataset, image_size=args.image_size)
    if main_rank:
        _warn_about(dataset)
    autosave_s, autosave_epochs = args.autosave
    settings = TrainSettings(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                             device=args.device, autosave_every_s=autosave_s, autosave_every_epochs=autosave_epochs)
    torch.manual_seed(args.seed)
    history: list[dict] = []
    if args.resume:
        ckpt = load_checkpoint(args.resume)
        model, history = ckpt.model, ckpt.history
        check_resume_fits(model, dataset)
        apply_live_settings(model, settings_from_flags(args, model.family))
    else:
        overrides = settings_from_flags(args, args.model)
        try:
            config = make_config(args.model, image_shape=list(dataset.image_shape),
                                 num_classes=dataset.num_classes, **overrides)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (for --model {args.model})") from None
        model = create_model(config)
    family = model.family
    out = Path(args.out or f"runs/{family}-{dataset.name.replace(':', '_').replace('/', '_')}")
    if main_rank:  # under torchrun rank 0 alone saves
        out = check_save_destination(out, needed_bytes=estimated_size(model))  # now, not after an hour of training
    if autosave_s or autosave_epochs:
        settings.autosave_path = str(out)
    judge = None
    if model.role == ROLE_MODEL and not args.no_judge and main_rank:
        judge_bar = None if quiet else ProgressBar(f"judge for {dataset.name}")
        threads = torch.get_num_threads()
        # As the window does, a judge trained here leaves a core free: on a 2-core machine shared
        # with other work, two threads cost 3x the CPU time of one for the same judge.
        torch.set_num_threads(max(1, min(threads, (os.cpu_count() or 1) - 1)))
        try:
            judge = get_judge(dataset, settings.device, log=log, callbacks=[judge_bar] if judge_bar else [])
        finally:
            torch.set_num_threads(threads)
        if judge_bar:
            judge_bar.close()
    control = TrainControl()
    bar = None if quiet else ProgressBar(f"{family} on {dataset.name}")
    trainer = Trainer(model, dataset, settings, control=control, judge=judge, history=history,
                      callbacks=[*([bar] if bar else []), AutosaveLog(quiet)], distributed=ranks)
    processes = f" x {ranks.world_size} processes ({ranks.backend})" if ranks else ""
    log(f"training {family} ({model.config.backbone}, latent {model.latent_dim}) on {dataset.name} "
        f"[{len(dataset.train)} train / {len(dataset.test)} test] on {trainer.device}{processes}; "
        f"saving to {out}, autosave {describe_autosave(args.autosave)}")
    started = time.perf_counter()
    # Ctrl+C, SIGTERM, SIGHUP: stop after this step, save. Under torchrun every rank stops after
    # the same step (agreed), rank 0 alone speaks and saves.
    with StopOnSignals(control, out, follower=not main_rank, distributed=ranks is not None) as signals:
        result = trainer.fit()
        if bar:
            bar.close()
        if ranks is not None:  # a collective: every rank takes part
            if distributed.weights_agree(model):
                log(f"checked: all {ranks.world_size} processes end with the same weights")
            elif main_rank:
                print(f"latentlab: warning: the {ranks.world_size} processes ended with different weights; "
                      "rank 0's are saved", file=sys.stderr)
        if not main_rank:
            distributed.leave_together(ranks)  # once rank 0 has saved
            return 0 if result.ok else 1
        try:
            finish_training(trainer, result.status)  # the sampling mixture, and the judge's figures from it
            return finish(trainer, result, out, signals, time.perf_counter() - started, _format_metrics)
        finally:
            distributed.leave_together(ranks)


def cmd_info(args: argparse.Namespace) -> int:
    from latentlab.models.checkpoint import read_checkpoint_meta

    meta = read_checkpoint_meta(args.checkpoint)
    if args.json:  # strict JSON: NaN becomes null; ensure_ascii escapes control characters
        print(json.dumps(json_safe(meta), indent=2, allow_nan=False))
        return 0
    m, d = meta["model"], meta.get("dataset", {})
    say(f"checkpoint   {args.checkpoint}")
    for line in format_lines(describe_model(m)):
        say(line)
    say(f"dataset      {d.get('name', '?')} ({len(d.get('class_names', []))} classes, images {d.get('image_shape')})")
    if meta.get("parameters") is not None:
        say(f"parameters   {meta['parameters']:,}")
    history, training = meta.get("history") or [], meta.get("training") or {}
    say(f"epochs       {_describe_epochs(history, training)}")
    say(f"saved        {meta.get('created', '?')} by latentlab {meta.get('latentlab_version', '?')}")
    if meta.get("flow_prior_layers"):
        say(f"flow prior   {meta['flow_prior_layers']} coupling layers (sample --source flow)")
    if meta.get("metrics"):
        say("metrics")
        print(_format_metrics(meta["metrics"], indent="  "))  # its labels are cleaned
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    import torch

    from latentlab.data import load_dataset
    from latentlab.errors import ConfigError
    from latentlab.latent.export import save_latents_csv
    from latentlab.models.checkpoint import load_checkpoint
    from latentlab.training.evaluate import encode_all

    check_output(args.out, (".csv",), "latents.csv")
    ckpt = load_checkpoint(args.checkpoint)
    model = ckpt.model
    if not model.has_encoder:
        raise ConfigError(f"a {model.family} model has no encoder, so it cannot encode images")
    shape = model.config.image_shape
    if args.dataset:  # the user's own choice
        dataset = load_dataset(args.dataset, image_size=shape[1], channels=shape[0])
    else:
        dataset = recorded_dataset(ckpt.dataset, shape, args.data_from_checkpoint)
    _warn_about(dataset)
    if tuple(dataset.image_shape) != tuple(model.config.image_shape):
        raise ConfigError(f"dataset images are {dataset.image_shape}, the model expects {model.config.image_shape}")
    splits = {"test": [dataset.test], "train": [dataset.train], "all": [dataset.train, dataset.test]}[args.split]
    images = torch.cat([s.images for s in splits])
    labels = torch.cat([s.labels for s in splits])
    z = encode_all(model, images, labels).cpu().numpy()  # a conditional model encodes under the labels
    out = save_latents_csv(args.out, z, labels, dataset.class_names)
    say(f"wrote {len(z)} latents ({z.shape[1]}-D) to {out}")
    return 0


# ------------------------------------------------------------------- formatting
def _warn_about(dataset) -> None:
    """What loading left out (skipped files, unreadable folders), one line each on stderr."""
    for note in dataset.warnings:
        print(f"latentlab: warning: {clean(note)}", file=sys.stderr)


def _describe_epochs(history: list, training: dict) -> str:
    """"30", "3.36 of 300 (stopped early)", "0 of 3 (training failed: ...)" or "100 (no
    per-epoch history kept)"; "of" counts the epochs the run asked for plus those it continued."""
    from latentlab.training.progress import epochs_trained

    epochs = epochs_trained(history, training)
    text = f"{epochs:g}" if epochs == int(epochs) else f"{epochs:.2f}"
    status = training.get("status")
    if status in ("stopped", "failed", "running"):
        asked, start = training.get("epochs"), training.get("epochs_at_start", 0)
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (asked, start)):
            text += f" of {asked + start:g}"
        text += {"stopped": " (stopped early)", "failed": " (training failed: the loss became non-finite)",
                 "running": " (autosaved while training)"}[status]
    elif not history and epochs:
        text += " (no per-epoch history kept)"
    return text


METRIC_LABELS = {
    "test_neg_elbo": ("test -ELBO", "nats/image"),
    "test_recon": ("test reconstruction", "nats/image"),
    "test_kl": ("test KL", "nats/image"),
    "head_accuracy": ("classifier head accuracy", "%"),
    "test_accuracy": ("test accuracy", "%"),
    "judge_recon_accuracy": ("judge accuracy on reconstructions", "%"),
    "judge_fid": ("judge Frechet distance", ""),
    "sample_min_class_share": ("smallest class share of samples", "%"),
    "sample_mean_confidence": ("judge confidence on samples", "%"),
    "test_wasserstein": ("Wasserstein estimate (test)", ""),
    "sample_agreement": ("samples judged as the class asked", "%"),
    "sample_class_agreement": ("  ... per class", "%"),
    "sample_min_class_agreement": ("  ... for the worst class", "%"),
    "sample_min_class_confidence": ("  ... judge's belief, worst class", "%"),
    "test_nll": ("test negative log-likelihood", "nats/image"),
}


def _format_metrics(metrics: dict, indent: str = "") -> str:
    lines = []
    for key, value in metrics.items():
        label, unit = METRIC_LABELS.get(key, (clean(key.replace("_", " "), 60), ""))
        if isinstance(value, list):
            text = "[" + ", ".join(_number(v, ".3g") for v in value) + "]"
        elif unit == "%":
            text = _number(value, ".1%")
        else:
            text = _number(value, ".4g") + (f" {unit}" if unit and _is_finite(value) else "")
        lines.append(f"{indent}{label:<36} {text}")
    return "\n".join(lines)


def _is_finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(value, spec: str) -> str:
    """A metric value: formatted when finite, else "n/a" (null), "nan" or "inf"."""
    if _is_finite(value):
        return format(value, spec)
    return "n/a" if value is None else str(value)
