"""Training settings, Start / Pause / Stop, and a progress bar with ETA.

The panel only collects settings and reports button presses; the window owns the run.
Its β is the KL weight of a *new* model (Train new); the β slider beside the KL bars
belongs to the open model and fine-tunes it, and is never read here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from latentlab.ui.panels.dataset_picker import DatasetChoice, DatasetPicker

if TYPE_CHECKING:
    from latentlab.app.state import AppState

#: The trainable families and their titles before PyTorch has loaded (the first screen).
#: Once it has, the registry's list (``families(role="model", trainable=True)``) and titles
#: are used: a family registered anywhere appears; a test checks the two agree.
FAMILY_TITLES = {
    "vae": "VAE (β-VAE)",
    "msvae": "Multi-stage VAE",
    "ae": "Autoencoder",
    "gan": "GAN",
    "wgan-gp": "WGAN-GP",
}


def family_title(family: str) -> str:
    """The family's title in lists and summaries (the registry's, once PyTorch is loaded)."""
    if family in FAMILY_TITLES:
        return FAMILY_TITLES[family]
    from latentlab.models.registry import family_info

    try:
        return family_info(family).title
    except Exception:  # noqa: BLE001 - an unknown family keeps its name
        return family
DEFAULT_EPOCHS = 10
DEFAULT_HIDDEN = 512


@dataclass
class TrainingRequest:
    family: str
    backbone: str
    latent_dim: int
    hidden: int
    beta: float
    gamma: float
    epochs: int
    lr: float
    device: str
    dataset: DatasetChoice = field(default_factory=lambda: DatasetChoice("mnist-5k"))


def available_devices() -> list[str]:
    import torch

    devices = ["auto", "cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


SUMMARY_METRICS = (
    ("test_neg_elbo", "test −ELBO", "{:.1f} nats"),
    ("test_recon", "test reconstruction", "{:.1f} nats"),
    ("head_accuracy", "classifier head", "{:.0%}"),
    ("judge_recon_accuracy", "judge on reconstructions", "{:.0%}"),
    ("sample_mean_confidence", "judge confidence on samples", "{:.0%}"),
    ("test_wasserstein", "Wasserstein estimate", "{:.3g}"),
)


def summarize(family: str, epochs: int, metrics: dict) -> str:
    """One or two lines about a model: epochs trained and its headline test figures."""
    parts = [f"{family_title(family)}, {epochs} epoch{'s' if epochs != 1 else ''} trained"]
    shown = 0
    for key, label, fmt in SUMMARY_METRICS:
        value = metrics.get(key)
        if isinstance(value, (int, float)) and shown < 3:
            parts.append(f"{label} {fmt.format(value)}")
            shown += 1
    return " · ".join(parts)


def describe_data(name: str, n_train: int | None, n_test: int | None) -> str:
    """The status bar's line about the dataset."""
    if n_train is None or n_test is None:
        return f"data: {name}"
    return f"data: {name} ({n_train:,} train / {n_test:,} test)"


@dataclass(frozen=True)
class FamilyDefaults:
    """What picking a family puts in the fields."""

    lr: float
    backbone: str
    gamma: float | None = None  # the classifier weight of a family that has one (the multi-stage VAE)
    has_beta: bool = False  # a KL weight β


#: The families' defaults before PyTorch has loaded, so the first screen shows the values
#: the full session will (they changed under the user: γ 0 -> 100). Once PyTorch is there
#: the registry's (``family_defaults``) are used; a test checks that the two agree.
PRESET_DEFAULTS = {
    "vae": FamilyDefaults(1e-3, "mlp", has_beta=True),
    "msvae": FamilyDefaults(1e-3, "mlp", gamma=100.0, has_beta=True),
    "ae": FamilyDefaults(1e-3, "mlp"),
    "gan": FamilyDefaults(2e-4, "conv"),
    "wgan-gp": FamilyDefaults(5e-4, "conv"),
}


def family_defaults(family: str) -> FamilyDefaults:
    """The registry's defaults of ``family`` (imports PyTorch)."""
    from latentlab.models.registry import family_class

    cls = family_class(family)
    defaults = {f.name: f.default for f in dataclasses.fields(cls.config_class)}
    gamma = defaults.get("gamma")
    return FamilyDefaults(float(cls.default_lr), str(defaults.get("backbone", "mlp")),
                          float(gamma) if isinstance(gamma, (int, float)) else None, bool(cls.has_beta))


