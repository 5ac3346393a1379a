"""The backbone registry and the recurrent and transformer backbones: every family builds,
trains and round-trips with them; the LSTM's recomputed gates are nn.LSTM's own."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F

from latentlab.cli import main
from latentlab.errors import ConfigError
from latentlab.models import create_model, make_config
from latentlab.models.backbones import BACKBONES, Decoder, Encoder, backbone_names, get_backbone
from latentlab.models.backbones_lstm import (
    LSTMDecoder,
    LSTMEncoder,
    image_to_sequence,
    lstm_gates,
    sequence_to_image,
)
from latentlab.models.backbones_transformer import PatchEncoder, attention_weights, patch_size
from latentlab.models.checkpoint import load_checkpoint, save_checkpoint

NEW = ["lstm", "lstm-columns", "lstm-bidirectional", "transformer"]
FAMILIES = ["ae", "vae", "msvae", "gan", "wgan-gp"]
SMALL = dict(hidden=32, image_shape=[1, 8, 8], num_classes=2)


def small(family, backbone, **kw):
    torch.manual_seed(0)
    return create_model(make_config(family, backbone=backbone, **{**SMALL, **kw}))


# ---------------------------------------------------------------- the registry
def test_the_four_kinds_of_encoder_layers_are_registered():
    names = backbone_names()
    assert names[:2] == ["mlp", "conv"] and set(NEW) <= set(names)
    assert {get_backbone(n).kind for n in names} == {"dense", "convolutional", "recurrent", "transformer"}
    assert all(BACKBONES[n].description for n in names)


def test_unknown_backbone_names_the_known_ones():
    with pytest.raises(ConfigError, match="transformer"):
        get_backbone("resnet")
    with pytest.raises(ConfigError, match="lstm"):
        make_config("vae", backbone="resnet")


def test_the_cli_offers_every_registered_backbone(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in backbone_names())


# ---------------------------------------------------------------- every family
@pytest.mark.parametrize("backbone", NEW)
@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_builds_and_trains_with_the_new_backbones(family, backbone):
    model = small(family, backbone)
    x = (torch.rand(8, 1, 8, 8) > 0.7).float()
    y = torch.arange(8) % 2
    model.eval()
    if model.has_encoder:
        z = model.encode(x)
        assert z.shape == (8, 2) and torch.equal(z, model.encode(x))
    out = model.decode(torch.randn(5, 2))
    assert out.shape == (5, 1, 8, 8) and 0 <= out.min() and out.max() <= 1
    model.train()
    before = [p.detach().clone() for p in model.parameters()]
    opts = model.configure_optimizers(model.default_lr)
    parts = model.train_step(x, y, opts, 0)  # step 0: WGAN-GP updates its generator too
    assert all(torch.isfinite(v) for v in parts.values())
    changed = [not torch.equal(a, b) for a, b in zip(before, model.parameters())]
    assert sum(changed) > len(changed) // 2


@pytest.mark.parametrize("backbone", NEW)
@pytest.mark.parametrize("shape", [(1, 8, 12), (3, 9, 7), (1, 28, 28)])
def test_any_image_shape(backbone, shape):
    torch.manual_seed(0)
    encoder = Encoder(backbone, shape, 32)
    decoder = Decoder(backbone, 3, shape, 32)
    assert encoder(torch.rand(2, *shape)).shape == (2, encoder.out_features)
    assert decoder(torch.randn(2, 3)).shape == (2, *shape)


@pytest.mark.parametrize("backbone", ["lstm", "transformer"])
def test_a_vae_learns_with_the_new_backbones(backbone, tiny_dataset):
    model = small("vae", backbone)
    x = tiny_dataset.train.images
    with torch.no_grad():
        torch.manual_seed(0)
        before = model.eval().loss(x)["loss"].item()
    opts = model.configure_optimizers(2e-3)
    model.train()
    for step in range(60):
        model.train_step(x, None, opts, step)
    with torch.no_grad():
        torch.manual_seed(0)
        after = model.eval().loss(x)["loss"].item()
    assert after < 0.8 * before, (before, after)


# ---------------------------------------------------------------- checkpoints
@pytest.mark.parametrize("backbone", NEW)
@pytest.mark.parametrize("family", ["vae", "gan"])
def test_checkpoints_round_trip(tmp_path, family, backbone):
    model = small(family, backbone).eval()
    z = torch.randn(4, 2)
    expected = model.decode(z)
    dataset = {"name": "tiny", "class_names": ["a", "b"], "image_shape": SMALL["image_shape"], "n_train": 4}
    loaded = load_checkpoint(save_checkpoint(tmp_path / "folder", model, dataset=dataset)).model
    assert loaded.config.backbone == backbone
    assert torch.equal(loaded.decode(z), expected)
    # The shipped form: one .safetensors file with float16 weights, loaded as float32.
    shipped = load_checkpoint(save_checkpoint(tmp_path / "m.safetensors", model, dataset=dataset,
                                              weights_dtype=torch.float16)).model
    for name, value in model.state_dict().items():
        if value.dtype == torch.float32:
            assert torch.equal(shipped.state_dict()[name], value.half().float()), name


@pytest.mark.parametrize("backbone", ["lstm", "transformer"])
def test_the_cli_trains_the_new_backbones(tmp_path, capsys, backbone):
    out = tmp_path / backbone
    assert main(["train", "--model", "vae", "--backbone", backbone, "--hidden", "16", "--dataset", "digits",
                 "--epochs", "1", "--no-judge", "--quiet", "--device", "cpu", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["info", str(out), "--json"]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["model"]["backbone"] == backbone and meta["metrics"]["test_neg_elbo"] > 0


# ---------------------------------------------------------------- the LSTM
@pytest.mark.parametrize("scan", ["rows", "columns"])
def test_an_image_is_read_as_a_sequence_of_rows_or_columns(scan):
    x = torch.rand(2, 3, 5, 7)
    seq = image_to_sequence(x, scan)
    if scan == "rows":
        assert seq.shape == (2, 5, 21) and torch.equal(seq[:, 2], x[:, :, 2, :].reshape(2, -1))
    else:
        assert seq.shape == (2, 7, 15) and torch.equal(seq[:, 4], x[:, :, :, 4].reshape(2, -1))
    assert torch.equal(sequence_to_image(seq, (3, 5, 7), scan), x)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_recomputed_gates_give_nn_lstms_hidden_states(bidirectional):
    torch.manual_seed(0)
    encoder = LSTMEncoder((1, 28, 28), 64, bidirectional=bidirectional).eval()
    x = torch.rand(3, 1, 28, 28)
    seq = image_to_sequence(x, "rows")
    with torch.no_grad():
        reference, _ = encoder.lstm(seq)
        forward = lstm_gates(encoder.lstm, seq)
        recomputed = [forward["hidden"]]
        if bidirectional:
            recomputed.append(lstm_gates(encoder.lstm, seq, reverse=True)["hidden"])
    torch.testing.assert_close(torch.cat(recomputed, 2), reference, atol=1e-5, rtol=0)
    # And the notes' cell equation holds step by step.
    c_prev = torch.cat([torch.zeros_like(forward["cell"][:, :1]), forward["cell"][:, :-1]], 1)
    torch.testing.assert_close(forward["cell"], forward["forget"] * c_prev + forward["input"] * forward["candidate"])
    torch.testing.assert_close(forward["hidden"], forward["output"] * torch.tanh(forward["cell"]))


def test_recomputed_gates_follow_the_decoders_initial_state():
    torch.manual_seed(0)
    decoder = LSTMDecoder(2, (1, 8, 8), 32).eval()
    z = torch.randn(4, 2)
    with torch.no_grad():
        inputs, state = decoder.inputs(z), decoder.initial_state(z)
        reference, _ = decoder.lstm(inputs, state)
        recomputed = lstm_gates(decoder.lstm, inputs, (state[0][0], state[1][0]))["hidden"]
    torch.testing.assert_close(recomputed, reference, atol=1e-5, rtol=0)


def test_the_lstm_encoder_passes_on_its_last_hidden_state():
    torch.manual_seed(0)
    encoder = LSTMEncoder((1, 8, 8), 32).eval()
    x = torch.rand(1, 1, 8, 8)
    trace = encoder.inside(x)
    with torch.no_grad():
        features = encoder(x)[0].numpy()
    assert trace.directions["forward"].hidden.shape == (8, 16)
    assert abs(trace.directions["forward"].hidden[-1] - features).max() < 1e-5


# ---------------------------------------------------------------- the transformer
def test_patches_cover_the_image_on_a_four_by_four_grid():
    assert patch_size((1, 28, 28)) == 7 and patch_size((1, 8, 8)) == 2 and patch_size((3, 9, 7)) == 3
    encoder = PatchEncoder((1, 28, 28), 64)
    assert encoder.grid == (4, 4) and encoder.tokens(torch.rand(2, 1, 28, 28)).shape == (2, 17, encoder.out_features)


def test_attention_weights_are_the_softmax_of_queries_and_keys():
    torch.manual_seed(0)
    encoder = PatchEncoder((1, 8, 8), 32).eval()
    x = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        plain = encoder(x)
        weights = attention_weights(encoder.layers, lambda: encoder(x))
        hooked = encoder(x)
    torch.testing.assert_close(hooked, plain)  # the hooks are gone; nothing changed
    layer = encoder.layers[0]
    attn = layer.self_attn
    heads, width = attn.num_heads, attn.embed_dim
    with torch.no_grad():
        h = layer.norm1(encoder.tokens(x))  # pre-norm: attention reads the normalised tokens
        q, k, _ = F.linear(h, attn.in_proj_weight, attn.in_proj_bias).chunk(3, -1)
        q, k = (t.reshape(2, -1, heads, width // heads).transpose(1, 2) for t in (q, k))
        expected = torch.softmax(q @ k.transpose(-1, -2) / (width // heads) ** 0.5, -1)
    assert len(weights) == 2 and weights[0].shape == (2, heads, 17, 17)
    torch.testing.assert_close(weights[0], expected, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(weights[1].sum(-1), torch.ones(2, heads, 17))
