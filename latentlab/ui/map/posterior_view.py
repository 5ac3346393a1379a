"""The VAE's posterior on the map: a test image encoded as a distribution, not a point.

With *Show posterior* (E) on, the test point under the cursor (or, when the action is
switched on, the one nearest the marker) is encoded into μ and σ
(``latentlab.latent.posterior``): the map draws its ellipse at 1 σ and 2 σ, a few draws
z = μ + σ·ε as small rings, and a panel over the map shows their decodes. *Sample from
the posterior* (S) draws new ε a few times a second, so the rings move inside the ellipse
and the decodes change with them. A model whose encoder gives one point (an autoencoder)
gets the point and, in the panel, the reason there is no ellipse.

What the model can do decides what is shown (``posterior_of`` raises for a model without
a posterior), not its family's name. Everything runs on the GUI thread from the session's
display copy: one encode and a handful of decodes, well under a frame for these models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QRect, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from latentlab.errors import LatentLabError

from latentlab.ui.base.pixmaps import frame_pixmap
from latentlab.ui.base.theme import current as current_look
from latentlab.ui.map.map_overlays import DecorationScatter

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMenu

    from latentlab.app.state import AppState
    from latentlab.ui.map.explorer import Explorer

#: Draws z = μ + σ·ε shown at once, and how often "Sample" draws new ones.
DRAWS = 5
SAMPLE_INTERVAL_MS = 300
DECODE_SCALE = 2
#: The panel's text wraps at about this width (pixels at the normal font size).
PANEL_TEXT_WIDTH = 330
ELLIPSE_COLOR = "#e6550d"
#: The actions' tooltips: rows of the shortcut list too, which must fit a small projector's screen.
POSTERIOR_TIP = "A VAE's posterior of the hovered point"
SAMPLE_TIP = "New draws z = μ + σ·ε, 3 a second"
NO_POSTERIOR = ("This model encodes an image as one point, not a distribution: no ellipse to draw. "
                "A VAE's encoder gives μ and σ; open one to see its posterior.")


def to_uint8(image: np.ndarray) -> np.ndarray:
    """(C, H, W) floats in [0, 1] -> (H, W) or (H, W, 3) uint8 for a pixmap."""
    img = np.clip(np.asarray(image, np.float32), 0.0, 1.0)
    img = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
    return (img * 255 + 0.5).astype(np.uint8)


class PosteriorPanel(QFrame):
    """A note over the map's lower left: what is shown, and the decodes of the draws."""

    def __init__(self, parent: QWidget, area) -> None:
        super().__init__(parent)
        self._area = area
        self.setObjectName("posteriorPanel")
        # It lies over dots: the mouse goes through it to the map (the actions' tooltips explain).
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.row = QHBoxLayout()
        self.row.setSpacing(3)
        self.images: list[QLabel] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(4)
        layout.addWidget(self.text)
        layout.addLayout(self.row)
        self.hide()

    def show_result(self, text: str, decodes: list[np.ndarray]) -> None:
        look = current_look()
        back, ink = ("rgba(0, 0, 0, 210)", "#f4f4f4") if look.dark else ("rgba(255, 255, 255, 230)", "#222222")
        self.setStyleSheet(f"#posteriorPanel {{ background: {back}; border: 1px solid {ELLIPSE_COLOR}; "
                           f"border-radius: 5px; }} #posteriorPanel QLabel {{ color: {ink}; background: transparent; }}")
        self.text.setText(text)
        while len(self.images) < len(decodes):
            label = QLabel(self)
            self.row.addWidget(label)
            self.images.append(label)
        for i, label in enumerate(self.images):
            label.setVisible(i < len(decodes))
            if i < len(decodes):
                h, w = decodes[i].shape[:2]
                scale = DECODE_SCALE * look.font_scale
                label.setPixmap(frame_pixmap(decodes[i]).scaled(
                    round(w * scale), round(h * scale), Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.FastTransformation))
        area: QRect = self._area()
        self.setMaximumWidth(max(200, area.width() - 20))
        self.text.setMinimumWidth(min(round(PANEL_TEXT_WIDTH * look.font_scale), max(120, area.width() - 40)))
        self.adjustSize()
        self.move(area.left() + 10, max(0, area.bottom() - self.height() - 10))
        self.show()
        self.raise_()


