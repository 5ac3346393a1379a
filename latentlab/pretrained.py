"""The pretrained checkpoints shipped in ``resources/pretrained`` (built by
``scripts/build_pretrained.py``), in the order the window's model menu lists them.

A model whose file is missing (a trimmed install) is simply absent from ``catalogue()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from latentlab.locations import resources_dir


@dataclass(frozen=True)
class Pretrained:
    key: str  # file stem, e.g. "vae-beta4"
    title: str  # menu text, e.g. "β-VAE, β = 4 (2-D)"
    family: str
    group: str  # menu section: "autoencoders", "beta ladder", "generators", "conditional", "higher-dimensional"

    @property
    def path(self) -> Path:
        return pretrained_dir() / f"{self.key}.safetensors"


#: Every model the build script makes, in menu order. The first is the default.
MODELS: tuple[Pretrained, ...] = (
    Pretrained("vae", "VAE (β = 1, 2-D)", "vae", "autoencoders"),
    Pretrained("ae", "Autoencoder (2-D)", "ae", "autoencoders"),
    Pretrained("dae", "Denoising autoencoder (2-D)", "ae", "autoencoders"),
    Pretrained("msvae", "Multi-stage VAE with classifier head (2-D)", "msvae", "autoencoders"),
    Pretrained("vae-beta0.5", "β-VAE, β = 0.5 (2-D)", "vae", "beta ladder"),
    Pretrained("vae-beta2", "β-VAE, β = 2 (2-D)", "vae", "beta ladder"),
    Pretrained("vae-beta4", "β-VAE, β = 4 (2-D)", "vae", "beta ladder"),
    Pretrained("vae-beta8", "β-VAE, β = 8 (2-D)", "vae", "beta ladder"),
    Pretrained("gan", "GAN, DCGAN-style (2-D)", "gan", "generators"),
    Pretrained("wgan-gp", "WGAN-GP (2-D)", "wgan-gp", "generators"),
    Pretrained("vae-16d", "VAE with a 16-D latent", "vae", "higher-dimensional"),
    # Told the class: the window's legend picks it, and the CLI's --class
    # (``latentlab sample resources/pretrained/cvae.safetensors --class 7``).
    Pretrained("cvae", "Conditional VAE: ask for a digit (2-D)", "cvae", "conditional"),
    Pretrained("cgan", "Conditional GAN: ask for a digit (2-D)", "cgan", "conditional"),
)
#: The conditional models among them.
CONDITIONAL: tuple[Pretrained, ...] = tuple(m for m in MODELS if m.group == "conditional")
#: Every shipped model, in the build's order.
SHIPPED: tuple[Pretrained, ...] = MODELS

#: The β ladder, in order of β (the plain VAE is its β = 1 rung), with each rung's β. The
#: rungs share one orientation of the latent plane (see scripts/build_pretrained.py).
LADDER_BETAS: dict[str, float] = {"vae-beta0.5": 0.5, "vae": 1.0, "vae-beta2": 2.0, "vae-beta4": 4.0,
                                  "vae-beta8": 8.0}
BETA_LADDER: tuple[str, ...] = tuple(LADDER_BETAS)


def pretrained_dir() -> Path:
    return resources_dir() / "pretrained"


def catalogue() -> list[Pretrained]:
    """The shipped models whose files exist, in menu order."""
    return [entry for entry in MODELS if entry.path.is_file()]


def find(key: str) -> Pretrained | None:
    return next((entry for entry in SHIPPED if entry.key == key), None)


def default_checkpoint() -> Path | None:
    """The checkpoint the window opens on when nothing else is asked for: the VAE."""
    entry = MODELS[0]
    return entry.path if entry.path.is_file() else None


def shipped_entry(path: str | Path | None) -> Pretrained | None:
    """The shipped model whose file ``path`` is, or None (another file, or no path)."""
    if path is None:
        return None
    try:
        target = Path(path).resolve()
        return next((entry for entry in SHIPPED if entry.path.resolve() == target), None)
    except OSError:
        return None


def ladder_rung(beta: float) -> Pretrained | None:
    """The installed rung of the β ladder trained at ``beta``, or None."""
    key = next((k for k, b in LADDER_BETAS.items() if abs(b - beta) <= 1e-9 * b), None)
    entry = find(key) if key is not None else None
    return entry if entry is not None and entry.path.is_file() else None
