"""Fitting a flow prior to the open model's codes from the window (Analyse ▸ Density models ▸ Fit a flow prior).

A background task (``latentlab.app.tasks``): the fit runs on a copy of the model's weights
(its snapshot), so the map stays live; progress reports the held-out codes' −log p as the
fit goes, and a cancelled fit keeps nothing. The window attaches the finished flow to the
open model on the GUI thread, which marks it changed: saving it keeps the prior in the
checkpoint, as ``latentlab fit-prior`` does.
"""

from __future__ import annotations

import time

from latentlab.app.tasks import TaskState

STEPS = 3000


def fit_flow_prior(snapshot, images, state: TaskState, steps: int | None = None):
    """A ``LatentFlow`` fitted to the codes of ``images`` under the weights ``snapshot``;
    raises ``Cancelled`` when cancelled (the flow so far is not kept). The flow's size
    and training noise are ``recommended_fit`` for the codes' dimension."""
    from latentlab.app.jobs import build_model
    from latentlab.models.flow import LatentFlow, encode_images, recommended_fit

    started = time.perf_counter()
    codes = encode_images(build_model(snapshot), images)

    def progress(step: int, total: int, nll: float) -> None:
        elapsed = time.perf_counter() - started
        state.set_progress(step / total, f"Fitting a flow prior: step {step} of {total}, held-out codes' −log p "
                                         f"{nll:.2f} nats", elapsed / step * (total - step))

    flow = LatentFlow.fit(codes, steps=STEPS if steps is None else steps, on_progress=progress,
                          should_stop=lambda: state.cancelled, **recommended_fit(codes.shape[1]))
    state.check()
    return flow
