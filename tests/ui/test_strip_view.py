"""The interpolation strip: frames with the judge's captions, the metrics line, the player."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QLabel

from latentlab.latent.path_metrics import path_metrics
from latentlab.ui.analysis.strip_view import CAPTION_SPACING, GAP, Strip, StripCanvas, StripView, metrics_html

NAMES = [str(d) for d in range(10)]


def ramp(n: int = 6) -> np.ndarray:
    """n frames (N, 1, 8, 8) from black to white."""
    return np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None, None, None] * np.ones((1, 1, 8, 8), np.float32)


def make_view(qtbot, n: int = 6) -> StripView:
    view = StripView()
    qtbot.addWidget(view)
    view.resize(900, 260)
    classes = np.array([3, 3, 5, 8, 8, 8][:n])
    strip = Strip(ramp(n), classes, np.linspace(0.5, 1.0, n))
    view.set_strip(strip, NAMES)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_strip_shows_frames_with_the_judges_captions(qtbot):
    view = make_view(qtbot)
    assert view.count() == 6
    assert view.strip.frames.shape == (6, 8, 8) and view.strip.frames.dtype == np.uint8
    assert view.strip.frames[0].max() == 0 and view.strip.frames[-1].min() == 255
    assert view.canvas.caption(0)[0] == "3 50%"
    assert view.canvas.caption(2)[1].name() == "#8c564b"  # class 5 in its tab10 colour
    # class 5 is neither the start (3) nor the end (8): an intrusion
    assert list(view.strip.intrusions) == [False, False, True, False, False, False]
    rects = [view.canvas.frame_rect(i) for i in range(6)]
    assert all(r.width() == rects[0].width() > 24 for r in rects)
    assert all(b.left() > a.right() for a, b in zip(rects, rects[1:]))  # one row, in order


def test_clicking_a_frame_shows_it_large(qtbot):
    view = make_view(qtbot)
    seen = []
    view.frameChanged.connect(seen.append)
    qtbot.mouseClick(view.canvas, Qt.MouseButton.LeftButton, pos=view.canvas.frame_rect(4).center())
    assert view.current == 4 and seen == [4]
    assert view.large.pixmap().width() > 100
    assert view.large_caption.text() == "8 90%"
    assert view.position.text() == "frame 5 / 6"
    qtbot.mouseClick(view.canvas, Qt.MouseButton.LeftButton, pos=QPoint(2, 2))  # the gap: no frame
    assert view.current == 4


def test_play_steps_through_the_frames_and_loops(qtbot):
    view = make_view(qtbot)
    view.set_speed(30)
    view.set_loop(True)
    seen = []
    view.frameChanged.connect(seen.append)
    view.play()
    assert view.playing and view.play_button.text().endswith("Pause")
    qtbot.waitUntil(lambda: len(seen) >= 9, timeout=20_000)
    assert seen[:9] == [1, 2, 3, 4, 5, 0, 1, 2, 3]  # wrapped around after the last frame
    view.toggle_play()
    assert not view.playing and view.play_button.text().endswith("Play")
    paused_at = view.current
    qtbot.wait(150)
    assert view.current == paused_at


def test_without_loop_play_stops_on_the_last_frame(qtbot):
    view = make_view(qtbot)
    view.set_speed(30)
    view.set_loop(False)
    view.toggle_play()
    assert view.playing
    qtbot.waitUntil(lambda: not view.playing, timeout=20_000)
    assert view.current == 5
    view.play()  # from the last frame, play starts again at the first
    assert view.current == 0 and view.playing
    view.pause()


def test_an_empty_strip_cannot_play(qtbot):
    view = make_view(qtbot)
    view.set_strip(None)
    assert view.count() == 0 and not view.play_button.isEnabled()
    view.toggle_play()
    assert not view.playing and view.large.pixmap().isNull()


def test_metrics_line_leads_with_the_verdict_and_names_the_third_class():
    frames = ramp(6)[:, 0]
    m = path_metrics(frames, [3, 3, 5, 8, 8, 8], [0.9] * 6, start_class=3, end_class=8)
    html = metrics_html(m, NAMES)
    assert "passes through" in html and "purity 83%" in html and "smoothness 0.2000" in html
    assert html.count("text-decoration: underline") == 2  # 5 in the verdict and in the sequence
    pure = metrics_html(path_metrics(frames, [3, 3, 3, 8, 8, 8], [0.9] * 6, 3, 8), NAMES)
    assert "directly" in pure and "purity 100%" in pure and "underline" not in pure


def test_a_path_with_a_wrong_end_is_not_called_pure_in_the_window():
    frames = ramp(6)[:, 0]
    html = metrics_html(path_metrics(frames, [9] * 6, [0.9] * 6, start_class=4, end_class=9), NAMES)
    text = QLabel(html).text()
    assert "never shows" in text and "throughout" in text and "pure" not in text.lower()
    assert "purity 83%" in html and "#d62728" in html  # the verdict in red


def test_small_frames_drop_the_confidence_instead_of_overlapping(qtbot):
    view = make_view(qtbot, n=6)
    canvas = view.canvas
    font, texts = canvas.caption_texts()
    assert texts == ["3 50%", "3 60%", "5 70%", "8 80%", "8 90%", "8 100%"]  # room enough at 900 px
    view.set_strip(Strip(ramp(6).repeat(4, axis=0), [3] * 12 + [8] * 12, np.full(24, 1.0)), NAMES)
    view.resize(700, 260)
    qtbot.waitUntil(lambda: canvas.cell_size() < 30)
    font, texts = canvas.caption_texts()
    assert texts == ["3"] * 12 + ["8"] * 12 and font.pointSizeF() >= 7.0
    metrics = QFontMetricsF(font)
    for i, text in enumerate(texts):  # each caption fits its frame, with room between neighbours
        assert metrics.horizontalAdvance(text) <= canvas.caption_room()
        assert canvas.frame_rect(i).width() + GAP - metrics.horizontalAdvance(text) >= CAPTION_SPACING
    canvas = StripCanvas()  # long class names in small frames: elided
    qtbot.addWidget(canvas)
    canvas.set_strip(Strip(ramp(4), [0, 0, 1, 1], np.ones(4)), ["Ankle boot with a long name", "T-shirt/top, long"])
    canvas.resize(260, 100)
    font, texts = canvas.caption_texts()
    assert all(t.endswith("…") for t in texts)
    assert all(QFontMetricsF(font).horizontalAdvance(t) <= canvas.caption_room() for t in texts)


def test_a_stale_strip_is_greyed_and_says_why(qtbot):
    view = make_view(qtbot)
    view.set_stale("Out of date: press Interpolate")
    assert view.stale and view.canvas.stale and view.stale_label.isVisible()
    assert not view.metrics_label.isEnabled()
    view.set_strip(Strip(ramp(6), [3] * 6, np.ones(6)), NAMES)  # a new strip is current again
    assert not view.stale and not view.stale_label.isVisible() and view.metrics_label.isEnabled()


def test_the_metrics_line_explains_its_terms(qtbot):
    view = make_view(qtbot)
    tip = view.metrics_label.toolTip()
    for word in ("Purity", "Smoothness", "Verdict", "directly"):
        assert word in tip
