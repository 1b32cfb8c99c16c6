"""Problem 4 analysis: what the pages compute from the stored P4 results (no training here).

* :func:`setup_sentence` -- the data and network behind a result, in plain words;
* :func:`sweep_updates`, :func:`range_test_updates` -- how many optimizer updates a finder made;
* :func:`lr_agreement`, :func:`agreement_sentence` -- do the LR sweep and the range test give the
  same bounds (4.2)? :func:`batch_bound_agreement` asks the same of the two batch finders (4.5);
* :func:`plateau_lines` -- which rules landed on a flat stretch of their curve (4.2);
* :func:`range_test_overshoot` -- how far past the sweep's smallest diverging rate the range test ran;
* :func:`shape_similarity` -- is loss vs batch size the loss-vs-LR curve seen through ``lr / B`` (4.4)?
* :func:`below_untrained` -- did the smallest batch end measurably below the untrained loss (4.4)?
* :func:`noise_scale_summary` -- the gradient-noise finder's ``B_simple`` along training (4.5);
* :func:`cbs_trajectory` -- planned vs realised batch sizes, what each cycle visits, and the
  answer to "exponential increase or decrease?" (4.6);
* :func:`matched_trace` -- how the noise-matched CBS follows the CLR, update by update (4.6);
* :func:`noise_trace`, :func:`lr_budget` -- gradient-noise temperature ``lr / B`` and the sum of
  learning rates over a policy run (4.6, 4.7); :func:`temperature_comparison` -- does 4.7 compare
  policies or temperatures?
* :func:`compare_policies` -- 4.7's table, ranking and paired differences over seeds;
* :func:`reference_gap` -- the distance to pyimagesearch's published CLR accuracy, and why.
"""

from __future__ import annotations

import math

import numpy as np

from hw2 import stats
from hw2.suggest import PLATEAU_RTOL

# pyimagesearch, "Cyclical Learning Rates with Keras and Deep Learning" (2019): the published
# MiniGoogLeNet trained with a cyclical LR at batch 64 on all 60 000 Fashion-MNIST training images
# reaches 94 % test accuracy.
PYIMAGESEARCH_CLR_ACCURACY = 0.94
FULL_SPEC_EPOCHS = 48  # this homework's CLR: step 8 epochs, 3 cycles


def setup_sentence(setup: dict) -> str:
    """Plain words for the data and network behind a result (what a reduced profile changed).

    Example:
        >>> setup_sentence({"train_images": 2048, "validation_images": 1000, "test_images": 2000,
        ...                 "width": 1.0, "published_network": True, "bn_momentum": 0.99})[:59]
        'MiniGoogLeNet (the published width), 2048 of 54000 training'
    """
    if setup["published_network"]:
        net = "MiniGoogLeNet (the published width)"
    else:
        net = f"MiniGoogLeNet with every filter count x {setup['width']:g} (narrower than the published network)"
    bn = setup.get("bn_momentum", 0.99)
    bn_note = "" if bn == 0.99 else f" (batch-norm moving-statistics momentum {bn:g} instead of Keras' 0.99)"
    precision = setup.get("precision", "float32")
    precision_note = "" if precision == "float32" else f", {precision} compute"
    return (f"{net}{bn_note}{precision_note}, {setup['train_images']} of 54000 training, "
            f"{setup['validation_images']} of 6000 validation and {setup['test_images']} of 10000 test images")


def _bound_agreement(first: dict, second: dict, bounds, grid) -> dict:
    grid = np.log10(np.asarray(grid, dtype=float))
    spacing = float(np.mean(np.diff(grid)))
    out = {"grid_spacing_decades": spacing, "grid_factor": 10.0 ** spacing, "decades": {}, "ratio": {},
           "agree": {}, "bounds": tuple(bounds)}
    for bound in bounds:
        a, b = float(first[bound]), float(second[bound])
        d = abs(math.log10(b) - math.log10(a))
        out["decades"][bound] = d
        out["ratio"][bound] = max(a, b) / min(a, b)
        out["agree"][bound] = bool(d <= spacing + 1e-9)
    return out


