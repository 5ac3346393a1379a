"""The command line's progress bar: rate and time left on stderr, redrawn on a terminal and
one line per epoch (or per ``log_interval`` seconds) in a log."""

from __future__ import annotations

import sys
import time


def fmt_time(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ProgressBar:
    """A one-line progress bar with rate and ETA on stderr (a training callback).

    On a terminal the bar is redrawn in place; in a log (not a terminal) a line is written
    at every epoch's end and, within long epochs, every ``log_interval`` seconds.
    """

    def __init__(self, title: str, width: int = 28, min_interval: float = 0.1, log_interval: float = 15.0) -> None:
        self.title, self.width, self.min_interval, self.log_interval = title, width, min_interval, log_interval
        self._last = 0.0
        self._last_log = time.perf_counter()
        self._tty = sys.stderr.isatty()
        self._drawn = False

    def on_step(self, trainer, report) -> None:
        now = time.perf_counter()
        loss = report.losses.get("loss", float("nan"))
        if not self._tty:
            if now - self._last_log >= self.log_interval:
                self._last_log = now
                sys.stderr.write(f"{self.title} epoch {report.epoch}/{report.epochs} {report.progress:.0%} "
                                 f"loss {loss:.4g} ETA {fmt_time(report.eta_s)}\n")
            return
        if now - self._last < self.min_interval and report.step != report.total_steps:
            return
        self._last = now
        filled = int(self.width * report.progress)
        line = (f"{self.title} epoch {report.epoch}/{report.epochs} [{'#' * filled}{'.' * (self.width - filled)}] "
                f"{report.progress:4.0%} {report.images_per_s:,.0f} img/s ETA {fmt_time(report.eta_s)} loss {loss:.4g}")
        self._write("\r" + line + "\x1b[K")
        self._drawn = True

    def on_epoch(self, trainer, report) -> None:
        if not self._tty:  # logs and CI: one line per epoch instead of a redrawn bar
            self._last_log = time.perf_counter()
            loss = report.losses.get("loss", float("nan"))
            self._write(f"{self.title} epoch {report.epoch}/{report.epochs} loss {loss:.4g} "
                        f"elapsed {fmt_time(report.elapsed_s)} ETA {fmt_time(report.eta_s)}\n")

    def on_end(self, trainer, result) -> None: ...

    def close(self) -> None:
        if self._tty and self._drawn:
            self._write("\n")

    def _write(self, text: str) -> None:
        """A closed terminal (SIGHUP) makes writes fail: training and the save go on."""
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except (OSError, ValueError):
            self._tty = False
