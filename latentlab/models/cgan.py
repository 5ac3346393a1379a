"""Conditional GAN: G(z, y) and D(x, y), DCGAN-style, with the ``gan``'s stabilising tricks.

The generator takes the one-hot class concatenated to z. The discriminator learns the
class in one of two ways (``discriminator``):

* ``auxiliary`` (AC-GAN, Odena et al. 2017; the default): a classifier head on the
  discriminator's features h learns the classes from real images, and the generator is
  also trained to make that head name the class it was asked for (cross-entropy
  weighted by ``aux_weight``);
* ``projection`` (Miyato & Koyama 2018): D(x, y) = head(h) + ⟨embed(y), h⟩, so D scores
  how well an image fits the *requested* class.

On mnist-5k (2-D latent, 60 epochs, mode seeking 0.2) the auxiliary classifier measured
better: the judge agreed with the requested class on 94.7% of samples (judge FID 82)
against 91.8% (FID 92) for the projection; resources/README.md has the figures.

Label smoothing, label noise, discriminator dropout, R1, mode seeking and the averaged
generator (``ema``) work as for ``gan`` (see gan.py). There is no packing: the classes
are requested, so every class is covered by construction, which is what PacGAN's packs
were for. What a conditional generator does lose is variety *within* a class: with a
2-D z beside a 10-D one-hot, it learns to ignore z and draws one image per class. The
mode-seeking term (MSGAN, Mao et al. 2019, made for exactly this) is on by default; it
compares two latents under the same class (see ``fake_classes``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from latentlab.models.config import setting
from latentlab.models.gan import GAN, DiscriminatorConfig
from latentlab.models.registry import register

DISCRIMINATORS = ("auxiliary", "projection")


@dataclass
class CGANConfig(DiscriminatorConfig):
    mode_seeking: float = 0.2  # on: see the module docstring
    discriminator: str = setting(
        "auxiliary", "Class signal", "How the discriminator sees the class: auxiliary (a classifier head whose "
        "cross-entropy both players add, AC-GAN) or projection (an embedding of the class against its "
        "features)", choices=DISCRIMINATORS)
    aux_weight: float = setting(
        1.0, "Classifier weight", "Weight of the auxiliary classifier's cross-entropy (auxiliary only)",
        minimum=0.0)


@register("cgan")
class ConditionalGAN(GAN):
    title = "Conditional GAN"
    config_class = CGANConfig
    conditional = True

    def __init__(self, config: CGANConfig) -> None:
        super().__init__(config, pack=1, condition_size=config.num_classes)
        width, k = self.disc_trunk.out_features, config.num_classes
        self.projection = config.discriminator == "projection"
        if self.projection:
            self.disc_embed = nn.Linear(k, width, bias=False)
            nn.init.normal_(self.disc_embed.weight, 0.0, 0.02)
        else:
            self.disc_classes = nn.Linear(width, k)
            nn.init.normal_(self.disc_classes.weight, 0.0, 0.02)
            nn.init.zeros_(self.disc_classes.bias)

    def fake_classes(self, y):
        """The real half's classes, with the second half of the batch asking for the same
        classes as the first: the mode-seeking term compares G(z1, c) with G(z2, c), two
        latents under one class, which is where a conditional generator collapses (it
        learns to ignore z and draw one image per class)."""
        half = len(y) // 2
        return torch.cat([y[:half], y[:half], y[2 * half :]])

    def generator_input(self, z: torch.Tensor, y=None) -> torch.Tensor:
        return torch.cat([z, self.class_weights(y, len(z))], 1)

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self.disc_trunk(x * 2.0 - 1.0)

    def discriminate(self, x: torch.Tensor, y=None) -> torch.Tensor:
        """D's logit per image for the requested classes ``y``."""
        return self.critic(x, y)[0]

    def critic(self, x: torch.Tensor, y=None) -> tuple[torch.Tensor, torch.Tensor]:
        h = self._features(x)
        score = self.disc_head(h).squeeze(1)
        weights = self.class_weights(y, len(x))
        if self.projection:
            return score + (self.disc_embed(weights) * h).sum(1), x.new_zeros(())
        ce = F.cross_entropy(self.disc_classes(h), weights)  # soft targets: mixed classes work too
        return score, self.config.aux_weight * ce

    def discriminator_parameters(self) -> list[nn.Parameter]:
        head = self.disc_embed if self.projection else self.disc_classes
        return super().discriminator_parameters() + list(head.parameters())
