"""The end of every training run, the same for the CLI and the window.

A finished (or stopped) run needs two things before its model is saved or shown: the
Gaussian mixture that autoencoders sample from, fitted on the encoded training split,
and the judge's figures (sample quality, Fréchet distance, agreement with the requested
class) measured on the final weights and after the mixture exists. Both callers use
:func:`finish_training`, so a model trained in the window gets the same figures as one
trained with ``latentlab train``.
"""

from __future__ import annotations

from latentlab.models.base import ROLE_MODEL, LatentModel
from latentlab.training.evaluate import evaluate, fit_sampling_mixture
from latentlab.training.trainer import Trainer


def finish_training(trainer: Trainer, judge: LatentModel | None = None, *, fit_mixture: bool = True) -> dict:
    """Fit the sampling mixture (models that encode and decode) and, with a ``judge``,
    evaluate the final weights with it. The metrics go to ``trainer.metrics`` (what
    ``trainer.save`` writes) and the scalar ones into the last history record; returns them.

    Without a judge, or for the judge itself, the test metrics of the last epoch stay.
    Runs in the caller's thread (the window calls it from its training worker).
    """
    model = trainer.model
    model.eval()
    if fit_mixture:
        fit_sampling_mixture(model, trainer.dataset)
    if judge is None or model.role != ROLE_MODEL or not trainer.history:
        return trainer.metrics
    metrics = evaluate(model, trainer.dataset.to(trainer.device), judge=judge.to(trainer.device).eval())
    trainer.metrics = metrics
    trainer.history[-1].update({k: v for k, v in metrics.items() if not isinstance(v, list)})
    return metrics
