"""The window's Analyse ▸ Density models menu: models with a likelihood, and what a density buys.

* **Autoregressive view (PixelCNN)…**: the shipped PixelCNN samples and completes images
  pixel by pixel (``autoregressive_view``). Opening a PixelCNN checkpoint from File ▸ Open
  comes here too: it has no latent space to map.
* **Autoencoder with a flow prior**: opens the shipped AE whose sampling prior is a
  normalizing flow on its codes; its outliers can then be ranked by the flow's density.
* **Debiasing demo…**: a training set made biased on purpose, reweighed by latent density
  (``debias_dialog``).

Each tool window owns its background work and is shut down with the main window.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction

from .analysis_actions import bring_up
from .task_progress import CANCELLED, TaskProgress

if TYPE_CHECKING:
    from .main_window import MainWindow

PIXELCNN = "pixelcnn"
FLOW_MODEL = "ae-flow"


def shipped(key: str) -> Path | None:
    """The shipped density model ``key`` (``pixelcnn``, ``ae-flow``), None when not installed."""
    from latentlab.pretrained import pretrained_dir

    path = pretrained_dir() / f"{key}.safetensors"
    return path if path.is_file() else None


class DensityActions(QObject):
    fitEnded = Signal()  # a flow fit ended (fitted, cancelled or failed)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.views: dict[str, object] = {}  # checkpoint path -> its AutoregressiveView
        self.debias_dialog = None
        self.autoregressive_action = self._action(
            "&Autoregressive view (PixelCNN)…", self.show_pixelcnn,
            "Watch a PixelCNN draw digits pixel by pixel, complete half-hidden ones, and see what each pixel sees")
        self.flow_action = self._action(
            "Autoencoder with a &flow prior", self.open_flow_model,
            "Open the 2-D autoencoder whose samples come from a normalizing flow fitted to its codes")
        self.fit_flow_action = self._action(
            "Fit a flow &prior to the codes", self.fit_flow,
            "Fit a normalizing flow (RealNVP) to the open model's encoded training images: a third sampling "
            "source beside N(0, I) and the Gaussian mixture, a density for outlier scores")
        self.transformer_action = self._action(
            "Distribution &transformer…", self.show_transformer,
            "Watch the open model's flow prior carry N(0, I) onto its latent codes, layer by layer")
        self.debias_action = self._action(
            "&Debiasing demo…", self.show_debias,
            "Bias a training set on purpose, reweigh it by latent density, and compare two VAEs")
        # A submenu of Analyse, not a menu of its own: one more title in the menu bar makes it
        # wrap at 1024 pixels, and the window then no longer fits a 768-line screen.
        window.analysis.menu.addSeparator()
        self.menu = window.analysis.menu.addMenu("&Density models")
        for action in (self.autoregressive_action, self.flow_action, self.fit_flow_action, self.transformer_action,
                       self.debias_action):
            self.menu.addAction(action)
        self.autoregressive_action.setEnabled(shipped(PIXELCNN) is not None)
        self.flow_action.setEnabled(shipped(FLOW_MODEL) is not None)
        self.transformer_view = None
        self.fit_task = None
        self.fit_progress = TaskProgress("Fitting a flow prior to the codes")
        self.fit_progress.cancelRequested.connect(self._cancel_fit)
        window.statusBar().addPermanentWidget(self.fit_progress)
        window.sessionChanged.connect(self._on_session_changed)
        self._on_session_changed()

    def _flow_of_session(self):
        """The open model's flow prior when it can be drawn on a plane (2-D), else None."""
        session = self.window.session
        flow = None if session is None else getattr(session.model, "flow_prior", None)
        return flow if flow is not None and flow.dim == 2 else None

    @Slot()
    def _on_session_changed(self) -> None:
        session = self.window.session
        self.fit_flow_action.setEnabled(session is not None and session.model.has_encoder and session.has_data
                                        and session.model.latent_dim >= 2 and self.fit_task is None)
        has_flow = self._flow_of_session() is not None
        self.transformer_action.setEnabled(has_flow)
        tip = ("Watch the open model's flow prior carry N(0, I) onto its latent codes, layer by layer" if has_flow
               else "Needs a 2-D model with a flow prior: Analyse ▸ Density models ▸ Autoencoder with a flow prior, or "
                    "`latentlab fit-prior CKPT --kind flow`")
        self.transformer_action.setStatusTip(tip)
        self.transformer_action.setToolTip(tip)
        if self.transformer_view is not None:  # it showed the previous model's flow
            self.transformer_view.close()
            self.transformer_view = None

    @Slot()
    def fit_flow(self) -> None:
        """Fit a flow prior to the open model's training codes in the background."""
        from .flow_fit import FlowFitWorker
        from .threads import BackgroundTask

        session = self.window.session
        if session is None or self.fit_task is not None:
            return
        if self.window.is_training:
            self.window.show_error("Training is running", "Stop the training first: the codes would move under the flow.")
            return
        worker = FlowFitWorker(session.snapshot, session.dataset.train.images)
        worker.stepped.connect(self.fit_progress.set_progress)
        worker.message.connect(self.window.statusBar().showMessage)
        worker.finished.connect(self._on_fit_finished)
        self._fit_session = session
        self.fit_task = BackgroundTask(worker, "flow-fit", heavy=True, parent=self)
        self.fit_task.ended.connect(self._on_fit_ended)
        self.fit_flow_action.setEnabled(False)
        self.fit_progress.start("Flow prior")
        self.fit_task.start()

    @Slot()
    def _cancel_fit(self) -> None:
        if self.fit_task is not None and self.fit_task.worker is not None:
            self.fit_task.worker.cancel()

    @Slot(object, str)
    def _on_fit_finished(self, flow, error: str) -> None:
        session = self.window.session
        if flow is None:
            if error != CANCELLED:
                self.window.show_error("Could not fit a flow prior", error)
            else:
                self.window.statusBar().showMessage("Flow prior cancelled: nothing was kept", 5000)
            return
        if session is not self._fit_session:  # another model was opened meanwhile
            return
        session.model.flow_prior = session.display.flow_prior = flow  # the display copy is what is saved
        session.dirty = True
        self.window.statusBar().showMessage(
            "Flow prior fitted: Analyse ▸ Outliers can rank by it, Analyse ▸ Density models ▸ Distribution transformer shows it; "
            "save the model to keep it", 10_000)

    @Slot()
    def _on_fit_ended(self) -> None:
        self.fit_task = None
        self._fit_session = None
        self.fit_progress.finish()
        self._on_session_changed()
        self.fitEnded.emit()

    @Slot()
    def show_transformer(self) -> None:
        from .flow_view import DistributionTransformerView

        flow = self._flow_of_session()
        if flow is None:
            return
        if self.transformer_view is None:
            name = self.window.session.path.name if self.window.session.path else ""
            self.transformer_view = DistributionTransformerView(flow, self.window, title=name)
        bring_up(self.transformer_view)

    def _action(self, text: str, slot, tip: str) -> QAction:
        action = QAction(text, self.window)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    @Slot()
    def show_pixelcnn(self) -> None:
        path = shipped(PIXELCNN)
        if path is None:
            self.window.show_error("No PixelCNN", "The shipped PixelCNN is not installed; train one with "
                                   "`latentlab train --model pixelcnn` and open it with File ▸ Open.")
            return
        self.open_autoregressive(path)

    def open_autoregressive(self, path: str | Path):
        """Show the autoregressive view of the PixelCNN at ``path`` (one window per file)."""
        from .autoregressive_view import AutoregressiveView

        key = str(Path(path).resolve())
        view = self.views.get(key)
        if view is None:
            view = AutoregressiveView(str(path), self.window)
            view.setWindowTitle(f"Autoregressive view: {Path(path).name} — latentlab")
            self.views[key] = view
        bring_up(view)
        return view

    def opens_elsewhere(self, path: str | Path) -> bool:
        """Open a model without a latent space (a PixelCNN) in its own view; True when it did.
        Anything else (or a file that cannot be read: Session.open words that) is the map's."""
        try:
            from latentlab.models.checkpoint import read_checkpoint_meta
            from latentlab.models.registry import family_class

            family = family_class(read_checkpoint_meta(path)["model"]["family"])
        except Exception:  # noqa: BLE001 - the map's open reports the problem
            return False
        if family.has_latent_space:
            return False
        self.open_autoregressive(path)
        self.window.statusBar().showMessage(f"{Path(path).name} has no latent space: it opens in the "
                                            "autoregressive view", 8000)
        return True

    @Slot()
    def open_flow_model(self) -> None:
        path = shipped(FLOW_MODEL)
        if path is not None:
            self.window.open_checkpoint(path)

    @Slot()
    def show_debias(self) -> None:
        from .debias_dialog import DebiasDialog

        if self.debias_dialog is None:
            self.debias_dialog = DebiasDialog(self.window)
        bring_up(self.debias_dialog)

    @property
    def idle(self) -> bool:
        return all(not view.running for view in self.views.values()) and self.fit_task is None and (
            self.debias_dialog is None or not self.debias_dialog.running)

    def shutdown(self) -> None:
        """Close the tool windows and wait for their background work."""
        if self.fit_task is not None:
            self._cancel_fit()
            self.fit_task.wait()
        for view in self.views.values():
            view.close()
            view.shutdown()
        if self.debias_dialog is not None:
            self.debias_dialog.close()
            self.debias_dialog.shutdown()
        if self.transformer_view is not None:
            self.transformer_view.close()
