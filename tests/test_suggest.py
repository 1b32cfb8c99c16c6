"""The suggestion rules (pure numpy): default fractions of the drop, fastai's rules, valley, plateaus."""

import numpy as np
import pytest

from hw2.suggest import (
    BATCH_RULES,
    LR_RULES,
    PLATEAU_RTOL,
    Suggestion,
    suggest_batch_size,
    suggest_lr,
    valley_index,
)


def synthetic_curve():
    """A range-test-like curve: flat, a smooth descent, a minimum, then divergence."""
    lrs = np.logspace(-6, 1, 71)
    t = np.log10(lrs)
    losses = 2.3 - 2.0 / (1 + np.exp(-3 * (t + 3))) + 0.8 * np.maximum(0, t + 0.5) ** 2
    losses[t > 0.6] = np.nan
    return lrs, losses


# ---------------------------------------------------------------------------- LR suggestions


def test_default_lr_rule_reads_fractions_of_the_drop():
    lrs, losses = synthetic_curve()
    s = suggest_lr(lrs, losses)
    finite = losses[: int(np.argmax(np.isnan(losses)))]
    i_min = int(np.argmin(finite))
    reference = np.median(finite[: len(finite) // 20])
    assert s.evidence["reference_loss"] == reference
    drop = (reference - finite) / (reference - finite[i_min])
    i_lo, i_hi = int(np.argmax(drop >= 0.1)), int(np.argmax(drop >= 0.9))
    assert (s.low_index, s.high_index, s.index) == (i_lo, i_hi, i_hi)
    assert s.lr_min == lrs[i_lo] and s.lr_max == lrs[i_hi] == s.value and s.reliable
    assert s.lr_min < s.lr_max < lrs[i_min]
    assert s.evidence["min_index"] == i_min and s.evidence["curve_end"] == len(finite)
    assert s.evidence["slope_high"] < 0  # still descending at lr_max
    assert not s.on_plateau
    assert s.to_dict()["high"] == s.lr_max and s.to_dict()["on_plateau"] is False


def test_default_lr_rule_on_a_coarse_grid_and_a_flat_curve():
    lrs = np.logspace(-4, 0, 5)
    s = suggest_lr(lrs, [2.3, 2.3, 0.5, 0.4, np.nan])
    assert s.high_index == 2 and s.low_index == 1  # the fall happened between two grid points
    flat = suggest_lr(lrs, [2.3, 2.3, 2.3, 2.3, 2.3])
    assert not flat.reliable and "never fell" in flat.evidence["reason"]
    assert flat.on_plateau and "plateau" in flat.note


def test_fastai_rules():
    lrs, losses = synthetic_curve()
    steep = suggest_lr(lrs, losses, "steep")
    finite = losses[: int(np.argmax(np.isnan(losses)))]
    slopes = np.diff(finite) / np.diff(np.log(lrs[: len(finite)]))
    assert steep.index == int(np.argmin(slopes)) and steep.value == lrs[steep.index]
    assert not steep.on_plateau
    valley = suggest_lr(lrs, losses, "valley")
    i_min = int(np.argmin(finite))
    assert 0 < valley.index < i_min and lrs[valley.index] == valley.value
    assert steep.low is None and valley.high is None
    minimum = suggest_lr(lrs, losses, "minimum")
    assert minimum.value == pytest.approx(lrs[i_min] / 10)
    assert minimum.evidence["plateau"]["index"] == int(np.argmin(np.abs(np.log(lrs / minimum.value))))
    trimmed = suggest_lr(lrs, losses, "steep", skip_start=40)
    assert trimmed.index >= 40  # indices refer to the curve as passed in


def test_valley_index_off_by_one_fixed():
    # fastai's start = end - length is one point early: both gave -1, the largest learning rate
    assert valley_index([2.3, 2.0]) == 0
    assert valley_index([2.0, 1.0, 3.0, 4.0, 5.0, 6.0]) == 0
    assert suggest_lr([1e-3, 1e-2], [2.3, 2.0], "valley").value == 1e-3
    six = [2.0, 1.0, 3.0, 4.0, 5.0, 6.0]
    assert suggest_lr(np.logspace(-5, 0, 6), six, "valley").index == 0
    # a run of L points starting at s: s + int(L/3) + int(L/6), i.e. about halfway down it
    assert valley_index([9.0, 6.0, 5.0, 4.0, 3.0, 2.0, 1.0, 7.0]) == 3
    assert valley_index([0.5, 0.6, 3.0, 2.0, 1.0, 0.9, 4.0]) == 3
    rng = np.random.default_rng(0)
    for n in range(1, 30):
        assert 0 <= valley_index(rng.normal(size=n)) < n


def test_rules_are_a_registry(monkeypatch):
    assert set(LR_RULES) == {"default", "valley", "steep", "minimum"}
    assert set(BATCH_RULES) == {"default"}

    def second_point(lrs, losses, *, reference, fractions):
        return Suggestion("any", float(lrs[1]), 1, evidence={"seen": len(lrs)})

    monkeypatch.setitem(LR_RULES, "second", second_point)
    lrs = np.logspace(-5, 0, 6)
    s = suggest_lr(lrs, [2.3, 2.2, 2.0, 1.0, 0.5, np.nan], "second", skip_start=2)
    # the rule saw the cut curve (points 2..4); its index is shifted back onto the full curve
    assert (s.rule, s.index, s.value, s.evidence["seen"]) == ("second", 3, lrs[3], 3)


def test_plateau_flag_is_a_stated_relative_tolerance(monkeypatch):
    monkeypatch.setitem(LR_RULES, "third", lambda lrs, losses, **_: Suggestion("third", float(lrs[2]), 2))
    lrs = np.logspace(-5, -1, 5)  # one decade apart: the window is the two neighbours
    for spread, flat in ((0.9 * PLATEAU_RTOL, True), (1.1 * PLATEAU_RTOL, False)):
        s = suggest_lr(lrs, [3.0, 2.0, 2.0, 2.0 * (1 + spread), 0.5], "third")
        assert s.on_plateau is flat, spread
        assert s.evidence["plateau"]["window"] == [1, 3]
        assert s.evidence["plateau"]["relative_spread"] == pytest.approx(spread)
        assert ("a plateau" in s.note) is flat
    # on a dense curve the window is half a decade either side: 5 points at 0.1 decades
    dense = np.logspace(-3, 0, 31)
    monkeypatch.setitem(LR_RULES, "middle", lambda lrs, losses, **_: Suggestion("middle", float(lrs[15]), 15))
    losses = np.full(31, 2.0)
    losses[21] = 1.0  # 0.6 decades away: outside
    assert suggest_lr(dense, losses, "middle").on_plateau
    losses[20] = 1.5  # 0.5 decades away: inside
    assert not suggest_lr(dense, losses, "middle").on_plateau


def test_valley_on_a_slow_creep_is_flagged():
    # a smoothed range test creeping down before the real fall: valley lands on the creep
    lrs = np.logspace(-7, 0, 8)
    s = suggest_lr(lrs, [2.300, 2.299, 2.298, 2.297, 2.296, 1.2, 0.9, 3.0], "valley")
    assert s.index == 3 and s.on_plateau
    assert s.note.startswith("from lr=1e-05 to 0.001 the loss varies by 0.087 % of its value at lr=0.0001")
    steep = suggest_lr(lrs, [2.300, 2.299, 2.298, 2.297, 2.296, 1.2, 0.9, 3.0], "steep")
    assert steep.index == 4 and not steep.on_plateau


@pytest.mark.parametrize("args,kwargs,match", [
    (([1e-3, 1e-2], [1.0, 0.5]), {"rule": "best"}, "rule"),
    (([1e-2, 1e-3], [1.0, 0.5]), {}, "increasing"),
    (([1e-3, 1e-2], [1.0]), {}, "same length"),
    (([1e-3, 1e-2], [1.0, 0.5]), {"fractions": (0.9, 0.1)}, "fractions"),
])
def test_suggest_lr_rejects_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        suggest_lr(*args, **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"skip_end": 12}, r"Argument `skip_end` must be an integer in \[0, 8\]. Received: skip_end=12"),
    ({"skip_start": -1}, r"Argument `skip_start` must be an integer in \[0, 8\]. Received: skip_start=-1"),
    ({"skip_start": 1.5}, r"Argument `skip_start` must be an integer in \[0, 8\]. Received: skip_start=1.5"),
    ({"skip_end": True}, r"Argument `skip_end` must be an integer in \[0, 8\]. Received: skip_end=True"),
    ({"skip_start": 5, "skip_end": 4}, r"Argument `skip_end` must be an integer in \[0, 3\]. Received: skip_end=4"),
])
def test_suggest_lr_skips_must_leave_the_two_points_a_rule_needs(kwargs, message):
    # a negative skip used to count from the end: skip_end=12 on 10 points read 8 of them as "reliable"
    lrs, losses = np.logspace(-5, 0, 10), np.linspace(2.3, 0.5, 10)
    with pytest.raises(ValueError, match=f"^{message}$"):
        suggest_lr(lrs, losses, **kwargs)
    assert suggest_lr(lrs, losses, "steep", skip_start=4, skip_end=4).index in (4, 5)


