"""What a decoded path shows, measured once for every display (window, comparison table,
CLI tables, PNG and GIF exports). The definitions are written out for readers in
docs/path-measures.md; the tooltips and the CLI legend use the ``*_HELP`` strings below.

The question a teacher asks of a path from class A to class B is "did it go from A to
B without passing through another class?". The answer is the path's **verdict**:

* ``direct``  -- the frames are judged A, A, ..., B, B: only the two classes, in order,
  the first frame an A and the last a B. Only a direct path is called *pure*.
* ``detour``  -- the first frame is an A and the last a B, but frames between are judged
  as other classes ("passes through 8").
* ``wavers``  -- first an A, last a B, no other class, but it switches back and forth.
* ``wrong ends`` -- the first frame is not judged A or the last not B: the path "never
  shows 4" (no frame is an A), "starts as 8", "never reaches 9" or "ends as 8". This is
  what a model that cannot reconstruct one of the two images produces.
* ``empty``   -- no frames.

A and B are the classes the user asked for (``--from 3 --to 8``, the labels of two test
images, two class centroids), not the judge's opinion of the end frames: a model that
reconstructs a 4 as a 9 has a path that does not start right, and its verdict says so.
Without requested classes (two points on the map) the judged classes of the first and
last frames are used, so such a path can only be direct, a detour or wavering.

The numbers behind it:

* **class sequence** -- the judged class of each frame with consecutive repeats
  collapsed: frames judged 3 3 5 8 8 give (3, 5, 8).
* **purity** -- the share of frames that fit the best direct path: the largest share of
  frames that agree with "A for the first k frames, B for the rest", with at least one
  frame of each (k = 1 .. n-1; for A = B, the share of frames judged A). It is 100%
  exactly when the verdict is direct, so a path that never shows its start class can
  never reach 100%: 12 frames all judged 9 on the way from 4 to 9 score 11/12 (one frame
  would have to be a 4). A one-frame path between two classes scores 0.
* **intruders** -- the classes other than A and B that the path shows, in order of first
  appearance ("third classes").
* **smoothness** -- the mean absolute pixel change between neighbouring frames (pixels in
  [0, 1], averaged over pixels and then over the n-1 neighbour pairs). Lower is smoother;
  0 for a constant path. It depends on the number of frames (twice the frames roughly
  halves it), so compare paths of the same length.
* **max jump** -- the largest of those neighbour changes: a path with a sudden switch has
  a max jump far above its smoothness.

Over several class pairs, a model's summary is the number of direct paths ("direct
6/10") and the mean purity; the mean is 100% only when every path is direct.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from latentlab.errors import ConfigError

# No PyTorch at import: the window's strip view reads the words below before PyTorch has
# loaded (tensors are recognised by their ``detach`` method, the judge imports it itself).

DIRECT, DETOUR, WAVERS, WRONG_ENDS, EMPTY = "direct", "detour", "wavers", "wrong ends", "empty"

#: What the words mean, for tooltips and the CLI legend (docs/path-measures.md says more).
VERDICT_HELP = (
    "Verdict: does the path go from A to B without another class? 'directly': the judge sees only A, then B. "
    "'passes through 8': the ends are right but frames between look like another class. 'never shows 4' / "
    "'starts as 8' / 'never reaches 9' / 'ends as 8': the first or last frame is not the class asked for "
    "(the model did not reconstruct that image as its class). Only a direct path is pure.")
PURITY_HELP = (
    "Purity: the share of frames that fit a direct path (the first frames A, the rest B, at least one of "
    "each). 100% only for a direct path; a path that never shows A or never reaches B stays below 100%.")
SMOOTHNESS_HELP = (
    "Smoothness: the mean absolute pixel change between neighbouring frames (pixels 0-1). Lower is "
    "smoother; compare paths with the same number of frames.")
MAX_JUMP_HELP = "Max jump: the largest pixel change between two neighbouring frames (a sudden switch)."
SEQUENCE_HELP = "Class sequence: the judge's class of each frame, in order, repeats collapsed."
THIRD_HELP = "Third classes: classes other than A and B that the judge sees on the path."
ENDS_HELP = "Ends: the judge's classes of the first and last frames, against the classes asked for."
#: The short verdicts of a table cell (see :meth:`Verdict.short`).
SHORT_LEGEND = ("cells: direct = only A then B (pure); via 8 = passes through 8; wavers = A and B back and forth; "
                "no 4 / no 9 = never shows the start / end class; from 8 / to 8 = first / last frame judged 8; "
                "all 8 = 8 throughout")


def class_namer(class_names: Sequence[str] = ()) -> Callable[[int], str]:
    """class index -> its name (the index itself when there is no name for it)."""
    names = list(class_names)
    return lambda c: names[c] if 0 <= c < len(names) else str(c)


def _and(words: Sequence[str]) -> str:
    """("8",) -> "8"; ("8", "5") -> "8 and 5"; ("8", "5", "2") -> "8, 5 and 2"."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


