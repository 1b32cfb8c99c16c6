"""Problem 4 policy readings: what the pages of 4.3, 4.6 and 4.7 compute from the stored policy runs.

The P4 policy runs (CLR, constant LR, CBS, noise-matched CBS) store what training produced
(histories, batch sizes, learning-rate traces, test accuracy); nothing here trains. Every reading,
threshold and verdict about them is here and runs when a page renders, so changing one recomputes
nothing (this module is one of :data:`hw2.experiments.RENDER_ONLY_MODULES`). The readings of the
finders (4.2, 4.4, 4.5) and :func:`~hw2.experiments.p4_finders_analysis.setup_sentence` are in
:mod:`hw2.experiments.p4_finders_analysis`.

* :func:`run_summary` -- a policy run's best validation epoch, test interval, whether it was still
  improving at its last epoch;
* :func:`reference_gap`, :func:`gap_sentence` -- the distance to pyimagesearch's published CLR
  accuracy, and why (4.3);
* :func:`cbs_trajectory` -- planned vs realised batch sizes, what each cycle visits, and the
  answer to "exponential increase or decrease?" (4.6);
* :func:`matched_trace` -- how the noise-matched CBS follows the CLR, update by update (4.6);
* :func:`training_progress` -- how far a run's training loss fell compared with the CLR's (4.6);
* :func:`noise_trace`, :func:`lr_budget` -- gradient-noise temperature ``lr / B`` and the sum of
  learning rates over a policy run (4.6, 4.7); :func:`temperature_comparison` -- does 4.7 compare
  policies or temperatures?
* :func:`compare_policies`, :func:`paired_test_difference`, :func:`difference_sentence` -- 4.7's
  table, ranking and paired differences over seeds.
"""

from __future__ import annotations

import math

import numpy as np

from hw2 import stats

# pyimagesearch, "Cyclical Learning Rates with Keras and Deep Learning" (2019): the published
# MiniGoogLeNet trained with a cyclical LR at batch 64 on all 60 000 Fashion-MNIST training images
# reaches 94 % test accuracy.
PYIMAGESEARCH_CLR_ACCURACY = 0.94
FULL_SPEC_EPOCHS = 48  # this homework's CLR: step 8 epochs, 3 cycles


#: A run counts as still improving at its end when its last epoch is its best validation epoch and
#: it gained more than this (accuracy, absolute) over the last ``window`` epochs (4.3 passes one CLR
#: cycle; the default is a quarter of the run).
STILL_IMPROVING_GAIN = 0.005


