"""Problem 4 policy readings (:mod:`hw2.experiments.p4_policies_analysis`): every verdict the 4.3, 4.6
and 4.7 pages print, made when the page renders from what training stored (and the statistics 4.7
uses); the tiny P4 chain every page renders from (finder readings included), and ``policy_runs``."""

import dataclasses
import math
import os

import numpy as np
import p4_tiny
import pytest

from hw2 import experiments, profiles, schedules, stats
from hw2.experiments import p4_finders, p4_policies
from hw2.experiments import p4_finders_analysis as finders
from hw2.experiments import p4_policies_analysis as analysis


# ----------------------------------------------------------------------------------- 4.3
def test_reference_gap_names_what_differs():
    out = analysis.reference_gap(0.80, {"train_images": 54000, "width": 1.0, "published_network": True}, 48)
    assert out["below_points"] == pytest.approx(14.0) and "gap_points" not in out
    # even the full specification trains on 54000 images: 6000 of pyimagesearch's 60000 are held out here
    assert out["causes"] == ["54000 instead of 60000 training images (6000 held out for validation)"]
    reduced = analysis.reference_gap(0.85, {"train_images": 8192, "width": 0.125, "published_network": False}, 8)
    assert len(reduced["causes"]) == 3 and reduced["causes"][2] == "8 instead of the full specification's 48 epochs"
    assert analysis.gap_sentence(0.80, out) == "80.0 % is 14.0 points below pyimagesearch's 94 %"
    above = analysis.reference_gap(0.955, {"train_images": 60000, "published_network": True}, 48)
    assert above["below_points"] == pytest.approx(-1.5) and above["causes"] == []
    assert analysis.gap_sentence(0.955, above) == "95.5 % is 1.5 points above pyimagesearch's 94 %"


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


def _run(test, val, test_images=10000):
    return {"test_accuracy": test, "test_images": test_images, "history": {"val_accuracy": np.asarray(val, float)}}


def test_compare_policies_table_ranking_and_pairs():
    runs = {"CLR": {0: _run(0.90, [0.85, 0.91]), 1: _run(0.92, [0.92, 0.90])},
            "CBS": {0: _run(0.89, [0.90]), 1: _run(0.90, [0.88, 0.90])},
            "constant LR": {0: _run(0.85, [0.86]), 1: _run(0.86, [0.80, 0.86])}}
    out = analysis.compare_policies(runs)
    assert out["ranking"] == ["CLR", "CBS", "constant LR"] and out["seeds"] == [0, 1]
    assert (out["winner"], out["runner_up"]) == ("CLR", "CBS")
    assert out["margin"] == pytest.approx(0.91 - 0.895)
    row = out["table"]["CLR"]
    assert row["best_val_accuracy"].tolist() == [0.91, 0.92] and row["val_mean"] == pytest.approx(0.915)
    assert row["test_ci95"] == pytest.approx(stats.t_interval([0.90, 0.92])[1:])  # Student t over the seeds
    assert row["val_ci95"] == pytest.approx(stats.t_interval([0.91, 0.92])[1:])
    assert row["test_sd"] == pytest.approx(np.std([0.90, 0.92], ddof=1))
    # every pair once, keyed (better, worse) by the ranking, a paired t difference of test accuracies
    assert set(out["pairs"]) == {("CLR", "CBS"), ("CLR", "constant LR"), ("CBS", "constant LR")}
    assert out["pairs"][("CLR", "constant LR")]["mean_diff"] == pytest.approx(0.055)
    assert all(d["interval"] == "t" and d["n"] == 2 for d in out["pairs"].values())
    assert out["lead"] == out["pairs"][("CLR", "CBS")] and out["decided"] is out["lead"]["significant"]
    # the lead is judged on the two policies it separates: a noisy third one leaves it alone
    runs["constant LR"] = {0: _run(0.70, [0.70]), 1: _run(0.85, [0.86])}
    noisy = analysis.compare_policies(runs)
    assert noisy["lead"] == out["lead"] and noisy["decided"] == out["decided"] and noisy["margin"] == out["margin"]