def lr_agreement(sweep: dict, range_test: dict) -> dict:
    """Do the sweep (4.2) and the range test suggest the same bounds?

    They *agree* on a bound only when it differs by at most one grid step of the sweep (the sweep
    cannot resolve finer); otherwise ``ratio`` says how many times larger one is than the other.

    Example:
        >>> s = {"lr_min": 1e-4, "lr_max": 1e-2, "sweep": {"learning_rates": np.logspace(-9, 1, 11)}}
        >>> out = lr_agreement(s, {"lr_min": 3e-4, "lr_max": 1e-4})
        >>> out["agree"], round(out["ratio"]["lr_max"], 1)
        ({'lr_min': True, 'lr_max': False}, 100.0)
    """
    return _bound_agreement(sweep, range_test, ("lr_min", "lr_max"), sweep["sweep"]["learning_rates"])


def batch_bound_agreement(batch_sweep: dict, noise: dict) -> dict:
    """Do the loss-threshold batch finder (4.4's sweep) and the gradient-noise finder agree (4.5)?

    As :func:`lr_agreement`, on the batch sweep's grid (powers of two: one step is a factor 2).
    ``noise`` is a ``p4.noise_scale`` result (its ``bounds``).

    Example:
        >>> sweep = {"b_min": 256, "b_max": 2048, "sweep": {"batch_sizes": [64, 128, 256, 512, 1024, 2048]}}
        >>> out = batch_bound_agreement(sweep, {"bounds": {"b_min": 128, "b_max": 8192}})
        >>> out["agree"], out["ratio"]["b_max"]
        ({'b_min': True, 'b_max': False}, 4.0)
    """
    return _bound_agreement(batch_sweep, noise["bounds"], ("b_min", "b_max"), batch_sweep["sweep"]["batch_sizes"])


def agreement_sentence(agreement: dict) -> str:
    """One sentence per bound: within one grid step, or how many times apart.

    Example:
        >>> text = agreement_sentence({"grid_factor": 12.9, "decades": {"lr_min": 0.3, "lr_max": 1.5},
        ...     "ratio": {"lr_min": 2.0, "lr_max": 31.6}, "agree": {"lr_min": True, "lr_max": False}})
        >>> for part in text.split("; "): print(part)
        lr_min: within one grid step (a factor 12.9) of each other
        lr_max: 31.6 times apart (more than one grid step, a factor 12.9)
    """
    parts = []
    step = agreement["grid_factor"]
    for bound in agreement.get("bounds", ("lr_min", "lr_max")):
        if agreement["agree"][bound]:
            parts.append(f"{bound}: within one grid step (a factor {step:.3g}) of each other")
        else:
            parts.append(f"{bound}: {agreement['ratio'][bound]:.3g} times apart (more than one grid step, "
                         f"a factor {step:.3g})")
    return "; ".join(parts)


def sweep_updates(lr_sweep_data: dict) -> dict:
    """Optimizer updates of the LR sweep: per run (until it finished or diverged) and in total.

    Example:
        >>> data = {"setup": {"train_images": 640}, "sweep": {"batch_size": 64, "epochs": 5,
        ...         "diverged": [False, True], "diverged_epoch": [-1, 1]}}
        >>> out = sweep_updates(data)
        >>> out["per_epoch"], out["per_run"].tolist(), out["total"]
        (10, [50, 20], 70)
    """
    sweep = lr_sweep_data["sweep"]
    per_epoch = int(lr_sweep_data["setup"]["train_images"]) // int(sweep["batch_size"])
    diverged = np.asarray(sweep["diverged"], bool)
    epochs_run = np.where(diverged, np.asarray(sweep["diverged_epoch"]) + 1, int(sweep["epochs"]))
    per_run = (epochs_run * per_epoch).astype(int)
    return {"per_epoch": per_epoch, "per_run": per_run, "total": int(per_run.sum())}


def range_test_updates(range_data: dict) -> int:
    """Batches (= optimizer updates) the range test trained before it stopped or completed.

    Example:
        >>> range_test_updates({"kept_steps": [0, 5, 9], "test": {"lrs": [1e-3, 1e-2, 1e-1]}})
        10
    """
    kept = np.asarray(range_data.get("kept_steps", []))
    return int(kept[-1]) + 1 if kept.size else len(range_data["test"]["lrs"])


def plateau_lines(suggestions: dict) -> list[str]:
    """One line per rule of a finder: its value, and whether it lies on a plateau (with the note).

    Example:
        >>> plateau_lines({"valley": {"value": 1.7e-7, "on_plateau": True, "note": "flat"},
        ...                "default": {"value": 0.01, "on_plateau": False, "note": "varies"}})
        ['valley 1.7e-07: ON A PLATEAU (flat)', 'default 0.01: not on a plateau (varies)']
    """
    lines = []
    for rule, s in suggestions.items():
        where = "ON A PLATEAU" if s.get("on_plateau") else "not on a plateau"
        note = f" ({s['note']})" if s.get("note") else ""
        lines.append(f"{rule} {s['value']:.2g}: {where}{note}")
    return lines


