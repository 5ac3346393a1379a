"""``latentlab interpolate``: paths between classes through one or more models, headless.

    latentlab interpolate CKPT [CKPT ...] --from 3 --to 8 [--steps 12] [--mode slerp]
                          [--out strip.png|strip.gif] [--json]
    latentlab interpolate CKPT [CKPT ...] --pairs standard      (10 teaching pairs)
    latentlab interpolate CKPT [CKPT ...] --pairs 3-8,1-7,4-9

Source images: for each class, the test image closest to the class's mean image (a
rule that uses no model, so every model starts from the same two pictures), or the
test images ``--index-a`` / ``--index-b``. Each model encodes them (a GAN inverts
them), the path is decoded, and the judge labels every frame. One pair prints a table
of path measures per model; several pairs print a model x pair table of verdicts with
each model's number of direct paths and mean purity (docs/path-measures.md). ``--out``
writes the aligned strips (one file per pair when there are several pairs:
``strip-3-8.png``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from latentlab.cli.checks import add_data_consent_flag, check_output, recorded_dataset, seed
from latentlab.errors import ConfigError

#: Ten digit pairs for teaching: six of neighbouring shapes that a well-organised space
#: should join directly (3-8, 1-7, 4-9, 3-5, 7-9, 5-8) and four of unlike shapes whose
#: straight path in a 2-D space usually crosses other classes (0-6, 2-3, 0-1, 1-8).
STANDARD_PAIRS = ("3-8", "1-7", "4-9", "3-5", "7-9", "5-8", "0-6", "2-3", "0-1", "1-8")
MAX_CHECKPOINTS = 12
MAX_STEPS = 200


def add_parser(sub) -> None:
    """Register the subcommand on the CLI's subparsers."""
    p = sub.add_parser(
        "interpolate",
        help="decode paths between two classes through one or more models; print path metrics",
        description="Decode the path between two test images (the most typical image of each class, "
        "or --index-a/--index-b) through each model, let the judge label every frame, and print "
        "each path's verdict (does it go from A to B without another class?), purity (share of frames "
        "that fit a direct path) and smoothness (mean pixel change between neighbouring frames).",
    )
    p.add_argument("checkpoints", nargs="+", metavar="CKPT", help="checkpoints trained on the same dataset")
    p.add_argument("--from", dest="class_a", metavar="CLASS", help="start class (its name, e.g. 3)")
    p.add_argument("--to", dest="class_b", metavar="CLASS", help="end class")
    p.add_argument("--pairs", help="several class pairs: 'standard' (10 digit pairs) or a list such as 3-8,1-7")
    p.add_argument("--index-a", type=int, metavar="I", help="start from test image I instead of a typical one")
    p.add_argument("--index-b", type=int, metavar="I", help="end at test image I")
    p.add_argument("--class", dest="fixed_class", metavar="CLASS",
                   help="conditional models: keep the class at CLASS and move z from the start image's "
                   "style to the end image's (default: keep z at the start image's style and move the class "
                   "from --from to --to through mixed one-hot labels)")
    p.add_argument("--steps", type=int, default=12, help="frames per path, both ends included (default 12)")
    p.add_argument("--mode", choices=["lerp", "slerp"], default="lerp", help="straight or spherical (default lerp)")
    p.add_argument("--out", help="PNG (aligned strips with metrics) or GIF (animated); with several pairs one file per pair, "
                   "named OUT-A-B.png")
    p.add_argument("--names", help="comma-separated model names (default: the checkpoint file names)")
    p.add_argument("--scale", type=int, default=None, help="enlarge pixels this many times (default 3 for PNG; GIF: 6 for one model, 4 for several)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the GAN inversion's random starts")
    p.add_argument("--invert-steps", type=int, default=None, metavar="N",
                   help="optimisation steps of a GAN's latent inversion (fewer: faster, rougher)")
    p.add_argument("--invert-restarts", type=int, default=None, metavar="N",
                   help="random starts per image of a GAN's latent inversion")
    p.add_argument("--device", default="cpu", help="cpu, auto, cuda, cuda:N or mps (default cpu)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON instead of a table")
    add_data_consent_flag(p)
    p.set_defaults(run=cmd_interpolate)


