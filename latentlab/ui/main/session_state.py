"""The window's state between runs: open model, map projection (slice, PCA or UMAP), map
view, slice dims, marker, layout, presentation mode. Saved in the window's QSettings when it closes, restored on the next
start.

Every key is read on its own and checked: a value of the wrong type or shape (an edited
or corrupted settings file) is ignored, never an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QSplitter, QWidget

GROUP = "lastSession"
KEYS = ("models", "projection", "view", "dims", "marker", "geometry", "windowState", "splitters", "presentation",
        "grid")
PROJECTIONS = ("slice", "pca", "umap")


@dataclass
class SessionState:
    models: list[str] = field(default_factory=list)  # paths of the open models (the first is shown)
    projection: str | None = None  # "slice", "pca" or "umap" (the map's picker)
    view: tuple[float, float, float, float] | None = None  # x0, x1, y0, y1 of the map
    dims: tuple[int, int] | None = None  # latent dims on the map's x and y
    marker: tuple[float, float] | None = None  # plane coordinates
    geometry: QByteArray | None = None
    window_state: QByteArray | None = None
    splitters: list[QByteArray] = field(default_factory=list)
    presentation: bool = False
    grid: bool = False


# --------------------------------------------------------------- reading
def _floats(value, n: int) -> tuple[float, ...] | None:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or len(value) != n:
        return None
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    return numbers if all(math.isfinite(v) for v in numbers) else None


def _ints(value, n: int) -> tuple[int, ...] | None:
    numbers = _floats(value, n)
    if numbers is None or any(v != int(v) or v < 0 for v in numbers):
        return None
    return tuple(int(v) for v in numbers)


def _bool(value) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _bytes(value) -> QByteArray | None:
    if isinstance(value, QByteArray) and not value.isEmpty():
        return value
    return None


def _paths(value) -> list[str]:
    if isinstance(value, str):  # QSettings gives a lone string for a one-element list
        value = [value]
    if not isinstance(value, (list, tuple)):
        return []
    return [v for v in value if isinstance(v, str) and v]


def load(settings: QSettings) -> SessionState:
    """The saved state; what is missing or malformed keeps its default."""
    def get(key):
        return settings.value(f"{GROUP}/{key}")

    view = _floats(get("view"), 4)
    if view is not None and not (view[0] < view[1] and view[2] < view[3]):
        view = None
    dims = _ints(get("dims"), 2)
    if dims is not None and dims[0] == dims[1]:
        dims = None
    splitters = get("splitters")
    projection = get("projection")
    return SessionState(
        models=_paths(get("models")),
        projection=projection if isinstance(projection, str) and projection in PROJECTIONS else None,
        view=view,
        dims=dims,
        marker=_floats(get("marker"), 2),
        geometry=_bytes(get("geometry")),
        window_state=_bytes(get("windowState")),
        splitters=[b for b in (splitters if isinstance(splitters, list) else []) if _bytes(b) is not None],
        presentation=bool(_bool(get("presentation"))),
        grid=bool(_bool(get("grid"))),
    )


def save(settings: QSettings, state: SessionState) -> None:
    settings.remove(GROUP)
    values = {
        "models": state.models,
        "projection": state.projection,
        "view": list(state.view) if state.view else None,
        "dims": list(state.dims) if state.dims else None,
        "marker": list(state.marker) if state.marker else None,
        "geometry": state.geometry,
        "windowState": state.window_state,
        "splitters": state.splitters or None,
        "presentation": state.presentation,
        "grid": state.grid,
    }
    for key, value in values.items():
        if value is not None:
            settings.setValue(f"{GROUP}/{key}", value)
    settings.sync()


# ------------------------------------------------------- window <-> state
def splitters_of(splitter: QSplitter) -> list[QSplitter]:
    """The window's outermost ``splitter`` and the ones inside it, in a stable order."""
    return [splitter, *splitter.findChildren(QSplitter)]


def capture(window: QWidget, *, splitter: QSplitter, presentation, shown, latent_map, projection: str,
            grid: bool) -> SessionState:
    """The state now: ``window``'s geometry (the normal one even in ``presentation`` mode),
    docks and splitters, and the view of ``shown`` (the model on the map) on ``latent_map``."""
    presenting = presentation.active
    state = SessionState(
        geometry=presentation.normal_geometry() if presenting else window.saveGeometry(),
        window_state=window.saveState(),
        splitters=[s.saveState() for s in splitters_of(splitter)],
        presentation=presenting,
        grid=grid,
    )
    if shown is not None and shown.path is not None:
        state.models = [str(Path(shown.path).resolve())]
        state.projection = projection
        if not latent_map.following:  # a view the user chose; else the next start frames the points
            (x0, x1), (y0, y1) = latent_map.visible_region()
            state.view = (x0, x1, y0, y1)
        state.dims = latent_map.dims()
        state.marker = latent_map.marker_position()
    return state


def restore_layout(window: QWidget, splitter: QSplitter, state: SessionState,
                   fit_into_screen: Callable[[], None]) -> None:
    """Geometry, docks and splitters (before the window is shown). A geometry saved on a
    larger screen (or one no longer attached) is fitted into the screen it opens on."""
    if state.geometry is not None:
        window.restoreGeometry(state.geometry)
        fit_into_screen()
    if state.window_state is not None:
        window.restoreState(state.window_state)
    for inner, saved in zip(splitters_of(splitter), state.splitters):
        inner.restoreState(saved)


def restore_view(state: SessionState, *, shown, explorer, picker, grid_action) -> bool:
    """Projection, slice dims, map view, marker and grid of the model the state was saved with.

    Only when that model is ``shown`` (the session, or the first screen's preview of it);
    True when restored. A UMAP view and marker are in the layout's coordinates, so they
    are applied when the layout is shown (from the cache within a poll interval, else
    after the fit).
    """
    session = shown
    if session is None or session.path is None or not state.models:
        return False
    if str(Path(session.path).resolve()) != state.models[0]:
        return False
    lmap = explorer.map
    if state.projection is not None and session.latent_dim > 2:
        picker.set_kind(state.projection)
    if state.dims is not None and max(state.dims) < session.latent_dim and session.latent_dim > 2:
        lmap.dim_x.setValue(state.dims[0])
        lmap.dim_y.setValue(state.dims[1])
    view = None
    if state.view is not None:
        x0, x1, y0, y1 = state.view
        view = ((x0, x1), (y0, y1))
    if explorer.waiting_for_umap:
        explorer.restore_on_umap(view, state.marker)
    else:
        if view is not None:
            lmap.following = False
            lmap.set_region(*view)
        if state.marker is not None:
            explorer.set_marker(*state.marker)
    if state.grid:
        grid_action.setChecked(True)
    return True
