"""Thread-safe control of a running training: stop, pause, and live changes of β and lr."""

from __future__ import annotations

import threading


class TrainControl:
    """Shared between the thread that trains and the one that steers (the GUI, a signal).

    The trainer reads ``beta`` and ``lr`` on every step, so a change applies from the
    next step. ``None`` means "leave as configured".
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._lock = threading.Lock()
        self._beta: float | None = None
        self._lr: float | None = None

    # stop / pause --------------------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()
        self._running.set()  # wake a paused trainer so it can see the stop

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self, timeout: float = 0.1) -> None:
        """Block while paused, waking every ``timeout`` s; returns at once when running."""
        while not self._running.wait(timeout):
            if self._stop.is_set():
                return

    # live settings ---------------------------------------------------------------
    @property
    def beta(self) -> float | None:
        with self._lock:
            return self._beta

    def set_beta(self, beta: float) -> None:
        with self._lock:
            self._beta = float(beta)

    @property
    def lr(self) -> float | None:
        with self._lock:
            return self._lr

    def set_lr(self, lr: float) -> None:
        with self._lock:
            self._lr = float(lr)