@dataclass
class Pair:
    a: int
    b: int
    index_a: int = -1  # test image of the start
    index_b: int = -1

    def label(self, class_names: list[str]) -> str:
        return f"{class_names[self.a]}-{class_names[self.b]}"


# --------------------------------------------------------------------- parsing
def resolve_class(text: str, class_names: list[str]) -> int:
    """A class given by name (or, failing that, by index) -> its index."""
    text = str(text).strip()
    if text in class_names:
        return class_names.index(text)
    if text.isdigit() and int(text) < len(class_names):
        return int(text)
    shown = ", ".join(class_names[:12]) + (", ..." if len(class_names) > 12 else "")
    raise ConfigError(f"unknown class {text!r}; the classes are {shown}")


def parse_pairs(spec: str, class_names: list[str]) -> list[Pair]:
    """'standard' or 'A-B,C-D' (':' works as well as '-') -> pairs of class indices."""
    if spec.strip().lower() == "standard":
        if [str(d) for d in range(10)] != list(class_names):
            raise ConfigError("--pairs standard needs a dataset of the digits 0-9; list pairs such as "
                              f"{class_names[0]}-{class_names[-1]}")
        spec = ",".join(STANDARD_PAIRS)
    pairs = [_parse_pair(item, class_names) for item in spec.split(",") if item.strip()]
    if not pairs:
        raise ConfigError("--pairs is empty; write pairs such as 3-8,1-7 or 'standard'")
    return pairs


def _parse_pair(item: str, class_names: list[str]) -> Pair:
    item = item.strip()
    splits = [i for i, ch in enumerate(item) if ch in "-:" and 0 < i < len(item) - 1]
    first_error: ConfigError | None = None
    for i in splits:  # class names may contain '-': take the split where both halves are classes
        try:
            return Pair(resolve_class(item[:i], class_names), resolve_class(item[i + 1 :], class_names))
        except ConfigError as exc:
            first_error = first_error or exc
    hint = f": {first_error}" if first_error else "; write it as A-B, e.g. 3-8"
    raise ConfigError(f"cannot read the class pair {item!r}{hint}")


def _names(args: argparse.Namespace) -> list[str]:
    if args.names:
        names = [n.strip() for n in args.names.split(",")]
        if len(names) != len(args.checkpoints) or not all(names):
            raise ConfigError(f"--names needs {len(args.checkpoints)} non-empty names, one per checkpoint")
    else:
        names = [Path(p).name.removesuffix(".safetensors") or str(p) for p in args.checkpoints]
    seen: dict[str, int] = {}
    unique = []
    for name in names:  # two runs/vae/ folders would otherwise be indistinguishable
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return unique


def _check_args(args: argparse.Namespace) -> None:
    if len(args.checkpoints) > MAX_CHECKPOINTS:
        raise ConfigError(f"compare at most {MAX_CHECKPOINTS} checkpoints at once, got {len(args.checkpoints)}")
    if not 2 <= args.steps <= MAX_STEPS:
        raise ConfigError(f"--steps must be from 2 to {MAX_STEPS}, got {args.steps}")
    if args.pairs and (args.class_a or args.class_b or args.index_a is not None or args.index_b is not None):
        raise ConfigError("give either --pairs or one pair (--from/--to, --index-a/--index-b), not both")
    has_index = (args.index_a is not None, args.index_b is not None)
    if any(has_index) and not all(has_index):
        raise ConfigError("give both --index-a and --index-b, or neither")
    if not args.pairs and not all(has_index) and not (args.class_a and args.class_b):
        raise ConfigError("say which path to take: --from A --to B, --pairs 3-8,1-7 (or standard), "
                          "or --index-a I --index-b J")
    for flag, value, low in (("--invert-steps", args.invert_steps, 1), ("--invert-restarts", args.invert_restarts, 1)):
        if value is not None and value < low:
            raise ConfigError(f"{flag} must be at least {low}, got {value}")
    from latentlab.latent.export import MAX_SCALE

    if args.scale is not None and not 1 <= args.scale <= MAX_SCALE:
        raise ConfigError(f"--scale must be from 1 to {MAX_SCALE}, got {args.scale}")
    if args.out:
        check_output(args.out, (".png", ".gif"), "strip.png")


