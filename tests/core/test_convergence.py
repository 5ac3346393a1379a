"""LossPlateau: when the β slider's fine-tune has settled, and where user models are saved."""

from __future__ import annotations

import math
from pathlib import Path

from latentlab import locations
from latentlab.training.convergence import LossPlateau


def feed(plateau: LossPlateau, losses) -> list[bool]:
    return [plateau.update(loss) for loss in losses]


def test_settles_after_patience_epochs_without_a_real_gain():
    plateau = LossPlateau(patience=3, min_improvement=0.01)
    # 100 -> 90 -> 80 are gains; 79.5 (0.6 %), 79.9 and 80.2 are not.
    assert feed(plateau, [100, 90, 80, 79.5, 79.9, 80.2]) == [False] * 5 + [True]
    assert plateau.best == 80 and plateau.epochs == 6


def test_a_gain_starts_the_count_over():
    plateau = LossPlateau(patience=2, min_improvement=0.01)
    assert feed(plateau, [100, 99.5, 90, 89.9, 89.8]) == [False, False, False, False, True]


def test_a_reset_skips_the_mixed_epoch_and_forgets_the_old_best():
    plateau = LossPlateau(patience=2, min_improvement=0.01)
    feed(plateau, [100, 100])
    plateau.reset()  # β changed mid-epoch
    assert not plateau.update(50)  # half old β, half new: skipped
    assert plateau.epochs == 0 and plateau.best == math.inf
    assert feed(plateau, [120, 110, 109.5, 109.4]) == [False, False, False, True]


def test_non_finite_losses_are_ignored():
    plateau = LossPlateau(patience=1)
    assert not plateau.update(float("nan")) and plateau.epochs == 0


def test_the_data_folder_follows_xdg_and_the_override(monkeypatch, tmp_path):
    monkeypatch.delenv("LATENTLAB_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert locations.models_dir() == tmp_path / "xdg" / "latentlab" / "models"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    assert locations.data_dir() == Path.home() / ".local" / "share" / "latentlab"
    monkeypatch.setenv("LATENTLAB_HOME", str(tmp_path / "mine"))
    assert locations.data_dir() == tmp_path / "mine"


def test_inside_package_covers_the_package_and_its_resources(monkeypatch, tmp_path):
    package = Path(locations.__file__).resolve().parent
    assert locations.inside_package(package / "new-model")
    assert locations.inside_package(package.parent / "resources" / "pretrained" / "vae.safetensors")
    monkeypatch.setenv("LATENTLAB_RESOURCES", str(tmp_path / "res"))
    assert locations.inside_package(tmp_path / "res" / "pretrained" / "x")
    assert not locations.inside_package(tmp_path / "elsewhere")


def test_free_name_counts_up(tmp_path):
    assert locations.free_name(tmp_path, "vae-fine-tuned") == tmp_path / "vae-fine-tuned"
    (tmp_path / "vae-fine-tuned").mkdir()
    (tmp_path / "vae-fine-tuned-2").mkdir()
    assert locations.free_name(tmp_path, "vae-fine-tuned") == tmp_path / "vae-fine-tuned-3"
