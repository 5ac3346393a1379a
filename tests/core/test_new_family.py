"""The test of the model interface: a family registered in this one file (model and config,
nothing else) is offered by ``latentlab train`` (flags and --help), ``info``, ``sample`` and
the Qt-free description the training panel reads, with no other file changed."""

import json
import re
from dataclasses import dataclass

import pytest
import torch
from PIL import Image
from torch import nn

from latentlab.cli import main
from latentlab.models import registry
from latentlab.models.base import LatentModel
from latentlab.models.config import ModelConfig, setting


@dataclass
class LinearDecoderConfig(ModelConfig):
    sharpness: float = setting(2.0, "Sharpness", "How steeply the decoder's sigmoid turns latents into ink",
                               minimum=0.5, maximum=8.0)


class LinearDecoder(LatentModel):
    """A linear generator trained to match the data's mean image from random latents."""

    title = "Linear decoder (test family)"
    config_class = LinearDecoderConfig
    has_encoder = False

    def __init__(self, config: LinearDecoderConfig) -> None:
        super().__init__(config)
        c, h, w = config.image_shape
        self.linear = nn.Linear(config.latent_dim, c * h * w)

    def decode(self, z, y=None):
        return torch.sigmoid(self.config.sharpness * self.linear(z)).view(len(z), *self.config.image_shape)

    def loss(self, x, y=None):
        fake = self.decode(self.prior_sample(len(x)))
        gap = (fake.mean(0) - x.mean(0)).pow(2).sum()
        return {"loss": gap}


@pytest.fixture
def linear_family(monkeypatch):
    """Register the family for one test, on a copy of the registry."""
    registry.family_names()  # the built-in families first
    monkeypatch.setattr(registry, "FAMILIES", dict(registry.FAMILIES))
    registry.register("linear-decoder")(LinearDecoder)
    return "linear-decoder"


def test_the_new_family_is_described_without_qt(linear_family):
    info = registry.family_info(linear_family)
    assert info.title == "Linear decoder (test family)" and info.role == "model" and info.trainable
    assert (info.has_encoder, info.has_decoder, info.conditional) == (False, True, False)
    assert linear_family in [i.family for i in registry.families(role="model", trainable=True)]
    (sharpness,) = [hp for hp in registry.hyperparameters(linear_family) if hp.name == "sharpness"]
    assert (sharpness.label, sharpness.kind, sharpness.default) == ("Sharpness", "float", 2.0)
    assert (sharpness.minimum, sharpness.maximum, sharpness.flag) == (0.5, 8.0, "--sharpness")
    assert "sigmoid" in sharpness.help
    assert {"backbone", "latent_dim", "hidden"} <= {hp.name for hp in registry.hyperparameters(linear_family)}


def test_train_help_offers_the_family_and_its_setting(linear_family, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    text = re.sub(r"(?<=\w-) ", "", " ".join(capsys.readouterr().out.split()))  # argparse wraps the help
    assert "linear-decoder (Linear decoder (test family))" in text
    assert "--sharpness" in text and "Sharpness: How steeply" in text


def test_train_info_and_sample_work_for_the_new_family(linear_family, tmp_path, capsys):
    out = tmp_path / "linear"
    code = main(["train", "--model", linear_family, "--sharpness", "3", "--image-size", "8", "--epochs", "1",
                 "--no-judge", "--quiet", "--device", "cpu", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "linear-decoder: Linear decoder (test family)" in text and "Sharpness (sharpness) 3" in text
    assert main(["info", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"]["sharpness"] == 3.0
    png = tmp_path / "grid.png"
    assert main(["sample", str(out), "--n", "4", "--out", str(png), "--scale", "1"]) == 0
    assert Image.open(png).size == (2 * 10 + 2, 2 * 10 + 2)


def test_a_setting_out_of_its_declared_range_is_one_line(linear_family, capsys):
    assert main(["train", "--model", linear_family, "--sharpness", "20", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "sharpness must be a finite number from 0.5 to 8, got 20.0" in err
