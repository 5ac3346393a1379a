"""Closing the window during training: seconds from the close request to the process exit.

Each run starts the real ``latentlab`` command in its own process (offscreen, or under
Xvfb with ``--xvfb``) on a copy of the pretrained VAE, clicks "Fine-tune at this β",
waits a random moment (half of the runs inside the first second after the click, when
the trainer is still building its optimiser; the others up to two seconds after the first
new weights reached the window), presses Ctrl+Q and answers the "Save the model?"
question with Save or Discard, as a person would, the moment it appears. The
parent process times from the key press (the child prints the time) to the moment the
process has exited, and checks that the checkpoint was rewritten when Save was answered
and left alone when Discard was.

    python benchmarks/close_latency.py                 # 20 runs answering Save, 20 answering Discard
    python benchmarks/close_latency.py --runs 5 --answer save --xvfb

Target (issue #7 of the guide): at most 1 s in 20 of 20 runs. Prints every run, the worst
and the machine's load: figures from a busy machine are upper bounds.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 1.0


# ===================================================================== child
def child(checkpoint: str, delay_s: float, answer: str, after_weights: bool) -> int:
    """Run the real command with a driver that acts as the user (a timer in the GUI thread):
    close ``delay_s`` after the click on Fine-tune, or after the first new weights reached
    the window (``after_weights``)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QMessageBox

    from latentlab.cli import main
    from latentlab.ui.main.app import ensure_application
    from latentlab.ui.main.main_window import MainWindow

    ensure_application()  # run_app reuses it; the driver's timer lives in its event loop
    _trace_phases()
    state = {"phase": "wait-model", "t": 0.0}

    def window() -> MainWindow | None:
        found = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]
        return found[0] if found else None

    def step() -> None:
        w, now = window(), time.perf_counter()
        if state["phase"] == "wait-model":
            if w is not None and w.engine_ready and w.session is not None and w.beta_panel.slider.isEnabled():
                w.beta_panel.slider.setFocus()  # one step of the β slider starts a fine-tune, as a user would
                QTest.keyClick(w.beta_panel.slider, Qt.Key.Key_Right)
                state.update(phase="training", t=now)
                print(f"TRAINING {time.time():.6f} {w.is_training}", flush=True)
        elif state["phase"] == "training":
            if w.session.dirty and "weights" not in state:
                state["weights"] = now
                print(f"WEIGHTS {time.time():.6f}", flush=True)  # the first new weights reached the window
            if after_weights and "weights" not in state:
                return
            if now - state["weights" if after_weights else "t"] >= delay_s:
                state["phase"] = "closing"
                print(f"CLOSE {time.time():.6f}", flush=True)
                # From its own timer: the key press returns only after the dialog, and this timer
                # must keep running to answer it (a timer does not fire while its slot runs).
                QTimer.singleShot(0, press_ctrl_q)
        elif state["phase"] == "closing":
            box = QApplication.activeModalWidget()
            if isinstance(box, QMessageBox):
                button = QMessageBox.StandardButton.Save if answer == "save" else QMessageBox.StandardButton.Discard
                print(f"ANSWER {time.time():.6f} {int(w.session.dirty)}", flush=True)
                box.button(button).click()

    def press_ctrl_q() -> None:
        QTest.keyClick(window(), Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)

    timer = QTimer()
    timer.timeout.connect(step)
    timer.start(10)
    return main([checkpoint])


