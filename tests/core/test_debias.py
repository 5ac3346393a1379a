"""Debiasing: the bias rule, the density weights, weighted sampling in the trainer, the demo."""

import json

import numpy as np
import pytest
import torch

from latentlab.cli import main
from latentlab.data import ImageDataset, Split
from latentlab.errors import ConfigError
from latentlab.latent.debias import (
    WEIGHT_CAP,
    BiasRule,
    biased_indices,
    density_weights,
    log_density,
    run_debias,
    slant,
)
from latentlab.models import create_model, make_config
from latentlab.models.base import LatentModel
from latentlab.training.trainer import Trainer, TrainSettings


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def strokes(kind: str) -> torch.Tensor:
    """A 12x12 image of one stroke: '/', '\\' or '|'."""
    image = torch.zeros(1, 12, 12)
    for row in range(2, 10):
        col = {"/": 11 - row, "\\": row, "|": 6}[kind]
        image[0, row, col] = 1.0
    return image


def test_slant_is_measured_from_the_ink():
    s = slant(torch.stack([strokes("/"), strokes("\\"), strokes("|")]))
    assert s[0] > 0.5 and s[1] < -0.5 and abs(s[2]) < 1e-6


def test_the_rule_keeps_a_fraction_of_its_group_and_everything_else():
    labels = torch.arange(100) % 4
    split = Split(torch.rand(100, 1, 12, 12), labels)
    rule = BiasRule("class", target=2, keep=0.2)
    group = rule.group(split, None)
    kept = biased_indices(split, group, rule.keep, seed=0)
    assert group.sum() == 25
    assert (labels[kept] == 2).sum() == 5 and (labels[kept] != 2).sum() == 75
    assert np.array_equal(kept, biased_indices(split, group, rule.keep, seed=0))
    assert "keep 20% of class c" in rule.describe(["a", "b", "c", "d"])
    slanted = BiasRule("slant", target=1, keep=0.5, share=0.5)
    images = torch.stack([strokes("/" if i % 8 == 1 else "|") for i in range(100)])
    split = Split(images, labels)
    mask = slanted.group(split, slanted.slant_threshold(split))
    assert mask.sum() == 13 and (labels[mask] == 1).all()  # the 13 slanted 1s of 25
    for bad in ({"kind": "size"}, {"keep": 0.0}, {"share": 1.0}):
        with pytest.raises(ConfigError):
            BiasRule(**bad)


def test_rare_codes_weigh_more_and_the_weights_are_capped():
    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.normal(0, 1, (950, 2)), rng.normal(6, 0.3, (50, 2))])
    log_p = log_density(codes, "hist")
    assert log_p[950:].mean() < log_p[:950].mean()
    w = density_weights(log_p, alpha=1.0)
    assert abs(w.mean() - 1) < 1e-9 and w.max() <= WEIGHT_CAP + 1e-9
    assert w[950:].sum() / w.sum() > 0.2  # the rare cluster: 5% of the images, far more of the draws
    assert np.allclose(density_weights(log_p, alpha=0.0), 1.0)
    with pytest.raises(ConfigError, match="alpha"):
        density_weights(log_p, alpha=-1)


class Recorder(LatentModel):
    """A model that remembers which images it was trained on."""

    has_encoder = has_decoder = False

    def __init__(self, config):
        super().__init__(config)
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.seen: list[torch.Tensor] = []

    def loss(self, x, y=None):
        return {"loss": (self.w * x.mean()).pow(2).sum()}

    def train_step(self, x, y, optimizers, step):
        self.seen.append(x[:, 0, 0, 0].clone())
        return super().train_step(x, y, optimizers, step)


