"""Keeping the main window on its screen: a fresh window's size and place, a restored
geometry, a dock that asks for more height, and the frame the window manager adds.

A fresh window is DEFAULT_SIZE, or the screen's available area where that is smaller,
centred (it was 1400x860 on any screen: cut on a 1366x768 laptop). The frame's height is
guessed until the window manager has framed the window; once it is shown, the real frame
is fitted, and for a second after that (and after leaving full screen) any move or resize
is brought back inside: platforms settle a geometry in steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize, QTimer, Slot
from PySide6.QtGui import QAction, QGuiApplication, QScreen
from PySide6.QtWidgets import QDockWidget, QWidget

#: A fresh window's size where the screen has room for it (else the screen's available area).
DEFAULT_SIZE = (1400, 860)
#: The window frame's height (title bar) assumed until the window manager has framed it.
FRAME_GUESS_PX = 32
#: How long after a dock opens the window keeps checking that it fits its screen.
FIT_SCREEN_S = 1.0
#: How long after it is first shown, or leaves full screen, the window is kept on its screen.
KEEP_ON_SCREEN_S = 1.0
#: How long after showFullScreen the window is checked to fill its screen.
COVER_CHECK_MS = 300


def _never() -> bool:
    return False


def _silent(text: str, ms: int) -> None:
    pass


class ScreenFit(QObject):
    """A top-level window's size and place on its screen (an event filter on the window).

    It handles the window through the Qt main window's own API; what else it needs (the
    training panel's show / hide action, whether presentation mode is on, a status-bar
    message, whether the window is closing) comes through ``attach``.
    """

    def __init__(self, window: QWidget, *, enabled: bool = True) -> None:
        """``enabled=False``: only DEFAULT_SIZE, wherever the screen is (``--screenshot``)."""
        super().__init__(window)
        self.window = window
        self.enabled = enabled
        self.bottom_action: QAction | None = None
        self.is_presenting: Callable[[], bool] = _never
        self.say: Callable[[str, int], None] = _silent
        self.closing: Callable[[], bool] = _never
        self._placed = False  # the window manager has framed the window (first show)
        self._keep_until = 0.0  # keep_on_screen: until then, moves and resizes are fitted to the screen
        self._fit_until = 0.0  # dock_shown: until then, a window taller than its screen drops the panel
        self._frame_seen = QSize(0, 0)  # the frame's extra size, the largest seen (frame_extra)
        window.installEventFilter(self)

    def attach(self, bottom_action: QAction, *, is_presenting: Callable[[], bool],
               say: Callable[[str, int], None], closing: Callable[[], bool]) -> None:
        """The training panel's toggle (hidden when the window cannot fit its screen with
        it), presentation mode's state, the status bar, the window's closing."""
        self.bottom_action = bottom_action
        self.is_presenting = is_presenting
        self.say = say
        self.closing = closing

    # ------------------------------------------------------------ fitting
    def fit(self, screen: QScreen | None = None, *, fresh: bool = False) -> None:
        """Keep the window (frame included) inside the available area of ``screen`` (default:
        the one under its middle). ``fresh``: DEFAULT_SIZE or less, centred: a new window.
        Otherwise only what does not fit changes (a restored geometry saved on a larger
        screen, a frame taller than guessed): the size shrinks to the area, then the window
        moves inside it. Full screen and maximized windows are left alone."""
        window = self.window
        if not self.enabled:
            if fresh:
                window.resize(*DEFAULT_SIZE)
            return
        # The screen under the window's middle: screen() may still name the one it was on.
        screen = screen or QGuiApplication.screenAt(window.frameGeometry().center()) or window.screen() \
            or QGuiApplication.primaryScreen()
        if screen is None or window.isFullScreen() or window.isMaximized():
            return
        area = screen.availableGeometry()
        frame = self.frame_extra()
        room = QSize(area.width() - frame.width(), area.height() - frame.height())
        size = (QSize(*DEFAULT_SIZE) if fresh else window.size()).boundedTo(room).expandedTo(window.minimumSize())
        if size != window.size():
            window.resize(size)
        outer = QRect(QPoint(0, 0), size + frame)
        if fresh:
            outer.moveCenter(area.center())
        else:
            outer.moveTopLeft(window.pos())
        x = max(min(outer.x(), area.x() + area.width() - outer.width()), area.x())
        y = max(min(outer.y(), area.y() + area.height() - outer.height()), area.y())
        if fresh or QPoint(x, y) != window.pos():
            window.move(x, y)

    def frame_extra(self) -> QSize:
        """How much larger the window's frame is than its contents: the largest seen (a frame
        is briefly missing after full screen), at least a guess until the window is framed."""
        window = self.window
        if window.isVisible() and not window.isFullScreen():
            frame, inner = window.frameGeometry(), window.geometry()
            self._frame_seen = self._frame_seen.expandedTo(
                QSize(frame.width() - inner.width(), frame.height() - inner.height()))
        return self._frame_seen if self._placed else self._frame_seen.expandedTo(QSize(0, FRAME_GUESS_PX))

    def keep_on_screen(self, seconds: float = KEEP_ON_SCREEN_S) -> None:
        """For the next ``seconds``, bring the window back inside its screen whenever it moves
        or changes size (leaving full screen, Qt placed the frame a title bar lower)."""
        self._keep_until = time.monotonic() + seconds
        self._refit()

    @Slot()
    def _refit(self) -> None:
        if not self.closing():
            self.fit()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        kind = event.type()
        if obj is self.window and kind in (QEvent.Type.Show, QEvent.Type.Move, QEvent.Type.Resize):
            now = time.monotonic()
            if kind == QEvent.Type.Show and not self._placed:
                QTimer.singleShot(0, self, self._on_first_shown)
            if kind == QEvent.Type.Resize and now < self._fit_until:
                self._check_fit()
            if kind != QEvent.Type.Show and now < self._keep_until:
                QTimer.singleShot(0, self, self._refit)
        return False

    @Slot()
    def _on_first_shown(self) -> None:
        """The window manager has framed the window: fit the real frame into the screen."""
        self._placed = True
        self.keep_on_screen()

    def cover_screen(self) -> None:
        """After showFullScreen: where nothing made the window fill its screen (X11 without a
        window manager, as under Xvfb: a 1400x860 window kept its size in the projector look),
        give it the screen's geometry."""
        QTimer.singleShot(COVER_CHECK_MS, self, self._cover)

    @Slot()
    def _cover(self) -> None:
        window = self.window
        screen = window.screen()
        if screen is not None and window.isFullScreen() and window.frameGeometry() != screen.geometry():
            window.setGeometry(screen.geometry())

    # ------------------------------------------------------------- docks
    def dock_shown(self, shown: bool, dock: QDockWidget | None = None) -> None:
        """A dock was shown: in presentation mode it takes the training panel's place (at
        1080p the panel, the dock and the map left the decoded digit 80 pixels). Otherwise
        the window first grows by the dock's height where the screen has room (at 1080p
        the digit had 140 pixels instead of 230), then, for the next second (while the
        dock's layout settles: a strip of frames takes its height from its width), the
        training panel is hidden if the window cannot fit its screen with it (the dock
        asked for 886 pixels on a 768-line laptop). T shows the panel again; that is not
        undone."""
        bottom = self.bottom_action
        if not shown or bottom is None:
            return
        if self.is_presenting():
            if bottom.isChecked():
                bottom.setChecked(False)  # the room's view: the map, the digit, the strip
                self.say("The training panel makes room for the dock: T shows it", 8000)
            return
        if dock is not None:
            self._grow_for(dock)
        self._fit_until = time.monotonic() + FIT_SCREEN_S
        self._check_fit()

    def _grow_for(self, dock: QDockWidget) -> None:
        """Make the window taller by ``dock``'s height, as far as its screen has room."""
        window = self.window
        screen = window.screen()
        if screen is None or window.isMaximized() or window.isFullScreen() or not self.enabled:
            return
        room = screen.availableGeometry().height() - self.frame_extra().height()
        height = min(window.height() + dock.sizeHint().height(), room)
        if height > window.height():
            window.resize(window.width(), height)
            self.fit()  # and move it up if it now reaches past the screen's bottom

    def _check_fit(self) -> None:
        window, bottom = self.window, self.bottom_action
        screen = window.screen()
        if screen is None or bottom is None or not bottom.isChecked():
            return
        available = screen.availableGeometry().height()
        if max(window.minimumSizeHint().height(), window.height()) > available:
            self._fit_until = 0.0
            bottom.setChecked(False)
            self.say("The training panel is hidden to fit the screen: T shows it", 8000)
            QTimer.singleShot(0, self, self._shrink_to_screen)  # once the layout has let go of the panel

    @Slot()
    def _shrink_to_screen(self) -> None:
        window = self.window
        screen = window.screen()
        if screen is None or window.isMaximized() or window.isFullScreen():
            return
        frame = window.frameGeometry().height() - window.height()
        available = screen.availableGeometry().height() - frame
        if window.height() > available:
            window.layout().activate()  # the window's minimum height, without the hidden panel
            window.resize(window.width(), max(window.minimumSizeHint().height(), available))
