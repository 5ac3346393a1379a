"""Presentation mode (F11): full screen in the projector look (theme.PROJECTOR: black
background, bright class colours, large fonts, markers and lines), and back. Outside it
the window follows the system's light or dark scheme, also when that changes while it
runs.

The demo keys live on the window: Page Down / Page Up (next / previous model, the keys a
presentation clicker sends), P (play interpolation), G (manifold grid), R (reset view),
F1 (the list of keyboard shortcuts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QMetaMethod, QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QFont, QKeySequence
from PySide6.QtWidgets import QApplication, QDockWidget, QMenu, QSplitter, QWidget

from latentlab.ui.base.theme import PROJECTOR, Look, apply_look, current, projector_look, restyle_plots, system_look
from latentlab.ui.main.shortcuts_help import show_shortcuts

if TYPE_CHECKING:
    from latentlab.ui.main.screen_fit import ScreenFit

TOGGLE_KEY = "F11"
#: On a screen with fewer lines than this, presentation mode hides the training panel and
#: the loss curves (T shows them): the map and the decoded view need the room.
COMPACT_BELOW_HEIGHT = 900
#: The decoded view's share of the width in presentation mode (the digit is what the room
#: looks at; ~28% otherwise).
DECODED_SHARE = 0.34
PLAY_KEY = "P"
HELP_KEYS = ("F1", "Ctrl+/")


def restyle_fonts(root: QWidget, look: Look) -> None:
    """Widgets with a font of their own (a bold readout, say) at ``look``'s scale of it."""
    for widget in [root, *root.findChildren(QWidget)]:
        if isinstance(widget, QDockWidget):
            _dock_title_font(widget)
            continue
        if not widget.testAttribute(Qt.WidgetAttribute.WA_SetFont):
            continue
        base = widget.property("latentlab_base_pt")
        if base is None:
            base = widget.font().pointSizeF()
            if base <= 0:
                continue
            widget.setProperty("latentlab_base_pt", base)
        font = QFont(widget.font())
        font.setPointSizeF(float(base) * look.font_scale)
        widget.setFont(font)


def _dock_title_font(dock: QDockWidget) -> None:
    """The application's font for a dock's title. A dock whose font is the application's
    draws its title in the platform's small title-bar font, which no look scales (9 pt in
    presentation mode); a font that differs only in its style strategy is drawn as set."""
    font = QFont(QApplication.font())
    font.setStyleStrategy(QFont.StyleStrategy.PreferAntialias)
    dock.setFont(font)


@dataclass
class PresentationParts:
    """What presentation mode rearranges besides the top-level window itself."""

    bottom_action: QAction  # shows / hides the training panel (T)
    top_splitter: QSplitter  # the map | decoded view splitter
    screen_fit: ScreenFit
    quiet_labels: tuple[QWidget, ...]  # status-bar labels hidden in the room
    docks_shown: Callable[[], bool]  # a dock (the interpolation strip) is open
    dock_shown: Callable[[bool], None]  # the window fits a shown dock into its screen
    restyle: Callable[[], None]  # the map's colours follow the look
    say: Callable[[str, int], None]  # a status-bar message


