"""What ``latentlab train`` does around the training loop so that no work is lost.

- The destination is checked before training (``check_save_destination``), and a save
  that fails at the end anyway goes to a fresh name in the user's data folder.
- ``--autosave`` saves to the destination every N minutes (default 10) or every N epochs,
  atomically, so a power cut costs minutes.
- SIGINT (Ctrl+C), SIGTERM (a cluster's time limit) and SIGHUP (a closed terminal): the
  first stops training after the current optimiser step, the model is saved and the
  command exits with 128 + the signal's number (130, 143, 129), saying what was saved.
  A second one quits at once without saving; the destination keeps what it had.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
import time
from pathlib import Path

from latentlab.errors import CheckpointError, LatentLabError

#: Minutes between autosaves unless ``--autosave`` says otherwise.
DEFAULT_AUTOSAVE = "10"
EXIT_FAILED = 1


def say(text: str, *, err: bool = True) -> None:
    """Print a line; a terminal that has gone away (SIGHUP) must not end the save."""
    try:
        print(text, file=sys.stderr if err else sys.stdout, flush=True)
    except (OSError, ValueError):
        pass


# ------------------------------------------------------------------ autosave
def autosave_spec(text: str) -> tuple[float | None, int | None]:
    """``--autosave`` as (seconds, epochs): "10" or "10min" is every 10 minutes, "3ep" or
    "3epochs" every 3 epochs, "0" or "off" never. An argparse type."""
    value = text.strip().lower()
    if value in ("0", "off", "no", "never"):
        return None, None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(m|min|mins|minutes?)?", value)
    if match:
        minutes = float(match[1])
        return (minutes * 60.0 if minutes > 0 else None), None
    match = re.fullmatch(r"(\d+)\s*(ep|epochs?)", value)
    if match and int(match[1]) >= 1:
        return None, int(match[1])
    raise argparse.ArgumentTypeError(
        f"{text!r} is not an autosave interval: give minutes (10 or 10min), epochs (3ep) or off"
    )


def describe_autosave(spec: tuple[float | None, int | None]) -> str:
    seconds, epochs = spec
    if epochs:
        return f"every {epochs} epoch{'s' if epochs > 1 else ''}"
    if seconds:
        return f"every {seconds / 60:g} min"
    return "off"


class AutosaveLog:
    """A training callback: says where autosaves went, and why one failed."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.tty = sys.stderr.isatty()

    def on_step(self, trainer, report) -> None: ...

    def on_epoch(self, trainer, report) -> None: ...

    def on_end(self, trainer, result) -> None: ...

    def on_autosave(self, trainer, path, error) -> None:
        from latentlab.training.progress import describe_position

        if error is not None:
            say(("\n" if self.tty else "") + f"latentlab: warning: autosave failed, training goes on: {error}")
        elif not self.quiet and not self.tty:  # a log file: one line; a terminal keeps its progress bar
            say(f"autosaved the weights {describe_position(trainer.position)} to {path}")


# ------------------------------------------------------------------- signals
class Interrupted(KeyboardInterrupt):
    """A second stop signal: quit without saving."""

    def __init__(self, signum: int, message: str) -> None:
        super().__init__(message)
        self.signum = signum


#: Under torchrun the same signal again within this many seconds is the same request.
REPEAT_WINDOW_S = 2.0
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class StopOnSignals:
    """While active (a ``with`` block in the main thread), the first SIGINT, SIGTERM or
    SIGHUP asks ``control`` to stop after the current step; a second raises Interrupted.

    Under torchrun (``distributed``) a Ctrl+C reaches every process twice, from the
    terminal and forwarded by torchrun, so the same signal again within
    :data:`REPEAT_WINDOW_S` counts once. A ``follower`` (a rank other than 0) only asks its
    control to stop (the ranks agree on it) and says nothing: rank 0 speaks and saves.
    """

    def __init__(self, control, out: Path, *, follower: bool = False, distributed: bool = False) -> None:
        self.control = control
        self.out = out
        self.follower = follower
        self.distributed = distributed or follower
        self.received: int | None = None
        self._received_at = 0.0
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopOnSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in STOP_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    @property
    def exit_code(self) -> int | None:
        return None if self.received is None else 128 + self.received

    @property
    def name(self) -> str:
        return signal.Signals(self.received).name if self.received is not None else ""

    def _handle(self, signum: int, frame) -> None:
        name = signal.Signals(signum).name
        repeat = self.distributed and signum == self.received and time.monotonic() - self._received_at < REPEAT_WINDOW_S
        if self.follower or repeat:
            self.control.request_stop()
            return
        if self.received is None:
            self.received, self._received_at = signum, time.monotonic()
            self.control.request_stop()
            say(f"\nlatentlab: {name}: stopping after the current step, then saving to {self.out} "
                f"(send it again to quit without saving)")
            return
        raise Interrupted(signum, f"{name} again: quit without saving; {self.out} keeps its last complete save, if any")


# ------------------------------------------------------------------- saving
def save_or_rescue(trainer, out: Path) -> tuple[Path, bool]:
    """Save to ``out``; if that fails (the disk filled up, the folder went read-only),
    save to a fresh name in the user's data folder and say so. (path, rescued)."""
    from latentlab.models.checkpoint import fallback_path

    try:
        return trainer.save(out), False
    except LatentLabError as exc:
        problem = exc
    try:
        rescue = fallback_path(out)
        path = trainer.save(rescue)
    except LatentLabError as again:
        raise CheckpointError(f"{problem}; saving to the data folder instead failed too: {again}") from None
    say(f"latentlab: error: {problem}")
    say(f"latentlab: the model was saved to {path} instead; move it where you want it")
    return path, True


def finish(trainer, result, out: Path, signals: StopOnSignals, seconds: float, format_metrics) -> int:
    """Save the model, print what was saved, and return the exit code."""
    from latentlab.training.progress import describe_position

    path, rescued = save_or_rescue(trainer, out)
    where = describe_position(result.position)
    if signals.received is not None:
        say(f"latentlab: stopped by {signals.name} {where}; saved the weights of that step to {path}")
        if trainer.metrics:
            say(format_metrics(trainer.metrics), err=False)
        return signals.exit_code
    if not result.ok:
        say(f"latentlab: error: {result.message} Saved the weights {where} to {path}.")
        return EXIT_FAILED
    say(f"{result.message} in {seconds:.1f} s", err=False)
    say(format_metrics(trainer.metrics), err=False)
    say(f"saved {path}", err=False)
    return EXIT_FAILED if rescued else 0
