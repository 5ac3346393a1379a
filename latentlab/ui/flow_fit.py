"""Fitting a flow prior to the open model's codes from the window (Analyse ▸ Density models ▸ Fit a flow prior).

The fit runs in a background thread on a copy of the model's weights (its snapshot), so
the map stays live; progress reports the held-out codes' −log p as the fit goes, and
Cancel keeps nothing. The finished flow is attached to the open model on the GUI thread,
which marks it changed: saving it keeps the prior in the checkpoint, as
``latentlab fit-prior`` does.
"""

from __future__ import annotations

import sys
import time
import traceback

from PySide6.QtCore import QObject, Signal, Slot

from latentlab.errors import LatentLabError

from .runtime import demote_current_thread, describe_exception
from .task_progress import CANCELLED

STEPS = 3000


class FlowFitWorker(QObject):
    """``stepped(fraction, seconds left)``, ``message(text)``, ``finished(flow or None, error)``."""

    stepped = Signal(float, float)
    message = Signal(str)
    finished = Signal(object, str)

    def __init__(self, snapshot, images, steps: int | None = None) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.images = images
        self.steps = STEPS if steps is None else steps
        self._cancelled = False

    def cancel(self) -> None:
        self._cancelled = True

    @Slot()
    def run(self) -> None:
        from latentlab.models.flow import LatentFlow, encode_images

        from .jobs import build_model

        demote_current_thread()
        started = time.perf_counter()
        try:
            codes = encode_images(build_model(self.snapshot), self.images)

            def progress(step: int, total: int, nll: float) -> None:
                elapsed = time.perf_counter() - started
                self.stepped.emit(step / total, elapsed / step * (total - step))
                self.message.emit(f"Fitting a flow prior: step {step} of {total}, held-out codes' −log p "
                                  f"{nll:.2f} nats")

            flow = LatentFlow.fit(codes, steps=self.steps, on_progress=progress,
                                  should_stop=lambda: self._cancelled)
            self.finished.emit(None if self._cancelled else flow, CANCELLED if self._cancelled else "")
        except Exception as exc:  # noqa: BLE001 - reported to the GUI
            if not isinstance(exc, LatentLabError):
                traceback.print_exc(file=sys.stderr)
            self.finished.emit(None, describe_exception(exc))
