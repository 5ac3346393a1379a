"""Path metrics on hand-made paths: known classes, known pixel changes, known answers."""

import itertools

import numpy as np
import pytest
import torch

from latentlab.errors import ConfigError
from latentlab.latent.path_metrics import (
    DETOUR,
    DIRECT,
    EMPTY,
    WAVERS,
    WRONG_ENDS,
    collapse_repeats,
    direct_purity,
    judge_frames,
    path_metrics,
    path_verdict,
    report,
    summarize,
)


def frames_with_levels(levels):
    """One 4x4 frame per level, every pixel at that grey level."""
    return torch.tensor(levels, dtype=torch.float32).view(-1, 1, 1, 1).expand(-1, 1, 4, 4).clone()


def test_a_path_through_a_third_class():
    frames = frames_with_levels([0.0, 0.1, 0.2, 0.3, 0.4])
    m = path_metrics(frames, [3, 3, 5, 8, 8], [0.9, 0.8, 0.6, 0.7, 0.95], start_class=3, end_class=8)
    assert m.classes == (3, 3, 5, 8, 8)
    assert m.sequence == (3, 5, 8)
    assert m.purity == pytest.approx(4 / 5)
    assert m.passes_through_third and m.intruders == (5,)
    assert m.start_ok and m.end_ok
    assert m.smoothness == pytest.approx(0.1) and m.max_jump == pytest.approx(0.1)
    assert m.mean_confidence == pytest.approx(0.79)


def test_a_pure_path_and_intruders_in_order_of_first_visit():
    levels = frames_with_levels([0.0] * 6)
    pure = path_metrics(levels, [1, 1, 1, 7, 7, 7], [1.0] * 6, 1, 7)
    assert pure.purity == 1.0 and not pure.passes_through_third and pure.intruders == ()
    messy = path_metrics(levels, [1, 4, 2, 4, 7, 7], [1.0] * 6, 1, 7)
    assert messy.intruders == (4, 2) and messy.sequence == (1, 4, 2, 4, 7)
    assert messy.purity == pytest.approx(3 / 6)


def test_a_constant_path_has_smoothness_zero():
    m = path_metrics(frames_with_levels([0.5] * 4), [2] * 4, [0.99] * 4, 2, 2)
    assert m.smoothness == 0.0 and m.max_jump == 0.0 and m.sequence == (2,)


def test_smoothness_is_the_mean_and_max_jump_the_largest_change():
    # changes between neighbours: 0.1, 0.1, 0.6 (a sudden switch), 0.0
    m = path_metrics(frames_with_levels([0.0, 0.1, 0.2, 0.8, 0.8]), [0] * 5, [1.0] * 5)
    assert m.smoothness == pytest.approx(0.2)
    assert m.max_jump == pytest.approx(0.6)


def test_smoothness_counts_only_the_pixels_that_change():
    frames = torch.zeros(2, 1, 4, 4)
    frames[1, 0, 0, :] = 1.0  # 4 of 16 pixels flip from black to white
    assert path_metrics(frames, [0, 0], [1, 1]).smoothness == pytest.approx(0.25)


def test_requested_classes_differ_from_the_judged_ends():
    # the user asked for 3 -> 8, the model made the first frame a 5
    m = path_metrics(frames_with_levels([0, 0, 0]), [5, 8, 8], [0.9] * 3, start_class=3, end_class=8)
    assert not m.start_ok and m.end_ok
    assert m.intruders == (5,) and m.purity == pytest.approx(2 / 3)
    default = path_metrics(frames_with_levels([0, 0, 0]), [5, 8, 8], [0.9] * 3)
    assert (default.start_class, default.end_class) == (5, 8) and default.purity == 1.0


def test_to_dict_is_json_ready():
    import json

    m = path_metrics(frames_with_levels([0.0, 1.0]), np.array([1, 2]), np.array([0.5, 0.5]), 1, 2)
    d = json.loads(json.dumps(m.to_dict()))
    assert d["classes"] == [1, 2] and d["purity"] == 1.0 and d["passes_through_third"] is False


