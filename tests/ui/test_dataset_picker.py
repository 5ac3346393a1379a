"""The training panel's dataset picker: bundled and full sets, a folder of images, colour."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

FASHION = Path("/usr/share/datasets/fashion-mnist")
SHAPES = {"blue-triangle": (50, 80, 230), "green-square": (40, 180, 60), "red-circle": (220, 40, 40)}


def make_colour_folder(root: Path, per_class: int = 16, side: int = 32) -> Path:
    """Light shapes on strongly coloured backgrounds, one sub-folder per shape and colour."""
    rng = np.random.default_rng(0)
    for name, rgb in SHAPES.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            tint = tuple(int(np.clip(v + rng.integers(-25, 26), 0, 255)) for v in rgb)
            image = Image.new("RGB", (side, side), tint)
            draw = ImageDraw.Draw(image)
            x, y = (int(v) for v in rng.integers(10, side - 10, 2))
            r = int(rng.integers(5, 9))
            shape = [x - r, y - r, x + r, y + r]
            if "circle" in name:
                draw.ellipse(shape, fill=(240, 240, 240))
            elif "square" in name:
                draw.rectangle(shape, fill=(240, 240, 240))
            else:
                draw.polygon([(x, y - r), (x - r, y + r), (x + r, y + r)], fill=(240, 240, 240))
            image.save(root / name / f"{i:03d}.png")
    return root


def click(widget) -> None:
    """Move onto ``widget`` and click it, as a person does."""
    centre = widget.rect().center()
    QTest.mouseMove(widget, centre)
    QTest.mouseClick(widget, Qt.MouseButton.LeftButton, pos=centre)


def pick(combo, name: str) -> None:
    index = combo.findData(name)
    assert index >= 0, f"{name} is not offered"
    combo.setCurrentIndex(index)  # what choosing it from the open list does


def is_colour(pixels: np.ndarray) -> bool:
    return pixels.ndim == 3 and pixels.shape[-1] >= 3 and np.ptp(pixels[..., :3].astype(int), axis=-1).max() > 40


def qimage_pixels(image) -> np.ndarray:
    image = image.convertToFormat(image.Format.Format_RGB888)
    width, height = image.width(), image.height()
    return np.frombuffer(image.constBits(), np.uint8, image.bytesPerLine() * height).reshape(
        height, image.bytesPerLine())[:, :3 * width].reshape(height, width, 3).copy()


@pytest.fixture
def own_cache(monkeypatch, tmp_path):
    """A fresh cache folder: judges trained here stay here."""
    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))


def test_panel_offers_the_bundled_and_the_full_sets(window):
    panel = window.training_panel
    panel.load_model_defaults()  # what the window does once PyTorch has loaded
    combo = panel.dataset.combo
    names = [combo.itemData(i) for i in range(combo.count())]
    assert names[0] == "mnist-5k" and {"digits", "mnist", "fashion-mnist", "kmnist", "emnist-letters"} <= set(names)
    assert panel.request().dataset.name == "mnist-5k"
    assert not panel.dataset.colour.isEnabled()  # colour and size are a folder's
    tip = combo.itemData(combo.findData("fashion-mnist"), Qt.ItemDataRole.ToolTipRole)
    from latentlab.data import find_on_disk

    where = find_on_disk("fashion-mnist")
    assert panel.dataset.on_disk["fashion-mnist"] == (where is not None)
    if where is None:
        assert "not on disk" in tip and "LATENTLAB_DATA" in tip
    else:
        assert f"on disk, read from {where}" in tip


def test_data_found_in_latentlab_data_is_marked_on_disk(window, monkeypatch, tmp_path):
    from latentlab.data import IDX_SETS

    folder = tmp_path / "data" / "kmnist"
    folder.mkdir(parents=True)
    for name in IDX_SETS["kmnist"].files:
        (folder / f"{name}.gz").write_bytes(b"")  # the picker only looks for the files
    monkeypatch.setenv("LATENTLAB_DATA", str(tmp_path / "data"))
    picker = window.training_panel.dataset
    picker.refresh()
    index = picker.combo.findData("kmnist")
    assert picker.on_disk["kmnist"]
    assert str(folder) in picker.combo.itemData(index, Qt.ItemDataRole.ToolTipRole)


def test_a_folder_without_classes_is_one_clear_dialog(qtbot, window, dialog_log, monkeypatch, tmp_path):
    from latentlab.ui.base import dialogs

    (tmp_path / "loose").mkdir()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(tmp_path / "loose" / "a.png")  # no class sub-folder
    monkeypatch.setattr(dialogs, "choose_dataset_folder", lambda parent, start="": str(tmp_path / "loose"))
    panel = window.training_panel
    click(panel.dataset.folder_button)
    assert panel.request().dataset.name == f"folder:{(tmp_path / 'loose').resolve()}"
    dialog_log.expect_errors = True
    click(panel.start_button)
    assert len(dialog_log.errors) == 1
    title, text = dialog_log.errors[0]
    assert title == "Could not start training" and "no class sub-folders" in text and "e.g." in text
    assert not window.is_training and window.session is None  # the window keeps going


def test_colour_folder_vae_trains_and_explores_in_colour(qtbot, window, own_cache, monkeypatch, tmp_path):
    from latentlab.ui.base import dialogs

    folder = make_colour_folder(tmp_path / "shapes")
    chosen = []
    monkeypatch.setattr(dialogs, "choose_dataset_folder", lambda parent, start="": chosen.append(start) or str(folder))
    panel = window.training_panel
    panel.hidden.setValue(32)
    panel.epochs.setValue(60)  # 60 steps at a high rate: the decodes take their class's colour
    click(panel.dataset.folder_button)
    panel.lr.setValue(0.005)
    choice = panel.request().dataset
    assert choice == panel.dataset.choice() and choice.name == f"folder:{folder.resolve()}"
    assert (choice.channels, choice.image_size) == (3, 32)  # colour found by itself, CIFAR's size
    assert panel.dataset.colour.isChecked() and panel.dataset.colour.isEnabled()
    assert panel.dataset.combo.currentText() == "shapes"
    tip = panel.dataset.combo.itemData(panel.dataset.combo.currentIndex(), Qt.ItemDataRole.ToolTipRole)
    assert "in colour at 32 × 32 px" in tip

    with qtbot.waitSignal(window.trainingEnded, timeout=60_000) as ended:
        click(panel.start_button)
    assert ended.args[0].status == "finished", ended.args[0].message
    session = window.session
    assert session.dataset.image_shape == (3, 32, 32) and session.class_names == sorted(SHAPES)
    assert tuple(session.model.config.image_shape) == (3, 32, 32)
    assert panel.dataset.choice() == choice  # the open model's data, as chosen

    # Move onto a dot of the red class and click it: the decode there is red, and drawn red.
    lmap = window.latent_map
    qtbot.waitUntil(lambda: not lmap.is_gliding(), timeout=2_000)  # the view follows the trained points
    xy = lmap.positions()
    red = session.class_names.index("red-circle")
    labels = session.dataset.test.labels.numpy()
    (x0, x1), (y0, y1) = lmap.visible_region()
    inside = (xy[:, 0] > x0) & (xy[:, 0] < x1) & (xy[:, 1] > y0) & (xy[:, 1] < y1)
    index = int(np.flatnonzero(inside & (labels == red))[0])
    viewport = lmap.plot.viewport()
    QTest.mouseMove(viewport, lmap.viewport_position(*xy[index]))
    qtbot.waitUntil(lambda: lmap.hover_preview.isVisible(), timeout=5_000)
    assert session.test_images.shape[1:] == (32, 32, 3)
    preview = qimage_pixels(lmap.hover_preview.pixmap().toImage())
    assert is_colour(preview)
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=lmap.viewport_position(*xy[index]))
    qtbot.waitUntil(lambda: np.allclose(lmap.marker_position(), xy[index], atol=1e-3), timeout=5_000)
    decoded = window.decoded_view.image()
    assert decoded.shape == (32, 32, 3)
    r, g, b = decoded.reshape(-1, 3).mean(axis=0)
    assert r > g + 0.15 and r > b + 0.15, (r, g, b)  # red, as the red class's images
    drawn = qimage_pixels(window.decoded_view.view.grab().toImage()).reshape(-1, 3).astype(int)
    assert ((drawn[:, 0] > drawn[:, 1] + 60) & (drawn[:, 0] > drawn[:, 2] + 60)).mean() > 0.05  # red on screen

    # The judge this new dataset needs trains in the background; let it finish (it is small).
    qtbot.waitUntil(lambda: window.judge_and_warm_up.judge_task is None, timeout=120_000)
    assert session.judge is not None

    key = window.decoded_view.grid_toggle  # the manifold grid of the visible region, in colour
    QTest.mouseMove(key, key.rect().center())
    QTest.mouseClick(key, Qt.MouseButton.LeftButton, pos=QPoint(8, key.height() // 2))
    qtbot.waitUntil(lambda: window.decoded_view.grid_item.image is not None, timeout=30_000)
    grid = window.decoded_view.grid_item.image
    assert grid.ndim == 3 and grid.shape[2] == 3 and grid.shape[0] % 32 == 0 and grid.shape[0] > 32


@pytest.mark.skipif(not FASHION.is_dir(), reason=f"Fashion-MNIST is not installed in {FASHION} "
                    "(apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_from_the_panel_trains_on_60000_images(qtbot, window, own_cache, monkeypatch):
    monkeypatch.delenv("LATENTLAB_DATA", raising=False)
    panel = window.training_panel
    panel.load_model_defaults()
    panel.hidden.setValue(32)
    panel.epochs.setValue(1)
    pick(panel.dataset.combo, "fashion-mnist")
    assert panel.dataset.on_disk["fashion-mnist"]
    click(panel.start_button)
    qtbot.waitUntil(lambda: window.is_training, timeout=30_000)
    dataset = window.session.dataset
    assert (dataset.name, len(dataset.train), len(dataset.test)) == ("fashion-mnist", 60_000, 10_000)
    assert window.session.class_names[0] == "T-shirt/top"
    assert window.latent_map.positions().shape == (10_000, 2)
    window.stop_training()
    qtbot.waitUntil(lambda: not window.is_training, timeout=30_000)
    if window.judge_and_warm_up.judge_task is not None:  # the 60,000-image judge takes minutes: cancel it as a user can
        click(window.judge_progress.cancel_button)
        qtbot.waitUntil(lambda: window.judge_and_warm_up.judge_task is None, timeout=30_000)


def test_the_folder_menu_sets_grey_and_the_size(window, tmp_path):
    folder = make_colour_folder(tmp_path / "shapes", per_class=2)
    picker = window.training_panel.dataset
    picker.add_folder(str(folder))  # what Folder… does with the chosen folder
    assert picker.choice().image_shape == (3, 32, 32)
    picker.colour.trigger()  # the menu's "Colour (RGB)", unticked
    picker.set_side(64)
    assert picker.choice().image_shape == (1, 64, 64)
    tip = picker.combo.itemData(picker.combo.currentIndex(), Qt.ItemDataRole.ToolTipRole)
    assert "in grey at 64 × 64 px" in tip
    picker.combo.setCurrentIndex(picker.combo.findData("mnist-5k"))  # another set: the menu's format is greyed
    assert not picker.colour.isEnabled() and picker.choice().image_shape is None
    picker.combo.setCurrentIndex(picker.combo.findData(f"folder:{folder.resolve()}"))  # back: as it was left
    assert picker.choice().image_shape == (1, 64, 64) and picker.colour.isEnabled()
