"""Conditional VAE: encoder and decoder both see the class, q(z | x, y) and p(x | z, y).

The class enters as one-hot weights concatenated to the encoder's features (followed by
one dense layer, so the posterior can depend on the class non-linearly) and to z at the
decoder's input. Because the decoder is told the class, the latent no longer needs to
carry it: z encodes *how* a digit is written (slant, width, stroke), and one z decoded
under all ten classes gives ten digits in one handwriting. Mixed weights
(0.6·onehot(3) + 0.4·onehot(8)) decode "between" two classes at a fixed style.

Loss per image = reconstruction + β·KL(q(z|x,y) ‖ N(0, I)), as for ``vae``; with β = 1 it
is the negative ELBO of log p(x | y), a bound that is lower than the unconditional one
by what the label tells about the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from latentlab.models.registry import register
from latentlab.models.vae import VAE, VAEConfig


@dataclass
class CVAEConfig(VAEConfig):
    pass


@register("cvae")
class ConditionalVAE(VAE):
    title = "Conditional VAE"
    config_class = CVAEConfig
    conditional = True

    def __init__(self, config: CVAEConfig) -> None:
        super().__init__(config)
        width = self.encoder.out_features
        self.condition = nn.Sequential(nn.Linear(width + config.num_classes, width), nn.ReLU())

    def decoder_input_size(self) -> int:
        return self.config.latent_dim + self.config.num_classes

    def features(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.condition(torch.cat([self.encoder(x), self.class_weights(y, len(x))], 1))

    def decoder_logits(self, z: torch.Tensor, y=None) -> torch.Tensor:
        return self.decoder(torch.cat([z, self.class_weights(y, len(z))], 1))
