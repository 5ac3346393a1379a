"""The RealNVP flow prior: an exact inverse, a true density, fitting, storage in a
checkpoint, the geometry for the distribution-transformer view, and ``fit-prior``."""

import math

import numpy as np
import pytest
import torch

from latentlab.cli import main
from latentlab.cli.priors import default_out
from latentlab.errors import CheckpointError, ConfigError
from latentlab.latent.priors import available_sources, compare_sources, flow_density_grid, flow_transport
from latentlab.models import create_model, make_config
from latentlab.models.checkpoint import FLOW_PREFIX, load_checkpoint, read_checkpoint_meta, save_checkpoint
from latentlab.models.flow import LatentFlow, fit_latent_flow, recommended_fit


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def random_flow(dim=2, layers=6, seed=0) -> LatentFlow:
    """A flow that is far from the identity (its last layers start at zero when fitted)."""
    torch.manual_seed(seed)
    flow = LatentFlow(dim, layers=layers, hidden=16)
    with torch.no_grad():
        for p in flow.net.parameters():
            p.normal_(0, 0.25)
        for coupling in flow.net.couplings:  # moderate scales and shifts, as a fitted flow has
            coupling.net[-1].weight.normal_(0, 0.1)
        flow.net.loc.copy_(torch.randn(dim))
        flow.net.scale.copy_(torch.rand(dim) + 0.5)
    return flow


def ring(n=2000, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    angle = torch.rand(n, generator=g) * 2 * math.pi
    radius = 3.0 + 0.1 * torch.randn(n, generator=g)
    return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], 1)


@pytest.mark.parametrize("dim", [2, 5])
def test_codes_to_noise_and_back_is_exact(dim):
    flow = random_flow(dim)
    z = torch.randn(500, dim) * 3
    with torch.no_grad():
        u, _ = flow.to_noise(z)
        assert not torch.allclose(u, (z - flow.net.loc) / flow.net.scale, atol=1e-2)  # it does transform
        assert torch.allclose(flow.to_latent(u), z, atol=1e-4)
        assert torch.allclose(flow.to_noise(flow.to_latent(u))[0], u, atol=1e-4)


def test_the_log_determinant_is_the_jacobians():
    flow = random_flow(3)
    z = torch.randn(4, 3)
    _, logdet = flow.to_noise(z)
    for i in range(4):
        jac = torch.autograd.functional.jacobian(lambda v: flow.to_noise(v[None])[0][0], z[i])
        assert torch.isclose(logdet[i], torch.linalg.slogdet(jac)[1], atol=1e-4)


def test_the_density_integrates_to_one():
    flow = random_flow(2, layers=4)
    xs, ys, logp = flow_density_grid(flow, (-12, 12), (-12, 12), resolution=400)
    mass = np.exp(logp).sum() * (xs[1] - xs[0]) * (ys[1] - ys[0])
    assert abs(mass - 1) < 0.02


def test_fitting_learns_a_ring_that_a_gaussian_cannot():
    codes = ring()
    flow = LatentFlow.fit(codes, layers=6, hidden=32, steps=400, batch_size=256, seed=0)
    held_out = ring(1000, seed=1)
    gaussian = torch.distributions.MultivariateNormal(codes.mean(0), torch.cov(codes.T))
    with torch.no_grad():
        assert flow.log_prob(held_out).mean() > gaussian.log_prob(held_out).mean() + 0.5
    radius = flow.sample(2000, generator=torch.Generator().manual_seed(0)).norm(dim=1)
    assert abs(float(radius.median()) - 3.0) < 0.3  # the samples lie on the ring, not inside it
    once, again = (LatentFlow.fit(codes, layers=2, hidden=8, steps=20, seed=0) for _ in range(2))
    assert all(torch.equal(a, b) for a, b in zip(once.tensors().values(), again.tensors().values()))


def test_training_noise_fits_a_smoothed_density_reproducibly():
    codes = ring()
    plain = LatentFlow.fit(codes, layers=6, hidden=32, steps=400, batch_size=256, seed=0)
    noisy = LatentFlow.fit(codes, layers=6, hidden=32, steps=400, batch_size=256, seed=0, noise=0.3, patience=10)
    gen = torch.Generator().manual_seed(0)
    plain_radius = plain.sample(2000, generator=gen).norm(dim=1)
    noisy_radius = noisy.sample(2000, generator=gen).norm(dim=1)
    # The ring's width (0.1) is blurred by noise of 0.3 of the codes' spread (about 0.6): a wider ring.
    assert float(noisy_radius.std()) > float(plain_radius.std()) + 0.2
    assert abs(float(noisy_radius.median()) - 3.0) < 0.5  # still a ring around the same circle
    again = LatentFlow.fit(codes, layers=6, hidden=32, steps=400, batch_size=256, seed=0, noise=0.3, patience=10)
    assert all(torch.equal(a, b) for a, b in zip(noisy.tensors().values(), again.tensors().values()))
    with pytest.raises(ConfigError, match="noise"):
        LatentFlow.fit(codes, noise=-0.1)