def test_mismatched_lengths_and_single_frames_are_errors():
    with pytest.raises(ConfigError, match="3 frames"):
        path_metrics(frames_with_levels([0, 0, 0]), [1, 1], [1, 1])
    with pytest.raises(ConfigError, match="at least 2"):
        path_metrics(frames_with_levels([0]), [1], [1])


def test_collapse_repeats():
    assert collapse_repeats([3, 3, 5, 8, 8]) == (3, 5, 8)
    assert collapse_repeats([]) == ()


class _FakeJudge(torch.nn.Module):
    """Class 1 for bright frames, 0 for dark ones, confidence = brightness distance from 0.5."""

    def predict(self, x):
        mean = x.flatten(1).mean(1)
        return (mean > 0.5).long(), 0.5 + (mean - 0.5).abs()

    @property
    def device(self):
        return torch.device("cpu")


def test_judge_frames_returns_numpy_classes_and_confidences():
    classes, confs = judge_frames(_FakeJudge(), frames_with_levels([0.0, 0.2, 0.9]))
    assert classes.dtype == np.int64 and classes.tolist() == [0, 0, 1]
    np.testing.assert_allclose(confs, [1.0, 0.8, 0.9], atol=1e-6)
    with pytest.raises(ConfigError, match="judge"):
        judge_frames(None, frames_with_levels([0.0, 1.0]))


def test_a_path_stuck_on_the_start_class_is_not_pure():
    m = path_metrics(frames_with_levels([0.3] * 4), [3, 3, 3, 3], [0.7] * 4, start_class=3, end_class=5)
    assert not m.passes_through_third and not m.pure
    assert m.purity == pytest.approx(3 / 4)  # one frame would have to be a 5
    assert m.start_ok and not m.end_ok and not m.ends_ok
    assert m.to_dict()["ends_ok"] is False and m.to_dict()["pure"] is False


# ------------------------------------------------------------------ verdicts
DIGITS = [str(d) for d in range(10)]


def verdict_words(classes, a, b):
    v = path_verdict(classes, a, b)
    return v.kind, v.headline(), v.short(), v.pure, direct_purity(classes, a, b)


def test_a_direct_path_is_the_only_pure_one():
    assert verdict_words([4, 4, 4, 9, 9, 9], 4, 9) == (DIRECT, "4 → 9 directly", "direct", True, 1.0)
    assert verdict_words([4, 9], 4, 9)[:4] == (DIRECT, "4 → 9 directly", "direct", True)
    assert verdict_words([3, 3, 3], 3, 3)[:2] == (DIRECT, "3 throughout")  # two images of one class


def test_a_third_class_in_the_middle_is_a_detour():
    kind, headline, short, pure, purity = verdict_words([4, 4, 8, 8, 9, 9], 4, 9)
    assert (kind, headline, short, pure) == (DETOUR, "4 → 9, passes through 8", "via 8", False)
    assert purity == pytest.approx(4 / 6)
    v = path_verdict([4, 8, 5, 2, 9], 4, 9)
    assert v.headline() == "4 → 9, passes through 8, 5 and 2" and v.short() == "via 8,5+"


def test_a_start_judged_wrong_is_never_pure():
    # every beta-ladder VAE on 4 -> 9: the 4 is reconstructed as a 9, the path is 9 throughout
    kind, headline, short, pure, purity = verdict_words([9] * 12, 4, 9)
    assert (kind, headline, short, pure) == (WRONG_ENDS, "never shows 4: 9 throughout", "no 4", False)
    assert purity == pytest.approx(11 / 12) and purity < 1.0
    assert verdict_words([8, 4, 4, 9], 4, 9)[:3] == (WRONG_ENDS, "starts as 8", "from 8")
    assert path_verdict([8, 8, 5, 5], 3, 5).headline() == "never shows 3: starts as 8"


def test_an_end_judged_wrong_is_never_pure():
    assert verdict_words([4, 4, 9, 8], 4, 9)[:4] == (WRONG_ENDS, "ends as 8", "to 8", False)
    kind, headline, short, _, purity = verdict_words([3, 3, 3, 8, 8, 8], 3, 5)
    assert (headline, short) == ("never reaches 5: ends as 8", "no 5") and purity == pytest.approx(3 / 6)


