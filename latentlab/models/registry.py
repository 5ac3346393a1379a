"""The family registry: a dict filled by a decorator, so adding a family touches one file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, TypeVar

from latentlab.errors import ConfigError

if TYPE_CHECKING:
    from latentlab.models.base import LatentModel
    from latentlab.models.config import ModelConfig

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


def _load_builtin_families() -> None:
    # Importing the modules runs their @register decorators.
    from latentlab.models import ae, gan, judge, msvae, pixelcnn, vae, wgan_gp  # noqa: F401
