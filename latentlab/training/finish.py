"""The end of every training run, the same for the CLI and the window.

A run that finished has its judge's figures from the trainer (``Trainer(judge=...)``
evaluates the last epoch with it). Autoencoders then still need the Gaussian mixture they
sample from, fitted on the encoded training split, and their sample figures must be
measured again once it exists (before, they were sampled from the prior). Both callers use
:func:`finish_training`, so a model trained in the window gets the same figures as one
trained with ``latentlab train``.
"""

from __future__ import annotations

from latentlab.models.base import ROLE_MODEL
from latentlab.training.evaluate import evaluate, fit_sampling_mixture
from latentlab.training.trainer import Trainer


def finish_training(trainer: Trainer, status: str, *, fit_mixture: bool = True) -> dict:
    """Fit the sampling mixture (models that encode and decode) and, for a run whose
    ``status`` is "finished" with a judge, measure the sample figures again now that the
    model samples from it. The metrics go to ``trainer.metrics`` (what ``trainer.save``
    writes) and the scalar ones into the last history record; returns them.

    Runs in the caller's thread (the window calls it from its training worker).
    """
    model = trainer.model
    model.eval()
    if not (fit_mixture and fit_sampling_mixture(model, trainer.dataset)):
        return trainer.metrics
    judge = trainer.judge
    if judge is None or model.role != ROLE_MODEL or status != "finished" or not trainer.history \
            or model.default_sample_source != "mixture":
        return trainer.metrics
    metrics = evaluate(model, trainer.dataset.to(trainer.device), judge=judge)
    trainer.metrics.update(metrics)
    trainer.history[-1].update({k: v for k, v in metrics.items() if not isinstance(v, list)})
    return trainer.metrics
