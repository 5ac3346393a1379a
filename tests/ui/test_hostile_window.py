"""The window meets hostile files (issue #7): each bad file is one dialog and the previous
model stays fully installed and working; a checkpoint's folder dataset is read only when the
user says yes, and without it the model opens with no points and a caption saying why."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from tests.hostile.make_cases import OPENS, REFUSED, make_cases
from tests.hostile.watch import watch


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return {c.name: c for c in make_cases(tmp_path_factory.mktemp("hostile-window"))}


def click_map(qtbot, window, fx: float, fy: float) -> None:
    """Move onto a point of the visible map (fractions of its region) and click it."""
    lmap = window.latent_map
    (x0, x1), (y0, y1) = lmap.visible_region()
    pos = lmap.viewport_position(x0 + fx * (x1 - x0), y0 + fy * (y1 - y0))
    viewport = lmap.plot.viewport()
    qtbot.mouseMove(viewport, pos + QPoint(-8, 8))
    qtbot.mouseMove(viewport, pos)
    with qtbot.waitSignal(window.explorer.decoded, timeout=3000):
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=pos)


def test_every_bad_file_is_one_dialog_and_the_previous_model_keeps_working(qtbot, window, checkpoints, cases,
                                                                           dialog_log):
    dialog_log.expect_errors = True
    assert window.open_checkpoint(checkpoints["vae"])
    good, points = window.session, window.latent_map.point_count()
    refused = [c for c in cases.values() if c.expect == REFUSED]
    for i, case in enumerate(refused, start=1):
        assert not window.open_checkpoint(case.path), case.name
        assert len(dialog_log.errors) == i, (case.name, dialog_log.errors[i - 1:])
        title, message = dialog_log.errors[-1]
        assert "Unexpected" not in title + message and "Traceback" not in message, (case.name, message)
        assert window.session is good and window.explorer.session is good, case.name
    assert window.latent_map.point_count() == points and window.status_epoch.text() == "epoch 3"
    assert window.windowTitle().startswith("latentlab — vae")
    before = window.decoded_view.image().copy()
    click_map(qtbot, window, 0.8, 0.25)  # the previous model still decodes what is clicked
    assert not np.allclose(window.decoded_view.image(), before)


def test_strange_but_valid_files_open_without_a_dialog(qtbot, window, cases):
    for case in (c for c in cases.values() if c.expect == OPENS):
        assert window.open_checkpoint(case.path), case.name
        assert window.session.path == case.path
    assert window.open_checkpoint(cases["html-class-names"].path)
    assert window.latent_map.class_names == [str(d) for d in range(10)]  # the bundled data's, not the file's
    assert window.open_checkpoint(cases["nan-metrics"].path)
    assert len(window.beta_panel.kl.values()) == 0  # a NaN in kl_per_dim: no bars rather than a crash


def test_a_recorded_folder_is_read_only_after_the_user_says_yes(qtbot, window, checkpoints, cases, dialog_log):
    case = cases["dataset-folder"]
    private = case.path.parent / "private"
    with watch(private) as seen:
        assert window.open_checkpoint(case.path)
        window.wait_until_idle(30)
    assert len(dialog_log.data_questions) == 1 and str(private) in dialog_log.data_questions[0]
    assert not seen.reads, seen.reads[:3]
    assert window.latent_map.point_count() == 0
    assert window.latent_map._caption.startswith("No points: its data (folder:")
    assert "not loaded" in window.status_dataset.text()

    before = window.decoded_view.image().copy()  # decoding works without data
    click_map(qtbot, window, 0.85, 0.2)
    assert not np.allclose(window.decoded_view.image(), before)
    window.grid_action.trigger()  # G: the manifold grid of the visible region
    qtbot.waitUntil(lambda: window.decoded_view.grid_item.image is not None, timeout=10_000)
    window.grid_action.trigger()

    dialog_log.expect_errors = True
    assert not window.training.fine_tune_at(1.0)
    assert dialog_log.errors[-1][0] == "No data to train on"
    assert not window.analysis.interpolate()  # class centroids need data; map points do not
    assert "opened without its data" in dialog_log.errors[-1][1]
    assert not window.analysis.outliers_action.isEnabled()

    dialog_log.read_data = True  # open it again and allow its data
    with watch(private) as seen:
        assert window.open_checkpoint(case.path)
        window.wait_until_idle(30)
    assert seen.reads and window.session.has_data
    assert window.latent_map.class_names == ["cat", "dog"] and window.latent_map.point_count() == 2


def test_a_download_named_by_a_file_is_asked_for(qtbot, window, cases, dialog_log, tmp_path, monkeypatch):
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))
    with watch(tmp_path) as seen:
        assert window.open_checkpoint(cases["dataset-download"].path)
    assert "download" in dialog_log.data_questions[0] and not seen.network
    assert window.latent_map.point_count() == 0 and "downloads it" in window.latent_map._caption


def test_a_failure_while_installing_puts_the_previous_session_back(qtbot, window, checkpoints, dialog_log,
                                                                    monkeypatch):
    dialog_log.expect_errors = True
    assert window.open_checkpoint(checkpoints["vae"])
    good = window.session
    original = window.explorer.set_session

    def fail_for_the_new_one(session, *args, **kwargs):
        if session is not good:
            raise RuntimeError("installing failed")
        return original(session, *args, **kwargs)

    monkeypatch.setattr(window.explorer, "set_session", fail_for_the_new_one)
    assert not window.open_checkpoint(checkpoints["gan"])
    assert len(dialog_log.errors) == 1 and "installing failed" in dialog_log.errors[0][1]
    assert window.session is good and window.explorer.session is good
    assert window.latent_map.point_count() == 1000 and window.status_model.text().startswith("model: vae")


def test_a_gan_without_its_data_still_shows_its_samples(qtbot, window, cases, tmp_path, dialog_log):
    from latentlab.models.checkpoint import save_checkpoint
    from ui_helpers import tiny_model

    private = cases["dataset-folder"].path.parent / "private"
    path = save_checkpoint(tmp_path / "gan.safetensors", tiny_model("gan"),
                           dataset={"name": f"folder:{private}", "class_names": ["cat", "dog"]})
    with watch(private) as seen:
        assert window.open_checkpoint(path)
        window.wait_until_idle(30)
    assert not seen.reads and len(dialog_log.data_questions) == 1
    assert window.latent_map.point_count() == 2000  # prior samples are not data
    assert window.latent_map._caption.startswith("2,000 samples z ~ N(0, I), no classes: its data (folder:")
    assert "without data" in window.statusBar().currentMessage()


def test_a_class_name_from_a_file_is_shown_as_text_under_the_decoded_image(qtbot, tmp_path):
    """A folder's or checkpoint's class name reaches the judge's rich-text readout: markup in
    it must be shown as text, not run (an <img src> would make Qt read and show that file)."""
    from PySide6.QtGui import QColor, QImage

    from latentlab.ui.panels.decoded_view import DecodedView

    secret = tmp_path / "secret.png"
    picture = QImage(300, 300, QImage.Format.Format_RGB32)
    picture.fill(QColor("white"))
    assert picture.save(str(secret))
    view = DecodedView()
    qtbot.addWidget(view)
    view.set_judgement(f'Judge: <img src="{secret}">  (99% sure)', QColor("red"))
    assert "&lt;img" in view.readout.text() and "<img" not in view.readout.text()
    assert view.readout.sizeHint().height() < 150  # the 300 px picture was not loaded into it