def range_test_overshoot(lr_sweep_data: dict, range_data: dict) -> dict:
    """The range test's last learning rate against the smallest rate at which a sweep run diverged.

    Measures the claim "a range test keeps going past the rate at which a full run would already
    blow up": ``went_past`` is True when the range test trained at a rate above the sweep's smallest
    diverging one (``factor`` times it), None when no sweep run diverged.

    Example:
        >>> sweep = {"sweep": {"learning_rates": [1e-2, 1e-1, 1.0], "diverged": [False, False, True]}}
        >>> out = range_test_overshoot(sweep, {"test": {"lrs": [1e-3, 3.0], "stop_reason": "exploded"}})
        >>> out["went_past"], round(out["factor"], 1)
        (True, 3.0)
    """
    lrs = np.asarray(lr_sweep_data["sweep"]["learning_rates"], float)
    diverged = np.asarray(lr_sweep_data["sweep"]["diverged"], bool)
    last = float(np.asarray(range_data["test"]["lrs"], float)[-1])
    first_bad = float(lrs[diverged].min()) if diverged.any() else None
    return {"range_test_last_lr": last, "stop_reason": range_data["test"]["stop_reason"],
            "sweep_first_diverged_lr": first_bad, "sweep_largest_lr": float(lrs.max()),
            "went_past": None if first_bad is None else bool(last > first_bad),
            "factor": None if first_bad is None else last / first_bad}


def overshoot_sentence(overshoot: dict) -> str:
    """The measured answer to "does the range test go past a diverging rate?" in words."""
    last, why = overshoot["range_test_last_lr"], overshoot["stop_reason"]
    if overshoot["went_past"] is None:
        return (f"no sweep run diverged (up to lr {overshoot['sweep_largest_lr']:.2g}), so whether the range test "
                f"runs past a diverging rate cannot be read here; it stopped at lr {last:.2g} ({why})")
    bad = overshoot["sweep_first_diverged_lr"]
    if overshoot["went_past"]:
        return (f"the range test trained up to lr {last:.2g} ({why}), {overshoot['factor']:.3g} times the smallest "
                f"rate at which a sweep run diverged ({bad:.2g}): a single batch per rate does not blow up where "
                "whole epochs at that rate do")
    return (f"the range test stopped at lr {last:.2g} ({why}), below the smallest rate at which a sweep run "
            f"diverged ({bad:.2g})")


