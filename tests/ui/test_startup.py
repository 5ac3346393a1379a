"""The start-up trace that benchmarks/startup.py reads: both moments recorded, in order,
and the app quits by itself."""

from __future__ import annotations

import json

from PySide6.QtCore import QSettings

from pretrained_helpers import pretrained  # noqa: F401 - a fixture


def test_the_startup_trace_records_window_then_explorable_and_quits(qtbot, tmp_path, monkeypatch,
                                                                    pretrained):  # noqa: F811
    from latentlab.ui import app
    from latentlab.ui.startup import TRACE_ENV

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "settings"))
    trace = tmp_path / "trace.json"
    monkeypatch.setenv(TRACE_ENV, str(trace))
    assert app.run_app(None, None) == 0  # returns: the trace quit the app once the map was explorable
    recorded = json.loads(trace.read_text())
    wall, cpu = recorded["wall"], recorded["cpu"]
    assert list(wall) == ["window_shown", "session_set", "explorable"]
    assert wall["window_shown"] < wall["session_set"] <= wall["explorable"]
    assert set(cpu) == set(wall) and cpu["window_shown"] <= cpu["explorable"]
