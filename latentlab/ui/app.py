"""Starting the window: the display check, the QApplication, and the headless capture.

``run_app`` is what ``latentlab [CKPT] [--screenshot out.png]`` calls. Qt is imported
only after the display check, so a missing display costs no Qt start-up and gives one
clear line instead of Qt's abort.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import tempfile
import traceback
from pathlib import Path

NO_DISPLAY = ("no display found; run under Xvfb (xvfb-run latentlab) or set QT_QPA_PLATFORM=offscreen")
EXIT_USAGE = 2  # as the CLI: the input (display, checkpoint) is the problem
EXIT_FAILED = 1
CAPTURE_TIMEOUT_S = 180.0
#: The territory in a screenshot: one fine pass (nobody waits for it interactively).
CAPTURE_TERRITORY = (64,)


def display_problem(environ: dict | None = None, platform: str | None = None) -> str | None:
    """The no-display message on Linux without DISPLAY, WAYLAND_DISPLAY and QT_QPA_PLATFORM, else None."""
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if not platform.startswith("linux"):
        return None
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"):
        return None
    return NO_DISPLAY


def ensure_application():
    """The QApplication (created once), named so QSettings has a home, themed."""
    from PySide6.QtWidgets import QApplication

    from .compat import protect_singletons
    from .theme import apply_theme, configure_pyqtgraph

    protect_singletons()
    app = QApplication.instance()
    if app is None:
        QApplication.setOrganizationName("latentlab")
        QApplication.setApplicationName("latentlab")
        app = QApplication(sys.argv[:1])
    configure_pyqtgraph()
    apply_theme(app)
    return app


def run_app(checkpoint: str | None = None, screenshot: str | None = None) -> int:
    """Open the window (on ``checkpoint`` if given) and run until it closes; the exit code.

    With ``screenshot``, render the window offscreen with the model loaded, the marker at
    the origin and the territory computed, save it as PNG and exit.
    """
    if screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    else:
        problem = display_problem()
        if problem:
            print(f"latentlab: error: {problem}", file=sys.stderr)
            return EXIT_USAGE
    app = ensure_application()
    if screenshot:
        return capture(app, checkpoint, screenshot)
    return _run_interactive(app, checkpoint)


def _splash():
    """A small card shown while PyTorch loads (~1.5 s of the ~2.5 s start-up)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
    from PySide6.QtWidgets import QSplashScreen

    pixmap = QPixmap(460, 150)
    pixmap.fill(QColor("#f7f7f7"))
    painter = QPainter(pixmap)
    painter.setPen(QColor("#1f77b4"))
    painter.drawRect(0, 0, 459, 149)
    painter.setPen(QColor("#222"))
    font = QFont()
    font.setPointSize(22)
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(pixmap.rect().adjusted(0, 0, 0, -40), Qt.AlignmentFlag.AlignCenter, "latentlab")
    font.setPointSize(11)
    font.setBold(False)
    painter.setFont(font)
    painter.drawText(pixmap.rect().adjusted(0, 60, 0, 0), Qt.AlignmentFlag.AlignCenter, "loading PyTorch…")
    painter.end()
    splash = QSplashScreen(pixmap)
    splash.show()
    return splash


def _run_interactive(app, checkpoint: str | None) -> int:
    from PySide6.QtCore import QTimer

    splash = _splash()
    app.processEvents()
    from .main_window import MainWindow  # imports torch

    window = MainWindow()
    window.show()
    splash.finish(window)
    if checkpoint:
        window.open_checkpoint(checkpoint)
    previous_hook = sys.excepthook
    sys.excepthook = _dialog_excepthook(window)
    # Ctrl+C in the terminal closes the window (asking to save, as the close button does);
    # the timer lets Python see the signal while Qt's event loop runs in C++.
    previous_sigint = signal.signal(signal.SIGINT, lambda *_: window.close())
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start(250)
    try:
        return int(app.exec())
    finally:
        heartbeat.stop()
        signal.signal(signal.SIGINT, previous_sigint)
        sys.excepthook = previous_hook
        window.shutdown()
        _dispose(app, window)


def _dispose(app, window) -> None:
    """Delete the window and collect pyqtgraph's reference cycles while Qt is still whole;
    left to interpreter exit, Qt calls into half-finalized Python objects."""
    from PySide6.QtCore import QEvent

    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def _dialog_excepthook(window):
    """Show a bug in a slot as a dialog that names it; the window keeps running."""
    from . import dialogs

    showing = [False]

    def hook(exc_type, exc, tb) -> None:
        traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
        if issubclass(exc_type, KeyboardInterrupt):
            window.close()
            return
        if showing[0]:  # one dialog at a time: a bug in a paint event would repeat at once
            return
        showing[0] = True
        try:
            dialogs.show_error(window, "Unexpected error",
                               f"{exc_type.__name__}: {exc}\n\nThe details are printed on the terminal. "
                               "The window stays usable; please report this.")
        finally:
            showing[0] = False

    return hook


def capture(app, checkpoint: str | None, path: str | os.PathLike) -> int:
    """Render the window offscreen to ``path`` (PNG) and close it; the exit code."""
    from PySide6.QtCore import QSettings

    from latentlab.errors import LatentLabError

    from .explorer import ExplorerOptions
    from .main_window import DEFAULT_SIZE, MainWindow, WindowOptions
    from .session import Session

    out = Path(path).expanduser()
    with tempfile.TemporaryDirectory(prefix="latentlab-capture-") as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)  # leave the user's alone
        options = WindowOptions(headless=True, explorer=ExplorerOptions(territory_stages=CAPTURE_TERRITORY))
        window = MainWindow(settings=settings, options=options)
        try:
            window.resize(*DEFAULT_SIZE)
            window.show()
            if checkpoint:
                try:
                    session = Session.open(checkpoint)
                except LatentLabError as exc:
                    print(f"latentlab: error: {exc}", file=sys.stderr)
                    return EXIT_USAGE
                window.set_session(session)
            if not window.wait_until_idle(CAPTURE_TIMEOUT_S):
                print("latentlab: warning: background images did not finish in time; capturing anyway",
                      file=sys.stderr)
            app.processEvents()
            out.parent.mkdir(parents=True, exist_ok=True)
            if not window.grab().save(str(out), "PNG"):
                print(f"latentlab: error: could not write {out}", file=sys.stderr)
                return EXIT_FAILED
        finally:
            window.close()
            window.shutdown()
            _dispose(app, window)
    print(f"saved a screenshot of the window to {out}")
    return 0
