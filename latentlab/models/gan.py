"""DCGAN-style GAN: generator G(z) and discriminator D(x), the min-max game.

D is trained to tell real images from G's; G is trained to fool D (the non-saturating
loss, -log D(G(z))). The stabilisation tricks of the teaching material against a
discriminator that overpowers the generator are settings:

* ``label_smoothing``: real images get target 1 - s instead of 1 (one-sided smoothing);
* ``label_flip``: each D target is swapped with this probability (label noise);
* ``d_dropout``: dropout in the discriminator;
* ``pack``: the discriminator judges packs of this many images at once (PacGAN, Lin et
  al. 2018), so it can see a lack of variety: a generator that collapses onto a few
  modes is easy to catch. A remedy for mode collapse; 1 turns it off.
* ``mode_seeking``: weight of the mode-seeking term (MSGAN, Mao et al. 2019): the
  generator is penalised by 1 / (|G(z1) - G(z2)| / |z1 - z2|) over pairs of its batch,
  so nearby latents may not all land on the same image. Another remedy for mode
  collapse, shared with WGAN-GP; 0 turns it off.
* ``r1``: weight γ of the R1 penalty (Mescheder et al. 2018): D's loss gains
  γ/2·E‖∇ₓD(x)‖² on real images, so D cannot sharpen into a cliff around the data that
  gives G no gradient towards the modes it has not found. 0 turns it off.

A fixed noise batch (``fixed_noise``, saved with the weights) makes samples comparable
across epochs.

``ema`` keeps an exponential moving average of the generator's weights (Yazıcı et al.
2019), which is what ``decode`` uses in eval mode (samples, the map, evaluation), while
training updates the live generator. Adversarial training orbits around its equilibrium
rather than settling on it: on a 2-D latent the regions of the digit classes keep
trading places, so one snapshot may have lost a class that the next has back. The
average sits nearer the centre of the orbit. The decay warms up as (1 + t) / (10 + t)
over the first generator updates, so a short run is not dominated by its random start.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.models.backbones import Decoder, Encoder
from latentlab.models.base import LatentModel
from latentlab.models.config import ModelConfig, setting
from latentlab.models.registry import register

FIXED_NOISE_SIZE = 64


def init_weights(module: nn.Module) -> None:
    """DCGAN initialisation: N(0, 0.02) weights, N(1, 0.02) batch-norm scales."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


@dataclass
class AdversarialConfig(ModelConfig):
    """Settings of every GAN family."""

    backbone: str = "conv"  # DCGAN: convolutional generator and discriminator
    mode_seeking: float = setting(
        0.0, "Mode seeking", "Weight of the mode-seeking term (MSGAN): nearby latents may not all give the "
        "same image; 0 turns it off", minimum=0.0)
    ema: float = setting(
        0.999, "Generator average", "Decay of the moving average of the generator's weights that samples and "
        "maps use (0 turns it off: the live generator)", minimum=0.0, maximum=1.0, maximum_open=True)


@dataclass
class DiscriminatorConfig(AdversarialConfig):
    """The stabilising tricks of a discriminator trained with binary targets (gan, cgan)."""

    label_smoothing: float = setting(
        0.1, "Label smoothing", "Real images get the target 1 − s instead of 1 (one-sided smoothing), so the "
        "discriminator never becomes certain", minimum=0.0, maximum=0.5, maximum_open=True)
    label_flip: float = setting(
        0.05, "Label noise", "Each discriminator target is swapped with this probability", minimum=0.0,
        maximum=0.5, maximum_open=True)
    d_dropout: float = setting(
        0.3, "Discriminator dropout", "Dropout in the discriminator, which keeps it from overpowering the "
        "generator", minimum=0.0, maximum=1.0, maximum_open=True)
    r1: float = setting(
        0.0, "R1 penalty", "Weight of the R1 gradient penalty on real images, which keeps the discriminator "
        "smooth around the data; 0 turns it off", minimum=0.0)


PACK = dict(label="Pack", help="The discriminator judges packs of this many images at once (PacGAN), so it "
            "sees a lack of variety; 1 turns it off", minimum=1, maximum=8)


@dataclass
class GANConfig(DiscriminatorConfig):
    pack: int = setting(2, **PACK)


