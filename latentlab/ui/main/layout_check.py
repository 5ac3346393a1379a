"""What a person would see wrong in a laid-out window, as numbers a test can assert on and
``scripts/screenshots.py`` prints: text cut by a widget too narrow for it, widgets hanging
outside the window, a window larger than its screen, and how tall the decoded digit is.

A widget's text is cut when the room its style gives the text (the contents rectangle of
a push button or check box, the edit field of a combo or spin box, a label's contents) is
narrower than the text, or, for a word-wrapped label, when the label is lower than its
wrapped lines; a pyqtgraph title or note, when it reaches past its view's sides; the
status bar's message, when its permanent labels leave it too little room. Only shown
widgets count.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QRect
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QStyle,
    QStyleOptionButton,
    QStyleOptionComboBox,
    QStyleOptionSpinBox,
    QToolButton,
    QWidget,
)

#: The screens a window must work on: a 1080p projector, a 1366x768 laptop, a 1024x768 projector.
SCREEN_SIZES = ((1920, 1080), (1366, 768), (1024, 768))
#: Rounding of fractional font metrics: a pixel is not a cut.
SLACK_PX = 1
#: The status bar's message starts this far from its left edge (and needs as much at its end).
MESSAGE_MARGIN_PX = 4


@dataclass(frozen=True)
class Cut:
    """A widget whose text does not fit: ``need`` pixels asked for, ``have`` given."""

    widget: QWidget
    text: str
    need: int
    have: int
    axis: str = "width"

    def __str__(self) -> str:
        name = self.widget.objectName() or type(self.widget).__name__
        return f"{name} {self.text!r}: {self.axis} {self.have} px of {self.need}"


def _shown(widget: QWidget) -> bool:
    return widget.isVisible() and widget.width() > 0 and widget.height() > 0


def _plain(text: str) -> str:
    document = QTextDocument()
    document.setHtml(text)
    return document.toPlainText()


def _label_cut(label: QLabel) -> Cut | None:
    text = label.text()
    if not text or label.pixmap() is not None and not label.pixmap().isNull():
        return None
    rect = label.contentsRect()
    room = rect.width() - 2 * max(label.indent(), 0) - 2 * label.margin()
    if label.wordWrap():
        need = label.heightForWidth(label.width())
        return Cut(label, _plain(text), need, label.height(), "height") if need > label.height() + SLACK_PX else None
    plain = _plain(text) if label.textFormat() != label.textFormat().PlainText and "<" in text else text
    lines = plain.splitlines() or [plain]
    metrics = label.fontMetrics()
    need = max(metrics.horizontalAdvance(line) for line in lines)
    if "<" in text:  # rich text: the document's own width (bold, small, spans)
        document = QTextDocument()
        document.setDefaultFont(label.font())
        document.setDocumentMargin(0)
        document.setHtml(text)
        need = int(document.idealWidth())
    return Cut(label, plain, need, room) if need > room + SLACK_PX else None


def _button_cut(button) -> Cut | None:
    text = button.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
    if not text:
        return None
    option = QStyleOptionButton()
    button.initStyleOption(option)
    style = button.style()
    element = (QStyle.SubElement.SE_CheckBoxContents if isinstance(button, QCheckBox)
               else QStyle.SubElement.SE_RadioButtonContents if isinstance(button, QRadioButton)
               else QStyle.SubElement.SE_PushButtonContents)
    room = style.subElementRect(element, option, button).width()
    need = button.fontMetrics().horizontalAdvance(text)
    if not button.icon().isNull():
        need += button.iconSize().width() + 4
    return Cut(button, text, need, room) if need > room + SLACK_PX else None


def _tool_button_cut(button: QToolButton) -> Cut | None:
    text = button.text().replace("&", "")
    if not text or button.toolButtonStyle() == button.toolButtonStyle().ToolButtonIconOnly:
        return None
    need = button.fontMetrics().horizontalAdvance(text)
    room = button.contentsRect().width() - 4
    return Cut(button, text, need, room) if need > room + SLACK_PX else None


def _combo_cut(combo: QComboBox) -> Cut | None:
    text = combo.currentText()
    if not text:
        return None
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    room = combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                         QStyle.SubControl.SC_ComboBoxEditField, combo).width()
    need = combo.fontMetrics().horizontalAdvance(text)
    return Cut(combo, text, need, room) if need > room + SLACK_PX else None


def _spin_cut(spin: QAbstractSpinBox) -> Cut | None:
    text = spin.text()
    if not text:
        return None
    option = QStyleOptionSpinBox()
    spin.initStyleOption(option)
    room = spin.style().subControlRect(QStyle.ComplexControl.CC_SpinBox, option,
                                        QStyle.SubControl.SC_SpinBoxEditField, spin).width() - 4
    need = spin.fontMetrics().horizontalAdvance(text)
    return Cut(spin, text, need, room) if need > room + SLACK_PX else None


def _progress_cut(bar: QProgressBar) -> Cut | None:
    if not bar.isTextVisible() or not bar.text():
        return None
    need = bar.fontMetrics().horizontalAdvance(bar.text())
    room = bar.contentsRect().width() - 8
    return Cut(bar, bar.text(), need, room) if need > room + SLACK_PX else None


def _plot_label_cuts(view) -> list[Cut]:
    """pyqtgraph labels (plot titles, notes) that reach past the left or right of their
    view's visible area. (Not the top and bottom: a label's rich-text line boxes are taller
    than its letters, and overlap a title row's edges with nothing cut.)"""
    import pyqtgraph as pg

    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    cuts = []
    for item in view.scene().items():
        if isinstance(item, pg.LabelItem) and item.isVisible() and item.text:
            margin = item.item.document().documentMargin()
            text = item.item.sceneBoundingRect().adjusted(margin, 0, -margin, 0)
            if text.width() > 0 and (text.left() < visible.left() - SLACK_PX
                                     or text.right() > visible.right() + SLACK_PX):
                cuts.append(Cut(view, _plain(item.text), int(text.width()), int(visible.width())))
    return cuts


