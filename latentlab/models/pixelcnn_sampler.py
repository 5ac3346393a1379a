"""Drawing from a PixelCNN pixel by pixel: sampling, completion, and what each pixel sees.

Sampling is sequential: pixel i can only be drawn once pixels 1 … i−1 are. A naive loop
runs the whole network on the whole image 784 times. ``PixelSampler`` caches what does not
change between steps:

* the vertical stack's contribution to row r depends on rows < r only, so it is computed
  once per row (on the rows drawn so far), not once per pixel;
* within a row only the horizontal stack runs, on that one row and only up to the
  current column (its convolutions look left, so the columns to the right do not matter).

The result is identical to running the full network at every step (a test checks it).
Every step reports the pixel drawn and the distribution it was drawn from, so a view can
animate the image as it arrives; ``should_stop`` cancels between steps.

**Completion**: given an image and a mask of known pixels, the unknown ones are drawn in
raster order, each conditioned on every pixel before it (known or drawn). Known pixels
*after* an unknown one are not used: the model only looks back. Hiding the bottom half
is exact conditional sampling; hiding the top half gives samples that ignore the bottom.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from latentlab.errors import ConfigError


@dataclass
class SamplingStep:
    index: int  # how many pixels have been drawn, including this one (1 … total)
    total: int  # pixels to draw
    row: int
    col: int
    #: p(pixel on | the pixels before it), shape (N, C): the distribution it was drawn from.
    probabilities: torch.Tensor
    #: The canvas after this step, (N, C, H, W) in [0, 1] (the sampler's own tensor: copy to keep it).
    images: torch.Tensor

    @property
    def progress(self) -> float:
        return self.index / self.total


class PixelSampler:
    """Draws ``n`` images from ``model`` pixel by pixel; ``start`` and ``known`` make it a completion.

    ``known`` is an (H, W) boolean mask: those pixels keep their value from ``start``.
    ``labels`` (N,) are the classes of a conditional model (ignored otherwise).
    """

    def __init__(
        self,
        model,
        n: int = 16,
        *,
        labels: torch.Tensor | None = None,
        start: torch.Tensor | None = None,
        known: torch.Tensor | np.ndarray | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        if model.has_latent_space:
            raise ConfigError(f"a {model.family} model is not sampled pixel by pixel; sample it with `latentlab sample`")
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 10_000:
            raise ConfigError(f"the number of images must be from 1 to 10000, got {n!r}")
        self.model = model
        c, h, w = model.config.image_shape
        device = model.device
        if start is None:
            canvas = torch.zeros(n, c, h, w, device=device)
        else:
            start = torch.as_tensor(start, dtype=torch.float32)
            if start.dim() == 3:
                start = start.unsqueeze(0)
            if start.dim() != 4 or tuple(start.shape[1:]) != (c, h, w) or len(start) not in (1, n):
                raise ConfigError(f"completion needs one image of shape ({c}, {h}, {w}) or {n} of them, "
                                  f"got {tuple(start.shape)}")
            canvas = start.to(device).expand(n, c, h, w).clone().clamp(0, 1)
        if known is None:
            known_mask = torch.zeros(h, w, dtype=torch.bool)
        else:
            known_mask = torch.as_tensor(np.asarray(known), dtype=torch.bool)
            if tuple(known_mask.shape) != (h, w):
                raise ConfigError(f"the mask of known pixels must be {h}×{w}, got {tuple(known_mask.shape)}")
            if start is None and bool(known_mask.any()):
                raise ConfigError("known pixels need the image they come from (start)")
        self.known = known_mask
        canvas[:, :, ~known_mask.to(device)] = 0.0  # nothing of the hidden pixels leaks in
        self.images = canvas
        self.labels = model._labels(labels, n)
        self.generator = generator
        self.order = [(int(r), int(col)) for r, col in torch.nonzero(~known_mask).tolist()]  # raster order
        self.drawn = 0
        self.cancelled = False
        self._cached_row: int | None = None
        self._from_vertical: list[torch.Tensor] = []

    @property
    def total(self) -> int:
        return len(self.order)

    @property
    def finished(self) -> bool:
        return self.drawn >= self.total

    @property
    def position(self) -> tuple[int, int] | None:
        """(row, column) of the next pixel to draw, None when finished."""
        return None if self.finished else self.order[self.drawn]

    @torch.no_grad()
    def next_distribution(self) -> torch.Tensor:
        """p(next pixel on | the pixels before it), shape (N, C)."""
        if self.finished:
            raise ConfigError("every pixel has been drawn")
        row, col = self.order[self.drawn]
        if self._cached_row != row:
            # The vertical stack's row `row` depends on rows < row only: run it on rows 0 … row.
            contributions = self.model.vertical_stack(self.images[:, :, : row + 1], self.labels)
            self._from_vertical = [t[:, :, row : row + 1] for t in contributions]
            self._cached_row = row
        prefix = [t[..., : col + 1] for t in self._from_vertical]
        logits = self.model.horizontal_stack(self.images[:, :, row : row + 1, : col + 1], prefix, self.labels)
        return torch.sigmoid(logits[:, :, 0, col])

    @torch.no_grad()
    def step(self) -> SamplingStep:
        """Draw the next pixel of every image."""
        p = self.next_distribution()
        row, col = self.order[self.drawn]
        u = torch.rand(p.shape, generator=self.generator, device=self.generator.device if self.generator else "cpu")
        self.images[:, :, row, col] = (u.to(p.device) < p).float()
        self.drawn += 1
        return SamplingStep(self.drawn, self.total, row, col, p, self.images)

    def run(
        self,
        on_step: Callable[[SamplingStep], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        *,
        threads: int | None = 1,
    ) -> torch.Tensor:
        """Draw every remaining pixel; returns the images (N, C, H, W) on the CPU.

        ``on_step`` gets every step; ``should_stop`` is asked before each one, and a True
        leaves the images partly drawn with ``cancelled`` set.

        ``threads``: PyTorch's intra-op threads while sampling (restored afterwards). The
        steps are many small operations, which more threads only slow down: on a busy
        2-core machine 16 samples took 2.3 s of CPU with one thread and 45-86 s with two
        (``benchmarks/pixelcnn_sampling.py``). The setting is process-wide; None leaves it.
        """
        was_training = self.model.training
        previous_threads = torch.get_num_threads()
        if threads is not None and self.images.device.type == "cpu":
            torch.set_num_threads(threads)
        self.model.eval()
        try:
            while not self.finished:
                if should_stop is not None and should_stop():
                    self.cancelled = True
                    break
                report = self.step()
                if on_step is not None:
                    on_step(report)
        finally:
            self.model.train(was_training)
            if torch.get_num_threads() != previous_threads:
                torch.set_num_threads(previous_threads)
        return self.images.detach().cpu()


def complete(
    model,
    image: torch.Tensor,
    known: torch.Tensor | np.ndarray,
    n: int = 4,
    *,
    label: int | None = None,
    generator: torch.Generator | None = None,
    on_step: Callable[[SamplingStep], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> torch.Tensor:
    """``n`` completions of ``image`` (C, H, W): the pixels where ``known`` is True are kept,
    the others drawn (see the module docstring for what a completion can use)."""
    labels = None if label is None else torch.full((n,), int(label))
    sampler = PixelSampler(model, n, labels=labels, start=image, known=known, generator=generator)
    return sampler.run(on_step, should_stop)


#: Regions a completion may hide (the rest of the image is given).
HIDDEN_REGIONS = ("bottom half", "right half", "centre square", "top half")


def known_mask(region: str, shape: tuple[int, int]) -> np.ndarray:
    """(H, W) boolean mask of the pixels a completion keeps when ``region`` (one of
    ``HIDDEN_REGIONS``) is hidden."""
    h, w = shape
    known = np.ones((h, w), dtype=bool)
    if region == "bottom half":
        known[h // 2:] = False
    elif region == "top half":
        known[: h // 2] = False
    elif region == "right half":
        known[:, w // 2:] = False
    elif region == "centre square":
        known[h // 4: h - h // 4, w // 4: w - w // 4] = False
    else:
        raise ConfigError(f"unknown region {region!r}; choose one of {', '.join(HIDDEN_REGIONS)}")
    return known


def hide_bottom_half(image_shape: tuple[int, int, int]) -> np.ndarray:
    """The classic completion mask: the top half known, the bottom half to draw."""
    _, h, w = image_shape
    known = np.zeros((h, w), dtype=bool)
    known[: h // 2] = True
    return known


# ----------------------------------------------------------------- receptive field
def _linear_gate(pre: torch.Tensor) -> torch.Tensor:
    a, b = pre.chunk(2, dim=1)
    return a + b


@torch.no_grad()
def _dependency_twin(model) -> nn.Module:
    """A copy of ``model`` that computes a positive linear function along exactly the same
    connections: every weight 1/fan-in, no biases, linear gates and head. Its gradient is
    non-zero exactly where the real network has a path, with no cancellation."""
    twin = copy.deepcopy(model).to("cpu", torch.float64)
    for module in twin.modules():
        if isinstance(module, nn.Conv2d):
            module.weight.fill_(1.0 / module.weight[0].numel())
            module.bias.zero_()
    for layer in twin.layers:
        layer.activation = _linear_gate
        layer.label_bias = None
    twin.head = nn.Sequential(*(nn.Identity() if isinstance(m, nn.ReLU) else m for m in twin.head))
    return twin


def receptive_field(model, row: int, col: int) -> np.ndarray:
    """(H, W) boolean mask of the input pixels that the prediction of pixel (row, col) depends on.

    Traced through the network's own code (see ``_dependency_twin``), so it is the field of
    the model as built: for the gated PixelCNN, every pixel before (row, col) within its
    reach and none at or after it (no blind spot).
    """
    c, h, w = model.config.image_shape
    if not (0 <= row < h and 0 <= col < w):
        raise ConfigError(f"pixel ({row}, {col}) is outside the {h}×{w} image")
    twin = _dependency_twin(model)
    x = torch.zeros(1, c, h, w, dtype=torch.float64, requires_grad=True)
    with torch.enable_grad():
        logits = twin.horizontal_stack(x, twin.vertical_stack(x))
        (grad,) = torch.autograd.grad(logits[0, :, row, col].sum(), x)
    return (grad[0].abs().sum(0) > 0).numpy()


def pixels_before(image_shape: tuple[int, int, int], row: int, col: int) -> np.ndarray:
    """(H, W) mask of the pixels before (row, col) in raster order: what the model may see."""
    _, h, w = image_shape
    before = np.zeros(h * w, dtype=bool)
    before[: row * w + col] = True
    return before.reshape(h, w)
