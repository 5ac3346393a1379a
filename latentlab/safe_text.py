"""Text from files, made safe to print: the one sanitiser for strings a file supplies.

A checkpoint's strings (its creation date, dataset and class names, metric names) come
from whoever wrote the file. Printed raw, ``ESC [2J`` clears the terminal and ``ESC ]0;``
sets its title; a newline splits a one-line error in two; a right-to-left override
reverses what follows. :func:`clean` escapes every character that is not printable, so
what reaches the terminal is exactly the text, visible. :func:`json_safe` makes a value
strict JSON (``NaN`` and ``Infinity`` are not JSON: they become null).
:func:`showable_name` says whether a class name from a file may be shown as it is in the
window, where Qt takes text that looks like HTML for HTML (``<img src=...>`` reads a file).
"""

from __future__ import annotations

import math
from typing import Any


def clean(text: object, limit: int | None = None) -> str:
    """``str(text)`` with control and other non-printable characters escaped (``\\x1b``,
    ``\\n``, ``\\u202e``), cut to ``limit`` characters when given."""
    text = str(text)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(ch: str) -> str:
    if ch in _SHORT:
        return _SHORT[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


#: The longest class name from a file that the window shows as it is.
MAX_SHOWN_NAME = 40


def showable_name(name: object) -> bool:
    """True for short printable text without ``<``, ``>`` or ``&`` (nothing Qt reads as HTML)."""
    return (isinstance(name, str) and 0 < len(name) <= MAX_SHOWN_NAME and name.isprintable()
            and not set("<>&") & set(name))


def json_safe(value: Any) -> Any:
    """A copy of a JSON value with NaN and infinities replaced by None (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value
