"""Helpers shared by the window tests (importable, unlike conftest)."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import QPoint

from latentlab.models.registry import create_model, make_config


def tiny_model(family: str = "vae", latent_dim: int = 2, seed: int = 0, **settings):
    torch.manual_seed(seed)
    return create_model(make_config(family, hidden=32, latent_dim=latent_dim, **settings))


def tiny_history(epochs: int = 3) -> list[dict]:
    return [{"epoch": e, "train_loss": 300.0 - 20 * e, "train_recon": 290.0 - 20 * e, "train_kl": 2.0 + e,
             "test_recon": 292.0 - 20 * e, "test_kl": 2.1 + e} for e in range(1, epochs + 1)]


def hover(qtbot, window, index: int) -> None:
    lmap = window.latent_map
    viewport = lmap.plot.viewport()
    pos = lmap.viewport_position(*lmap.positions()[index])
    qtbot.mouseMove(viewport, pos + QPoint(1, 0))
    qtbot.wait(20)  # pyqtgraph drops mouse moves closer than 10 ms
    qtbot.mouseMove(viewport, pos)


def a_lonely_dot(lmap) -> int:
    """A visible dot with no neighbour within 12 pixels, so hovering it cannot pick another."""
    xy = lmap.positions()
    (x0, x1), (y0, y1) = lmap.visible_region()
    pw, ph = lmap.view_box.viewPixelSize()
    px = np.stack([xy[:, 0] / pw, xy[:, 1] / ph], 1)
    inner = np.flatnonzero((xy[:, 0] > x0 + 0.2 * (x1 - x0)) & (xy[:, 0] < x1 - 0.2 * (x1 - x0))
                           & (xy[:, 1] > y0 + 0.2 * (y1 - y0)) & (xy[:, 1] < y1 - 0.2 * (y1 - y0)))
    for i in inner:
        d = np.hypot(*(px - px[i]).T)
        d[i] = np.inf
        if d.min() > 12:
            return int(i)
    raise AssertionError("no lonely dot")
