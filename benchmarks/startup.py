"""Start-up time of ``latentlab``: when the window is first painted, and when the map is
explorable (the pretrained VAE's points and class territory painted, the marker's decode
shown), in seconds from launching the process; also the process's CPU seconds by then,
which other processes' load changes far less than the wall-clock figures.

The map is explorable before PyTorch is loaded (the first screen runs the VAE in NumPy,
latentlab/preview); the benchmark also prints when the PyTorch session replaced it
(``session_set``: training and analysis available) and the longest the event loop waited
in between, i.e. how long a drag of the marker may stall while PyTorch loads.

    python benchmarks/startup.py [--runs 5] [CHECKPOINT]

Each run is a new process (offscreen Qt, a fresh settings folder, so no session is
restored: a first start after installing) that records both moments through
``LATENTLAB_STARTUP_TRACE`` (latentlab/ui/startup.py) and quits. One unrecorded run
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

TARGETS = {"window_shown": 1.0, "explorable": 3.0}


def command() -> list[str]:
    script = Path(sys.executable).with_name("latentlab")
    return [str(script)] if script.exists() else [sys.executable, "-m", "latentlab"]


def run_once(checkpoint: str | None, timeout_s: float = 120.0) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="latentlab-startup-") as tmp:
        trace = Path(tmp) / "trace.json"
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", LATENTLAB_STARTUP_TRACE=str(trace),
                   XDG_CONFIG_HOME=str(Path(tmp) / "config"))
        args = command() + ([checkpoint] if checkpoint else [])
        start = time.time()
        done = subprocess.run(args, env=env, timeout=timeout_s, capture_output=True, text=True)
        if done.returncode != 0 or not trace.exists():
            raise SystemExit(f"latentlab failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        recorded = json.loads(trace.read_text())
        times = {event: at - start for event, at in recorded["wall"].items()}
        times.update({f"{event} (CPU s)": cpu for event, cpu in recorded["cpu"].items()})
        times["longest gap (s)"] = recorded.get("longest_gap_while_loading_s", float("nan"))
        return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", nargs="?", help="open this instead of the default (the pretrained VAE)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPU cores; load average before: {os.getloadavg()[0]:.2f}")
    run_once(args.checkpoint)  # fills the disk cache
    runs = []
    for i in range(args.runs):
        times = run_once(args.checkpoint)
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
