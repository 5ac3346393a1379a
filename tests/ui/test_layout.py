"""The window as a person sees it on the screens it must work on (a 1080p projector, a
1366x768 laptop, a 1024x768 projector; virtual screens from tests/ui/screens.py): it opens
inside the screen, fresh and restored; no text is cut, normal or in presentation mode,
with or without the interpolation dock; the decoded digit stays large. The pretrained
VAE is what the app opens, so it is what these tests open. scripts/screenshots.py makes
the same checks and the pictures of docs/screenshots."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QWidget

from latentlab.pretrained import default_checkpoint
from latentlab.ui.main import session_state
from latentlab.ui.main.layout_check import SCREEN_SIZES, cut_texts, decoded_digit_px, outside_screen, outside_window
from latentlab.ui.main.screen_fit import DEFAULT_SIZE
from screens import screen_of

#: The decoded digit's least height: the done-when of presentation mode at 1080p, and a
#: floor that every other screen and mode keeps.
DIGIT_PX_PRESENTING_1080P = 200
DIGIT_PX = 150


def ids(size) -> str:
    return f"{size[0]}x{size[1]}"


def fresh_on(qtbot, make_window, size):
    """A window that opens on the screen of ``size`` as a fresh start opens it."""
    window = make_window()
    screen = screen_of(size)
    window.fit_into_screen(screen, fresh=True)
    on_screen(qtbot, window, screen)
    return window, screen


def on_screen(qtbot, window, screen) -> None:
    """Until the window is on ``screen`` (the platform says so from the event loop)."""
    qtbot.waitUntil(lambda: window.screen().name() == screen.name(), timeout=5000)


def open_default(qtbot, window) -> None:
    assert window.open_checkpoint(str(default_checkpoint()))
    window.explorer.set_marker(0.9, 0.7)
    qtbot.waitUntil(lambda: window.decoded_view.image() is not None, timeout=10_000)


def open_dock(qtbot, window) -> None:
    analysis = window.analysis
    analysis.panel.set_source("centroids")
    analysis.panel.set_class_pair(3, 8)
    analysis.interpolate_action.trigger()
    qtbot.waitUntil(lambda: analysis.path is not None, timeout=20_000)


def settle(qtbot, window) -> None:
    """Let the images and the layout follow the last change (a strip's height follows its
    width). Not wait_until_idle: that also waits for the process's one-off warm-up."""
    qtbot.waitUntil(lambda: window.explorer.idle and window.analysis.idle, timeout=30_000)
    # Then until two looks 100 ms apart find every widget where it was: a loaded machine
    # may take more than one pass of the event loop to finish the layout.
    previous = None
    for _ in range(30):
        qtbot.wait(100)
        now = [(w.objectName(), w.geometry().getRect()) for w in window.findChildren(QWidget) if w.isVisible()]
        if now == previous:
            return
        previous = now


def assert_laid_out(window, digit_px: int, what: str) -> None:
    assert outside_screen(window) is None, (what, window.frameGeometry(), window.screen().availableGeometry())
    assert not outside_window(window), what
    assert not [str(cut) for cut in cut_texts(window)], what
    assert decoded_digit_px(window) >= digit_px, what


@pytest.mark.parametrize("size", SCREEN_SIZES, ids=ids)
def test_a_fresh_window_opens_inside_the_screen(qtbot, make_window, size):
    window, screen = fresh_on(qtbot, make_window, size)
    assert outside_screen(window) is None
    assert window.width() <= DEFAULT_SIZE[0] and window.height() <= DEFAULT_SIZE[1]
    if size[0] > DEFAULT_SIZE[0] + 100:  # room to spare: the default size, centred
        assert (window.width(), window.height()) == DEFAULT_SIZE
        assert abs(window.frameGeometry().center().x() - screen.availableGeometry().center().x()) <= 2