def test_the_winner_is_the_best_mean_test_accuracy_even_with_the_worse_validation_accuracy():
    runs = {"A": {0: _run(0.90, [0.80, 0.85]), 1: _run(0.91, [0.83]), 2: _run(0.92, [0.84])},
            "B": {0: _run(0.88, [0.95, 0.97]), 1: _run(0.89, [0.96]), 2: _run(0.895, [0.97])}}
    out = analysis.compare_policies(runs)
    assert out["table"]["B"]["val_mean"] > out["table"]["A"]["val_mean"]  # B looks better on validation
    assert out["winner"] == "A" and out["runner_up"] == "B" and out["ranking"] == ["A", "B"]
    assert out["lead"]["mean_diff"] == pytest.approx(np.mean([0.02, 0.02, 0.025]))
    assert out["decided"] is True  # three consistent pairs: the t interval excludes 0


def test_two_seeds_whose_t_interval_spans_zero_do_not_decide_though_the_normal_one_would():
    # differences 0.01 and 0.03: mean 0.02, standard error 0.01; normal 0.02 +- 0.0196 excludes 0,
    # t (1 degree of freedom) 0.02 +- 0.127 does not
    runs = {"CLR": {0: _run(0.91, [0.9]), 1: _run(0.93, [0.9])}, "CBS": {0: _run(0.90, [0.9]), 1: _run(0.90, [0.9])}}
    normal = stats.paired_difference([0.91, 0.93], [0.90, 0.90])
    assert normal["significant"] and normal["ci_low"] > 0
    out = analysis.compare_policies(runs)
    assert out["winner"] == "CLR" and out["decided"] is False
    lead = out["lead"]
    assert lead["ci_low"] < 0 < lead["ci_high"]
    assert lead["ci_high"] - lead["mean_diff"] == pytest.approx(12.706 * 0.01, rel=1e-6)
    sentence = analysis.difference_sentence("CLR - CBS", lead)
    assert sentence == "CLR - CBS: +2.00 points (95 % t interval -10.71 to +14.71, 2 seeds): not decided by 2 seeds"
    one = analysis.compare_policies({p: {0: r[0]} for p, r in runs.items()})
    assert one["decided"] is False and one["lead"]["n"] == 1
    assert analysis.difference_sentence("CLR - CBS", one["lead"]) == (
        "CLR - CBS: +1.00 points (1 seed: no interval, not decided)")
    decided = dict(lead, ci_low=0.005, ci_high=0.035, significant=True)
    assert analysis.difference_sentence("CLR - CBS", decided).endswith(": decided (the interval excludes 0)")


def test_paired_test_difference_uses_the_common_seeds_only():
    runs = {"A": {0: _run(0.9, [0.9]), 1: _run(0.92, [0.9]), 2: _run(0.5, [0.9])},
            "B": {0: _run(0.88, [0.9]), 1: _run(0.91, [0.9])}}
    out = analysis.paired_test_difference(runs, "A", "B")
    assert out["n"] == 2 and out["mean_diff"] == pytest.approx(0.015) and out["interval"] == "t"


# ---------------------------------------------------------------------- stats used by 4.7
def test_t_interval_uses_students_quantiles_for_a_few_seeds():
    mean, low, high = stats.t_interval([0.80, 0.82])  # n = 2: t(1) = 12.706
    assert mean == pytest.approx(0.81)
    assert high - mean == pytest.approx(12.706 * np.std([0.80, 0.82], ddof=1) / np.sqrt(2))
    assert mean - low == pytest.approx(high - mean)
    mean, low, high = stats.t_interval([0.80, 0.82, 0.84])  # n = 3: t(2) = 4.303
    assert (low, high) == pytest.approx((0.82 - 4.303 * 0.02 / np.sqrt(3), 0.82 + 4.303 * 0.02 / np.sqrt(3)))
    assert stats.t_quantile_975(1) == 12.706 and stats.t_quantile_975(2) == 4.303
    single = stats.t_interval([0.8])
    assert single[0] == 0.8 and math.isnan(single[1]) and math.isnan(single[2])