def shape_similarity(lr_sweep_data: dict, batch_sweep_data: dict) -> dict:
    """4.4's question: is loss vs batch size the loss-vs-LR curve seen through ``lr / B``?

    For plain SGD the displacement per epoch and the gradient noise both scale with ``lr / B``
    (``N / B`` updates of size ``lr``; noise scale ``g ~ lr N / B``, Smith & Le 2018). So the batch
    sweep at the fixed rate ``lr`` should reproduce the LR sweep (batch ``b0``) at the *equivalent*
    learning rate ``lr * b0 / B``. This reads the LR sweep's loss at each equivalent rate (linear
    interpolation in log lr between finite, non-diverged points) and reports the deviations, their
    largest value as a fraction of the batch curve's own span (max - min of the batch sweep's
    losses: a deviation is large or small relative to what the batch sweep itself varies), rank
    correlations of loss with the 'noise' coordinate (``log lr`` and ``-log B``) and where each curve
    has its minimum.

    Example:
        >>> lr = {"sweep": {"learning_rates": [1e-3, 1e-2, 1e-1], "diverged": [False] * 3, "batch_size": 64},
        ...       "final_losses": [2.0, 1.0, 0.5]}
        >>> bs = {"lr": 1e-2, "sweep": {"batch_sizes": [64, 128, 640], "diverged": [False] * 3},
        ...       "final_losses": [1.0, 0.9, 2.0]}
        >>> out = shape_similarity(lr, bs)
        >>> out["equivalent_lr"].round(3).tolist(), out["lr_curve_at_equivalent"].round(2).tolist()
        ([0.01, 0.005, 0.001], [1.0, 1.3, 2.0])
        >>> out["spearman"], round(out["max_deviation_fraction"], 2)
        ({'loss_vs_log_lr': -1.0, 'loss_vs_minus_log_batch': -0.5}, 0.36)
    """

    def curve(xs, losses, diverged):
        xs, losses = np.asarray(xs, float), np.asarray(losses, float)
        ok = np.isfinite(losses) & ~np.asarray(diverged, bool)
        return xs[ok], losses[ok]

    lrs, lr_loss = curve(lr_sweep_data["sweep"]["learning_rates"], lr_sweep_data["final_losses"],
                         lr_sweep_data["sweep"]["diverged"])
    bss, bs_loss = curve(batch_sweep_data["sweep"]["batch_sizes"], batch_sweep_data["final_losses"],
                         batch_sweep_data["sweep"]["diverged"])

    def spearman(a, b):
        if len(a) < 3:
            return math.nan
        ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
        return float(np.corrcoef(ra, rb)[0, 1])

    def where_min(losses):
        i = int(np.argmin(losses))
        return "first" if i == 0 else "last" if i == len(losses) - 1 else "interior"

    equivalent = float(batch_sweep_data["lr"]) * int(lr_sweep_data["sweep"]["batch_size"]) / bss
    inside = (equivalent >= lrs.min() * (1 - 1e-9)) & (equivalent <= lrs.max() * (1 + 1e-9))
    on_lr_curve = np.full(len(bss), np.nan)
    on_lr_curve[inside] = np.interp(np.log10(equivalent[inside]), np.log10(lrs), lr_loss)
    deviation = bs_loss - on_lr_curve
    batch_span = float(bs_loss.max() - bs_loss.min()) if len(bs_loss) else math.nan
    worst = float(np.nanmax(np.abs(deviation))) if np.isfinite(deviation).any() else math.nan
    return {
        "equivalent_lr": equivalent, "batch_sizes": bss, "batch_losses": bs_loss,
        "lr_curve_at_equivalent": on_lr_curve, "deviation": deviation,
        "max_abs_deviation": worst, "batch_curve_span": batch_span,
        "max_deviation_fraction": worst / batch_span if batch_span and np.isfinite(worst) else math.nan,
        "spearman": {"loss_vs_log_lr": spearman(np.log10(lrs), lr_loss),
                     "loss_vs_minus_log_batch": spearman(-np.log2(bss), bs_loss)},
        "minimum_at": {"lr": where_min(lr_loss), "batch": where_min(bs_loss)},
        "finite_points": {"lr": int(len(lrs)), "batch": int(len(bss))},
        "points_on_lr_curve": int(np.isfinite(on_lr_curve).sum()),
    }


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


def compare_policies(per_run: dict) -> dict:
    """Table and verdict of 4.7 from ``{policy: {seed: run_data}}``.

    Per policy: mean and sd over seeds of the best validation accuracy and the final test accuracy.
    Per pair: the paired (same seed) test-accuracy difference. The winner is the policy with the
    highest mean test accuracy; its margin over the runner-up is compared with the seed-to-seed
    spread of those two policies (``seed_sd``: the root mean square of their two sds; a third
    policy's seed noise says nothing about these two). ``pooled_sd`` pools over every policy.

    Example:
        >>> runs = {"A": {0: {"test_accuracy": .90, "best_val_accuracy": .91},
        ...               1: {"test_accuracy": .92, "best_val_accuracy": .93}},
        ...         "B": {0: {"test_accuracy": .80, "best_val_accuracy": .81},
        ...               1: {"test_accuracy": .81, "best_val_accuracy": .80}}}
        >>> out = compare_policies(runs)
        >>> out["winner"], round(out["margin"], 3)
        ('A', 0.105)
    """
    table = {}
    for policy, runs in per_run.items():
        seeds = sorted(runs)
        test = np.array([runs[s]["test_accuracy"] for s in seeds], dtype=float)
        val = np.array([runs[s]["best_val_accuracy"] for s in seeds], dtype=float)
        table[policy] = {
            "seeds": seeds, "test_accuracy": test, "best_val_accuracy": val,
            "test_mean": float(test.mean()), "test_sd": float(test.std(ddof=1)) if len(test) > 1 else math.nan,
            "val_mean": float(val.mean()), "val_sd": float(val.std(ddof=1)) if len(val) > 1 else math.nan,
        }
    ranking = sorted(table, key=lambda p: -table[p]["test_mean"])
    winner, runner_up = ranking[0], ranking[1]
    margin = table[winner]["test_mean"] - table[runner_up]["test_mean"]
    def rms_sd(policies):
        variances = [table[p]["test_sd"] ** 2 for p in policies if np.isfinite(table[p]["test_sd"])]
        return float(math.sqrt(np.mean(variances))) if len(variances) == len(policies) else math.nan

    spread = rms_sd([winner, runner_up])
    pairs = {}
    for i, a in enumerate(ranking):
        for b in ranking[i + 1:]:
            common = sorted(set(table[a]["seeds"]) & set(table[b]["seeds"]))
            pairs[f"{a} - {b}"] = stats.paired_difference([per_run[a][s]["test_accuracy"] for s in common],
                                                          [per_run[b][s]["test_accuracy"] for s in common])
    return {"table": table, "ranking": ranking, "winner": winner, "runner_up": runner_up, "margin": float(margin),
            "seed_sd": spread, "pooled_sd": rms_sd(list(table)),
            "margin_over_sd": float(margin / spread) if spread and spread > 0 else math.inf,
            "pairs": pairs}


