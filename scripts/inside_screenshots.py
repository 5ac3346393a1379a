"""Screenshots of the "look inside" views for the README, rendered offscreen.

    python scripts/inside_screenshots.py posterior AE_CKPT VAE_CKPT OUT.png [--index I]
    python scripts/inside_screenshots.py inside CKPT OUT.png [--index I]
    python scripts/inside_screenshots.py realness GAN_CKPT OUT.png

``posterior``: the maps of an autoencoder and a VAE side by side, each with Show posterior on
test image I (default 0): the AE's point and why it has no ellipse, the VAE's ellipse with
draws z = μ + σ·ε and their decodes. ``inside``: the Inside the encoder dock for test image I.
``realness``: a GAN's map with the discriminator's D(G(z)) as its background.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from analysis_screenshots import TIMEOUT_S, wait_for  # noqa: E402 - the same script folder

SIZE = (1100, 820)


def open_window(app, tmp: str, checkpoint: str, name: str = "settings"):
    from PySide6.QtCore import QSettings

    from latentlab.ui.map.explorer import ExplorerOptions
    from latentlab.ui.main.main_window import MainWindow, WindowOptions

    settings = QSettings(str(Path(tmp) / f"{name}.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, options=WindowOptions(
        headless=True, warm_up=False, explorer=ExplorerOptions(territory_stages=(64,))))
    window.resize(*SIZE)
    window.show()
    if not window.open_checkpoint(checkpoint):
        raise SystemExit(f"could not open {checkpoint}")
    window.wait_until_idle(TIMEOUT_S)
    return window


def close(window) -> None:
    window.close()
    window.shutdown()


def posterior(ae: str, vae: str, out: str, index: int) -> None:
    from PySide6.QtGui import QColor, QPainter, QPixmap

    from latentlab.ui.main.app import ensure_application

    app = ensure_application()
    shots = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, checkpoint in enumerate((ae, vae)):
            window = open_window(app, tmp, checkpoint, f"s{k}")
            view = window.posterior_view
            window.latent_map.set_marker(*window.latent_map.positions()[index])  # as a click on its dot
            view.show_action.setChecked(True)
            view.show_point(index)
            if view.ellipse is not None:  # a 2-D VAE's σ is small next to the map: zoom onto it
                (cx, cy), half = map(float, view.ellipse.center), 12 * float(view.ellipse.half_axes.max())
                window.latent_map.set_region((cx - half, cx + half), (cy - half, cy + half))
                view.show_point(index)  # the panel's place in the new view
            window.wait_until_idle(TIMEOUT_S)
            app.processEvents()
            shots.append(window.latent_map.grab())
            close(window)
    width = sum(s.width() for s in shots) + 10
    picture = QPixmap(width, max(s.height() for s in shots))
    picture.fill(QColor("white"))
    painter = QPainter(picture)
    painter.drawPixmap(0, 0, shots[0])
    painter.drawPixmap(shots[0].width() + 10, 0, shots[1])
    painter.end()
    picture.save(out, "PNG")
    print(f"saved {out}")


def inside(checkpoint: str, out: str, index: int) -> None:
    from latentlab.ui.main.app import ensure_application

    app = ensure_application()
    with tempfile.TemporaryDirectory() as tmp:
        window = open_window(app, tmp, checkpoint)
        window.latent_map.set_marker(*window.latent_map.positions()[index])
        window.inside_dock.show()
        wait_for(app, lambda: window.inside_dock.index == index)
        app.processEvents()
        window.inside_dock.dock.grab().save(out, "PNG")
        close(window)
    print(f"saved {out}")


def realness(checkpoint: str, out: str) -> None:
    from latentlab.ui.main.app import ensure_application

    app = ensure_application()
    with tempfile.TemporaryDirectory() as tmp:
        window = open_window(app, tmp, checkpoint)
        window.latent_map.realness_toggle.setChecked(True)
        wait_for(app, lambda: window.explorer.background_image is not None
                 and window.explorer.background_image.background == "realness"
                 and window.explorer.background_image.resolution == 64)
        window.wait_until_idle(TIMEOUT_S)
        app.processEvents()
        window.latent_map.grab().save(out, "PNG")
        close(window)
    print(f"saved {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("posterior")
    p.add_argument("ae")
    p.add_argument("vae")
    p.add_argument("out")
    p.add_argument("--index", type=int, default=0)
    p = sub.add_parser("inside")
    p.add_argument("checkpoint")
    p.add_argument("out")
    p.add_argument("--index", type=int, default=0)
    p = sub.add_parser("realness")
    p.add_argument("checkpoint")
    p.add_argument("out")
    args = parser.parse_args()
    if args.what == "posterior":
        posterior(args.ae, args.vae, args.out, args.index)
    elif args.what == "inside":
        inside(args.checkpoint, args.out, args.index)
    else:
        realness(args.checkpoint, args.out)


if __name__ == "__main__":
    main()