@dataclass(frozen=True)
class Verdict:
    """The answer to "did the path go from A to B without another class?" (module docstring).

    ``headline`` and ``short`` put it in words; ``name`` turns a class index into text
    (a plain name, or coloured HTML in the window).
    """

    kind: str  # DIRECT, DETOUR, WAVERS, WRONG_ENDS or EMPTY
    start_class: int
    end_class: int
    first: int | None  # the judged class of the first frame (None: no frames)
    last: int | None
    shows_start: bool  # some frame is judged the start class
    shows_end: bool
    intruders: tuple[int, ...]
    only: int | None  # the class of every frame when the path shows a single class

    @property
    def pure(self) -> bool:
        """Only a direct path is pure."""
        return self.kind == DIRECT

    @property
    def start_ok(self) -> bool:
        return self.first == self.start_class

    @property
    def end_ok(self) -> bool:
        return self.last == self.end_class

    def headline(self, name: Callable[[int], str] = str, arrow: str = " → ") -> str:
        """"4 → 9 directly", "4 → 9, passes through 8", "never shows 4", "starts as 8, never reaches 9"."""
        a, b = name(self.start_class), name(self.end_class)
        if self.kind == EMPTY:
            return "no frames"
        if self.kind == DIRECT:
            return f"{a} throughout" if self.start_class == self.end_class else f"{a}{arrow}{b} directly"
        if self.kind == DETOUR:
            return f"{a}{arrow}{b}, passes through {_and([name(c) for c in self.intruders])}"
        if self.kind == WAVERS:
            return f"{a}{arrow}{b}, back and forth"
        if self.only is not None:
            if self.only == self.start_class:
                return f"stays {a}, never reaches {b}"
            if self.only == self.end_class:
                return f"never shows {a}: {b} throughout"
            return f"{name(self.only)} throughout: never shows {a if a == b else f'{a} or {b}'}"
        parts = []
        if not self.start_ok:
            parts.append(("" if self.shows_start else f"never shows {a}: ") + f"starts as {name(self.first)}")
        if not self.end_ok:
            parts.append(("" if self.shows_end else f"never reaches {b}: ") + f"ends as {name(self.last)}")
        named = {c for c, ok in ((self.first, self.start_ok), (self.last, self.end_ok)) if not ok}
        rest = [name(c) for c in self.intruders if c not in named]
        if rest:
            parts.append(f"passes through {_and(rest)}")
        return ", ".join(parts)

    def short(self, name: Callable[[int], str] = str) -> str:
        """A table cell: "direct", "via 8", "wavers", "no 4", "from 8", "to 8", "all 8" (SHORT_LEGEND)."""
        if self.kind in (EMPTY, DIRECT, WAVERS):
            return {EMPTY: "empty", DIRECT: "direct", WAVERS: "wavers"}[self.kind]
        if self.kind == DETOUR:
            return "via " + ",".join(name(c) for c in self.intruders[:2]) + ("+" if len(self.intruders) > 2 else "")
        if self.only is not None:
            if self.only == self.start_class:
                return f"no {name(self.end_class)}"
            if self.only == self.end_class:
                return f"no {name(self.start_class)}"
            return f"all {name(self.only)}"
        parts = []
        if not self.start_ok:
            parts.append(f"from {name(self.first)}" if self.shows_start else f"no {name(self.start_class)}")
        if not self.end_ok:
            parts.append(f"to {name(self.last)}" if self.shows_end else f"no {name(self.end_class)}")
        return " ".join(parts)


