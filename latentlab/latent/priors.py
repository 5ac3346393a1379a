"""The sampling sources of a model with an encoder, compared; and a flow prior's geometry.

A model with an encoder and a decoder can draw latents from three sources: the N(0, I)
prior (a VAE's own; for an autoencoder it lands mostly off the codes), the Gaussian
mixture fitted to its encoded training set, and a flow prior fitted to the same codes.
``compare_sources`` asks the judge about the decoded samples of each.

For the "distribution transformer" view (no Qt here): ``flow_transport`` carries a grid
and Gaussian samples through the flow's inverse layer by layer, from N(0, I) onto the
codes' distribution, and ``flow_density_grid`` evaluates the flow's log-density on a
grid of a 2-D latent plane (for contours).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from latentlab.errors import ConfigError

SOURCES = ("prior", "mixture", "flow")


def available_sources(model) -> list[str]:
    """The sources ``model.sample_latents`` can draw from, in ``SOURCES`` order."""
    have = {"prior": True, "mixture": model.mixture is not None, "flow": model.flow_prior is not None}
    return [s for s in SOURCES if have[s]]


def compare_sources(model, judge, dataset, n: int = 1000, seed: int = 0, sources: list[str] | None = None) -> dict:
    """{source: the judge's view of ``n`` decoded samples} (``evaluate.sample_quality``: class
    shares, smallest share, mean confidence, judge FID), each from the same seed."""
    from latentlab.training.evaluate import sample_quality

    if not (model.has_encoder and model.has_decoder):
        raise ConfigError(f"a {model.family} model has no encoder and decoder, so it has no latent priors to compare")
    out = {}
    was_training = model.training
    model.eval()
    try:
        for source in sources or available_sources(model):
            with torch.no_grad(), torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                out[source] = sample_quality(model, judge, dataset, n, source=source)
    finally:
        model.train(was_training)
    return out


def code_log_likelihoods(model, images: torch.Tensor) -> dict[str, float]:
    """Mean log-density of the codes of ``images`` (nats per code) under the mixture and the
    flow: how well each prior fits codes it was not fitted to (use the test split)."""
    from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal

    from latentlab.models.flow import encode_images

    z = encode_images(model, images)
    out = {}
    if model.mixture is not None:
        m = model.mixture
        gmm = MixtureSameFamily(Categorical(m.weights / m.weights.sum()),
                                MultivariateNormal(m.means, scale_tril=m.scale_tril))
        out["mixture"] = float(gmm.log_prob(z).mean())
    if model.flow_prior is not None:
        with torch.no_grad():
            out["flow"] = float(model.flow_prior.log_prob(z).mean())
    return out


# ----------------------------------------------------------------- the flow's geometry
@dataclass
class FlowTransport:
    """Points carried from noise to codes, one array per stage.

    ``stage_names[k]`` names stage k: "N(0, I)", then "coupling 8" … "coupling 1" (the
    inverse runs through the layers backwards), then "codes" (the standardisation undone).
    ``grid[k]`` is (lines, points_per_line, D): the lines of a square grid in the first two
    noise dimensions (others 0); ``samples[k]`` is (n, D): Gaussian samples.
    """

    stage_names: list[str]
    grid: list[np.ndarray]
    samples: list[np.ndarray]


@torch.no_grad()
def flow_transport(flow, *, lines: int = 17, points_per_line: int = 101, n_samples: int = 500,
                   extent: float = 3.0, seed: int = 0) -> FlowTransport:
    """Carry a grid (lines at even spacing over ±``extent`` in both directions) and
    ``n_samples`` N(0, I) samples through ``flow.stages``."""
    if lines < 2 or points_per_line < 2 or n_samples < 1:
        raise ConfigError("the grid needs 2 or more lines of 2 or more points, and at least one sample")
    d = flow.dim
    ticks = torch.linspace(-extent, extent, lines)
    along = torch.linspace(-extent, extent, points_per_line)
    grid = torch.zeros(2 * lines, points_per_line, d)
    grid[:lines, :, 0] = ticks[:, None]  # vertical lines: x fixed
    grid[:lines, :, 1] = along[None, :]
    grid[lines:, :, 0] = along[None, :]  # horizontal lines: y fixed
    grid[lines:, :, 1] = ticks[:, None]
    gen = torch.Generator().manual_seed(seed)
    u = torch.randn(n_samples, d, generator=gen)
    grid_stages = [g.reshape(2 * lines, points_per_line, d).numpy() for g in flow.stages(grid.reshape(-1, d))]
    sample_stages = [s.numpy() for s in flow.stages(u)]
    names = ["N(0, I)", *[f"coupling {k}" for k in range(flow.layers, 0, -1)], "codes"]
    return FlowTransport(names, grid_stages, sample_stages)


@torch.no_grad()
def flow_density_grid(flow, x_range: tuple[float, float], y_range: tuple[float, float],
                      resolution: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs, ys, log p) with log p of shape (len(ys), len(xs)) over a 2-D latent plane."""
    if flow.dim != 2:
        raise ConfigError(f"density contours need a 2-D latent space, this one is {flow.dim}-D")
    if not 2 <= resolution <= 1000:
        raise ConfigError(f"resolution must be from 2 to 1000, got {resolution}")
    xs = np.linspace(*x_range, resolution)
    ys = np.linspace(*y_range, resolution)
    gx, gy = np.meshgrid(xs, ys)
    z = torch.from_numpy(np.stack([gx.ravel(), gy.ravel()], 1)).float()
    return xs, ys, flow.log_prob(z).double().numpy().reshape(resolution, resolution)
