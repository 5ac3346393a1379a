"""The 1920x1080 screenshots of the docs: the window in the light and the dark look, and in
presentation mode, each on the pretrained VAE with the marker placed and the territory
computed.

    python scripts/screenshots.py [--out docs/screenshots] [--checkpoint PATH]

Renders offscreen on a virtual 1920x1080 screen (so presentation mode's full screen is
1920x1080), with a throw-away settings file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

SIZE = (1920, 1080)
MARKER = (0.9, 0.7)  # a point between classes: the decode is a recognisable digit


def virtual_screen(tmp: Path) -> None:
    config = tmp / "screen.json"
    config.write_text(json.dumps({"screens": [{"name": "docs", "x": 0, "y": 0, "width": SIZE[0],
                                               "height": SIZE[1], "logicalDpiX": 96, "logicalDpiY": 96}]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNGs")
    parser.add_argument("--checkpoint", help="default: the pretrained VAE")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="latentlab-shots-") as tmp:
        virtual_screen(Path(tmp))
        from PySide6.QtCore import QSettings

        from latentlab.pretrained import default_checkpoint
        from latentlab.ui.app import CAPTURE_TERRITORY, ensure_application
        from latentlab.ui.explorer import ExplorerOptions
        from latentlab.ui.main_window import MainWindow, WindowOptions
        from latentlab.ui.theme import DARK, LIGHT

        checkpoint = args.checkpoint or default_checkpoint()
        if checkpoint is None:
            print("no checkpoint: the pretrained VAE is not installed", file=sys.stderr)
            return 2
        app = ensure_application()
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, options=WindowOptions(
            headless=True, warm_up=False, explorer=ExplorerOptions(territory_stages=CAPTURE_TERRITORY)))
        try:
            window.resize(*SIZE)
            window.show()
            if not window.open_checkpoint(str(checkpoint)):
                return 1

            def shoot(name: str) -> None:
                window.explorer.set_marker(*MARKER)
                window.wait_until_idle(180)
                app.processEvents()
                path = out / name
                window.grab().save(str(path), "PNG")
                print(f"{path}: {window.width()}x{window.height()}")

            window.presentation.apply(LIGHT)
            shoot("window-light-1920x1080.png")
            window.presentation.apply(DARK)
            shoot("window-dark-1920x1080.png")
            window.presentation.set_active(True)
            shoot("presentation-1920x1080.png")
            window.presentation.set_active(False)
        finally:
            window.close()
            window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
