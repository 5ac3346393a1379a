"""How far a model was trained: read from a checkpoint's history and training record.

No PyTorch here: ``latentlab info`` and the window's status bar use it too.
"""

from __future__ import annotations

import math


def epochs_trained(history: list[dict], training: dict | None = None) -> float:
    """Epochs a model was trained for: its history's entries (a partial one counts its
    ``epoch_fraction``), or, for a checkpoint saved without history, ``epochs_trained``
    of its training record, else the epochs its settings asked for (the shipped models)."""
    if history:
        return float(sum(_fraction(r) for r in history))
    training = training or {}
    for key in ("epochs_trained", "epochs"):
        value = training.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0:
            return float(value)
    return 0.0


def _fraction(record: dict) -> float:
    value = record.get("epoch_fraction", 1.0) if isinstance(record, dict) else 1.0
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1 else 1.0


def describe_position(position: tuple[int, int, int]) -> str:
    """"after epoch 3" or "in epoch 4 after step 120 of 468" (epochs count the history)."""
    epoch, done, per_epoch = position
    if done == 0 or done >= per_epoch:
        return f"after epoch {epoch}" if epoch else "before the first step"
    return f"in epoch {epoch} after step {done} of {per_epoch}"
