"""The first screen's NumPy networks (latentlab.preview): the same numbers as PyTorch for
every model they accept, a reasoned refusal of every other file, and no PyTorch import."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from latentlab.data import DEFAULT_DATASET, load_dataset
from latentlab.latent.neighbours import PlaneIndex
from latentlab.latent.plane_grid import upsample_bilinear
from latentlab.latent.projection import SliceProjection
from latentlab.latent.territory import manifold, territory
from latentlab.models import create_model, make_config
from latentlab.models.checkpoint import load_checkpoint, save_checkpoint
from latentlab.pretrained import catalogue, pretrained_dir
from latentlab.preview import PreviewUnavailable, open_preview
from latentlab.preview.preview import BUNDLED_DATASET, FAMILIES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist-5k")


@pytest.fixture(scope="module")
def judge():
    return load_checkpoint(pretrained_dir() / "judge-mnist-5k.safetensors").model.eval()


def shipped_previews() -> list[str]:
    """The catalogue's checkpoints the preview accepts (the 2-D MLP autoencoders)."""
    keys = []
    for entry in catalogue():
        try:
            open_preview(entry.path)
        except PreviewUnavailable:
            continue
        keys.append(entry.key)
    return keys


def test_the_preview_reads_the_checkpoint_layout_the_loader_writes():
    """latentlab.preview copies these names (importing them would import PyTorch)."""
    from latentlab.models import checkpoint
    from latentlab.preview import preview

    assert BUNDLED_DATASET == DEFAULT_DATASET
    assert preview.METADATA_KEY == checkpoint.METADATA_KEY
    assert preview.FORMAT_VERSION == checkpoint.FORMAT_VERSION
    assert (preview.FOLDER_RECORD, preview.FOLDER_WEIGHTS) == (checkpoint.CONFIG_FILE, checkpoint.WEIGHTS_FILE)


def test_the_default_vae_and_the_other_2d_autoencoders_are_previewed():
    keys = shipped_previews()
    assert "vae" in keys  # the window's default: its first screen needs no PyTorch
    assert {"ae", "dae", "msvae", "vae-beta0.5", "vae-beta8"} <= set(keys)
    assert not {"gan", "wgan-gp", "vae-16d"} & set(keys)


@pytest.mark.parametrize("key", ["vae", "ae", "dae", "msvae", "vae-beta4"])
def test_numpy_encode_and_decode_match_pytorch_on_shipped_models(key, mnist):
    path = pretrained_dir() / f"{key}.safetensors"
    model = load_checkpoint(path).model.eval()
    preview = open_preview(path)
    with torch.inference_mode():
        expected_z = model.encode(mnist.test.images).numpy()
        grid = torch.from_numpy(np.random.default_rng(0).normal(0, 2, (200, 2)).astype(np.float32))
        expected_x = model.decode(grid).numpy()
    np.testing.assert_allclose(preview.encode_test_set(), expected_z, atol=2e-5)
    np.testing.assert_allclose(preview.decode(grid.numpy()), expected_x, atol=2e-6)
    assert preview.test_images.shape == (len(mnist.test.images), 28, 28)
    np.testing.assert_array_equal(preview.test_labels, mnist.test.labels.numpy())
    assert preview.class_names == mnist.class_names


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("latent_dim", [1, 2])
@pytest.mark.parametrize("suffix", [".safetensors", ""])  # a file, or a folder as the window saves
def test_numpy_networks_match_pytorch_for_random_weights(family, latent_dim, suffix, tmp_path, mnist):
    torch.manual_seed(latent_dim)
    model = create_model(make_config(family, hidden=48, latent_dim=latent_dim)).eval()
    path = save_checkpoint(tmp_path / f"{family}{suffix}", model, dataset=mnist.info())
    assert path.is_dir() == (suffix == "")
    preview = open_preview(path)
    x = mnist.test.images[:64]
    z = torch.randn(64, latent_dim) * 3
    with torch.inference_mode():
        np.testing.assert_allclose(preview.model.encode(x.numpy()), model.encode(x).numpy(), atol=2e-5)
        np.testing.assert_allclose(preview.decode(z.numpy()), model.decode(z).numpy(), atol=2e-6)
    assert preview.has_beta == (family != "ae")