def test_the_trainer_draws_images_in_proportion_to_their_weights():
    n = 64
    images = torch.arange(n, dtype=torch.float32)[:, None, None, None].expand(n, 1, 4, 4).clone()
    data = ImageDataset("ids", ["x"], Split(images, torch.zeros(n, dtype=torch.long)),
                        Split(images[:8], torch.zeros(8, dtype=torch.long)))
    weights = torch.zeros(n)
    weights[[3, 7]] = torch.tensor([1.0, 3.0])
    model = Recorder(make_config("ae", image_shape=[1, 4, 4], num_classes=1, hidden=8))
    Trainer(model, data, TrainSettings(epochs=10, batch_size=16, evaluate_every=0, device="cpu"),
            sample_weights=weights).fit()
    seen = torch.cat(model.seen)
    assert len(seen) == 10 * 64 and set(seen.tolist()) == {3.0, 7.0}
    assert 0.65 < float((seen == 7).float().mean()) < 0.85
    with pytest.raises(ConfigError, match="one per training image"):
        Trainer(model, data, TrainSettings(epochs=1, device="cpu"), sample_weights=torch.ones(5))


def small_digits(tiny_dataset):
    """The bars, with a third, rare class: a diagonal."""
    def with_diagonals(split, n):
        images, labels = split.images.clone(), split.labels.clone()
        for i in range(n):
            images[i] = 0.0
            images[i, 0, torch.arange(1, 7), torch.arange(1, 7)] = 1.0
            labels[i] = 2
        return Split(images, labels)
    return ImageDataset("bars3", ["horizontal", "vertical", "diagonal"], with_diagonals(tiny_dataset.train, 40),
                        with_diagonals(tiny_dataset.test, 10))


def test_the_demo_reports_the_group_before_and_after(tiny_dataset):
    data = small_digits(tiny_dataset)
    judge = create_model(make_config("judge", image_shape=[1, 8, 8], num_classes=3, latent_dim=16)).eval()
    rule = BiasRule("class", target=2, keep=0.25)
    report, before, after = run_debias(data, judge, rule, alpha=1.0, density="hist", hidden=32, epochs=2)
    assert report.train_images == 128 - 30 and report.group_train_images == 10
    assert report.before["group"].images == 10 and report.before["all"].images == 32
    assert len(report.weights) == len(report.codes) == report.train_images
    assert report.group_share_before == pytest.approx(10 / 98)
    assert report.accuracy_gain == report.after["group"].judge_accuracy - report.before["group"].judge_accuracy
    summary = json.loads(json.dumps(report.summary()))
    assert set(summary["before"]) == {"group", "others", "all"}
    assert not any(torch.equal(a, b) for a, b in zip(before.state_dict().values(), after.state_dict().values()))
    with pytest.raises(ConfigError, match="choose 0 to 2"):
        run_debias(data, judge, BiasRule("class", target=5), epochs=1)


def test_debias_from_the_command_line(tmp_path, capsys, tiny_dataset, monkeypatch):
    data = small_digits(tiny_dataset)
    judge = create_model(make_config("judge", image_shape=[1, 8, 8], num_classes=3, latent_dim=16)).eval()
    monkeypatch.setattr("latentlab.data.load_dataset", lambda *a, **k: data)
    monkeypatch.setattr("latentlab.training.judges.get_judge", lambda *a, **k: judge)
    out = tmp_path / "run"
    args = ["debias", "--dataset", "bars3", "--target", "2", "--keep", "0.25", "--density", "hist",
            "--hidden", "32", "--epochs", "1", "--quiet", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "group (diagonal)" in printed and "judge accuracy on the group's reconstructions" in printed
    assert {p.name for p in out.iterdir()} == {"biased.safetensors", "debiased.safetensors", "weights.csv",
                                                "report.json"}
    assert len((out / "weights.csv").read_text().splitlines()) == 1 + 98
    from latentlab.models.checkpoint import load_checkpoint

    saved = load_checkpoint(out / "debiased.safetensors")  # its record passes the checkpoint schema
    assert saved.training["debias"]["alpha"] == 1.0
    assert main(args) == 2  # --out is not empty now
    assert "not an empty folder" in capsys.readouterr().err
    assert main(["debias", "--alpha", "11", "--dataset", "bars3", "--target", "2", "--quiet"]) == 2