def format_eta(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class TrainingPanel(QWidget):
    startRequested = Signal()
    pauseRequested = Signal()  # pause or resume, whichever applies
    stopRequested = Signal()

    def __init__(self, families: list[str], parent: QWidget | None = None, *, load_defaults: bool = True) -> None:
        """``load_defaults=False`` leaves the family defaults and the GPU devices (which need
        PyTorch) to a later ``load_model_defaults()``: the window is shown before PyTorch loads."""
        super().__init__(parent)
        self.family = QComboBox()
        for name in families:
            self.family.addItem(family_title(name), name)
        self.family.setToolTip("Model family to train: VAEs have a β (KL weight), the multi-stage VAE also a "
                               "γ (classifier weight), GANs have no encoder. Picking one sets its default "
                               "backbone and learning rate")
        self.backbone = QComboBox()
        self.backbone.addItems(["mlp", "conv"])
        self.backbone.setToolTip("Network type of encoder and decoder: fully connected (fast on a CPU) "
                                 "or convolutional")
        self.latent_dim = QSpinBox()
        self.latent_dim.setRange(1, 256)
        self.latent_dim.setValue(2)
        self.latent_dim.setToolTip("Size of the latent space; 2 is drawn exactly, more as a slice")
        self.hidden = QSpinBox()
        self.hidden.setRange(16, 4096)
        self.hidden.setSingleStep(64)
        self.hidden.setValue(DEFAULT_HIDDEN)
        self.hidden.setToolTip("Width of the first hidden layer (smaller trains faster)")
        self.beta = QDoubleSpinBox()
        self.beta.setRange(0.0, 1000.0)
        self.beta.setDecimals(3)
        self.beta.setSingleStep(0.5)
        self.beta.setValue(1.0)
        self.beta.setToolTip("β: weight of the KL term of a new VAE (1 is the plain VAE; larger gives a "
                             "smoother map and blurrier digits). The β slider on the right fine-tunes the "
                             "open model instead")
        self.gamma = QDoubleSpinBox()
        self.gamma.setRange(0.0, 1000.0)
        self.gamma.setDecimals(2)
        self.gamma.setToolTip("γ: weight of the classifier head's cross-entropy (multi-stage VAE only)")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 10_000)
        self.epochs.setValue(DEFAULT_EPOCHS)
        self.epochs.setToolTip("Passes over the training set of a new model (the β slider's fine-tune "
                               "runs until its loss settles)")
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(0.00001, 1.0)
        self.lr.setSingleStep(0.0001)
        self.lr.setValue(0.001)
        self.lr.setToolTip("Learning rate of Adam (set to the family's default when you pick a family)")
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu"])
        self.device.setToolTip("Where to train: auto picks a GPU when there is one. On a CPU, training from the "
                               "window uses all cores but one, so the window stays responsive")

        #: What a new model is trained on; the window shows the open model's dataset here.
        self.dataset = DatasetPicker()

        self.start_button = QPushButton("Train new")
        self.start_button.setToolTip("Train a new model with these settings (Space)")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause or resume the running training (Space)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop training after the current step; the weights so far are kept")
        self.start_button.clicked.connect(self.startRequested)
        self.pause_button.clicked.connect(self.pauseRequested)
        self.stop_button.clicked.connect(self.stopRequested)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        self.progress.setToolTip("Progress of the current run with the estimated time left")

        grid = QGridLayout()
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(4)
        rows = [
            ("Family", self.family, "Backbone", self.backbone),
            ("Latent size", self.latent_dim, "Width", self.hidden),
            ("β", self.beta, "γ", self.gamma),
            ("Epochs", self.epochs, "Learning rate", self.lr),
            ("Device", self.device, "Data", self.dataset),
        ]
        for r, (l1, w1, l2, w2) in enumerate(rows):
            for c, (text, widget) in enumerate(((l1, w1), (l2, w2))):
                if widget is None:
                    continue
                label = QLabel(text)
                label.setBuddy(widget)
                label.setToolTip(widget.toolTip())
                grid.addWidget(label, r, 2 * c, Qt.AlignmentFlag.AlignRight)
                grid.addWidget(widget, r, 2 * c + 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.pause_button)
        buttons.addWidget(self.stop_button)
        title = QLabel("Training")
        title.setObjectName("panelTitle")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(title)
        layout.addLayout(grid)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addStretch(1)
        #: One line about the open model; the window shows it under the panel and the loss
        #: curves, where it has their whole width (in the panel's column it wrapped to three
        #: lines, which a 768-line screen cut).
        self.summary = QLabel("")
        self.summary.setObjectName("summary")
        self.summary.setToolTip("The open model's training so far and its test-set figures")
        self.summary.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)

        self.family.currentIndexChanged.connect(self._on_family_changed)
        self._defaults_loaded = False
        # γ shown (disabled) for the families without one: the value of the family with one
        self.gamma.setValue(next(d.gamma for d in PRESET_DEFAULTS.values() if d.gamma is not None))
        self._apply_family_defaults()  # the preset ones: the same values, without PyTorch
        if load_defaults:
            self.load_model_defaults()
        self.set_running(False)

    def load_model_defaults(self) -> None:
        """The registry's family defaults and the GPUs (imports PyTorch). The fields keep
        what they show where the registry agrees with PRESET_DEFAULTS (a test checks it), so
        nothing changes under the user when PyTorch arrives."""
        from latentlab.models.registry import families

        self._defaults_loaded = True
        for name in available_devices():
            if self.device.findText(name) < 0:
                self.device.addItem(name)
        for info in families(role="model", trainable=True):  # every registered family, in order
            # One without a latent space (a PixelCNN) has no map to train into: the CLI trains it.
            if info.has_latent_space and self.family.findData(info.family) < 0:
                self.family.addItem(info.title, info.family)
        self.dataset.refresh()
        family = self.family.currentData()
        if PRESET_DEFAULTS.get(family) != family_defaults(family):
            self._apply_family_defaults()

    # ---------------------------------------------------------------- settings
    def request(self) -> TrainingRequest:
        return TrainingRequest(
            family=self.family.currentData(),
            backbone=self.backbone.currentText(),
            latent_dim=self.latent_dim.value(),
            hidden=self.hidden.value(),
            beta=self.beta.value(),
            gamma=self.gamma.value(),
            epochs=self.epochs.value(),
            lr=self.lr.value(),
            device=self.device.currentText(),
            dataset=self.dataset.choice(),
        )

    def set_from_config(self, config: dict) -> None:
        """Fill the fields from a loaded model's config (so Train new repeats its architecture)."""
        index = self.family.findData(config.get("family"))
        if index >= 0:
            self.family.setCurrentIndex(index)
        self.backbone.setCurrentText(config.get("backbone", "mlp"))
        self.latent_dim.setValue(int(config.get("latent_dim", 2)))
        self.hidden.setValue(int(config.get("hidden", DEFAULT_HIDDEN)))
        if "beta" in config:
            self.beta.setValue(float(config["beta"]))
        if "gamma" in config:
            self.gamma.setValue(float(config["gamma"]))

    @Slot()
    def _on_family_changed(self) -> None:
        self._apply_family_defaults()

    def _apply_family_defaults(self) -> None:
        """The chosen family's learning rate and backbone (conv for the DCGAN), and γ."""
        family = self.family.currentData()
        defaults = family_defaults(family) if self._defaults_loaded else PRESET_DEFAULTS.get(family)
        self.gamma.setEnabled(self._applies(self.gamma))
        self.beta.setEnabled(self._applies(self.beta))
        if defaults is None:
            return
        self.lr.setValue(defaults.lr)
        self.backbone.setCurrentText(defaults.backbone)
        if defaults.gamma is not None:
            self.gamma.setValue(defaults.gamma)

    # ------------------------------------------------------------------ state
    def observe(self, state: AppState) -> None:
        """Follow the app state: the shown model's settings in the fields, an idle progress
        bar for a newly shown model (not the previous one's "trained 5 epochs"), the
        buttons of the training status, Start only once PyTorch is loaded."""
        self._state = state
        state.shown_changed.connect(self._on_shown)
        state.training_changed.connect(self._on_training)
        state.engine_changed.connect(self._on_engine)
        state.session_changed.connect(self._on_session)
        self._on_training(state.training)

    def _on_session(self, session) -> None:
        if session is not None and session.has_data:  # Train new trains on the open model's data unless another is picked
            self.dataset.select(session.dataset.name, session.dataset.image_shape)

    def _on_shown(self, shown) -> None:
        if shown is not None:
            self.set_from_config(shown.config)
        if not self._state.is_training:
            self.set_message("idle", 0.0)

    def _on_training(self, status) -> None:
        self.set_running(status.running, paused=status.paused)
        if not self._state.engine_ready:
            self.start_button.setEnabled(False)

    def _on_engine(self, ready: bool) -> None:
        self._on_training(self._state.training)

    def set_running(self, running: bool, paused: bool = False) -> None:
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.setText("Resume" if paused else "Pause")
        for widget in (self.family, self.backbone, self.latent_dim, self.hidden, self.beta, self.gamma,
                       self.epochs, self.lr, self.device, self.dataset):
            widget.setEnabled(not running and self._applies(widget))
        if paused:
            self.progress.setFormat("paused · " + self.progress.format())

    def _applies(self, widget: QWidget) -> bool:
        """β only for families with a KL term, γ only for those with a classifier weight, as
        the families declare (before PyTorch: the same answers from PRESET_DEFAULTS)."""
        if widget not in (self.beta, self.gamma):
            return True
        family = self.family.currentData()
        defaults = family_defaults(family) if self._defaults_loaded else PRESET_DEFAULTS.get(family)
        if defaults is None:
            return False
        return defaults.has_beta if widget is self.beta else defaults.gamma is not None

    def set_progress(self, epoch: int, epochs: int, fraction: float, eta_s: float, rate: float) -> None:
        self.progress.setValue(int(round(fraction * 1000)))
        self.progress.setFormat(
            f"epoch {epoch}/{epochs} · {fraction:.0%} · {rate:,.0f} img/s · ETA {format_eta(eta_s)}")

    def set_message(self, text: str, fraction: float | None = None) -> None:
        if fraction is not None:
            self.progress.setValue(int(round(fraction * 1000)))
        self.progress.setFormat(text)
