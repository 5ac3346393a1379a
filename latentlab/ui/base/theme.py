"""Look and feel: light and dark looks that follow the system, and the projector look of
presentation mode (black background, white text, bright class colours, large fonts).

``apply_look`` sets the application's palette, font and style sheet; ``restyle_plots``
brings the pyqtgraph views of a window (backgrounds, axes, titles, legends, line
widths) in line, remembering each item's normal size so a look can be undone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QIcon, QIconEngine, QPainter, QPalette, QPixmap, QPolygonF
from PySide6.QtWidgets import QApplication, QWidget

from latentlab.ui.base import palette as class_palette

MIN_POINT_SIZE = 10.0


@dataclass(frozen=True)
class Look:
    name: str
    dark: bool
    window: str  # panels
    base: str  # inputs, lists
    text: str
    muted: str  # secondary text
    button: str
    highlight: str
    plot_background: str
    plot_foreground: str  # axes, tick labels
    font_scale: float = 1.0
    marker_scale: float = 1.0  # map dots, marker, hover ring
    line_scale: float = 1.0  # curves and the marker's outline
    bright_classes: bool = False  # class colours for dark backgrounds (palette.BRIGHT10)


LIGHT = Look("light", False, window="#efefef", base="#ffffff", text="#202020", muted="#444444", button="#e4e4e4",
             highlight="#1f77b4", plot_background="#ffffff", plot_foreground="#333333")
DARK = Look("dark", True, window="#2b2b2b", base="#1e1e1e", text="#ececec", muted="#c4c4c4", button="#3b3b3b",
            highlight="#4fa3ff", plot_background="#161616", plot_foreground="#d8d8d8", bright_classes=True)
#: Presentation mode: maximal contrast on a washed-out projector, readable from the back row.
PROJECTOR = Look("projector", True, window="#000000", base="#0b0b0b", text="#ffffff", muted="#f2f2f2",
                 button="#262626", highlight="#ffd400", plot_background="#000000", plot_foreground="#ffffff",
                 font_scale=1.6, marker_scale=1.8, line_scale=2.0, bright_classes=True)

#: The screen height PROJECTOR's scales were chosen for (a 1080p projector).
PROJECTOR_DESIGN_HEIGHT = 1080


def projector_look(screen_height: int) -> Look:
    """PROJECTOR fitted to a screen ``screen_height`` pixels high. A projector throws every
    resolution onto the same wall, so what reads from the back row is the letters' share
    of the picture's height: on a 768-line projector the scales shrink by 768/1080 (fonts
    1.6x -> 1.14x), keeping that share and leaving the window room to fit. Never below the
    normal size; a screen of 1080 lines or more gets PROJECTOR as it is."""
    fit = min(1.0, max(1, int(screen_height)) / PROJECTOR_DESIGN_HEIGHT)
    if fit >= 1.0:
        return PROJECTOR
    return replace(PROJECTOR, font_scale=max(1.0, PROJECTOR.font_scale * fit),
                   marker_scale=max(1.0, PROJECTOR.marker_scale * fit),
                   line_scale=max(1.0, PROJECTOR.line_scale * fit))


_current = [LIGHT]


def current() -> Look:
    return _current[0]


STYLE_SHEET = """
QLabel#panelTitle {{ font-weight: 600; color: {text}; padding: 2px 0px; }}
QLabel#welcomeTitle {{ font-size: {title}pt; font-weight: 600; color: {text}; }}
QLabel#welcomeText {{ font-size: {big}pt; color: {muted}; }}
QLabel#welcomeNotice {{ font-size: {big}pt; color: {warning}; padding: 6px; }}
QPushButton#bigButton {{ font-size: {button}pt; padding: 10px 22px; }}
QStatusBar QLabel {{ padding: 0px 8px; color: {muted}; }}
QLabel#summary {{ color: {muted}; padding: 2px 6px; }}
QLabel#coordinates {{ color: {muted}; font-family: monospace; }}
QProgressBar {{ min-height: 20px; }}
"""

#: Fusion draws check boxes in shades of the window colour: invisible on black.
DARK_EXTRA = """
QCheckBox::indicator {{ width: {box}px; height: {box}px; border: 2px solid {text}; border-radius: 3px;
                       background: {base}; }}
