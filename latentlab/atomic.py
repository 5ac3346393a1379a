"""Writing files so that a crash, a kill or a full disk never leaves a half-written one.

Every file latentlab writes (checkpoints, CSV, PNG, GIF, SVG) is written under a
temporary name in the destination's folder, flushed and fsynced, and renamed over the
destination in one step; on any failure the temporary file is removed and whatever was
at the destination before is unchanged.

Temporary names are ``.NAME.tmp-PID-XXXXXXXX`` (and ``.NAME.old-PID-XXXXXXXX`` for the
previous version of a checkpoint folder during its swap): hidden, next to the file they
belong to, and tagged with the writing process, so that a later save can tell the
leftovers of a killed process (:func:`stale_leftovers`) from a save that is still running.

Standard library only: the core, the CLI and the window all use it.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import re
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from latentlab.errors import OutputError

_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<tag>tmp|old)-(?:(?P<pid>\d+)-)?[0-9a-f]{8}$")
_in_flight: set[Path] = set()
_in_flight_lock = threading.Lock()


# ------------------------------------------------------------------ primitives
def temp_sibling(path: Path, tag: str) -> Path:
    """A fresh hidden name next to ``path``: ``.NAME.TAG-PID-XXXXXXXX``."""
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}")


def write_synced(path: Path, data: bytes) -> None:
    """Create ``path`` (it must not exist), write ``data`` and fsync it."""
    with open(path, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable; a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def in_flight(*paths: Path) -> Iterator[None]:
    """Mark temporary names as belonging to a save of this process that is still running,
    so :func:`stale_leftovers` never offers them for removal."""
    with _in_flight_lock:
        _in_flight.update(paths)
    try:
        yield
    finally:
        with _in_flight_lock:
            _in_flight.difference_update(paths)


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike[str], mode: str = "wb", **open_kwargs) -> Iterator[IO]:
    """Open a temporary sibling of ``path`` for writing; on a clean exit it is fsynced and
    renamed over ``path``, on an exception it is deleted (``path`` stays as it was).

    ``mode`` is "wb" or "w" (text; ``encoding``/``newline`` pass through). Raises OSError.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_file writes with mode 'wb' or 'w', not {mode!r}")
    path = Path(path)
    tmp = temp_sibling(path, "tmp")
    with in_flight(tmp):
        try:
            with open(tmp, mode.replace("w", "x"), **open_kwargs) as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
    fsync_dir(path.parent)


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_file`). Raises OSError."""
    with atomic_file(path) as f:
        f.write(data)


# --------------------------------------------------------------- user outputs
def write_output(path: str | os.PathLike[str], write: Callable[[IO], None], *, mode: str = "wb",
                 what: str = "the file", **open_kwargs) -> Path:
    """Write a result file (CSV, PNG, GIF, SVG) atomically: ``write(f)`` fills the open
    temporary file. Creates missing parent folders. A failure (disk full, read-only
    folder, a file where a folder should be) raises OutputError with one line naming the
    path, the reason and the fix; nothing is left at ``path`` or next to it.
    """
    path = Path(path).expanduser()
    try:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path, mode, **open_kwargs) as f:
            write(f)
    except OSError as exc:
        raise OutputError(output_error_message(path, exc, what)) from exc
    return path


def output_error_message(path: Path, exc: OSError, what: str = "the file") -> str:
    """One line: what could not be written where, why, and what to do about it."""
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = "free some disk space or choose another folder"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "choose a folder you can write to"
    elif exc.errno in (errno.ENOTDIR, errno.EEXIST):
        fix = "a file stands where a folder should be; choose another path"
    elif exc.errno == errno.EISDIR:
        fix = "give a file name, not a folder"
    else:
        fix = "check the path and the free disk space"
    return f"could not write {what} {path}: {reason}; {fix} (nothing was written there)"


# ------------------------------------------------------------------ leftovers
def leftover_tag(candidate: Path, path: Path) -> str | None:
    """"tmp" or "old" when ``candidate`` is a temporary sibling of ``path``, else None."""
    match = _LEFTOVER.match(candidate.name)
    if match is None or match["name"] != path.name:
        return None
    return match["tag"]


def stale_leftovers(path: Path) -> list[Path]:
    """Temporary siblings of ``path`` left by saves that cannot finish any more: by a
    process that is gone, or by an older latentlab that did not tag its names. A save in
    progress (this process's, or another live process's) is never listed. Newest first."""
    parent = path.parent
    if not parent.is_dir():
        return []
    found = []
    for tag in ("tmp", "old"):
        for candidate in parent.glob(f".{glob.escape(path.name)}.{tag}-*"):
            match = _LEFTOVER.match(candidate.name)
            if match is None or match["name"] != path.name:
                continue
            pid = int(match["pid"]) if match["pid"] else None
            with _in_flight_lock:
                busy = candidate in _in_flight
            if busy or (pid is not None and pid != os.getpid() and pid_alive(pid)):
                continue
            found.append(candidate)
    return sorted(found, key=_mtime, reverse=True)


def remove_leftovers(path: Path) -> list[Path]:
    """Delete :func:`stale_leftovers` of ``path``; the ones removed (failures are ignored)."""
    removed = []
    for leftover in stale_leftovers(path):
        try:
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        except OSError:
            continue
        removed.append(leftover)
    return removed


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (True when unsure)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill would terminate it there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # another user's process, or a platform without signal 0
    return True


def _mtime(path: Path) -> float:
    try:
        return path.lstat().st_mtime
    except OSError:
        return 0.0
