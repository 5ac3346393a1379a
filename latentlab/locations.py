"""Where latentlab's files live: the bundled resources, the user cache and the user's data folder.

Kept free of PyTorch (and of every other heavy import), so the window can find the
shipped checkpoints before PyTorch has loaded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from latentlab.errors import DatasetError, OutputError


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
    """latentlab's folder for the user's own files (autosaves, rescued checkpoints), created on demand.

    ``$LATENTLAB_DATA``, else ``%APPDATA%\\latentlab`` on Windows, else
    ``$XDG_DATA_HOME/latentlab`` or ``~/.local/share/latentlab``. Never inside the package.
    """
    override = os.environ.get("LATENTLAB_DATA")
    if override:
        path = Path(override).expanduser()
    elif sys.platform == "win32":
        roaming = os.environ.get("APPDATA")
        path = (Path(roaming) if roaming else Path.home() / "AppData" / "Roaming") / "latentlab"
    else:
        xdg = os.environ.get("XDG_DATA_HOME")
        path = (Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share") / "latentlab"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(
            f"cannot create latentlab's data folder {path} ({err.strerror or err}); "
            f"set LATENTLAB_DATA to a writable folder"
        ) from err
    return path