def test_paired_difference_t_and_the_unchanged_normal_path():
    a, b = [0.91, 0.93, 0.92], [0.90, 0.90, 0.91]
    t = stats.paired_difference(a, b, interval="t")
    diff = np.subtract(a, b)
    half = 4.303 * diff.std(ddof=1) / np.sqrt(3)
    assert (t["ci_low"], t["ci_high"]) == pytest.approx((diff.mean() - half, diff.mean() + half))
    assert t["interval"] == "t"
    normal = stats.paired_difference(a, b)
    assert set(normal) == {"mean_diff", "ci_low", "ci_high", "sd_diff", "frac_a_better", "frac_tie",
                           "frac_b_better", "significant", "n"}  # as before the t path existed: no "interval"
    # the normal path is the one the committed P1/P2 results were computed with: its numbers, by hand
    diff_mean, diff_sd = float(diff.mean()), float(diff.std(ddof=1))
    half_normal = stats.Z95 * diff_sd / np.sqrt(3)
    assert normal["mean_diff"] == pytest.approx(0.05 / 3) and normal["sd_diff"] == pytest.approx(diff_sd)
    assert (normal["ci_low"], normal["ci_high"]) == pytest.approx((diff_mean - half_normal, diff_mean + half_normal))
    assert (normal["frac_a_better"], normal["frac_tie"], normal["frac_b_better"], normal["n"]) == (1.0, 0.0, 0.0, 3)
    assert normal["significant"] is True
    assert {k: v for k, v in t.items() if k not in ("ci_low", "ci_high", "significant", "interval")} == {
        k: v for k, v in normal.items() if k not in ("ci_low", "ci_high", "significant")}
    assert "interval" not in stats.paired_difference([0.9], [0.8], interval="t")  # one pair: no interval at all
    with pytest.raises(ValueError, match="`interval` must be one of"):
        stats.paired_difference(a, b, interval="bootstrap")


# ------------------------------------------------------------------------ readings of one run
def test_run_summary_reads_best_epoch_interval_and_whether_still_improving(monkeypatch):
    run = _run(0.9, [0.5, 0.7, 0.8, 0.85], test_images=1000)
    out = analysis.run_summary(run)
    assert (out["best_val_accuracy"], out["best_val_epoch"], out["final_val_accuracy"]) == (0.85, 4, 0.85)
    assert out["test_accuracy_ci95"] == stats.wilson_interval(900, 1000)
    assert out["window"] == 1 and out["gain_last_window"] == pytest.approx(0.05) and out["still_improving"]
    assert analysis.run_summary(run, window=3)["gain_last_window"] == pytest.approx(0.35)
    monkeypatch.setattr(analysis, "STILL_IMPROVING_GAIN", 0.06)  # the threshold is read when the page renders
    assert analysis.run_summary(run)["still_improving"] is False
    assert analysis.run_summary(run, window=2)["still_improving"] is True  # +0.15 over two epochs
    peaked = _run(0.9, [0.5, 0.86, 0.8, 0.85])
    assert analysis.run_summary(peaked)["best_val_epoch"] == 2 and not analysis.run_summary(peaked)["still_improving"]
    tie = _run(0.9, [0.5, 0.85, 0.85])  # the first best epoch counts: a plateau is not still improving
    assert analysis.run_summary(tie)["best_val_epoch"] == 2 and not analysis.run_summary(tie)["still_improving"]
    short = analysis.run_summary(_run(0.9, [0.5]))
    assert math.isnan(short["gain_last_window"]) and short["still_improving"] is False


