"""Starting the window: the display check, the QApplication, and the headless capture.

``run_app`` is what ``latentlab [CKPT] [--screenshot out.png]`` calls. Qt is imported
only after the display check, so a missing display costs no Qt start-up and gives one
clear line instead of Qt's abort.
"""

from __future__ import annotations

import gc
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

NO_DISPLAY = ("no display found; run under Xvfb (xvfb-run latentlab) or set QT_QPA_PLATFORM=offscreen")
EXIT_USAGE = 2  # as the CLI: the input (display, checkpoint) is the problem
EXIT_FAILED = 1
CAPTURE_TIMEOUT_S = 180.0
#: The territory in a screenshot: one fine pass (nobody waits for it interactively).
CAPTURE_TERRITORY = (64,)
#: The screenshot mode's temporary folder: ``latentlab-capture-PID-XXXXXXXX`` in the system's
#: temporary folder. A killed process leaves it behind; the next start removes it.
CAPTURE_PREFIX = "latentlab-capture-"
_CAPTURE_NAME = re.compile(re.escape(CAPTURE_PREFIX) + r"(?:(\d+)-)?[a-z0-9_]+$")


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

    from latentlab.ui.base.compat import protect_singletons
    from latentlab.ui.base.theme import apply_theme, configure_pyqtgraph

    protect_singletons()
    app = QApplication.instance()
    if app is None:
        QApplication.setOrganizationName("latentlab")
        QApplication.setApplicationName("latentlab")
        app = QApplication(sys.argv[:1])
    configure_pyqtgraph()
    apply_theme(app)
    return app


def run_app(checkpoint: str | None = None, screenshot: str | None = None, *, exit_process: bool = False) -> int:
    """Open the window (on ``checkpoint`` if given) and run until it closes; the exit code.

    With ``screenshot``, render the window offscreen with the model loaded (the pretrained
    VAE when no checkpoint is given), the marker at the origin and the territory computed,
    save it as PNG and exit.

    ``exit_process`` (the ``latentlab`` command) ends the process as soon as the window has
    closed and saved what it had to save (``exit_now``): no waiting for worker threads (one
    may be stuck in an import for seconds, or finishing a first-screen job) and no
    interpreter teardown (0.3-2.6 s with PyTorch and Qt loaded, measured on a busy 2-core
    machine). In-process callers (tests) leave it off: they get every thread stopped and joined.
    """
    remove_stale_capture_folders()
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
    return _run_interactive(app, checkpoint, exit_process=exit_process)


#: The warm-up (a training step, scikit-learn's import) waits this long after PyTorch has
#: loaded, so it does not slow the first map.
WARM_UP_DELAY_MS = 4000


def _run_interactive(app, checkpoint: str | None, *, exit_process: bool = False) -> int:
    """Show the window at once, load PyTorch and the model behind it (see startup.py)."""
    from PySide6.QtCore import QEvent, QSettings, QTimer

    from latentlab.ui.main import session_state
    from latentlab.ui.main.main_window import MainWindow, WindowOptions  # imports no PyTorch
    from latentlab.ui.main.startup import StartupTrace

    settings = QSettings()
    state = session_state.load(settings)
    window = MainWindow(settings=settings, options=WindowOptions(defer_engine=True,
                                                                 warm_up_delay_ms=WARM_UP_DELAY_MS,
                                                                 exit_without_waiting=exit_process))
    window.restore_layout(state)
    StartupTrace.from_environment(window, window.state, window.explorer, failed=window.welcome.notice.isVisible)
    window.show()
    if state.presentation:
        window.presentation.set_active(True)
    startup = window.make_startup(checkpoint, state)
    QTimer.singleShot(0, startup.start)  # after the first paint
    previous_hook = sys.excepthook
    sys.excepthook = _dialog_excepthook(window)
    # Ctrl+C in the terminal closes the window (asking to save, as the close button does);
    # SIGTERM and SIGHUP (a logout, a closed terminal) close it without asking, keeping a copy
    # of unsaved training (autosave.py). The timer lets Python see a signal while Qt's event
    # loop runs in C++.
    previous = _install_signal_handlers(app, window)
    heartbeat = QTimer()
    heartbeat.timeout.connect(lambda: None)
    heartbeat.start(250)
    code = EXIT_FAILED
    try:
        code = int(app.exec())
        return code
    except BaseException:
        if exit_process:  # exit_now below would swallow it
            traceback.print_exc()
        raise
    finally:
        heartbeat.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        sys.excepthook = previous_hook
        if exit_process:
            window.shutdown(wait=False)  # done when the window closed; here if exec() ended otherwise
            settings.sync()
            exit_now(code)
        startup.wait()
        window.shutdown()
        _dispose(app, window)
        # Closing the last window posts a Quit event that may outlive exec(); left queued, it
        # ends the next event loop of this process at once (an in-process caller's, a test's).
        app.removePostedEvents(app, QEvent.Type.Quit)


