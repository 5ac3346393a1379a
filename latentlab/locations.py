"""Where latentlab's files live: the bundled resources, the user's data and the cache.

Nothing latentlab does writes inside the installed package (``package_dirs``): a shipped
checkpoint is a template, and saving it proposes a folder in ``data_dir()`` instead.

Kept free of PyTorch (and of every other heavy import), so the window can find the
shipped checkpoints before PyTorch has loaded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from latentlab.errors import DatasetError


def resources_dir() -> Path:
    """Bundled data and checkpoints: ``$LATENTLAB_RESOURCES``, else ``<repo root>/resources``."""
    override = os.environ.get("LATENTLAB_RESOURCES")
    if override:
        return Path(override).expanduser()
    return Path(__file__).resolve().parents[1] / "resources"


def cache_dir() -> Path:
    """latentlab's user cache folder, created on demand.

    ``$LATENTLAB_CACHE``, else ``%LOCALAPPDATA%\\latentlab`` on Windows, else
    ``$XDG_CACHE_HOME/latentlab`` or ``~/.cache/latentlab``.
    """
    override = os.environ.get("LATENTLAB_CACHE")
    if override:
        path = Path(override).expanduser()
    elif sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        path = (Path(local) if local else Path.home() / "AppData" / "Local") / "latentlab"
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        path = (Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache") / "latentlab"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DatasetError(
            f"cannot create the cache folder {path} ({err.strerror or err}); "
            f"set LATENTLAB_CACHE to a writable folder"
        ) from err
    return path


def data_dir() -> Path:
    """Where the user's own models go by default (not created here).

    ``$LATENTLAB_HOME``, else ``%APPDATA%\\latentlab`` on Windows, else
    ``$XDG_DATA_HOME/latentlab`` or ``~/.local/share/latentlab``.
    """
    override = os.environ.get("LATENTLAB_HOME")
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        roaming = os.environ.get("APPDATA")
        return (Path(roaming) if roaming else Path.home() / "AppData" / "Roaming") / "latentlab"
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share") / "latentlab"


def models_dir() -> Path:
    """The default folder for saved models: ``data_dir()/models``."""
    return data_dir() / "models"


def package_dirs() -> tuple[Path, ...]:
    """The installed package and its bundled resources (also those ``$LATENTLAB_RESOURCES``
    points at): never written to."""
    package = Path(__file__).resolve().parent
    return (package, package.parent / "resources", resources_dir().resolve())


def inside_package(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` (which need not exist) lies in the package or its resources."""
    target = Path(path).expanduser().resolve()
    return any(target == root or root in target.parents for root in package_dirs())


def free_name(folder: Path, stem: str, suffix: str = "") -> Path:
    """``folder/stem+suffix``, or ``stem-2``, ``stem-3``… when that exists already."""
    candidate = folder / f"{stem}{suffix}"
    n = 2
    while candidate.exists():
        candidate = folder / f"{stem}-{n}{suffix}"
        n += 1
    return candidate
