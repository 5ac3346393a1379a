"""The event-loop probe of the latency benchmarks: a 5 ms timer that records the time
between its ticks, and how much of it the GUI thread itself spent on the CPU
(``time.thread_time``). On a busy machine a long gap with little CPU is the scheduler's
doing, not the code's."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer, Slot


class GapProbe(QObject):
    def __init__(self, interval_ms: int = 5) -> None:
        super().__init__()
        self.gaps: list[float] = []
        self.cpu: list[float] = []
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self.gaps.clear()
        self.cpu.clear()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    @Slot()
    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        self.gaps.append(now - self._last)
        self.cpu.append(cpu - self._last_cpu)
        self._last, self._last_cpu = now, cpu
