"""Problem 4 finder readings: what the pages of 4.2, 4.4 and 4.5 compute from the stored finder results.

The P4 finders (the LR sweep and the LR range test of 4.2, the batch sweep of 4.4, the
gradient-noise-scale finder of 4.5) store their curves and the few readings a later run trains with
(lr_min, lr_max, the sweep's best LR, b_min, b_max); nothing here trains. Every other reading,
threshold and verdict about them is here and runs when a page renders, so changing one recomputes
nothing (this module is one of :data:`hw2.experiments.RENDER_ONLY_MODULES`). The readings of the
policy runs (4.3, 4.6, 4.7) are in :mod:`hw2.experiments.p4_policies_analysis`.

* :func:`setup_sentence` -- the data and network behind a result, in plain words (every P4 page);
* :func:`lr_readings`, :func:`range_test_readings`, :func:`batch_readings`, :func:`noise_readings`
  -- every finder rule read off a stored curve; :func:`lr_max_placement` -- where lr_max sits on
  the sweep and why;
* :func:`sweep_updates`, :func:`range_test_updates` -- how many optimizer updates a finder made;
* :func:`lr_agreement`, :func:`agreement_sentence` -- do the LR sweep and
  the range test give the same bounds (4.2)? :func:`batch_bound_agreement` asks the same of the two
  batch finders (4.5);
* :func:`plateau_lines` -- which rules landed on a flat stretch of their curve (4.2);
* :func:`range_test_overshoot`, :func:`overshoot_sentence` -- how far past the sweep's smallest
  diverging rate the range test ran;
* :func:`shape_similarity` -- is loss vs batch size the loss-vs-LR curve seen through ``lr / B`` (4.4)?
  :func:`similar_behaviour` -- 4.4's yes/no;
* :func:`below_untrained` -- did the smallest batch end measurably below the untrained loss (4.4)?
  :func:`update_limited` -- which batch sizes barely left it, after how many updates;
* :func:`noise_scale_summary` -- the gradient-noise finder's ``B_simple`` along training (4.5).
"""

from __future__ import annotations

import math

import numpy as np

from hw2.suggest import PLATEAU_RTOL


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


#: Two finders' bounds closer than this factor are called "the same" (a factor 1.5 is well inside
#: one step of any grid used here: x2 for batch sizes, x12.9 for the homework's LR sweep).
SAME_BOUND_FACTOR = 1.5


def _bound_agreement(first: dict, second: dict, bounds, grid) -> dict:
    grid = np.log10(np.asarray(grid, dtype=float))
    spacing = float(np.mean(np.diff(grid)))
    out = {"grid_spacing_decades": spacing, "grid_factor": 10.0 ** spacing, "decades": {}, "ratio": {},
           "same": {}, "within_step": {}, "steps": {}, "bounds": tuple(bounds)}
    for bound in bounds:
        a, b = float(first[bound]), float(second[bound])
        d = abs(math.log10(b) - math.log10(a))
        out["decades"][bound] = d
        out["ratio"][bound] = max(a, b) / min(a, b)
        out["same"][bound] = bool(out["ratio"][bound] <= SAME_BOUND_FACTOR)
        out["steps"][bound] = d / spacing
        out["within_step"][bound] = bool(d < spacing - 1e-9)
    return out


def lr_agreement(sweep: dict, range_readings: dict) -> dict:
    """How far apart are the sweep's (4.2) and the range test's bounds?

    Per bound: ``ratio`` (how many times larger one is), ``same`` (within
    :data:`SAME_BOUND_FACTOR`), ``steps`` (the distance in grid steps of the sweep) and
    ``within_step`` (less than one grid step apart: the sweep cannot tell such bounds apart, which
    is not the same as their being equal).

    Example:
        >>> s = {"lr_min": 1e-4, "lr_max": 1e-2, "sweep": {"learning_rates": np.logspace(-9, 1, 11)}}
        >>> out = lr_agreement(s, {"lr_min": 3e-4, "lr_max": 1e-4})
        >>> out["within_step"], out["same"]["lr_min"], round(out["ratio"]["lr_max"], 1)
        ({'lr_min': True, 'lr_max': False}, False, 100.0)
    """
    return _bound_agreement(sweep, range_readings, ("lr_min", "lr_max"), sweep["sweep"]["learning_rates"])


