"""The manifold mosaic keeps colour: (n*n, 3, H, W) decodes become one (n*H, n*W, 3) image."""

from __future__ import annotations

import numpy as np

from latentlab.latent.plane_grid import mosaic


def test_grey_and_colour_mosaics_put_the_highest_row_on_top():
    n, h, w = 2, 3, 4
    for channels in (1, 3):
        images = np.arange(n * n * channels * h * w, dtype=np.float32).reshape(n * n, channels, h, w)
        image = mosaic(images, n)
        assert image.shape == ((n * h, n * w) if channels == 1 else (n * h, n * w, 3))
        top_left = images[n].transpose(1, 2, 0)  # row 1 of the grid (largest y), column 0
        shown = image[:h, :w] if channels == 3 else image[:h, :w, None]
        np.testing.assert_array_equal(shown, top_left)
