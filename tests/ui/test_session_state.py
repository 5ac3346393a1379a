"""Session state: saved when the window closes, restored on the next start, garbage ignored."""

from __future__ import annotations

import shutil

import pytest
from PySide6.QtCore import QByteArray, QSettings

from conftest import OFFSCREEN_NOISE
from pretrained_helpers import pretrained  # noqa: F401 - a fixture

from latentlab.ui.main import session_state
from latentlab.ui.main.session_state import SessionState


def ini(tmp_path, name="state.ini") -> QSettings:
    return QSettings(str(tmp_path / name), QSettings.Format.IniFormat)


def arrange(window, path):
    """Open ``path`` (a 4-D VAE) and move everything session state keeps away from its default."""
    window.resize(760, 700)  # inside the offscreen screen (800 x 800), so geometry restores exactly
    assert window.open_checkpoint(path)
    lmap = window.latent_map
    window.projection_picker.set_kind("slice")  # a 4-D latent opens in PCA
    lmap.dim_x.setValue(2)
    lmap.dim_y.setValue(3)
    lmap.set_region((-1.25, 0.75), (-0.5, 1.5))
    window.explorer.set_marker(0.3, -0.2)
    window.grid_action.setChecked(True)
    window.splitter.setSizes([500, 300])


def test_state_round_trips_through_a_settings_file(qtbot, make_window, checkpoints, tmp_path):
    path = tmp_path / "vae4.safetensors"
    shutil.copy(checkpoints["vae4"], path)
    window = make_window()
    arrange(window, path)
    qtbot.wait(10)
    state = window.capture_state()
    session_state.save(ini(tmp_path), state)

    loaded = session_state.load(ini(tmp_path))
    assert loaded.models == [str(path.resolve())] and loaded.projection == "slice"
    assert loaded.dims == (2, 3) and loaded.marker == pytest.approx((0.3, -0.2))
    assert loaded.view == pytest.approx(state.view) and loaded.grid and not loaded.presentation
    assert loaded.geometry == state.geometry and loaded.splitters == state.splitters


def test_closing_saves_and_the_next_start_restores(qtbot, make_window, checkpoints, tmp_path):
    path = tmp_path / "vae4.safetensors"
    shutil.copy(checkpoints["vae4"], path)
    first = make_window()
    arrange(first, path)
    view = first.latent_map.visible_region()
    sizes = first.splitter.sizes()
    settings_file = first.settings.fileName()
    first.close()  # saves

    settings = QSettings(settings_file, QSettings.Format.IniFormat)
    state = session_state.load(settings)
    assert state.models == [str(path.resolve())]
    second = make_window()
    second.restore_layout(state)
    startup = second.make_startup(None, state)
    startup.start()
    qtbot.waitUntil(lambda: second.session is not None, timeout=20_000)
    startup.wait()
    assert second.session.path == path
    lmap = second.latent_map
    assert second.projection_picker.kind() == "slice" and second.explorer.projection.kind == "slice"
    assert lmap.dims() == (2, 3) and lmap.dim_x.isVisible()
    assert lmap.plot_item.getAxis("left").labelText.startswith("z3")
    assert lmap.marker_position() == pytest.approx((0.3, -0.2))
    for got, want in zip(lmap.visible_region(), view):
        assert got == pytest.approx(want, abs=1e-6)
    assert second.decoded_view.grid_mode
    restored = second.splitter.sizes()
    assert all(abs(a - b) <= 4 for a, b in zip(restored, sizes)), (restored, sizes)  # a frame's pixels apart


def test_closing_in_presentation_mode_saves_it_with_the_normal_geometry(qtbot, make_window, tmp_path):
    window = make_window()
    window.resize(1000, 700)
    qtbot.wait(10)
    normal = window.saveGeometry()
    window.presentation.set_active(True)
    qtbot.waitUntil(window.isFullScreen, timeout=5000)
    try:
        state = window.capture_state()
    finally:
        window.presentation.set_active(False)
    assert state.presentation and state.geometry == normal


def test_a_vanished_model_falls_back_to_the_default_with_a_message(qtbot, make_window, tmp_path,
                                                                   pretrained):  # noqa: F811
    state = SessionState(models=[str(tmp_path / "gone.safetensors")], view=(0.0, 1.0, 0.0, 1.0),
                         marker=(0.5, 0.5))
    window = make_window()
    startup = window.make_startup(None, state)
    startup.start()
    qtbot.waitUntil(lambda: window.session is not None, timeout=20_000)
    startup.wait()
    assert window.session.path == pretrained / "vae.safetensors"
    assert "gone.safetensors is gone" in window.statusBar().currentMessage()
    assert window.latent_map.marker_position() == (0.0, 0.0)  # the old view is not forced on another model


GARBAGE = {
    "models": 5,
    "projection": "tsne",
    "view": "abc",
    "dims": [1, 1],
    "marker": ["x", 2],
    "geometry": "not bytes",
    "windowState": [1, 2],
    "splitters": "zzz",
    "presentation": "maybe",
    "grid": 3.5,
}


@pytest.mark.parametrize("key", sorted(GARBAGE))
def test_a_malformed_key_is_ignored(tmp_path, key):
    settings = ini(tmp_path)
    good = SessionState(models=["/x/m.safetensors"], projection="umap", view=(0.0, 1.0, 2.0, 3.0), dims=(0, 1), marker=(1.0, 2.0),
                        geometry=QByteArray(b"g"), window_state=QByteArray(b"w"), splitters=[QByteArray(b"s")],
                        presentation=True, grid=True)
    session_state.save(settings, good)
    settings.setValue(f"{session_state.GROUP}/{key}", GARBAGE[key])
    loaded = session_state.load(ini(tmp_path))
    default = SessionState()
    field = {"windowState": "window_state"}.get(key, key)
    assert getattr(loaded, field) == getattr(default, field)
    others = [f for f in ("models", "projection", "view", "dims", "marker", "presentation", "grid") if f != field]
    for name in others:
        assert getattr(loaded, name) == getattr(good, name), name


# Qt's own complaint about the file, provoked here (and the offscreen noise of conftest).
@pytest.mark.qt_log_ignore("QVariant::load", OFFSCREEN_NOISE)
def test_a_garbage_settings_file_starts_like_a_fresh_install(make_window, tmp_path):
    (tmp_path / "garbage.ini").write_bytes(b"[lastSession]\nview=@ByteArray(\\0\\x1)\nmodels=\x00\xff\ndims=1,2,3\n"
                                           b"geometry=@Variant(\\0\\0\\0\\x7f\\0\\0\\0\\x05)\n")
    state = session_state.load(ini(tmp_path, "garbage.ini"))
    assert state.view is None and state.dims is None and state.geometry is None
    window = make_window()
    window.restore_layout(state)  # nothing to restore, nothing raised
    assert window.session is None