class PresentationMode(QObject):
    toggled = Signal(bool)  # presentation mode on / off
    #: "Play interpolation" was asked for (P): the interpolation strip plays its path.
    playRequested = Signal()

    def __init__(self, window: QWidget, parts: PresentationParts, view_menu: QMenu, help_menu: QMenu) -> None:
        """``window``: the top-level window that goes full screen (through the Qt main window's
        own API only); ``parts``: what else the mode rearranges. The actions are the window's
        to add (``actions()``), so F11, P and F1 work wherever the focus is."""
        super().__init__(window)
        self.window = window
        self.parts = parts
        self._normal_geometry: QByteArray | None = None
        self._was_maximized = False
        self._bottom_was_shown = True
        self._top_sizes: list[int] | None = None
        self.toggle_action = self._action(
            "&Presentation mode", TOGGLE_KEY, self.set_active,
            "Full screen with large fonts and markers on a high-contrast black background, for a projector "
            "(F11 again to leave)", checkable=True)
        self.play_action = self._action("Play &interpolation", PLAY_KEY, self.play,
                                        "Play the interpolation strip's path through the latent space (P)")
        self.help_action = self._action("&Keyboard shortcuts", HELP_KEYS[0], self.show_help,
                                        "List every keyboard shortcut (F1 or Ctrl+/)")
        self.help_action.setShortcuts([QKeySequence(k) for k in HELP_KEYS])
        view_menu.addSeparator()
        view_menu.addAction(self.toggle_action)
        view_menu.addAction(self.play_action)
        help_menu.addAction(self.help_action)
        QApplication.styleHints().colorSchemeChanged.connect(self._on_color_scheme_changed)

    def _action(self, text: str, key: str, slot, tip: str, checkable: bool = False) -> QAction:
        action = QAction(text, self.window)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.setCheckable(checkable)
        (action.toggled if checkable else action.triggered).connect(slot)
        return action

    def actions(self) -> list[QAction]:
        return [self.toggle_action, self.play_action, self.help_action]

    # ------------------------------------------------------------ state
    @property
    def active(self) -> bool:
        return self.toggle_action.isChecked()

    def normal_geometry(self) -> QByteArray:
        """The window's geometry outside presentation mode (what session state saves)."""
        return self._normal_geometry if self._normal_geometry is not None else self.window.saveGeometry()

    @Slot(bool)
    def set_active(self, on: bool) -> None:
        if self.toggle_action.isChecked() != on:
            self.toggle_action.setChecked(on)  # comes back here through toggled
            return
        window, parts = self.window, self.parts
        if on == (current().name == PROJECTOR.name):
            return
        if on:
            self._normal_geometry = window.saveGeometry()
            self._was_maximized = window.isMaximized()
            height = self._screen_height()
            self._bottom_was_shown = parts.bottom_action.isChecked()
            if height < COMPACT_BELOW_HEIGHT or parts.docks_shown():
                parts.bottom_action.setChecked(False)  # the map, the digit (and the dock) get the room
            self.apply(projector_look(height))
            for label in parts.quiet_labels:  # the room reads the model and the hints; the data and
                label.hide()  # the device left the hints no room at 1024 pixels
            window.showFullScreen()
            parts.screen_fit.cover_screen()
            self._top_sizes = parts.top_splitter.sizes()
            width = window.screen().geometry().width() if window.screen() is not None else window.width()
            parts.top_splitter.setSizes([round(width * (1 - DECODED_SHARE)), round(width * DECODED_SHARE)])
            hint = ", T for the training panel" if not parts.bottom_action.isChecked() else ""
            parts.say(f"Presentation mode: F11 to leave, F1 for the keys{hint}", 6000)
        else:
            self.apply(system_look())
            for label in parts.quiet_labels:
                label.show()
            parts.bottom_action.setChecked(self._bottom_was_shown)
            window.showMaximized() if self._was_maximized else window.showNormal()
            if self._normal_geometry is not None:
                window.restoreGeometry(self._normal_geometry)
                parts.screen_fit.keep_on_screen()  # the platform may place the frame a title bar lower
            self._normal_geometry = None
            if self._top_sizes is not None:  # in the restored width
                parts.top_splitter.setSizes(self._top_sizes)
                self._top_sizes = None
            if parts.docks_shown():  # the panel is back: does the window still fit its screen?
                parts.dock_shown(True)
        self.toggled.emit(on)

    def _screen_height(self) -> int:
        """Lines of the screen the window is on (the one full screen will fill)."""
        screen = self.window.screen() or QApplication.primaryScreen()
        return screen.geometry().height() if screen is not None else 1080

    def apply(self, look: Look) -> None:
        """``look`` for the application and every part of the window."""
        apply_look(QApplication.instance(), look)
        window = self.window
        restyle_fonts(window, look)
        restyle_plots(window, look)
        self.parts.restyle()

    @Slot(object)
    def _on_color_scheme_changed(self, scheme) -> None:
        if not self.active:
            self.apply(system_look())

    # ------------------------------------------------------------ keys
    @Slot()
    def play(self) -> None:
        if self.isSignalConnected(QMetaMethod.fromSignal(self.playRequested)):
            self.playRequested.emit()
        else:
            self.parts.say("No interpolation strip to play in this window", 4000)

    @Slot()
    def show_help(self) -> None:
        show_shortcuts(self.window.actions(), parent=self.window)