def batch_bound_agreement(batch_sweep: dict, noise_bounds: dict) -> dict:
    """How far apart are the loss-threshold batch finder's (4.4) and the gradient-noise finder's bounds (4.5)?

    As :func:`lr_agreement`, on the batch sweep's grid (powers of two: one step is a factor 2).
    ``noise_bounds`` is :func:`noise_readings`' output.

    Example:
        >>> sweep = {"b_min": 256, "b_max": 2048, "sweep": {"batch_sizes": [64, 128, 256, 512, 1024, 2048]}}
        >>> out = batch_bound_agreement(sweep, {"b_min": 128, "b_max": 8192})
        >>> {bound: round(steps, 6) for bound, steps in out["steps"].items()}, out["ratio"]["b_max"]
        ({'b_min': 1.0, 'b_max': 2.0}, 4.0)
    """
    return _bound_agreement(batch_sweep, noise_bounds, ("b_min", "b_max"), batch_sweep["sweep"]["batch_sizes"])


def _times(ratio: float) -> str:
    """A ratio in words-friendly digits: 2.5, 31.6, 193, 1,390."""
    return f"{ratio:,.0f}" if ratio >= 100 else f"{ratio:.3g}"


def agreement_sentence(agreement: dict) -> str:
    """One clause per bound: the same, how many times apart, and whether the grid can tell them apart.

    Example:
        >>> text = agreement_sentence({"grid_factor": 12.9, "ratio": {"lr_min": 7.8, "lr_max": 31.6, "x": 1.2},
        ...     "same": {"lr_min": False, "lr_max": False, "x": True}, "steps": {"lr_min": 0.8, "lr_max": 1.35, "x": 0},
        ...     "within_step": {"lr_min": True, "lr_max": False, "x": True}, "bounds": ("lr_min", "lr_max", "x")})
        >>> for part in text.split("; "): print(part)
        lr_min 7.8 times apart, less than one sweep step (x12.9), so the sweep cannot tell them apart
        lr_max 31.6 times apart, more than one sweep step (x12.9)
        x the same (within a factor 1.2)
        >>> agreement_sentence({"grid_factor": 2.0, "ratio": {"b_min": 2.0}, "same": {"b_min": False},
        ...                     "steps": {"b_min": 1.0}, "within_step": {"b_min": False}, "bounds": ("b_min",)})
        'b_min 2 times apart: one step of the grid (x2), neighbouring grid points'
    """
    parts = []
    step = agreement["grid_factor"]
    for bound in agreement.get("bounds", ("lr_min", "lr_max")):
        ratio = agreement["ratio"][bound]
        if agreement["same"][bound]:
            parts.append(f"{bound} the same" + ("" if ratio == 1 else f" (within a factor {ratio:.2g})"))
        elif agreement["within_step"][bound]:
            parts.append(f"{bound} {_times(ratio)} times apart, less than one sweep step (x{step:.3g}), so the "
                         "sweep cannot tell them apart")
        elif abs(agreement.get("steps", {}).get(bound, math.nan) - 1) < 1e-6:
            parts.append(f"{bound} {_times(ratio)} times apart: one step of the grid (x{step:.3g}), neighbouring "
                         "grid points")
        else:
            parts.append(f"{bound} {_times(ratio)} times apart, more than one sweep step (x{step:.3g})")
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


def below_untrained(lr_sweep_data: dict, batch_sweep_data: dict, rtol: float | None = None) -> dict:
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
    rtol = PLATEAU_RTOL if rtol is None else float(rtol)
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


def lr_readings(lr_sweep_data: dict) -> dict:
    """Every rule of :data:`hw2.suggest.LR_RULES` on the stored LR sweep (as ``Suggestion.to_dict()``).

    The default rule reads with the sweep's untrained training-mode loss as its reference; its
    ``low`` / ``high`` equal the stored ``lr_min`` / ``lr_max`` unless the rule changed since the
    sweep was stored (the stored ones are what the policies trained with).
    """
    from hw2.suggest import LR_RULES
    from hw2.sweeps import LRSweepResult

    sweep = LRSweepResult.from_dict(lr_sweep_data["sweep"])
    reference = lr_sweep_data["reference_loss"]
    return {rule: sweep.suggest(rule, **({"reference": reference} if rule == "default" else {})).to_dict()
            for rule in LR_RULES}


