"""Path metrics on hand-made paths: known classes, known pixel changes, known answers."""

import numpy as np
import pytest
import torch

from latentlab.errors import ConfigError
from latentlab.latent.path_metrics import collapse_repeats, judge_frames, path_metrics


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


def test_a_path_stuck_on_the_start_class_is_pure_but_does_not_arrive():
    m = path_metrics(frames_with_levels([0.3] * 4), [3, 3, 3, 3], [0.7] * 4, start_class=3, end_class=5)
    assert m.purity == 1.0 and not m.passes_through_third
    assert m.start_ok and not m.end_ok and not m.ends_ok
    assert m.to_dict()["ends_ok"] is False
