"""The shipped checkpoints: each loads and still meets the metrics resources/README.md lists."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from latentlab.data import load_dataset
from latentlab.models.checkpoint import load_checkpoint
from latentlab.pretrained import MODELS, SHIPPED, catalogue, default_checkpoint, pretrained_dir

ROOT = Path(__file__).resolve().parents[2]


def _build_script():
    spec = importlib.util.spec_from_file_location("build_pretrained", ROOT / "scripts" / "build_pretrained.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _build_script()
MANIFEST = json.loads((pretrained_dir() / build.MANIFEST).read_text())


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(build.DATASET)


@pytest.fixture(scope="module")
def judge():
    return load_checkpoint(build.model_path("judge")).model


def test_every_model_of_the_menu_ships_with_its_metrics():
    assert [m.key for m in catalogue()] == [m.key for m in MODELS]
    assert all(m.path.is_file() for m in SHIPPED)
    assert set(MANIFEST) == {"judge", *(m.key for m in SHIPPED), *build.EXTRAS}  # + the density models
    assert default_checkpoint() == pretrained_dir() / "vae.safetensors"


def test_the_readme_table_is_the_manifest():
    readme = build.README.read_text()
    assert f"{build.TABLE_BEGIN}\n{build.render_table(MANIFEST)}\n{build.TABLE_END}" in readme


@pytest.mark.parametrize("key", list(MANIFEST))
def test_shipped_checkpoint_meets_its_listed_metrics(key, dataset, judge):
    ckpt = load_checkpoint(build.model_path(key))
    assert ckpt.model.family == MANIFEST[key]["family"]
    assert ckpt.dataset["name"] == build.DATASET
    now = build.measure(ckpt.model, dataset, judge if key != "judge" else None)
    for name, listed in MANIFEST[key]["metrics"].items():
        # Re-measured with the same seed; the margin only absorbs other CPUs' float rounding.
        assert abs(now[name] - listed) <= 0.01 * abs(listed) + 0.005, (key, name, listed, now[name])


def test_the_shipped_models_meet_the_teaching_goals():
    """The figures the issues ask for, read from the measured manifest."""
    m = {k: v["metrics"] for k, v in MANIFEST.items()}
    assert m["judge"]["test_accuracy"] >= 0.96
    assert m["vae"]["test_neg_elbo"] <= 160
    assert m["msvae"]["head_accuracy"] >= 0.90
    for gan in ("gan", "wgan-gp"):
        assert m[gan]["sample_min_class_share"] >= 0.04, gan
    kls = [m[k]["test_kl"] for k in ("vae-beta0.5", "vae", "vae-beta2", "vae-beta4", "vae-beta8")]
    assert kls == sorted(kls, reverse=True)  # a larger β buys a smaller KL
    # Issue 13: conditional models draw the class they are asked for (1,000 prior samples per class).
    cvae, cgan = MANIFEST["cvae"]["goals"], MANIFEST["cgan"]["goals"]
    assert cvae["samples_per_class"] == cgan["samples_per_class"] == 1000
    assert cvae["min_class_agreement"] >= 0.97
    assert m["cvae"]["test_neg_elbo"] <= m["vae"]["test_neg_elbo"]  # the label is information
    assert cgan["min_class_agreement"] >= 0.95 and cgan["min_class_confidence"] >= 0.90
    assert m["cgan"]["judge_fid"] < m["gan"]["judge_fid"]
    # Issue 15: the PixelCNN's exact test NLL is clearly below the 16-D VAE's -ELBO (same units),
    # and the flow prior's samples are closer to the test digits than the mixture's (judge FID).
    assert m["pixelcnn"]["test_nll"] < m["vae-16d"]["test_neg_elbo"] - 20
    assert m["ae-flow"]["flow_judge_fid"] < m["ae-flow"]["mixture_judge_fid"]
    # In 32-D the flow beats the 10-component mixture on both of the judge's figures (25,000
    # samples per source: a smallest share moves ~0.2 points between draws of that size; 5,000
    # left the lead within noise). In 2-D the decoder caps the share, and only the FID improves.
    flow32 = m["ae32-flow"]
    assert flow32["flow_judge_fid"] < flow32["mixture_judge_fid"] - 5
    assert flow32["flow_sample_min_class_share"] > flow32["mixture_sample_min_class_share"] + 0.004
