"""The event-loop probe of the latency benchmarks: a 5 ms timer that records the time
between its ticks and splits each gap into what the GUI thread did meanwhile:

- ``cpu``: the GUI thread ran on a core (``time.thread_time``): it worked;
- ``queued``: it was runnable but waited for a core (the run-queue delay of
  ``/proc/thread-self/schedstat``, Linux): other threads or processes had the cores;
- ``blocked``: the rest, i.e. it slept: the event loop's own wait for the next tick
  (up to the 5 ms interval) and any wait for a lock, above all the GIL.

On a busy machine a long gap with little ``cpu`` is the scheduler's or another thread's
doing, not the GUI code's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, QTimer, Slot

SCHEDSTAT = "/proc/thread-self/schedstat"


def run_delay_s() -> float:
    """Seconds the calling thread has waited on a run queue (0 where the kernel does not say)."""
    try:
        with open(SCHEDSTAT, "rb") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclass
class Gap:
    wall: float  # seconds between two ticks
    cpu: float  # the GUI thread's CPU seconds in it
    queued: float  # seconds it waited for a core
    end: float = 0.0  # perf_counter at its closing tick

    @property
    def blocked(self) -> float:
        return max(0.0, self.wall - self.cpu - self.queued)

    def describe(self) -> str:
        return (f"{self.wall * 1000:5.1f} ms = worked {self.cpu * 1000:5.1f} + waited for a core "
                f"{self.queued * 1000:5.1f} + blocked (GIL, idle) {self.blocked * 1000:5.1f}")


class GapProbe(QObject):
    def __init__(self, interval_ms: int = 5) -> None:
        super().__init__()
        self.interval_ms = interval_ms
        self.gaps: list[float] = []
        self.cpu: list[float] = []
        self.queued: list[float] = []
        self.ends: list[float] = []
        self._last = (time.perf_counter(), time.thread_time(), run_delay_s())
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = (time.perf_counter(), time.thread_time(), run_delay_s())
        self.gaps.clear()
        self.cpu.clear()
        self.queued.clear()
        self.ends.clear()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    @Slot()
    def _tick(self) -> None:
        now = (time.perf_counter(), time.thread_time(), run_delay_s())
        self.gaps.append(now[0] - self._last[0])
        self.cpu.append(now[1] - self._last[1])
        self.queued.append(now[2] - self._last[2])
        self.ends.append(now[0])
        self._last = now

    def records(self) -> list[Gap]:
        return [Gap(*r) for r in zip(self.gaps, self.cpu, self.queued, self.ends)]

    def longest(self, n: int = 5) -> list[Gap]:
        return sorted(self.records(), key=lambda g: g.wall, reverse=True)[:n]

    def summary(self, over_s: float = 0.05) -> dict[str, float]:
        """Totals over the gaps longer than ``over_s``: where their time went."""
        long = [g for g in self.records() if g.wall > over_s]
        return {"n": len(long), "wall": sum(g.wall for g in long), "cpu": sum(g.cpu for g in long),
                "queued": sum(g.queued for g in long), "blocked": sum(g.blocked for g in long)}


def task_times() -> dict[int, tuple[str, float, float]]:
    """Every thread of this process: id -> (name, CPU seconds, seconds waited for a core)."""
    import os

    out: dict[int, tuple[str, float, float]] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                cpu, queued = f.read().split()[:2]
        except (OSError, ValueError):
            continue
        out[int(tid)] = (name, int(cpu) / 1e9, int(queued) / 1e9)
    return out


def thread_usage(before: dict, after: dict, main_tid: int) -> list[tuple[str, float, float]]:
    """(name, CPU s, queued s) per thread between two ``task_times``, busiest first; the GUI
    thread is called "GUI"."""
    rows = []
    for tid, (name, cpu, queued) in after.items():
        _, cpu0, queued0 = before.get(tid, (name, 0.0, 0.0))
        rows.append(("GUI" if tid == main_tid else f"{name}[{tid}]", cpu - cpu0, queued - queued0))
    return sorted(rows, key=lambda r: r[1], reverse=True)
