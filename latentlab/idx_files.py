"""MNIST-style IDX files (``*-ubyte``), plain or gzipped, and the folders they are looked for in.

torchvision reads only the *extracted* files and checks the ``.gz`` archives against its
own MD5 sums, so the four ``.gz`` files a user copies by hand (or Debian's
``dataset-fashion-mnist`` package, recompressed, with other sums) were not accepted.
Here a file is accepted in either form and checked by its content: the IDX header, the
shapes it announces and the byte count. Nothing is unpickled; nothing runs.

A set is looked for, in order, in ``$LATENTLAB_DATA/<name>`` (several folders may be
given, separated by ``os.pathsep``), in ``/usr/share/datasets/<name>`` (where Debian and
Ubuntu's ``dataset-*`` packages put them) and in the download cache. NumPy only.
"""

from __future__ import annotations

import gzip
import os
import struct
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from latentlab.errors import DatasetError

DATA_ENV = "LATENTLAB_DATA"
#: Folders of system-wide dataset packages (Debian's ``dataset-fashion-mnist``).
SYSTEM_DATA_DIRS: tuple[Path, ...] = (Path("/usr/share/datasets"),)
#: An IDX file announcing more than this is refused before anything is read (EMNIST's
#: largest split is 0.55 GB).
MAX_IDX_BYTES = 1 << 30
_DTYPE_UBYTE = 0x08


def data_dirs() -> list[Path]:
    """Folders that may hold a ``<name>`` sub-folder with a dataset's files: ``$LATENTLAB_DATA``
    entries first, then the system folders."""
    listed = [Path(entry).expanduser() for entry in os.environ.get(DATA_ENV, "").split(os.pathsep) if entry]
    return [*listed, *SYSTEM_DATA_DIRS]


def find_member(folder: Path, name: str) -> Path | None:
    """``folder/name``, else ``folder/name.gz``, else None."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def find_set(folders: list[Path], names: list[str]) -> dict[str, Path] | None:
    """The first folder holding every one of ``names`` (plain or ``.gz``): name -> file."""
    for folder in folders:
        found = {name: find_member(folder, name) for name in names}
        if all(found.values()):
            return found  # type: ignore[return-value]
    return None


def read_idx(path: Path, stream: BinaryIO | None = None) -> np.ndarray:
    """An IDX file of unsigned bytes as a uint8 array, gunzipped if its name ends in ``.gz``.

    ``stream`` reads from an already open (e.g. zip member) file instead of ``path``.
    Damage (a wrong magic number, a type other than ubyte, a size that does not match the
    header, more than :data:`MAX_IDX_BYTES`) is a :class:`DatasetError` naming the file.
    """
    try:
        raw = stream if stream is not None else open(path, "rb")  # noqa: SIM115 - closed below
        with raw:
            source = gzip.GzipFile(fileobj=raw) if path.name.endswith(".gz") else raw
            with source:
                return _parse(path, source)
    except (OSError, EOFError, gzip.BadGzipFile, zipfile.BadZipFile) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err) or type(err).__name__
        raise DatasetError(f"cannot read {path} ({reason}); {_REPLACE}") from err


_REPLACE = "replace it with a fresh copy of the original file"


def _parse(path: Path, source: BinaryIO) -> np.ndarray:
    head = source.read(4)
    if len(head) != 4 or head[:2] != b"\0\0" or head[2] != _DTYPE_UBYTE or not 1 <= head[3] <= 4:
        raise DatasetError(f"{path} is not an IDX file of unsigned bytes (it starts {head[:4]!r}); {_REPLACE}")
    ndim = head[3]
    dims_bytes = source.read(4 * ndim)
    if len(dims_bytes) != 4 * ndim:
        raise DatasetError(f"{path} ends inside its header; {_REPLACE}")
    shape = struct.unpack(f">{ndim}I", dims_bytes)
    size = int(np.prod(shape, dtype=np.int64))
    if size > MAX_IDX_BYTES:
        raise DatasetError(f"{path} announces {size / 1e9:.1f} GB of data, more than latentlab reads "
                           f"(at most {MAX_IDX_BYTES / 1e9:.1f} GB); {_REPLACE}")
    array = np.empty(size, np.uint8)
    view, got = memoryview(array), 0
    while got < size:
        n = source.readinto(view[got:])
        if not n:
            raise DatasetError(f"{path} ends early ({got:,} of {size:,} bytes); {_REPLACE}")
        got += n
    if source.read(1):
        raise DatasetError(f"{path} is longer than its header says ({size:,} bytes); {_REPLACE}")
    return array.reshape(shape)


def read_zip_member(archive: Path, member: str) -> np.ndarray:
    """An IDX file (plain or ``.gz``) stored inside a zip archive, e.g. EMNIST's ``gzip.zip``."""
    try:
        with zipfile.ZipFile(archive) as opened:
            info = opened.getinfo(member)
            if info.file_size > MAX_IDX_BYTES:
                raise DatasetError(f"{archive}:{member} is {info.file_size / 1e9:.1f} GB, more than latentlab "
                                   f"reads; {_REPLACE}")
            return read_idx(archive / member, opened.open(info))
    except KeyError as err:
        raise DatasetError(f"{archive} has no {member}; {_REPLACE}") from err
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise DatasetError(f"cannot read {archive} ({err}); {_REPLACE}") from err
