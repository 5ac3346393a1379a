"""``latentlab sample``: a grid of generated images, of one class or of every class.

    latentlab sample CKPT --n 64 --out grid.png
    latentlab sample CKPT --class 7 --n 16 --out sevens.png     (conditional models)
    latentlab sample CKPT --per-class --n 8 --out classes.png   (one row per class)

A conditional model (``cvae``, ``cgan``) is asked for a class. Without ``--class`` it
draws the classes in turn; with ``--per-class`` each row is one class and each column
one latent point, so a column shows one style written as every class.
"""

from __future__ import annotations

import argparse

from latentlab.cli.checks import check_output, seed
from latentlab.errors import ConfigError
from latentlab.safe_text import clean

MAX_SAMPLES = 10_000


def add_parser(sub) -> None:
    s = sub.add_parser("sample", help="save a grid of generated images")
    s.add_argument("checkpoint")
    s.add_argument("--n", type=int, default=64, help="number of samples (with --per-class: per class)")
    s.add_argument("--out", required=True, help="PNG file")
    s.add_argument("--seed", type=seed, default=0, help="random seed, 0 to 4294967295 (default 0)")
    s.add_argument("--source", choices=["prior", "mixture", "flow"], default=None,
                   help="where latents come from (flow: a prior fitted by `latentlab fit-prior`)")
    s.add_argument("--scale", type=int, default=3, help="enlarge pixels this many times (1 to 32, default 3)")
    s.add_argument("--class", dest="cls", metavar="CLASS",
                   help="conditional models: generate this class (its name or index, e.g. 7)")
    s.add_argument("--per-class", action="store_true",
                   help="conditional models: one row per class, the same latent points in every row")
    s.add_argument("--complete", type=int, default=None, metavar="INDEX",
                   help="pixelcnn: complete test image INDEX instead (the image, then N completions)")
    s.add_argument("--hide", default="bottom half", metavar="REGION",
                   help="with --complete: what to hide: 'bottom half', 'right half', 'centre square' or 'top half'")
    s.set_defaults(run=cmd_sample)


def class_index(text: str, class_names: list[str], model) -> int:
    """``--class``: a class name, else an index; out of range is a ConfigError saying so."""
    text = str(text).strip()
    if text in class_names:
        return class_names.index(text)
    try:
        index = int(text)
    except ValueError:
        shown = ", ".join(class_names[:12]) + (", ..." if len(class_names) > 12 else "")
        raise ConfigError(f"--class {clean(text, 40)!r} is not a class; the classes are {shown}") from None
    try:
        return model.check_class(index)
    except ConfigError as exc:
        raise ConfigError(f"--class: {exc}") from None


def conditional_families() -> str:
    """"cvae, cgan": the registered conditional families, for messages."""
    from latentlab.models.registry import families

    return ", ".join(i.family for i in families(role="model") if i.conditional)


def require_conditional(model, option: str) -> None:
    if not model.conditional:
        raise ConfigError(f"{option} needs a conditional model ({conditional_families()}); a {model.family} is not "
                          "told the class, it makes whatever class lives where z lands")


def cmd_sample(args: argparse.Namespace) -> int:
    import torch

    from latentlab.latent.export import MAX_SCALE
    from latentlab.latent.images import make_grid, save_png
    from latentlab.models.checkpoint import load_checkpoint

    if not 1 <= args.n <= MAX_SAMPLES:
        raise ConfigError(f"--n must be from 1 to {MAX_SAMPLES}, got {args.n}")
    if not 1 <= args.scale <= MAX_SCALE:
        raise ConfigError(f"--scale must be from 1 to {MAX_SCALE}, got {args.scale}")
    if args.cls is not None and args.per_class:
        raise ConfigError("give --class or --per-class, not both")
    check_output(args.out, (".png",), "grid.png")
    ckpt = load_checkpoint(args.checkpoint)
    model = ckpt.model
    if not model.can_sample:
        raise ConfigError(f"a {model.family} checkpoint cannot generate images")
    gen = torch.Generator().manual_seed(args.seed)
    if args.complete is not None or not model.has_latent_space:  # pixel by pixel: with progress
        from latentlab.cli.pixelcnn import complete_test_image, sample_pixelwise

        if args.cls is not None or args.per_class:
            raise ConfigError("--class and --per-class are for conditional models with a latent space")
        if args.complete is not None:
            images, what = complete_test_image(args, gen), f"test image #{args.complete} and {args.n} completions"
        else:
            images, what = sample_pixelwise(model, args.n, gen, args.source), f"{args.n} samples"
        print(clean(f"saved {what} to {save_png(make_grid(images), args.out, scale=args.scale)}"))
        return 0
    class_names = list(ckpt.dataset.get("class_names") or [str(i) for i in range(model.num_classes)])
    with torch.no_grad():
        if args.per_class:
            require_conditional(model, "--per-class")
            if args.n * model.num_classes > MAX_SAMPLES:
                raise ConfigError(f"--per-class makes {model.num_classes} x --n images: give --n up to "
                                  f"{MAX_SAMPLES // model.num_classes}")
            z = model.sample_latents(args.n, gen, args.source)
            images = torch.cat([model.decode(z, c) for c in range(model.num_classes)])
            picture, what = make_grid(images, ncols=args.n), f"{args.n} samples of each of {model.num_classes} classes"
        elif args.cls is not None:
            require_conditional(model, "--class")
            c = class_index(args.cls, class_names, model)
            images = model.sample(args.n, generator=gen, source=args.source, y=c)
            picture, what = make_grid(images), f"{args.n} samples of class {class_names[c]}"
        else:
            images = model.sample(args.n, generator=gen, source=args.source)
            picture, what = make_grid(images), f"{args.n} samples"
    path = save_png(picture, args.out, scale=args.scale)
    print(clean(f"saved {what} to {path}"))
    return 0
