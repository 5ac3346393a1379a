"""Pictures the window writes (map exports, screenshots), through the same atomic path as
every other output file (``latentlab.atomic``): a full disk leaves no 0-byte PNG."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QImage, QPixmap

from latentlab.atomic import write_output
from latentlab.errors import OutputError


def png_bytes(image: QImage | QPixmap) -> bytes:
    """``image`` encoded as PNG."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image.save(buffer, "PNG")
    buffer.close()
    if not ok:
        raise OutputError("could not encode the picture as PNG (it is empty); nothing was written")
    return bytes(data.data())


def write_png(image: QImage | QPixmap, path: str | Path, what: str = "the picture") -> Path:
    """Write ``image`` as a PNG file atomically; OutputError names the problem."""
    data = png_bytes(image)
    return write_output(path, lambda f: f.write(data), what=what)