def reference_gap(test_accuracy: float, setup: dict, epochs: int) -> dict:
    """How far a CLR run's test accuracy is from pyimagesearch's 94 %, and what differs from that run.

    Example:
        >>> out = reference_gap(0.88, {"train_images": 8192, "width": 0.125, "published_network": False}, 8)
        >>> round(out["gap_points"], 1), out["causes"][0]
        (6.0, '8192 instead of 60000 training images')
    """
    causes = []
    if setup["train_images"] < 54000:
        causes.append(f"{setup['train_images']} instead of 60000 training images")
    if not setup.get("published_network", True):
        causes.append(f"every filter count x {setup['width']:g} (the published network has "
                      "1,654,522 parameters)")
    if epochs < FULL_SPEC_EPOCHS:
        causes.append(f"{epochs} instead of the full specification's {FULL_SPEC_EPOCHS} epochs")
    return {"reference": PYIMAGESEARCH_CLR_ACCURACY, "gap_points": 100 * (PYIMAGESEARCH_CLR_ACCURACY - test_accuracy),
            "causes": causes}


def below_untrained(lr_sweep_data: dict, batch_sweep_data: dict, rtol: float = PLATEAU_RTOL) -> dict:
    """Did the batch sweep's smallest batch end measurably below the untrained loss (4.4)?

    The reference is the untrained network's training-mode loss (4.2's loss at its smallest LR).
    "Measurably" means by more than the larger of ``rtol`` of it (the rules' plateau tolerance) and
    three times ``noise_sd``, the epoch-to-epoch standard deviation of the loss at 4.2's smallest
    LR (where the weights barely move, so it varies only with the data order and dropout; NaN with
    a single epoch).

    Example:
        >>> lr = {"reference_loss": 2.30, "sweep": {"losses": [[2.31, 2.29, 2.30], [1.0, 0.5, 0.4]]}}
        >>> bs = {"sweep": {"batch_sizes": [64, 128], "diverged": [False, False]}, "final_losses": [2.0, 2.2]}
        >>> out = below_untrained(lr, bs)
        >>> out["batch_size"], round(out["drop"], 2), round(out["threshold"], 3), out["measurable"]
        (64, 0.3, 0.03, True)
    """
    reference = float(lr_sweep_data["reference_loss"])
    untrained = np.asarray(lr_sweep_data["sweep"]["losses"], float)[0]
    untrained = untrained[np.isfinite(untrained)]
    noise_sd = float(np.std(untrained, ddof=1)) if untrained.size > 1 else math.nan
    sizes = np.asarray(batch_sweep_data["sweep"]["batch_sizes"])
    losses = np.asarray(batch_sweep_data["final_losses"], float)
    ok = np.isfinite(losses) & ~np.asarray(batch_sweep_data["sweep"]["diverged"], bool)
    if not ok.any():
        return {"batch_size": None, "loss": math.nan, "reference": reference, "drop": math.nan,
                "fraction": math.nan, "noise_sd": noise_sd, "threshold": math.nan, "measurable": False}
    i = int(np.flatnonzero(ok)[0])
    drop = reference - float(losses[i])
    threshold = max(rtol * abs(reference), 3 * noise_sd if np.isfinite(noise_sd) else 0.0)
    return {"batch_size": int(sizes[i]), "loss": float(losses[i]), "reference": reference, "drop": drop,
            "fraction": drop / abs(reference), "noise_sd": noise_sd, "threshold": threshold,
            "measurable": bool(drop > threshold)}


