"""The comparison window: the same path through several models, aligned, with metrics."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from latentlab.app.analysis_jobs import CompareRequest, run_comparison
from latentlab.app.tasks import Cancelled, TaskState
from latentlab.latent.compare import MAX_MODELS
from latentlab.ui.analysis.compare_window import CLEARED_MODELS, TABLE_COLUMNS, CompareWindow

NAMES = [str(d) for d in range(10)]


@pytest.fixture
def compare(qtbot):
    window = CompareWindow(class_names=NAMES, test_count=1000)
    qtbot.addWidget(window)
    window.resize(1366, 768)  # the offscreen screen is 800x600
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
    col = {title: k for k, title in enumerate(TABLE_COLUMNS)}
    for row, strip in enumerate(result.strips):
        m = strip.metrics
        assert table.item(row, col["Model"]).text() == strip.name
        assert table.item(row, col["Verdict"]).text() == m.verdict.headline()
        assert table.item(row, col["Purity"]).text() == f"{m.purity:.0%}"
        assert float(table.item(row, col["Smoothness"]).text()) == pytest.approx(m.smoothness, abs=1e-4)
        assert table.item(row, col["Class sequence"]).text().split(" → ")[0] == NAMES[m.sequence[0]]
    for k, title in enumerate(TABLE_COLUMNS):  # every measure explains itself
        assert table.horizontalHeaderItem(k).toolTip()
    assert "share of frames" in table.horizontalHeaderItem(col["Purity"]).toolTip()
    assert "pixel change" in table.horizontalHeaderItem(col["Smoothness"]).toolTip()
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
    assert f"Load 2 to {MAX_MODELS}" in dialog_log.errors[-1][1]


def copies_of(path, n, tmp_path):
    import shutil

    copies = []
    for i in range(n):
        copy = tmp_path / f"vae-copy{i}"
        shutil.copytree(path, copy)
        copies.append(copy)
    return copies


def test_adding_skips_duplicates_and_stops_at_the_limit(compare, checkpoints, tmp_path, dialog_log):
    dialog_log.expect_errors = True
    assert compare.add_paths([checkpoints["vae"], checkpoints["vae"]]) == 1
    copies = copies_of(checkpoints["vae"], MAX_MODELS, tmp_path)
    assert compare.add_paths(copies) == MAX_MODELS - 1
    assert compare.model_list.count() == MAX_MODELS and f"at most {MAX_MODELS}" in dialog_log.errors[-1][1]
    compare.model_list.item(0).setSelected(True)
    compare.remove_selected()
    assert compare.model_list.count() == MAX_MODELS - 1 and compare.paths()[0] == copies[0]


def test_a_broken_checkpoint_is_named_and_not_added(compare, tmp_path, dialog_log):
    dialog_log.expect_errors = True
    broken = tmp_path / "nothing.safetensors"
    broken.write_bytes(b"not a checkpoint")
    assert compare.add_paths([broken]) == 0
    assert "nothing.safetensors" in dialog_log.errors[-1][1]


def test_cancel_stops_between_models(checkpoints):
    state = TaskState()
    reports = []

    def report(fraction, message, eta_s):
        reports.append(message)
        if len(reports) == 2:
            state.cancel()  # the user presses Cancel while the second model loads

    state.progress_sink = report
    request = CompareRequest(three_models(checkpoints), ["a", "b", "c"], "classes", 3, 8)
    with pytest.raises(Cancelled):
        run_comparison(request, state)
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
    # in order of β, each named by its title in the catalogue, not its file name
    assert compare.names() == ["β-VAE, β = 0.5 (2-D)", "VAE (β = 1, 2-D)", "β-VAE, β = 2 (2-D)"]


def test_closing_the_main_window_waits_for_a_running_comparison(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])
    window.analysis.compare_action.trigger()
    compare = window.analysis.compare_window
    assert compare.isVisible() and compare.paths() == [checkpoints["vae"]]  # starts with the open model
    compare.add_paths([checkpoints["gan"]])
    assert compare.compare()
    window.shutdown()  # as closing the window does: no QThread may be left running
    assert not compare.busy and not compare.isVisible()


def run(qtbot, compare):
    with qtbot.waitSignal(compare.comparisonShown, timeout=120_000):
        qtbot.mouseClick(compare.compare_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not compare.busy, timeout=10_000)


def test_all_pretrained_loads_every_shipped_model_and_says_so(compare, monkeypatch, tmp_path, mnist):
    from ui_helpers import tiny_model

    from latentlab import pretrained
    from latentlab.models.checkpoint import save_checkpoint

    # all 11 shipped unconditional models (the conditional ones take the class path instead)
    assert compare.all_pretrained_paths() == [e.path for e in pretrained.catalogue() if not e.group == "conditional"]
    for key in ("vae", "dae", "vae-beta4", "gan"):
        family = "gan" if key == "gan" else ("ae" if key == "dae" else "vae")
        save_checkpoint(tmp_path / f"{key}.safetensors", tiny_model(family), dataset=mnist.info())
    monkeypatch.setattr(pretrained, "pretrained_dir", lambda: tmp_path)
    compare._update_pretrained_buttons()
    assert "4 of 11 installed" in compare.all_button.toolTip()
    compare.all_button.click()
    assert compare.names() == ["VAE (β = 1, 2-D)", "Denoising autoencoder (2-D)", "β-VAE, β = 4 (2-D)",
                               "GAN, DCGAN-style (2-D)"]
    assert compare.models_note.isVisible() and "7 of the 11 are not installed" in compare.models_note.text()


def test_old_results_go_grey_when_the_path_changes_and_go_away_when_the_models_do(qtbot, compare, checkpoints):
    compare.add_paths([checkpoints["vae"], checkpoints["vae4"]])
    compare.steps.setValue(6)
    run(qtbot, compare)
    assert compare.export_button.isEnabled() and len(compare.strip_canvases()) == 2
    qtbot.keyClicks(compare.class_b, "5")  # the user picks another end
    assert compare.stale and all(c.stale for c in compare.strip_canvases())
    assert "Out of date" in compare.summary.text() and not compare.table.isEnabled()
    assert not compare.export_button.isEnabled()  # a picture of the old path would be mislabelled
    run(qtbot, compare)
    assert not compare.stale and compare.result.end_class == 5 and compare.table.isEnabled()
    compare.model_list.item(1).setSelected(True)
    qtbot.mouseClick(compare.remove_button, Qt.MouseButton.LeftButton)
    assert compare.result is None and compare.strip_canvases() == [] and compare.table.rowCount() == 0
    assert compare.summary.text() == CLEARED_MODELS and compare.sources_a.pixmap().isNull()
    assert not compare.export_button.isEnabled()


@pytest.mark.parametrize("keys", [(Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier),
                                  (Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)])
def test_escape_and_ctrl_w_close_the_window(qtbot, compare, keys):
    compare.activateWindow()
    qtbot.waitUntil(compare.isActiveWindow)
    qtbot.keyClick(compare.model_list, *keys)
    assert not compare.isVisible()


def test_five_models_fill_their_rows_with_large_readable_frames(qtbot, checkpoints, tmp_path):
    """At 1366x768 and 1920x1080: frames much larger than the old 36 px, rows filled, captions
    apart; the screenshots are saved to look at."""
    from PySide6.QtGui import QFontMetricsF

    paths = copies_of(checkpoints["vae"], 5, tmp_path)
    for size, smallest in (((1366, 768), 50), ((1920, 1080), 90)):
        compare = CompareWindow(class_names=NAMES, test_count=1000)
        qtbot.addWidget(compare)
        compare.resize(*size)
        compare.show()
        qtbot.waitExposed(compare)
        compare.add_paths(paths)
        run(qtbot, compare)
        canvases = compare.strip_canvases()
        qtbot.waitUntil(lambda: canvases[-1].visibleRegion().boundingRect().height() >= canvases[-1].height())
        for canvas in canvases:  # every row visible without scrolling, frames large, the row filled
            cell = canvas.cell_size()
            assert cell >= smallest, (size, cell)
            span = canvas.frame_rect(11).right() - canvas.frame_rect(0).left()
            assert span >= 0.8 * canvas.width(), (size, span, canvas.width())
            font, texts = canvas.caption_texts()
            assert all(QFontMetricsF(font).horizontalAdvance(t) <= canvas.caption_room() for t in texts)
        assert compare.grab().save(str(tmp_path / f"compare-{size[0]}x{size[1]}.png"))
        compare.close()