def range_test_readings(range_data: dict) -> dict:
    """Every LR rule on the stored range test, plus ``lr_min`` / ``lr_max`` / ``reference_loss`` of its default.

    The reference is :func:`hw2.experiments.p4_finders.range_test_reference` (the mean batch loss
    over the first 5 % of the steps).
    """
    from hw2.experiments.p4_finders import range_test_reference, range_test_result
    from hw2.suggest import LR_RULES

    test = range_test_result(range_data)
    reference = range_test_reference(range_data["test"])
    rules = {rule: test.suggest(rule, **({"reference": reference} if rule == "default" else {})).to_dict()
             for rule in LR_RULES}
    return {"rules": rules, "lr_min": float(rules["default"]["low"]), "lr_max": float(rules["default"]["high"]),
            "reference_loss": reference}


def lr_max_placement(lr_sweep_data: dict) -> dict:
    """Where the stored lr_max sits on the sweep, and why the rule put it there.

    The default rule reads lr_max at the first rate whose loss drop reaches 90 % of the total (the
    end of the steep descent). pyimagesearch and the homework read it by eye "before the loss turns
    up": the last rate before the loss rises or the runs diverge. On a coarse grid the 90 % point
    and the lowest-loss point are often the same grid point. Returns the index of lr_max and of the
    lowest loss, the drop fraction of the point before lr_max, and what the next point does
    (``"diverged"``, ``"rises"``, ``"falls"`` or ``None`` at the end of the grid).

    Example:
        >>> data = {"lr_max": 1e-1, "reference_loss": 2.3, "final_losses": [2.3, 2.2, 1.0, 0.5, np.nan],
        ...         "sweep": {"learning_rates": [1e-4, 1e-3, 1e-2, 1e-1, 1.0],
        ...                   "diverged": [False, False, False, False, True]}}
        >>> out = lr_max_placement(data)
        >>> out["at_lowest_loss"], round(out["drop_before"], 2), out["next"]
        (True, 0.72, 'diverged')
    """
    lrs = np.asarray(lr_sweep_data["sweep"]["learning_rates"], float)
    losses = np.asarray(lr_sweep_data["final_losses"], float)
    diverged = np.asarray(lr_sweep_data["sweep"]["diverged"], bool)
    ok = np.isfinite(losses) & ~diverged
    index = int(np.argmin(np.abs(np.log10(lrs) - math.log10(float(lr_sweep_data["lr_max"])))))
    best = int(np.flatnonzero(ok)[np.argmin(losses[ok])]) if ok.any() else -1
    reference = float(lr_sweep_data["reference_loss"])
    span = reference - float(losses[best]) if best >= 0 else math.nan
    drop_before = (reference - float(losses[index - 1])) / span if index > 0 and span > 0 else math.nan
    if index + 1 >= len(lrs):
        nxt = None
    elif not ok[index + 1]:
        nxt = "diverged"
    else:
        nxt = "rises" if losses[index + 1] > losses[index] else "falls"
    return {"index": index, "lr_max": float(lrs[index]), "lowest_index": best,
            "at_lowest_loss": bool(index == best), "drop_before": float(drop_before), "next": nxt,
            "grid_factor": float(10 ** np.mean(np.diff(np.log10(lrs))))}


def batch_readings(batch_data: dict) -> dict:
    """The loss-threshold rule on the stored batch sweep (``Suggestion.to_dict()``, with its evidence).

    ``b_min`` / ``b_max`` of the result are the stored ones (the CBS trained with them); ``b_min_at_edge``
    / ``b_max_at_edge`` say that a bound is the smallest / largest batch size searched, so the true
    bound may lie beyond the grid.
    """
    from hw2.sweeps import BatchSweepResult

    sweep = BatchSweepResult.from_dict(batch_data["sweep"])
    rule = sweep.suggest("default", reference=batch_data["reference_loss"]).to_dict()
    sizes = [int(b) for b in batch_data["sweep"]["batch_sizes"]]
    return dict(rule, b_min=int(batch_data["b_min"]), b_max=int(batch_data["b_max"]),
                b_min_at_edge=int(batch_data["b_min"]) == sizes[0],
                b_max_at_edge=int(batch_data["b_max"]) == sizes[-1], grid=(sizes[0], sizes[-1]))


def noise_readings(noise_data: dict, b_low: int, b_high: int) -> dict:
    """:func:`hw2.noise_scale.suggest_bounds` on the stored ``B_simple`` per epoch, clipped to [b_low, b_high]."""
    from hw2.noise_scale import suggest_bounds

    return suggest_bounds(noise_data["probe"]["b_simple"], b_low, b_high)


#: A batch-sweep run "did not move" when its final loss is within this of the untrained loss
#: (absolute cross-entropy; the epoch-to-epoch noise at 4.2's smallest LR is about 0.005).
UNMOVED_LOSS_TOL = 0.02


