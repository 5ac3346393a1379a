"""One background convention (latentlab/ui/work/tasks.py): whatever kind of work fails off
the GUI thread, the user sees exactly one error dialog, from the window's one error sink,
and the window goes on working."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication

from latentlab.app import jobs, training_job


def boom(*args, **kwargs):
    raise RuntimeError("boom in the background")


def one_dialog(qtbot, dialog_log, title: str, timeout: int = 30_000) -> str:
    """Wait for the dialog, let every queued signal arrive, and check it is the only one."""
    qtbot.waitUntil(lambda: bool(dialog_log.errors), timeout=timeout)
    for _ in range(20):
        QCoreApplication.processEvents()
        qtbot.wait(10)
    assert [t for t, _ in dialog_log.errors] == [title], dialog_log.errors
    return dialog_log.errors[0][1]


def no_warm_up_running(qtbot, window) -> None:
    """The process's one warm-up (started by its first window) trains a tiny model: let it
    end before Trainer.fit is made to raise, or it fails too (a second dialog)."""
    qtbot.wait(20)  # its 0 ms timer fires
    qtbot.waitUntil(lambda: window.judge_and_warm_up.warm_task is None, timeout=60_000)


@pytest.fixture
def failing(dialog_log):
    dialog_log.expect_errors = True
    return dialog_log


def test_a_training_run_that_raises(qtbot, window, checkpoints, failing, monkeypatch):
    no_warm_up_running(qtbot, window)
    monkeypatch.setattr(training_job.Trainer, "fit", boom)
    assert window.open_checkpoint(checkpoints["vae"])
    with qtbot.waitSignal(window.trainingEnded, timeout=30_000) as ended:
        assert window.training.fine_tune_at(2.0)
    assert "boom" in one_dialog(qtbot, failing, "Training failed")
    assert not ended.args[0].ok and window.training_panel.progress.format() == "failed"
    qtbot.waitUntil(lambda: window.run is None)
    assert window.training_panel.start_button.isEnabled()  # usable again


def test_judge_training_that_raises(qtbot, window, checkpoints, failing, monkeypatch):
    from latentlab.app import session as session_module
    from latentlab.training import judges

    monkeypatch.setattr(session_module, "find_judge_cached", lambda dataset, caches=None: None)
    monkeypatch.setattr(judges, "get_judge", boom)
    assert window.open_checkpoint(checkpoints["vae"])
    message = one_dialog(qtbot, failing, "Could not get a judge classifier")
    assert "boom" in message and "works without it" in message
    qtbot.waitUntil(lambda: window.judge_and_warm_up.judge_task is None)
    assert not window.judge_progress.isVisible()


def test_the_warm_up_that_raises(qtbot, window, failing, monkeypatch):
    no_warm_up_running(qtbot, window)
    monkeypatch.setattr(training_job.Trainer, "fit", boom)
    window.judge_and_warm_up.start_warm_up()
    qtbot.waitUntil(lambda: window.judge_and_warm_up.warm_task is None, timeout=30_000)
    assert "Training works all the same" in one_dialog(qtbot, failing, "Preparing training in the background failed")


def test_a_comparison_that_raises(qtbot, window, checkpoints, failing, monkeypatch):
    from latentlab.ui.analysis import compare_window

    monkeypatch.setattr(compare_window, "run_comparison", boom)
    assert window.open_checkpoint(checkpoints["vae"])
    window.analysis.show_compare()
    compare = window.analysis.compare_window
    compare.add_paths([checkpoints["vae4"]])
    with qtbot.waitSignal(compare.comparisonFailed, timeout=30_000):
        assert compare.compare()
    assert "boom" in one_dialog(qtbot, failing, "The comparison failed")
    qtbot.waitUntil(lambda: not compare.busy)
    assert compare.progress_label.text() == "Failed"


@pytest.mark.parametrize("job, title", [(jobs.TerritoryJob, "Computing the territory failed"),
                                        (jobs.ManifoldJob, "Computing the manifold failed")])
def test_a_map_lane_job_that_raises(qtbot, window, checkpoints, failing, monkeypatch, job, title):
    monkeypatch.setattr(job, "run", boom)
    assert window.open_checkpoint(checkpoints["vae"])
    if job is jobs.ManifoldJob:
        window.grid_action.trigger()  # G: the manifold grid
    one_dialog(qtbot, failing, title)
    window.explorer.set_marker(0.5, 0.5)  # the marker still decodes on the GUI thread
    assert window.decoded_view.image() is not None


def test_the_discriminators_background_that_raises(qtbot, window, checkpoints, failing, monkeypatch):
    from latentlab.app.realness_job import RealnessJob

    monkeypatch.setattr(RealnessJob, "run", boom)
    assert window.open_checkpoint(checkpoints["gan"])
    window.latent_map.realness_toggle.click()  # D(G(z)) as the map's background: the territory's lane
    one_dialog(qtbot, failing, "Computing the territory failed")


def test_an_analysis_job_that_raises(qtbot, window, checkpoints, failing, monkeypatch):
    from latentlab.app.analysis_jobs import PathJob

    monkeypatch.setattr(PathJob, "run", boom)
    assert window.open_checkpoint(checkpoints["vae"])
    window.analysis.interpolate_action.trigger()
    one_dialog(qtbot, failing, "Computing the path failed")
    assert window.analysis.path is None


def test_the_umap_process_that_fails(qtbot, window, checkpoints, failing, monkeypatch):
    def refuse(key, latents):
        raise ValueError("latents must be 2-D")

    controller = window.projection_controller
    monkeypatch.setattr(controller.service, "submit", refuse)
    with qtbot.waitSignal(controller.failed):
        controller.request_umap("k", np.zeros((10, 4), np.float32))
    assert "2-D" in one_dialog(qtbot, failing, "UMAP failed: the map shows PCA")
    assert window.projection_picker.status.text().startswith("UMAP failed")


def test_a_flow_prior_fit_that_raises(qtbot, window, checkpoints, failing, monkeypatch):
    from latentlab.app import flow_fit

    monkeypatch.setattr(flow_fit, "fit_flow_prior", boom)
    assert window.open_checkpoint(checkpoints["vae"])
    actions = window.density
    with qtbot.waitSignal(actions.fitEnded, timeout=30_000):
        actions.fit_flow_action.trigger()
    assert "boom" in one_dialog(qtbot, failing, "Could not fit a flow prior")
    assert window.session.model.flow_prior is None and not window.session.dirty
    assert actions.fit_flow_action.isEnabled() and not actions.fit_progress.isVisible()  # it can be tried again


def test_the_debiasing_demo_that_raises(qtbot, window, checkpoints, failing, monkeypatch):
    from latentlab.app import debias_job

    monkeypatch.setattr(debias_job, "run_debias_demo", boom)
    assert window.open_checkpoint(checkpoints["vae"])
    window.density.debias_action.trigger()
    dialog = window.density.debias_dialog
    with qtbot.waitSignal(dialog.done_, timeout=30_000) as done:
        dialog.run_button.click()
    assert "boom" in done.args[0] and "boom" in one_dialog(qtbot, failing, "The debiasing demo failed")
    qtbot.waitUntil(lambda: not dialog.running)
    assert dialog.run_button.isEnabled() and dialog.status.text().startswith("Failed")
