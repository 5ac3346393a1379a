"""The transformer backbone: self-attention over image patches (a small vision transformer).

Encoder: the image is cut into square patches on a 4 x 4 grid (7 x 7 pixels for 28 x 28
MNIST; the image is zero-padded up to a whole number of patches), each patch embedded
by a strided ``nn.Conv2d`` and given a learned position embedding; a learned summary
token (ViT's [CLS]) is put in front, and ``nn.TransformerEncoderLayer`` blocks
(pre-norm) let every token attend to every other. The summary token's output is the
feature vector the family's heads turn into z, so its attention over the patches is
what the "inside the encoder" view draws.

Decoder: z is mapped by a dense layer to one token per patch, plus the position
embeddings; attention layers mix them, and ``nn.Fold`` turns each token's dense output
into its patch of logits. (``batch_norm``, which the GAN asks of its generator, is not
used: the attention layers normalise with their own LayerNorms.)

``hidden`` (the config's width) sets the token width to ``hidden // 8`` (64 at the
default 512), rounded up to a multiple of the 4 heads. Measured on mnist-5k (2-D VAE, 30
epochs, one CPU thread): 7 x 7-pixel patches (16 tokens) gave test -ELBO 159.1 at 1.6 CPU s
per epoch; 4 x 4-pixel patches (49 tokens) 163.3 at 4.4 s; 16 tokens 128 wide cost 3x
the time of 64 wide. Attention weights are read with forward hooks on each layer's
``nn.MultiheadAttention`` (:meth:`PatchEncoder.inside`), so training runs PyTorch's own
attention unchanged.
"""

from __future__ import annotations

import contextlib
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from latentlab.models.backbones import Backbone, register_backbone
from latentlab.models.inside import AttentionTrace

GRID = 4
HEADS = 4
LAYERS = 2


def patch_size(image_shape: tuple[int, int, int]) -> int:
    """Pixels per patch side: the image's longer side over the 4-patch grid, rounded up."""
    return math.ceil(max(image_shape[1:]) / GRID)


def token_width(hidden: int) -> int:
    return HEADS * max(2, math.ceil(hidden // 8 / HEADS))


def _layers(width: int, dropout: float, act: str) -> nn.ModuleList:
    activation = nn.LeakyReLU(0.2) if act == "lrelu" else "gelu"
    return nn.ModuleList(
        nn.TransformerEncoderLayer(width, HEADS, 2 * width, dropout=dropout, activation=activation,
                                   batch_first=True, norm_first=True)
        for _ in range(LAYERS)
    )


class PatchEncoder(nn.Module):
    def __init__(self, image_shape, hidden, *, act="relu", dropout=0.0, norm=False) -> None:
        super().__init__()
        c, h, w = image_shape
        self.patch = patch_size(image_shape)
        self.grid = (math.ceil(h / self.patch), math.ceil(w / self.patch))
        width = token_width(hidden)
        self.embed = nn.Conv2d(c, width, self.patch, stride=self.patch)
        self.summary = nn.Parameter(torch.zeros(1, 1, width))
        self.position = nn.Parameter(torch.randn(1, 1 + self.grid[0] * self.grid[1], width) * 0.02)
        self.layers = _layers(width, dropout, act)
        self.norm = nn.LayerNorm(width)
        self.out_features = width

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1 + patches, width): the summary token and the embedded patches, with positions."""
        _, _, h, w = x.shape
        gh, gw = self.grid
        x = F.pad(x, (0, gw * self.patch - w, 0, gh * self.patch - h))
        patches = self.embed(x).flatten(2).transpose(1, 2)
        return torch.cat([self.summary.expand(len(x), -1, -1), patches], 1) + self.position

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.tokens(x)
        # A gradient penalty (WGAN-GP, R1) differentiates a discriminator's gradient with
        # respect to its input; PyTorch's fused CPU attention has no second derivative, its
        # reference ("math") kernel has. Only an input that requires grad can be that case.
        with sdpa_kernel(SDPBackend.MATH) if x.requires_grad else contextlib.nullcontext():
            for layer in self.layers:
                t = layer(t)
        return self.norm(t[:, 0])

    @torch.no_grad()
    def inside(self, x: torch.Tensor) -> AttentionTrace:
        """Every layer's attention weights per head, for one image (1, C, H, W)."""
        weights = attention_weights(self.layers, lambda: self(x))
        return AttentionTrace(self.patch, self.grid, [w[0].cpu().numpy() for w in weights])


def attention_weights(layers: nn.ModuleList, run) -> list[torch.Tensor]:
    """Call ``run()`` with each layer's self-attention asked for its per-head weights;
    returns them per layer, each (N, heads, tokens, tokens).

    A forward pre-hook turns on ``need_weights`` (and per-head weights) in the call the
    layer makes, a forward hook keeps the weights; hooks also keep PyTorch off its fused
    inference path, which computes no weights.
    """
    found: list[torch.Tensor] = []

    def ask(module, args, kwargs):
        return args, {**kwargs, "need_weights": True, "average_attn_weights": False}

    def keep(module, args, output):
        found.append(output[1])

    handles = []
    for layer in layers:
        handles.append(layer.self_attn.register_forward_pre_hook(ask, with_kwargs=True))
        handles.append(layer.self_attn.register_forward_hook(keep))
    try:
        run()
    finally:
        for handle in handles:
            handle.remove()
    return found


class PatchDecoder(nn.Module):
    def __init__(self, latent_dim, image_shape, hidden, *, batch_norm=False) -> None:
        super().__init__()
        c, h, w = image_shape
        self.image_shape = image_shape
        self.patch = patch_size(image_shape)
        gh, gw = math.ceil(h / self.patch), math.ceil(w / self.patch)
        self.width = token_width(hidden)
        self.n_tokens = gh * gw
        self.to_tokens = nn.Linear(latent_dim, self.n_tokens * self.width)
        self.position = nn.Parameter(torch.randn(1, self.n_tokens, self.width) * 0.02)
        self.layers = _layers(self.width, 0.0, "gelu")
        self.norm = nn.LayerNorm(self.width)
        self.to_patch = nn.Linear(self.width, c * self.patch * self.patch)
        self.fold = nn.Fold((gh * self.patch, gw * self.patch), self.patch, stride=self.patch)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        t = self.to_tokens(z).reshape(len(z), self.n_tokens, self.width) + self.position
        for layer in self.layers:
            t = layer(t)
        image = self.fold(self.to_patch(self.norm(t)).transpose(1, 2))
        _, h, w = self.image_shape
        return image[..., :h, :w]


register_backbone(Backbone(
    "transformer", "transformer",
    "self-attention over 7 x 7 patches of the image (a small vision transformer)",
    PatchEncoder, PatchDecoder,
))