# --------------------------------------------------------------------------- batch-size rule


def test_batch_rule_reads_from_the_largest_batch_down():
    sizes = [32, 64, 128, 256, 512, 1024]
    s = suggest_batch_size(sizes, [np.nan, 0.40, 0.42, 0.55, 1.20, 2.0], reference=2.3)
    assert (s.b_min, s.b_max, s.low_index, s.high_index) == (256, 1024, 3, 5)
    assert s.evidence["curve_start"] == 1  # batch sizes up to the diverged one are excluded
    assert s.evidence["min_index"] == 1 and not s.on_plateau
    same = suggest_batch_size([64, 128], [0.4, 2.2], reference=2.3)
    assert (same.b_min, same.b_max) == (64, 128)
    flat = suggest_batch_size([64, 128, 256], [2.3, 2.3, 2.3], reference=2.3)
    assert not flat.reliable and flat.on_plateau
    gone = suggest_batch_size([64, 128], [np.nan, np.inf])
    assert not gone.reliable and gone.evidence["reason"] == "every batch size diverged"
    with pytest.raises(ValueError, match=r"^Argument `rule` must be one of \('default',\). Received: rule='valley'$"):
        suggest_batch_size([64, 128], [1.0, 2.0], rule="valley")
    with pytest.raises(ValueError, match=r"^Argument `rule` must be one of \('default', .*'valley'.*\). Received: "):
        suggest_lr([1e-3, 1e-2], [1.0, 2.0], rule="v")


