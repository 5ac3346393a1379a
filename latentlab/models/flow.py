"""A normalizing flow prior on a latent space: RealNVP affine coupling layers.

An autoencoder has no prior; latentlab samples it from a Gaussian mixture fitted to its
encoded training set (``mixture.py``). A flow is the other recipe: an invertible map
``f`` from the latent codes z to Gaussian noise u, trained by maximum likelihood,

    log p(z) = log N(f(z); 0, I) + log |det ∂f/∂z|,

and sampled by drawing u ~ N(0, I) and computing z = f⁻¹(u). Both directions are exact.

Layers (Dinh et al. 2017, "Density estimation using Real NVP"): first a fixed
standardisation of the codes (their training mean and spread), then ``layers`` affine
couplings. Coupling k keeps some dimensions (a mask m, see ``coupling_mask``) and moves the
others:

    z' = m ⊙ z + (1 − m) ⊙ (z · exp(s(m ⊙ z)) + t(m ⊙ z)),

where s and t come from a small MLP of the kept dimensions, and the masks alternate so
every dimension is moved by every other layer. Its log-determinant is Σ (1 − m) ⊙ s. The
scale is bounded (``s = 2 tanh(·)``) so a step cannot explode, and the last layer of each
MLP starts at zero, so an untrained flow is the identity.

Why hand-written: the whole flow is ~150 lines of plain torch; it must show every layer's
intermediate points (the distribution-transformer view), and its weights live in the
checkpoint's safetensors next to the model's, rebuilt from tensor shapes alone. zuko
(maintained, light) would give the same RealNVP but its module layout is its own and
may change between releases, and nflows is unmaintained (last release 2020).

Directions used below: ``to_noise`` is f (codes → noise), ``to_latent`` is f⁻¹.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from latentlab.errors import ConfigError

if TYPE_CHECKING:
    from latentlab.models.base import LatentModel

SCALE_BOUND = 2.0
#: Steps between two measurements of the held-out codes' likelihood while fitting.
CHECK_EVERY = 100
LOG_2PI = float(np.log(2 * np.pi))
MAX_LAYERS = 64
MAX_HIDDEN = 4096
#: The most training noise a fit takes, in standard deviations of each dimension.
MAX_NOISE = 10.0


def recommended_fit(dim: int) -> dict:
    """The fit settings for codes of ``dim`` dimensions (what ``fit-prior`` and the window use
    unless told otherwise), as measured on mnist-5k's autoencoders (docs/density-models.md):
    a 2-D plane is fitted best by 8 couplings of width 64 on the codes as they are; in more
    dimensions a few thousand codes are too few for that flow (it learns them by heart and
    its samples fall between the classes), and 16 couplings of width 128 fitted to codes
    with noise of 0.3 standard deviations, waiting 10 checks for the held-out likelihood
    to improve, sampled 16-D and 32-D autoencoders better than their 10-component mixture
    (a lower judge FID), at the price of a lower likelihood of the codes."""
    if dim <= 2:
        return {"layers": 8, "hidden": 64, "noise": 0.0, "patience": 5}
    return {"layers": 16, "hidden": 128, "noise": 0.3, "patience": 10}


def coupling_mask(dim: int, index: int) -> torch.Tensor:
    """1 for the dimensions coupling ``index`` keeps, 0 for those it moves.

    Layers come in complementary pairs (one moves what the other kept). Pair k splits the
    dimensions by bit k of their index (k cycling over the bits needed for ``dim``): by
    parity, then in pairs of two, in fours, …, so any two dimensions are split apart by
    some pair and each can shape the other. In 2-D this is plain alternation."""
    bits = max(1, (dim - 1).bit_length())
    bit = (index // 2) % bits
    moved_first = (torch.arange(dim) >> bit) & 1
    return (moved_first ^ (index % 2) == 0).float()


class AffineCoupling(nn.Module):
    def __init__(self, dim: int, hidden: int, index: int) -> None:
        super().__init__()
        self.register_buffer("mask", coupling_mask(dim, index), persistent=False)
        self.net = nn.Sequential(
            nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 2 * dim)
        )
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def _scale_shift(self, kept: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self.net(kept).chunk(2, dim=1)
        moved = 1.0 - self.mask
        return SCALE_BOUND * torch.tanh(s) * moved, t * moved

    def to_noise(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s, t = self._scale_shift(z * self.mask)
        return z * torch.exp(s) + t, s.sum(1)

    def to_latent(self, u: torch.Tensor) -> torch.Tensor:
        s, t = self._scale_shift(u * self.mask)  # the kept dimensions are the same in u and z
        return (u - t) * torch.exp(-s)


class RealNVP(nn.Module):
    """The network: a standardisation of the codes, then ``layers`` affine couplings."""

    def __init__(self, dim: int, layers: int = 8, hidden: int = 64) -> None:
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
            raise ConfigError(f"a flow prior needs a latent space of 2 or more dimensions, this one has {dim}")
        if not 1 <= layers <= MAX_LAYERS or not 2 <= hidden <= MAX_HIDDEN:
            raise ConfigError(f"a flow prior has 1 to {MAX_LAYERS} layers of width 2 to {MAX_HIDDEN}, "
                              f"got {layers} of {hidden}")
        self.dim = dim
        self.register_buffer("loc", torch.zeros(dim))
        self.register_buffer("scale", torch.ones(dim))
        self.couplings = nn.ModuleList(AffineCoupling(dim, hidden, i) for i in range(layers))

    def to_noise(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        u = (z - self.loc) / self.scale
        logdet = -torch.log(self.scale).sum().expand(len(z))
        for coupling in self.couplings:
            u, ld = coupling.to_noise(u)
            logdet = logdet + ld
        return u, logdet

    def stages(self, u: torch.Tensor) -> list[torch.Tensor]:
        out = [u]
        for coupling in reversed(self.couplings):
            out.append(coupling.to_latent(out[-1]))
        out.append(out[-1] * self.scale + self.loc)
        return out

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        u, logdet = self.to_noise(z)
        return -0.5 * (u.pow(2).sum(1) + self.dim * LOG_2PI) + logdet


class LatentFlow:
    """A RealNVP prior on ``dim``-dimensional codes (``dim`` ≥ 2); see the module docstring.

    A plain object holding the network (``net``), like ``LatentMixture``: attached to a
    model as ``model.flow_prior`` it is not one of the model's own weights (not trained
    with it, not in its state_dict). It stays on the CPU; samples move to the model.
    """

    def __init__(self, dim: int, layers: int = 8, hidden: int = 64) -> None:
        self.net = RealNVP(dim, layers, hidden)

    @property
    def dim(self) -> int:
        return self.net.dim

    @property
    def layers(self) -> int:
        return len(self.net.couplings)

    @property
    def hidden(self) -> int:
        return self.net.couplings[0].net[0].out_features

    # ----------------------------------------------------------------- the two directions
    def to_noise(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(u = f(z), log |det ∂f/∂z|) per row."""
        return self.net.to_noise(z.float().cpu())

    def to_latent(self, u: torch.Tensor) -> torch.Tensor:
        """z = f⁻¹(u)."""
        return self.stages(u)[-1]

    def stages(self, u: torch.Tensor) -> list[torch.Tensor]:
        """u carried through the inverse layer by layer: [u, after the last coupling's inverse, …,
        after the first's, z]. The last step undoes the standardisation (codes' units)."""
        return self.net.stages(u.float().cpu())

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p(z) in nats, one value per row."""
        return self.net.log_prob(z.float().cpu())

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        gen_device = generator.device if generator is not None else "cpu"
        u = torch.randn(n, self.dim, generator=generator, device=gen_device).cpu()
        with torch.no_grad():
            return self.to_latent(u)

    # ----------------------------------------------------------------- storage
    def tensors(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().float().cpu() for k, v in self.net.state_dict().items()}

    @classmethod
    def from_tensors(cls, tensors: dict[str, torch.Tensor], dim: int | None = None) -> "LatentFlow":
        """Rebuild a flow from ``tensors()`` alone: its size is read from the tensor shapes,
        which are checked (against ``dim``, the latent size, when given) before anything is built."""
        try:
            loc = tensors["loc"]
            indices = {int(k.split(".")[1]) for k in tensors if k.startswith("couplings.")}
            first = tensors["couplings.0.net.0.weight"]
        except (KeyError, ValueError, IndexError) as exc:
            raise ConfigError(f"the flow prior is incomplete (no {exc})") from None
        if loc.dim() != 1 or first.dim() != 2 or indices != set(range(len(indices))):
            raise ConfigError("the flow prior's tensors have unexpected shapes")
        if dim is not None and loc.shape[0] != dim:
            raise ConfigError(f"it is {loc.shape[0]}-dimensional, the latent space {dim}")
        if first.shape[1] != loc.shape[0]:
            raise ConfigError("the flow prior's tensors have unexpected shapes")
        flow = cls(int(loc.shape[0]), layers=len(indices), hidden=int(first.shape[0]))
        try:
            flow.net.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
        except RuntimeError as exc:
            raise ConfigError(f"the flow prior's tensors do not fit a RealNVP: {str(exc).splitlines()[0]}") from None
        if not (flow.net.scale > 0).all():
            raise ConfigError("the flow prior's scale must be positive")
        flow.net.eval()
        return flow

    # ----------------------------------------------------------------- fitting
    @classmethod
    def fit(
        cls,
        codes: torch.Tensor | np.ndarray,
        *,
        layers: int = 8,
        hidden: int = 64,
        steps: int = 3000,
        batch_size: int = 512,
        lr: float = 2e-3,
        validation: float = 0.1,
        patience: int = 5,
        noise: float = 0.0,
        seed: int = 0,
        on_progress: Callable[[int, int, float], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> "LatentFlow":
        """Maximum likelihood on ``codes`` (N, D): Adam with a cosine learning rate.

        A flow overfits a few thousand codes quickly (in 16-D it learns the training codes
        by heart), so a ``validation`` share of them (seeded) is held out: every
        ``CHECK_EVERY`` steps their mean −log p is measured, the best state is kept, and the
        fit stops after ``patience`` checks without improvement. ``noise`` > 0 adds Gaussian
        noise of that many standard deviations of each dimension to every training batch (a
        fresh draw each step): the flow then fits the codes' distribution smoothed a little,
        and cannot learn the individual codes by heart (the held-out codes are not noised).
        ``on_progress(step, steps, held-out −log p)`` at every check; ``should_stop`` is asked
        every step and ends the fit early (the best flow so far is returned).
        """
        z = torch.as_tensor(np.asarray(codes), dtype=torch.float32)
        if z.dim() != 2 or len(z) < 2 or not torch.isfinite(z).all():
            raise ConfigError("a flow prior is fitted to at least 2 finite latent codes (N, D)")
        if not 0.0 <= noise <= MAX_NOISE:
            raise ConfigError(f"the training noise is from 0 to {MAX_NOISE:g} standard deviations, got {noise}")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            gen = torch.Generator().manual_seed(seed)
            held = int(len(z) * validation) if len(z) >= 50 else 0
            order = torch.randperm(len(z), generator=gen)
            train, check = z[order[held:]], z[order[:held]] if held else z
            flow = cls(int(z.shape[1]), layers=layers, hidden=hidden)
            net = flow.net
            net.loc.copy_(train.mean(0))
            net.scale.copy_(train.std(0).clamp_min(1e-6))
            opt = torch.optim.Adam(net.parameters(), lr=lr)
            schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
            best, best_state, waited = float("inf"), copy.deepcopy(net.state_dict()), 0
            net.train()
            for step in range(1, steps + 1):
                if should_stop is not None and should_stop():
                    break
                batch = train[torch.randint(len(train), (min(batch_size, len(train)),), generator=gen)]
                if noise > 0:
                    batch = batch + noise * net.scale * torch.randn(batch.shape, generator=gen)
                loss = -net.log_prob(batch).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), 10.0)
                opt.step()
                schedule.step()
                if step % CHECK_EVERY == 0 or step == steps:
                    with torch.no_grad():
                        held_out = float(-net.log_prob(check).mean())
                    if on_progress is not None:
                        on_progress(step, steps, held_out)
                    if held_out < best:
                        best, best_state, waited = held_out, copy.deepcopy(net.state_dict()), 0
                    else:
                        waited += 1
                        if waited >= patience:
                            break
        net.load_state_dict(best_state)
        net.eval()
        return flow


@torch.no_grad()
def encode_images(model: "LatentModel", images: torch.Tensor, batch: int = 1000) -> torch.Tensor:
    """Deterministic codes (posterior means) of ``images``, on the CPU."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model.encode(images[i : i + batch].to(model.device)).float().cpu()
                          for i in range(0, len(images), batch)])
    finally:
        model.train(was_training)


def fit_latent_flow(model: "LatentModel", images: torch.Tensor, **fit_options) -> LatentFlow:
    """Encode ``images`` with ``model``, fit a flow to the codes, attach it as ``model.flow_prior``."""
    if not model.has_encoder:
        raise ConfigError(f"a {model.family} model has no encoder, so there are no latent codes to fit a prior to")
    flow = LatentFlow.fit(encode_images(model, images), **fit_options)
    model.flow_prior = flow
    return flow
