"""First paint measured from outside the process, as a person sees it: a real X server
(Xvfb), screen grabs every 50 ms, and the moment the screen first holds a painted map.

A painted map has many colours (the class-coloured dots over the territory's blended
background); the window's chrome and an empty plot have a few hundred. The screen counts as
painted when a 4x-reduced grab has at least ``COLOURS_PAINTED`` distinct colours, the test
that ``../shared/tools/first_paint.py`` makes. Used by ``benchmarks/startup.py --outside``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from contextlib import contextmanager

COLOURS_PAINTED = 1200
GRAB_EVERY_S = 0.05


def available() -> str | None:
    """None when this machine can measure from outside, else the reason it cannot."""
    if shutil.which("Xvfb") is None:
        return "Xvfb is not installed (apt-get install xvfb)"
    try:
        from PIL import ImageGrab  # noqa: F401
    except ImportError:
        return "Pillow is not installed"
    return None


@contextmanager
def x_display(size: str = "1366x768"):
    """A private Xvfb display, e.g. ':317'; stopped on exit."""
    for number in range(317, 400):
        if not os.path.exists(f"/tmp/.X11-unix/X{number}") and not os.path.exists(f"/tmp/.X{number}-lock"):
            break
    display = f":{number}"
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{size}x24"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(f"/tmp/.X11-unix/X{number}"):
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"Xvfb did not start on {display}")
            time.sleep(0.05)
        yield display
    finally:
        server.terminate()
        server.wait(timeout=10)


def painted_colours(display: str) -> int:
    from PIL import ImageGrab

    image = ImageGrab.grab(xdisplay=display)
    small = image.resize((image.width // 4, image.height // 4))
    return len(small.getcolors(maxcolors=1 << 20) or [])


def seconds_to_paint(process: subprocess.Popen, display: str, start: float, timeout_s: float) -> float | None:
    """Seconds from ``start`` (time.time()) until the screen shows a painted map, or None."""
    while time.time() - start < timeout_s and process.poll() is None:
        try:
            if painted_colours(display) >= COLOURS_PAINTED:
                return time.time() - start
        except OSError:  # the server is busy: grab again
            pass
        time.sleep(GRAB_EVERY_S)
    return None
