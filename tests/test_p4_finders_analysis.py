"""Problem 4 finder readings (:mod:`hw2.experiments.p4_finders_analysis`): every verdict the 4.2, 4.4
and 4.5 pages print, made when the page renders from what the finders stored."""

import math

import numpy as np
import pytest

from hw2.experiments import p4_finders_analysis as analysis


# ----------------------------------------------------------------------------------- 4.2
def test_lr_agreement_tells_the_same_from_within_one_step():
    sweep = {"lr_min": 1e-4, "lr_max": 1e-2, "sweep": {"learning_rates": np.logspace(-9, 1, 10)}}
    out = analysis.lr_agreement(sweep, {"lr_min": 1e-4 * 10**1.0, "lr_max": 1e-2 * 10**1.5})
    assert out["grid_spacing_decades"] == pytest.approx(10 / 9)
    assert out["within_step"] == {"lr_min": True, "lr_max": False}
    assert out["same"] == {"lr_min": False, "lr_max": False}  # 10 times apart is not the same, even within a step
    assert out["ratio"]["lr_max"] == pytest.approx(10**1.5) and "agree" not in out
    assert analysis.agreement_sentence(out) == (
        "lr_min 10 times apart, less than one sweep step (x12.9), so the sweep cannot tell them apart; "
        "lr_max 31.6 times apart, more than one sweep step (x12.9)")
    close = analysis.lr_agreement(sweep, {"lr_min": 1.2e-4, "lr_max": 1e-2})
    assert close["same"] == close["within_step"] == {"lr_min": True, "lr_max": True}
    assert analysis.agreement_sentence(close) == ("lr_min the same (within a factor 1.2); "
                                                  "lr_max the same")  # equal: no factor to state


def test_batch_bound_agreement_reads_the_noise_finders_bounds_on_the_doubling_grid():
    sweep = {"b_min": 256, "b_max": 1024, "sweep": {"batch_sizes": [64, 128, 256, 512, 1024]}}
    noise = {"b_min": 448, "b_max": 4096, "clipped": False, "reliable": True, "note": ""}  # noise_readings' output
    out = analysis.batch_bound_agreement(sweep, noise)
    assert out["grid_factor"] == pytest.approx(2.0) and out["bounds"] == ("b_min", "b_max")
    assert out["ratio"] == {"b_min": 1.75, "b_max": 4.0}
    assert out["within_step"] == {"b_min": True, "b_max": False} and out["same"] == {"b_min": False, "b_max": False}
    assert analysis.agreement_sentence(out) == (
        "b_min 1.75 times apart, less than one sweep step (x2), so the sweep cannot tell them apart; "
        "b_max 4 times apart, more than one sweep step (x2)")
    assert analysis.batch_bound_agreement(sweep, dict(noise, b_min=362))["same"]["b_min"] is True  # x1.41


def test_same_bound_factor_is_read_when_the_verdict_is_made(monkeypatch):
    sweep = {"b_min": 256, "b_max": 1024, "sweep": {"batch_sizes": [64, 128, 256, 512, 1024]}}
    noise = {"b_min": 384, "b_max": 1024}  # x1.5: the same at the default factor (inclusive)
    assert analysis.SAME_BOUND_FACTOR == 1.5
    assert analysis.batch_bound_agreement(sweep, noise)["same"] == {"b_min": True, "b_max": True}
    monkeypatch.setattr(analysis, "SAME_BOUND_FACTOR", 1.2)
    assert analysis.batch_bound_agreement(sweep, noise)["same"] == {"b_min": False, "b_max": True}


def test_sweep_updates_stop_at_the_diverging_epoch():
    data = {"setup": {"train_images": 8192}, "sweep": {"batch_size": 64, "epochs": 2,
                                                       "diverged": [False, False, True], "diverged_epoch": [-1, -1, 0]}}
    out = analysis.sweep_updates(data)
    assert out["per_run"].tolist() == [256, 256, 128]
    assert out["total"] == 640
    assert analysis.range_test_updates({"kept_steps": np.arange(0, 384, 2).tolist() + [384], "test": {}}) == 385