@pytest.mark.parametrize("size", [(1366, 768), (1024, 768)], ids=ids)
def test_a_geometry_saved_on_a_larger_screen_is_restored_inside_this_one(qtbot, tmp_path, size):
    from PySide6.QtCore import QSettings

    from latentlab.ui.main.main_window import MainWindow, WindowOptions

    def unshown_window() -> MainWindow:  # as the app restores it: before it is shown
        settings = QSettings(str(tmp_path / f"{len(windows)}.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, options=WindowOptions(warm_up=False))
        qtbot.addWidget(window)
        windows.append(window)
        return window

    windows: list[MainWindow] = []
    screen = screen_of(size)
    area = screen.availableGeometry()
    saved = unshown_window()
    saved.setGeometry(QRect(area.x() + 200, 150, 1800, 1000))  # larger than this screen, hanging off it
    state = session_state.SessionState(geometry=saved.saveGeometry())
    window = unshown_window()
    window.restore_layout(state)
    window.show()
    on_screen(qtbot, window, screen)
    try:  # (once shown, the window's real frame is fitted too)
        qtbot.waitUntil(lambda: outside_screen(window) is None, timeout=5000)
    finally:
        for w in windows:
            w.close()
            w.shutdown()


@pytest.mark.parametrize("size", SCREEN_SIZES, ids=ids)
def test_no_text_is_cut_and_the_digit_stays_large_in_every_mode(qtbot, make_window, size):
    """Normal, with the interpolation dock, then F11 with the dock open, then without it."""
    window, screen = fresh_on(qtbot, make_window, size)
    digit_presenting = DIGIT_PX_PRESENTING_1080P if size[1] >= 1080 else DIGIT_PX
    open_default(qtbot, window)
    settle(qtbot, window)
    assert_laid_out(window, DIGIT_PX, "normal")
    open_dock(qtbot, window)
    settle(qtbot, window)
    assert_laid_out(window, DIGIT_PX, "normal, dock")
    window.presentation.toggle_action.trigger()  # F11
    qtbot.waitUntil(window.isFullScreen, timeout=5000)
    settle(qtbot, window)
    assert window.geometry() == screen.geometry()
    assert not window.bottom.isVisible()  # the dock took the training panel's place
    assert_laid_out(window, digit_presenting, "presentation, dock")
    window.analysis.dock.close()
    settle(qtbot, window)
    assert_laid_out(window, digit_presenting, "presentation")
    window.presentation.toggle_action.trigger()  # and back
    qtbot.waitUntil(lambda: not window.isFullScreen(), timeout=5000)
    qtbot.waitUntil(lambda: outside_screen(window) is None, timeout=5000)


def test_the_dock_opened_in_presentation_mode_at_1080p_leaves_the_digit_large(qtbot, make_window):
    window, screen = fresh_on(qtbot, make_window, (1920, 1080))
    open_default(qtbot, window)
    window.presentation.toggle_action.trigger()
    qtbot.waitUntil(window.isFullScreen, timeout=5000)
    assert window.bottom.isVisible()  # 1080 lines: room for the training panel
    open_dock(qtbot, window)
    settle(qtbot, window)
    assert not window.bottom.isVisible()  # the dock took the training panel's place
    assert_laid_out(window, DIGIT_PX_PRESENTING_1080P, "presentation, then the dock")
    window.bottom_action.trigger()  # T: the lecturer may want the panel back; still nothing is cut
    settle(qtbot, window)
    assert window.bottom.isVisible() and not [str(cut) for cut in cut_texts(window)]
    window.presentation.set_active(False)


def test_the_16d_vae_in_pca_cuts_no_text_on_a_1024_screen(qtbot, make_window, tmp_path, monkeypatch):
    """Its sixteen coordinates and PCA's note are the longest texts around the map."""
    from latentlab.pretrained import find

    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))
    window, _ = fresh_on(qtbot, make_window, (1024, 768))
    assert window.open_checkpoint(str(find("vae-16d").path))  # in UMAP: its layout is shipped
    picker = window.projection_picker
    picker.combo.setCurrentIndex(picker.combo.findData("pca"))  # the user picks PCA
    window.explorer.set_marker(0.5, 0.5)
    assert window.projection_picker.kind() == "pca" and window.projection_picker.status.text()
    for presenting in (False, True):
        window.presentation.set_active(presenting)
        settle(qtbot, window)
        assert_laid_out(window, DIGIT_PX, f"16-D, PCA, presentation {presenting}")
    window.presentation.set_active(False)
