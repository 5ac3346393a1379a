"""Every panel shows the model that is open, because the panels observe the app state
(latentlab/app/state.py) rather than being pushed values by the window: switching VAE ->
GAN -> VAE, with the interpolation dock open and after a training run, leaves nothing of
the previous model anywhere."""

from __future__ import annotations

import numpy as np

from latentlab.models.registry import family_class


def panels_of(window) -> dict:
    panel, beta = window.training_panel, window.beta_panel
    return {
        "beta shown": not beta.row.isHidden(),
        "beta enabled": beta.slider.isEnabled(),
        "beta": beta.beta(),
        "kl": window.beta_panel.kl.getPlotItem().titleLabel.text,
        "kl values": list(np.round(beta.kl.values(), 3)),
        "family": panel.family.currentData(),
        "latent": panel.latent_dim.value(),
        "running": not panel.start_button.isEnabled(),
        "progress": (panel.progress.format(), panel.progress.value()),
        "summary": panel.summary.text(),
        "loss parts": window.loss_plot.parts,
        "status": (window.status_model.text(), window.status_epoch.text()),
        "title": window.windowTitle(),
        "strip": window.analysis.strip_view.strip is not None,
    }


def test_switching_vae_gan_vae_with_the_dock_open_shows_only_the_open_model(qtbot, window, checkpoints, dialog_log):
    assert window.open_checkpoint(checkpoints["vae"])
    window.analysis.interpolate_action.trigger()  # the dock opens on the VAE's path
    qtbot.waitUntil(lambda: window.analysis.path is not None, timeout=20_000)
    panel = window.training_panel
    panel.hidden.setValue(32)
    panel.epochs.setValue(1)
    with qtbot.waitSignal(window.trainingEnded, timeout=60_000):
        window.start_training()  # a new 2-D VAE: "finished" news in the progress bar
    assert panel.progress.format() != "idle"

    assert window.open_checkpoint(checkpoints["gan"])  # unsaved: discarded (the dialog log's answer)
    gan = panels_of(window)
    assert window.analysis.dock.isVisible()
    assert not gan["beta shown"], "a GAN has no β slider"
    assert "no KL term" in gan["kl"] and gan["kl values"] == []
    assert gan["family"] == "gan" and not gan["running"]
    assert gan["progress"] == ("idle", 0), "not the VAE's run"
    assert gan["summary"].startswith("GAN")
    assert gan["loss parts"] == tuple(family_class("gan").loss_parts)
    assert gan["status"][0].startswith("model: gan") and gan["status"][1] == "epoch 0"
    assert "gan" in gan["title"] and " *" not in gan["title"]
    assert not gan["strip"], "the VAE's strip is gone"

    assert window.open_checkpoint(checkpoints["vae"])
    vae = panels_of(window)
    assert vae["beta shown"] and vae["beta enabled"] and vae["beta"] == window.session.model.config.beta
    assert "1 of 2 active" in vae["kl"] and vae["kl values"] == [3.0, 0.02]
    assert vae["family"] == "vae" and vae["latent"] == 2
    assert vae["progress"] == ("idle", 0)
    assert vae["loss parts"] == ("loss", "recon", "kl")
    assert vae["status"] == ("model: vae · mlp · latent 2", "epoch 3")
    assert not vae["strip"]
    assert dialog_log.errors == []


def test_the_state_tells_the_panels_and_nothing_else_pushes(window, checkpoints):
    """Opening goes through the state: the panels' observers are connected to it, and the
    state holds what the map shows."""
    state = window.state
    assert len(state.shown_changed) >= 3  # the β panel, the training panel, the loss plot
    assert window.open_checkpoint(checkpoints["gan"])
    assert state.session is window.session is state.shown and state.kl is None
    seen = []
    state.shown_changed.connect(seen.append)
    assert window.open_checkpoint(checkpoints["vae"])
    assert seen == [window.session] and state.kl == [3.0, 0.02]