class PosteriorView(QObject):
    """The *Show posterior* and *Sample from the posterior* actions and what they draw."""

    def __init__(self, state: AppState, explorer: Explorer, menu: QMenu, parent: QObject | None = None) -> None:
        """``menu``: the Analyse menu, whose top the two actions take (the window adds
        ``actions()`` to itself for their shortcuts)."""
        super().__init__(parent)
        self.state = state
        self.explorer = explorer
        self.map = explorer.map
        self._actions: list[QAction] = []
        self.index = -1  # the test point shown
        self.posterior = None  # latentlab.latent.posterior.Posterior of it, None for a point encoder
        self.ellipse = None  # its Ellipse in the map's plane
        self.draws = None  # the newest PosteriorDraws
        self.message = ""  # the panel's text

        self.show_action = self._action("Show &posterior", "E", self.set_shown, POSTERIOR_TIP, checkable=True)
        self.sample_action = self._action(
            "&Sample the posterior", "S", self.set_sampling,
            SAMPLE_TIP,
            checkable=True)
        first = menu.actions()[0] if menu.actions() else None
        menu.insertAction(first, self.show_action)
        menu.insertAction(first, self.sample_action)
        menu.insertSeparator(first)

        look = current_look()
        self.curves = [pg.PlotCurveItem(pen=pg.mkPen(ELLIPSE_COLOR, width=2.5 * look.line_scale)),
                       pg.PlotCurveItem(pen=pg.mkPen(ELLIPSE_COLOR, width=1.5 * look.line_scale,
                                                     style=Qt.PenStyle.DashLine))]
        self.centre = DecorationScatter(size=18, symbol="o", pen=pg.mkPen(ELLIPSE_COLOR, width=3), brush=None)
        self.samples = DecorationScatter(size=9, symbol="o", pen=pg.mkPen(ELLIPSE_COLOR, width=2),
                                         brush=pg.mkBrush(255, 255, 255, 200))
        for item in (*self.curves, self.centre, self.samples):
            item.setZValue(7)
            item.setVisible(False)
            self.map.plot_item.addItem(item, ignoreBounds=True)
        self.panel = PosteriorPanel(self.map.plot, self.map._plot_area)
        self.timer = QTimer(self)
        self.timer.setInterval(SAMPLE_INTERVAL_MS)
        self.timer.timeout.connect(self.redraw_samples)
        self._generator = None
        self._label: int | None = None  # a conditional model's class of the shown image

        self.map.pointHovered.connect(self._on_point_hovered)
        self.explorer.projectionChanged.connect(self._refresh)
        state.session_changed.connect(self._on_session_changed)
        self._on_session_changed()

    def _action(self, text: str, key: str, slot, tip: str, checkable: bool) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(key))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.setCheckable(checkable)
        action.toggled.connect(slot)
        self._actions.append(action)
        return action

    def actions(self) -> list[QAction]:
        """For the window, so that their shortcuts (E, S) work wherever the focus is."""
        return list(self._actions)

    # ------------------------------------------------------------- state
    @property
    def shown(self) -> bool:
        return self.show_action.isChecked()

    def _on_session_changed(self, *args) -> None:
        session = self.state.session
        usable = session is not None and session.model.has_encoder and session.has_data
        self.show_action.setEnabled(usable)
        if not usable:
            self.show_action.setChecked(False)
        self.index = -1
        self.clear()
        if usable and self.shown:
            self.show_point(self._point_at_marker())

    @Slot(bool)
    def set_shown(self, on: bool) -> None:
        self.sample_action.setEnabled(on)
        if not on:
            self.sample_action.setChecked(False)
            self.index = -1
            self.clear()
            return
        self.show_point(self.index if self.index >= 0 else self._point_at_marker())

    @Slot(bool)
    def set_sampling(self, on: bool) -> None:
        if on and self.shown:
            self.timer.start()
        else:
            self.timer.stop()

    def _point_at_marker(self) -> int:
        points = self.explorer.points
        if points is None or not points.from_data or not len(points.latents):
            return -1
        xy = self.map.positions()
        return int(np.argmin(np.sum((xy - np.array(self.map.marker_position())) ** 2, axis=1)))

    @Slot(int)
    def _on_point_hovered(self, index: int) -> None:
        if self.shown and index >= 0 and index != self.index:
            self.show_point(index)

    def clear(self) -> None:
        self.posterior = self.ellipse = self.draws = None
        for item in (*self.curves, self.centre, self.samples):
            item.setVisible(False)
        self.panel.hide()

    # ------------------------------------------------------------ drawing
    def show_point(self, index: int) -> None:
        """Encode test image ``index`` and draw its posterior (or its point, with the reason)."""
        session = self.state.session
        if session is None or index < 0 or self.explorer.projection is None:
            return
        import torch

        from latentlab.latent.posterior import posterior_of

        if index != self.index or self._generator is None:  # the same image's draws go on where they were
            self._generator = torch.Generator().manual_seed(index)
        self.index = index
        image = session.dataset.test.images[index].numpy()
        # A conditional model encodes the image under its own class, and decodes the draws so.
        self._label = int(session.dataset.test.labels[index]) if session.conditional else None
        try:
            self.posterior = posterior_of(session.display, image, self._label)
        except LatentLabError:
            self.posterior = None
        self._redraw()

    @Slot()
    def _refresh(self) -> None:
        """A new projection, or new weights while training (which also re-project the map):
        encode the image again and draw it in the plane now shown."""
        if self.shown and self.index >= 0:
            self.show_point(self.index)

    def _redraw(self) -> None:
        """Draw the shown posterior in the current projection (after a change of it too)."""
        if self.index < 0 or self.state.session is None or self.explorer.projection is None:
            return
        if self.posterior is None:
            self._draw_point()
        else:
            from latentlab.latent.posterior import ellipse_in_plane

            self.ellipse = ellipse_in_plane(self.posterior, self.explorer.projection)
            for k, curve in zip((1.0, 2.0), self.curves):
                xy = self.ellipse.outline(k)
                curve.setData(xy[:, 0], xy[:, 1])
                curve.setVisible(True)
            self.centre.setData([self.ellipse.center[0]], [self.ellipse.center[1]])
            self.centre.setVisible(True)
            self.redraw_samples()

    def _draw_point(self) -> None:
        for curve in self.curves:
            curve.setVisible(False)
        self.samples.setVisible(False)
        self.ellipse = self.draws = None
        xy = self.map.positions()[self.index]
        self.centre.setData([xy[0]], [xy[1]])
        self.centre.setVisible(True)
        self.message = f"Test image #{self.index}: {NO_POSTERIOR}"
        self.panel.show_result(self.message, [])

    @Slot()
    def redraw_samples(self) -> None:
        """New ε: draw z = μ + σ·ε on the map and their decodes in the panel."""
        session = self.state.session
        if self.posterior is None or session is None or self.explorer.projection is None:
            return
        from latentlab.latent.posterior import draw_posterior_samples

        self.draws = draw_posterior_samples(session.display, self.posterior, self.explorer.projection, DRAWS,
                                            self._generator, self._label)
        self.samples.setData(self.draws.xy[:, 0], self.draws.xy[:, 1])
        self.samples.setVisible(True)
        sigma = ", ".join(f"{s:.2f}" for s in self.posterior.sigma[:4])
        more = "…" if len(self.posterior.sigma) > 4 else ""
        self.message = (f"Test image #{self.index}: the encoder gives N(μ, σ²) with σ = ({sigma}{more}); the "
                        f"ellipse is 1 σ (solid) and 2 σ (dashed). Training decodes draws z = μ + σ·ε, so all "
                        f"of it must look like the image. Decodes of {DRAWS} draws (rings):")
        self.panel.show_result(self.message, [to_uint8(img) for img in self.draws.images])