def test_the_recommended_fit_depends_on_the_latent_size():
    assert recommended_fit(2) == {"layers": 8, "hidden": 64, "noise": 0.0, "patience": 5}
    assert recommended_fit(32) == {"layers": 16, "hidden": 128, "noise": 0.3, "patience": 10}
    LatentFlow.fit(ring(100), steps=2, **recommended_fit(2))  # the settings are the fit's own arguments


def test_one_dimension_is_refused():
    with pytest.raises(ConfigError, match="2 or more dimensions"):
        LatentFlow(1)


def tiny_ae(tiny_dataset, latent_dim=2):
    torch.manual_seed(0)
    model = create_model(make_config("ae", hidden=32, latent_dim=latent_dim, image_shape=[1, 8, 8], num_classes=2))
    (opt,) = model.configure_optimizers(3e-3)
    for step in range(100):
        model.train_step(tiny_dataset.train.images, tiny_dataset.train.labels, [opt], step)
    return model.eval()


def test_a_model_keeps_its_flow_prior_in_its_checkpoint(tmp_path, tiny_dataset):
    model = tiny_ae(tiny_dataset)
    assert available_sources(model) == ["prior"]
    with pytest.raises(ConfigError, match="fit-prior"):
        model.sample(4, source="flow")
    fit_latent_flow(model, tiny_dataset.train.images, layers=4, hidden=16, steps=50)
    assert available_sources(model) == ["prior", "flow"]
    assert not any(k.startswith("flow") for k in model.state_dict())  # not one of the model's weights
    path = save_checkpoint(tmp_path / "ae.safetensors", model, dataset={"name": "bars"}, weights_dtype=torch.float16)
    loaded = load_checkpoint(path).model
    assert loaded.flow_prior.layers == 4 and read_checkpoint_meta(path)["flow_prior_layers"] == 4
    a = loaded.sample_latents(8, torch.Generator().manual_seed(3), source="flow")
    b = model.sample_latents(8, torch.Generator().manual_seed(3), source="flow")
    assert torch.equal(a, b)  # the prior is stored in float32, exactly
    assert loaded.sample(8, source="flow").shape == (8, 1, 8, 8)


def test_a_broken_flow_prior_is_one_checkpoint_error(tmp_path, tiny_dataset):
    import safetensors.torch

    model = tiny_ae(tiny_dataset)
    fit_latent_flow(model, tiny_dataset.train.images, layers=2, hidden=8, steps=5)
    path = save_checkpoint(tmp_path / "ae.safetensors", model, dataset={"name": "bars"})
    tensors = safetensors.torch.load_file(path)
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        metadata = __import__("json").loads(f.read(header_len))["__metadata__"]
    for change in ("wrong size", "missing", "negative scale"):
        broken = dict(tensors)
        if change == "wrong size":
            broken[FLOW_PREFIX + "loc"] = torch.zeros(3)
        elif change == "missing":
            del broken[FLOW_PREFIX + "couplings.1.net.2.bias"]
        else:
            broken[FLOW_PREFIX + "scale"] = -broken[FLOW_PREFIX + "scale"]
        target = tmp_path / f"broken-{change.replace(' ', '-')}.safetensors"
        safetensors.torch.save_file(broken, target, metadata=metadata)
        with pytest.raises(CheckpointError, match="flow prior is invalid"):
            load_checkpoint(target)


def test_the_transport_carries_a_grid_and_samples_layer_by_layer():
    flow = random_flow(2, layers=3)
    t = flow_transport(flow, lines=5, points_per_line=7, n_samples=50)
    assert t.stage_names == ["N(0, I)", "coupling 3", "coupling 2", "coupling 1", "codes"]
    assert len(t.grid) == len(t.samples) == 5
    assert t.grid[0].shape == (10, 7, 2) and t.samples[0].shape == (50, 2)
    assert np.allclose(t.grid[0][0, :, 0], -3.0) and np.allclose(t.grid[0][0, :, 1], np.linspace(-3, 3, 7))
    with torch.no_grad():
        assert np.allclose(t.samples[-1], flow.to_latent(torch.from_numpy(t.samples[0])).numpy(), atol=1e-5)
    with pytest.raises(ConfigError, match="2-D"):
        flow_density_grid(random_flow(3), (-1, 1), (-1, 1))