def test_the_numpy_judge_matches_pytorch(judge, mnist):
    preview = open_preview(pretrained_dir() / "vae.safetensors")
    images = mnist.test.images[:300]
    with torch.inference_mode():
        expected = judge.classify(images).numpy()
    np.testing.assert_allclose(preview.judge.classify(images.numpy()), expected, atol=1e-3, rtol=1e-4)
    classes, confidence = preview.judge.predict(images.numpy())
    np.testing.assert_array_equal(classes, expected.argmax(1))
    np.testing.assert_allclose(confidence, F.softmax(torch.from_numpy(expected), 1).max(1).values.numpy(), atol=1e-5)


def test_territory_and_manifold_match_the_pytorch_path(judge):
    path = pretrained_dir() / "vae.safetensors"
    model = load_checkpoint(path).model.eval()
    preview = open_preview(path)
    projection = SliceProjection.through_mean(preview.encode_test_set())
    region = ((-3.0, 2.5), (-2.0, 3.0))
    ours = preview.territory(projection, *region, 16)
    theirs = territory(model, judge, projection, *region, 16)
    agree = (ours.classes == theirs.classes).mean()
    assert agree >= 0.99, agree  # a cell exactly on a class border may tip either way
    np.testing.assert_allclose(ours.confidence, theirs.confidence, atol=1e-3)
    np.testing.assert_allclose(preview.manifold(projection, *region, 6), manifold(model, projection, *region, 6),
                               atol=2e-6)


def test_bilinear_upsampling_is_pytorchs(tmp_path):
    rng = np.random.default_rng(1)
    for shape in [(16, 16, 4), (5, 9, 4), (1, 1, 3)]:
        image = rng.random(shape, dtype=np.float32) * 255
        expected = F.interpolate(torch.from_numpy(image).permute(2, 0, 1)[None], scale_factor=4, mode="bilinear",
                                 align_corners=False)[0].permute(1, 2, 0).numpy()
        np.testing.assert_allclose(upsample_bilinear(image, 4), expected, atol=1e-3)


# ----------------------------------------------------------------- refusals
def _refused(path) -> str:
    with pytest.raises(PreviewUnavailable) as info:
        open_preview(path)
    return str(info.value)


def test_models_the_preview_does_not_run_are_refused_with_a_reason(tmp_path, mnist):
    assert "conv backbone" in _refused(pretrained_dir() / "gan.safetensors")
    assert "16-D" in _refused(pretrained_dir() / "vae-16d.safetensors")
    assert "judge" in _refused(pretrained_dir() / "judge-mnist-5k.safetensors")
    conv = save_checkpoint(tmp_path / "conv.safetensors", create_model(make_config("vae", backbone="conv")),
                           dataset=mnist.info())
    assert "conv backbone" in _refused(conv)
    digits = load_dataset("digits")
    other = save_checkpoint(tmp_path / "digits.safetensors",
                            create_model(make_config("vae", hidden=32, image_shape=digits.image_shape)),
                            dataset=digits.info())
    assert "dataset" in _refused(other)


def test_broken_and_hostile_files_are_refused_not_raised(tmp_path, mnist):
    good = save_checkpoint(tmp_path / "good.safetensors", create_model(make_config("vae", hidden=32)),
                           dataset=mnist.info())
    data = good.read_bytes()
    cases = {
        "truncated.safetensors": data[: len(data) // 2],
        "garbage.safetensors": b"\x00" * 64,
        "pickled.safetensors": pickle.dumps({"weights": [1, 2, 3]}),
        "huge-header.safetensors": (2**62).to_bytes(8, "little") + b"{}",
    }
    for name, content in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        _refused(path)
    _refused(tmp_path / "missing.safetensors")
    folder = save_checkpoint(tmp_path / "folder", create_model(make_config("vae", hidden=32)), dataset=mnist.info())
    (folder / "config.json").write_bytes(pickle.dumps({"format_version": 1}))
    _refused(folder)
    (folder / "config.json").unlink()
    _refused(folder)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, foreign)  # a safetensors file without latentlab's record
    assert "latentlab record" in _refused(foreign)


