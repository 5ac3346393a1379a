"""Screenshots of the analysis views for the docs, rendered offscreen.

    python scripts/analysis_screenshots.py interpolation CKPT OUT.png
    python scripts/analysis_screenshots.py compare OUT.png CKPT CKPT [CKPT ...]

``interpolation``: the main window on CKPT with the path from the centroid of 3 to that of
8 drawn on the map and its strip in the dock below, the middle frame highlighted.
``compare``: the comparison window on the given checkpoints (two to six), class 3 → 8.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SIZE = (1400, 1000)
TIMEOUT_S = 300


def wait_for(app, condition, timeout_s: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        app.processEvents()
        time.sleep(0.01)


def frame_path(window, margin: float = 1.2) -> None:
    """Zoom the map onto the path with ``margin`` plane units around it (the neighbourhood)."""
    xy = window.explorer.projection.to_plane(window.analysis.path.latents)
    lo, hi = xy.min(0) - margin, xy.max(0) + margin
    window.latent_map.set_region((float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1])))


def interpolation(checkpoint: str, out: str) -> None:
    from PySide6.QtCore import QSettings

    from latentlab.ui.main.app import ensure_application
    from latentlab.ui.map.explorer import ExplorerOptions
    from latentlab.ui.main.main_window import MainWindow, WindowOptions

    app = ensure_application()
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, options=WindowOptions(
            headless=True, warm_up=False, explorer=ExplorerOptions(territory_stages=(64,))))
        window.resize(*SIZE)
        window.show()
        if not window.open_checkpoint(checkpoint):
            raise SystemExit(f"could not open {checkpoint}")
        analysis = window.analysis
        analysis.panel.set_source("centroids")
        analysis.panel.set_class_pair(3, 8)
        analysis.panel.steps.setValue(12)
        analysis.show_interpolation()
        wait_for(app, lambda: analysis.path is not None)
        frame_path(window)
        analysis.strip_view.set_current(5)
        window.wait_until_idle(TIMEOUT_S)
        app.processEvents()
        window.grab().save(out, "PNG")
        window.close()
        window.shutdown()
    print(f"saved {out}")


def compare(out: str, checkpoints: list[str]) -> None:
    from latentlab.ui.main.app import ensure_application
    from latentlab.ui.analysis.compare_window import CompareWindow

    app = ensure_application()
    window = CompareWindow(headless=True)
    window.resize(1400, 900)
    window.show()
    if window.add_paths(checkpoints) != len(checkpoints):
        raise SystemExit("some checkpoints were not added")
    window.class_a.setCurrentIndex(3)
    window.class_b.setCurrentIndex(8)
    window.steps.setValue(12)
    window.compare()
    wait_for(app, lambda: window.result is not None and not window.busy)
    app.processEvents()
    window.grab().save(out, "PNG")
    window.close()
    print(f"saved {out}")


if __name__ == "__main__":
    what, *args = sys.argv[1:]
    if what == "interpolation":
        interpolation(*args)
    elif what == "compare":
        compare(args[0], args[1:])
    else:
        raise SystemExit(__doc__)
