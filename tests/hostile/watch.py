"""What the process reads and where it connects, recorded with Python's audit hooks.

``with watch(folder) as seen: ...`` records every file opened and every folder listed
under ``folder`` (by any thread, by Python or by Pillow), and every network connection
or name lookup, while the block runs. The hostile tests assert that a checkpoint's
dataset name makes latentlab read nothing the user did not choose and go nowhere.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

_FILE_EVENTS = frozenset({"open", "os.listdir", "os.scandir", "os.walk", "glob.glob", "shutil.copyfile"})
_NET_EVENTS = frozenset({"socket.connect", "socket.getaddrinfo", "urllib.Request", "http.client.connect"})


@dataclass
class Seen:
    folder: str
    reads: list[str] = field(default_factory=list)
    network: list[str] = field(default_factory=list)

    def record(self, event: str, args: tuple) -> None:
        if event in _FILE_EVENTS and args:
            target = args[0]
            if isinstance(target, (str, bytes, os.PathLike)):
                path = os.path.abspath(os.fsdecode(target))
                if path == self.folder or path.startswith(self.folder + os.sep):
                    self.reads.append(f"{event} {path}")
        elif event in _NET_EVENTS:
            self.network.append(f"{event} {args[1:2] if event == 'socket.connect' else args[:1]}")


_watchers: list[Seen] = []
_lock = threading.Lock()
_installed = False


def _hook(event: str, args: tuple) -> None:
    if _watchers and (event in _FILE_EVENTS or event in _NET_EVENTS):
        for seen in list(_watchers):
            seen.record(event, args)


@contextmanager
def watch(folder: str | os.PathLike[str]) -> Iterator[Seen]:
    """Record reads under ``folder`` and network use while the block runs."""
    global _installed
    with _lock:
        if not _installed:  # audit hooks cannot be removed: one, idle when nobody watches
            sys.addaudithook(_hook)
            _installed = True
    seen = Seen(os.path.abspath(Path(folder).resolve()))
    _watchers.append(seen)
    try:
        yield seen
    finally:
        _watchers.remove(seen)
