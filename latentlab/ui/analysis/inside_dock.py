"""Analyse ▸ Inside the encoder: a dock that shows what the encoder computes for one image.

The image is the test image under the cursor (a hovered dot) or, otherwise, the one
nearest the marker; the dock follows both while it is open. The trace comes from
``latentlab.models.inside.look_inside`` on the session's display copy (never the model a
training run changes) and is drawn by its kind (inside_view.py). One image through a
small encoder takes milliseconds, so it runs on the GUI thread, coalesced by a short timer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QWidget

from latentlab.errors import LatentLabError

from latentlab.ui.analysis.inside_view import InsidePanel

if TYPE_CHECKING:
    from collections.abc import Callable

    from PySide6.QtWidgets import QMenu

    from latentlab.app.state import AppState
    from latentlab.ui.map.explorer import Explorer

#: Wait this long after the marker or the hovered dot changed before looking inside again.
UPDATE_DELAY_MS = 40
#: The size of the dock's window when it first opens, in pixels.
FIRST_SIZE = (760, 560)
KIND_WORDS = {
    "dense": "dense layers",
    "convolutional": "convolutional layers",
    "recurrent": "LSTM (recurrent) layer",
    "transformer": "self-attention (transformer) layers",
}
ACTION_TIP = ("See what the encoder computes for one test image: a dense layer's activations, a convolution's "
              "feature maps, an LSTM's gates per step, a transformer's attention. It follows the marker and the "
              "dot under the cursor.")


class InsideDock(QObject):
    """The dock and its action. ``menu``: the Analyse menu (the action goes before
    ``before``); ``place(dock)``: the window docks it and floats it beside itself, the
    first time it is shown (until then it takes no part in the window's layout)."""

    def __init__(self, state: AppState, explorer: Explorer, menu: QMenu, before: QAction | None,
                 place: Callable[[QDockWidget], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.explorer = explorer
        self.map = explorer.map
        self._place = place
        self.index = -1  # the test image shown
        self._hovered = -1
        self.trace = None
        self._placed = False  # the dock was given its first place and size

        self.panel = InsidePanel()
        self.dock = QDockWidget("Inside the encoder", parent if isinstance(parent, QWidget) else None)
        self.dock.setObjectName("insideEncoderDock")
        self.dock.setWidget(self.panel)
        self.dock.setAllowedAreas(Qt.DockWidgetArea.AllDockWidgetAreas)
        self.dock.hide()  # added to the window when first shown: until then it takes no part in its layout
        self.dock.visibilityChanged.connect(self._on_visibility)

        self.action = QAction("Inside the &encoder…", self)
        self.action.setToolTip(ACTION_TIP)
        self.action.setStatusTip(ACTION_TIP)
        self.action.triggered.connect(self.show)
        menu.insertAction(before, self.action)

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(UPDATE_DELAY_MS)
        self.timer.timeout.connect(self.update_view)
        self.map.markerMoved.connect(self._schedule)
        self.explorer.projectionChanged.connect(self._schedule)  # also: new weights while training
        self.map.pointHovered.connect(self._on_point_hovered)
        state.session_changed.connect(self._on_session_changed)
        self._on_session_changed()

    def _usable(self) -> bool:
        session = self.state.session
        return session is not None and session.model.has_encoder and session.has_data

    def _on_session_changed(self, *args) -> None:
        self.action.setEnabled(self._usable())
        self.index = self._hovered = -1
        self._schedule()

    @Slot()
    def show(self) -> None:
        """Show the dock (the first time as a window of its own beside the main one: the map
        keeps its room; it can be docked on any side) and look inside for the current image."""
        if self.dock.isVisible():
            self.dock.raise_()
        else:
            if not self._placed:
                self._placed = True
                self._place(self.dock)
            self.dock.show()
        self.update_view()

    @Slot(bool)
    def _on_visibility(self, visible: bool) -> None:
        if visible:
            self._schedule()

    @Slot(int)
    def _on_point_hovered(self, index: int) -> None:
        self._hovered = index
        if index >= 0:
            self._schedule()

    @Slot()
    def _schedule(self, *args) -> None:
        if self.dock.isVisible():
            self.timer.start()

    def _chosen_index(self) -> int:
        points = self.explorer.points
        if points is None or not points.from_data or not len(points.latents):
            return -1
        if 0 <= self._hovered < len(points.latents):
            return self._hovered
        xy = self.map.positions()
        return int(np.argmin(np.sum((xy - np.array(self.map.marker_position())) ** 2, axis=1)))

    @Slot()
    def update_view(self) -> None:
        """Look inside the encoder for the chosen test image and draw what it computes."""
        session = self.state.session
        if session is None:
            self.panel.show_message("Open a model to look inside its encoder.")
            return
        if not session.model.has_encoder:
            self.panel.show_message(f"This {session.family} has no encoder to look inside: it generates images "
                                    "from z but does not map images to z.")
            return
        index = self._chosen_index()
        if index < 0:
            self.panel.show_message("This model was opened without its test images: there is no image to look at.")
            return
        from latentlab.models.inside import look_inside

        image = session.dataset.test.images[index].numpy()
        try:
            trace = look_inside(session.display, image)
        except LatentLabError as exc:
            self.panel.show_message(str(exc))
            return
        self.index, self.trace = index, trace
        label = int(session.dataset.test.labels[index])
        names = session.class_names
        name = names[label] if 0 <= label < len(names) else "?"
        source = "under the cursor" if index == self._hovered else "nearest the marker"
        self.panel.show_trace(trace, image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0),
                              f"Test image #{index} (class {name}, {source}) through the encoder's "
                              f"{KIND_WORDS.get(trace.kind, trace.kind)}. Hover a panel for what it shows.")
