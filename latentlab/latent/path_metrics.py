"""What a decoded path shows: the judge's class per frame, purity and smoothness.

Definitions (also shown in the UI's tooltips and the CLI's legend):

* **class sequence** -- the judged class of each frame with consecutive repeats
  collapsed: frames judged 3 3 5 8 8 give (3, 5, 8).
* **purity** -- the fraction of frames the judge labels as the start class or the end
  class. 1.0 means the path goes straight from one class to the other; a path from 3 to 8
  whose middle frames look like 5 has purity below 1.
* **intruders** / **passes_through_third** -- the classes other than the start and end
  classes that the path visits, in order of first appearance; a path "passes through a
  third class" when there is at least one.
* **smoothness** -- the mean absolute pixel change between neighbouring frames (pixels
  in [0, 1], averaged over pixels and then over the n-1 neighbour pairs). Lower is
  smoother; 0 for a constant path. It depends on the number of steps (twice the steps
  roughly halves it), so compare paths of the same length.
* **max_jump** -- the largest of those neighbour changes: a path with a sudden switch
  has a max_jump far above its smoothness.

The start and end classes are the classes the user asked for (``--from 3 --to 8``), not
the judge's opinion of the end frames: a model that reconstructs a 3 as a 5 has a path
that does not even start right, and ``start_ok`` / ``end_ok`` say so. Read purity
together with ``ends_ok``: a path that stays a 3 from end to end has purity 1.0 but
never reaches the 5 it was sent to.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from latentlab.errors import ConfigError


@dataclass(frozen=True)
class PathMetrics:
    classes: tuple[int, ...]  # judged class of each frame
    confidences: tuple[float, ...]  # the judge's confidence in that class, per frame
    start_class: int
    end_class: int
    sequence: tuple[int, ...]  # classes with consecutive repeats collapsed
    purity: float  # fraction of frames judged start_class or end_class
    intruders: tuple[int, ...]  # other classes visited, in order of first appearance
    smoothness: float  # mean |pixel change| between neighbouring frames
    max_jump: float  # largest mean |pixel change| between two neighbouring frames

    @property
    def passes_through_third(self) -> bool:
        return bool(self.intruders)

    @property
    def n_frames(self) -> int:
        return len(self.classes)

    @property
    def start_ok(self) -> bool:
        """Whether the first frame is judged to be the start class."""
        return self.classes[0] == self.start_class

    @property
    def end_ok(self) -> bool:
        """Whether the last frame is judged to be the end class."""
        return self.classes[-1] == self.end_class

    @property
    def ends_ok(self) -> bool:
        """Whether the path starts and ends where it was asked to. Read purity with it: a
        path stuck on the start class all the way (the decoder cannot tell the two
        images apart) has purity 1.0 but never arrives."""
        return self.start_ok and self.end_ok

    @property
    def mean_confidence(self) -> float:
        return float(np.mean(self.confidences))

    def to_dict(self) -> dict:
        """JSON values, the derived properties included (for ``--json`` and tables)."""
        d = asdict(self)
        d = {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
        d.update(
            passes_through_third=self.passes_through_third,
            start_ok=self.start_ok,
            end_ok=self.end_ok,
            ends_ok=self.ends_ok,
            mean_confidence=self.mean_confidence,
        )
        return d


def _numpy(x) -> np.ndarray:
    return x.detach().float().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def collapse_repeats(classes) -> tuple[int, ...]:
    """(3, 3, 5, 8, 8) -> (3, 5, 8)."""
    out: list[int] = []
    for c in classes:
        if not out or out[-1] != int(c):
            out.append(int(c))
    return tuple(out)


def neighbour_changes(frames) -> np.ndarray:
    """Mean absolute pixel change between each frame and the next: (n-1,)."""
    x = _numpy(frames).astype(np.float64)
    if x.ndim < 2 or len(x) < 2:
        raise ConfigError(f"a path needs at least 2 frames, got {len(x) if x.ndim else 0}")
    return np.abs(np.diff(x.reshape(len(x), -1), axis=0)).mean(axis=1)


def path_metrics(
    frames,
    judge_classes,
    judge_confidences,
    start_class: int | None = None,
    end_class: int | None = None,
) -> PathMetrics:
    """Metrics of one decoded path; see the module docstring for the definitions.

    ``frames`` is (n, C, H, W) (any shape with the frame index first), ``judge_classes``
    and ``judge_confidences`` have n entries (see :func:`judge_frames`). Without
    ``start_class`` / ``end_class`` the judged classes of the first and last frames are
    used, which makes ``start_ok`` and ``end_ok`` true by construction.
    """
    classes = _numpy(judge_classes).astype(np.int64).reshape(-1)
    confs = _numpy(judge_confidences).astype(np.float64).reshape(-1)
    changes = neighbour_changes(frames)
    n = len(changes) + 1
    if len(classes) != n or len(confs) != n:
        raise ConfigError(f"{n} frames but {len(classes)} classes and {len(confs)} confidences")
    start = int(classes[0]) if start_class is None else int(start_class)
    end = int(classes[-1]) if end_class is None else int(end_class)
    ends = np.isin(classes, [start, end])
    intruders = tuple(dict.fromkeys(int(c) for c in classes[~ends]))
    return PathMetrics(
        classes=tuple(int(c) for c in classes),
        confidences=tuple(float(p) for p in confs),
        start_class=start,
        end_class=end,
        sequence=collapse_repeats(classes),
        purity=float(ends.mean()),
        intruders=intruders,
        smoothness=float(changes.mean()),
        max_jump=float(changes.max()),
    )


def judge_frames(judge, frames: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """(classes int64 (n,), confidences float32 (n,)) of the judge for each frame.

    Kept apart from :func:`path_metrics` so the metrics can be checked on hand-made
    judge outputs, and so a view can judge once and recompute nothing else.
    """
    from latentlab.training.evaluate import judge_predict

    if judge is None or not hasattr(judge, "predict"):
        raise ConfigError("judging frames needs a judge classifier (see latentlab.training.judges.get_judge)")
    was_training = judge.training
    judge.eval()
    try:
        classes, confs = judge_predict(judge, torch.as_tensor(frames).float())
    finally:
        judge.train(was_training)
    return classes.numpy().astype(np.int64), confs.float().numpy().astype(np.float32)


def format_sequence(sequence, class_names: list[str] | None = None, sep: str = " > ") -> str:
    """(3, 5, 8) -> "3 > 5 > 8", with class names when given."""
    name = (lambda c: class_names[c]) if class_names else str
    return sep.join(name(c) for c in sequence)