class AdversarialModel(LatentModel):
    """Shared parts of the GAN families: generator, critic, fixed noise, optimisers."""

    has_encoder = False
    #: What ``discriminate`` returns: "logit" (a classifier's log-odds of "real") or "critic"
    #: (an unbounded Wasserstein critic value, higher = more real).
    score_kind: str = "logit"
    default_lr = 2e-4
    default_batch_size = 64
    adam_betas: tuple[float, float] = (0.5, 0.999)

    def __init__(self, config: ModelConfig, *, d_dropout: float, d_norm: bool, pack: int = 1,
                 condition_size: int = 0) -> None:
        """``condition_size`` extra inputs of the generator (the one-hot class of a cgan)."""
        super().__init__(config)
        c = config
        self.pack = pack
        channels, height, width = c.image_shape
        self.generator = Decoder(c.backbone, c.latent_dim + condition_size, c.image_shape, c.hidden, batch_norm=True)
        self.disc_trunk = Encoder(
            c.backbone, (channels * pack, height, width), c.hidden, act="lrelu", dropout=d_dropout, norm=d_norm
        )
        self.disc_head = nn.Linear(self.disc_trunk.out_features, 1)
        self.apply(init_weights)
        gen = torch.Generator().manual_seed(0)
        self.register_buffer("fixed_noise", torch.randn(FIXED_NOISE_SIZE, c.latent_dim, generator=gen))
        self.generator_ema: nn.Module | None = None
        if c.ema > 0:
            self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
            self.register_buffer("ema_updates", torch.zeros((), dtype=torch.long))

    def generator_input(self, z: torch.Tensor, y=None) -> torch.Tensor:
        """What the generator's first layer takes: z (a cgan appends the class)."""
        return z

    def decode(self, z: torch.Tensor, y=None) -> torch.Tensor:
        """G(z) in [0, 1]: the live generator while training, the averaged one in eval mode."""
        use_average = self.generator_ema is not None and not self.training
        return torch.sigmoid((self.generator_ema if use_average else self.generator)(self.generator_input(z, y)))

    @torch.no_grad()
    def update_average(self) -> None:
        """Move the averaged generator towards the live one; call after each generator step."""
        if self.generator_ema is None:
            return
        self.ema_updates += 1
        t = self.ema_updates.float()  # a tensor: no host sync on a GPU
        decay = torch.clamp((1.0 + t) / (10.0 + t), max=self.config.ema)
        for average, live in zip(self.generator_ema.parameters(), self.generator.parameters()):
            average.lerp_(live, 1.0 - decay)
        for average, live in zip(self.generator_ema.buffers(), self.generator.buffers()):
            average.copy_(live)  # batch-norm statistics: the live generator's

    def discriminate(self, x: torch.Tensor, y=None) -> torch.Tensor:
        """One score (a logit for the GAN, a critic value for WGAN-GP) per pack of images.

        Images are grouped into packs of ``pack`` consecutive images (the batch is trimmed
        to a multiple of it); with ``pack = 1`` that is one score per image.
        """
        n = len(x) - len(x) % self.pack
        packed = x[:n].reshape(n // self.pack, -1, *x.shape[2:])
        return self.disc_head(self.disc_trunk(packed * 2.0 - 1.0)).squeeze(1)

    def packs(self, n: int) -> int:
        return n // self.pack

    def generator_parameters(self) -> list[nn.Parameter]:
        return list(self.generator.parameters())

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return list(self.disc_trunk.parameters()) + list(self.disc_head.parameters())

    def configure_optimizers(self, lr: float) -> list[torch.optim.Optimizer]:
        return [
            torch.optim.Adam(self.generator_parameters(), lr=lr, betas=self.adam_betas),
            torch.optim.Adam(self.discriminator_parameters(), lr=lr, betas=self.adam_betas),
        ]

    def fixed_samples(self) -> torch.Tensor:
        """The fixed noise decoded (a conditional model: under the classes in turn)."""
        n = len(self.fixed_noise)
        return self.decode(self.fixed_noise, torch.arange(n, device=self.device) % self.num_classes)

    def mode_seeking_penalty(self, z: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """MSGAN's term, weighted: ``w / (mean|G(z1) - G(z2)| / mean|z1 - z2| + 1e-5)`` over the
        two halves of a batch (0 when the weight is 0). It grows when distinct latents
        give the same image, the signature of a collapsed mode."""
        weight = self.config.mode_seeking
        half = len(z) // 2
        if weight == 0 or half == 0:
            return fake.new_zeros(())
        image_gap = (fake[:half] - fake[half : 2 * half]).abs().mean()
        latent_gap = (z[:half] - z[half : 2 * half]).abs().mean()
        return weight / (image_gap / latent_gap + 1e-5)


@register("gan")
class GAN(AdversarialModel):
    title = "GAN (DCGAN-style)"
    config_class = GANConfig
    loss_parts = ("loss", "d_loss", "g_loss", "d_real", "d_fake")

    def __init__(self, config: GANConfig, *, pack: int | None = None, condition_size: int = 0) -> None:
        super().__init__(config, d_dropout=config.d_dropout, d_norm=False,
                         pack=config.pack if pack is None else pack, condition_size=condition_size)
        self.supports_amp = config.r1 == 0  # R1 differentiates twice: keep it in float32

    def critic(self, x: torch.Tensor, y=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(D's logits, an extra loss term) for images ``x`` of classes ``y``: the extra term is
        0 here; a conditional GAN with an auxiliary classifier puts its cross-entropy there."""
        return self.discriminate(x, y), x.new_zeros(())

    def _targets(self, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        n = self.packs(n)
        real = torch.full((n,), 1.0 - c.label_smoothing, device=device)
        fake = torch.zeros(n, device=device)
        if c.label_flip > 0:
            flip = torch.rand(n, device=device) < c.label_flip
            real, fake = torch.where(flip, fake, real), torch.where(flip, real, fake)
        return real, fake

    def fake_classes(self, y):
        """The classes the generated half of a batch is asked for (ignored here)."""
        return y

    def _d_loss(self, x: torch.Tensor, fake: torch.Tensor, y=None, y_fake=None
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        real_t, fake_t = self._targets(x.shape[0], x.device)
        use_r1 = self.config.r1 > 0 and torch.is_grad_enabled()
        if use_r1:
            x = x.detach().requires_grad_(True)
        (d_real, extra), (d_fake, _) = self.critic(x, y), self.critic(fake, y_fake)
        loss = F.binary_cross_entropy_with_logits(d_real, real_t) + F.binary_cross_entropy_with_logits(d_fake, fake_t)
        loss = loss + extra  # the auxiliary classifier learns the classes from real images only
        if use_r1:
            (grad,) = torch.autograd.grad(d_real.sum(), x, create_graph=True)
            loss = loss + 0.5 * self.config.r1 * grad.pow(2).flatten(1).sum(1).mean() * self.pack
        return loss, torch.sigmoid(d_real).mean(), torch.sigmoid(d_fake).mean()

    def _g_loss(self, z: torch.Tensor, fake: torch.Tensor, y=None) -> torch.Tensor:
        scores, extra = self.critic(fake, y)
        adversarial = F.binary_cross_entropy_with_logits(scores, torch.ones_like(scores))
        return adversarial + extra + self.mode_seeking_penalty(z, fake)

    def loss(self, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Both players' losses on one batch; ``loss`` is their sum (for monitoring only)."""
        z, y_fake = self.prior_sample(x.shape[0]), self.fake_classes(y)
        fake = self.decode(z, y_fake)
        d_loss, d_real, d_fake = self._d_loss(x, fake, y, y_fake)
        g_loss = self._g_loss(z, fake, y_fake)
        return {"loss": d_loss + g_loss, "d_loss": d_loss, "g_loss": g_loss, "d_real": d_real, "d_fake": d_fake}

    def train_step(self, x, y, optimizers, step):
        opt_g, opt_d = optimizers
        z, y_fake = self.prior_sample(x.shape[0]), self.fake_classes(y)
        fake = self.decode(z, y_fake)
        d_loss, d_real, d_fake = self._d_loss(x, fake.detach(), y, y_fake)
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        g_loss = self._g_loss(z, fake, y_fake)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        self.update_average()
        parts = {"d_loss": d_loss, "g_loss": g_loss, "d_real": d_real, "d_fake": d_fake}
        parts = {k: v.detach() for k, v in parts.items()}
        parts["loss"] = parts["d_loss"] + parts["g_loss"]
        return parts
