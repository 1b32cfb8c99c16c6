"""Problem 4 analysis (:mod:`hw2.experiments.p4_analysis`): every verdict a P4 page prints."""

import math

import numpy as np
import pytest

from hw2 import schedules
from hw2.experiments import p4_analysis as analysis


# ----------------------------------------------------------------------------------- 4.2
def test_lr_agreement_uses_the_grid_spacing():
    sweep = {"lr_min": 1e-4, "lr_max": 1e-2, "sweep": {"learning_rates": np.logspace(-9, 1, 10)}}
    out = analysis.lr_agreement(sweep, {"lr_min": 1e-4 * 10**1.0, "lr_max": 1e-2 * 10**1.5})
    assert out["grid_spacing_decades"] == pytest.approx(10 / 9)
    assert out["agree"] == {"lr_min": True, "lr_max": False}
    assert out["ratio"]["lr_max"] == pytest.approx(10**1.5)
    text = analysis.agreement_sentence(out)
    assert "lr_min: within one grid step" in text and "lr_max: 31.6 times apart" in text


def test_batch_bound_agreement_is_one_doubling():
    sweep = {"b_min": 256, "b_max": 1024, "sweep": {"batch_sizes": [64, 128, 256, 512, 1024]}}
    out = analysis.batch_bound_agreement(sweep, {"bounds": {"b_min": 512, "b_max": 4096}})
    assert out["grid_factor"] == pytest.approx(2.0)
    assert out["agree"] == {"b_min": True, "b_max": False}
    assert out["ratio"] == {"b_min": 2.0, "b_max": 4.0}
    assert analysis.agreement_sentence(out).startswith("b_min: within one grid step")


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


# ----------------------------------------------------------------------------------- 4.3
def test_reference_gap_names_what_differs():
    out = analysis.reference_gap(0.80, {"train_images": 54000, "width": 1.0, "published_network": True}, 48)
    assert out["gap_points"] == pytest.approx(14.0) and out["causes"] == []
    reduced = analysis.reference_gap(0.85, {"train_images": 8192, "width": 0.125, "published_network": False}, 8)
    assert len(reduced["causes"]) == 3


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


# ----------------------------------------------------------------------------------- 4.6
def test_cbs_trajectory_of_the_dual_policy():
    policy = schedules.CyclicalBatchSize(64, 1024, step_size=2, mode="exp_range", gamma=0.1 ** (1 / 8))
    sizes = policy.trajectory(8)
    run = {"b_min": 64, "b_max": 1024, "gamma": policy.gamma, "planned_batch_sizes": sizes,
           "history": {"batch_size": sizes}}
    out = analysis.cbs_trajectory(run, step_epochs=2)
    assert out["direction"] == "increase" and out["minima_increase"] is True
    assert out["decay_per_cycle"] == pytest.approx(0.1 ** 0.5)
    assert out["as_planned"] and out["first_cycle_visits"] == {"b_min": True, "b_max": True}
    assert len(out["cycles"]) == 2
    assert out["excursion_per_cycle"][0] == pytest.approx(1.0)
    assert out["excursion_per_cycle"][1] < 1.0  # exp_range: the second cycle does not reach b_min
    assert out["geometric"] is False  # 1/B, not log B, moves linearly


def test_cbs_trajectory_detects_a_geometric_increase_and_a_mismatch():
    run = {"b_min": 64, "b_max": 512, "planned_batch_sizes": [64, 128, 256, 512],
           "history": {"batch_size": [64, 128, 256, 256]}}
    out = analysis.cbs_trajectory(run, step_epochs=2)
    assert not out["as_planned"]
    assert out["direction"] == "none" and out["minima_increase"] is None  # no gamma: no decay, one cycle
    assert out["final_batch_size"] == 256 and out["final_excursion"] == pytest.approx(1 / 7)
    geometric = dict(run, history={"batch_size": [64, 128, 256, 512]})
    assert analysis.cbs_trajectory(geometric, step_epochs=2)["geometric"] is True
    assert analysis.cbs_trajectory(dict(run, history={"batch_size": [512, 64]}), step_epochs=1)["geometric"] is None


# ----------------------------------------------------------------------------------- 4.7
def test_lr_budget_sums_the_rates_of_all_updates():
    const = {"lr": 0.1, "history": {"steps": np.array([10, 10, 5])}}
    assert analysis.lr_budget(const) == pytest.approx(2.5)
    clr = {"lr_trace": np.array([0.1, 0.3]), "iterations_per_epoch": 4, "history": {"steps": np.array([4, 4])}}
    assert analysis.lr_budget(clr) == pytest.approx(0.2 * 8)


def test_compare_policies_margin_and_pairs():
    runs = {"CLR": {0: {"test_accuracy": 0.90, "best_val_accuracy": 0.91},
                    1: {"test_accuracy": 0.92, "best_val_accuracy": 0.92}},
            "CBS": {0: {"test_accuracy": 0.89, "best_val_accuracy": 0.90},
                    1: {"test_accuracy": 0.90, "best_val_accuracy": 0.90}},
            "constant LR": {0: {"test_accuracy": 0.85, "best_val_accuracy": 0.86},
                            1: {"test_accuracy": 0.86, "best_val_accuracy": 0.86}}}
    out = analysis.compare_policies(runs)
    assert out["ranking"] == ["CLR", "CBS", "constant LR"]
    assert out["margin"] == pytest.approx(0.91 - 0.895)
    assert out["pairs"]["CLR - constant LR"]["mean_diff"] == pytest.approx(0.055)
    # the margin is judged against the spread of the two policies it separates, not of a third one
    sd = lambda a, b: np.std([a, b], ddof=1)
    assert out["seed_sd"] == pytest.approx(np.sqrt((sd(0.90, 0.92) ** 2 + sd(0.89, 0.90) ** 2) / 2))
    assert out["pooled_sd"] == pytest.approx(np.sqrt((sd(0.90, 0.92) ** 2 + sd(0.89, 0.90) ** 2
                                                      + sd(0.85, 0.86) ** 2) / 3))
    runs["constant LR"][1]["test_accuracy"] = 0.99 - 0.14  # a noisy third policy leaves the verdict alone
    runs["constant LR"][0]["test_accuracy"] = 0.70
    assert analysis.compare_policies(runs)["seed_sd"] == pytest.approx(out["seed_sd"])


def test_temperature_comparison_flags_a_colder_cbs():
    runs = [{"policy": "CLR", "seed": s, "lr_over_b": [1e-3 / 64, 1e-1 / 64]} for s in (0, 1)]
    runs += [{"policy": "CBS", "seed": 0, "lr_over_b": [1e-3 / 64, 1e-3 / 512]},
             {"policy": "matched CBS", "seed": 0, "lr_over_b": [1e-1 / 64, 1e-1 / 6400]}]
    table = {"CLR": {"test_mean": 0.90}, "CBS": {"test_mean": 0.70}, "matched CBS": {"test_mean": 0.86}}
    out = analysis.temperature_comparison(runs, {"table": table, "seed_sd": 0.01})
    assert out["cbs_hottest_over_clr_coldest"] == pytest.approx(1.0)
    assert out["compares_temperatures"] is True
    assert out["matched"]["within_spread"] is False
    np.testing.assert_allclose(out["matched"]["temperature_ratio"], [100.0, 0.01])
    one_seed = analysis.temperature_comparison(runs, {"table": table, "seed_sd": math.nan})
    assert one_seed["matched"]["within_spread"] is None
