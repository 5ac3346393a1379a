"""The judge a new dataset needs trains in the background with a progress bar, time left and Cancel."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest


def test_judge_training_shows_time_left_and_cancel_stops_it(qtbot, window, checkpoints, monkeypatch, tmp_path):
    from latentlab.training import judges
    from latentlab.app import session as session_module

    monkeypatch.setenv("LATENTLAB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(session_module, "find_judge_cached", lambda dataset, caches=None: None)
    monkeypatch.setattr(judges, "find_judge", lambda dataset, device="cpu": None)
    assert window.open_checkpoint(checkpoints["vae"])  # mnist-5k without a judge: one is trained, for real
    progress = window.judge_progress
    assert progress.isVisible()
    qtbot.waitUntil(lambda: progress.bar.value() > 0, timeout=60_000)
    assert "left" in progress.bar.text() and "Judge" in progress.bar.text()

    button = progress.cancel_button
    QTest.mouseMove(button, button.rect().center())
    QTest.mouseClick(button, Qt.MouseButton.LeftButton, pos=button.rect().center())
    qtbot.waitUntil(lambda: window.judge_and_warm_up.judge_task is None, timeout=30_000)
    assert not progress.isVisible()
    assert window.session.judge is None and not window.latent_map.has_territory()
    assert "cancelled" in window.statusBar().currentMessage()
    assert not (tmp_path / "cache" / "judges").exists() or not any((tmp_path / "cache" / "judges").iterdir())