def test_both_ends_judged_wrong():
    assert verdict_words([8, 4, 9, 8], 4, 9)[:3] == (WRONG_ENDS, "starts as 8, ends as 8", "from 8 to 8")
    assert verdict_words([8, 8, 8], 3, 5)[1:3] == ("8 throughout: never shows 3 or 5", "all 8")
    assert verdict_words([8, 8, 8], 3, 5)[4] == 0.0
    v = path_verdict([9, 9, 8, 9], 4, 9)
    assert v.headline() == "never shows 4: starts as 9, passes through 8" and not v.pure


def test_a_path_that_never_leaves_its_start_class():
    kind, headline, short, pure, purity = verdict_words([4] * 5, 4, 9)
    assert (kind, headline, short, pure) == (WRONG_ENDS, "stays 4, never reaches 9", "no 9", False)
    assert purity == pytest.approx(4 / 5)


def test_a_path_back_and_forth_between_the_two_classes_wavers():
    assert verdict_words([4, 9, 4, 9], 4, 9)[:4] == (WAVERS, "4 → 9, back and forth", "wavers", False)


def test_empty_and_one_frame_paths():
    assert verdict_words([], 4, 9) == (EMPTY, "no frames", "empty", False, 0.0)
    assert verdict_words([4], 4, 9) == (WRONG_ENDS, "stays 4, never reaches 9", "no 9", False, 0.0)
    assert verdict_words([9], 4, 9)[:4] == (WRONG_ENDS, "never shows 4: 9 throughout", "no 4", False)
    assert verdict_words([4], 4, 4) == (DIRECT, "4 throughout", "direct", True, 1.0)
    with pytest.raises(ConfigError, match="at least 2 frames"):  # smoothness needs two frames
        path_metrics(frames_with_levels([0.5]), [4], [0.9], 4, 9)


@pytest.mark.parametrize("a, b", [(0, 1), (0, 0)])
def test_purity_is_one_exactly_when_the_path_is_direct(a, b):
    for n in range(1, 7):
        for classes in itertools.product((0, 1, 2), repeat=n):
            v = path_verdict(classes, a, b)
            purity = direct_purity(classes, a, b)
            assert 0.0 <= purity <= 1.0
            assert (purity == 1.0) == v.pure == (v.kind == DIRECT), classes
            if not (v.start_ok and v.end_ok):
                assert v.kind == WRONG_ENDS and purity < 1.0


def test_the_mean_over_pairs_never_averages_a_wrong_end_into_pure():
    frames = frames_with_levels([0.0] * 12)
    direct = path_metrics(frames, [4] * 6 + [9] * 6, [0.9] * 12, 4, 9)
    nine_throughout = path_metrics(frames, [9] * 12, [0.9] * 12, 4, 9)
    both = summarize([direct, nine_throughout])
    assert (both.direct, both.pairs) == (1, 2) and not both.pure
    assert both.mean_purity < 1.0 and both.text() == "direct 1/2, mean purity 96%"
    assert summarize([direct, direct]).pure and summarize([direct]).mean_purity == 1.0
    assert not summarize([]).pure


def test_the_report_gives_every_display_the_same_words():
    m = path_metrics(frames_with_levels([0.0, 0.1, 0.2, 0.3]), [9, 9, 9, 9], [0.9] * 4, 4, 9)
    r = report(m, DIGITS)
    assert (r.headline, r.short, r.purity, r.ends, r.third) == (
        "never shows 4: 9 throughout", "no 4", "75%", "9, 9 (asked 4, 9)", "none")
    assert r.lines() == [("never shows 4: 9 throughout", True), ("purity 75%", False),
                         ("ends 9, 9 (asked 4, 9)", True), ("third: none", False), ("smoothness 0.1000", False)]
    names = ["zero", "one", "two"]
    d = report(path_metrics(frames_with_levels([0, 0, 0]), [0, 2, 1], [1.0] * 3, 0, 1), names, " to ")
    assert d.headline == "zero to one, passes through two" and d.sequence == "zero to two to one"
    assert path_metrics(frames_with_levels([0, 0]), [0, 1], [1.0] * 2, 0, 1).to_dict(names)["headline"] == \
        "zero → one directly"
