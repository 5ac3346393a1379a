"""The debiasing demo's background task (``latentlab.latent.debias``; the window's
Analyse ▸ Density models ▸ Debiasing demo): two VAE trainings and a density fit, with
progress, time left and cancelling, in the shape of ``latentlab.app.tasks``."""

from __future__ import annotations

import time

from latentlab.app.caches import AppCaches
from latentlab.app.tasks import TaskState
from latentlab.errors import LatentLabError

#: Share of the progress bar each phase takes: first VAE, density and weights, second VAE.
PHASES = {"before": (0.0, 0.47), "weights": (0.47, 0.53), "after": (0.53, 1.0)}
#: At most one progress report per this many seconds (a phase's start and end always count).
REPORT_INTERVAL_S = 0.2


class _Progress:
    """Turns run_debias's log lines and training steps into one rising fraction with a time left."""

    def __init__(self, state: TaskState) -> None:
        self.state = state
        self.phase = "before"
        self.started = time.perf_counter()
        self.last = 0.0

    def log(self, text: str) -> None:
        if text.startswith("weights"):
            self.phase = "weights"
        elif "with the weights" in text:
            self.phase = "after"
        if not self.report(0.0, text):
            self.state.set_progress(None, text)

    def report(self, fraction_of_phase: float, message: str = "") -> bool:
        """Report the fraction done; False when it was too soon after the last report."""
        low, high = PHASES[self.phase]
        done = low + (high - low) * fraction_of_phase
        now = time.perf_counter()
        if now - self.last < REPORT_INTERVAL_S and fraction_of_phase < 1.0:
            return False
        self.last = now
        elapsed = now - self.started
        self.state.set_progress(done, message, elapsed / max(done, 1e-3) * (1.0 - done))
        return True


def run_debias_demo(settings: dict, state: TaskState, caches: AppCaches | None = None):
    """``run_debias`` on ``settings`` (dataset, target, keep, alpha, density, epochs, seed);
    its ``DebiasReport``. Cancelling stops the training under way (which then raises)."""
    from latentlab.app.session import find_judge_cached, get_recorded_dataset
    from latentlab.latent.debias import BiasRule, run_debias
    from latentlab.training.control import TrainControl
    from latentlab.training.trainer import TrainingCallback

    control = TrainControl()
    state.on_cancel(control.request_stop)
    progress = _Progress(state)

    class Relay(TrainingCallback):
        def on_step(self, trainer, report) -> None:
            progress.report(report.step / max(report.total_steps, 1))

    s = settings
    dataset = get_recorded_dataset(s["dataset"], (1, 28, 28), caches)
    judge = find_judge_cached(dataset, caches)
    if judge is None:
        raise LatentLabError(f"no judge classifier for {dataset.name}: open a model of it first")
    rule = BiasRule("class", s["target"], s["keep"])
    report, _, _ = run_debias(dataset, judge, rule, alpha=s["alpha"], density=s["density"], latent_dim=2,
                              epochs=s["epochs"], seed=s["seed"], log=progress.log, callbacks=[Relay()],
                              control=control)
    state.check()
    return report
