"""Model configuration: one dataclass per family, round-tripping through JSON.

Every field is a plain JSON value. ``from_dict`` validates types and bounds, because a
config may come from a stranger's checkpoint: a hostile ``latent_dim`` of 10**9 must be
an error message, not an out-of-memory crash.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from latentlab.errors import ConfigError

# Upper bounds that keep a hostile config from allocating absurd memory.
_LIMITS = {"latent_dim": (1, 1024), "hidden": (8, 8192), "num_classes": (1, 1000)}
_MAX_SIDE = 512


@dataclass
class ModelConfig:
    """Settings shared by every family.

    ``hidden`` is the width of the first MLP hidden layer (the second is half of it);
    the conv backbone uses 32 and 64 channels and a ``hidden // 2`` wide dense layer.
    """

    family: ClassVar[str] = ""
    backbone: str = "mlp"
    latent_dim: int = 2
    image_shape: tuple[int, int, int] = (1, 28, 28)
    num_classes: int = 10
    hidden: int = 512

    def __post_init__(self) -> None:
        self.image_shape = tuple(int(v) for v in self.image_shape)  # type: ignore[assignment]
        self.validate()

    def validate(self) -> None:
        from latentlab.models.backbones import backbone_names  # the backbone registry (imports torch)

        if self.backbone not in backbone_names():
            raise ConfigError(
                f"unknown backbone {_shown(self.backbone)}; choose one of {', '.join(backbone_names())}"
            )
        for name, (lo, hi) in _LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise ConfigError(f"{name} must be an integer from {lo} to {hi}, got {_shown(value)}")
        shape = self.image_shape
        if len(shape) != 3 or shape[0] not in (1, 3) or not all(4 <= s <= _MAX_SIDE for s in shape[1:]):
            raise ConfigError(
                f"image_shape must be (channels 1 or 3, height, width) with sides from 4 to "
                f"{_MAX_SIDE}, got {_shown(shape)}"
            )
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and value != value:  # NaN
                raise ConfigError(f"{f.name} must be a number, got NaN")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["image_shape"] = list(self.image_shape)
        return {"family": self.family, **d}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        data = dict(data)
        family = data.pop("family", cls.family)
        if family != cls.family:
            raise ConfigError(f"config is for family {_shown(family)}, not {cls.family!r}")
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            shown = ", ".join(_shown(name, 30) for name in unknown[:3]) + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
            raise ConfigError(f"unknown {cls.family} setting(s): {shown}")
        for name, value in data.items():
            default = getattr(cls, name, None) if name != "image_shape" else None
            if name == "image_shape":
                if not isinstance(value, (list, tuple)) or not all(
                    isinstance(v, int) and not isinstance(v, bool) for v in value
                ):
                    raise ConfigError(f"image_shape must be a list of integers, got {_shown(value)}")
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ConfigError(f"{name} must be true or false, got {_shown(value)}")
            elif isinstance(default, float):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ConfigError(f"{name} must be a number, got {_shown(value)}")
                data[name] = float(value)
            elif isinstance(default, int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ConfigError(f"{name} must be an integer, got {_shown(value)}")
            elif isinstance(default, str) and not isinstance(value, str):
                raise ConfigError(f"{name} must be a string, got {_shown(value)}")
        return cls(**data)


def _shown(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters: a value may come from a stranger's file."""
    text = repr(value) if not isinstance(value, (list, tuple, dict)) or len(value) <= 8 else \
        f"a {type(value).__name__} of {len(value)} items"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def require_non_negative(config: ModelConfig, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if not 0.0 <= value < float("inf"):
            raise ConfigError(f"{name} must be a finite number >= 0, got {_shown(value)}")


def require_probability(config: ModelConfig, *names: str, upper: float = 1.0) -> None:
    for name in names:
        value = getattr(config, name)
        if not 0.0 <= value < upper:
            raise ConfigError(f"{name} must be in [0, {upper}), got {_shown(value)}")


