"""The discriminator background's toggle: its icon and the words a student needs.

No PyTorch here (the map is built before it loads): the colours repeat those of
``latentlab.latent.realness`` (a test checks they agree).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPixmap

from latentlab.app.jobs_base import TERRITORY_ALPHA

#: "fake" (D = 0) and "real" (D = 1): GAN Lab's purple and green, as latentlab.latent.realness paints them.
FAKE_RGB = (148, 103, 189)
REAL_RGB = (44, 160, 44)

REALNESS_TIP = ("Realness D(G(z)): the background at each place of the map shows how real the GAN's discriminator "
                "finds the image its generator makes there. Green: it takes it for a real digit; purple: it "
                "calls it fake; clear: it cannot tell (D = 0.5). A WGAN-GP's critic gives no probability: its "
                "values are spread from this picture's least to its most real.\n"
                "The discriminator is the generator's opponent, a classifier of real against generated images; "
                "where it is fooled, the generator does well.\n"
                "Click to show it instead of the judge's territory (the Territory button brings that back).")


def realness_icon(size: int = 14) -> QPixmap:
    """A square fading from "fake" purple to "real" green, for the toggle."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    gradient = QLinearGradient(0, 0, size, 0)
    for stop, rgb in ((0.0, FAKE_RGB), (1.0, REAL_RGB)):
        colour = QColor(*rgb)
        colour.setAlphaF(min(1.0, 2 * TERRITORY_ALPHA))
        gradient.setColorAt(stop, colour)
    painter.fillRect(0, 0, size, size, gradient)
    painter.end()
    return pixmap
