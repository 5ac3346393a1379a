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

BACKBONES = ("mlp", "conv")

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
        if self.backbone not in BACKBONES:
            raise ConfigError(
                f"unknown backbone {self.backbone!r}; choose one of {', '.join(BACKBONES)}"
            )
        for name, (lo, hi) in _LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise ConfigError(f"{name} must be an integer from {lo} to {hi}, got {value!r}")
        shape = self.image_shape
        if len(shape) != 3 or shape[0] not in (1, 3) or not all(4 <= s <= _MAX_SIDE for s in shape[1:]):
            raise ConfigError(
                f"image_shape must be (channels 1 or 3, height, width) with sides from 4 to "
                f"{_MAX_SIDE}, got {shape!r}"
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
            raise ConfigError(f"config is for family {family!r}, not {cls.family!r}")
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"unknown {cls.family} setting(s): {', '.join(unknown)}")
        for name, value in data.items():
            default = getattr(cls, name, None) if name != "image_shape" else None
            if name == "image_shape":
                if not isinstance(value, (list, tuple)) or not all(
                    isinstance(v, int) and not isinstance(v, bool) for v in value
                ):
                    raise ConfigError(f"image_shape must be a list of integers, got {value!r}")
            elif isinstance(default, bool):
                if not isinstance(value, bool):
                    raise ConfigError(f"{name} must be true or false, got {value!r}")
            elif isinstance(default, float):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ConfigError(f"{name} must be a number, got {value!r}")
                data[name] = float(value)
            elif isinstance(default, int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ConfigError(f"{name} must be an integer, got {value!r}")
            elif isinstance(default, str) and not isinstance(value, str):
                raise ConfigError(f"{name} must be a string, got {value!r}")
        return cls(**data)


def require_non_negative(config: ModelConfig, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        if not 0.0 <= value < float("inf"):
            raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")


def require_probability(config: ModelConfig, *names: str, upper: float = 1.0) -> None:
    for name in names:
        value = getattr(config, name)
        if not 0.0 <= value < upper:
            raise ConfigError(f"{name} must be in [0, {upper}), got {value!r}")