def run_summary(run: dict, window: int | None = None) -> dict:
    """Readings of one stored policy run: best validation epoch, test interval, still improving?

    ``test_accuracy_ci95`` is the Wilson interval of the test accuracy over ``test_images``
    (:func:`hw2.stats.wilson_interval`: the uncertainty of one run's accuracy from a finite test
    set, not the seed-to-seed spread). ``still_improving``: the last epoch is the best validation
    epoch and the validation accuracy rose by more than :data:`STILL_IMPROVING_GAIN` over the
    last ``window`` epochs (default: a quarter of the run, at least 1); ``gain_last_window`` is
    that rise.

    Example:
        >>> run = {"test_accuracy": 0.9, "test_images": 1000,
        ...        "history": {"val_accuracy": [0.5, 0.7, 0.8, 0.85]}}
        >>> out = run_summary(run)
        >>> out["best_val_epoch"], out["still_improving"], round(out["gain_last_window"], 2)
        (4, True, 0.05)
    """
    val = np.asarray(run["history"]["val_accuracy"], dtype=float)
    finite = np.isfinite(val)
    best = int(np.nanargmax(val)) if finite.any() else -1
    window = max(1, len(val) // 4) if window is None else int(window)
    gain = float(val[-1] - val[-1 - window]) if len(val) > window else math.nan
    correct = int(round(float(run["test_accuracy"]) * int(run["test_images"])))
    return {"best_val_accuracy": float(val[best]) if best >= 0 else math.nan, "best_val_epoch": best + 1,
            "final_val_accuracy": float(val[-1]) if len(val) else math.nan,
            "test_accuracy_ci95": stats.wilson_interval(correct, int(run["test_images"])),
            "gain_last_window": gain, "window": window,
            "still_improving": bool(best == len(val) - 1 and np.isfinite(gain) and gain > STILL_IMPROVING_GAIN)}


def reference_gap(test_accuracy: float, setup: dict, epochs: int) -> dict:
    """How far a CLR run's test accuracy is from pyimagesearch's 94 %, and what differs from that run.

    ``below_points`` is positive when the run is below the reference. pyimagesearch trained on all
    60 000 training images; this project holds 6 000 of them out for validation, so even the full
    specification differs in that.

    Example:
        >>> out = reference_gap(0.88, {"train_images": 8192, "width": 0.125, "published_network": False}, 8)
        >>> round(out["below_points"], 1), out["causes"][0]
        (6.0, '8192 instead of 60000 training images')
    """
    causes = []
    if setup["train_images"] < 60000:
        held_out = " (6000 held out for validation)" if setup["train_images"] == 54000 else ""
        causes.append(f"{setup['train_images']} instead of 60000 training images{held_out}")
    if not setup.get("published_network", True):
        causes.append(f"every filter count x {setup['width']:g} (the published network has "
                      "1,654,522 parameters)")
    if epochs < FULL_SPEC_EPOCHS:
        causes.append(f"{epochs} instead of the full specification's {FULL_SPEC_EPOCHS} epochs")
    return {"reference": PYIMAGESEARCH_CLR_ACCURACY,
            "below_points": 100 * (PYIMAGESEARCH_CLR_ACCURACY - test_accuracy), "causes": causes}


def gap_sentence(accuracy: float, gap: dict) -> str:
    """``accuracy`` against pyimagesearch's 94 %, signed in words.

    Example:
        >>> gap_sentence(0.866, {"reference": 0.94, "below_points": 7.4})
        "86.6 % is 7.4 points below pyimagesearch's 94 %"
        >>> gap_sentence(0.95, {"reference": 0.94, "below_points": -1.0})
        "95.0 % is 1.0 points above pyimagesearch's 94 %"
    """
    below = gap["below_points"]
    where = "below" if below > 0 else "above"
    return f"{100 * accuracy:.1f} % is {abs(below):.1f} points {where} pyimagesearch's {100 * gap['reference']:.0f} %"


def cbs_trajectory(run: dict, step_epochs: int) -> dict:
    """What a CBS run's batch size did (4.6): planned vs realised, per cycle, and in which direction.

    Per cycle of ``2 * step_epochs`` epochs: the smallest and largest batch size, whether they are
    ``b_min`` / ``b_max``, and the *excursion* reached (0: stayed at ``b_max``, 1: reached
    ``b_min``; measured in ``1 / B``, the coordinate the policy moves linearly).

    The answer to "exponential increase or decrease?" is ``direction``: the ``exp_range`` decay
    multiplies the excursion towards ``b_min`` by ``decay_per_cycle = gamma ** (2 * step_epochs)``
    from one cycle to the next, so with ``gamma < 1`` the batch size drifts *up*, towards ``b_max``
    (``"increase"``: less gradient noise, as a decaying CLR drifts down to lr_min); ``"none"``
    without decay. ``minima_increase`` is what the run shows: each cycle's smallest batch size above
    the previous one (None with a single cycle). ``geometric`` says whether, within the first
    cycle, the batch size changed by one constant factor per epoch (an exponential trajectory in the
    strict sense; None with fewer than two changes).

    Example:
        >>> run = {"b_min": 64, "b_max": 1024, "gamma": 0.9, "planned_batch_sizes": [1024, 128, 64, 128],
        ...        "history": {"batch_size": [1024, 128, 64, 128]}}
        >>> out = cbs_trajectory(run, step_epochs=2)
        >>> out["as_planned"], out["first_cycle_visits"], out["direction"], out["geometric"]
        (True, {'b_min': True, 'b_max': True}, 'increase', False)
    """
    b_min, b_max = int(run["b_min"]), int(run["b_max"])
    realised = np.asarray(run["history"]["batch_size"], int)
    planned = np.asarray(run.get("planned_batch_sizes", realised), int)
    period = 2 * int(step_epochs)
    cycles = []
    for start in range(0, len(realised), period):
        part = realised[start:start + period]
        low, high = int(part.min()), int(part.max())
        excursion = (1 / low - 1 / b_max) / (1 / b_min - 1 / b_max)
        cycles.append({"epochs": (start + 1, start + len(part)), "smallest": low, "largest": high,
                       "visits_b_min": low == b_min, "visits_b_max": high == b_max, "excursion": float(excursion)})
    first = cycles[0]
    ratios = realised[1:period] / realised[:period - 1] if len(realised) > 1 else np.array([])
    changes = ratios[ratios != 1]
    geometric = (None if changes.size < 2 else
                 bool(np.allclose(np.abs(np.log(changes)), abs(np.log(changes[0])), rtol=0.01)))
    minima = [c["smallest"] for c in cycles]
    decay = float(run.get("gamma", 1.0)) ** period
    final = int(realised[-1])
    return {"planned": planned, "realised": realised,
            "as_planned": bool(len(planned) == len(realised) and np.array_equal(planned, realised)),
            "cycles": cycles, "first_cycle_visits": {"b_min": first["visits_b_min"], "b_max": first["visits_b_max"]},
            "excursion_per_cycle": [c["excursion"] for c in cycles], "cycle_minima": minima,
            "minima_increase": None if len(minima) < 2 else bool(np.all(np.diff(minima) > 0)),
            "decay_per_cycle": decay, "direction": "increase" if decay < 1 else "none",
            "final_batch_size": final,
            "final_excursion": float((1 / final - 1 / b_max) / (1 / b_min - 1 / b_max)),
            "geometric": geometric, "ratios_first_cycle": ratios}


def matched_trace(run: dict, step_epochs: int) -> dict:
    """Update by update, how a ``p4.cbs_matched`` run follows the CLR it mirrors.

    Each update ``j`` covers the samples of ``k_j = B_j / clr_batch`` CLR steps whose rates sum to
    ``clr_rate_sums[j]``; the ratio of its temperature ``lr / B_j`` to the CLR's mean ``lr /
    clr_batch`` over the same samples is ``lr / clr_rate_sums[j]`` (1 = a perfect match; the rounding
    of ``k_j`` allows about ``1 +- 1 / (2 k_j)``, the last update is cut short by the end of the run).
    Returns the planned and realised batch sizes, each update's start (in epochs), ``lr_over_b``,
    ``ratio`` with its median absolute log and 5-95 % range, what the run visits per cycle, and the
    overall smallest and largest batch size against ``b_min`` / ``b_max``.

    Example:
        >>> run = {"lr": 0.1, "b_min": 64, "b_max": 512, "clr_batch": 64, "epochs": 2,
        ...        "setup": {"train_images": 256}, "planned_batch_sizes": [256, 64, 128, 64],
        ...        "update_batch_sizes": [256, 64, 128, 64], "clr_rate_sums": [0.1, 0.1, 0.11, 0.05]}
        >>> out = matched_trace(run, step_epochs=1)
        >>> out["start_epoch"].tolist(), out["smallest"], out["largest"], out["visits_b_max"]
        ([0.0, 1.0, 1.25, 1.75], 64, 256, False)
    """
    realised = np.asarray(run["update_batch_sizes"], dtype=np.int64)
    planned = np.asarray(run.get("planned_batch_sizes", realised), dtype=np.int64)
    per_epoch = (int(run["setup"]["train_images"]) // int(run["clr_batch"])) * int(run["clr_batch"])
    start = np.concatenate([[0], np.cumsum(realised)[:-1]]) / per_epoch
    ratio = float(run["lr"]) / np.asarray(run["clr_rate_sums"], dtype=float)[:len(realised)]
    whole = ratio[:-1] if len(ratio) > 1 else ratio
    cycles = []
    period = 2 * int(step_epochs)
    for first in range(0, int(run["epochs"]), period):
        inside = (start >= first) & (start < first + period)
        if inside.any():
            cycles.append({"epochs": (first + 1, min(first + period, int(run["epochs"]))),
                           "smallest": int(realised[inside].min()), "largest": int(realised[inside].max()),
                           "updates": int(inside.sum())})
    return {"planned": planned, "realised": realised,
            "as_planned": bool(len(planned) == len(realised) and np.array_equal(planned, realised)),
            "start_epoch": start, "lr_over_b": float(run["lr"]) / realised, "ratio": ratio,
            "ratio_median_abs_log": float(np.median(np.abs(np.log(whole)))),
            "ratio_range": (float(np.percentile(whole, 5)), float(np.percentile(whole, 95))),
            "cycles": cycles, "smallest": int(realised.min()), "largest": int(realised.max()),
            "distinct": int(len(np.unique(realised))),
            "visits_b_min": bool(realised.min() == int(run["b_min"])),
            "visits_b_max": bool(realised.max() == int(run["b_max"]))}


def noise_trace(run: dict) -> dict:
    """Per epoch of a policy run: the learning rate, the batch size and the noise temperature ``lr / B``.

    The CLR's rate changes within an epoch; its epoch value is the mean over the epoch's updates
    (from the stored per-update trace). Returns arrays ``epoch`` (1-based), ``lr``, ``batch_size``,
    ``lr_over_b`` and the run's total ``updates``.

    Example:
        >>> run = {"lr": 0.1, "history": {"batch_size": [64, 128], "steps": [10, 5]}}
        >>> noise_trace(run)["lr_over_b"].tolist(), noise_trace(run)["updates"]
        ([0.0015625, 0.00078125], 15)
    """
    history = run["history"]
    batch = np.asarray(history["batch_size"], dtype=float)
    epochs = np.arange(1, len(batch) + 1)
    if "lr_trace" in run:  # per-update trace, sampled at lr_trace_iteration
        t = np.asarray(run["lr_trace_iteration"], dtype=float)
        trace = np.asarray(run["lr_trace"], dtype=float)
        per_epoch = run["iterations_per_epoch"]
        lr = np.array([trace[(t >= e * per_epoch) & (t < (e + 1) * per_epoch)].mean() for e in range(len(batch))])
    else:
        lr = np.full(len(batch), float(run["lr"]))
    return {"epoch": epochs, "lr": lr, "batch_size": batch, "lr_over_b": lr / batch,
            "updates": int(np.sum(history["steps"]))}


def lr_budget(run: dict) -> float:
    """Sum of the learning rates of all optimizer updates of a policy run (how far SGD may travel).

    CLR: the schedule summed over its iterations; constant LR and CBS: ``lr`` times the updates.

    Example:
        >>> lr_budget({"lr": 0.01, "history": {"steps": [100, 50]}})
        1.5
    """
    if "lr_trace" in run:
        return float(np.mean(run["lr_trace"]) * run["iterations_per_epoch"] * len(run["history"]["steps"]))
    return float(run["lr"] * np.sum(run["history"]["steps"]))


#: 4.6: a run "barely trained" when its training loss fell less than this fraction of the way the
#: CLR's fell (from the untrained loss, same epochs), "partly" below twice this.
BARELY_TRAINED_FRACTION = 1 / 3


def training_progress(run: dict, reference_run: dict, untrained_loss: float) -> dict:
    """How far ``run``'s training loss fell compared with ``reference_run``'s (same epochs), and its step length.

    ``fraction`` is ``(untrained - run's last training loss) / (untrained - reference's)``;
    ``words`` are "barely trained" (< :data:`BARELY_TRAINED_FRACTION`), "partly trained" (< twice
    it) or "trained about as far". ``step_ratio`` is the run's sum of learning rates over its
    updates (:func:`lr_budget`: the distance SGD can travel) over the reference's.

    Example:
        >>> cbs = {"lr": 1e-3, "history": {"loss": [2.2, 2.0], "steps": [10, 10]}}
        >>> clr = {"lr": 1e-1, "history": {"loss": [1.0, 0.5], "steps": [100, 100]}}
        >>> out = training_progress(cbs, clr, untrained_loss=2.3)
        >>> round(out["fraction"], 2), out["words"], out["step_ratio"]
        (0.17, 'barely trained', 0.001)
    """
    last = float(np.asarray(run["history"]["loss"], float)[-1])
    ref_last = float(np.asarray(reference_run["history"]["loss"], float)[-1])
    span = float(untrained_loss) - ref_last
    fraction = (float(untrained_loss) - last) / span if span > 0 else math.nan
    if not np.isfinite(fraction):
        words = "cannot be compared (the reference did not train)"
    elif fraction < BARELY_TRAINED_FRACTION:
        words = "barely trained"
    elif fraction < 2 * BARELY_TRAINED_FRACTION:
        words = "partly trained"
    else:
        words = "trained about as far"
    steps, ref_steps = lr_budget(run), lr_budget(reference_run)
    return {"fraction": fraction, "words": words, "final_loss": last, "reference_final_loss": ref_last,
            "step_length": steps, "reference_step_length": ref_steps, "step_ratio": steps / ref_steps}


def compare_policies(per_run: dict) -> dict:
    """Table and verdict of 4.7 from ``{policy: {seed: run_data}}``.

    Per policy, over its seeds: the test accuracy of the final weights and the best validation
    accuracy, each with its mean, sd and Student-t 95 % interval (:func:`hw2.stats.t_interval`).
    The winner is the policy with the highest mean **test** accuracy, whatever the validation
    accuracy says (the best validation epoch is chosen on the validation set, so it is optimistic).
    Per pair, the paired (same seed) test-accuracy difference with a t interval; the winner's lead
    is ``decided`` when that interval over the runner-up excludes 0, and not decided with one seed
    or an interval that spans 0.

    Example:
        >>> runs = {"A": {0: {"test_accuracy": .90, "history": {"val_accuracy": [.80, .85]}},
        ...               1: {"test_accuracy": .92, "history": {"val_accuracy": [.81, .86]}}},
        ...         "B": {0: {"test_accuracy": .80, "history": {"val_accuracy": [.95, .90]}},
        ...               1: {"test_accuracy": .81, "history": {"val_accuracy": [.96, .90]}}}}
        >>> out = compare_policies(runs)
        >>> out["winner"], round(out["margin"], 3), out["decided"]
        ('A', 0.105, True)
    """
    table = {}
    for policy, runs in per_run.items():
        seeds = sorted(runs)
        test = np.array([runs[s]["test_accuracy"] for s in seeds], dtype=float)
        val = np.array([np.nanmax(np.asarray(runs[s]["history"]["val_accuracy"], float)) for s in seeds])
        test_mean, test_low, test_high = stats.t_interval(test)
        val_mean, val_low, val_high = stats.t_interval(val)
        table[policy] = {
            "seeds": seeds, "test_accuracy": test, "best_val_accuracy": val,
            "test_mean": test_mean, "test_sd": float(test.std(ddof=1)) if len(test) > 1 else math.nan,
            "test_ci95": (test_low, test_high),
            "val_mean": val_mean, "val_sd": float(val.std(ddof=1)) if len(val) > 1 else math.nan,
            "val_ci95": (val_low, val_high),
        }
    if len(table) < 2:
        raise ValueError(f"compare_policies needs at least two policies. Received: {sorted(table)}")
    ranking = sorted(table, key=lambda p: -table[p]["test_mean"])
    winner, runner_up = ranking[0], ranking[1]
    pairs = {}
    for i, a in enumerate(ranking):
        for b in ranking[i + 1:]:
            pairs[(a, b)] = paired_test_difference(per_run, a, b)
    lead = pairs[(winner, runner_up)]
    return {"table": table, "ranking": ranking, "winner": winner, "runner_up": runner_up,
            "margin": float(table[winner]["test_mean"] - table[runner_up]["test_mean"]), "lead": lead,
            "decided": bool(lead["significant"]), "seeds": sorted(set().union(*(t["seeds"] for t in table.values()))),
            "pairs": pairs}


def paired_test_difference(per_run: dict, a: str, b: str) -> dict:
    """Test accuracy of policy ``a`` minus ``b`` over their common seeds: paired, Student-t 95 % interval.

    Example:
        >>> runs = {"A": {0: {"test_accuracy": .9}, 1: {"test_accuracy": .92}},
        ...         "B": {0: {"test_accuracy": .88}, 1: {"test_accuracy": .91}}}
        >>> out = paired_test_difference(runs, "A", "B")
        >>> round(out["mean_diff"], 3), out["n"], out["significant"]
        (0.015, 2, False)
    """
    common = sorted(set(per_run[a]) & set(per_run[b]))
    return stats.paired_difference([per_run[a][s]["test_accuracy"] for s in common],
                                   [per_run[b][s]["test_accuracy"] for s in common], interval="t")


def difference_sentence(name: str, difference: dict, scale: float = 100.0, unit: str = " points") -> str:
    """A paired difference in words: its mean, its t interval and whether the seeds decide it.

    Example:
        >>> difference_sentence("CLR - CBS", {"mean_diff": 0.0123, "ci_low": -0.01, "ci_high": 0.035, "n": 2,
        ...                                   "significant": False})
        'CLR - CBS: +1.23 points (95 % t interval -1.00 to +3.50, 2 seeds): not decided by 2 seeds'
        >>> difference_sentence("A - B", {"mean_diff": 0.02, "n": 1, "significant": False})
        'A - B: +2.00 points (1 seed: no interval, not decided)'
    """
    mean = scale * difference["mean_diff"]
    n = difference["n"]
    if n < 2:
        return f"{name}: {mean:+.2f}{unit} (1 seed: no interval, not decided)"
    low, high = scale * difference["ci_low"], scale * difference["ci_high"]
    verdict = "decided (the interval excludes 0)" if difference["significant"] else f"not decided by {n} seeds"
    return f"{name}: {mean:+.2f}{unit} (95 % t interval {low:+.2f} to {high:+.2f}, {n} seeds): {verdict}"


def temperature_comparison(per_run: dict, comparison: dict) -> dict:
    """Does 4.7 compare policies, or temperatures? From ``{policy: {seed: run}}`` and :func:`compare_policies`.

    Per policy, the hottest and coldest epoch of ``lr / B`` (the gradient-noise temperature, epoch
    means; the first seed's run, the trajectory is the same for every seed).
    ``cbs_hottest_over_clr_coldest`` <= 1 means the homework's CBS is never hotter than the CLR's
    coldest epoch: a CLR-vs-CBS difference then measures the temperature, not the policy.
    ``traces`` holds each policy's per-epoch ``lr / B``. ``matched`` compares the noise-matched CBS
    with the CLR: ``clr_minus_matched``, CLR minus matched CBS test accuracy over their common seeds
    (:func:`paired_test_difference`: a paired Student-t interval from the sd of the per-seed
    differences, not a pooled sd), and ``temperature_ratio``, the matched CBS's ``lr / B`` over
    the CLR's per epoch (1 = a perfect trace; empty when their epoch counts differ).

    Example:
        >>> run = lambda lr, b, acc: {"lr": lr, "test_accuracy": acc,
        ...                           "history": {"batch_size": b, "steps": [1, 1], "val_accuracy": [acc, acc]}}
        >>> per_run = {"CLR": {0: run(0.064, [64, 64], .9)}, "CBS": {0: run(0.001, [64, 1024], .5)},
        ...            "matched CBS": {0: run(0.064, [64, 128], .89)}}
        >>> out = temperature_comparison(per_run, compare_policies(per_run))
        >>> round(out["cbs_hottest_over_clr_coldest"], 4), out["compares_temperatures"]
        (0.0156, True)
    """
    extremes, traces = {}, {}
    for policy, runs in per_run.items():
        first = runs[min(runs)]
        trace = np.asarray(noise_trace(first)["lr_over_b"], float)
        traces[policy] = trace
        extremes[policy] = {"hottest": float(trace.max()), "coldest": float(trace.min())}
    out = {"extremes": extremes, "traces": traces, "cbs_hottest_over_clr_coldest": None,
           "compares_temperatures": None, "matched": None}
    if "CBS" in extremes and "CLR" in extremes:
        ratio = extremes["CBS"]["hottest"] / extremes["CLR"]["coldest"]
        out["cbs_hottest_over_clr_coldest"] = ratio
        out["compares_temperatures"] = bool(ratio <= 1 + 1e-9)
    if "matched CBS" in per_run and "CLR" in per_run:
        ratio = (traces["matched CBS"] / traces["CLR"] if len(traces["matched CBS"]) == len(traces["CLR"])
                 else np.array([]))
        out["matched"] = {"clr_minus_matched": comparison["pairs"].get(("CLR", "matched CBS"))
                          or _negated(comparison["pairs"][("matched CBS", "CLR")]),
                          "temperature_ratio": ratio}
    return out


def _negated(difference: dict) -> dict:
    return dict(difference, mean_diff=-difference["mean_diff"], ci_low=-difference["ci_high"],
                ci_high=-difference["ci_low"], frac_a_better=difference["frac_b_better"],
                frac_b_better=difference["frac_a_better"])
