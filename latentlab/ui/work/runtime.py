"""Process-wide pacing of the window's threads, without PyTorch: the window module imports
these at start-up, before PyTorch is loaded (see ui/main/startup.py)."""

from __future__ import annotations

import gc
import os
import sys
import threading

from PySide6.QtCore import QThread

#: Python's thread switch interval while the window runs (default 5 ms): a GUI thread that
#: waits for the GIL gets it sooner.
SWITCH_INTERVAL_S = 0.001


def freeze_startup_objects() -> None:
    """Move everything alive after start-up (torch, Qt, pyqtgraph: ~10^6 objects) out of the
    garbage collector's reach. Otherwise a full collection, triggered by whichever thread
    allocates, scans them all with the GIL held: measured 130-570 ms stalls of the GUI
    while training. Objects made later are collected as usual. Undone by
    ``unfreeze_startup_objects`` when the window closes, so exit finalizes everything."""
    gc.collect()
    gc.freeze()


def unfreeze_startup_objects() -> None:
    gc.unfreeze()


#: How much lower than the GUI thread the worker threads run (Linux nice levels): none.
#: At +10, beside two busy processes, a worker thread holding the GIL was descheduled for
#: the busy processes and the GUI thread waited for it: the longest event-loop gap while
#: training was 96.7-119.7 ms in the worst of five runs (448 ms blocked on the GIL), and
#: training ran at 650-730 img/s; at 0 the longest gap was 64.8 ms (18 ms blocked) and
#: training 4,000-4,400 img/s (benchmarks/ui_latency.py --load 2 --experiment nice10, issue 17).
WORKER_NICENESS = 0


def demote_current_thread(niceness: int = WORKER_NICENESS) -> None:
    """Run the calling worker thread at a lower priority than the GUI thread (Qt's hint;
    on Linux also ``niceness`` nice levels, none by default: see WORKER_NICENESS)."""
    QThread.currentThread().setPriority(QThread.Priority.LowPriority)
    if niceness and sys.platform.startswith("linux"):
        try:  # on Linux, PRIO_PROCESS with a thread id sets that thread's nice value
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + niceness))
        except OSError:
            pass  # not permitted: keep the priority
