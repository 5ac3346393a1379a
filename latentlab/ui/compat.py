"""Work-arounds for defects of the installed Qt binding, each detected before it is applied.

PySide6 6.12.0's abi3 wheels, on CPython 3.10 and 3.11, return ``None`` from every void
method (``QColor.setRed``, ``QPainter.setPen``, ...) without taking a reference to it.
Python 3.12+ has an immortal ``None`` so nothing happens there, but on 3.11 each call
takes one reference from ``None`` and, after a few tens of thousands of calls (seconds
of dragging on the map), the interpreter aborts with "Fatal Python error: none_dealloc:
deallocating None". ``protect_none_refcount`` measures whether the running binding has
the defect and, only then, gives ``None`` a reference count so large that it cannot run
out (2**60 calls), which is what CPython 3.12 does for immortal objects.
"""

from __future__ import annotations

import ctypes
import sys

PROBE_CALLS = 64
IMMORTAL_REFS = 1 << 60
_protected = False


def void_calls_leak_none() -> bool:
    """True when a void Qt method call takes a reference from None (the binding defect)."""
    from PySide6.QtGui import QColor

    color = QColor(0, 0, 0)
    before = sys.getrefcount(None)
    for _ in range(PROBE_CALLS):
        color.setRed(0)
    return sys.getrefcount(None) - before <= -PROBE_CALLS // 2


def protect_none_refcount() -> bool:
    """Apply the work-around if this interpreter and binding need it; True when applied (once)."""
    global _protected
    if _protected:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not void_calls_leak_none():
        return False
    # ob_refcnt is the first field of every object in a release build of CPython 3.10 / 3.11.
    ctypes.c_ssize_t.from_address(id(None)).value += IMMORTAL_REFS
    _protected = True
    return True
