"""The fast scatter item and the territory tint, without a window."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from latentlab.app.jobs import territory_rgba
from latentlab.latent.territory import Territory
from latentlab.ui.base.palette import class_rgb
from latentlab.ui.map.point_cloud import PointCloudItem


def test_point_cloud_holds_positions_and_bounds(qtbot):
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    item = PointCloudItem(QColor("red"))
    plot.addItem(item)
    xy = np.random.default_rng(0).normal(size=(5000, 2))
    item.set_points(xy)
    np.testing.assert_array_equal(item.points(), xy)
    assert len(item) == 5000
    assert item.dataBounds(0) == (xy[:, 0].min(), xy[:, 0].max())
    assert item.dataBounds(1) == (xy[:, 1].min(), xy[:, 1].max())
    rect = item.boundingRect()
    assert rect.left() <= xy[:, 0].min() and rect.right() >= xy[:, 0].max()
    plot.show()
    qtbot.waitExposed(plot)
    plot.autoRange()
    image = plot.grab().toImage()
    reds = sum(image.pixelColor(x, y).red() > 200 and image.pixelColor(x, y).green() < 80
               for x in range(0, image.width(), 4) for y in range(0, image.height(), 4))
    assert reds > 50  # the dots were painted
    item.set_points(np.zeros((0, 2)))
    assert len(item) == 0 and item.boundingRect().isEmpty() and item.dataBounds(0) == (None, None)


def test_territory_tint_is_the_class_colour_scaled_by_confidence():
    classes = np.array([[0, 1], [2, 3]])
    confidence = np.array([[1.0, 0.5], [0.0, 1.0]])
    rgba = territory_rgba(Territory(classes, confidence, (0, 1), (0, 1)), class_rgb(10))
    np.testing.assert_array_equal(rgba[..., :3], class_rgb(10)[classes])
    np.testing.assert_array_equal(rgba[..., 3], np.round(confidence * 0.35 * 255).astype(np.uint8))
    assert territory_rgba(Territory(classes, confidence, (0, 1), (0, 1)), class_rgb(10), smooth=4).shape == (8, 8, 4)


def test_palette_is_tab10_then_distinct_hues():
    colours = class_rgb(26)
    assert [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in colours[:10]][:3] == ["#1f77b4", "#ff7f0e", "#2ca02c"]
    assert len({tuple(c) for c in colours}) == 26