def test_temperature_comparison_flags_a_colder_cbs_and_reads_the_matched_pair():
    def run(acc, batch, lr=None, trace=None):
        out = {"test_accuracy": acc, "history": {"batch_size": batch, "steps": [2] * len(batch),
                                                 "val_accuracy": [acc] * len(batch)}}
        if trace is None:
            return dict(out, lr=lr)
        return dict(out, lr_trace=np.asarray(trace), lr_trace_iteration=np.arange(len(trace)), iterations_per_epoch=2)

    clr = {s: run(0.90 + s / 100, [64, 64], trace=[1e-3, 1e-3, 1e-1, 1e-1]) for s in (0, 1)}  # epochs at 1e-3, 1e-1
    per_run = {"CLR": clr, "CBS": {s: run(0.70, [64, 512], lr=1e-3) for s in (0, 1)},
               "matched CBS": {s: run(0.86, [64, 6400], lr=1e-1) for s in (0, 1)}}
    comparison = analysis.compare_policies(per_run)
    out = analysis.temperature_comparison(per_run, comparison)
    assert out["extremes"]["CLR"] == pytest.approx({"hottest": 1e-1 / 64, "coldest": 1e-3 / 64})
    assert out["cbs_hottest_over_clr_coldest"] == pytest.approx(1.0) and out["compares_temperatures"] is True
    np.testing.assert_allclose(out["matched"]["temperature_ratio"], [100.0, 0.01])
    clr_minus = out["matched"]["clr_minus_matched"]
    assert clr_minus == comparison["pairs"][("CLR", "matched CBS")]
    assert clr_minus["mean_diff"] == pytest.approx(0.045)
    # the matched CBS ahead: the pair is stored the other way round, and read back as CLR - matched
    for seed in (0, 1):
        per_run["matched CBS"][seed]["test_accuracy"] = 0.95 + seed / 50
    comparison = analysis.compare_policies(per_run)
    assert ("CLR", "matched CBS") not in comparison["pairs"]
    flipped = analysis.temperature_comparison(per_run, comparison)["matched"]["clr_minus_matched"]
    assert flipped["mean_diff"] == pytest.approx(-0.055)
    reverse = comparison["pairs"][("matched CBS", "CLR")]
    assert (flipped["ci_low"], flipped["ci_high"]) == pytest.approx((-reverse["ci_high"], -reverse["ci_low"]))
    hot = dict(per_run, CBS={0: run(0.7, [64, 64], lr=1e-2)})
    hot_out = analysis.temperature_comparison(hot, analysis.compare_policies(hot))
    assert hot_out["compares_temperatures"] is False and hot_out["cbs_hottest_over_clr_coldest"] == pytest.approx(10)
    alone = {"CLR": clr, "constant LR": {0: run(0.8, [64, 64], lr=1e-2), 1: run(0.81, [64, 64], lr=1e-2)}}
    none = analysis.temperature_comparison(alone, analysis.compare_policies(alone))
    assert none["compares_temperatures"] is None and none["matched"] is None


# --------------------------------------------- rendering reads only what training stored (tiny chain)
#: Readings, rules and verdicts: made when a page renders, never stored.
READING_KEYS = {"suggestions", "suggestion", "bounds", "reach", "comparison", "test_accuracy_ci95",
                "best_val_accuracy", "best_val_epoch", "final_val_accuracy", "still_improving", "gain_last_window",
                "agree", "same", "within_step", "gap_points", "below_points", "seed_sd", "pooled_sd", "winner",
                "runner_up", "ranking", "decided", "lead", "pairs", "table", "rules", "lr_over_b", "verdict"}