def _status_message_cut(window: QWidget) -> Cut | None:
    """The status bar's message (of a top-level window that has one), when its permanent
    labels leave it too little room."""
    status_bar = getattr(window, "statusBar", None)
    bar = status_bar() if callable(status_bar) else None
    if bar is None or not _shown(bar) or not bar.currentMessage():
        return None
    lefts = [w.x() for w in bar.findChildren(QWidget) if _shown(w) and w.parentWidget() is bar and w.x() > 0]
    room = (min(lefts) if lefts else bar.width()) - 2 * MESSAGE_MARGIN_PX
    need = bar.fontMetrics().horizontalAdvance(bar.currentMessage())
    return Cut(bar, bar.currentMessage(), need, room) if need > room + SLACK_PX else None


def cut_texts(root: QWidget) -> list[Cut]:
    """Every shown widget under ``root`` (and ``root``) whose text does not fit it, and
    every pyqtgraph label that reaches past its view."""
    import pyqtgraph as pg

    cuts = [cut for view in root.findChildren(pg.GraphicsView) if _shown(view) for cut in _plot_label_cuts(view)]
    message = _status_message_cut(root)
    if message is not None:
        cuts.append(message)
    for widget in [root, *root.findChildren(QWidget)]:
        if not _shown(widget):
            continue
        if isinstance(widget, QLabel):
            cut = _label_cut(widget)
        elif isinstance(widget, (QPushButton, QCheckBox, QRadioButton)):
            cut = _button_cut(widget)
        elif isinstance(widget, QToolButton):
            cut = _tool_button_cut(widget)
        elif isinstance(widget, QComboBox):
            cut = _combo_cut(widget)
        elif isinstance(widget, QAbstractSpinBox):
            cut = _spin_cut(widget)
        elif isinstance(widget, QProgressBar):
            cut = _progress_cut(widget)
        else:
            cut = None
        if cut is not None:
            cuts.append(cut)
    return cuts


def outside_window(window: QWidget) -> list[QWidget]:
    """Shown widgets that reach past the window's edges (a window below its minimum size)."""
    bounds = window.rect()
    return [w for w in window.findChildren(QWidget)
            if _shown(w) and w.isWindow() is False and w.window() is window
            and not bounds.contains(QRect(w.mapTo(window, w.rect().topLeft()), w.size()))]


def outside_screen(window: QWidget) -> QRect | None:
    """The part of the window's frame not on its screen's available area, or None when it fits."""
    screen = window.screen()
    if screen is None:
        return None
    available = screen.availableGeometry() if not window.isFullScreen() else screen.geometry()
    frame = window.frameGeometry()
    return None if available.contains(frame) else frame


def decoded_digit_px(window: QWidget) -> int:
    """Height on screen of the decoded image (the digit), in device-independent pixels."""
    view = window.decoded_view
    item = view.image_item if not view.grid_mode else view.grid_item
    if not _shown(view.view) or item.image is None:
        return 0
    rect = item.mapRectToScene(item.boundingRect())
    shown = view.view.mapFromScene(rect).boundingRect().intersected(view.view.viewport().rect())
    return shown.height()


# ------------------------------------------------------- virtual screens
def screen_name(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


def offscreen_platform(sizes: tuple[tuple[int, int], ...], tag: str = "screens") -> str:
    """A QT_QPA_PLATFORM value (set it before Qt starts): the offscreen platform with one
    virtual screen per size, side by side from the left (the first is the primary), so a
    window's position says which screen it is on. The configuration is a file in the
    temporary folder."""
    screens, x = [], 0
    for width, height in sizes:
        screens.append({"name": screen_name((width, height)), "x": x, "y": 0, "width": width,
                        "height": height, "logicalDpiX": 96, "logicalDpiY": 96})
        x += width
    text = json.dumps({"screens": screens})
    path = Path(tempfile.gettempdir()) / f"latentlab-{tag}-{hashlib.sha1(text.encode()).hexdigest()[:10]}.json"
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
    return f"offscreen:configfile={path}"


def screen_of(size: tuple[int, int]):
    """The QScreen of that size (from ``offscreen_platform``), or None."""
    from PySide6.QtGui import QGuiApplication

    name = screen_name(size)
    return next((s for s in QGuiApplication.screens() if s.name() == name), None)
