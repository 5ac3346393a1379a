"""The comparison window: the same path through several models, aligned, with metrics."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from latentlab.ui.analysis_jobs import Cancelled, CompareRequest, run_comparison
from latentlab.ui.compare_window import TABLE_COLUMNS, CompareWindow

NAMES = [str(d) for d in range(10)]


@pytest.fixture
def compare(qtbot):
    window = CompareWindow(class_names=NAMES, test_count=1000)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.shutdown()


def three_models(checkpoints):
    return [checkpoints["vae"], checkpoints["vae4"], checkpoints["gan"]]


def test_a_comparison_of_three_models_renders(qtbot, compare, checkpoints, tmp_path):
    assert compare.add_paths(three_models(checkpoints)) == 3
    assert compare.model_list.count() == 3 and compare.compare_button.isEnabled()
    compare.class_a.setCurrentIndex(3)
    compare.class_b.setCurrentIndex(8)
    compare.steps.setValue(8)
    progress = []
    compare.progress.valueChanged.connect(progress.append)
    with qtbot.waitSignal(compare.comparisonShown, timeout=120_000):
        qtbot.mouseClick(compare.compare_button, Qt.MouseButton.LeftButton)
        assert compare.busy and compare.cancel_button.isEnabled() and not compare.compare_button.isEnabled()
    qtbot.waitUntil(lambda: not compare.busy, timeout=10_000)
    assert progress and progress[-1] == compare.progress.maximum()

    result = compare.result
    assert result.names == ["vae", "vae4", "gan"]
    assert result.start_class == 3 and result.end_class == 8
    assert all(strip.frames.shape == (8, 1, 28, 28) for strip in result.strips)
    assert result.strips[1].latents.shape == (8, 4)  # each model its own latent space

    canvases = compare.strip_canvases()
    assert len(canvases) == 3 and all(c.count() == 8 for c in canvases)
    qtbot.waitUntil(lambda: canvases[0].width() > 400)
    for col in (0, 4, 7):  # aligned: frame i of every model in one column
        xs = {c.mapTo(compare, c.frame_rect(col).topLeft()).x() for c in canvases}
        assert len(xs) == 1
    assert canvases[0].caption(0)[0]  # each frame carries the judge's class and confidence

    table = compare.table
    assert table.rowCount() == 3 and table.columnCount() == len(TABLE_COLUMNS)
    for row, strip in enumerate(result.strips):
        m = strip.metrics
        assert table.item(row, 0).text() == strip.name
        assert table.item(row, 2).text() == f"{m.purity:.0%}"
        assert float(table.item(row, 4).text()) == pytest.approx(m.smoothness, abs=1e-4)
        assert table.item(row, 1).text().split(" → ")[0] == NAMES[m.sequence[0]]
    assert compare.sources_a.pixmap() is not None and not compare.sources_a.pixmap().isNull()

    png = compare.export_png(tmp_path / "comparison.png")
    with Image.open(png) as img:
        assert img.format == "PNG" and img.width > 8 * 28 * 3 and img.height > 3 * 28 * 3
    compare.grab().save(str(tmp_path / "window.png"))  # renders without error


def test_the_same_images_start_every_models_path(qtbot, compare, checkpoints, mnist):
    from latentlab.models.checkpoint import load_checkpoint

    compare.add_paths([checkpoints["vae"], checkpoints["vae4"]])
    compare.source_box.setCurrentIndex(compare.source_box.findData("images"))
    compare.image_a.setValue(11)
    compare.image_b.setValue(42)
    compare.mode_box.setCurrentIndex(compare.mode_box.findData("slerp"))
    with qtbot.waitSignal(compare.comparisonShown, timeout=60_000):
        assert compare.compare()
    result = compare.result
    assert result.mode == "slerp" and result.n_frames == compare.steps.value()
    np.testing.assert_allclose(result.sources.numpy(), mnist.test.images[[11, 42]].numpy())
    assert result.start_class == int(mnist.test.labels[11])
    vae = load_checkpoint(checkpoints["vae"]).model.eval()
    import torch

    with torch.no_grad():
        z = vae.encode(mnist.test.images[[11, 42]])
    np.testing.assert_allclose(result.strips[0].latents[[0, -1]].numpy(), z.numpy(), atol=1e-4)


def test_compare_needs_two_models(compare, checkpoints, dialog_log):
    dialog_log.expect_errors = True
    compare.add_paths([checkpoints["vae"]])
    assert not compare.compare_button.isEnabled()
    assert not compare.compare()
    assert "Load 2 to 6" in dialog_log.errors[-1][1]


def test_adding_skips_duplicates_and_stops_at_six(compare, checkpoints, tmp_path, dialog_log):
    import shutil

    dialog_log.expect_errors = True
    assert compare.add_paths([checkpoints["vae"], checkpoints["vae"]]) == 1
    copies = []
    for i in range(6):
        copy = tmp_path / f"vae-copy{i}"
        shutil.copytree(checkpoints["vae"], copy)
        copies.append(copy)
    assert compare.add_paths(copies) == 5
    assert compare.model_list.count() == 6 and "at most 6" in dialog_log.errors[-1][1]
    compare.model_list.item(0).setSelected(True)
    compare.remove_selected()
    assert compare.model_list.count() == 5 and compare.paths()[0] == copies[0]


def test_a_broken_checkpoint_is_named_and_not_added(compare, tmp_path, dialog_log):
    dialog_log.expect_errors = True
    broken = tmp_path / "nothing.safetensors"
    broken.write_bytes(b"not a checkpoint")
    assert compare.add_paths([broken]) == 0
    assert "nothing.safetensors" in dialog_log.errors[-1][1]


def test_cancel_stops_between_models(checkpoints):
    cancel = threading.Event()
    reports = []

    def report(done, total, message):
        reports.append(message)
        if len(reports) == 2:
            cancel.set()  # the user presses Cancel while the second model loads

    request = CompareRequest(three_models(checkpoints), ["a", "b", "c"], "classes", 3, 8)
    with pytest.raises(Cancelled):
        run_comparison(request, cancel, report)
    assert reports == ["Loading a…", "Loading b…"]


def test_beta_ladder_loads_the_shipped_ladder_that_is_installed(compare, monkeypatch, tmp_path, mnist):
    from ui_helpers import tiny_model

    from latentlab import pretrained
    from latentlab.models.checkpoint import save_checkpoint

    for key, beta in (("vae-beta0.5", 0.5), ("vae", 1.0), ("vae-beta2", 2.0)):
        save_checkpoint(tmp_path / f"{key}.safetensors", tiny_model("vae", beta=beta), dataset=mnist.info())
    monkeypatch.setattr(pretrained, "pretrained_dir", lambda: tmp_path)
    compare._update_pretrained_buttons()
    assert compare.ladder_button.isEnabled()
    assert "3 of 5 installed" in compare.ladder_button.toolTip()
    compare.ladder_button.click()
    assert compare.names() == ["vae-beta0.5", "vae", "vae-beta2"]  # in order of β


def test_closing_the_main_window_waits_for_a_running_comparison(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])
    window.analysis.compare_action.trigger()
    compare = window.analysis.compare_window
    assert compare.isVisible() and compare.paths() == [checkpoints["vae"]]  # starts with the open model
    compare.add_paths([checkpoints["gan"]])
    assert compare.compare()
    window.shutdown()  # as closing the window does: no QThread may be left running
    assert not compare.busy and not compare.isVisible()