QCheckBox::indicator:checked {{ background: {highlight}; }}
QCheckBox::indicator:disabled {{ border-color: {muted}; }}
"""


def style_sheet(look: Look) -> str:
    s = look.font_scale
    sheet = STYLE_SHEET.format(text=look.text, muted=look.muted, warning="#ffb000" if look.dark else "#b00020",
                               title=round(20 * s), big=round(12 * s), button=round(13 * s))
    if look.dark:
        sheet += DARK_EXTRA.format(text=look.text, muted=look.muted, base=look.base, highlight=look.highlight,
                                   box=round(13 * s))
    return sheet


def qpalette(look: Look) -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: look.window, QPalette.ColorRole.WindowText: look.text,
        QPalette.ColorRole.Base: look.base, QPalette.ColorRole.AlternateBase: look.button,
        QPalette.ColorRole.Text: look.text, QPalette.ColorRole.Button: look.button,
        QPalette.ColorRole.ButtonText: look.text, QPalette.ColorRole.ToolTipBase: look.base,
        QPalette.ColorRole.ToolTipText: look.text, QPalette.ColorRole.Highlight: look.highlight,
        QPalette.ColorRole.HighlightedText: "#000000" if look.dark else "#ffffff",
        QPalette.ColorRole.PlaceholderText: look.muted, QPalette.ColorRole.BrightText: "#ff5555",
        QPalette.ColorRole.Link: look.highlight,
    }
    for role, color in roles.items():
        p.setColor(role, QColor(color))
    disabled = QColor(look.text)
    disabled.setAlpha(110)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def system_look(app: QApplication | None = None) -> Look:
    """DARK when the system asks for a dark scheme, else LIGHT (also when it does not say)."""
    app = app or QApplication.instance()
    scheme = app.styleHints().colorScheme() if app is not None else Qt.ColorScheme.Unknown
    return DARK if scheme == Qt.ColorScheme.Dark else LIGHT


def configure_pyqtgraph() -> None:
    """Row-major images (numpy order), the current look's plot colours, antialiased curves."""
    look = current()
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=True, background=look.plot_background,
                        foreground=look.plot_foreground)


def apply_look(app: QApplication, look: Look) -> None:
    """Palette, font size, style sheet and class colours of ``look`` for the whole application."""
    base_pt = app.property("latentlab_base_pt")
    if not base_pt:
        base_pt = max(app.font().pointSizeF(), MIN_POINT_SIZE)
        app.setProperty("latentlab_base_pt", base_pt)
    _current[0] = look
    class_palette.use_bright(look.bright_classes)
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    app.setPalette(qpalette(look))
    font = QFont(app.font())
    font.setPointSizeF(float(base_pt) * look.font_scale)
    app.setFont(font)
    app.setStyleSheet(style_sheet(look))
    configure_pyqtgraph()


def apply_theme(app: QApplication) -> None:
    """The system's light or dark look (called once per application)."""
    if app.property("latentlab_themed"):
        return
    apply_look(app, system_look(app))
    app.setProperty("latentlab_themed", True)


# ---------------------------------------------------------------- plots
def _scaled_font(owner, font: QFont | None, scale: float) -> QFont:
    """``font`` at ``scale`` times the size ``owner`` had when first restyled. An owner
    without a font of its own (``None``) has the normal look's application font: not the
    application's font of the moment, which a first restyle into presentation mode had
    already enlarged (the KL bars' ticks then stayed large after leaving it)."""
    base = getattr(owner, "_latentlab_base_pt", None)
    app = QApplication.instance()
    if base is None:
        if font is not None and font.pointSizeF() > 0:
            base = font.pointSizeF()
        else:
            base = float((app.property("latentlab_base_pt") if app is not None else None) or MIN_POINT_SIZE)
        owner._latentlab_base_pt = base
    font = QFont(font) if font is not None else QFont(QApplication.font())
    font.setPointSizeF(base * scale)
    return font


def _scaled_css_size(owner, attr: str, size: str | None, scale: float, default_pt: float) -> str:
    base = getattr(owner, attr, None)
    if base is None:
        try:
            base = float(str(size).removesuffix("pt")) if size else default_pt
        except ValueError:
            base = default_pt
        setattr(owner, attr, base)
    return f"{base * scale:.1f}pt"


