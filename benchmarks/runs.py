"""What the latency benchmarks share: several runs in fresh processes, artificial load beside
them, and a table of every run with the worst.

A goal met in the best run is not met: each figure is measured in ``--runs`` separate
processes (5 by default) and judged by its worst run. ``--load N`` starts N busy processes
(pure-Python loops, as a browser tab or a video call would keep a core busy) for the whole
measurement and kills them at the end, to show how the tails grow when the machine is not
quiet. The load average is printed with every run: on a shared machine it is the largest
source of variation.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

BUSY_LOOP = "import signal, sys\nsignal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\nwhile True: pass\n"
#: A child process prints its figures on one line starting with this.
RESULT_MARK = "LATENCY-RESULT "


@contextlib.contextmanager
def busy_load(n: int) -> Iterator[list[subprocess.Popen]]:
    """``n`` processes that each keep one core busy until the block ends."""
    procs = [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(max(0, n))]
    try:
        yield procs
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def load_average() -> float:
    return os.getloadavg()[0]


def emit_result(figures: dict) -> None:
    """In a child process: hand the figures to the parent (one JSON line on stdout)."""
    print(RESULT_MARK + json.dumps(figures), flush=True)


def run_child(args: Sequence[str], timeout_s: float, env: dict | None = None,
              echo: Callable[[str], None] | None = print) -> dict:
    """Run ``python args...`` and return the figures it emitted; its other output is echoed."""
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout_s,
                          env=env if env is not None else os.environ.copy())
    figures = None
    for line in done.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            figures = json.loads(line[len(RESULT_MARK):])
        elif echo is not None:
            echo(line)
    if done.returncode != 0 or figures is None:
        raise SystemExit(f"{args[0]} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return figures


@dataclass
class Figure:
    """One row of the summary: where its value is in a run's figures, and its goal."""

    label: str
    path: tuple[str, ...]
    goal: float | None = None  # the worst run must be <= goal
    unit: str = "ms"
    digits: int = 1

    def value(self, figures: dict) -> float | None:
        v = figures
        for key in self.path:
            if not isinstance(v, dict) or key not in v:
                return None
            v = v[key]
        return None if v is None else float(v)


def summary_table(figures: Sequence[Figure], runs: Sequence[dict]) -> list[str]:
    """Every run's value of each figure, the worst, and whether the worst meets the goal."""
    heads = [f"run {i + 1}" for i in range(len(runs))]
    lines = [f"{'figure':44s} {'goal':>8s} " + " ".join(f"{h:>8s}" for h in heads) + f" {'worst':>8s}  verdict"]
    for f in figures:
        values = [f.value(r) for r in runs]
        present = [v for v in values if v is not None]
        if not present:
            continue
        worst = max(present)
        goal = f"<= {f.goal:g}" if f.goal is not None else ""
        verdict = "" if f.goal is None else ("met" if worst <= f.goal else "MISSED")
        cells = " ".join(f"{v:8.{f.digits}f}" if v is not None else f"{'-':>8s}" for v in values)
        lines.append(f"{f.label + ' (' + f.unit + ')':44s} {goal:>8s} {cells} {worst:8.{f.digits}f}  {verdict}")
    return lines
