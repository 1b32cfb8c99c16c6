"""Problem 2's page readings (render-only): tables, margins and answers from stored-result shapes."""

import numpy as np
import pytest

from hw2 import init_study, report
from hw2.experiments import p2_analysis as pa

CASES = ["tanh/normal(0.01)", "tanh/normal(1)", "tanh/glorot_normal", "sigmoid/normal(1)", "sigmoid/glorot_normal",
         "relu/glorot_normal", "relu/he_normal"]


def _init_result():
    """A p2.init-shaped result: per-layer spreads, gradients and saturated shares, classified as stored."""
    layers = np.arange(5)
    spread = {"tanh/normal(0.01)": 0.1 ** layers, "tanh/normal(1)": np.ones(5), "tanh/glorot_normal": 0.92 ** layers,
              "sigmoid/normal(1)": 0.75 ** layers, "sigmoid/glorot_normal": 0.24 ** layers,
              "relu/glorot_normal": 0.61 ** layers, "relu/he_normal": 0.865 ** layers}
    gradient = {c: np.ones(5) for c in CASES}
    gradient["sigmoid/glorot_normal"] = 4.86 ** layers
    saturated = {c: np.zeros(5) for c in CASES}
    saturated["tanh/normal(1)"] = np.array([0.98, 0.8, 0.8, 0.8, 0.8])
    saturated["sigmoid/normal(1)"] = np.array([0.96, 0.5, 0.5, 0.5, 0.49])
    saturated["relu/he_normal"] = saturated["relu/glorot_normal"] = np.full(5, 0.5)
    summary = {c: init_study.classify(spread[c], gradient[c], saturated=saturated[c] if not c.startswith("relu")
                                      else None) for c in CASES}
    return {"cases": CASES, "labels": [init_study.case_label(c) for c in CASES], "summary": summary,
            "activation_saturated": np.stack([saturated[c] for c in CASES])}


def test_scale_table_uses_one_measure_and_names_saturation():
    data = _init_result()
    rows = {r["case"]: r for r in pa.scale_rows(data)}
    assert rows["tanh/normal(1)"]["verdict"] == "saturates"
    assert rows["relu/he_normal"]["zeros_max"] == 0.5 and np.isnan(rows["relu/he_normal"]["saturated_max"])
    table = pa.scale_table(data)
    assert "×0.10" in table and "saturates" in table and "e-0" not in table  # fixed decimals
    assert len(table.splitlines()) == len(CASES) + 1
    assert len(pa.scale_table(data, ["relu/he_normal"]).splitlines()) == 2
    assert pa.saturation_margin(data) == (0.0, 0.96)


def test_relu_theory_and_answer_21_fit_the_landing_page():
    data = _init_result()
    theory = pa.relu_theory(data)
    assert theory["ratio"] == pytest.approx(0.865 / 0.61)
    text = pa.answer_21(data)
    assert len(text) <= report.ANSWER_MAX_CHARS
    assert "×0.10" in text and "saturates tanh and sigmoid" in text and "keeps it with He" in text
    missing = dict(data, cases=CASES[:2], labels=data["labels"][:2])
    assert pa.relu_theory(missing) is None and len(pa.answer_21(missing)) <= report.ANSWER_MAX_CHARS


def _proportion(flags):
    flags = np.asarray(flags, bool)
    from hw2 import stats

    return {"count": int(flags.sum()), "n": flags.size, "fraction": float(flags.mean()),
            "ci95": list(stats.wilson_interval(int(flags.sum()), flags.size))}


def _long_result(n=1000, stopped_by="rule"):
    """A p2.dying_relu_long-shaped result: ReLU collapses (spread 0) more often than Leaky ReLU."""
    rng = np.random.default_rng(0)
    relu_spread = np.where(rng.uniform(size=n) < 0.94, 0.0, rng.uniform(0.5, 1.0, n))
    leaky_spread = np.where(rng.uniform(size=n) < 0.05, 10.0 ** rng.uniform(-8, -3, n), rng.uniform(0.5, 1.0, n))
    grid = np.array([1e-6, 1e-3, 0.3])
    per_arm = {}
    for arm, spread in (("relu", relu_spread), ("leaky_relu", leaky_spread)):
        collapsed = spread <= 1e-3
        per_arm[arm] = {"relative_spread": spread, "collapsed": collapsed, "dead": collapsed & (spread == 0),
                        "constant_at_init": collapsed, "born_dead": spread == 0, "last_change": np.zeros(n, int),
                        "relative_spread_at_init": spread, "collapsed_at_snapshot": collapsed}
    summary = {arm: {"collapsed": _proportion(per_arm[arm]["collapsed"]), "born_dead": _proportion(spread == 0),
                     "last_change_epoch": 400, "changed_in_last_window": 1}
               for arm, spread in (("relu", relu_spread), ("leaky_relu", leaky_spread))}
    diff = per_arm["relu"]["collapsed"].astype(float) - per_arm["leaky_relu"]["collapsed"]
    low, high = diff.mean() - 0.03, diff.mean() + 0.03
    summary["relu_vs_leaky_relu"] = {"collapsed": {"difference": diff.mean(), "ci95": [low, high],
                                                   "significant": low > 0 or high < 0}}
    summary.update({"epochs_run": 650, "stopped_by": stopped_by})
    marks = np.array([0, 1, 25, 50])
    return {"arms": ["relu", "leaky_relu"], "per_arm": per_arm, "summary": summary, "tolerance_grid": grid,
            "checkpoint_epochs": marks, "collapsed_counts": np.array([[900, 700], [920, 600], [940, 60], [940, 50]]),
            "changed_counts": np.array([[0, 0], [20, 100], [20, 540], [0, 10]])}