def test_plateau_lines_name_every_rule():
    lines = analysis.plateau_lines({"default": {"value": 0.01, "on_plateau": False, "note": ""},
                                    "valley": {"value": 1.7e-7, "on_plateau": True, "note": "flat there"}})
    assert lines == ["default 0.01: not on a plateau", "valley 1.7e-07: ON A PLATEAU (flat there)"]


@pytest.mark.parametrize("last, diverged, went_past", [(3.0, [False, True], True), (0.5, [False, True], False),
                                                       (3.0, [False, False], None)])
def test_range_test_overshoot(last, diverged, went_past):
    sweep = {"sweep": {"learning_rates": [0.1, 1.0], "diverged": diverged}}
    out = analysis.range_test_overshoot(sweep, {"test": {"lrs": [1e-3, last], "stop_reason": "exploded"}})
    assert out["went_past"] is went_past
    sentence = analysis.overshoot_sentence(out)
    assert {True: "times the smallest", False: "below the smallest", None: "cannot be read"}[went_past] in sentence



# ----------------------------------------------------------------------------------- 4.4
def test_shape_similarity_normalises_by_the_batch_curve_span():
    lr = {"sweep": {"learning_rates": [1e-4, 1e-3, 1e-2, 1e-1], "diverged": [False, False, False, True],
                    "batch_size": 64},
          "final_losses": [2.3, 1.5, 0.7, np.inf]}
    # lr 1e-2 at batch 640 is lr 1e-3 at batch 64: loss 1.5 there means 'on the curve'
    bs = {"lr": 1e-2, "sweep": {"batch_sizes": [64, 640, 6400, 64000], "diverged": [False] * 4},
          "final_losses": [0.7, 1.5, 2.5, 2.4]}
    out = analysis.shape_similarity(lr, bs)
    np.testing.assert_allclose(out["equivalent_lr"], [1e-2, 1e-3, 1e-4, 1e-5])
    np.testing.assert_allclose(out["deviation"][:3], [0.0, 0.0, 0.2], atol=1e-12)
    assert np.isnan(out["deviation"][3])  # outside the swept LR range: not compared
    assert out["batch_curve_span"] == pytest.approx(1.8)
    assert out["max_deviation_fraction"] == pytest.approx(0.2 / 1.8)
    assert out["minimum_at"] == {"lr": "last", "batch": "first"}


def test_below_untrained_uses_the_noise_floor():
    lr = {"reference_loss": 2.30, "sweep": {"losses": [[2.2, 2.4], [1.0, 0.5]]}}  # noise sd 0.141
    bs = {"sweep": {"batch_sizes": [64, 128], "diverged": [False, False]}, "final_losses": [2.0, 2.2]}
    out = analysis.below_untrained(lr, bs)
    assert out["threshold"] == pytest.approx(3 * np.std([2.2, 2.4], ddof=1))
    assert out["measurable"] is False  # 0.30 below, but the floor is 0.42
    single = analysis.below_untrained({"reference_loss": 2.30, "sweep": {"losses": [[2.3]]}}, bs)
    assert math.isnan(single["noise_sd"]) and single["threshold"] == pytest.approx(0.023)
    assert single["measurable"] is True
    diverged = dict(bs, sweep={"batch_sizes": [64, 128], "diverged": [True, False]})
    assert analysis.below_untrained(lr, diverged)["batch_size"] == 128


# ----------------------------------------------------------------------------------- 4.5
def test_noise_scale_summary_trend():
    out = analysis.noise_scale_summary({"probe": {"epoch": [0, 1], "b_simple": [400.0, 100.0]}, "updates": 10})
    assert out["trend"] == "fell" and out["factor"] == pytest.approx(0.25)
    one = analysis.noise_scale_summary({"probe": {"epoch": [0], "b_simple": [400.0]}, "updates": 5})
    assert one["trend"] is None and one["smallest"] == one["largest"] == 400.0