def path_verdict(classes: Sequence[int], start_class: int, end_class: int) -> Verdict:
    """The verdict of a path whose frames are judged ``classes``, asked to go from
    ``start_class`` to ``end_class`` (see the module docstring)."""
    c = [int(x) for x in np.asarray(classes).reshape(-1)]
    start, end = int(start_class), int(end_class)
    if not c:
        return Verdict(EMPTY, start, end, None, None, False, False, (), None)
    sequence = collapse_repeats(c)
    intruders = tuple(dict.fromkeys(x for x in c if x not in (start, end)))
    if c[0] != start or c[-1] != end:
        kind = WRONG_ENDS
    elif sequence == ((start,) if start == end else (start, end)):
        kind = DIRECT
    else:
        kind = DETOUR if intruders else WAVERS
    return Verdict(kind, start, end, c[0], c[-1], start in c, end in c, intruders,
                   sequence[0] if len(sequence) == 1 else None)


def direct_purity(classes: Sequence[int], start_class: int, end_class: int) -> float:
    """The share of frames that fit the best direct path "A for the first k frames, B for
    the rest" with 1 <= k <= n-1 (for A = B: the share judged A). 1.0 exactly when the
    path is direct; 0.0 for no frames, and for one frame between two different classes."""
    c = np.asarray(classes, np.int64).reshape(-1)
    n = len(c)
    if n == 0:
        return 0.0
    if start_class == end_class:
        return float(np.mean(c == start_class))
    if n < 2:
        return 0.0
    starts_before = np.cumsum(c == start_class)[:-1]  # A among frames [0, k), k = 1 .. n-1
    ends_from = np.cumsum((c == end_class)[::-1])[::-1][1:]  # B among frames [k, n)
    return float((starts_before + ends_from).max() / n)


