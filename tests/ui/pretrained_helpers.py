"""A private resources folder with a few tiny "pretrained" checkpoints, for the tests of
the model menu, the default model and session restore (importable, unlike conftest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from latentlab.data import resources_dir
from latentlab.models.checkpoint import save_checkpoint
from ui_helpers import tiny_history, tiny_model

#: The catalogue keys the fixture installs (a subset, in menu order) and their latent sizes.
INSTALLED = {"vae": 2, "ae": 2, "vae-beta2": 2}


def make_resources(root: Path, mnist, keys: dict[str, int] = INSTALLED) -> Path:
    """``root`` as a resources folder: the real datasets and judge, tiny models under ``keys``."""
    real = resources_dir()
    (root / "pretrained").mkdir(parents=True)
    (root / "datasets").symlink_to(real / "datasets", target_is_directory=True)
    for judge in (real / "pretrained").glob("judge-*"):
        (root / "pretrained" / judge.name).symlink_to(judge)
    for seed, (key, latent_dim) in enumerate(keys.items()):
        family = "ae" if key in ("ae", "dae") else "vae"
        save_checkpoint(root / "pretrained" / f"{key}.safetensors", tiny_model(family, latent_dim, seed=seed),
                        dataset=mnist.info(), history=tiny_history(2))
    # Not in the catalogue: must never be listed.
    save_checkpoint(root / "pretrained" / "stranger.safetensors", tiny_model("vae"), dataset=mnist.info())
    return root


@pytest.fixture
def pretrained(tmp_path, monkeypatch, mnist) -> Path:
    """LATENTLAB_RESOURCES points at a fresh resources folder; its pretrained/ folder is returned."""
    root = make_resources(tmp_path / "resources", mnist)
    monkeypatch.setenv("LATENTLAB_RESOURCES", str(root))
    return root / "pretrained"