def _trace_phases() -> None:
    """Print when each step of closing starts and ends (for the breakdown of slow runs)."""
    import latentlab.ui.main.app as app
    from latentlab.ui.main.main_window import MainWindow

    def traced(owner, name: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            print(f"PHASE {name}+ {time.time():.6f}", flush=True)
            try:
                return original(*args, **kwargs)
            finally:
                print(f"PHASE {name}- {time.time():.6f}", flush=True)

        setattr(owner, name, wrapper)

    for name in ("closeEvent", "_stop_training_for_close", "save_checkpoint", "shutdown"):
        traced(MainWindow, name)
    traced(app, "exit_now")
    real_exit = os._exit

    def exit_(code: int) -> None:
        print(f"PHASE os._exit {time.time():.6f}", flush=True)
        real_exit(code)

    os._exit = exit_


# ==================================================================== parent
def digest(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if f.is_file():
            h.update(f.read_bytes())
    return h.hexdigest()


def run_once(delay_s: float, after_weights: bool, answer: str, workdir: Path, xvfb_display: str | None,
             timeout_s: float) -> dict:
    ckpt = workdir / "vae.safetensors"
    shutil.copy(ROOT / "resources" / "pretrained" / "vae.safetensors", ckpt)
    before = digest(ckpt)
    home = workdir / "home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "LATENTLAB_DATA": str(home / "data"), "PYTHONPATH": str(ROOT)}
    if xvfb_display:
        env["DISPLAY"] = xvfb_display
        env.pop("QT_QPA_PLATFORM", None)
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    cmd = [sys.executable, __file__, "--child", str(ckpt), str(delay_s), answer, str(int(after_weights))]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    marks: dict[str, float] = {}
    phases: list[tuple[str, float]] = []
    exited: list[float] = []

    def wait() -> None:
        proc.wait()
        exited.append(time.time())

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    out_lines = []
    for line in proc.stdout:  # ends when the process has closed its stdout (exit)
        out_lines.append(line)
        parts = line.split()
        if len(parts) >= 2 and parts[0] in ("TRAINING", "WEIGHTS", "CLOSE", "ANSWER"):
            marks[parts[0]] = float(parts[1])
        if parts and parts[0] == "ANSWER":
            marks["dirty"] = float(parts[2])
        if parts and parts[0] == "PHASE":
            phases.append((parts[1], float(parts[2])))
    waiter.join(timeout_s)
    err = proc.stderr.read() if proc.poll() is not None else ""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
        return {"ok": False, "why": "did not exit", "delay": delay_s}
    if "CLOSE" not in marks:
        return {"ok": False, "why": "never reached the close request: " + err.strip()[-300:], "delay": delay_s}
    changed = digest(ckpt) != before
    return {"ok": True, "delay": marks["CLOSE"] - marks["TRAINING"], "close_to_exit": exited[0] - marks["CLOSE"],
            "answered_after": marks.get("ANSWER", float("nan")) - marks["CLOSE"],
            "first_weights": marks.get("WEIGHTS", float("nan")) - marks["TRAINING"],
            "unsaved": bool(marks.get("dirty", 0)), "rc": proc.returncode, "saved": changed, "stderr": err,
            "phases": [(name, t - marks["CLOSE"]) for name, t in phases] + [("exited", exited[0] - marks["CLOSE"])]}


def start_xvfb() -> tuple[subprocess.Popen, str]:
    display = f":{random.randint(300, 600)}"
    proc = subprocess.Popen(["Xvfb", display, "-screen", "0", "1600x1000x24"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    return proc, display


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        return child(sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5] == "1")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=20, help="runs per answer (default 20)")
    p.add_argument("--answer", choices=["save", "discard", "both"], default="both")
    p.add_argument("--xvfb", action="store_true", help="run under Xvfb instead of the offscreen platform")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=120.0, help="seconds a run may take in all")
    args = p.parse_args()
    rng = random.Random(args.seed)
    answers = ["save", "discard"] if args.answer == "both" else [args.answer]
    xvfb = start_xvfb() if args.xvfb else None
    cores = os.cpu_count()
    print(f"close during training -> process exit; {cores} CPU cores, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, platform {'Xvfb' if xvfb else 'offscreen'}")
    worst_all = 0.0
    failures = 0
    try:
        with tempfile.TemporaryDirectory(prefix="latentlab-close-bench-") as tmp:
            for answer in answers:
                times = []
                print(f"\nanswer {answer!r}\n  run  close at (s of training)  first new weights at  close->exit (s)  "
                      "answered after (s)  rc  new weights shown  checkpoint rewritten")
                for i in range(args.runs):
                    # Half of the runs close inside the first second after the click (the trainer
                    # is still building its optimiser), the other half within two seconds after
                    # the first new weights have reached the window (so Save has work to do).
                    after_weights = i % 2 == 1
                    delay = rng.uniform(0.0, 2.0 if after_weights else 1.0)
                    r = run_once(delay, after_weights, answer, Path(tmp), xvfb[1] if xvfb else None, args.timeout)
                    if not r["ok"]:
                        failures += 1
                        print(f"  {i + 1:3d}  FAILED: {r['why']}", flush=True)
                        continue
                    # Save must rewrite the file when the window had new weights; without them (a
                    # trainer still building its optimiser has sent none) it may, when the final
                    # weights arrive while closing. Discard never does.
                    wrong = (answer == "save" and r["unsaved"] and not r["saved"]) or (
                        answer == "discard" and r["saved"])
                    flag = "  <-- WRONG: expected " + (
                        "a saved checkpoint" if answer == "save" else "the file unchanged") if wrong else ""
                    if wrong or r["rc"] != 0:
                        failures += 1
                    times.append(r["close_to_exit"])
                    weights = "-" if r["first_weights"] != r["first_weights"] else f"{r['first_weights']:.2f}"
                    print(f"  {i + 1:3d}  {r['delay']:24.2f}  {weights:>20}  {r['close_to_exit']:15.3f}"
                          f"  {r['answered_after']:18.3f}  {r['rc']:2d}  {'yes' if r['unsaved'] else 'no':>17}"
                          f"  {'yes' if r['saved'] else 'no'}{flag}", flush=True)
                    if r["close_to_exit"] > TARGET_S:  # where the time went
                        print("       " + ", ".join(f"{name} {t:.3f}" for name, t in r["phases"]))
                    if "Traceback" in r["stderr"] or "QThread: Destroyed" in r["stderr"]:
                        failures += 1
                        print("       stderr: " + r["stderr"].strip().replace("\n", "\n       "))
                if times:
                    within = sum(t <= TARGET_S for t in times)
                    worst = max(times)
                    worst_all = max(worst_all, worst)
                    print(f"  answer {answer!r}: worst {worst:.3f} s, median {sorted(times)[len(times) // 2]:.3f} s, "
                          f"{within} of {len(times)} within {TARGET_S:g} s")
    finally:
        if xvfb:
            xvfb[0].kill()
    print(f"\nworst close->exit {worst_all:.3f} s; load average now "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; failures {failures}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