def _install_signal_handlers(app, window) -> dict:
    """SIGINT: close as the close button does. SIGTERM, SIGHUP: close without a question,
    with unsaved training saved to the autosave folder; the exit code is 128 + the signal."""
    def close(signum, frame) -> None:
        window.close()

    def close_unattended(signum, frame) -> None:
        name = signal.Signals(signum).name
        window.close_unattended(name)
        app.exit(128 + signum)

    previous = {signal.SIGINT: signal.signal(signal.SIGINT, close)}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            previous[signum] = signal.signal(signum, close_unattended)
    return previous


def exit_now(code: int) -> None:
    """End the process at once: stop worker processes (UMAP), flush logs and the standard
    streams, and skip the interpreter's teardown and the waiting for threads that have
    nothing left to save. The ``atexit`` handlers are not run: PySide's would destroy the
    QApplication and with it a QThread still running, which aborts the process."""
    umap_service = sys.modules.get("latentlab.latent.umap_service")
    if umap_service is not None:
        try:
            umap_service._shutdown_all()
        except Exception:  # noqa: BLE001 - exiting anyway
            traceback.print_exc()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def remove_stale_capture_folders(root: str | os.PathLike | None = None) -> list[Path]:
    """Delete the screenshot mode's temporary folders that killed processes left behind
    (only those whose process has ended; a folder of a running capture is kept)."""
    from latentlab.atomic import pid_alive

    removed = []
    folder = Path(root if root is not None else tempfile.gettempdir())
    try:
        candidates = list(folder.glob(CAPTURE_PREFIX + "*"))
    except OSError:
        return removed
    for path in candidates:
        match = _CAPTURE_NAME.match(path.name)
        if match is None or not path.is_dir() or path.is_symlink():
            continue
        if match[1] is not None:
            stale = int(match[1]) != os.getpid() and not pid_alive(int(match[1]))
        else:  # an older latentlab's folder, without a process id: stale once a capture would have timed out
            stale = time.time() - _mtime(path) > 2 * CAPTURE_TIMEOUT_S
        if stale:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return time.time()


def _dispose(app, window) -> None:
    """Delete the window and collect pyqtgraph's reference cycles while Qt is still whole;
    left to interpreter exit, Qt calls into half-finalized Python objects."""
    from PySide6.QtCore import QEvent

    window.deleteLater()
    app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def _dialog_excepthook(window):
    """Show a bug in a slot as a dialog that names it; the window keeps running."""
    from latentlab.ui.base import dialogs

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

    from latentlab.ui.map.explorer import ExplorerOptions
    from latentlab.ui.base.image_files import write_png
    from latentlab.ui.main.main_window import MainWindow, WindowOptions
    from latentlab.ui.main.screen_fit import DEFAULT_SIZE
    from latentlab.app.session import Session

    out = Path(path).expanduser()
    if checkpoint is None:  # what the window opens on: the pretrained VAE, when installed
        from latentlab.pretrained import default_checkpoint

        default = default_checkpoint()
        checkpoint = str(default) if default is not None else None
    with tempfile.TemporaryDirectory(prefix=f"{CAPTURE_PREFIX}{os.getpid()}-") as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)  # leave the user's alone
        options = WindowOptions(headless=True, explorer=ExplorerOptions(territory_stages=CAPTURE_TERRITORY),
                                fit_to_screen=False)
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
            try:
                write_png(window.grab(), out, what="the screenshot")
            except LatentLabError as exc:
                print(f"latentlab: error: {exc}", file=sys.stderr)
                return EXIT_FAILED
        finally:
            window.close()
            window.shutdown()
            _dispose(app, window)
    print(f"saved a screenshot of the window to {out}")
    return 0
