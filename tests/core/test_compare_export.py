"""Comparisons of several models and the files made from them: PNG layouts, GIF frame
counts, CSV latents."""

import csv

import numpy as np
import pytest
import torch
from PIL import Image

from latentlab.errors import ConfigError
from latentlab.latent.compare import StripSet, compare_models
from latentlab.latent.export import (
    MIN_COLUMN,
    comparison_layout,
    save_comparison_gif,
    save_comparison_png,
    save_latents_csv,
    save_strip_gif,
    save_strip_png,
    strip_layout,
)
from latentlab.latent.path_metrics import path_metrics
from latentlab.models import create_model, make_config

SHAPE = dict(image_shape=[1, 8, 8], num_classes=2, hidden=16)


@pytest.fixture
def three_models():
    torch.manual_seed(0)
    models = [create_model(make_config(f, **SHAPE)).eval() for f in ("ae", "vae")]
    models.append(create_model(make_config("gan", backbone="mlp", **SHAPE)).eval())
    judge = create_model(make_config("judge", **SHAPE)).eval()
    return models, judge


@pytest.fixture
def strip_set(three_models, tiny_dataset):
    models, judge = three_models
    test = tiny_dataset.test
    return compare_models(models, ["ae", "vae", "gan"], test.images[0], test.images[1], judge, steps=7,
                          mode="slerp", start_class=0, end_class=1, class_names=tiny_dataset.class_names,
                          inversion={"restarts": 2, "steps": 20})


def test_a_comparison_of_three_models_gives_aligned_strips(strip_set):
    assert strip_set.names == ["ae", "vae", "gan"] and strip_set.n_frames == 7
    for strip in strip_set.strips:
        assert strip.frames.shape == (7, 1, 8, 8) and strip.latents.shape == (7, 2)
        assert strip.metrics.n_frames == 7 and (strip.metrics.start_class, strip.metrics.end_class) == (0, 1)
        assert 0.0 <= strip.metrics.purity <= 1.0
    assert strip_set.pair_label == "horizontal-vertical"
    assert [row["model"] for row in strip_set.table()] == ["ae", "vae", "gan"]


def test_a_comparison_of_three_models_renders_to_its_layout(strip_set, tmp_path):
    path = save_comparison_png(strip_set, tmp_path / "cmp.png", scale=3)
    lay = comparison_layout(strip_set, 3)
    img = Image.open(path).convert("RGB")
    assert img.size == (lay.width, lay.height)
    assert lay.n_rows == 3 and lay.column_w == MIN_COLUMN  # 8x8 frames at scale 3 are narrower
    one = StripSet(strip_set.strips[:1], "slerp", 0, 1, strip_set.class_names, strip_set.sources)
    assert lay.height - comparison_layout(one, 3).height == 2 * lay.row_h
    pixels = np.asarray(img)
    for row, strip in enumerate(strip_set.strips):  # every frame lands where the layout says
        for col in (0, 3, 6):
            x, y = lay.tile_origin(row, col)
            expected = np.round(strip.frames[col, 0].numpy() * 255).astype(int)
            got = pixels[y : y + 24 : 3, x : x + 24 : 3, 0].astype(int)
            assert np.abs(got - expected).max() <= 1
    x, y = lay.source_origin(1)
    got = pixels[y : y + 24 : 3, x : x + 24 : 3, 0]
    assert np.abs(got.astype(int) - np.round(strip_set.sources[1, 0].numpy() * 255)).max() <= 1


def test_compare_models_checks_its_arguments(three_models, tiny_dataset):
    models, judge = three_models
    x = tiny_dataset.test.images
    with pytest.raises(ConfigError, match="names"):
        compare_models(models, ["a"], x[0], x[1], judge)
    with pytest.raises(ConfigError, match="1 to 12"):
        compare_models(models * 5, ["m"] * 15, x[0], x[1], judge)
    with pytest.raises(ConfigError, match="shape"):
        compare_models(models[:1], ["ae"], torch.rand(1, 4, 4), torch.rand(1, 4, 4), judge)


@pytest.mark.parametrize("n", [2, 5, 12])
def test_a_gif_has_exactly_the_requested_frame_count(n, tmp_path):
    frames = torch.rand(n, 1, 8, 8)
    path = save_strip_gif(frames, tmp_path / "strip.gif", scale=4, duration_ms=100)
    with Image.open(path) as gif:
        assert gif.n_frames == n
        assert gif.info.get("loop") == 0  # loops forever
        assert gif.info.get("duration") == 100


def test_a_gif_of_a_constant_path_keeps_every_frame(tmp_path):
    # Identical frames would be merged by the GIF writer; the progress bar keeps them apart.
    frames = torch.full((9, 1, 8, 8), 0.5)
    m = path_metrics(frames, [0] * 9, [1.0] * 9)
    with Image.open(save_strip_gif(frames, tmp_path / "flat.gif", metrics=m, fps=10)) as gif:
        assert gif.n_frames == 9


def test_a_comparison_gif_has_one_frame_per_step(strip_set, tmp_path):
    with Image.open(save_comparison_gif(strip_set, tmp_path / "cmp.gif", scale=2)) as gif:
        assert gif.n_frames == strip_set.n_frames


