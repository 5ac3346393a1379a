"""The Analyse ▸ Density models menu from the main window: a PixelCNN opens in the autoregressive view, the
outlier list ranks by a flow prior's density, and the debiasing demo runs with progress."""

import numpy as np
import torch
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from latentlab.latent.outliers import flow_code_scores
from latentlab.models import create_model, make_config
from latentlab.models.checkpoint import load_checkpoint, save_checkpoint
from latentlab.models.flow import fit_latent_flow
from ui_helpers import tiny_model


def click(qtbot, widget):
    QTest.mouseMove(widget, widget.rect().center())
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def test_a_pixelcnn_file_opens_in_the_autoregressive_view_not_the_map(qtbot, window, checkpoints, mnist, tmp_path):
    assert window.open_checkpoint(checkpoints["vae"])
    session = window.session
    model = create_model(make_config("pixelcnn", image_shape=[1, 28, 28], num_classes=10, hidden=8, layers=2))
    path = save_checkpoint(tmp_path / "pc.safetensors", model, dataset=mnist.info())
    assert window.open_checkpoint(path)
    assert window.session is session  # the map keeps its model
    view = window.density.views[str(path.resolve())]
    assert view.isVisible() and "pc.safetensors" in view.windowTitle()
    with qtbot.waitSignal(view.frameShown, timeout=60_000):
        click(qtbot, view.sample_button)
    view.cancel()
    qtbot.waitUntil(lambda: not view.running, timeout=60_000)


def test_outliers_ranked_by_the_flow_prior(qtbot, window, mnist, tmp_path):
    model = tiny_model("vae")
    fit_latent_flow(model, mnist.train.images[:400], layers=2, hidden=8, steps=30)
    path = save_checkpoint(tmp_path / "vae-flow", model, dataset=mnist.info())
    assert window.open_checkpoint(path)
    window.analysis.outliers_action.trigger()
    dialog = window.analysis.outliers_dialog
    qtbot.waitUntil(lambda: dialog.ranking is not None, timeout=60_000)
    assert "ELBO" in dialog.ranking.score_name
    flow_row = dialog.score.findData("flow")
    assert dialog.score.model().item(flow_row).isEnabled()
    QTest.mouseMove(dialog.score, dialog.score.rect().center())
    with qtbot.waitSignal(dialog.ranked, timeout=60_000):
        dialog.score.setCurrentIndex(flow_row)  # as a pick in the list does; ranking starts by itself
    ranking = dialog.ranking
    assert "flow" in ranking.score_name
    expected = flow_code_scores(load_checkpoint(path).model, mnist.test.images)
    np.testing.assert_allclose(ranking.all_scores, expected, rtol=1e-4, atol=1e-4)
    assert list(ranking.scores) == sorted(ranking.scores, reverse=True)


def test_the_flow_score_is_not_offered_without_a_flow_prior(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])
    window.analysis.outliers_action.trigger()
    dialog = window.analysis.outliers_dialog
    assert not dialog.score.model().item(dialog.score.findData("flow")).isEnabled()


def test_the_shipped_flow_models_open_from_the_menu(qtbot, window):
    actions = window.density
    assert actions.flow_action.isEnabled() and actions.flow32_action.isEnabled()
    actions.flow32_action.trigger()
    model = window.session.model
    assert model.latent_dim == 32 and model.flow_prior.dim == 32 and model.mixture is not None
    assert not actions.transformer_action.isEnabled()  # the animation draws a 2-D plane
    assert "2-D" in actions.transformer_action.toolTip()
    window.analysis.outliers_action.trigger()
    dialog = window.analysis.outliers_dialog
    assert dialog.score.model().item(dialog.score.findData("flow")).isEnabled()
    actions.flow_action.trigger()
    assert window.session.model.flow_prior.dim == 2 and actions.transformer_action.isEnabled()