def test_weights_of_another_layout_are_refused(tmp_path, mnist):
    model = create_model(make_config("vae", hidden=32))
    path = save_checkpoint(tmp_path / "vae.safetensors", model, dataset=mnist.info())
    state = load_checkpoint(path).model.state_dict()
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        metadata = f.metadata()
    del state["decoder.net.4.bias"]
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "missing.safetensors", metadata=metadata)
    assert "decoder.net.4.bias" in _refused(tmp_path / "missing.safetensors")
    record = json.loads(metadata["latentlab"])
    record["model"]["hidden"] = 64  # the record says 64, the tensors are 32 wide
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp_path / "lying.safetensors",
              metadata={**metadata, "latentlab": json.dumps(record)})
    assert "shape" in _refused(tmp_path / "lying.safetensors")


def test_a_missing_judge_leaves_a_preview_without_territory(tmp_path, monkeypatch, mnist):
    resources = tmp_path / "resources"
    (resources / "pretrained").mkdir(parents=True)
    (resources / "datasets").symlink_to(ROOT / "resources" / "datasets", target_is_directory=True)
    monkeypatch.setenv("LATENTLAB_RESOURCES", str(resources))
    path = save_checkpoint(tmp_path / "vae.safetensors", create_model(make_config("vae", hidden=32)),
                           dataset=mnist.info())
    preview = open_preview(path)
    assert preview.judge is None
    with pytest.raises(PreviewUnavailable, match="judge"):
        preview.territory(SliceProjection.through_mean(preview.encode_test_set()), (0, 1), (0, 1), 4)


# ------------------------------------------------------------ no PyTorch
def test_the_first_screen_path_imports_no_pytorch_scipy_or_sklearn():
    code = (
        "import sys\n"
        "from latentlab.preview import open_preview\n"
        "from latentlab.pretrained import default_checkpoint\n"
        "from latentlab.latent.projection import SliceProjection\n"
        "from latentlab.preview.session import PreviewSession\n"
        "from latentlab.ui.base.palette import class_rgb\n"
        "s = PreviewSession(open_preview(default_checkpoint()))\n"
        "p = SliceProjection.through_mean(s.map_points().latents)\n"
        "p.distance_to_data(p.to_plane(s.map_points().latents[:3]))\n"
        "out = []\n"
        "s.territory_job(p, (-2, 2), (-2, 2), class_rgb(10), (8,)).run(None, out.append)\n"
        "assert out and out[0].rgba.shape == (32, 32, 4), out\n"
        "print(sorted(m for m in ('torch', 'scipy', 'sklearn', 'umap') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# ------------------------------------------------------------ neighbours
def test_brute_force_neighbours_agree_with_the_kd_tree(monkeypatch):
    from latentlab.latent import neighbours

    rng = np.random.default_rng(3)
    points = rng.normal(size=(700, 2))
    points[:50] = points[0]  # duplicates: a spacing of 0 must not come out
    queries = rng.normal(size=(500, 2)) * 3
    monkeypatch.setattr(neighbours, "_scipy_loaded", lambda: False)
    brute = PlaneIndex(points)
    monkeypatch.setattr(neighbours, "BRUTE_FORCE_MAX", 10)
    tree = PlaneIndex(points)
    assert brute.spacing == pytest.approx(tree.spacing)
    for k in (1, 4):
        d_brute, i_brute = brute.query(queries, k)
        d_tree, i_tree = tree.query(queries, k)
        np.testing.assert_allclose(d_brute, d_tree)
        np.testing.assert_allclose(np.linalg.norm(points[i_brute] - queries[:, None], axis=2), d_tree)
    small = PlaneIndex(points[:3])
    assert small.query(queries[:2], 10)[0].shape == (2, 3)  # k is capped at the number of points