CONFIG = {"n_simulations": 1000, "max_change": 2, "window": 250, "max_epochs": 5000}


def test_tolerance_rows_pair_the_two_arms():
    data = _long_result()
    rows = pa.tolerance_rows(data)
    assert [r["tolerance"] for r in rows] == [1e-6, 1e-3, 0.3]
    leaky = [r["leaky_relu"]["fraction"] for r in rows]
    assert leaky == sorted(leaky)  # a larger tolerance never collapses fewer networks
    for r in rows:
        assert r["difference"]["value"] == pytest.approx(r["relu"]["fraction"] - r["leaky_relu"]["fraction"])
        low, high = r["difference"]["ci95"]
        assert low < r["difference"]["value"] < high
    assert len(pa.tolerance_table(data).splitlines()) == 4


def test_count_table_sums_the_changes_between_shown_rows():
    table = pa.count_table(_long_result(), epochs=(0, 25))
    lines = table.splitlines()
    assert [line.split()[0] for line in lines[1:]] == ["0", "25", "50"]
    assert lines[2].split()[-1] == "640"  # Leaky ReLU: 100 + 540 changes over epochs 1 and 25


def test_convergence_text_says_whether_the_rule_or_the_cap_ended_training():
    assert "by the rule" in pa.convergence_text(_long_result(), CONFIG)
    assert "5000-epoch cap" in pa.convergence_text(_long_result(stopped_by="cap"), CONFIG)


def test_answers_22_and_23_fit_the_landing_page_and_follow_the_test():
    data = _long_result()
    a22, a23 = pa.answer_22(data, CONFIG), pa.answer_23(data, CONFIG)
    assert len(a22) <= report.ANSWER_MAX_CHARS and len(a23) <= report.ANSWER_MAX_CHARS
    assert "after epoch 400 of 650 (training ran until" in a22 and "points fewer than ReLU" in a23
    assert "cap ended training" in pa.answer_22(_long_result(stopped_by="cap"), CONFIG)
    unclear = _long_result()
    unclear["summary"]["relu_vs_leaky_relu"]["collapsed"].update(difference=0.01, ci95=[-0.01, 0.03],
                                                                 significant=False)
    assert "no clear difference" in pa.answer_23(unclear, CONFIG)


def test_constant_at_init_and_snapshot_agreement():
    arm = _long_result()["per_arm"]["relu"]
    out = pa.constant_at_init(arm)
    assert out["constant"] == out["born_dead"] and out["alive_flat"] == 0 and out["alive_flat_spread"] is None
    agreement = pa.snapshot_agreement(arm, {"collapsed": arm["collapsed"]})
    assert agreement["same"] == agreement["n"] == 1000


def test_depth_readings_and_answer_24():
    data = {"depths": np.array([2, 10, 12]), "collapsed": np.array([0.02, 0.93, 0.97]),
            "collapsed_ci95": np.array([[0.01, 0.04], [0.90, 0.95], [0.95, 0.98]]),
            "born_dead": np.array([0.0, 0.88, 0.94]), "map_widths": np.array([2, 4]), "map_depths": np.array([12]),
            "map_collapsed": np.array([[0.97], [0.62]]), "map_n": np.array([[500], [200]]),
            "mc_widths": np.array([2, 4]), "mc_depths": np.array([1, 8, 16]),
            "mc_born_dead": np.array([[0.0, 0.7, 0.98], [0.0, 0.1, 0.4]])}
    text = pa.answer_24(data)
    assert len(text) <= report.ANSWER_MAX_CHARS
    assert "rises with depth" in text and "(95 % CI 90–95 %) at depth 10" in text
    assert "Width 4 at depth 12: 62 %" in text
    flat = dict(data, collapsed=np.array([0.5, 0.5, 0.6]))
    assert "never falls with depth" in pa.answer_24(flat)
    assert pa.half_dead_depth(data) == {2: (8, 0.98), 4: (None, 0.4)}
    assert len(pa.depth_table(data).splitlines()) == 4
    long = _long_result()
    check = pa.epochs_check(long, 25)
    assert check == {"at": 0.94, "end": 0.94, "changed_after": 0, "epochs_run": 50}
    assert pa.epochs_check(long, 20) == {}
