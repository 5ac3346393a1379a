"""The window side of the model-interface test: the family registered in
tests/core/test_new_family.py (model and config only) is offered by the training panel,
with the controls its declaration asks for, and its checkpoint opens on the map."""

from __future__ import annotations

import numpy as np
import torch

from latentlab.models.checkpoint import save_checkpoint
from latentlab.models.registry import make_config
from tests.core.test_new_family import LinearDecoder, linear_family  # noqa: F401 - the fixture registers it


def test_the_training_panel_offers_the_new_family(linear_family, window):
    panel = window.training_panel
    panel.load_model_defaults()  # (the window loaded them before the family was registered)
    index = panel.family.findData(linear_family)
    assert index >= 0 and panel.family.itemText(index) == "Linear decoder (test family)"
    panel.family.setCurrentIndex(index)
    assert not panel.beta.isEnabled() and not panel.gamma.isEnabled()  # it declares neither
    assert panel.request().family == linear_family
    panel.family.setCurrentIndex(panel.family.findData("msvae"))
    assert panel.beta.isEnabled() and panel.gamma.isEnabled()


def test_a_checkpoint_of_the_new_family_opens_on_the_map(linear_family, window, qtbot, mnist, tmp_path):
    torch.manual_seed(0)
    model = LinearDecoder(make_config(linear_family, image_shape=[1, 28, 28], num_classes=10)).eval()
    path = save_checkpoint(tmp_path / "linear", model, dataset=mnist.info())
    assert window.open_checkpoint(path)  # the map's points and the marker's decode are there now
    explorer = window.explorer
    assert len(explorer.points.latents) > 0 and not explorer.points.from_data  # prior samples: no encoder
    assert not window.analogy_row.isVisible() and not window.latent_map.legend.picking
    z = torch.from_numpy(explorer.projection.to_latent(np.asarray([window.latent_map.marker_position()],
                                                                 np.float32)))
    with torch.no_grad():
        expected = model.decode(z).numpy()[0, 0]
    np.testing.assert_allclose(window.decoded_view.image(), expected, atol=1e-4)
    assert "Linear decoder (test family)" in window.training_panel.summary.text()
