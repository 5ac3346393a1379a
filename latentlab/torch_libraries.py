"""Load PyTorch's shared libraries without holding Python's GIL, before ``import torch``.

``import torch`` first loads ``torch._C``, whose ``dlopen`` pulls in libtorch_cpu (and
libtorch_cuda where installed): hundreds of MB of code whose C++ static initialisers
register thousands of operators. Python's import machinery calls ``dlopen`` with the GIL
held, so the window's GUI thread could not run for that whole time: a 300-600 ms stall
while PyTorch loads behind the already explorable first screen (benchmarks/startup.py).

Calling the C library's ``dlopen`` through ctypes releases the GIL for the call (ctypes
does for every foreign call of a ``CDLL``), so the libraries load and initialise while the
GUI thread keeps running; ``import torch`` then finds them loaded. libtorch_python is left
to the import itself: it is the part that talks to Python. Linux only (elsewhere, and on
any failure, ``import torch`` simply does all the work as before).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import sys
from pathlib import Path

#: In dependency order; those a build does not have (CPU-only wheels) are skipped.
LIBRARIES = ("libtorch_global_deps.so", "libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so",
             "libtorch.so")


def torch_library_folder() -> Path | None:
    """torch/lib of the installed PyTorch, found without importing it."""
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "lib"
    return folder if folder.is_dir() else None


def preload_torch_libraries() -> list[str]:
    """Load PyTorch's C++ libraries with the GIL released; returns the names loaded."""
    if not sys.platform.startswith("linux") or "torch" in sys.modules:
        return []
    folder = torch_library_folder()
    if folder is None:
        return []
    try:
        libc = ctypes.CDLL(None)
        dlopen = libc.dlopen
    except (OSError, AttributeError):
        return []
    dlopen.restype = ctypes.c_void_p
    dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    loaded = []
    for name in LIBRARIES:
        path = folder / name
        if not path.is_file():
            continue
        if not dlopen(os.fsencode(path), os.RTLD_NOW | os.RTLD_GLOBAL):
            break  # import torch will load it, and say what is wrong if anything is
        loaded.append(name)
    return loaded
