"""Work-arounds for defects of the installed Qt binding, each detected before it is applied.

PySide6 6.12.0's abi3 wheels, on CPython 3.10 and 3.11, drop references they do not own:

* every void method (``QColor.setRed``, ``QPainter.setPen``, ...) returns ``None``
  without taking a reference to it;
* a ``bool`` emitted from Python to a ``@Slot(bool)`` loses one reference to ``True``
  or ``False``.

Python 3.12+ has immortal ``None``/``True``/``False``, so nothing happens there. On 3.11
the counts run down, and after some seconds of dragging on the map (tens of thousands
of void calls), or a few hundred toggles, the interpreter aborts with "Fatal Python
error: none_dealloc" / "bool_dealloc". ``protect_singletons`` measures whether the
running binding has either defect and, only then, gives these three objects reference
counts so large they cannot run out (2**60 calls), which is what CPython 3.12 does for
immortal objects.
"""

from __future__ import annotations

import ctypes
import sys

PROBE_CALLS = 64
IMMORTAL_REFS = 1 << 60
_protected = False


def void_calls_leak_none() -> bool:
    """True when a void Qt method call takes a reference from None."""
    from PySide6.QtGui import QColor

    color = QColor(0, 0, 0)
    before = sys.getrefcount(None)
    for _ in range(PROBE_CALLS):
        color.setRed(0)
    return sys.getrefcount(None) - before <= -PROBE_CALLS // 2


def bool_signals_leak() -> bool:
    """True when emitting a bool to a ``@Slot(bool)`` takes a reference from True."""
    from PySide6.QtCore import QObject, Signal, Slot

    class Probe(QObject):
        flag = Signal(bool)

        @Slot(bool)
        def take(self, value: bool) -> None:
            pass

    probe = Probe()
    probe.flag.connect(probe.take)
    # Give True the references the probe may take, so probing can never drop it to zero.
    ctypes.c_ssize_t.from_address(id(True)).value += PROBE_CALLS
    before = sys.getrefcount(True)
    for _ in range(PROBE_CALLS):
        probe.flag.emit(True)
    return sys.getrefcount(True) - before <= -PROBE_CALLS // 2


def protect_singletons() -> bool:
    """Apply the work-around if this interpreter and binding need it; True when applied (once)."""
    global _protected
    if _protected:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not (void_calls_leak_none() or bool_signals_leak()):
        return False
    for singleton in (None, True, False):
        # ob_refcnt is the first field of every object in a release build of CPython 3.10 / 3.11.
        ctypes.c_ssize_t.from_address(id(singleton)).value += IMMORTAL_REFS
    _protected = True
    return True
