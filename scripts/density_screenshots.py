"""Screenshots of the autoregressive view and the debiasing demo for the README.

    QT_QPA_PLATFORM=offscreen python scripts/density_screenshots.py [--out docs/screenshots] [--debias]

Opens the view on the shipped PixelCNN and grabs it while it samples (part-way, the
current pixel's distribution showing), then while it completes a test image with the
bottom half hidden, with the receptive field of one pixel; then the distribution
transformer of the shipped ae-flow part-way from N(0, I) to the codes. ``--debias`` also runs the
debiasing demo (two VAE trainings: a minute or two) and grabs its result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtWidgets import QApplication  # noqa: E402

from latentlab.pretrained import pretrained_dir  # noqa: E402
from scripts.analysis_screenshots import wait_for as wait  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--debias", action="store_true")
    args = parser.parse_args()
    from latentlab.ui.analysis.autoregressive_view import AutoregressiveView
    from latentlab.ui.base.theme import configure_pyqtgraph

    app = QApplication.instance() or QApplication([])
    configure_pyqtgraph()
    args.out.mkdir(parents=True, exist_ok=True)
    view = AutoregressiveView(str(pretrained_dir() / "pixelcnn.safetensors"))
    view.resize(1100, 760)
    view.show()

    view.sample()
    wait(app, lambda: view.frame is not None and view.frame.index >= 430)
    view.grab().save(str(args.out / "autoregressive-sampling.png"))
    wait(app, lambda: not view.running)

    view.index.setValue(7)
    view.region.setCurrentText("bottom half")
    view.complete()
    wait(app, lambda: view.frame is not None and view.frame.known is not None and view.frame.index >= 250)
    view.show_field(0, 18, 12)
    wait(app, lambda: view.field is not None)
    wait(app, lambda: not view.running)
    app.processEvents()
    view.grab().save(str(args.out / "autoregressive-completion.png"))
    view.shutdown()
    print(f"saved autoregressive-sampling.png and autoregressive-completion.png in {args.out}")

    from latentlab.models.checkpoint import load_checkpoint
    from latentlab.ui.analysis.flow_view import DistributionTransformerView

    flow = load_checkpoint(pretrained_dir() / "ae-flow.safetensors").model.flow_prior
    transformer = DistributionTransformerView(flow, title="ae-flow.safetensors")
    transformer.resize(800, 640)
    transformer.show()
    transformer.slider.setValue(int(transformer.slider.maximum() * 0.7))
    app.processEvents()
    transformer.grab().save(str(args.out / "distribution-transformer.png"))
    transformer.close()
    print(f"saved distribution-transformer.png in {args.out}")

    if args.debias:
        from latentlab.app.session import get_recorded_dataset, remember_judge
        from latentlab.app.state import AppState
        from latentlab.ui.analysis.debias_dialog import DebiasDialog

        dataset = get_recorded_dataset("mnist-5k", (1, 28, 28))
        remember_judge(dataset, load_checkpoint(pretrained_dir() / "judge-mnist-5k.safetensors").model)
        dialog = DebiasDialog(AppState(), None)  # no error sink: a failure shows in its status line
        dialog.resize(1000, 680)
        dialog.show()
        dialog.run()
        wait(app, lambda: dialog.report is not None or "Failed" in dialog.status.text(), 1800)
        wait(app, lambda: not dialog.running)
        dialog.grab().save(str(args.out / "debiasing-demo.png"))
        dialog.shutdown()
        print(f"saved debiasing-demo.png in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
