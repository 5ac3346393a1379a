"""The window's side of the UMAP worker: requests, a polling timer, Qt signals.

It owns one :class:`~latentlab.latent.umap_service.UmapService` (one worker process for
the whole window, so umap compiles once per app run) and polls it with a QTimer while a
job is under way: polling never blocks, so the GUI thread never waits for the worker.
Only the newest request counts: a new ``request_umap`` cancels the previous one, and
events of older jobs are ignored.

The worker is a process, not a thread, but it reports in the one background shape of
``latentlab.ui.work.tasks.Task``, all on the GUI thread:

- ``progress(fraction, message, eta_s)``: 0..1 and what the worker is doing (eta: None);
- ``partial(projection)``: for a large set, a preview layout while the full one is fitted;
- ``done(projection)``: an :class:`~latentlab.latent.embedding.EmbeddingProjection` of
  the requested latents (straight from the cache when they were laid out before);
- ``failed(message)``: a sentence for the user (umap missing, the worker died, ...), also
  shown by the error sink it was given (the window's dialog).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from latentlab.app.tasks import ErrorSink
from latentlab.latent.umap_service import UmapFailed, UmapPartial, UmapProgress, UmapResult, UmapService

POLL_MS = 50


FAILED_TITLE = "UMAP failed: the map shows PCA"


class ProjectionController(QObject):
    progress = Signal(object, str, object)
    partial = Signal(object)
    done = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None, *, service: UmapService | None = None,
                 poll_ms: int = POLL_MS, errors: ErrorSink | None = None) -> None:
        super().__init__(parent)
        self.errors = errors
        self.service = service if service is not None else UmapService()
        self._job_id: int | None = None
        self._latents: np.ndarray | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self._poll)

    def request_umap(self, key: str, latents: np.ndarray) -> None:
        """Lay out ``latents`` (N, D) with UMAP; ``ready`` follows (a cached layout within one
        poll interval). ``key`` names the model and dataset, e.g. ``"vae.safetensors|mnist"``."""
        self.cancel()
        latents = np.ascontiguousarray(latents, np.float32)
        try:
            self._job_id = self.service.submit(key, latents)
        except ValueError as err:
            self._fail(f"Cannot lay out these latents with UMAP: {err}")
            return
        self._latents = latents
        self._timer.start()

    def cancel(self) -> None:
        """Forget the current request (a fit that has started still ends in the worker)."""
        if self._job_id is not None:
            self.service.cancel(self._job_id)
        self._job_id = None
        self._latents = None

    @property
    def pending(self) -> bool:
        """True from a request until its ``ready`` or ``failed``."""
        return self._job_id is not None

    @property
    def polling(self) -> bool:
        """True while the timer polls the worker: only while a job waits or runs."""
        return self._timer.isActive()

    @Slot()
    def _poll(self) -> None:
        from latentlab.latent.embedding import EmbeddingProjection  # SciPy: not at the window's start-up

        for event in self.service.poll():
            if event.job_id != self._job_id:
                continue
            if isinstance(event, UmapProgress):
                self.progress.emit(event.fraction, event.message, None)
            elif isinstance(event, UmapPartial):  # a large set's preview: shown until the full layout
                self.partial.emit(EmbeddingProjection(event.embedding, self._latents))
            elif isinstance(event, UmapResult):
                latents, self._job_id, self._latents = self._latents, None, None
                self.progress.emit(1.0, "UMAP ready" + (" (from the cache)" if event.from_cache else ""), None)
                self.done.emit(EmbeddingProjection(event.embedding, latents))
            elif isinstance(event, UmapFailed):
                self._job_id, self._latents = None, None
                self._fail(event.message)
        if not self.service.busy:
            self._timer.stop()

    def _fail(self, message: str) -> None:
        if self.errors is not None:
            self.errors.report(FAILED_TITLE, message)
        self.failed.emit(message)

    def cached_layout(self, latents: np.ndarray):
        """The EmbeddingProjection of ``latents`` from a layout already laid out (the service's
        cache, or one shipped in resources/umap: no worker, no fit), or None. The window opens
        a >2-D model in UMAP when there is one."""
        from latentlab.errors import LatentLabError
        from latentlab.latent.embedding import EmbeddingProjection
        from latentlab.latent.umap_service import find_layout

        latents = np.ascontiguousarray(latents, np.float32)
        if latents.ndim != 2 or len(latents) == 0:
            return None
        try:
            root = getattr(self.service, "cache_root", None)
        except LatentLabError:  # no usable cache folder: the shipped layouts still count
            root = None
        embedding = find_layout(latents, cache_root=root)
        if embedding is None or len(embedding) != len(latents):
            return None
        return EmbeddingProjection(embedding, latents)

    def shutdown(self) -> None:
        """Stop polling and the worker process (the window calls this when it closes)."""
        self._timer.stop()
        self._job_id = None
        self._latents = None
        self.service.shutdown()
