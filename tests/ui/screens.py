"""The virtual screens of the window tests (latentlab.ui.main.layout_check.offscreen_platform):
first the offscreen default, 800 x 800, the primary screen every window opens on; then the
screens the layout tests put windows on (a 1080p projector, a 1366 x 768 laptop, a
1024 x 768 projector)."""

from __future__ import annotations

from latentlab.ui.main.layout_check import SCREEN_SIZES, offscreen_platform as _platform
from latentlab.ui.main.layout_check import screen_of as _screen_of

PRIMARY = (800, 800)


def offscreen_platform() -> str:
    return _platform((PRIMARY, *SCREEN_SIZES), tag="test-screens")


def screen_of(size: tuple[int, int]):
    screen = _screen_of(size)
    if screen is None:
        raise LookupError(f"no virtual screen {size[0]}x{size[1]}: tests/ui/conftest.py sets them up")
    return screen