def test_the_judge_compares_the_sampling_sources(tiny_dataset):
    from latentlab.models.mixture import fit_latent_mixture

    model = tiny_ae(tiny_dataset)
    fit_latent_mixture(model, tiny_dataset.train.images, n_components=2)
    fit_latent_flow(model, tiny_dataset.train.images, layers=2, hidden=8, steps=20)
    judge = create_model(make_config("judge", image_shape=[1, 8, 8], num_classes=2, latent_dim=16)).eval()
    result = compare_sources(model, judge, tiny_dataset, n=40)
    assert list(result) == ["prior", "mixture", "flow"]
    for figures in result.values():
        assert len(figures["sample_class_shares"]) == 2 and figures["judge_fid"] >= 0
    assert compare_sources(model, judge, tiny_dataset, n=40) == result  # seeded


def test_fit_prior_from_the_command_line(tmp_path, capsys, tiny_dataset, monkeypatch):
    import latentlab.cli.priors as cli_priors

    monkeypatch.setattr("latentlab.data.load_dataset", lambda *a, **k: tiny_dataset)
    source = save_checkpoint(tmp_path / "ae.safetensors", tiny_ae(tiny_dataset), dataset={"name": "bars"})
    out = tmp_path / "ae-flow.safetensors"
    args = ["fit-prior", str(source), "--kind", "flow", "--steps", "50", "--layers", "2", "--no-judge",
            "--dataset", "bars", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "flow" in printed and "mean log-density" in printed and str(out) in printed
    assert load_checkpoint(out).model.flow_prior.layers == 2
    assert load_checkpoint(source).model.flow_prior is None  # the original is unchanged
    assert main(["fit-prior", str(out), "--kind", "gmm", "--components", "3", "--no-judge", "--dataset", "bars",
                 "--out", str(tmp_path / "both.safetensors")]) == 0
    both = load_checkpoint(tmp_path / "both.safetensors").model
    assert both.mixture.weights.shape == (3,) and both.flow_prior is not None
    assert main(["fit-prior", str(source), "--kind", "flow", "--out", str(source)]) == 2
    assert "the checkpoint itself" in capsys.readouterr().err
    gan = save_checkpoint(tmp_path / "gan.safetensors", create_model(make_config("gan", image_shape=[1, 8, 8])),
                          dataset={"name": "bars"})
    assert main(["fit-prior", str(gan), "--kind", "flow", "--dataset", "bars"]) == 2
    assert "no encoder" in capsys.readouterr().err
    wide = save_checkpoint(tmp_path / "ae4.safetensors", tiny_ae(tiny_dataset, latent_dim=4), dataset={"name": "bars"})
    assert main(["fit-prior", str(wide), "--kind", "flow", "--steps", "20", "--no-judge", "--dataset", "bars",
                 "--out", str(tmp_path / "ae4-flow.safetensors")]) == 0
    flow = load_checkpoint(tmp_path / "ae4-flow.safetensors").model.flow_prior
    assert (flow.dim, flow.layers, flow.hidden) == (4, 16, 128)  # the recommended fit above 2-D
    assert "noise 0.3" in capsys.readouterr().err
    assert main(["fit-prior", str(wide), "--kind", "flow", "--noise", "-1", "--dataset", "bars"]) == 2
    assert "--noise must be from 0 to 10" in capsys.readouterr().err
    assert default_out("runs/ae", "flow").as_posix() == "runs/ae-flow"
    assert default_out("x/vae.safetensors", "gmm").as_posix() == "runs/vae-gmm.safetensors"
    assert cli_priors.KINDS == ("flow", "gmm")


def test_the_windows_flow_fit_task_reports_progress_and_is_cancelled_without_a_flow(tiny_dataset):
    """Analyse ▸ Density models ▸ Fit a flow prior runs ``fit_flow_prior`` as a background
    task: it fits to the codes of the snapshot's weights, reports progress with the held-out
    −log p, and a cancelled fit raises Cancelled (nothing is kept)."""
    from latentlab.app.flow_fit import fit_flow_prior
    from latentlab.app.jobs import ModelSnapshot
    from latentlab.app.tasks import Cancelled, TaskState

    torch.manual_seed(0)
    model = create_model(make_config("vae", hidden=16, latent_dim=2, image_shape=[1, 8, 8], num_classes=2))
    images = tiny_dataset.train.images
    reports = []
    state = TaskState()
    state.progress_sink = lambda fraction, message, eta_s: reports.append((fraction, message, eta_s))
    flow = fit_flow_prior(ModelSnapshot.of(model), images, state, steps=200)
    assert isinstance(flow, LatentFlow) and flow.dim == 2
    assert [f for f, _, _ in reports] == [0.5, 1.0] and "−log p" in reports[0][1] and reports[-1][2] == 0.0

    cancelled = TaskState()
    cancelled.cancel()
    with pytest.raises(Cancelled):
        fit_flow_prior(ModelSnapshot.of(model), images, cancelled, steps=200)
