"""Start-up time of ``latentlab``: when the window is first painted, and when the map is
explorable (the pretrained VAE's points and class territory painted, the marker's decode
shown), in seconds from launching the process; also the process's CPU seconds by then,
which other processes' load changes far less than the wall-clock figures.

The map is explorable before PyTorch is loaded (the first screen runs the VAE in NumPy,
latentlab/preview); the benchmark also prints when the PyTorch session replaced it
(``session_set``: training and analysis available) and the longest the event loop waited
in between, i.e. how long a drag of the marker may stall while PyTorch loads.

    python benchmarks/startup.py [--runs 5] [--outside] [CHECKPOINT]

``--outside`` runs each start on a real X server (Xvfb) and also prints when a painted map
first appears on its screen, from screen grabs (benchmarks/outside_paint.py): what a
person sees, beside the app's own trace.

Each run is a new process (offscreen Qt, a fresh settings folder, so no session is
restored: a first start after installing) that records both moments through
``LATENTLAB_STARTUP_TRACE`` (latentlab/ui/main/startup.py) and quits. One unrecorded run
first fills the disk cache; the medians are printed with the load average, since on a
shared machine other processes' load is the largest source of variation.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import outside_paint  # noqa: E402

TARGETS = {"window_shown": 1.0, "explorable": 3.0}
OUTSIDE_TARGET_S = 1.2  # a fresh start to a painted map, from screen grabs (--outside)


def command() -> list[str]:
    script = Path(sys.executable).with_name("latentlab")
    return [str(script)] if script.exists() else [sys.executable, "-m", "latentlab"]


def run_once(checkpoint: str | None, timeout_s: float = 120.0, display: str | None = None) -> dict[str, float]:
    """One start of a fresh process; with ``display`` (an X display), also the first paint
    seen from outside (benchmarks/outside_paint.py)."""
    with tempfile.TemporaryDirectory(prefix="latentlab-startup-") as tmp:
        trace = Path(tmp) / "trace.json"
        env = dict(os.environ, LATENTLAB_STARTUP_TRACE=str(trace), HOME=tmp,
                   XDG_CONFIG_HOME=str(Path(tmp) / "config"))
        if display is None:
            env["QT_QPA_PLATFORM"] = "offscreen"
        else:
            env.pop("QT_QPA_PLATFORM", None)
            env["DISPLAY"] = display
        args = command() + ([checkpoint] if checkpoint else [])
        start = time.time()
        process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = outside_paint.seconds_to_paint(process, display, start, timeout_s) if display else None
        try:
            _, stderr = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            raise SystemExit(f"latentlab did not quit within {timeout_s:.0f} s")
        if process.returncode != 0 or not trace.exists():
            raise SystemExit(f"latentlab failed (exit {process.returncode}):\n{stderr[-2000:]}")
        recorded = json.loads(trace.read_text())
        times = {event: at - start for event, at in recorded["wall"].items()}
        times.update({f"{event} (CPU s)": cpu for event, cpu in recorded["cpu"].items()})
        times["longest gap (s)"] = recorded.get("longest_gap_while_loading_s", float("nan"))
        if display:
            times["painted, seen from outside"] = seen if seen is not None else float("nan")
        return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?", help="open this instead of the default (the pretrained VAE)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--outside", action="store_true",
                        help="on a real X server (Xvfb), also time the first painted map from screen grabs")
    args = parser.parse_args()
    if args.outside:
        missing = outside_paint.available()
        if missing:
            raise SystemExit(f"--outside: {missing}")
        with outside_paint.x_display() as display:
            return report(args, display)
    return report(args, None)


def report(args, display: str | None) -> int:
    where = f"X display {display} (Xvfb 1366x768)" if display else "offscreen"
    print(f"{os.cpu_count()} CPU cores, {where}; load average before: {os.getloadavg()[0]:.2f}")
    run_once(args.checkpoint, display=display)  # fills the disk cache
    runs = []
    for i in range(args.runs):
        times = run_once(args.checkpoint, display=display)
        runs.append(times)
        shown = "  ".join(f"{event} {at:5.2f}" for event, at in times.items() if "(" not in event)
        cpu = "  ".join(f"{event.split()[0]} {at:5.2f}" for event, at in times.items() if "CPU" in event)
        shown += f"   | process CPU s: {cpu}"
        shown += f"   | longest GUI gap while loading {times['longest gap (s)'] * 1000:.0f} ms"
        print(f"run {i + 1}: {shown}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    ok = True
    for event, target in TARGETS.items():
        values = [r[event] for r in runs if event in r]
        if not values:
            print(f"{event}: never reached")
            ok = False
            continue
        median = statistics.median(values)
        ok &= median <= target
        print(f"{event}: median {median:.2f} s (min {min(values):.2f}, max {max(values):.2f}; "
              f"target <= {target:g} s)")
    if display:
        seen = [r["painted, seen from outside"] for r in runs]
        median = statistics.median(seen)
        ok &= median <= OUTSIDE_TARGET_S
        print(f"painted map seen from outside: median {median:.2f} s (min {min(seen):.2f}, max {max(seen):.2f}; "
              f"target <= {OUTSIDE_TARGET_S:g} s)")
    sessions = [r["session_set"] for r in runs if "session_set" in r]
    if sessions:
        print(f"session_set (PyTorch session in place): median {statistics.median(sessions):.2f} s")
    gaps = [r["longest gap (s)"] * 1000 for r in runs]
    print(f"longest event-loop gap between explorable and session_set: median {statistics.median(gaps):.0f} ms "
          f"(max {max(gaps):.0f} ms)")
    for event in TARGETS:
        values = [r[f"{event} (CPU s)"] for r in runs if f"{event} (CPU s)" in r]
        if values:
            print(f"{event}: median {statistics.median(values):.2f} s of process CPU time (all threads)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
