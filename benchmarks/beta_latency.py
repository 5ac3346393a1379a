"""How quickly the β slider shows its effect: prints figures, asserts nothing.

    QT_QPA_PLATFORM=offscreen python benchmarks/beta_latency.py [--repeats 5]

On the shipped VAE (β = 1), one arrow-key press on the focused β slider (β -> 1.19), then
the time until (a) the decoded digit's pixels change and (b) the map's points move; the
fine-tune is then stopped and the shipped model reopened for the next repeat. Also one
step onto a ladder rung (β 1 -> 2 by four presses): time until the β = 2 model is open.
Wall-clock times: on a busy machine they include waiting for a core; the training
thread runs at a lower priority than the GUI on purpose. Target: under 1 s.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from PySide6.QtCore import QCoreApplication, QEvent, Qt  # noqa: E402
from PySide6.QtGui import QKeyEvent  # noqa: E402

from latentlab.pretrained import find  # noqa: E402
from latentlab.ui.main.app import ensure_application  # noqa: E402
from latentlab.ui.main.main_window import MainWindow, WindowOptions  # noqa: E402


def key(widget, code) -> None:
    for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
        QCoreApplication.sendEvent(widget, QKeyEvent(kind, code, Qt.KeyboardModifier.NoModifier))


def wait_for(app, condition, timeout_s: float = 30.0) -> float | None:
    """Seconds until ``condition()`` holds (events processed meanwhile), None on timeout."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        app.processEvents()
        if condition():
            return time.perf_counter() - start
        time.sleep(0.001)
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    app = ensure_application()
    window = MainWindow(options=WindowOptions())
    window.resize(1400, 860)
    window.show()
    vae = find("vae").path
    digit_s, map_s, rung_s = [], [], []
    for _ in range(args.repeats):
        window.open_checkpoint(vae, discard=True)
        window.wait_until_idle(60)
        slider = window.beta_panel.slider
        slider.setFocus()
        image, points = window.decoded_view.image().copy(), window.latent_map.positions()
        key(slider, Qt.Key.Key_Right)
        t0 = time.perf_counter()
        wait_for(app, lambda: not np.array_equal(window.decoded_view.image(), image))
        digit_s.append(time.perf_counter() - t0)
        wait_for(app, lambda: not np.allclose(window.latent_map.positions(), points))
        map_s.append(time.perf_counter() - t0)
        window.training.stop_and_wait()
    for _ in range(args.repeats):
        window.open_checkpoint(vae, discard=True)
        window.wait_until_idle(60)
        slider = window.beta_panel.slider
        slider.setFocus()
        t0 = time.perf_counter()
        for _ in range(4):
            key(slider, Qt.Key.Key_Right)
        wait_for(app, lambda: window.session.path == find("vae-beta2").path)
        rung_s.append(time.perf_counter() - t0)
    window.shutdown()
    for name, values in (("digit changes", digit_s), ("map moves", map_s), ("β = 2 rung open", rung_s)):
        v = np.asarray(values) * 1000
        print(f"{name:>16}: median {np.median(v):6.0f} ms, max {v.max():6.0f} ms  ({len(v)} repeats)")
    print(f"(cpu count {os.cpu_count()}, load average {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
