"""The gated PixelCNN: causal masks, no blind spot, a cached sampler that equals the network,
completion, cancelling, and the command line."""

import numpy as np
import pytest
import torch

from latentlab.cli import main
from latentlab.errors import ConfigError
from latentlab.models import create_model, make_config
from latentlab.models.checkpoint import load_checkpoint, save_checkpoint
from latentlab.models.pixelcnn_sampler import (
    PixelSampler,
    complete,
    hide_bottom_half,
    pixels_before,
    receptive_field,
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def pixelcnn(side=8, **settings):
    torch.manual_seed(0)
    settings = {"hidden": 8, "layers": 3, **settings}
    model = create_model(make_config("pixelcnn", image_shape=[1, side, side], num_classes=3, **settings))
    with torch.no_grad():  # random biases and heads, so no path is silent by accident
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model.eval()


def raster(index, side):
    return divmod(index, side)


@pytest.mark.parametrize("settings", [{}, {"kernel": 3, "first_kernel": 3}, {"conditional": True}])
def test_the_output_at_a_pixel_has_no_gradient_from_that_pixel_or_any_after_it(settings):
    side = 8
    model = pixelcnn(side, **settings).double()
    y = torch.tensor([1]) if settings.get("conditional") else None
    x = torch.rand(1, 1, side, side, dtype=torch.float64, requires_grad=True)
    logits = model(x, y)
    for i in (0, 1, 9, 27, 36, 63):
        (grad,) = torch.autograd.grad(logits[0, 0].flatten()[i], x, retain_graph=True)
        grad = grad[0, 0].flatten()
        assert torch.all(grad[i:] == 0), f"pixel {i} depends on pixels at or after it"
        if i > 0:
            assert grad[i - 1] != 0  # the pixel just before is seen (the test can fail)
        if i >= side:
            assert grad[i - side] != 0  # and the one just above


def test_changing_pixels_at_or_after_i_leaves_the_output_at_i_unchanged():
    side = 8
    model = pixelcnn(side).double()
    g = torch.Generator().manual_seed(1)
    x = torch.rand(1, 1, side, side, generator=g, dtype=torch.float64)
    base = model(x)[0, 0].flatten()
    for i in (0, 5, 20, 43, 63):
        changed = x.clone().flatten()
        changed[i:] = torch.rand(side * side - i, generator=g, dtype=torch.float64)
        out = model(changed.reshape(x.shape))[0, 0].flatten()
        assert torch.allclose(out[: i + 1], base[: i + 1], rtol=0, atol=1e-12)
        if i < side * side - 1:
            assert not torch.allclose(out[i + 1 :], base[i + 1 :])  # later outputs do see the change


def test_the_receptive_field_covers_every_earlier_pixel_in_reach_without_a_blind_spot():
    # A shallow net: a 3-wide first layer and one more 3-wide layer. Its vertical stack reaches
    # 3 rows up (2 layers, plus the shift by one row) and 2 columns either side; its
    # horizontal stack 2 to the left in the pixel's own row.
    model = pixelcnn(8, layers=2, kernel=3, first_kernel=3)
    field = receptive_field(model, 4, 4)
    before = pixels_before((1, 8, 8), 4, 4)
    assert not (field & ~before).any()  # nothing at or after the pixel
    expected = np.zeros((8, 8), dtype=bool)
    expected[1:4, 2:7] = True  # three rows above, two columns either side
    expected[4, 2:4] = True  # two to the left
    assert (field == expected).all()
    assert field[3, 5] and field[2, 6]  # up and to the right: the first PixelCNN's blind spot
    # The default depth sees every earlier pixel of a 28x28 image's middle.
    deep = create_model(make_config("pixelcnn"))
    assert (receptive_field(deep, 14, 14) == pixels_before((1, 28, 28), 14, 14)).all()


@pytest.mark.parametrize("conditional", [False, True])
def test_the_cached_sampler_computes_what_the_whole_network_computes(conditional):
    model = pixelcnn(6, conditional=conditional)
    labels = torch.tensor([0, 2]) if conditional else None
    sampler = PixelSampler(model, 2, labels=labels, generator=torch.Generator().manual_seed(0))
    steps = 0
    while not sampler.finished:
        row, col = sampler.position
        cached = sampler.next_distribution()
        with torch.no_grad():
            full = torch.sigmoid(model(sampler.images, labels))[:, :, row, col]
        assert torch.allclose(cached, full, atol=1e-5)
        step = sampler.step()
        assert (step.row, step.col) == (row, col) and step.index == steps + 1
        steps += 1
    assert steps == 36 and set(sampler.images.unique().tolist()) <= {0.0, 1.0}


def test_sampling_is_reproducible_and_reports_every_pixel():
    model = pixelcnn(6)
    seen = []
    a = PixelSampler(model, 3, generator=torch.Generator().manual_seed(5)).run(on_step=lambda s: seen.append(s.index))
    b = model.sample(3, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and a.shape == (3, 1, 6, 6)
    assert seen == list(range(1, 37))


def test_cancelling_stops_between_pixels():
    model = pixelcnn(6)
    sampler = PixelSampler(model, 2)
    images = sampler.run(should_stop=lambda: sampler.drawn >= 10)
    assert sampler.cancelled and sampler.drawn == 10 and not sampler.finished
    assert images[:, :, 2:].abs().sum() == 0  # the later rows were never drawn


def test_completion_keeps_the_known_pixels_and_draws_the_rest():
    model = pixelcnn(8)
    image = torch.rand(1, 8, 8)
    known = hide_bottom_half((1, 8, 8))
    out = complete(model, image, known, n=4, generator=torch.Generator().manual_seed(0))
    assert out.shape == (4, 1, 8, 8)
    assert torch.equal(out[:, 0, :4], image[0, :4].expand(4, 4, 8))
    assert set(out[:, :, 4:].unique().tolist()) <= {0.0, 1.0}
    assert len({tuple(o.flatten().tolist()) for o in out}) > 1  # several different completions
    # Only the hidden pixels are drawn, in raster order.
    sampler = PixelSampler(model, 1, start=image, known=known)
    assert sampler.total == 32 and sampler.position == (4, 0)


def test_bad_requests_are_one_clear_message():
    model = pixelcnn(8)
    with pytest.raises(ConfigError, match="8×8"):
        PixelSampler(model, 1, start=torch.rand(1, 8, 8), known=np.ones((4, 4), bool))
    with pytest.raises(ConfigError, match="need the image"):
        PixelSampler(model, 1, known=hide_bottom_half((1, 8, 8)))
    with pytest.raises(ConfigError, match="outside"):
        receptive_field(model, 8, 0)
    conditional = pixelcnn(8, conditional=True)
    with pytest.raises(ConfigError, match="class labels"):
        conditional.nll(torch.rand(2, 1, 8, 8))
    with pytest.raises(ConfigError, match="no latent space"):
        model.sample(2, source="prior")
    with pytest.raises(ConfigError, match="conv"):
        make_config("pixelcnn", backbone="mlp")
    with pytest.raises(ConfigError, match="layers"):
        make_config("pixelcnn", layers=0)


def test_it_trains_and_declares_no_latent_space(tiny_dataset):
    model = pixelcnn(8)
    assert not (model.has_encoder or model.has_decoder or model.has_latent_space)
    assert model.has_likelihood and model.can_sample and model.latent_dim == 0
    x, y = tiny_dataset.train.images, tiny_dataset.train.labels
    (opt,) = model.configure_optimizers(3e-3)
    model.train()
    with torch.no_grad():
        before = float(model.nll(x).mean())
    for step in range(60):
        parts = model.train_step(x[:64], y[:64], [opt], step)
    assert set(parts) == {"loss", "nll"}
    assert float(model.eval().nll(x).mean().detach()) < 0.7 * before


def test_the_command_line_trains_describes_and_samples_it(tmp_path, capsys, tiny_dataset):
    path = tmp_path / "pixelcnn.safetensors"
    save_checkpoint(path, pixelcnn(8), dataset={"name": "bars", "class_names": ["a", "b", "c"]})
    assert main(["info", str(path)]) == 0
    assert "no latent space" in capsys.readouterr().out
    out = tmp_path / "grid.png"
    assert main(["sample", str(path), "--n", "4", "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    assert main(["sample", str(path), "--n", "4", "--out", str(out), "--source", "prior"]) == 2
    assert "no latent space" in capsys.readouterr().err
    assert main(["encode", str(path), "--out", str(tmp_path / "z.csv")]) == 2
    assert load_checkpoint(path).model.family == "pixelcnn"


def test_the_command_line_completes_a_test_image(tmp_path, capsys):
    from latentlab.data import load_dataset

    torch.manual_seed(0)
    model = create_model(make_config("pixelcnn", image_shape=[1, 28, 28], num_classes=10, hidden=8, layers=2))
    info = load_dataset("mnist-5k").info()
    path = save_checkpoint(tmp_path / "pc.safetensors", model, dataset=info)
    out = tmp_path / "done.png"
    args = ["sample", str(path), "--complete", "3", "--n", "2", "--scale", "1", "--out", str(out)]
    assert main(args) == 0
    assert out.stat().st_size > 0
    assert main([*args, "--hide", "left half"]) == 2
    assert "--hide must be one of" in capsys.readouterr().err
    assert main(["sample", str(path), "--complete", "99999", "--out", str(out)]) == 2
    assert "no test image #99999" in capsys.readouterr().err
    vae = save_checkpoint(tmp_path / "vae.safetensors",
                          create_model(make_config("vae", image_shape=[1, 28, 28], num_classes=10, hidden=16)),
                          dataset=info)
    assert main(["sample", str(vae), "--complete", "3", "--out", str(out)]) == 2
    assert "pixel by pixel" in capsys.readouterr().err


def test_binarize_context_trains_on_black_and_white_contexts_and_scores_grey_images():
    model = pixelcnn(8, binarize_context=True)
    x = torch.full((4, 1, 8, 8), 0.5)
    model.train()
    with torch.no_grad():
        first, second = (float(model.loss(x)["loss"]) for _ in range(2))
    assert first != second  # a fresh black-and-white context every batch
    model.eval()
    with torch.no_grad():
        assert float(model.loss(x)["loss"]) == float(model.loss(x)["loss"]) == float(model.nll(x).mean())
    with pytest.raises(ConfigError, match="true or false"):
        make_config("pixelcnn", binarize_context="yes")
