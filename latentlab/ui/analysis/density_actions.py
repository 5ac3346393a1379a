"""The window's Analyse ▸ Density models menu: models with a likelihood, and what a density buys.

* **Autoregressive view (PixelCNN)…**: the shipped PixelCNN samples and completes images
  pixel by pixel (``autoregressive_view``). Opening a PixelCNN checkpoint from File ▸ Open
  comes here too: it has no latent space to map.
* **Autoencoder with a flow prior**: opens the shipped 2-D AE whose sampling prior is a
  normalizing flow on its codes (its flow plays in the distribution transformer); its
  outliers can then be ranked by the flow's density. **Autoencoder (32-D) with a flow
  prior** opens the shipped 32-D AE, where the flow samples better digits than the mixture.
* **Debiasing demo…**: a training set made biased on purpose, reweighed by latent density
  (``debias_dialog``).

``DensityActions`` gets the app state, the Analyse menu, the error sink, the window's way
to open a checkpoint and its status bar (for the flow fit's progress). Each tool window owns
its background work and is shut down with the main window.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QStatusBar, QWidget

from latentlab.ui.analysis.analysis_actions import bring_up
from latentlab.ui.panels.task_progress import TaskProgress
from latentlab.ui.work.tasks import Task

if TYPE_CHECKING:
    from latentlab.app.state import AppState
    from latentlab.app.tasks import ErrorSink

PIXELCNN = "pixelcnn"
FLOW_MODEL = "ae-flow"
FLOW_MODEL_32 = "ae32-flow"
FIT_FAILED = "Could not fit a flow prior"


def shipped(key: str) -> Path | None:
    """The shipped density model ``key`` (``pixelcnn``, ``ae-flow``, ``ae32-flow``), None when not installed."""
    from latentlab.pretrained import pretrained_dir

    path = pretrained_dir() / f"{key}.safetensors"
    return path if path.is_file() else None


class DensityActions(QObject):
    fitEnded = Signal()  # a flow fit ended (fitted, cancelled or failed)

    def __init__(self, state: AppState, menu: QMenu, errors: ErrorSink, open_checkpoint: Callable[[Path], object],
                 status_bar: QStatusBar, parent: QWidget) -> None:
        """``menu``: the Analyse menu, which gets the Density models submenu (the window adds
        ``actions()`` to itself); ``open_checkpoint(path)``: opens a model in the map;
        ``status_bar``: shows the flow fit's progress; ``parent``: the tool windows' parent."""
        super().__init__(parent)
        self.state = state
        self.errors = errors
        self._open_checkpoint = open_checkpoint
        self._owner = parent
        self._actions: list[QAction] = []
        self.views: dict[str, object] = {}  # checkpoint path -> its AutoregressiveView
        self.debias_dialog = None
        self.autoregressive_action = self._action(
            "&Autoregressive view (PixelCNN)…", self.show_pixelcnn,
            "Watch a PixelCNN draw digits pixel by pixel, complete half-hidden ones, and see what each pixel sees")
        self.flow_action = self._action(
            "Autoencoder with a &flow prior", self.open_flow_model,
            "Open the 2-D autoencoder whose samples come from a normalizing flow fitted to its codes")
        self.flow32_action = self._action(
            "Autoencoder (32-D) with a flow prior", partial(self.open_shipped, FLOW_MODEL_32),
            "Open a 32-D autoencoder whose flow prior samples digits closer to the real ones than its Gaussian "
            "mixture does (`latentlab fit-prior` compares the two); rank its outliers by the flow's density")
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
        menu.addSeparator()
        self.menu = menu.addMenu("&Density models")
        for action in (self.autoregressive_action, self.flow_action, self.flow32_action, self.fit_flow_action,
                       self.transformer_action, self.debias_action):
            self.menu.addAction(action)
        self.autoregressive_action.setEnabled(shipped(PIXELCNN) is not None)
        self.flow_action.setEnabled(shipped(FLOW_MODEL) is not None)
        self.flow32_action.setEnabled(shipped(FLOW_MODEL_32) is not None)
        self.transformer_view = None
        self.fit_task: Task | None = None
        self._fit_session = None
        self.fit_progress = TaskProgress("Fitting a flow prior to the codes")
        self.fit_progress.cancelRequested.connect(self._cancel_fit)
        status_bar.addPermanentWidget(self.fit_progress)
        state.session_changed.connect(self._on_session_changed)
        self._on_session_changed()

    def actions(self) -> list[QAction]:
        return list(self._actions)

    def _flow_of_session(self):
        """The open model's flow prior when it can be drawn on a plane (2-D), else None."""
        session = self.state.session
        flow = None if session is None else getattr(session.model, "flow_prior", None)
        return flow if flow is not None and flow.dim == 2 else None

    def _on_session_changed(self, _session=None) -> None:
        """``state.session_changed`` (and a flow fit's end)."""
        session = self.state.session
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
        from latentlab.app.flow_fit import fit_flow_prior

        session = self.state.session
        if session is None or self.fit_task is not None:
            return
        if self.state.is_training:
            self.errors.report("Training is running", "Stop the training first: the codes would move under the flow.")
            return
        self._fit_session = session
        self.fit_task = Task(partial(fit_flow_prior, session.snapshot, session.dataset.train.images), "flow-fit",
                             errors=self.errors, title=FIT_FAILED, heavy=True, budget=self.state.caches.threads,
                             parent=self)
        self.fit_task.progress.connect(self._on_fit_progress)
        self.fit_task.done.connect(self._on_fit_finished)
        self.fit_task.cancelled.connect(self._on_fit_cancelled)
        self.fit_task.ended.connect(self._on_fit_ended)
        self.fit_flow_action.setEnabled(False)
        self.fit_progress.start("Flow prior")
        self.fit_task.start()

    @Slot()
    def _cancel_fit(self) -> None:
        if self.fit_task is not None:
            self.fit_task.cancel()

    @Slot(object, str, object)
    def _on_fit_progress(self, fraction, message: str, eta_s) -> None:
        if fraction is not None:
            self.fit_progress.set_progress(fraction, eta_s if eta_s is not None else float("nan"))
        if message:
            self.state.say(message, 0)

    @Slot()
    def _on_fit_cancelled(self) -> None:
        self.state.say("Flow prior cancelled: nothing was kept", 5000)

    @Slot(object)
    def _on_fit_finished(self, flow) -> None:
        """A failure has been shown by the error sink; here only a fitted flow arrives."""
        session = self.state.session
        if session is not self._fit_session:  # another model was opened meanwhile
            return
        session.model.flow_prior = session.display.flow_prior = flow  # the display copy is what is saved
        session.dirty = True
        self.state.say(
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
        from latentlab.ui.analysis.flow_view import DistributionTransformerView

        flow = self._flow_of_session()
        if flow is None:
            return
        if self.transformer_view is None:
            session = self.state.session
            name = session.path.name if session.path else ""
            self.transformer_view = DistributionTransformerView(flow, self._owner, title=name)
        bring_up(self.transformer_view)

    def _action(self, text: str, slot, tip: str) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self._actions.append(action)
        return action

    @Slot()
    def show_pixelcnn(self) -> None:
        path = shipped(PIXELCNN)
        if path is None:
            self.errors.report("No PixelCNN", "The shipped PixelCNN is not installed; train one with "
                               "`latentlab train --model pixelcnn` and open it with File ▸ Open.")
            return
        self.open_autoregressive(path)

    def open_autoregressive(self, path: str | Path):
        """Show the autoregressive view of the PixelCNN at ``path`` (one window per file)."""
        from latentlab.ui.analysis.autoregressive_view import AutoregressiveView

        key = str(Path(path).resolve())
        view = self.views.get(key)
        if view is None:
            view = AutoregressiveView(str(path), self._owner, errors=self.errors)
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
        self.state.say(f"{Path(path).name} has no latent space: it opens in the autoregressive view", 8000)
        return True

    @Slot()
    def open_flow_model(self) -> None:
        self.open_shipped(FLOW_MODEL)

    def open_shipped(self, key: str) -> None:
        """Open the shipped model ``key`` in the map (nothing when it is not installed)."""
        path = shipped(key)
        if path is not None:
            self._open_checkpoint(path)

    @Slot()
    def show_debias(self) -> None:
        from latentlab.ui.analysis.debias_dialog import DebiasDialog

        if self.debias_dialog is None:
            self.debias_dialog = DebiasDialog(self.state, self.errors, self._owner)
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
