"""What moving the β slider does: fine-tune the open VAE live, or step along the shipped ladder.

The slider reports every position it passes; this applies the newest one at most every
``APPLY_EVERY_MS`` (a fast drag does not open every rung it crosses):

* On a shipped rung of the β ladder (``vae-beta0.5``, ``vae``, ``vae-beta2``…), landing on
  another rung's β (0.5, 1, 2, 4, 8) opens that rung's pretrained model at once, keeping
  the view and the marker. The rungs share one orientation of the latent plane
  (scripts/build_pretrained.py), and the points glide from their old places to the new
  ones over ``GLIDE_MS``. A fine-tune of a shipped rung is a preview: stepping onto a
  rung replaces it without asking (the status bar says so); the file is never changed.
* Anywhere else the open model fine-tunes at the new β from its current weights until
  its loss settles, or the running fine-tune is steered to it (TrainingController).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, QTimer, Slot

from latentlab.ui.panels.beta_panel import on_ladder

if TYPE_CHECKING:
    from latentlab.app.state import AppState
    from latentlab.pretrained import Pretrained
    from latentlab.ui.main.training_controller import TrainingController
    from latentlab.ui.map.latent_map import LatentMap

#: The slider's newest β is applied this long after the first move of a burst, then again.
APPLY_EVERY_MS = 80
#: The points move from one rung's places to the next one's in this time ...
GLIDE_MS = 300
#: ... in this many frames.
GLIDE_FRAMES = 10


class BetaSteering(QObject):
    def __init__(self, state: AppState, training: TrainingController, latent_map: LatentMap,
                 open_checkpoint: Callable[..., bool], parent: QObject | None = None) -> None:
        """``open_checkpoint(path, discard=True)`` opens a rung (the window's open)."""
        super().__init__(parent)
        self.state = state
        self.training = training
        self.map = latent_map
        self.open_checkpoint = open_checkpoint
        self._beta: float | None = None
        self._busy = False
        self._apply_timer = QTimer(self)
        self._apply_timer.setSingleShot(True)
        self._apply_timer.setInterval(APPLY_EVERY_MS)
        self._apply_timer.timeout.connect(self.apply)
        self._glide_timer = QTimer(self)
        self._glide_timer.setInterval(max(1, GLIDE_MS // GLIDE_FRAMES))
        self._glide_timer.timeout.connect(self._glide_step)
        self._glide: tuple[np.ndarray, np.ndarray, float] | None = None
        state.session_changed.connect(self.cancel_glide)

    @Slot(float)
    def request(self, beta: float) -> None:
        """The user chose ``beta`` (slider or spin box)."""
        self._beta = float(beta)
        if not self._apply_timer.isActive():
            self._apply_timer.start()

    @Slot()
    def apply(self) -> None:
        if self._busy:  # a rung is opening (waiting for the run to stop processes events)
            self._apply_timer.start()
            return
        self._busy = True
        try:
            self._apply()
        finally:
            self._busy = False

    def _apply(self) -> None:
        state, beta = self.state, self._beta
        self._beta = None
        session = state.session
        if beta is None or session is None or not session.model.has_beta or not state.engine_ready \
                or state.closing:  # a slider moved just before the window closed: nothing starts
            return
        if on_ladder(session.path):
            from latentlab.pretrained import ladder_rung

            rung = ladder_rung(beta)
            if rung is not None:
                self.show_rung(rung)
                return
        self.finish_glide()
        steering = state.is_training
        if self.training.fine_tune_at(beta):
            state.say(
                f"β = {beta:g} from the next training step" if steering
                else f"Fine-tuning at β = {beta:g} from the current weights until the loss settles", 4000)

    # --------------------------------------------------------------- the ladder
    def show_rung(self, entry: Pretrained) -> bool:
        """Open the shipped rung ``entry`` in place of the open rung (fine-tuned or not),
        with the same view and marker, the points gliding to their new places."""
        from latentlab.pretrained import shipped_entry

        state, session = self.state, self.state.session
        same = shipped_entry(session.path) == entry
        if same and not session.dirty and not state.is_training:
            return True
        lmap = self.map
        region, marker, following = lmap.visible_region(), lmap.marker_position(), lmap.following
        before = lmap.positions()
        fine_tuned = session.dirty or state.is_training
        self.training.stop_and_wait()
        if not self.open_checkpoint(entry.path, discard=True):
            return False
        lmap.set_region(*region)  # the old view: the points glide within it
        lmap.following = following
        lmap.set_marker(*marker)
        self._start_glide(before, lmap.positions())
        note = " (the fine-tuned weights were not saved)" if fine_tuned else ""
        state.say(f"β = {state.session.model.config.beta:g}: the shipped {entry.title}" + note, 6000)
        return True

    def _start_glide(self, before: np.ndarray, after: np.ndarray) -> None:
        if before.shape != after.shape or not len(after):
            return
        self._glide = (before, after, time.monotonic())
        self.map.update_positions(before)
        self._glide_timer.start()

    @Slot()
    def _glide_step(self) -> None:
        glide, lmap = self._glide, self.map
        if glide is None:
            self._glide_timer.stop()
            return
        before, after, started = glide
        t = min(1.0, (time.monotonic() - started) * 1000.0 / GLIDE_MS)
        eased = t * t * (3.0 - 2.0 * t)  # smoothstep
        try:
            lmap.update_positions(after if t >= 1.0 else before + (after - before) * eased)
        except ValueError:  # the map got other points meanwhile (another model)
            t = 1.0
        if t >= 1.0:
            self._glide = None
            self._glide_timer.stop()
            if lmap.following:
                lmap.frame_points(force=False)  # only if the points left the view

    def finish_glide(self) -> None:
        """Put the points at their final places now (a fine-tune is about to move them)."""
        if self._glide is not None:
            self._glide = (self._glide[0], self._glide[1], time.monotonic() - GLIDE_MS / 1000.0)
            self._glide_step()

    def cancel_glide(self, *args) -> None:
        """Another model is open: its points are where they belong."""
        self._glide = None
        self._glide_timer.stop()
