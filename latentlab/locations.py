"""Where latentlab's files live: the bundled resources, the user cache and the user's data folder.

Nothing latentlab does writes inside the installed package (``package_dirs``): a shipped
checkpoint is a template, and saving it proposes a folder in ``data_dir()`` instead.

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
    return _user_folder("LATENTLAB_CACHE", ("LOCALAPPDATA", ("AppData", "Local")),
                        ("XDG_CACHE_HOME", (".cache",)), "the cache folder", DatasetError)


def data_dir() -> Path:
    """latentlab's folder for the user's own files (saved models, autosaves, rescued
    checkpoints), created on demand.

    ``$LATENTLAB_HOME``, else ``%APPDATA%\\latentlab`` on Windows, else
    ``$XDG_DATA_HOME/latentlab`` or ``~/.local/share/latentlab``. Never inside the package.
    """
    return _user_folder("LATENTLAB_HOME", ("APPDATA", ("AppData", "Roaming")),
                        ("XDG_DATA_HOME", (".local", "share")), "latentlab's data folder", OutputError)


def _user_folder(override_var: str, windows: tuple[str, tuple[str, ...]], xdg: tuple[str, tuple[str, ...]],
                 what: str, error: type[Exception]) -> Path:
    """``$override_var``, else the platform's folder (a Windows variable or the XDG one, each
    with its default under the home folder) plus ``latentlab``; created, or ``error``."""
    override = os.environ.get(override_var)
    if override:
        path = Path(override).expanduser()
    else:
        var, default = windows if sys.platform == "win32" else xdg
        base = os.environ.get(var)
        usable = base and (sys.platform == "win32" or Path(base).is_absolute())
        path = (Path(base) if usable else Path.home().joinpath(*default)) / "latentlab"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise error(
            f"cannot create {what} {path} ({err.strerror or err}); set {override_var} to a writable folder"
        ) from err
    return path


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
