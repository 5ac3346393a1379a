"""Every screenshot of the docs, rendered offscreen from the shipped models, with the layout
checks of each picture printed beside it (text cut by a widget too narrow for it, widgets
outside the window, the window outside its screen, the decoded digit's height).

    python scripts/screenshots.py [--out docs/screenshots] [--only NAME ...] [--strict]

The window is opened as a fresh start opens it (latentlab.ui.main.main_window.fit_into_screen)
on virtual screens of 1920x1080, 1366x768 and 1024x768, each on the model the app opens
(the pretrained VAE), with the marker placed and the territory computed:

  normal-WxH.png              the window as it opens
  normal-dock-WxH.png         ... with the interpolation dock open (3 -> 8)
  presentation-WxH.png        presentation mode (F11)
  presentation-dock-WxH.png   presentation mode, then the interpolation dock

and also window-dark-1920x1080.png (the dark look), first-screen.png (the NumPy first
screen, before PyTorch), umap-16d.png (the 16-D VAE as it opens: UMAP when its layout
is available, which this script computes if needed), interpolation.png and compare.png
(scripts/analysis_screenshots.py). ``--strict`` exits with status 1 when a check fails.
tests/ui/test_layout.py makes the same checks.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # analysis_screenshots

MARKER = (0.9, 0.7)  # a point between classes of the pretrained VAE: a recognisable 9
TIMEOUT_S = 300


def layout_problems(window) -> list[str]:
    from latentlab.ui.main.layout_check import cut_texts, outside_screen, outside_window

    problems = [f"cut: {cut}" for cut in cut_texts(window)]
    problems += [f"outside the window: {type(w).__name__} {w.objectName()}" for w in outside_window(window)]
    frame = outside_screen(window)
    if frame is not None:
        problems.append(f"window {frame.getRect()} not inside its screen "
                        f"{window.screen().availableGeometry().getRect()}")
    return problems


class Shooter:
    def __init__(self, app, out: Path, tmp: Path) -> None:
        self.app, self.out, self.tmp = app, out, tmp
        self.failures: list[str] = []
        self._count = 0

    def window(self, screen, territory: tuple[int, ...] = (), **options):
        from PySide6.QtCore import QSettings

        from latentlab.ui.main.app import CAPTURE_TERRITORY
        from latentlab.ui.map.explorer import ExplorerOptions
        from latentlab.ui.main.main_window import MainWindow, WindowOptions

        self._count += 1
        settings = QSettings(str(self.tmp / f"settings{self._count}.ini"), QSettings.Format.IniFormat)
        options.setdefault("headless", True)
        options.setdefault("warm_up", False)
        window = MainWindow(settings=settings, options=WindowOptions(
            explorer=ExplorerOptions(territory_stages=territory or CAPTURE_TERRITORY), **options))
        window.fit_into_screen(screen, fresh=True)
        window.show()
        self.settle(window)
        return window

    def settle(self, window) -> None:
        window.wait_until_idle(TIMEOUT_S)
        for _ in range(5):  # layouts that follow a resize (the strip's height, the map caption)
            self.app.processEvents()

    def shoot(self, window, name: str, *, marker: bool = True, min_digit: int = 0) -> None:
        from latentlab.ui.main.layout_check import decoded_digit_px

        if marker:
            window.explorer.set_marker(*MARKER)
        self.settle(window)
        path = self.out / name
        window.grab().save(str(path), "PNG")
        digit = decoded_digit_px(window)
        problems = layout_problems(window)
        if digit < min_digit:
            problems.append(f"decoded digit {digit} px tall, less than {min_digit}")
        geometry = window.frameGeometry()
        print(f"{path}: window {geometry.width()}x{geometry.height()}, digit {digit} px"
              + "".join(f"\n    {p}" for p in problems))
        self.failures += [f"{name}: {p}" for p in problems]

    def wait_for(self, condition) -> None:
        from analysis_screenshots import wait_for

        wait_for(self.app, condition, TIMEOUT_S)

    def open_interpolation(self, window) -> None:
        analysis = window.analysis
        analysis.panel.set_source("centroids")
        analysis.panel.set_class_pair(3, 8)
        analysis.show_interpolation()
        self.wait_for(lambda: analysis.path is not None)


def layout_matrix(shooter: Shooter, checkpoint: str, only) -> None:
    from latentlab.ui.main.layout_check import SCREEN_SIZES, screen_name, screen_of

    for size in SCREEN_SIZES:
        screen = screen_of(size)
        for mode in ("normal", "presentation"):
            for dock in (False, True):
                name = f"{mode}{'-dock' if dock else ''}-{screen_name(size)}.png"
                if only and name not in only:
                    continue
                window = shooter.window(screen)
                try:
                    if not window.open_checkpoint(checkpoint):
                        raise SystemExit(f"could not open {checkpoint}")
                    if mode == "presentation":
                        window.presentation.set_active(True)
                    if dock:
                        shooter.open_interpolation(window)
                    digit = 200 if (mode == "presentation" and size[1] >= 1080) else 100
                    shooter.shoot(window, name, min_digit=digit)
                finally:
                    close(window)


def dark_window(shooter: Shooter, checkpoint: str) -> None:
    from latentlab.ui.main.layout_check import screen_of
    from latentlab.ui.base.theme import DARK, system_look

    window = shooter.window(screen_of((1920, 1080)))
    try:
        window.open_checkpoint(checkpoint)
        window.presentation.apply(DARK)
        shooter.shoot(window, "window-dark-1920x1080.png")
        window.presentation.apply(system_look())
    finally:
        close(window)


def first_screen(shooter: Shooter, checkpoint: str) -> None:
    """The window as it is before PyTorch has loaded: the NumPy preview of the VAE."""
    from latentlab.preview import open_preview
    from latentlab.ui.main.layout_check import screen_of
    from latentlab.preview.session import PREVIEW_MAX_RESOLUTION, PreviewSession

    # The preview paints the coarse territory only (preview_session.PREVIEW_MAX_RESOLUTION).
    window = shooter.window(screen_of((1920, 1080)), territory=(PREVIEW_MAX_RESOLUTION,), defer_engine=True)
    try:
        preview = PreviewSession(open_preview(checkpoint))
        window.show_preview(preview)
        shooter.wait_for(window.latent_map.has_territory)
        window.show_preview_losses(preview)  # as startup.py does once the territory is painted
        shooter.shoot(window, "first-screen.png", marker=False)
    finally:
        close(window)


def umap_16d(shooter: Shooter) -> None:
    """The 16-D VAE as it opens (its UMAP layout computed first when there is none)."""
    from latentlab.pretrained import find
    from latentlab.ui.main.layout_check import screen_of

    entry = find("vae-16d")
    window = shooter.window(screen_of((1920, 1080)))
    try:
        window.open_checkpoint(str(entry.path))
        if window.projection_picker.kind() != "umap":  # no layout yet: fit one, as a user would
            print("no UMAP layout of the 16-D VAE is available yet: fitting one (about a minute)")
            window.projection_picker.set_kind("umap")
        shooter.wait_for(lambda: window.explorer.projection is not None
                         and window.explorer.projection.kind == "umap")
        shooter.shoot(window, "umap-16d.png", marker=False)
    finally:
        close(window)


def analysis_views(out: Path, only) -> None:
    """interpolation.png and compare.png, each by scripts/analysis_screenshots.py in a process
    of its own (a comparison after a dozen windows in one process crashed in Qt's timers)."""
    import subprocess

    from latentlab.pretrained import find

    script = Path(__file__).resolve().parent / "analysis_screenshots.py"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    paths = {key: str(find(key).path) for key in ("ae", "vae", "msvae", "vae-16d")}
    jobs = {"interpolation.png": ["interpolation", paths["vae"], str(out / "interpolation.png")],
            "compare.png": ["compare", str(out / "compare.png"), *paths.values()]}
    for name, args in jobs.items():
        if not only or name in only:
            subprocess.run([sys.executable, str(script), *args], env=env, check=True)


def close(window) -> None:
    if window.presentation.active:
        window.presentation.set_active(False)
    window.close()
    window.shutdown()
    window.deleteLater()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNGs")
    parser.add_argument("--only", nargs="*", default=[], help="file names to make (default: all)")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a layout check fails")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    only = set(args.only)
    from latentlab.ui.main.layout_check import SCREEN_SIZES, offscreen_platform

    os.environ["QT_QPA_PLATFORM"] = offscreen_platform(SCREEN_SIZES, tag="screenshots")
    with tempfile.TemporaryDirectory(prefix="latentlab-shots-") as tmp:
        from latentlab.pretrained import default_checkpoint
        from latentlab.ui.main.app import ensure_application

        checkpoint = default_checkpoint()
        if checkpoint is None:
            print("no checkpoint: the pretrained VAE is not installed", file=sys.stderr)
            return 2
        app = ensure_application()
        shooter = Shooter(app, out, Path(tmp))
        layout_matrix(shooter, str(checkpoint), only)
        if not only or "window-dark-1920x1080.png" in only:
            dark_window(shooter, str(checkpoint))
        if not only or "first-screen.png" in only:
            first_screen(shooter, str(checkpoint))
        if not only or "umap-16d.png" in only:
            umap_16d(shooter)
        analysis_views(out, only)
    if shooter.failures:
        print(f"{len(shooter.failures)} layout problems", file=sys.stderr)
        return 1 if args.strict else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
