"""When a fine-tune has converged: the training loss stops improving (a plateau).

The window's β slider fine-tunes the open VAE until this says so (or until Stop). It is
fed one number per epoch, the epoch's mean training loss at the current β, and reset
whenever β changes (the loss then means something else). No Qt, no PyTorch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: An epoch counts as an improvement when it beats the best loss so far by this share.
MIN_IMPROVEMENT = 0.002
#: Converged after this many epochs in a row without an improvement.
PATIENCE = 3


@dataclass
class LossPlateau:
    """Converged when ``patience`` epochs in a row did not lower the best epoch loss since
    the last ``reset`` by more than ``min_improvement`` of it (0.2 %: about 0.3 nats on
    the shipped VAE's 156). The first epoch after a reset is skipped: β changed during it,
    so its mean mixes two objectives."""

    patience: int = PATIENCE
    min_improvement: float = MIN_IMPROVEMENT
    best: float = field(default=math.inf, init=False)
    stale: int = field(default=0, init=False)
    epochs: int = field(default=0, init=False)
    _skip: bool = field(default=False, init=False)

    def reset(self, *, mid_epoch: bool = True) -> None:
        """Start over (β changed); ``mid_epoch``: the running epoch is a mixture, skip it."""
        self.best, self.stale, self.epochs, self._skip = math.inf, 0, 0, mid_epoch

    def update(self, loss: float) -> bool:
        """One epoch's mean training loss; True once the loss has settled."""
        if self._skip:
            self._skip = False
            return False
        if not math.isfinite(loss):
            return False
        self.epochs += 1
        if loss < self.best - self.min_improvement * abs(self.best) or not math.isfinite(self.best):
            self.best, self.stale = loss, 0
        else:
            self.stale += 1
        return self.converged

    @property
    def converged(self) -> bool:
        return self.stale >= self.patience
