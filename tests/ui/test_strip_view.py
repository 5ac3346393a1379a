"""The interpolation strip: frames with the judge's captions, the metrics line, the player."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt

from latentlab.latent.path_metrics import path_metrics
from latentlab.ui.strip_view import Strip, StripView, metrics_html

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


def test_metrics_line_names_the_third_class():
    frames = ramp(6)[:, 0]
    m = path_metrics(frames, [3, 3, 5, 8, 8, 8], [0.9] * 6, start_class=3, end_class=8)
    html = metrics_html(m, NAMES)
    assert "purity 83%" in html and "passes through" in html and "smoothness 0.200" in html
    assert html.count("text-decoration: underline") == 2  # 5 in the sequence and in the intruder list
    pure = metrics_html(path_metrics(frames, [3, 3, 3, 8, 8, 8], [0.9] * 6), NAMES)
    assert "(pure)" in pure and "underline" not in pure
