"""Both sessions implement the protocol the window reads (latentlab.app.protocol)."""

from __future__ import annotations

import numpy as np
import pytest

from latentlab.app.caches import AppCaches, JudgeCache
from latentlab.app.protocol import ExplorableSession, protocol_members
from latentlab.app.session import Session
from latentlab.app.state import AppState
from latentlab.data import load_dataset
from latentlab.models import create_model, make_config
from latentlab.pretrained import catalogue
from latentlab.preview import open_preview
from latentlab.preview.session import PreviewSession


@pytest.fixture(scope="module")
def sessions():
    dataset = load_dataset("mnist-5k")
    vae = Session(create_model(make_config("vae", hidden=16, latent_dim=2)), dataset)
    entry = next(e for e in catalogue() if e.key == "vae")
    return vae, PreviewSession(open_preview(entry.path))


def test_both_sessions_have_every_member_of_the_protocol(sessions):
    members = protocol_members()
    assert {"is_preview", "beta", "config", "loss_parts", "data_note", "map_points", "territory_job"} <= set(members)
    for session in sessions:
        missing = [m for m in members if not hasattr(session, m)]
        assert missing == [], f"{type(session).__name__} lacks {missing}"
        assert isinstance(session, ExplorableSession)


def test_what_the_panels_read_agrees_between_the_two(sessions):
    vae, preview = sessions
    assert (vae.is_preview, preview.is_preview) == (False, True)
    assert (vae.conditional, vae.condition, vae.can_discriminate) == (False, None, False)
    assert (preview.conditional, preview.condition, preview.can_discriminate) == (False, None, False)
    assert vae.data_note == preview.data_note == ""
    assert vae.loss_parts == preview.loss_parts == ("loss", "recon", "kl")
    assert vae.config["family"] == preview.config["family"] == "vae"
    name, n_train, n_test = vae.dataset_counts()
    assert name == "mnist-5k" and n_test == len(vae.dataset.test)
    points = vae.map_points()
    assert points.latents.shape == (n_test, 2) and points.from_data
    assert preview.decode_image(np.zeros(2, np.float32)).shape == (28, 28)


def test_the_caches_are_objects_the_app_owns():
    """A second AppState with its own caches reads its datasets anew; judges are looked up
    through the cache it is given."""
    found = []
    caches = AppCaches()
    caches.judges = JudgeCache(find=lambda dataset: found.append(dataset.name))
    state = AppState(caches)
    dataset = state.caches.datasets.get("mnist-5k")
    assert state.caches.datasets.get("mnist-5k") is dataset
    assert AppState(AppCaches()).caches.datasets.loaded("mnist-5k", None) is None
    assert state.caches.judges.find(dataset) is None and found == ["mnist-5k"]