def _keys(value, path=""):
    """Every (path, key) of the dicts nested in a stored result."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path, key
            yield from _keys(item, f"{path}/{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _keys(item, f"{path}/{index}")


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    """Every registered P4 experiment computed once at smoke (tiny sizes, tests/p4_tiny.py)."""
    root = tmp_path_factory.mktemp("p4-tiny")
    with pytest.MonkeyPatch.context() as patch:
        p4_tiny.apply(patch, root)
        results = p4_tiny.populate()
        for name in experiments.names():
            if name.startswith("p4.") and name not in {key if isinstance(key, str) else key[0] for key in results}:
                results[name] = experiments.run(name, "smoke")
    return root, results


@pytest.fixture
def tiny(tiny_store, monkeypatch):
    root, results = tiny_store
    p4_tiny.apply(monkeypatch, root)  # the same sizes: the stored results are found again
    return root, results


def test_stored_p4_results_hold_no_readings(tiny):
    _, results = tiny
    stored = {key if isinstance(key, str) else key[0] for key in results}
    assert stored == {name for name in experiments.names() if name.startswith("p4.")}  # every registered one
    assert p4_policies.COMPARISON not in stored
    for key, result in results.items():
        found = sorted({f"{path}/{name}" for path, name in _keys(result.data) if name in READING_KEYS})
        assert found == [], f"{key} stores readings: {found}"
    # the bounds later runs train with are the only readings kept, where they are made
    assert {"lr_min", "lr_max", "best_lr", "reference_loss"} <= set(results["p4.lr_sweep"].data)
    assert {"b_min", "b_max"} <= set(results["p4.batch_sweep"].data)
    assert set(results["p4.lr_range_test"].data) == {"setup", "test", "kept_steps", "seconds"}
    assert not {"lr_min", "lr_max", "b_min", "b_max"} & set(results["p4.noise_scale"].data)
    trained = {"history", "diverged", "test_loss", "test_accuracy", "test_images", "updates", "update_batch_sizes",
               "images_per_second", "seconds"}
    for name in p4_policies.POLICIES.values():
        assert trained <= set(results[(name, 0)].data), name


def test_the_cli_summary_of_a_policy_run_reads_its_readings_when_asked(tiny):
    _, results = tiny
    for key, result in results.items():
        name = key if isinstance(key, str) else key[0]
        summary = experiments.get(name).summarize(result.data)  # what `python -m hw2 run` prints
        if name in p4_policies.POLICIES.values():
            for reading, value in analysis.run_summary(result.data).items():  # made now, from the history
                assert summary[reading] == value or (np.isnan(summary[reading]) and np.isnan(value)), reading
            assert "best_val_epoch" in summary and "best_val_epoch" not in result.data


def _files(root):
    return {path: (path.stat().st_mtime_ns, path.stat().st_size) for path in root.rglob("*") if path.is_file()}


def _no_training(config):
    raise AssertionError(f"rendering computed {type(config).__name__}")


def test_pages_read_the_stored_runs_and_a_changed_threshold_recomputes_nothing(tiny, monkeypatch):
    root, _ = tiny
    before = _files(root)
    monkeypatch.setenv("HW2_NO_COMPUTE", "1")
    experiments.names()
    monkeypatch.setattr(experiments, "_REGISTRY", {name: dataclasses.replace(e, compute=_no_training)
                                                   for name, e in experiments._REGISTRY.items()})
    sweep, range_test, batch, noise = (experiments.run(name, "smoke").data for name in p4_tiny.FINDERS)
    runs = p4_policies.policy_runs("smoke")
    assert all(r.from_store for r in runs.all_results()) and runs.reduced_from is None
    per_run = runs.data

    # every finder rule, read from the stored curves
    rules = finders.lr_readings(sweep)
    assert set(rules) == {"default", "valley", "steep", "minimum"}
    assert (rules["default"]["low"], rules["default"]["high"]) == (sweep["lr_min"], sweep["lr_max"])
    range_readings = finders.range_test_readings(range_test)
    assert range_readings["reference_loss"] == p4_finders.range_test_reference(range_test["test"])
    assert (range_readings["lr_min"], range_readings["lr_max"]) == (range_readings["rules"]["default"]["low"],
                                                                   range_readings["rules"]["default"]["high"])
    batch_rule = finders.batch_readings(batch)
    assert (batch_rule["low"], batch_rule["high"]) == (batch["b_min"], batch["b_max"])
    assert batch_rule["b_min_at_edge"] == (batch["b_min"] == batch["sweep"]["batch_sizes"][0])
    sizes = batch["sweep"]["batch_sizes"]
    noise_bounds = finders.noise_readings(noise, sizes[0], sizes[-1])
    assert sizes[0] <= noise_bounds["b_min"] <= noise_bounds["b_max"] <= sizes[-1]
    placement = finders.lr_max_placement(sweep)
    assert placement["lr_max"] == pytest.approx(sweep["lr_max"])
    moved = finders.below_untrained(sweep, batch)
    finders.similar_behaviour(finders.shape_similarity(sweep, batch), moved)
    finders.update_limited(sweep, batch)
    analysis.training_progress(per_run["CBS"][0], per_run["CLR"][0], sweep["reference_loss"])
    analysis.cbs_trajectory(per_run["CBS"][0], step_epochs=1)
    analysis.matched_trace(per_run["matched CBS"][0], step_epochs=1)
    reach = p4_policies.stored_matched_reach(runs.results["matched CBS"][0].config)
    assert reach["window_steps"] == per_run["matched CBS"][0]["b_max"] // per_run["matched CBS"][0]["clr_batch"]

    # 4.7, assembled from the policy runs
    comparison = analysis.compare_policies(per_run)
    assert sorted(comparison["ranking"]) == sorted(p4_policies.POLICIES) and comparison["seeds"] == [0]
    assert comparison["decided"] is False  # one seed decides nothing
    temperature = analysis.temperature_comparison(per_run, comparison)
    assert temperature["matched"] is not None and temperature["compares_temperatures"] is not None
    summaries = {policy: analysis.run_summary(by_seed[0]) for policy, by_seed in per_run.items()}
    for policy, summary in summaries.items():
        low, high = summary["test_accuracy_ci95"]
        assert low <= per_run[policy][0]["test_accuracy"] <= high

    # a verdict threshold changed: the verdicts follow, from the same stored runs
    agreements = lambda: (finders.lr_agreement(sweep, range_readings)["same"],
                          finders.batch_bound_agreement(batch, noise_bounds)["same"])
    monkeypatch.setattr(finders, "SAME_BOUND_FACTOR", 1e12)
    assert all(v for same in agreements() for v in same.values())
    monkeypatch.setattr(finders, "SAME_BOUND_FACTOR", 1 - 1e-9)  # no two bounds are the same
    assert not any(v for same in agreements() for v in same.values())
    monkeypatch.setattr(analysis, "STILL_IMPROVING_GAIN", math.inf)
    assert not any(analysis.run_summary(by_seed[0])["still_improving"] for by_seed in per_run.values())
    monkeypatch.setattr(analysis, "STILL_IMPROVING_GAIN", -math.inf)
    for policy, by_seed in per_run.items():
        summary = analysis.run_summary(by_seed[0])
        rising = summary["best_val_epoch"] == len(by_seed[0]["history"]["val_accuracy"])
        assert summary["still_improving"] is bool(rising and np.isfinite(summary["gain_last_window"])), policy
        assert summary["gain_last_window"] == summaries[policy]["gain_last_window"]  # the reading itself is unmoved

    assert _files(root) == before  # nothing computed, nothing written: not a file touched
    assert not (root / "smoke" / p4_policies.COMPARISON).exists()


# ------------------------------------------------------------------------------ policy_runs
def test_policy_runs_reads_every_policy_at_the_compare_seeds(tiny, monkeypatch):
    monkeypatch.setenv("HW2_NO_COMPUTE", "1")
    runs = p4_policies.policy_runs("smoke", fallback=True)  # fallback only acts at full
    assert (runs.profile, runs.seeds, runs.reduced_from) == ("smoke", (0,), None)
    assert {policy: list(by_seed) for policy, by_seed in runs.results.items()} == {p: [0] for p in p4_policies.POLICIES}
    assert [r.experiment for r in runs.all_results()] == list(p4_policies.POLICIES.values())
    assert all(r.from_store and r.profile == "smoke" and "reduced_from" not in r.provenance for r in runs.all_results())
    assert runs.data["CBS"][0] is runs.results["CBS"][0].data
    two = p4_policies.policy_runs("smoke", policies=["constant LR", "CLR"])
    assert list(two.results) == ["constant LR", "CLR"]
    with pytest.raises(ValueError, match="`policies` must be one of"):
        p4_policies.policy_runs("smoke", policies=["CLR", "SGDR"])
    # a compare seed without stored runs is an error, never a comparison over fewer seeds
    comparison = p4_policies.COMPARISON
    monkeypatch.setitem(profiles.SIZES, comparison, dict(profiles.SIZES[comparison], smoke={"seeds": (0, 1)}))
    with pytest.raises(LookupError, match=r"p4.clr \(profile smoke, seed 1\) has no stored result"):
        p4_policies.policy_runs("smoke")


class _FakeRuns:
    """``experiments.run`` for policy_runs: the full-spec runs in ``stored_full`` are stored, anything
    else at full is missing; laptop runs are computed on request (unless computing is switched off)."""

    def __init__(self, stored_full):
        self.stored_full, self.calls = set(stored_full), []

    def __call__(self, name, profile=None, *, seed=0, **kwargs):
        from hw2.store import StoredResult

        no_compute = bool(os.environ.get("HW2_NO_COMPUTE"))
        self.calls.append((name, profile, seed, no_compute))
        stored = profile == "full" and (name, seed) in self.stored_full
        if not stored and no_compute:
            raise LookupError(f"{name} (profile {profile}, seed {seed}) has no stored result")
        return StoredResult(name, {"seed": seed}, "4", {"policy": name, "test_accuracy": 0.9},
                            {"profile": profile, "seed": seed}, from_store=stored)


ALL_FULL = {(name, seed) for name in p4_policies.POLICIES.values() for seed in (0, 1, 2)}


def test_policy_runs_at_full_read_every_full_spec_run_when_all_are_stored(monkeypatch):
    fake = _FakeRuns(ALL_FULL)
    monkeypatch.setattr(experiments, "run", fake)
    monkeypatch.setattr(experiments, "_has_accelerator", lambda: False)
    runs = p4_policies.policy_runs("full", fallback=True)
    assert (runs.profile, runs.seeds, runs.reduced_from) == ("full", (0, 1, 2), None)
    assert {(r.experiment, r.profile, r.provenance["seed"]) for r in runs.all_results()} == {
        (name, "full", seed) for name, seed in ALL_FULL}
    assert all(no_compute for *_, no_compute in fake.calls)  # looked up only: nothing computed at full


def test_policy_runs_fall_back_to_laptop_for_every_run_when_one_full_run_is_missing(monkeypatch):
    fake = _FakeRuns(ALL_FULL - {("p4.cbs_matched", 2)})
    monkeypatch.setattr(experiments, "run", fake)
    monkeypatch.setattr(experiments, "_has_accelerator", lambda: False)
    monkeypatch.delenv("HW2_NO_COMPUTE", raising=False)
    runs = p4_policies.policy_runs("full", fallback=True)
    assert (runs.profile, runs.seeds, runs.reduced_from) == ("laptop", (0, 1), "full")
    results = runs.all_results()
    assert len(results) == 8 and {r.profile for r in results} == {"laptop"}  # never a mixture with full runs
    assert all(r.provenance["reduced_from"] == "full" for r in results)
    assert {(r.experiment, r.provenance["seed"]) for r in results} == {
        (name, seed) for name in p4_policies.POLICIES.values() for seed in (0, 1)}
    laptop = [call for call in fake.calls if call[1] == "laptop"]
    assert len(laptop) == 8 and not any(no_compute for *_, no_compute in laptop)  # computed if need be
    assert all(no_compute for _, profile, _, no_compute in fake.calls if profile == "full")
    assert os.environ.get("HW2_NO_COMPUTE") is None  # the look-up switched computing off only while it looked


@pytest.mark.parametrize("fallback, accelerator", [(False, False), (True, True)])
def test_policy_runs_at_full_compute_what_is_missing_without_fallback_or_with_an_accelerator(
        monkeypatch, fallback, accelerator):
    fake = _FakeRuns(ALL_FULL - {("p4.clr", 1)})
    monkeypatch.setattr(experiments, "run", fake)
    monkeypatch.setattr(experiments, "_has_accelerator", lambda: accelerator)
    monkeypatch.delenv("HW2_NO_COMPUTE", raising=False)
    runs = p4_policies.policy_runs("full", fallback=fallback)
    assert (runs.profile, runs.seeds, runs.reduced_from) == ("full", (0, 1, 2), None)
    assert {r.profile for r in runs.all_results()} == {"full"} and len(runs.all_results()) == 12
    assert {call[1] for call in fake.calls} == {"full"} and not any(call[3] for call in fake.calls)
