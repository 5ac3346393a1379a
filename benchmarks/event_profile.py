"""Where the GUI thread's time goes, event by event: a QApplication whose ``notify`` times
every top-level event the GUI thread handles (wall clock and the thread's own CPU time)
and names it by its receiver (a queued signal by the object whose slot runs, a timer by
the timer's owner, a paint by the widget).

    app = ProfilingApplication(sys.argv[:1])   # instead of QApplication, before the window
    ... app.records (start, wall s, CPU s, name) ...; app.table(); app.during(t0, t1)

Used by ``ui_latency.py --profile``: each long event-loop gap is listed with the events
that ran inside it, so "the GUI thread worked" is split by handler and "it waited" shows
as a gap with no event of note. Costs a few microseconds per event.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication


def receiver_name(receiver: QObject, event: QEvent) -> str:
    kind = event.type()
    try:
        cls = type(receiver).__name__
        if isinstance(receiver, QTimer) or kind == QEvent.Type.Timer:
            parent = receiver.parent()
            owner = type(parent).__name__ if parent is not None else "-"
            return f"timer of {owner}" if isinstance(receiver, QTimer) else f"{cls} timer"
        if kind == QEvent.Type.MetaCall:
            return f"queued call to {cls}"
        if kind == QEvent.Type.Paint:
            parent = receiver.parent()
            return f"paint {type(parent).__name__ if parent is not None else cls}"
        return f"{kind.name} to {cls}"
    except (RuntimeError, AttributeError):  # a receiver already deleted
        return str(kind)


class ProfilingApplication(QApplication):
    def __init__(self, argv: list[str]) -> None:
        super().__init__(argv)
        self.records: list[tuple[float, float, float, str]] = []
        self._depth = 0  # nesting on the GUI thread (only it counts)
        self._gui = threading.get_ident()
        self.enabled = False

    def notify(self, receiver: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if threading.get_ident() != self._gui:  # a worker thread's own event loop
            return super().notify(receiver, event)
        if not self.enabled or self._depth:
            self._depth += 1
            try:
                return super().notify(receiver, event)
            finally:
                self._depth -= 1
        name = receiver_name(receiver, event)
        self._depth = 1
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return super().notify(receiver, event)
        finally:
            self._depth = 0
            self.records.append((t0, time.perf_counter() - t0, time.thread_time() - c0, name))

    def table(self, top: int = 12) -> list[tuple[str, int, float, float, float]]:
        """(name, events, total CPU s, largest CPU s, largest wall s) per name, most CPU first."""
        rows: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
        for _, wall, cpu, name in self.records:
            r = rows[name]
            r[0] += 1
            r[1] += cpu
            r[2] = max(r[2], cpu)
            r[3] = max(r[3], wall)
        ranked = sorted(rows.items(), key=lambda kv: kv[1][1], reverse=True)[:top]
        return [(name, int(r[0]), r[1], r[2], r[3]) for name, r in ranked]

    def during(self, t0: float, t1: float, min_cpu_s: float = 0.001) -> list[tuple[str, float, float]]:
        """The events that started in [t0, t1] and used at least ``min_cpu_s``: (name, wall, CPU)."""
        return [(name, wall, cpu) for start, wall, cpu, name in self.records
                if t0 <= start <= t1 and cpu >= min_cpu_s]