def noise_scale_summary(noise: dict) -> dict:
    """``B_simple`` per epoch of the gradient-noise finder (4.5) and how it moved along training.

    ``trend`` is ``"rose"`` / ``"fell"`` when the last finite estimate is above / below the first,
    ``None`` with fewer than two.

    Example:
        >>> out = noise_scale_summary({"probe": {"epoch": [0, 1, 2], "b_simple": [120.0, 300.0, 260.0]},
        ...                            "updates": 96})
        >>> out["epochs"].tolist(), out["trend"], out["factor"]
        ([1, 2, 3], 'rose', 2.1666666666666665)
    """
    probe = noise["probe"]
    epochs = np.asarray(probe["epoch"], int) + 1
    values = np.asarray(probe["b_simple"], float)
    finite = values[np.isfinite(values) & (values > 0)]
    trend = factor = None
    if finite.size > 1:
        factor = float(finite[-1] / finite[0])
        trend = "rose" if factor > 1 else "fell"
    return {"epochs": epochs, "b_simple": values, "trend": trend, "factor": factor,
            "smallest": float(finite.min()) if finite.size else math.nan,
            "largest": float(finite.max()) if finite.size else math.nan, "updates": int(noise["updates"])}


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


def temperature_comparison(runs: list[dict], comparison: dict) -> dict:
    """Does 4.7 compare policies, or temperatures? From ``p4.compare``'s ``runs`` and ``comparison``.

    Per policy, the hottest and coldest epoch of ``lr / B`` (the gradient-noise temperature, epoch
    means; seed 0's run, the trajectory is the same for every seed). ``cbs_hottest_over_clr_coldest``
    < 1 (within 1e-9) means the homework's CBS is never hotter than the CLR's coldest epoch: a CLR-vs-CBS
    difference then measures the temperature, not the policy. ``matched`` compares the noise-matched
    CBS with the CLR: ``within_spread`` when their mean test-accuracy difference is at most the
    pooled seed-to-seed sd (None with one seed), and ``temperature_ratio``, the matched CBS's
    ``lr / B`` over the CLR's per epoch (1 = a perfect trace).

    Example:
        >>> runs = [{"policy": "CLR", "seed": 0, "lr_over_b": [1e-4, 5e-4]},
        ...         {"policy": "CBS", "seed": 0, "lr_over_b": [2e-5, 1e-6]},
        ...         {"policy": "matched CBS", "seed": 0, "lr_over_b": [1e-4, 4e-4]}]
        >>> comparison = {"table": {"CLR": {"test_mean": .90}, "matched CBS": {"test_mean": .89},
        ...               "CBS": {"test_mean": .5}}, "seed_sd": 0.02}
        >>> out = temperature_comparison(runs, comparison)
        >>> out["cbs_hottest_over_clr_coldest"], out["compares_temperatures"], out["matched"]["within_spread"]
        (0.2, True, True)
    """
    first_seed = min(r["seed"] for r in runs)
    extremes = {}
    for r in runs:
        if r["seed"] == first_seed:
            trace = np.asarray(r["lr_over_b"], float)
            extremes[r["policy"]] = {"hottest": float(trace.max()), "coldest": float(trace.min())}
    out = {"extremes": extremes, "seed": first_seed, "cbs_hottest_over_clr_coldest": None,
           "compares_temperatures": None, "matched": None}
    if "CBS" in extremes and "CLR" in extremes:
        ratio = extremes["CBS"]["hottest"] / extremes["CLR"]["coldest"]
        out["cbs_hottest_over_clr_coldest"] = ratio
        out["compares_temperatures"] = bool(ratio <= 1 + 1e-9)
    table = comparison["table"]
    if "matched CBS" in table and "CLR" in table:
        diff = table["CLR"]["test_mean"] - table["matched CBS"]["test_mean"]
        # the spread of the two runs compared (a third policy's seed noise says nothing about these two)
        sds = [table[p].get("test_sd", math.nan) for p in ("CLR", "matched CBS")]
        spread = (float(math.sqrt(np.mean(np.square(sds)))) if all(np.isfinite(sds))
                  else comparison.get("seed_sd", math.nan))
        traces = {r["policy"]: np.asarray(r["lr_over_b"], float) for r in runs if r["seed"] == first_seed}
        ratio = (traces["matched CBS"] / traces["CLR"] if {"matched CBS", "CLR"} <= set(traces)
                 and len(traces["matched CBS"]) == len(traces["CLR"]) else np.array([]))
        out["matched"] = {"clr_minus_matched": float(diff), "seed_sd": spread,
                          "within_spread": None if not np.isfinite(spread) else bool(abs(diff) <= spread),
                          "temperature_ratio": ratio}
    return out
