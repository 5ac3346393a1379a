"""The discriminator's background on a GAN's map, as a person uses it: click the D(G(z))
toggle in the map's header and the background shows how real the discriminator finds what
each latent point generates, computed in the territory's lane; Territory brings the
judge's class back. Checked against D(G(z)) computed here from an independent copy."""

from __future__ import annotations

import numpy as np
import torch
from PySide6.QtCore import Qt

from latentlab.latent.plane_grid import grid_points
from latentlab.latent.realness import FAKE_RGB, REAL_RGB, Realness, realness_rgba
from latentlab.models.checkpoint import load_checkpoint
from latentlab.ui.map import realness_legend


def click(qtbot, button) -> None:
    qtbot.mouseMove(button)
    qtbot.wait(20)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def d_of_g(model, z: np.ndarray) -> np.ndarray:
    """D(G(z)) per latent, each image judged in a pack with G of the first fixed noise latents."""
    with torch.no_grad():
        images = model.decode(torch.from_numpy(z))
        companions = model.decode(model.fixed_noise[: model.config.pack - 1])
        packs = torch.cat([images[:, None], companions[None].expand(len(images), -1, -1, -1, -1)], 1)
        return torch.sigmoid(model.discriminate(packs.flatten(0, 1))).numpy()


def test_the_d_of_g_toggle_paints_the_discriminators_view_of_the_map(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["gan"])
    assert window.wait_until_idle(30)
    lmap, explorer = window.latent_map, window.explorer
    assert not lmap.realness_toggle.isHidden() and lmap.background_kind() == "territory"

    click(qtbot, lmap.realness_toggle)
    assert lmap.background_kind() == "realness" and not lmap.territory_toggle.isChecked()
    qtbot.waitUntil(lambda: explorer.background_image is not None
                    and explorer.background_image.background == "realness", timeout=10_000)
    assert window.wait_until_idle(30)
    shown = explorer.background_image
    assert "D(G(z))" in lmap.plot_item.titleLabel.text

    model = load_checkpoint(checkpoints["gan"]).model.eval()
    n = shown.resolution
    z = explorer.projection.to_latent(grid_points(shown.x_range, shown.y_range, n, n))
    expected = d_of_g(model, z).reshape(n, n)
    np.testing.assert_allclose(shown.scores, expected, atol=1e-5)
    picture = realness_rgba(Realness(expected, "probability", shown.x_range, shown.y_range), smooth=4)
    assert lmap.territory_item.isVisible()
    np.testing.assert_allclose(lmap.territory_item.image.astype(int), picture.astype(int), atol=1)

    click(qtbot, lmap.territory_toggle)  # the judge's class again
    assert lmap.background_kind() == "territory" and not lmap.realness_toggle.isChecked()
    qtbot.waitUntil(lambda: explorer.background_image.background == "territory", timeout=10_000)
    assert lmap.territory_item.isVisible()
    assert window.wait_until_idle(30)


def test_a_model_without_discriminator_has_no_d_of_g_toggle(qtbot, window, checkpoints):
    assert window.open_checkpoint(checkpoints["gan"])
    click(qtbot, window.latent_map.realness_toggle)
    assert window.open_checkpoint(checkpoints["vae4"])  # another latent size too: no stale request
    lmap = window.latent_map
    assert lmap.realness_toggle.isHidden() and lmap.background_kind() == "territory"
    assert "D(G(z))" not in lmap.plot_item.titleLabel.text
    assert window.wait_until_idle(30)
    assert window.explorer.background_image.background == "territory" and lmap.territory_item.isVisible()


def test_the_toggles_colours_are_the_pictures():
    assert np.allclose(realness_legend.FAKE_RGB, FAKE_RGB) and np.allclose(realness_legend.REAL_RGB, REAL_RGB)


def test_the_background_follows_a_gan_while_it_trains_in_the_window(qtbot, make_window, mnist):
    from latentlab.models.registry import make_config
    from latentlab.training.trainer import TrainSettings
    from latentlab.app.realness_job import RealnessJob

    window = make_window(territory_every_s=0.1)
    config = make_config("gan", hidden=32, image_shape=list(mnist.image_shape), num_classes=mnist.num_classes)
    assert window.start_training(config, TrainSettings(epochs=200, report_every_steps=2, device="cpu"))
    versions: set[int] = set()

    def painted(job, value) -> None:
        if isinstance(job, RealnessJob) and window.is_training:
            versions.add(job.snapshot.version)

    window.explorer.territory_lane.result.connect(painted)
    click(qtbot, window.latent_map.realness_toggle)
    # Painted again from newer weights as they arrive (each request carries the newest snapshot).
    qtbot.waitUntil(lambda: len(versions) >= 2, timeout=30_000)
    with qtbot.waitSignal(window.trainingEnded, timeout=20_000):
        window.stop_training()
    window.explorer.territory_lane.result.disconnect(painted)
    assert window.latent_map.background_kind() == "realness"
    assert window.wait_until_idle(30)