def _texts_per_picture(monkeypatch, render_name):
    """Every text drawn into each picture that ``export.<render_name>`` makes: the source
    data of a GIF frame's captions and metrics, not its pixels."""
    from PIL import ImageDraw

    from latentlab.latent import export

    pictures: list[list[str]] = []
    original_render, original_text = getattr(export, render_name), ImageDraw.ImageDraw.text

    def render(*args, **kwargs):
        pictures.append([])
        return original_render(*args, **kwargs)

    def text(self, xy, text, *args, **kwargs):
        if pictures:
            pictures[-1].append(text)
        return original_text(self, xy, text, *args, **kwargs)

    monkeypatch.setattr(export, render_name, render)
    monkeypatch.setattr(ImageDraw.ImageDraw, "text", text)
    return pictures


def _hand_made_set(classes_per_model, start=3, end=8):
    from latentlab.latent.compare import Strip

    n = len(classes_per_model[0])
    frames = torch.linspace(0, 1, n).view(n, 1, 1, 1).expand(n, 1, 8, 8).clone()
    strips = [Strip(f"m{k}", frames, torch.zeros(n, 2), path_metrics(frames, classes, [0.9] * n, start, end))
              for k, classes in enumerate(classes_per_model)]
    return StripSet(strips, "lerp", start, end, [str(d) for d in range(10)], None)


def test_every_comparison_gif_frame_shows_the_whole_paths_ends_and_verdict(monkeypatch, tmp_path):
    # the bug: each GIF frame measured itself, so every frame said "ends 3, 3, not 3, 8"
    strip_set = _hand_made_set([[3, 3, 5, 8, 8], [3, 3, 3, 3, 3]])
    pictures = _texts_per_picture(monkeypatch, "render_comparison")
    with Image.open(save_comparison_gif(strip_set, tmp_path / "cmp.gif", scale=2)) as gif:
        assert gif.n_frames == 5
    assert len(pictures) == 5
    for i, texts in enumerate(pictures):
        assert texts[0] == f"3 to 8, lerp, 5 frames: frame {i + 1}"
        assert "3 to 8, passes through 5" in texts and "ends 3, 8" in texts  # the first model's whole path
        assert "stays 3, never reaches 8" in texts and "ends 3, 3 (asked 3, 8)" in texts
        assert "purity 80%" in texts and "third: 5" in texts
        captions = [t for t in texts if t.endswith("90%")]
        assert captions == [f"{[3, 3, 5, 8, 8][i]} 90%", "3 90%"]  # frame i's class under frame i
        assert not any("pure" in t for t in texts)


def test_every_strip_gif_frame_carries_the_paths_verdict(monkeypatch, tmp_path):
    strip = _hand_made_set([[9] * 6], start=4, end=9).strips[0]
    pictures = _texts_per_picture(monkeypatch, "render_strip")
    save_strip_gif(strip, tmp_path / "one.gif", class_names=[str(d) for d in range(10)])
    assert pictures == [["never shows 4: 9 throughout", "9 90%"]] * 6


def test_strip_png_matches_its_layout_and_accepts_a_strip_object(strip_set, tmp_path):
    strip = strip_set.strips[1]
    path = save_strip_png(strip, tmp_path / "one.png", scale=5, title="vae")
    lay = strip_layout(7, (8, 8), 5, title="vae", captions=True)
    assert Image.open(path).size == (lay.width, lay.height)
    bare = save_strip_png(strip.frames.numpy(), tmp_path / "bare.png", scale=1)
    assert Image.open(bare).size == (strip_layout(7, (8, 8), 1, title=None, captions=False).width, 8 + 6 + 3 + 6)


def test_exports_refuse_wrong_suffixes_and_scales(strip_set, tmp_path):
    with pytest.raises(ConfigError, match=".png"):
        save_comparison_png(strip_set, tmp_path / "cmp.jpg")
    with pytest.raises(ConfigError, match=".gif"):
        save_strip_gif(torch.rand(3, 1, 8, 8), tmp_path / "s.png")
    with pytest.raises(ConfigError, match="scale"):
        save_strip_png(torch.rand(3, 1, 8, 8), tmp_path / "s.png", scale=0)
    with pytest.raises(ConfigError, match="fps"):
        save_strip_gif(torch.rand(3, 1, 8, 8), tmp_path / "s.gif", fps=10, duration_ms=100)


def test_latents_csv_has_labels_and_class_names(tmp_path):
    z = np.array([[0.5, -1.25], [2.0, 3.0]], np.float32)
    path = save_latents_csv(tmp_path / "z.csv", z, [1, 0], ["horizontal", "vertical"])
    rows = list(csv.reader(open(path)))
    assert rows == [["z0", "z1", "label", "class_name"], ["0.5", "-1.25", "1", "vertical"],
                    ["2", "3", "0", "horizontal"]]
    unlabelled = list(csv.reader(open(save_latents_csv(tmp_path / "u.csv", torch.tensor(z)))))
    assert unlabelled[0] == ["z0", "z1"] and len(unlabelled) == 3
    with pytest.raises(ConfigError, match="labels"):
        save_latents_csv(tmp_path / "bad.csv", z, [1])


def test_captions_too_wide_for_a_column_are_shortened():
    from latentlab.latent.export import fit_text, text_width

    assert fit_text("8 97%", 200) == "8 97%"
    assert fit_text("horizontal 97%", text_width("horizontal") + 1) == "horizontal"
    short = fit_text("horizontal 97%", 30)
    assert short.endswith("…") and text_width(short) <= 30
