"""The family registry: a dict filled by a decorator, so adding a family touches one file.

What a family is and can do (title, role, capabilities, hyper-parameters) is declared on
its class (see ``base.py``); ``family_info`` and ``families`` read it for the CLI, ``info``
and the window, and ``hyperparameters`` lists a family's editable settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar

from latentlab.errors import ConfigError

if TYPE_CHECKING:
    from latentlab.models.base import FamilyInfo, LatentModel
    from latentlab.models.config import HyperParameter, ModelConfig

FAMILIES: dict[str, type["LatentModel"]] = {}

M = TypeVar("M", bound="type[LatentModel]")


def register(family: str) -> Callable[[M], M]:
    """Class decorator: ``@register("vae")`` makes the family known by that name."""

    def wrap(cls: M) -> M:
        if family in FAMILIES:
            raise RuntimeError(f"family {family!r} registered twice")
        cls.family = family
        cls.config_class.family = family
        FAMILIES[family] = cls
        return cls

    return wrap


def family_class(family: str) -> type["LatentModel"]:
    _load_builtin_families()
    try:
        return FAMILIES[family]
    except KeyError:
        raise ConfigError(
            f"unknown model family {family!r}; choose one of {', '.join(sorted(FAMILIES))}"
        ) from None


def make_config(family: str, **settings: Any) -> "ModelConfig":
    """A validated config for ``family``; unknown settings are an error."""
    return family_class(family).config_class.from_dict({"family": family, **settings})


def config_from_dict(data: dict[str, Any]) -> "ModelConfig":
    if not isinstance(data, dict) or not isinstance(data.get("family"), str):
        raise ConfigError("model config must be a JSON object with a 'family' string")
    return family_class(data["family"]).config_class.from_dict(data)


#: Larger models are refused: a hostile or mistyped config must not exhaust memory.
MAX_PARAMETERS = 100_000_000


def create_model(config: "ModelConfig") -> "LatentModel":
    """Build the model for ``config``, after checking its size on the meta device."""
    import torch

    cls = family_class(config.family)
    with torch.device("meta"):
        n = sum(p.numel() for p in cls(config).parameters())
    if n > MAX_PARAMETERS:
        raise ConfigError(
            f"this {config.family} would have {n:,} parameters (limit {MAX_PARAMETERS:,}); "
            "use a smaller hidden width, image size or latent size"
        )
    return cls(config)


def family_names() -> list[str]:
    _load_builtin_families()
    return list(FAMILIES)


def family_info(family: str) -> "FamilyInfo":
    """Title, role, capabilities and hyper-parameters of ``family`` (builds no model)."""
    return family_class(family).info()


def families(*, role: str | None = None, trainable: bool | None = None) -> list["FamilyInfo"]:
    """Every registered family's info, in registration order, optionally only those of
    ``role`` ("model" or "judge") and trainability. The window's training list is
    ``families(role="model", trainable=True)``."""
    _load_builtin_families()
    infos = [cls.info() for cls in FAMILIES.values()]
    return [i for i in infos if (role is None or i.role == role) and (trainable is None or i.trainable == trainable)]


def hyperparameters(family: str) -> list["HyperParameter"]:
    """The settings a user may choose for ``family`` (label, help, range or choices,
    default), in declaration order: what the training panel and the CLI's flags show."""
    return list(family_info(family).hyperparameters)


def _load_builtin_families() -> None:
    # Importing the modules runs their @register decorators, in this order (the order of
    # menus and help texts).
    from latentlab.models import vae, msvae, cvae, ae, gan, wgan_gp, cgan, pixelcnn, judge  # noqa: F401, I001
