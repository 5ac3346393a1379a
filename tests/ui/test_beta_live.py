"""The β slider acts by itself: it fine-tunes the open VAE live, steps along the shipped
β ladder, maps positions to β without jumps, and is not an input of Train new."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QStyle, QStyleOptionSlider

from latentlab.models.checkpoint import save_checkpoint
from latentlab.pretrained import default_checkpoint
from latentlab.ui.panels.beta_panel import beta_to_slider, slider_to_beta

from pretrained_helpers import make_resources
from ui_helpers import tiny_history, tiny_model

#: Generous: the training thread runs at a low priority on a machine shared with other work.
LIVE_TIMEOUT_MS = 30_000


def press(qtbot, slider, key, times: int = 1) -> None:
    """Key presses on the focused slider, as a user steps it."""
    slider.setFocus()
    for _ in range(times):
        qtbot.keyClick(slider, key)


def handle_centre(slider) -> QPoint:
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    rect = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option,
                                         QStyle.SubControl.SC_SliderHandle, slider)
    return rect.center()


def drag_handle(slider, dx: int) -> None:
    """Press on the slider's handle, move ``dx`` pixels in small steps, release."""
    start = handle_centre(slider)
    QTest.mouseMove(slider, start)
    QTest.mousePress(slider, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, 7):
        QTest.mouseMove(slider, start + QPoint(round(dx * i / 6), 0))
    QTest.mouseRelease(slider, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       start + QPoint(dx, 0))


def stop_and_wait(qtbot, window) -> None:
    if window.is_training:
        qtbot.mouseClick(window.training_panel.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.is_training, timeout=LIVE_TIMEOUT_MS)


# ---------------------------------------------------------------- the mapping
def test_the_slider_steps_in_quarter_octaves_with_the_rungs_exact():
    for beta in (0.5, 1.0, 2.0, 4.0, 8.0):
        assert slider_to_beta(beta_to_slider(beta)) == beta
    one = beta_to_slider(1.0)
    assert [slider_to_beta(one + k) for k in range(5)] == [1.0, 1.19, 1.41, 1.68, 2.0]
    assert slider_to_beta(0) == pytest.approx(1 / 32, rel=0.01) and beta_to_slider(1e6) == beta_to_slider(64)


def test_a_short_drag_moves_beta_by_a_small_factor(qtbot):
    """At the width the panel has in a 1366-wide window (about 320 px)."""
    from latentlab.ui.panels.beta_panel import BetaPanel

    panel = BetaPanel()
    qtbot.addWidget(panel)
    panel.resize(320, 200)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_available(True, enabled=True, note="")
    seen = []
    panel.betaChanged.connect(seen.append)
    drag_handle(panel.slider, 30)
    assert seen, "the drag did not move the slider"
    # 44 quarter-octave steps over the 200-220 px the slider gets (the spin box beside it
    # takes the rest; its width follows the font): 30 px is 6 or 7 steps, β x 2.8-3.4 (the
    # old linear slider jumped 1 -> 30)
    assert 1.0 < panel.beta() <= 4.0
    panel.set_beta(1.0)
    press(qtbot, panel.slider, Qt.Key.Key_Right, times=4)
    assert panel.beta() == 2.0  # four arrow presses double β


# ------------------------------------------------------------ live fine-tuning
def test_moving_the_slider_on_the_vae_changes_the_digit_and_the_map(qtbot, window):
    """The done-when: on the shipped VAE, one key press on the slider and nothing else."""
    assert window.open_checkpoint(default_checkpoint())
    image, points = window.decoded_view.image().copy(), window.latent_map.positions()
    press(qtbot, window.beta_panel.slider, Qt.Key.Key_Right)  # β 1 -> 1.19
    qtbot.waitUntil(lambda: not np.array_equal(window.decoded_view.image(), image)
                    and not np.allclose(window.latent_map.positions(), points), timeout=LIVE_TIMEOUT_MS)
    assert window.is_training and window.training.live_beta == 1.19
    assert window.session.dirty and window.revert_action.isEnabled()
    stop_and_wait(qtbot, window)
    assert window.session.model.config.beta == 1.19
    assert window.session.path == default_checkpoint()  # nothing was written


def test_fine_tune_continues_the_history_and_is_steered(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])
    assert not window.beta_panel.row.isHidden() and window.beta_panel.slider.isEnabled()
    press(qtbot, window.beta_panel.slider, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: window.is_training and len(window.session.history) >= 4, timeout=LIVE_TIMEOUT_MS)
    assert "until the loss settles" in window.beta_panel.slider.toolTip()
    press(qtbot, window.beta_panel.slider, Qt.Key.Key_Right, times=4)  # while it runs: steered, not restarted
    run = window.run
    qtbot.waitUntil(lambda: run.control.beta == pytest.approx(2.38), timeout=5000)
    assert window.training.live_beta == pytest.approx(2.38)  # and the plateau starts over
    qtbot.waitUntil(lambda: window.session.display.config.beta == pytest.approx(2.38), timeout=LIVE_TIMEOUT_MS)
    stop_and_wait(qtbot, window)
    history = window.session.history
    assert history[:3] == tiny_history() and [r["epoch"] for r in history] == list(range(1, len(history) + 1))
    assert window.session.model.config.beta == pytest.approx(2.38)