# ---------------------------------------------------------------------- running
def _load(args: argparse.Namespace):
    """(models, dataset) after checking the checkpoints share a dataset and can decode."""
    from latentlab.models.checkpoint import load_checkpoint
    from latentlab.training.device import resolve_device

    device = resolve_device(args.device)
    ckpts = [load_checkpoint(p, device=device) for p in args.checkpoints]
    for path, ckpt in zip(args.checkpoints, ckpts):
        if not ckpt.model.has_decoder:
            raise ConfigError(f"{path} is a {ckpt.model.family} model, which decodes nothing: it has no paths")
    first = ckpts[0]
    for path, ckpt in zip(args.checkpoints[1:], ckpts[1:]):
        if ckpt.dataset.get("name") != first.dataset.get("name") or \
                tuple(ckpt.model.config.image_shape) != tuple(first.model.config.image_shape):
            raise ConfigError(
                f"{path} was trained on {ckpt.dataset.get('name')!r} {ckpt.model.config.image_shape}, "
                f"{args.checkpoints[0]} on {first.dataset.get('name')!r} {first.model.config.image_shape}; "
                "compare models of the same dataset"
            )
    shape = tuple(first.model.config.image_shape)
    dataset = recorded_dataset(first.dataset, shape, args.data_from_checkpoint, instead=None)
    if tuple(dataset.image_shape) != shape:
        raise ConfigError(f"dataset images are {dataset.image_shape}, the models expect {shape}")
    return [c.model for c in ckpts], dataset, device


def _pairs(args: argparse.Namespace, dataset) -> list[Pair]:
    from latentlab.latent.paths import typical_indices

    names, test = dataset.class_names, dataset.test
    if args.index_a is not None:
        for flag, index in (("--index-a", args.index_a), ("--index-b", args.index_b)):
            if not 0 <= index < len(test):
                raise ConfigError(f"{flag} {index} is not a test image index (0 to {len(test) - 1})")
        a = resolve_class(args.class_a, names) if args.class_a else int(test.labels[args.index_a])
        b = resolve_class(args.class_b, names) if args.class_b else int(test.labels[args.index_b])
        return [Pair(a, b, args.index_a, args.index_b)]
    pairs = parse_pairs(args.pairs, names) if args.pairs else \
        [Pair(resolve_class(args.class_a, names), resolve_class(args.class_b, names))]
    classes = sorted({c for p in pairs for c in (p.a, p.b)})
    typical = dict(zip(classes, typical_indices(test.images, test.labels, classes)))
    for p in pairs:
        p.index_a, p.index_b = typical[p.a], typical[p.b]
    return pairs


