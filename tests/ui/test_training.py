"""Training from the window: the worker thread, live views, Stop, closing (β: test_beta_live.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from latentlab.models.registry import make_config
from latentlab.training.trainer import TrainSettings



def tiny_config(mnist, family: str = "vae", **settings):
    return make_config(family, hidden=32, image_shape=list(mnist.image_shape), num_classes=mnist.num_classes,
                       **settings)


def tiny_settings(epochs: int = 1) -> TrainSettings:
    return TrainSettings(epochs=epochs, report_every_steps=2, device="cpu")


def wait_for_first_step(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.is_training and len(window.loss_plot.series("loss")[0]) > 0, timeout=15_000)


def test_one_epoch_updates_the_map_and_the_loss_curves(qtbot, window, mnist):
    assert window.start_training(tiny_config(mnist), tiny_settings(epochs=1))
    assert window.is_training and window.stack.currentWidget() is window.latent_map
    before = window.latent_map.positions()
    with qtbot.waitSignal(window.trainingEnded, timeout=30_000) as ended:
        pass
    outcome = ended.args[0]
    assert outcome.status == "finished", outcome.message
    assert not window.is_training
    after = window.latent_map.positions()
    assert after.shape == before.shape == (1000, 2) and not np.allclose(after, before)
    assert window.latent_map.following  # nobody panned: the view follows the points...
    qtbot.waitUntil(lambda: not window.latent_map.is_gliding(), timeout=2_000)  # ...in a 240 ms glide
    (x0, x1), (y0, y1) = window.latent_map.visible_region()
    inside = (after[:, 0] > x0) & (after[:, 0] < x1) & (after[:, 1] > y0) & (after[:, 1] < y1)
    assert inside.mean() > 0.95
    x, y = window.loss_plot.curve_data("loss", "steps")  # what the curve draws
    assert len(x) >= 5 and np.all(np.diff(x) > 0) and np.isfinite(y).all()
    np.testing.assert_array_equal(x, window.loss_plot.series("loss", "steps")[0])
    assert len(window.loss_plot.series("kl", "epochs")[0]) == 1
    assert len(window.session.history) == 1 and window.session.dirty
    assert window.beta_panel.kl.values().shape == (2,)
    assert window.status_epoch.text() == "epoch 1"
    # The GUI's copy holds the trained weights: its decode matches the trained model's.
    trained = window.session.model.cpu().eval()
    for key, value in trained.state_dict().items():
        assert np.array_equal(window.session.display.state_dict()[key].numpy(), value.numpy())


def test_stop_takes_effect_within_half_a_second(qtbot, window, mnist):
    assert window.start_training(tiny_config(mnist), tiny_settings(epochs=200))
    wait_for_first_step(qtbot, window)
    run = window.run
    with qtbot.waitSignal(run.finished, timeout=10_000) as finished:
        qtbot.mouseClick(window.training_panel.stop_button, Qt.MouseButton.LeftButton)
    assert finished.args[0].status == "stopped"
    assert run.finished_at - run.stop_requested_at < 0.5
    qtbot.waitUntil(lambda: not window.is_training, timeout=5000)
    assert window.training_panel.start_button.isEnabled()


def test_pause_and_resume(qtbot, window, mnist):
    assert window.start_training(tiny_config(mnist), tiny_settings(epochs=200))
    wait_for_first_step(qtbot, window)
    window.toggle_training()  # Space: pause
    assert window.run.paused and window.training_panel.pause_button.text() == "Resume"
    qtbot.wait(300)  # let a step that was running finish
    count = len(window.loss_plot.series("loss")[0])
    qtbot.wait(400)
    window.training.redraw()
    assert len(window.loss_plot.series("loss")[0]) == count
    window.toggle_training()  # Space: resume
    assert not window.run.paused
    qtbot.waitUntil(lambda: len(window.loss_plot.series("loss")[0]) > count, timeout=10_000)
    window.stop_training()
    qtbot.waitUntil(lambda: not window.is_training, timeout=10_000)


def test_closing_during_training_asks_and_leaves_no_thread(
    qtbot, window, mnist, dialog_log, no_dangling_qthreads
):
    assert window.start_training(tiny_config(mnist), tiny_settings(epochs=200))
    wait_for_first_step(qtbot, window)
    dialog_log.answer = "discard"
    assert window.close()
    assert dialog_log.questions and "Training is running" in dialog_log.questions[0]
    assert not window.is_training
    assert no_dangling_qthreads and not any(t.isRunning() for t in no_dangling_qthreads)


def test_cancel_on_close_keeps_training(qtbot, window, mnist, dialog_log):
    assert window.start_training(tiny_config(mnist), tiny_settings(epochs=200))
    wait_for_first_step(qtbot, window)
    dialog_log.answer = "cancel"
    assert not window.close()
    assert window.is_training
    window.stop_training()
    qtbot.waitUntil(lambda: not window.is_training, timeout=10_000)


def test_one_click_vae_from_the_welcome_page(qtbot, window):
    panel = window.training_panel
    panel.hidden.setValue(32)
    panel.epochs.setValue(1)
    with qtbot.waitSignal(window.trainingEnded, timeout=30_000) as ended:
        qtbot.mouseClick(window.welcome.train_button, Qt.MouseButton.LeftButton)
    assert ended.args[0].status == "finished"
    config = window.session.model.config
    assert (window.session.family, config.latent_dim, config.hidden) == ("vae", 2, 32)
    assert window.session.dataset.name == "mnist-5k"


def test_an_exception_in_the_worker_becomes_a_dialog(qtbot, window, mnist, dialog_log, monkeypatch):
    from latentlab.training import trainer

    def broken_fit(self):
        raise RuntimeError("simulated failure inside fit")

    dialog_log.expect_errors = True
    monkeypatch.setattr(trainer.Trainer, "fit", broken_fit)
    with qtbot.waitSignal(window.trainingEnded, timeout=10_000):
        assert window.start_training(tiny_config(mnist), tiny_settings())
    assert dialog_log.errors and "RuntimeError" in dialog_log.errors[0][1]
    assert "simulated failure" in dialog_log.errors[0][1]
    assert not window.is_training and window.training_panel.start_button.isEnabled()


def test_gan_trains_with_its_map_recoloured(qtbot, window, mnist):
    assert window.start_training(tiny_config(mnist, "gan"), tiny_settings(epochs=1))
    with qtbot.waitSignal(window.trainingEnded, timeout=60_000) as ended:
        pass
    assert ended.args[0].status == "finished"
    assert window.latent_map.point_count() == 2000
    qtbot.waitUntil(lambda: (window.latent_map.labels() >= 0).all(), timeout=20_000)
    assert len(window.loss_plot.series("d_loss", "steps")[0]) > 0


def test_panel_follows_the_family_defaults(window):
    from latentlab.models.registry import family_class

    panel = window.training_panel
    panel.family.setCurrentIndex(panel.family.findData("gan"))
    assert panel.backbone.currentText() == family_class("gan").config_class().backbone
    assert panel.lr.value() == pytest.approx(family_class("gan").default_lr)
    assert not panel.gamma.isEnabled()
    panel.family.setCurrentIndex(panel.family.findData("msvae"))
    assert panel.gamma.isEnabled() and panel.gamma.value() == family_class("msvae").config_class().gamma


def test_the_gui_thread_decodes_on_one_torch_thread_and_training_gets_the_rest(qtbot, window, mnist, monkeypatch):
    """The marker's decode runs on the GUI thread with one intra-op thread (a second one only
    waits for a core on a busy machine); a training run gets every core but one while it runs,
    and the GUI thread is back at one when it ends."""
    import torch

    from latentlab.app import caches

    monkeypatch.setattr(caches, "training_threads", lambda: 2)
    assert torch.get_num_threads() == caches.GUI_TORCH_THREADS == 1
    assert window.start_training(tiny_config(mnist), tiny_settings(epochs=1))
    assert torch.get_num_threads() == 2  # the count the training thread starts with
    with qtbot.waitSignal(window.trainingEnded, timeout=30_000):
        pass
    assert torch.get_num_threads() == 1