def test_the_fine_tune_stops_by_itself_when_the_loss_settles(qtbot, window, checkpoints, monkeypatch):
    from latentlab.training import convergence

    # Nothing counts as an improvement after the first epoch: settled after the second.
    monkeypatch.setattr(convergence, "LossPlateau",
                        functools.partial(convergence.LossPlateau, patience=1, min_improvement=1.0))
    assert window.open_checkpoint(checkpoints["vae"])
    with qtbot.waitSignal(window.trainingEnded, timeout=LIVE_TIMEOUT_MS) as ended:
        press(qtbot, window.beta_panel.slider, Qt.Key.Key_Left)  # β 1 -> 0.841
    outcome = ended.args[0]
    assert outcome.status == "converged" and "loss settled (2 epochs)" in outcome.message
    assert len(window.session.history) >= 5 and window.session.model.config.beta == 0.841
    assert "settled" in window.training_panel.progress.format()


def test_beta_steers_a_new_run_from_the_next_step(qtbot, window, mnist):
    from test_training import tiny_config, tiny_settings, wait_for_first_step

    assert window.start_training(tiny_config(mnist, beta=1.0), tiny_settings(epochs=200))
    wait_for_first_step(qtbot, window)
    press(qtbot, window.beta_panel.slider, Qt.Key.Key_Right, times=4)
    qtbot.waitUntil(lambda: window.run.control.beta == 2.0, timeout=5000)
    assert window.training.plateau is None  # a new model trains its epochs; it is only steered
    qtbot.waitUntil(lambda: window.session.display.config.beta == 2.0, timeout=LIVE_TIMEOUT_MS)
    stop_and_wait(qtbot, window)
    assert window.session.model.config.beta == 2.0


# ------------------------------------------------------------------ the ladder
LADDER = {"vae-beta0.5": 0.5, "vae": 1.0, "vae-beta2": 2.0}


@pytest.fixture
def ladder(tmp_path, monkeypatch, mnist):
    """A resources folder whose ladder rungs are tiny VAEs trained (not really) at their β."""
    root = make_resources(tmp_path / "resources", mnist, keys={"ae": 2})
    for seed, (key, beta) in enumerate(LADDER.items()):
        save_checkpoint(root / "pretrained" / f"{key}.safetensors", tiny_model("vae", seed=seed, beta=beta),
                        dataset=mnist.info(), history=tiny_history(2))
    monkeypatch.setenv("LATENTLAB_RESOURCES", str(root))
    return root / "pretrained"


def test_stepping_onto_a_rung_shows_its_shipped_model(qtbot, window, ladder, dialog_log):
    assert window.model_menu.open_key("vae")
    assert "Shipped rungs" in window.beta_panel.note.text()
    window.latent_map.set_marker(0.5, -0.25)
    region = window.latent_map.visible_region()
    press(qtbot, window.beta_panel.slider, Qt.Key.Key_Right, times=4)  # β 1 -> 2: the β = 2 rung
    qtbot.waitUntil(lambda: window.session.path == ladder / "vae-beta2.safetensors", timeout=5000)
    assert not window.is_training and not window.session.dirty
    assert window.session.model.config.beta == 2.0
    assert window.latent_map.marker_position() == (0.5, -0.25)
    np.testing.assert_allclose(window.latent_map.visible_region(), region, rtol=1e-6)
    final = window.explorer.projection.to_plane(window.explorer.points.latents)
    qtbot.waitUntil(lambda: np.allclose(window.latent_map.positions(), final), timeout=5000)  # the glide ends
    assert not dialog_log.questions


def test_a_fine_tuned_rung_gives_way_to_the_shipped_one_without_asking(qtbot, window, ladder, dialog_log):
    assert window.model_menu.open_key("vae")
    press(qtbot, window.beta_panel.slider, Qt.Key.Key_Right)  # 1.19: between rungs, it fine-tunes
    qtbot.waitUntil(lambda: window.is_training and window.session.dirty, timeout=LIVE_TIMEOUT_MS)
    press(qtbot, window.beta_panel.slider, Qt.Key.Key_Left)  # back on β = 1: the shipped file, as it is
    qtbot.waitUntil(lambda: not window.is_training and not window.session.dirty, timeout=LIVE_TIMEOUT_MS)
    assert window.session.path == ladder / "vae.safetensors" and window.session.model.config.beta == 1.0
    assert "not saved" in window.statusBar().currentMessage()
    assert not dialog_log.questions


# ------------------------------------------------------ where β is and is not
def test_train_new_takes_beta_from_the_training_panel_not_the_slider(qtbot, window):
    panel = window.training_panel
    assert panel.beta.isEnabled()
    panel.hidden.setValue(32)
    panel.epochs.setValue(1)
    panel.beta.setValue(3.0)
    window.beta_panel.set_beta(0.25)  # whatever the slider shows
    with qtbot.waitSignal(window.trainingEnded, timeout=LIVE_TIMEOUT_MS):
        qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert window.session.model.config.beta == 3.0
    assert window.beta_panel.beta() == 3.0  # the slider now shows the new model's β
    panel.family.setCurrentIndex(panel.family.findData("gan"))
    assert not panel.beta.isEnabled()


def test_models_without_a_kl_term_hide_the_slider(qtbot, window, ladder):
    assert window.model_menu.open_key("ae")
    assert window.beta_panel.row.isHidden()
    assert window.model_menu.open_key("vae")
    assert not window.beta_panel.row.isHidden()