def update_limited(lr_sweep_data: dict, batch_data: dict, tol: float | None = None) -> dict:
    """Which batch sizes of 4.4 ended within ``tol`` of the untrained loss, and after how many updates.

    At a fixed learning rate and number of epochs a batch ``k`` times larger makes ``k`` times
    fewer updates; if the large batches barely left the untrained loss, the curve mostly counts
    updates. Returns the smallest such batch size, the most updates any of them made, the fewest
    updates of a batch size that moved, and ``mostly_updates`` (at least half the batch sizes did
    not move).

    Example:
        >>> lr = {"reference_loss": 2.30}
        >>> bs = {"final_losses": [1.5, 2.0, 2.29, 2.30], "sweep": {"batch_sizes": [64, 128, 256, 512],
        ...       "steps": [640, 320, 160, 80], "diverged": [False] * 4}}
        >>> out = update_limited(lr, bs)
        >>> out["unmoved_from"], out["most_updates_unmoved"], out["mostly_updates"]
        (256, 160, True)
    """
    tol = UNMOVED_LOSS_TOL if tol is None else float(tol)
    reference = float(lr_sweep_data["reference_loss"])
    sizes = np.asarray(batch_data["sweep"]["batch_sizes"], int)
    steps = np.asarray(batch_data["sweep"]["steps"], int)
    losses = np.asarray(batch_data["final_losses"], float)
    unmoved = np.isfinite(losses) & (np.abs(losses - reference) <= tol)
    return {"tol": tol, "unmoved": unmoved, "unmoved_sizes": sizes[unmoved].tolist(),
            "unmoved_from": int(sizes[unmoved].min()) if unmoved.any() else None,
            "most_updates_unmoved": int(steps[unmoved].max()) if unmoved.any() else None,
            "fewest_updates_moved": int(steps[~unmoved].min()) if (~unmoved).any() else None,
            "mostly_updates": bool(unmoved.sum() * 2 >= len(sizes))}


#: 4.4's "similar behaviour": both curves' loss falls as the noise coordinate grows (rank
#: correlation at most minus this), over the range the batch sweep maps onto.
SIMILAR_RANK = 0.8


def similar_behaviour(similarity: dict, moved: dict, lr_descends: bool = True) -> dict:
    """4.4's yes/no: does loss vs batch size behave like loss vs learning rate?

    4.2's curve has a descending branch (``lr_descends``: its reading was reliable, the loss fell
    measurably between lr_min and lr_max). ``answer`` is ``"yes"`` when the batch curve behaves
    the same way in the noise coordinate: the smallest batch moved the loss measurably
    (:func:`below_untrained`) and the loss falls as ``-log B`` grows (Spearman <=
    -:data:`SIMILAR_RANK`); ``"no"`` when it does not; ``"cannot tell"`` when even the smallest
    batch did not move the loss or 4.2 has no descending branch. ``lr_rank`` is 4.2's rank
    correlation read at the batch sizes' equivalent rates ``lr * b0 / B`` (None with fewer than three
    inside its range): whether that piece of 4.2's curve falls too, which is the stronger claim that
    the two curves are one (see :func:`shape_similarity`).

    Example:
        >>> sim = {"spearman": {"loss_vs_minus_log_batch": -1.0}, "equivalent_lr": np.array([1e-2, 5e-3, 1e-3]),
        ...        "lr_curve_at_equivalent": np.array([1.0, 1.3, 2.0])}
        >>> out = similar_behaviour(sim, {"measurable": True})
        >>> out["answer"], out["lr_rank"]
        ('yes', -1.0)
        >>> similar_behaviour(sim, {"measurable": False})["answer"]
        'cannot tell'
    """
    rho = similarity["spearman"]["loss_vs_minus_log_batch"]
    rates = np.asarray(similarity["equivalent_lr"], float)
    on_curve = np.asarray(similarity["lr_curve_at_equivalent"], float)
    inside = np.isfinite(on_curve)
    lr_rank = None
    if inside.sum() >= 3:
        a, b = np.argsort(np.argsort(np.log10(rates[inside]))), np.argsort(np.argsort(on_curve[inside]))
        lr_rank = float(np.corrcoef(a, b)[0, 1])
    if not moved["measurable"] or not lr_descends:
        answer = "cannot tell"
    elif np.isfinite(rho) and rho <= -SIMILAR_RANK:
        answer = "yes"
    else:
        answer = "no"
    return {"answer": answer, "rank": rho, "lr_rank": lr_rank}