def test_plot_suggestion_accepts_suggestions_and_their_dicts():
    import matplotlib

    matplotlib.use("Agg")
    from hw2 import plotting

    lrs, losses = synthetic_curve()
    fig, ax = plotting.new_figure()
    for rule in ("default", "valley"):
        s = suggest_lr(lrs, losses, rule)
        plotting.plot_suggestion(ax, s, lrs, losses)
        plotting.plot_suggestion(ax, s.to_dict(), lrs, losses)
    labels = ax.get_legend_handles_labels()[1]
    assert labels[0].startswith("default: [") and labels[2].startswith("valley: ")
    matplotlib.pyplot.close(fig)


def test_to_dict_keeps_the_former_conversion():
    """`Suggestion.to_dict` through `store.jsonable(nonfinite="keep")` gives what its own copy gave."""
    s = Suggestion(
        "default", np.float64(1e-3), np.int64(4), low=np.float64(1e-4), high=0.01, low_index=2,
        high_index=np.int64(5), reliable=np.bool_(True), note="n",
        evidence={"drop": np.array([0.0, 0.5, np.nan]), "ref": np.float32(2.5), "pair": (np.int32(1), 2.0),
                  "inf": float("inf"), "grid": np.array([[1, 2], [3, 4]]), 7: "seven"})
    d = s.to_dict()
    # Recorded from the former `suggest._jsonable` (nan and inf stay floats: the store encodes them).
    expected = {"rule": "default", "value": 0.001, "index": 4, "low": 0.0001, "high": 0.01, "low_index": 2,
                "high_index": 5, "reliable": True, "on_plateau": False, "note": "n",
                "evidence": {"drop": [0.0, 0.5, d["evidence"]["drop"][2]], "ref": 2.5, "pair": [1, 2.0],
                             "inf": float("inf"), "grid": [[1, 2], [3, 4]], "7": "seven"}}
    assert d == expected and np.isnan(d["evidence"]["drop"][2])
    assert [type(v) for v in d.values()] == [str, float, int, float, float, int, int, bool, bool, str, dict]
    assert type(d["evidence"]["ref"]) is float and type(d["evidence"]["pair"][0]) is int
