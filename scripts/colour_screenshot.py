"""The README's picture of a colour VAE explored in the window, rendered offscreen.

    python scripts/colour_screenshot.py OUT.png [--epochs 40]

Makes a folder of coloured shapes (six classes: three shapes, each on two background
colours, 32 x 32 RGB), chooses it in the training panel as a person does (Folder…, colour
ticked by itself), trains a 2-D VAE there, waits for the judge that colours the
territory, puts the marker on a dot and hovers another, and saves the window.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from analysis_screenshots import wait_for  # noqa: E402

#: (class folder, background colour, shape); shapes are near-white.
CLASSES = (
    ("circle-on-red", (200, 40, 40), "circle"), ("circle-on-blue", (40, 70, 200), "circle"),
    ("square-on-green", (40, 150, 60), "square"), ("square-on-purple", (130, 50, 160), "square"),
    ("triangle-on-orange", (230, 130, 30), "triangle"), ("triangle-on-teal", (20, 140, 140), "triangle"),
)


def make_folder(root: Path, per_class: int = 150, side: int = 32) -> Path:
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(0)
    for name, background, shape in CLASSES:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            tint = tuple(int(np.clip(v + rng.integers(-30, 31), 0, 255)) for v in background)
            image = Image.new("RGB", (side, side), tint)
            draw = ImageDraw.Draw(image)
            r = int(rng.integers(5, 11))
            x, y = (int(v) for v in rng.integers(r + 1, side - r - 1, 2))
            fill = tuple(int(v) for v in rng.integers(215, 256, 3))
            if shape == "circle":
                draw.ellipse([x - r, y - r, x + r, y + r], fill=fill)
            elif shape == "square":
                draw.rectangle([x - r, y - r, x + r, y + r], fill=fill)
            else:
                draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=fill)
            image.save(root / name / f"{i:03d}.png")
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()

    import numpy as np
    from PySide6.QtCore import QSettings
    from PySide6.QtTest import QTest

    from latentlab.ui.main.app import ensure_application
    from latentlab.ui.main.main_window import MainWindow, WindowOptions

    app = ensure_application()
    with tempfile.TemporaryDirectory(prefix="latentlab-colour-") as tmp:
        os.environ["LATENTLAB_CACHE"] = str(Path(tmp) / "cache")  # its judge stays here
        folder = make_folder(Path(tmp) / "shapes")
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, options=WindowOptions(headless=True, warm_up=False))
        window.resize(1366, 768)
        window.show()
        window.wait_until_idle(300)
        panel = window.training_panel
        panel.load_model_defaults()
        panel.dataset.add_folder(str(folder))  # what Folder… does with the folder chosen
        panel.hidden.setValue(256)
        panel.epochs.setValue(args.epochs)
        panel.lr.setValue(0.002)
        done = []
        window.trainingEnded.connect(done.append)
        window.training.start_new()
        wait_for(app, lambda: done, 900)
        wait_for(app, lambda: window.judge_and_warm_up.judge_task is None, 900)
        window.wait_until_idle(300)
        lmap, labels = window.latent_map, window.session.dataset.test.labels.numpy()
        xy = lmap.positions()
        marked = int(np.flatnonzero(labels == 0)[0])
        window.explorer.set_marker(*xy[marked])
        hovered = int(np.flatnonzero(labels == 4)[0])
        QTest.mouseMove(lmap.plot.viewport(), lmap.viewport_position(*xy[hovered]))
        wait_for(app, lmap.hover_preview.isVisible, 10)
        window.wait_until_idle(60)
        window.grab().save(args.out, "PNG")
        print(f"saved {args.out}: {window.session.dataset.name} {window.session.dataset.image_shape}, "
              f"{args.epochs} epochs, {window.statusBar().currentMessage()}")
        window.close()
        window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
