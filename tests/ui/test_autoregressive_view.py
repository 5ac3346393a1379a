"""The autoregressive view as a person uses it: sample and watch the pixels arrive, cancel,
complete a test image, click a pixel to see its receptive field."""

import numpy as np
import pytest
import torch
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from latentlab.models import create_model, make_config
from latentlab.models.checkpoint import save_checkpoint
from latentlab.ui.analysis.autoregressive_view import AutoregressiveView
from latentlab.models.pixelcnn_sampler import known_mask


@pytest.fixture
def pixelcnn_file(tmp_path, mnist):
    torch.manual_seed(0)
    model = create_model(make_config("pixelcnn", image_shape=[1, 28, 28], num_classes=10, hidden=8, layers=2))
    return save_checkpoint(tmp_path / "pixelcnn.safetensors", model, dataset=mnist.info())


@pytest.fixture
def view(qtbot, pixelcnn_file):
    v = AutoregressiveView(str(pixelcnn_file))
    qtbot.addWidget(v)
    v.resize(1000, 700)
    v.show()
    qtbot.waitExposed(v)
    yield v
    v.shutdown()


def click(qtbot, widget):
    QTest.mouseMove(widget, widget.rect().center())
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def test_sampling_draws_pixel_by_pixel_and_finishes(qtbot, view):
    frames = []
    view.frameShown.connect(lambda: frames.append(view.frame.index))
    with qtbot.waitSignal(view.finished_, timeout=120_000) as done:
        click(qtbot, view.sample_button)
        assert not view.sample_button.isEnabled()  # one run at a time
    assert done.args == ["finished"]
    assert frames[-1] == 784 and len(frames) >= 2 and frames == sorted(frames)  # partial frames arrived in order
    assert view.frame.images.shape == (16, 1, 28, 28)
    assert set(np.unique(view.frame.images)) <= {0.0, 1.0}  # every pixel drawn, black or white
    assert view.sample_button.isEnabled() and view.progress.isHidden()
    assert "784 pixels" in view.status.text()


def test_cancel_stops_between_two_pixels(qtbot, view):
    with qtbot.waitSignal(view.frameShown, timeout=60_000):
        click(qtbot, view.sample_button)
    with qtbot.waitSignal(view.finished_, timeout=60_000) as done:
        click(qtbot, view.progress.cancel_button)
    assert done.args == ["cancelled"]
    assert view.frame.index < 784
    assert view.sample_button.isEnabled()
    assert "Cancelled" in view.status.text()


def test_completion_keeps_the_given_pixels(qtbot, view, mnist):
    view.index.setValue(3)
    view.region.setCurrentText("bottom half")
    with qtbot.waitSignal(view.finished_, timeout=120_000):
        click(qtbot, view.complete_button)
    frame = view.frame
    known = known_mask("bottom half", (28, 28))
    source = mnist.test.images[3, 0].numpy()
    assert frame.images.shape[0] == 8
    for image in frame.images[:, 0]:
        np.testing.assert_allclose(image[known], source[known], atol=1e-6)  # the top half is the test image's
    assert not view.source.pixmap().isNull()


def test_clicking_a_pixel_shows_its_receptive_field(qtbot, view):
    with qtbot.waitSignal(view.finished_, timeout=120_000):
        click(qtbot, view.sample_button)
    target = view.grid.pixel_position(5, 14, 10)  # image 5, row 14, column 10
    assert view.grid.cell_at(target) == (5, 14, 10)
    QTest.mouseMove(view.grid, target)
    with qtbot.waitSignal(view.lane.result, timeout=60_000):
        qtbot.mouseClick(view.grid, Qt.MouseButton.LeftButton, pos=target)
    qtbot.waitUntil(lambda: view.field is not None, timeout=10_000)
    field = view.field
    assert (field.row, field.col) == (14, 10)
    assert not field.field[14:, :].flatten()[10:].any()  # nothing at or after the pixel
    assert field.field[13, 10] and field.field[14, 9]  # the pixel above and the one to the left
    assert "it sees" in view.field_title.text()
