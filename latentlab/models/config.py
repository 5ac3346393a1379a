"""Model configuration: one dataclass per family, round-tripping through JSON, whose
fields describe themselves.

Every field is a plain JSON value. ``from_dict`` validates types and bounds, because a
config may come from a stranger's checkpoint: a hostile ``latent_dim`` of 10**9 must be
an error message, not an out-of-memory crash.

A field the user may choose is declared with :func:`setting`, which puts a
:class:`HyperParameter` (label, help text, range or choices) in the field's metadata.
That one declaration drives validation (``ModelConfig.validate``), the CLI's training
flags and ``info``, and the window's training panel (:func:`hyperparameters`, no Qt).
A subclass that only changes a default (``backbone: str = "conv"``) keeps the label,
help and range of the field it overrides.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Sequence

from latentlab.errors import ConfigError

#: Upper bound on the number of classes (a hostile config must not allocate absurd heads).
_MAX_CLASSES = 1000
_MAX_SIDE = 512
_SPEC = "latentlab.setting"


@dataclass(frozen=True)
class HyperParameter:
    """One setting of a family, as a CLI flag, a spin box or a line of ``info`` shows it.

    ``minimum`` / ``maximum`` bound numbers (inclusive; ``maximum_open`` excludes the
    maximum, as for probabilities below 0.5); ``choices`` lists a text setting's values
    (``options`` holds them, or a function giving them, for a registry read when asked);
    ``live`` marks settings a running training picks up (β, read on every step).
    """

    name: str
    label: str
    help: str
    kind: str  # "int", "float", "bool" or "choice"
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    maximum_open: bool = False
    options: tuple[str, ...] | Callable[[], Sequence[str]] = ()
    live: bool = False

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self.options()) if callable(self.options) else self.options

    @property
    def flag(self) -> str:
        """The CLI flag: ``--latent-dim`` for ``latent_dim``."""
        return "--" + self.name.replace("_", "-")

    def range_text(self) -> str:
        """"from 1 to 1024", ">= 0", "in [0, 0.5)", "mlp or conv": for help and errors."""
        if self.kind == "choice":
            return " or ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        lo, hi = self.minimum, self.maximum
        if hi is None or math.isinf(hi):
            return "" if lo is None else f">= {lo:g}"
        if self.maximum_open:
            return f"in [{lo:g}, {hi:g})"
        return f"from {lo:g} to {hi:g}"

    def check(self, value: Any) -> None:
        """Raise ConfigError naming the setting when ``value`` is outside its range."""
        if self.kind == "choice":
            if value not in self.choices:
                raise ConfigError(f"unknown {self.name} {_shown(value)}; choose one of {', '.join(self.choices)}")
            return
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ConfigError(f"{self.name} must be true or false, got {_shown(value)}")
            return
        if self.kind == "int":
            if not isinstance(value, int) or isinstance(value, bool) or not self._inside(value):
                raise ConfigError(f"{self.name} must be an integer {self.range_text()}, got {_shown(value)}")
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or not self._inside(value):
            raise ConfigError(f"{self.name} must be a finite number {self.range_text()}, got {_shown(value)}")

    def _inside(self, value: float) -> bool:
        if self.minimum is not None and value < self.minimum:
            return False
        if self.maximum is None:
            return True
        return value < self.maximum if self.maximum_open else value <= self.maximum


def setting(
    default: Any,
    label: str,
    help: str,  # noqa: A002 - the word the metadata uses
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    maximum_open: bool = False,
    choices: tuple[str, ...] | Callable[[], Sequence[str]] = (),
    live: bool = False,
) -> Any:
    """A config field the user may set: ``beta: float = setting(1.0, "β", "KL weight", minimum=0)``."""
    kind = "choice" if choices else {bool: "bool", int: "int", float: "float"}.get(type(default))
    if kind is None:
        raise TypeError(f"a setting's default must be a bool, int, float or one of its choices, got {default!r}")
    spec = HyperParameter("", label, help, kind, default, minimum, maximum, maximum_open, choices if callable(choices) else tuple(choices), live)
    return dataclasses.field(default=default, metadata={_SPEC: spec})


def hyperparameters(config_class: type[ModelConfig]) -> list[HyperParameter]:
    """The settings of a config class, in field order, each with its name and this class's
    default (a field redeclared without metadata inherits its base class's description)."""
    out = []
    for f in dataclasses.fields(config_class):
        spec = f.metadata.get(_SPEC) or _inherited_spec(config_class, f.name)
        if spec is not None:
            out.append(dataclasses.replace(spec, name=f.name, default=f.default))
    return out


def _inherited_spec(config_class: type, name: str) -> HyperParameter | None:
    for base in config_class.__mro__[1:]:
        if dataclasses.is_dataclass(base):
            for f in dataclasses.fields(base):
                if f.name == name and _SPEC in f.metadata:
                    return f.metadata[_SPEC]
    return None


def _backbone_names() -> list[str]:
    from latentlab.models.backbones import backbone_names  # the backbone registry (imports torch)

    return backbone_names()


@dataclass
class ModelConfig:
    """Settings shared by every family.

    ``image_shape`` and ``num_classes`` come from the dataset, not from the user.
    ``hidden`` is the width of the first MLP hidden layer (the second is half of it);
    the conv backbone uses 32 and 64 channels and a ``hidden // 2`` wide dense layer.
    """

    family: ClassVar[str] = ""
    backbone: str = setting(
        "mlp", "Backbone", "Network type of encoder and decoder: mlp (dense, fast on a CPU), conv "
        "(convolutional), lstm (recurrent, one row per step) or transformer (attention over patches)",
        choices=_backbone_names)
    latent_dim: int = setting(
        2, "Latent size", "Size of the latent space; 2 is drawn exactly, more as a slice or projection",
        minimum=1, maximum=1024)
    image_shape: tuple[int, int, int] = (1, 28, 28)
    num_classes: int = 10
    hidden: int = setting(
        512, "Width", "Width of the first hidden layer (smaller trains faster)", minimum=8, maximum=8192)

    def __post_init__(self) -> None:
        self.image_shape = tuple(int(v) for v in self.image_shape)  # type: ignore[assignment]
        self.validate()

    def validate(self) -> None:
        """Every setting within its declared range, and a sane image shape and class count."""
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and value != value:  # NaN
                raise ConfigError(f"{f.name} must be a number, got NaN")
        for spec in hyperparameters(type(self)):
            spec.check(getattr(self, spec.name))
        n = self.num_classes
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= _MAX_CLASSES:
            raise ConfigError(f"num_classes must be an integer from 1 to {_MAX_CLASSES}, got {_shown(n)}")
        shape = self.image_shape
        if len(shape) != 3 or shape[0] not in (1, 3) or not all(4 <= s <= _MAX_SIDE for s in shape[1:]):
            raise ConfigError(
                f"image_shape must be (channels 1 or 3, height, width) with sides from 4 to "
                f"{_MAX_SIDE}, got {_shown(shape)}"
            )

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
            default = known[name].default if name != "image_shape" else None
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