def set_plot_title(plot: pg.PlotItem, text: str, base_pt: float = 10.0, look: Look | None = None) -> None:
    """``plot``'s title in ``look`` (default: the current one): ``base_pt`` scaled, the muted
    colour, and a title row tall enough for it (pyqtgraph fixes the row at 30 pixels, which
    cut a 1.6x title). Plots that set their titles through here keep the look when they
    change them later (a model switch in presentation mode)."""
    look = look or current()
    size = base_pt * look.font_scale
    plot.titleLabel._latentlab_title_pt = base_pt
    plot.titleLabel._latentlab_plot_title = True
    plot.setTitle(text, size=f"{size:.1f}pt", color=look.muted)
    font = QFont(QApplication.font())
    font.setPointSizeF(size)
    height = max(30, QFontMetrics(font).lineSpacing() + 10)
    plot.titleLabel.setMaximumHeight(height)
    plot.layout.setRowFixedHeight(0, height)


def restyle_plot_item(plot: pg.PlotItem, look: Look) -> None:
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        axis.setPen(look.plot_foreground)
        axis.setTextPen(look.plot_foreground)
        axis.setTickFont(_scaled_font(axis, axis.style.get("tickFont"), look.font_scale))
        if axis.labelText:
            style = dict(axis.labelStyle)
            style["color"] = look.text
            style["font-size"] = _scaled_css_size(axis, "_latentlab_label_pt", style.get("font-size"),
                                                  look.font_scale, 10.0)
            axis.setLabel(axis.labelText, axis.labelUnits, **style)
    title = plot.titleLabel
    if getattr(title, "_latentlab_plot_title", False):
        set_plot_title(plot, title.text, title._latentlab_title_pt, look)
    elif title.text:  # a title its plot lays out itself (the map's caption)
        size = _scaled_css_size(title, "_latentlab_title_pt", title.opts.get("size"), look.font_scale, 10.0)
        title.setText(title.text, size=size, color=look.muted)
    legend = plot.legend
    if legend is not None:
        size = _scaled_css_size(legend, "_latentlab_legend_pt", legend.opts.get("labelTextSize"),
                                look.font_scale, 9.0)
        legend.setLabelTextColor(look.text)
        legend.setLabelTextSize(size)
        for _sample, label in legend.items:  # the setters above only reach labels made later
            label.setText(label.text, color=look.text, size=size)
        background = QColor(look.plot_background)
        background.setAlpha(200)
        legend.setBrush(background)
    for item in plot.listDataItems():
        if isinstance(item, pg.PlotDataItem):
            pen = pg.mkPen(item.opts.get("pen"))
            base = getattr(item, "_latentlab_base_width", None)
            if base is None:
                base = item._latentlab_base_width = pen.widthF()
            pen.setWidthF(base * look.line_scale)
            item.setPen(pen)


def restyle_plots(root: QWidget, look: Look) -> None:
    """Every pyqtgraph view under ``root`` in ``look``'s colours and sizes."""
    for view in root.findChildren(pg.GraphicsView):
        # A bare GraphicsView (the decoded image) sits on the panel; plots have their own colour.
        view.setBackground(look.window if type(view) is pg.GraphicsView else look.plot_background)
        for item in view.scene().items():
            if isinstance(item, pg.PlotItem):
                restyle_plot_item(item, look)


# ---------------------------------------------------------------- icons
class _MediaIconEngine(QIconEngine):
    """A play triangle or pause bars drawn in the palette's button-text colour at paint time,
    so the icon follows the look (a font glyph such as "⏸" is missing from common fonts and
    showed as an empty box; the style's standard icons are dark on a dark button)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        group = QPalette.ColorGroup.Disabled if mode == QIcon.Mode.Disabled else QPalette.ColorGroup.Active
        color = QApplication.palette().color(group, QPalette.ColorRole.ButtonText)
        side = min(rect.width(), rect.height()) * 0.7
        box = QRectF(0, 0, side, side)
        box.moveCenter(QRectF(rect).center())
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        if self.kind == "pause":
            bar = side * 0.34
            painter.drawRect(QRectF(box.left(), box.top(), bar, side))
            painter.drawRect(QRectF(box.right() - bar, box.top(), bar, side))
        else:
            painter.drawPolygon(QPolygonF([box.topLeft(), QPointF(box.right(), box.center().y()), box.bottomLeft()]))
        painter.restore()

    def pixmap(self, size, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        self.paint(painter, QRect(0, 0, size.width(), size.height()), mode, state)
        painter.end()
        return pixmap

    def clone(self) -> _MediaIconEngine:
        return _MediaIconEngine(self.kind)


def media_icon(kind: str) -> QIcon:
    """A drawn "play" or "pause" icon in the current look's button-text colour."""
    if kind not in ("play", "pause"):
        raise ValueError(f"no media icon {kind!r}; choose play or pause")
    return QIcon(_MediaIconEngine(kind))