def test_the_debiasing_demo_runs_and_shows_weights_and_figures(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])  # the judge of the bundled digits is found
    window.density.debias_action.trigger()
    dialog = window.density.debias_dialog
    assert dialog.isVisible()
    dialog.epochs.setValue(1)
    dialog.density.setCurrentIndex(dialog.density.findData("hist"))
    progress = []
    with qtbot.waitSignal(dialog.done_, timeout=240_000) as done:
        click(qtbot, dialog.run_button)
        dialog.task.progress.connect(lambda f, message, eta: progress.append(f) if f is not None else None)
    assert done.args == ["finished"]
    report = dialog.report
    assert progress and progress == sorted(progress) and progress[-1] <= 1.0
    assert len(dialog.group.data) == report.in_group.sum() > 0
    assert len(dialog.others.data) == (~report.in_group).sum()
    sizes = dialog.others.data["size"]
    assert sizes.max() > sizes.min()  # the weights differ, and so do the dots
    assert dialog.table.item(0, 2).text().endswith("%") and "points" in dialog.summary.text()
    qtbot.waitUntil(lambda: dialog.run_button.isEnabled(), timeout=10_000)


def test_the_debiasing_demo_can_be_cancelled(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["vae"])
    window.density.debias_action.trigger()
    dialog = window.density.debias_dialog
    dialog.epochs.setValue(50)
    with qtbot.waitSignal(dialog.progress.bar.valueChanged, timeout=120_000):
        click(qtbot, dialog.run_button)
    with qtbot.waitSignal(dialog.done_, timeout=120_000) as done:
        click(qtbot, dialog.progress.cancel_button)
    assert done.args == ["cancelled"]
    assert dialog.report is None and "Cancelled" in dialog.status.text()


def test_the_distribution_transformer_plays_noise_into_codes_and_back(qtbot, window, checkpoints, mnist, tmp_path):
    assert window.open_checkpoint(checkpoints["vae"])
    assert not window.density.transformer_action.isEnabled()  # no flow prior
    model = tiny_model("vae")
    fit_latent_flow(model, mnist.train.images[:400], layers=2, hidden=8, steps=30)
    assert window.open_checkpoint(save_checkpoint(tmp_path / "vae-flow", model, dataset=mnist.info()))
    assert window.density.transformer_action.isEnabled()
    window.density.transformer_action.trigger()
    view = window.density.transformer_view
    assert view.isVisible() and view.stage_label.text() == "N(0, I)"
    x, y = view.samples.getData()
    np.testing.assert_allclose(np.c_[x, y], view.transport.samples[0][:, :2], atol=1e-6)
    with qtbot.waitSignal(view.stageShown, timeout=30_000, check_params_cb=lambda p: p == view.stages - 1):
        click(qtbot, view.play_button)
    x, y = view.samples.getData()
    np.testing.assert_allclose(np.c_[x, y], view.transport.samples[-1][:, :2], atol=1e-5)  # the codes' side
    assert view.stage_label.text() == "codes" and view.play_button.text() == "Play"
    click(qtbot, view.reverse)
    with qtbot.waitSignal(view.stageShown, timeout=30_000, check_params_cb=lambda p: p == 0.0):
        click(qtbot, view.play_button)
    assert view.stage_label.text() == "N(0, I)"
    window.open_checkpoint(checkpoints["vae"])  # another model: the view of the old flow goes
    assert window.density.transformer_view is None and not view.isVisible()


def test_a_flow_prior_fitted_in_the_window_serves_the_outliers_and_is_saved(qtbot, window, checkpoints, tmp_path,
                                                                             monkeypatch):
    monkeypatch.setattr("latentlab.app.flow_fit.STEPS", 200)
    assert window.open_checkpoint(checkpoints["vae"])
    assert window.session.model.flow_prior is None
    actions = window.density
    assert actions.fit_flow_action.isEnabled() and not actions.transformer_action.isEnabled()
    with qtbot.waitSignal(actions.fitEnded, timeout=120_000):
        actions.fit_flow_action.trigger()
        assert actions.fit_progress.isVisible() and not actions.fit_flow_action.isEnabled()
    flow = window.session.model.flow_prior
    assert flow is not None and flow.dim == 2 and window.session.dirty
    assert actions.transformer_action.isEnabled() and actions.fit_flow_action.isEnabled()
    saved = window.save_checkpoint(tmp_path / "with-flow")
    assert load_checkpoint(saved).model.flow_prior is not None  # the prior is kept in the file