def cmd_interpolate(args: argparse.Namespace) -> int:
    import torch

    from latentlab.latent.compare import StripSet, encode_for_path, path_strip
    from latentlab.latent.conditional import class_path_strip, latent_of, style_path_strip
    from latentlab.latent.inversion import RESTARTS, STEPS
    from latentlab.training.judges import get_judge

    _check_args(args)
    names = _names(args)
    models, dataset, device = _load(args)
    pairs = _pairs(args, dataset)
    log = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    judge = get_judge(dataset, device, log=log)

    inversion = {k: v for k, v in (("steps", args.invert_steps), ("restarts", args.invert_restarts)) if v is not None}
    indices = sorted({i for p in pairs for i in (p.index_a, p.index_b)})
    images = dataset.test.images[indices]
    row_of = {index: row for row, index in enumerate(indices)}
    strips: list[list] = [[] for _ in pairs]  # strips[pair][model]
    labels = dataset.test.labels[indices]
    fixed = _fixed_class(args, models, dataset.class_names)
    for model, name in zip(models, names):
        if not model.has_encoder:
            log(f"{name}: inverting {len(indices)} test images through the {model.family} generator "
                f"(it has no encoder; {inversion.get('restarts', RESTARTS)} starts x "
                f"{inversion.get('steps', STEPS)} steps)")
        if model.conditional:  # each source image under its own label
            z = latent_of(model, images, labels, seed=args.seed, **inversion)
        else:
            z = encode_for_path(model, images.to(device), seed=args.seed, **inversion)
        for k, p in enumerate(pairs):
            za, zb = z[row_of[p.index_a]], z[row_of[p.index_b]]
            if model.conditional and fixed is not None:
                strip = style_path_strip(model, za, zb, args.steps, args.mode, judge, fixed,
                                         name=f"{name} [as {dataset.class_names[fixed]}]")
            elif model.conditional:
                strip = class_path_strip(model, za, p.a, p.b, args.steps, judge, name=f"{name} [z fixed]")
            else:
                strip = path_strip(model, za, zb, args.steps, args.mode, judge, name=name, start_class=p.a,
                                   end_class=p.b)
            strips[k].append(strip)
    sets = [
        StripSet(s, args.mode, p.a, p.b, list(dataset.class_names),
                 torch.stack([dataset.test.images[p.index_a], dataset.test.images[p.index_b]]))
        for p, s in zip(pairs, strips)
    ]
    written = _write(args, pairs, sets, dataset.class_names) if args.out else []
    if args.json:
        print(json.dumps(_json(args, pairs, sets, dataset, written), indent=2))
    else:
        print(_single_table(pairs[0], sets[0], dataset) if len(pairs) == 1 else _pairs_table(pairs, sets, dataset))
        for path in written:
            print(f"saved {path}")
    return 0


def _fixed_class(args: argparse.Namespace, models, class_names: list[str]) -> int | None:
    """``--class`` as an index; it needs a conditional model among the checkpoints."""
    if args.fixed_class is None:
        return None
    from latentlab.cli.sample import class_index, conditional_families

    if not any(m.conditional for m in models):
        raise ConfigError(f"--class keeps the class of a conditional model ({conditional_families()}) fixed; "
                          "none of the checkpoints is conditional")
    return class_index(args.fixed_class, class_names, next(m for m in models if m.conditional))


def _out_path(out: str, pair: Pair, class_names: list[str], several: bool) -> Path:
    path = Path(out)
    if not several:
        return path
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in pair.label(class_names))
    return path.with_name(f"{path.stem}-{safe}{path.suffix}")


def _write(args: argparse.Namespace, pairs: list[Pair], sets: list, class_names: list[str]) -> list[Path]:
    from latentlab.latent.export import save_comparison_gif, save_comparison_png, save_strip_gif

    written = []
    for pair, strip_set in zip(pairs, sets):
        path = _out_path(args.out, pair, class_names, len(pairs) > 1)
        if path.suffix.lower() == ".gif":
            if len(strip_set.strips) == 1:
                written.append(save_strip_gif(strip_set.strips[0], path, scale=args.scale or 6,
                                              class_names=class_names))
            else:
                written.append(save_comparison_gif(strip_set, path, scale=args.scale or 4))
        else:
            written.append(save_comparison_png(strip_set, path, scale=args.scale or 3))
    return written


# ------------------------------------------------------------------ formatting
MEASURES_LEGEND = ("purity = share of frames that fit a direct path (100% only when it is direct); "
                   "smoothness = mean pixel change between neighbouring frames (lower is smoother); "
                   "definitions: docs/path-measures.md")


