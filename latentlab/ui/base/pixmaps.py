"""Decoded images (uint8 numpy arrays) as Qt pixmaps."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def frame_pixmap(frame: np.ndarray) -> QPixmap:
    """One (H, W) or (H, W, 3) uint8 frame as a pixmap (copied: the array may go away)."""
    frame = np.ascontiguousarray(frame)
    h, w = frame.shape[:2]
    if frame.ndim == 2:
        image = QImage(frame.data, w, h, w, QImage.Format.Format_Grayscale8)
    else:
        image = QImage(frame.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())
