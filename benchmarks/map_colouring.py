"""How soon a model's map shows the judge's colouring after switching to it: prints figures,
asserts nothing.

    QT_QPA_PLATFORM=offscreen python benchmarks/map_colouring.py [--repeats 3] [--models gan wgan-gp]

For each shipped model switched to from the VAE (the window's open_checkpoint, as the
Models menu does), with the view framed as a fresh window frames it:

- open: the switch itself (load, encode or sample the points, the first decode; GUI thread);
- busy note: when the map's "Colouring the map" note appeared (only work > 0.3 s shows it);
- first colour: the first territory image or the first judged samples on the map;
- samples: a GAN's 2,000 samples all judged (its dots all coloured);
- finest: the finest territory image (48 x 48 cells).

Times are wall-clock seconds from the switch, and (in brackets) the process's CPU seconds
over the same span, all threads together: on a shared machine wall-clock times grow with
the load (printed first), CPU times much less. Target: the first colour within 1 s on a
2-core machine, or a busy note while it is computed.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402

from latentlab.app.jobs_base import SampleLabels, TerritoryImage  # noqa: E402
from latentlab.data import resources_dir  # noqa: E402
from latentlab.ui.main.app import ensure_application  # noqa: E402
from latentlab.ui.main.main_window import MainWindow  # noqa: E402

MODELS = ("gan", "wgan-gp", "vae", "ae")


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Clock:
    """Wall and CPU seconds since ``start``, recorded at named events (the first of each)."""

    def __init__(self) -> None:
        self.wall0, self.cpu0 = time.perf_counter(), cpu_s()
        self.events: dict[str, tuple[float, float]] = {}

    def mark(self, name: str) -> None:
        if name not in self.events:
            self.events[name] = (time.perf_counter() - self.wall0, cpu_s() - self.cpu0)


def switch(app, window: MainWindow, path) -> dict[str, tuple[float, float]]:
    explorer, lmap = window.explorer, window.latent_map
    clock = Clock()

    def on_result(job, value) -> None:
        if isinstance(value, TerritoryImage):
            clock.mark("first colour")
            if value.resolution == max(explorer.options.territory_stages):
                clock.mark("finest")
        elif isinstance(value, SampleLabels):
            clock.mark("first colour")
            if (value.labels >= 0).all():
                clock.mark("samples")

    explorer.territory_lane.result.connect(on_result)
    try:
        assert window.open_checkpoint(path), f"could not open {path}"
        clock.mark("open")
        deadline = time.perf_counter() + 120
        while not explorer.idle and time.perf_counter() < deadline:
            app.processEvents()
            if lmap.busy.isVisible():
                clock.mark("busy note")
            time.sleep(0.002)
    finally:
        explorer.territory_lane.result.disconnect(on_result)
    return clock.events


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="shipped model keys (default: %(default)s)")
    args = parser.parse_args(argv)
    app = ensure_application()
    settings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "latentlab-bench", "colouring")
    settings.clear()
    window = MainWindow(settings=settings)
    window.resize(1366, 768)
    window.show()
    pretrained = resources_dir() / "pretrained"
    load = os.getloadavg()
    print(f"{os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min); "
          f"median of {args.repeats} switches from the VAE; wall s (CPU s)")
    names = ("open", "busy note", "first colour", "samples", "finest")
    print(f"{'model':10s}" + "".join(f"{n:>18s}" for n in names))
    for key in args.models:
        runs = []
        for _ in range(args.repeats):
            window.open_checkpoint(pretrained / "vae.safetensors")
            window.wait_until_idle(120)
            runs.append(switch(app, window, pretrained / f"{key}.safetensors"))
        cells = []
        for name in names:
            seen = [r[name] for r in runs if name in r]
            if len(seen) < len(runs):
                cells.append("-" if not seen else f"{len(seen)}/{len(runs)} runs")
                continue
            cells.append(f"{statistics.median(w for w, _ in seen):.2f} ({statistics.median(c for _, c in seen):.2f})")
        print(f"{key:10s}" + "".join(f"{c:>18s}" for c in cells))
        sys.stdout.flush()
    window.close()
    window.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