def _single_table(pair: Pair, strip_set, dataset) -> str:
    from latentlab.latent.path_metrics import report

    names = dataset.class_names
    head = (f"{names[pair.a]} to {names[pair.b]}, {strip_set.mode}, {strip_set.n_frames} frames; "
            f"test images #{pair.index_a} and #{pair.index_b}")
    reports = [(s.name, report(s.metrics, names)) for s in strip_set.strips]
    columns = (("model", lambda n, r: n), ("verdict", lambda n, r: r.headline), ("purity", lambda n, r: r.purity),
               ("third classes", lambda n, r: "-" if r.third == "none" else r.third),
               ("ends (first, last)", lambda n, r: r.ends), ("smoothness", lambda n, r: r.smoothness),
               ("max jump", lambda n, r: r.max_jump), ("class sequence", lambda n, r: r.sequence))
    cells = [[get(n, r) for _, get in columns] for n, r in reports]
    widths = [max(len(title), *(len(row[k]) for row in cells)) for k, (title, _) in enumerate(columns)]
    right = {"purity", "smoothness", "max jump"}

    def line(values) -> str:
        return "  ".join(v.rjust(w) if t in right else v.ljust(w)
                         for v, w, (t, _) in zip(values, widths, columns)).rstrip()

    return "\n".join([head, MEASURES_LEGEND, line([t for t, _ in columns]), *(line(row) for row in cells)])


def _pairs_table(pairs: list[Pair], sets: list, dataset) -> str:
    """Model x pair table of short verdicts, with each model's direct count and mean purity."""
    from latentlab.latent.path_metrics import SHORT_LEGEND, class_namer, summarize

    names = dataset.class_names
    name = class_namer(names)
    labels = [p.label(names) for p in pairs]
    per_model = list(zip(*[s.strips for s in sets]))  # per_model[model][pair]
    shorts = [[s.metrics.verdict.short(name) for s in strips] for strips in per_model]
    per_pair = [summarize([s.metrics for s in st.strips]) for st in sets]
    cell = max(6, *(len(label) for label in labels), *(len(c) for row in shorts for c in row)) + 2
    width = max(6, *(len(n) for n in sets[0].names)) + 2
    rows = [f"{sets[0].mode} paths, {sets[0].n_frames} frames, between the most typical test image of each class",
            SHORT_LEGEND, MEASURES_LEGEND,
            f"{'model':<{width}}" + "".join(f"{label:<{cell}}" for label in labels) + f"{'direct':>7}  {'purity':>6}"]
    for strips, row in zip(per_model, shorts):
        summary = summarize([s.metrics for s in strips])
        rows.append(f"{strips[0].name:<{width}}" + "".join(f"{c:<{cell}}" for c in row)
                    + f"{summary.direct:>4}/{summary.pairs:<2}  {summary.mean_purity:>6.0%}")
    if len(per_model) > 1:
        rows.append(f"{'direct':<{width}}" + "".join(f"{f'{p.direct}/{p.pairs}':<{cell}}" for p in per_pair).rstrip())
    return "\n".join(rows)


def _json(args: argparse.Namespace, pairs: list[Pair], sets: list, dataset, written: list[Path]) -> dict:
    from latentlab.latent.path_metrics import PURITY_HELP, SMOOTHNESS_HELP, VERDICT_HELP, summarize

    names = dataset.class_names
    summaries = {name: summarize([st.strips[i].metrics for st in sets]) for i, name in enumerate(sets[0].names)}
    return {
        "dataset": dataset.name,
        "mode": args.mode,
        "steps": args.steps,
        "definitions": {"verdict": VERDICT_HELP, "purity": PURITY_HELP, "smoothness": SMOOTHNESS_HELP},
        "pairs": [
            {
                "from": names[p.a], "to": names[p.b], "index_a": p.index_a, "index_b": p.index_b,
                "models": [{"model": s.name, **s.metrics.to_dict(names)} for s in st.strips],
            }
            for p, st in zip(pairs, sets)
        ],
        "summary": {name: {"direct": s.direct, "pairs": s.pairs, "mean_purity": s.mean_purity}
                    for name, s in summaries.items()},
        "files": [str(p) for p in written],
    }
