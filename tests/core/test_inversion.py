"""Latent inversion: recovers the latent of a known generator, deterministically, without
touching the generator's weights."""

from types import SimpleNamespace

import pytest
import torch
from torch import nn

from latentlab.errors import ConfigError
from latentlab.latent.compare import encode_for_path
from latentlab.latent.inversion import invert
from latentlab.models import create_model, make_config


class TinyGenerator(nn.Module):
    """G(z) = sigmoid(W z + b) as an 8x8 image: fixed weights, so the true z is known."""

    family = "toy"
    has_decoder = True
    has_encoder = False
    latent_dim = 2

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.lin = nn.Linear(2, 64)
        self.config = SimpleNamespace(image_shape=(1, 8, 8))

    @property
    def device(self):
        return self.lin.weight.device

    def decode(self, z, y=None):
        return torch.sigmoid(3 * self.lin(z)).view(-1, 1, 8, 8)


def test_inversion_recovers_a_known_latent_and_reproduces_the_image():
    g = TinyGenerator()
    z_true = torch.tensor([[0.8, -0.5], [-1.2, 0.3], [0.1, 1.5]])
    with torch.no_grad():
        target = g.decode(z_true)
    result = invert(g, target, restarts=4, steps=300, lr=0.05, prior_weight=1e-4, seed=0)
    assert result.z.shape == (3, 2) and result.reconstructions.shape == (3, 1, 8, 8)
    assert (result.error < 1e-4).all(), result.error
    torch.testing.assert_close(result.z, z_true, atol=0.05, rtol=0)
    with torch.no_grad():
        random_error = (g.decode(torch.randn(3, 2, generator=torch.Generator().manual_seed(1))) - target).pow(2).mean()
    assert result.error.max() < random_error / 100


def test_inversion_is_deterministic_and_leaves_the_generator_alone():
    g = TinyGenerator().train()
    before = {k: v.clone() for k, v in g.state_dict().items()}
    target = torch.rand(2, 1, 8, 8)
    first = invert(g, target, restarts=2, steps=20, seed=7)
    second = invert(g, target, restarts=2, steps=20, seed=7)
    torch.testing.assert_close(first.z, second.z)
    other = invert(g, target, restarts=2, steps=20, seed=8)
    assert not torch.equal(first.z, other.z)
    assert all(torch.equal(before[k], v) for k, v in g.state_dict().items())
    assert all(p.grad is None for p in g.parameters())
    assert g.training  # the mode is restored


def test_more_restarts_never_do_worse():
    g = TinyGenerator()
    target = torch.rand(3, 1, 8, 8)  # not exactly reachable: restarts matter
    one = invert(g, target, restarts=1, steps=30, seed=0)
    several = invert(g, target, restarts=6, steps=30, seed=0)  # its first start is the same draw
    assert (several.error <= one.error + 1e-7).all()


def test_inversion_works_inside_no_grad_and_refuses_bad_input():
    g = TinyGenerator()
    with torch.no_grad():
        result = invert(g, torch.rand(1, 1, 8, 8), restarts=1, steps=5)
    assert result.z.shape == (1, 2)
    with pytest.raises(ConfigError, match="shape|images"):
        invert(g, torch.rand(1, 1, 4, 4))
    with pytest.raises(ConfigError, match="restarts"):
        invert(g, torch.rand(1, 1, 8, 8), restarts=0)


def test_encode_for_path_uses_the_encoder_or_inverts_a_gan():
    torch.manual_seed(0)
    ae = create_model(make_config("ae", image_shape=[1, 8, 8], hidden=16)).eval()
    x = torch.rand(2, 1, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(encode_for_path(ae, x), ae.encode(x))
    gan = create_model(make_config("gan", backbone="mlp", image_shape=[1, 8, 8], hidden=16))
    z = encode_for_path(gan, x, seed=3, restarts=2, steps=10)
    assert z.shape == (2, 2) and torch.isfinite(z).all()
    torch.testing.assert_close(z, encode_for_path(gan, x, seed=3, restarts=2, steps=10))
    judge = create_model(make_config("judge", image_shape=[1, 8, 8], num_classes=2))
    with pytest.raises(ConfigError, match="judge"):
        encode_for_path(judge, x)


def test_inversion_stops_within_a_step_when_asked():
    from latentlab.latent.inversion import InversionStopped

    g = TinyGenerator()
    target = g.decode(torch.zeros(1, 2)).detach()
    asked = []

    def should_stop() -> bool:
        asked.append(1)
        return len(asked) > 5

    with pytest.raises(InversionStopped):
        invert(g, target, restarts=2, steps=300, should_stop=should_stop)
    assert len(asked) == 6  # asked before every step, stopped at the first True
    assert g.training  # the generator's mode is restored
    # The path to it from a window's job: encode_for_path passes it on for a GAN.
    with pytest.raises(InversionStopped):
        encode_for_path(create_model(make_config("gan", latent_dim=2, hidden=32, image_shape=(1, 8, 8))),
                        torch.rand(2, 1, 8, 8), should_stop=lambda: True)