@dataclass(frozen=True)
class PathMetrics:
    classes: tuple[int, ...]  # judged class of each frame
    confidences: tuple[float, ...]  # the judge's confidence in that class, per frame
    start_class: int
    end_class: int
    sequence: tuple[int, ...]  # classes with consecutive repeats collapsed
    purity: float  # share of frames that fit a direct path (direct_purity)
    intruders: tuple[int, ...]  # other classes visited, in order of first appearance
    smoothness: float  # mean |pixel change| between neighbouring frames
    max_jump: float  # largest mean |pixel change| between two neighbouring frames

    @property
    def verdict(self) -> Verdict:
        return path_verdict(self.classes, self.start_class, self.end_class)

    @property
    def pure(self) -> bool:
        """A direct path: only the start class, then only the end class, ends right."""
        return self.verdict.pure

    @property
    def passes_through_third(self) -> bool:
        return bool(self.intruders)

    @property
    def n_frames(self) -> int:
        return len(self.classes)

    @property
    def start_ok(self) -> bool:
        """Whether the first frame is judged to be the start class."""
        return bool(self.classes) and self.classes[0] == self.start_class

    @property
    def end_ok(self) -> bool:
        """Whether the last frame is judged to be the end class."""
        return bool(self.classes) and self.classes[-1] == self.end_class

    @property
    def ends_ok(self) -> bool:
        """Whether the path starts and ends where it was asked to."""
        return self.start_ok and self.end_ok

    @property
    def mean_confidence(self) -> float:
        return float(np.mean(self.confidences)) if self.confidences else 0.0

    def to_dict(self, class_names: Sequence[str] = ()) -> dict:
        """JSON values, the derived properties and the verdict's words included."""
        d = asdict(self)
        d = {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
        verdict, name = self.verdict, class_namer(class_names)
        d.update(
            verdict=verdict.kind,
            headline=verdict.headline(name),
            short=verdict.short(name),
            pure=verdict.pure,
            passes_through_third=self.passes_through_third,
            start_ok=self.start_ok,
            end_ok=self.end_ok,
            ends_ok=self.ends_ok,
            mean_confidence=self.mean_confidence,
        )
        return d


@dataclass(frozen=True)
class PathReport:
    """Every text a display shows about one path; made by :func:`report`, so the window,
    the comparison table, the CLI and the exported pictures say the same thing."""

    verdict: Verdict
    headline: str  # "4 → 9 directly", "never shows 4: 9 throughout"
    short: str  # "direct", "no 4"
    purity: str  # "92%"
    sequence: str  # "3 → 5 → 8"
    third: str  # "8, 5" or "none"
    ends: str  # "4, 9" or "9, 9 (asked 4, 9)"
    smoothness: str  # "0.0049"
    max_jump: str

    @property
    def pure(self) -> bool:
        return self.verdict.pure

    def lines(self) -> list[tuple[str, bool]]:
        """The lines printed beside a strip in a picture, each with "show in red"."""
        v = self.verdict
        return [
            (self.headline, not v.pure),
            (f"purity {self.purity}", False),
            (f"ends {self.ends}", not (v.start_ok and v.end_ok)),
            (f"third: {self.third}", bool(v.intruders)),
            (f"smoothness {self.smoothness}", False),
        ]


def report(m: PathMetrics, class_names: Sequence[str] = (), arrow: str = " → ") -> PathReport:
    """The texts of one path (see :class:`PathReport`). ``arrow`` joins two classes (the
    pictures' fallback font has no arrow glyph, so they pass " to ")."""
    name = class_namer(class_names)
    verdict = m.verdict
    ends = f"{name(m.classes[0])}, {name(m.classes[-1])}" if m.classes else "none"
    if not m.ends_ok:
        ends += f" (asked {name(m.start_class)}, {name(m.end_class)})"
    return PathReport(
        verdict=verdict,
        headline=verdict.headline(name, arrow),
        short=verdict.short(name),
        purity=f"{m.purity:.0%}",
        sequence=arrow.join(name(c) for c in m.sequence),
        third=", ".join(name(c) for c in m.intruders) or "none",
        ends=ends,
        smoothness=f"{m.smoothness:.4f}",
        max_jump=f"{m.max_jump:.4f}",
    )


@dataclass(frozen=True)
class PairsSummary:
    """A model's paths over several class pairs: how many are direct, and the mean purity."""

    direct: int
    pairs: int
    mean_purity: float

    @property
    def pure(self) -> bool:
        """Every path direct (a path with a wrong end is never averaged into "pure")."""
        return self.pairs > 0 and self.direct == self.pairs

    def text(self) -> str:
        return f"direct {self.direct}/{self.pairs}, mean purity {self.mean_purity:.0%}"


def summarize(metrics: Sequence[PathMetrics]) -> PairsSummary:
    """Direct paths and mean purity over a model's paths (one per class pair)."""
    if not metrics:
        return PairsSummary(0, 0, 0.0)
    return PairsSummary(sum(m.pure for m in metrics), len(metrics), float(np.mean([m.purity for m in metrics])))


def _numpy(x) -> np.ndarray:
    return x.detach().float().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


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

    ``frames`` is (n, C, H, W) (any shape with the frame index first, n >= 2),
    ``judge_classes`` and ``judge_confidences`` have n entries (see :func:`judge_frames`).
    Without ``start_class`` / ``end_class`` the judged classes of the first and last
    frames are used, which makes ``start_ok`` and ``end_ok`` true by construction.
    """
    classes = _numpy(judge_classes).astype(np.int64).reshape(-1)
    confs = _numpy(judge_confidences).astype(np.float64).reshape(-1)
    changes = neighbour_changes(frames)
    n = len(changes) + 1
    if len(classes) != n or len(confs) != n:
        raise ConfigError(f"{n} frames but {len(classes)} classes and {len(confs)} confidences")
    start = int(classes[0]) if start_class is None else int(start_class)
    end = int(classes[-1]) if end_class is None else int(end_class)
    intruders = tuple(dict.fromkeys(int(c) for c in classes if c not in (start, end)))
    return PathMetrics(
        classes=tuple(int(c) for c in classes),
        confidences=tuple(float(p) for p in confs),
        start_class=start,
        end_class=end,
        sequence=collapse_repeats(classes),
        purity=direct_purity(classes, start, end),
        intruders=intruders,
        smoothness=float(changes.mean()),
        max_jump=float(changes.max()),
    )


def judge_frames(judge, frames) -> tuple[np.ndarray, np.ndarray]:
    """(classes int64 (n,), confidences float32 (n,)) of the judge for each frame.

    Kept apart from :func:`path_metrics` so the metrics can be checked on hand-made
    judge outputs, and so a view can judge once and recompute nothing else.
    """
    import torch

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

