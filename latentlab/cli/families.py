"""What the CLI knows about model families, read from the families themselves.

``latentlab train``'s ``--model`` choices and its hyper-parameter flags (``--beta``,
``--label-smoothing``, ...) are built from the registry: every setting a trainable
family declares (``models.config.setting``) becomes one flag, with the family's label,
help, range and default. A family registered anywhere shows up here with no edit.
``info`` describes a checkpoint's family and settings from the same declarations.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from latentlab.errors import ConfigError
from latentlab.safe_text import clean


def _families():
    from latentlab.models.registry import families

    return families(trainable=True)


def family_help() -> str:
    """``--model``'s help: every trainable family with its title, the default first."""
    names = ", ".join(f"{i.family} ({i.title})" for i in _families())
    return f"model family: {names} (default vae)"


def add_model_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per setting of any trainable family; each defaults to None (the family's own)."""
    by_name: dict[str, list] = {}
    for info in _families():
        for hp in info.hyperparameters:
            by_name.setdefault(hp.name, []).append((info.family, hp))
    for name, uses in by_name.items():
        hp = uses[0][1]
        kinds = {h.kind for _, h in uses}
        if len(kinds) > 1:
            raise RuntimeError(f"setting {name!r} is a {' and a '.join(sorted(kinds))} in different families")
        kwargs: dict = {"default": None, "dest": f"hp_{name}", "help": _flag_help(uses)}
        if hp.kind == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        elif hp.kind == "choice":
            kwargs["choices"] = list(dict.fromkeys(c for _, h in uses for c in h.choices))
        else:
            kwargs["type"] = int if hp.kind == "int" else float
            kwargs["metavar"] = "N" if hp.kind == "int" else "X"
        try:
            parser.add_argument(hp.flag, **kwargs)
        except argparse.ArgumentError as exc:
            raise RuntimeError(f"the setting {name!r} of {uses[0][0]} clashes with a train option: {exc}") from None


def _flag_help(uses: list) -> str:
    """"Label: help [families; range; default(s)]"; "%" escaped for argparse."""
    hp = uses[0][1]
    defaults: dict[str, list[str]] = {}
    for family, h in uses:
        defaults.setdefault(_value_text(h.default), []).append(family)
    where = ", ".join(f for f, _ in uses)
    if len(defaults) == 1:
        default = f"default {next(iter(defaults))}"
    else:
        default = "default " + "; ".join(f"{value} for {', '.join(fams)}" for value, fams in defaults.items())
    bounds = hp.range_text() if hp.kind in ("int", "float") else ""
    detail = "; ".join(p for p in (bounds, default) if p)
    return f"{hp.label}: {hp.help} [{where}; {detail}]".replace("%", "%%")


def _value_text(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value).lower() if isinstance(value, bool) else str(value)


def settings_from_flags(args: argparse.Namespace, family: str) -> dict:
    """The settings given on the command line for ``family``; a flag of another family's
    setting is an error naming the flags this family has."""
    from latentlab.models.registry import family_info

    info = family_info(family)
    own = {hp.name for hp in info.hyperparameters}
    given = {k.removeprefix("hp_"): v for k, v in vars(args).items() if k.startswith("hp_") and v is not None}
    foreign = sorted(set(given) - own)
    if foreign:
        flags = " ".join("--" + n.replace("_", "-") for n in foreign)
        raise ConfigError(f"{flags} does not apply to --model {family}; its settings are "
                          f"{', '.join(hp.flag for hp in info.hyperparameters)}")
    return given


def apply_live_settings(model, settings: dict) -> None:
    """On --resume: settings the family changes while training (β) apply; others are an
    error, because the checkpoint fixes the architecture."""
    live = {hp.name for hp in model.info().hyperparameters if hp.live}
    fixed = sorted(set(settings) - live)
    if fixed:
        flags = ", ".join("--" + n.replace("_", "-") for n in fixed)
        raise ConfigError(f"{flags} cannot change when resuming: the checkpoint fixes them; train a new model "
                          "instead, or drop the option")
    for name, value in settings.items():
        if name == "beta":
            model.set_beta(value)
        else:
            setattr(model.config, name, value)
            model.config.validate()


def describe_model(model_config: dict) -> list[tuple[str, str]]:
    """(heading, text) lines of ``info`` for a checkpoint's model config: the family's title
    and capabilities, the architecture, and every other setting by its label."""
    from latentlab.models.registry import family_info

    family = model_config.get("family", "?")
    arch = (f"{model_config.get('backbone')} backbone, latent {model_config.get('latent_dim')}, "
            f"hidden {model_config.get('hidden')}")
    try:
        info = family_info(family)
    except ConfigError:
        return [("model", f"{family} ({arch})")]
    if not info.has_latent_space:
        arch = f"{model_config.get('backbone')} backbone, no latent space, hidden {model_config.get('hidden')}"
    lines = [("model", f"{family}: {info.title} ({arch})"), ("can", ", ".join(info.capabilities()) or "-")]
    if info.conditional:
        lines.append(("condition", f"the class, one of {model_config.get('num_classes')}: sample with --class C "
                                   "or --per-class"))
    shown = {"backbone", "latent_dim", "hidden"}
    extra = [f"{hp.label} ({hp.name}) {_value_text(model_config[hp.name])}" for hp in info.hyperparameters
             if hp.name not in shown and hp.name in model_config]
    if extra:
        lines.append(("settings", ", ".join(extra)))
    return lines


def format_lines(lines: Iterable[tuple[str, str]]) -> list[str]:
    return [f"{clean(head):<12} {clean(text)}" for head, text in lines]
