"""Readings of the stored Problem 2 (initialization, dying ReLU) results that the report's pages print.

Render-only: this module is one of :data:`hw2.experiments.RENDER_ONLY_MODULES`; no computation
imports it, so changing a rule or a sentence here recomputes nothing.

* 2.1 (``p2.init``): :data:`SPREAD` -- the one measure of activation scale; :func:`scale_rows`,
  :func:`scale_table` -- factors per layer, saturated share and verdict per case;
  :func:`saturation_margin` -- which saturation thresholds give the same verdicts;
  :func:`relu_theory` -- Glorot vs He for ReLU against the variance argument; :func:`answer_21`.
* 2.2 / 2.3 (``p2.dying_relu_long``, the converged run, with ``p2.dying_relu``, its first 50
  epochs): :func:`pct`; :func:`convergence_text`, :func:`count_table` -- when the collapse counts
  stopped changing; :func:`snapshot_agreement` -- the converged run's epoch 50 against the 50-epoch
  run; :func:`constant_at_init` -- near-constant at initialization vs born dead;
  :func:`fit_classes` -- what the networks learned; :func:`tolerance_rows`, :func:`tolerance_table`
  -- the answer against the collapse tolerance, with the paired ReLU - Leaky ReLU difference;
  :func:`verdict_lu`, :func:`answer_22`, :func:`answer_23`.
"""

from __future__ import annotations

import numpy as np

from hw2 import stats
from hw2._checks import argument_error
from hw2.init_study import SATURATION_THRESHOLD, SCALE_THRESHOLD, parse_case, saturation_applies

#: The one measure of activation scale on page 2.1 (``activation_signal_std`` of
#: :func:`hw2.init_study.layer_statistics`): it ignores unit-to-unit offsets that carry nothing
#: about the image (small-σ sigmoid units each pinned at its own constant near 0.5).
SPREAD = ("spread = the standard deviation of a unit's output over the images, averaged over the "
          "layer's units")


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell: the first left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                               enumerate(zip(row, widths))) for row in [header, *rows])


def factor_text(value: float) -> str:
    """A per-layer factor in fixed decimals: ``'×0.10'``; ``'n/a'`` when not finite.

    Example:
        >>> factor_text(0.1013), factor_text(53.77), factor_text(float("nan"))
        ('×0.10', '×53.77', 'n/a')
    """
    return f"×{value:.2f}" if np.isfinite(value) else "n/a"


# ------------------------------------------------------------------------------------------- 2.1
def scale_rows(data: dict) -> list[dict]:
    """One row per case of a ``p2.init`` result: ``case``, ``label``, ``activation``, the per-layer
    factors of the spread and of the weight gradients, the largest saturated share over the hidden
    layers (``nan`` for ReLU, which cannot saturate), ReLU's largest share of zeros, the verdict.

    Example:
        >>> data = {"cases": ["relu/he_normal"], "labels": ["relu, He normal"],
        ...         "activation_saturated": np.array([[0.5, 0.55]]),
        ...         "summary": {"relu/he_normal": {"activation_factor": 0.9, "gradient_factor": 1.0,
        ...                                        "saturated_max": float("nan"), "verdict": "keeps its scale"}}}
        >>> scale_rows(data)[0]["zeros_max"]
        0.55
    """
    rows = []
    for i, case in enumerate(data["cases"]):
        s, activation = data["summary"][case], parse_case(case)[0]
        flat = np.asarray(data["activation_saturated"][i], dtype=float)
        rows.append({"case": case, "label": data["labels"][i], "activation": activation,
                     "activation_factor": s["activation_factor"], "gradient_factor": s["gradient_factor"],
                     "saturated_max": float(flat.max()) if saturation_applies(activation) else float("nan"),
                     "zeros_max": float("nan") if saturation_applies(activation) else float(flat.max()),
                     "verdict": s["verdict"]})
    return rows


def scale_table(data: dict, cases=None) -> str:
    """Plain-text table of :func:`scale_rows` (all cases, or those named in ``cases``): the spread's and
    the weight gradient's factor per layer, the largest saturated share, the verdict."""
    rows = [r for r in scale_rows(data) if cases is None or r["case"] in cases]
    body = [[r["label"], factor_text(r["activation_factor"]), factor_text(r["gradient_factor"]),
             f"{100 * r['saturated_max']:.0f} %" if np.isfinite(r["saturated_max"]) else "cannot",
             r["verdict"]] for r in rows]
    return _text_table(["case", "spread per layer", "gradient per layer", "saturated (worst layer)", "verdict"],
                       body)


def saturation_margin(data: dict) -> tuple[float, float]:
    """``(low, high)``: every saturation threshold in ``(low, high]`` gives the same verdicts -- the
    largest worst-layer saturated share below :data:`SATURATION_THRESHOLD` and the smallest at or
    above it (0 / 1 when there is none).

    Example:
        >>> rows = {"cases": ["tanh/normal(1)", "tanh/normal(0.1)"], "labels": ["a", "b"],
        ...         "activation_saturated": np.array([[0.9, 0.8], [0.01, 0.0]]),
        ...         "summary": {c: {"activation_factor": 1.0, "gradient_factor": 1.0, "verdict": "v"}
        ...                     for c in ["tanh/normal(1)", "tanh/normal(0.1)"]}}
        >>> saturation_margin(rows)
        (0.01, 0.9)
    """
    shares = np.array([r["saturated_max"] for r in scale_rows(data) if np.isfinite(r["saturated_max"])])
    below, above = shares[shares < SATURATION_THRESHOLD], shares[shares >= SATURATION_THRESHOLD]
    return (float(below.max()) if below.size else 0.0, float(above.min()) if above.size else 1.0)


def relu_theory(data: dict) -> dict | None:
    """ReLU's spread factor per layer with Glorot and with He normal, the variance argument's values
    (1/√2 and 1), and He / Glorot (√2 exactly: He's draws are Glorot's times √2 for square layers and
    ReLU is positively homogeneous). ``None`` if either case is missing."""
    rows = {r["case"]: r for r in scale_rows(data)}
    if "relu/glorot_normal" not in rows or "relu/he_normal" not in rows:
        return None
    glorot, he = rows["relu/glorot_normal"]["activation_factor"], rows["relu/he_normal"]["activation_factor"]
    return {"glorot": glorot, "he": he, "glorot_theory": 2 ** -0.5, "he_theory": 1.0, "ratio": he / glorot,
            "glorot_vs_theory": glorot * 2 ** 0.5, "he_vs_theory": he}


def in_band(factor: float) -> bool:
    """Whether a factor per layer lies within ``[1/T, T]`` (:data:`hw2.init_study.SCALE_THRESHOLD`).

    Example:
        >>> in_band(0.87), in_band(0.61)
        (True, False)
    """
    return bool(np.isfinite(factor) and 1 / SCALE_THRESHOLD <= factor <= SCALE_THRESHOLD)


def answer_21(data: dict) -> str:
    """The 2.1 answer: small weights vanish, large ones saturate, Glorot for tanh, He for ReLU."""
    rows = {r["case"]: r for r in scale_rows(data)}
    parts = []
    small = rows.get("tanh/normal(0.01)")
    if small:
        parts.append(f"Small weights make activations vanish (tanh, N(0, 0.01): spread "
                     f"{factor_text(small['activation_factor'])} per layer)")
    big = [rows[c] for c in ("tanh/normal(1)", "sigmoid/normal(1)") if c in rows]
    if big and all(r["verdict"] == "saturates" for r in big):
        parts.append("N(0, 1) saturates tanh and sigmoid (" + " and ".join(
            f"{100 * r['saturated_max']:.0f} %" for r in big) + " of a layer saturated)")
    tanh, sig = rows.get("tanh/glorot_normal"), rows.get("sigmoid/glorot_normal")
    if tanh and sig:
        keeps = "keeps" if tanh["verdict"] == "keeps its scale" else "does not keep"
        parts.append(f"Glorot {keeps} tanh's scale ({factor_text(tanh['activation_factor'])}), "
                     f"{'also' if sig['verdict'] == 'keeps its scale' else 'not'} sigmoid's (gradients "
                     f"{factor_text(sig['gradient_factor'])} per layer)")
    theory = relu_theory(data)
    if theory:
        he_keeps = in_band(theory["he"]) and not in_band(theory["glorot"])
        parts.append(f"ReLU {'keeps it with He' if he_keeps else 'with He'} ({factor_text(theory['he'])}), "
                     f"{'not' if he_keeps else 'with'} Glorot ({factor_text(theory['glorot'])})")
    return "; ".join(parts) + "."


# ------------------------------------------------------------------------------------- 2.2 / 2.3
def pct(p: dict) -> str:
    """A stored proportion with its Wilson interval: ``'94.2 % (95 % CI 92.6–95.5 %)'``.

    Example:
        >>> pct({"fraction": 0.942, "ci95": [0.9258, 0.9549]})
        '94.2 % (95 % CI 92.6–95.5 %)'
    """
    return f"{100 * p['fraction']:.1f} % (95 % CI {100 * p['ci95'][0]:.1f}–{100 * p['ci95'][1]:.1f} %)"


ARM_LABELS = {"relu": "ReLU", "leaky_relu": "Leaky ReLU", "relu+rai": "ReLU + RAI"}


def convergence_text(data: dict, config: dict) -> str:
    """When and how the converged run stopped: by its rule (at most ``max_change`` networks per arm
    changed collapsed status within the last ``window`` epochs) or at the epoch cap; each arm's last
    change.

    Example:
        >>> data = {"arms": ["relu"], "summary": {"epochs_run": 300, "stopped_by": "rule",
        ...         "relu": {"last_change_epoch": 20, "changed_in_last_window": 0}}}
        >>> print(convergence_text(data, {"max_change": 2, "window": 250, "n_simulations": 10,
        ...                               "max_epochs": 5000}))  # doctest: +NORMALIZE_WHITESPACE
        training stopped after 300 epochs by the rule (at most 2 of 10 networks per arm changed
        collapsed status within the last 250 epochs); last change: ReLU epoch 20 (0 within the last 250 epochs)
    """
    s = data["summary"]
    arms = "; ".join(f"{ARM_LABELS.get(a, a)} epoch {s[a]['last_change_epoch']} ({s[a]['changed_in_last_window']} "
                     f"within the last {config['window']} epochs)" for a in data["arms"])
    if s["stopped_by"] == "rule":
        how = (f"by the rule (at most {config['max_change']} of {config['n_simulations']} networks per arm "
               f"changed collapsed status within the last {config['window']} epochs)")
    else:
        how = f"at the {config['max_epochs']}-epoch cap, before the rule was met"
    return f"training stopped after {s['epochs_run']} epochs {how}; last change: {arms}"


def count_table(data: dict, epochs=(0, 1, 5, 20, 50, 100, 250, 500, 1000, 2000, 4000)) -> str:
    """Plain-text table: the collapsed share of each arm at the given checkpoint epochs (and the
    last), and how many networks changed status since the previous row.

    Example:
        >>> data = {"arms": ["relu"], "checkpoint_epochs": np.array([0, 1, 2]),
        ...         "collapsed_counts": np.array([[8], [9], [9]]), "changed_counts": np.array([[0], [1], [0]]),
        ...         "per_arm": {"relu": {"collapsed": np.zeros(10, bool)}}}
        >>> print(count_table(data, epochs=(0, 1)))
        epoch  ReLU collapsed  changed
        0              80.0 %        –
        1              90.0 %        1
        2              90.0 %        0
    """
    marks = np.asarray(data["checkpoint_epochs"])
    n = len(next(iter(data["per_arm"].values()))["collapsed"])
    keep = [i for i, e in enumerate(marks) if e in set(epochs)]
    keep = sorted(set(keep) | {len(marks) - 1})
    header = ["epoch"]
    for arm in data["arms"]:
        header += [f"{ARM_LABELS.get(arm, arm)} collapsed", "changed"]
    rows, previous = [], None
    for i in keep:
        row = [str(int(marks[i]))]
        for a in range(len(data["arms"])):
            changed = "–" if previous is None else str(int(data["changed_counts"][previous + 1: i + 1, a].sum()))
            row += [f"{100 * data['collapsed_counts'][i, a] / n:.1f} %", changed]
        rows.append(row)
        previous = i
    return _text_table(header, rows)


def snapshot_agreement(long_arm: dict, short_arm: dict) -> dict:
    """How many networks have the same collapsed status after the snapshot epoch of the converged
    run as at the end of the 50-epoch run (the same simulations), and both counts.

    Example:
        >>> snapshot_agreement({"collapsed_at_snapshot": np.array([1, 0, 1], bool)},
        ...                    {"collapsed": np.array([1, 0, 0], bool)})
        {'same': 2, 'n': 3, 'long': 2, 'short': 1}
    """
    a, b = np.asarray(long_arm["collapsed_at_snapshot"], bool), np.asarray(short_arm["collapsed"], bool)
    if a.shape != b.shape:
        raise argument_error(("long_arm", "short_arm"), "the same simulations",
                             received=f"{a.size} and {b.size} networks")
    return {"same": int(np.sum(a == b)), "n": int(a.size), "long": int(a.sum()), "short": int(b.sum())}


def constant_at_init(arm: dict) -> dict:
    """Near-constant at initialization (output test) against born dead (a layer off everywhere), per
    network: both counts, the near-constant networks with no dead layer, the range of their output
    spread at initialization, and how many of those are collapsed / dead at the end.

    Example:
        >>> arm = {"constant_at_init": np.array([1, 1, 0], bool), "born_dead": np.array([1, 0, 0], bool),
        ...        "relative_spread_at_init": np.array([0.0, 2e-4, 0.5]), "collapsed": np.array([1, 0, 0], bool),
        ...        "dead": np.array([1, 0, 0], bool)}
        >>> out = constant_at_init(arm)
        >>> out["constant"], out["born_dead"], out["alive_flat"], out["alive_flat_spread"]
        (2, 1, 1, (0.0002, 0.0002))
    """
    const, dead = np.asarray(arm["constant_at_init"], bool), np.asarray(arm["born_dead"], bool)
    flat = const & ~dead
    spread = np.asarray(arm["relative_spread_at_init"], float)[flat]
    return {"n": int(const.size), "constant": int(const.sum()), "born_dead": int(dead.sum()),
            "alive_flat": int(flat.sum()), "dead_not_constant": int(np.sum(dead & ~const)),
            "alive_flat_spread": (float(spread.min()), float(spread.max())) if spread.size else None,
            "alive_flat_collapsed_end": int(np.sum(np.asarray(arm["collapsed"], bool)[flat])),
            "alive_flat_dead_end": int(np.sum(np.asarray(arm["dead"], bool)[flat]))}


def fit_classes(mse, variance: float) -> dict:
    """Shares of networks that fit the target (MSE < 1 % of its variance), reach only the constant
    level (MSE >= 90 % of it: the best constant's MSE is the variance) and in between.

    Example:
        >>> fit_classes(np.array([0.001, 0.3, 0.6, 0.59]), 0.6)
        {'fits': 0.25, 'partial': 0.25, 'constant_level': 0.5}
    """
    mse = np.asarray(mse, float)
    fits, flat = mse < 0.01 * variance, mse >= 0.9 * variance
    return {"fits": float(fits.mean()), "partial": float(np.mean(~fits & ~flat)), "constant_level": float(flat.mean())}


def tolerance_rows(data: dict, a: str = "relu", b: str = "leaky_relu") -> list[dict]:
    """Per tolerance of the grid: each arm's collapsed share with its Wilson interval (on the final
    networks' relative spreads) and the paired difference ``a - b`` with its 95 % interval."""
    rows = []
    spread = {arm: np.asarray(data["per_arm"][arm]["relative_spread"], float) for arm in (a, b)}
    for t in np.asarray(data["tolerance_grid"], float):
        flags = {arm: np.nan_to_num(spread[arm], nan=np.inf) <= t for arm in (a, b)}
        row = {"tolerance": float(t)}
        for arm in (a, b):
            count, n = int(flags[arm].sum()), flags[arm].size
            row[arm] = {"fraction": count / n, "ci95": list(stats.wilson_interval(count, n))}
        diff = stats.paired_difference(flags[a].astype(float), flags[b].astype(float))
        row["difference"] = {"value": diff["mean_diff"], "ci95": [diff["ci_low"], diff["ci_high"]],
                             "significant": diff["significant"]}
        rows.append(row)
    return rows


def short_pct(p: dict) -> str:
    """``'94.2 (92.6–95.5)'``: a proportion in percent with its 95 % interval, for tables.

    Example:
        >>> short_pct({"fraction": 0.942, "ci95": [0.9258, 0.9549]})
        '94.2 (92.6–95.5)'
    """
    return f"{100 * p['fraction']:.1f} ({100 * p['ci95'][0]:.1f}–{100 * p['ci95'][1]:.1f})"


def tolerance_table(data: dict, a: str = "relu", b: str = "leaky_relu") -> str:
    """Plain-text :func:`tolerance_rows`: tolerance, the two collapsed shares, the paired difference
    (all in percent or points, with 95 % intervals)."""
    body = [[f"{r['tolerance']:g}", short_pct(r[a]), short_pct(r[b]),
             f"{100 * r['difference']['value']:+.1f} ({100 * r['difference']['ci95'][0]:+.1f} to "
             f"{100 * r['difference']['ci95'][1]:+.1f})"] for r in tolerance_rows(data, a, b)]
    return _text_table(["tolerance", f"{ARM_LABELS[a]} % (95 % CI)", f"{ARM_LABELS[b]} % (95 % CI)",
                        "difference, points (paired 95 % CI)"], body)


def verdict_lu(p: dict, claim: float = 0.9) -> str:
    """Our collapsed share against Lu et al.'s "over 90 %", from its 95 % interval.

    Example:
        >>> verdict_lu({"fraction": 0.94, "ci95": [0.925, 0.955]})
        "above 90 %, in line with Lu et al.'s “over 90 %”"
    """
    low, high = p["ci95"]
    if low > claim:
        return f"above {100 * claim:.0f} %, in line with Lu et al.'s “over {100 * claim:.0f} %”"
    if high < claim:
        return f"below {100 * claim:.0f} %: Lu et al.'s “over {100 * claim:.0f} %” is not reproduced"
    return f"compatible with {100 * claim:.0f} % (the interval contains it)"


def answer_22(data: dict, config: dict) -> str:
    """The 2.2 answer from the converged run: the collapsed share against Lu et al.'s, born dead, and
    when the ReLU count last changed."""
    s = data["summary"]
    relu = s["relu"]
    how = ("training ran until the counts stopped changing" if s["stopped_by"] == "rule"
           else "the epoch cap ended training before the counts settled")
    return (f"{pct(relu['collapsed'])} of the {config['n_simulations']} ReLU networks end as a constant function, "
            f"{verdict_lu(relu['collapsed'])}; {100 * relu['born_dead']['fraction']:.1f} % are dead already at "
            f"initialization. No ReLU network changed status after epoch {relu['last_change_epoch']} of "
            f"{s['epochs_run']} ({how}).")


def answer_23(data: dict, config: dict) -> str:
    """The 2.3 answer from the converged run: Leaky ReLU's near-constant share, the paired difference
    with ReLU, and the range over the tolerance grid."""
    s = data["summary"]
    leaky, pair = s["leaky_relu"], s["relu_vs_leaky_relu"]["collapsed"]
    rows = tolerance_rows(data)
    low = min(r["leaky_relu"]["fraction"] for r in rows)
    high = max(r["leaky_relu"]["fraction"] for r in rows)
    if pair["significant"] and pair["difference"] > 0:
        effect = (f"{100 * pair['difference']:.1f} points fewer than ReLU (paired 95 % CI "
                  f"{100 * pair['ci95'][0]:.1f}–{100 * pair['ci95'][1]:.1f})")
    else:
        effect = (f"no clear difference from ReLU ({100 * pair['difference']:+.1f} points, paired 95 % CI "
                  f"{100 * pair['ci95'][0]:+.1f} to {100 * pair['ci95'][1]:+.1f})")
    if not leaky["collapsed"]["count"]:
        prevents = "Leaky ReLU prevents the collapse"
    elif pair["significant"] and pair["difference"] > 0:
        prevents = "Leaky ReLU reduces the collapse but does not prevent it"
    else:
        prevents = "Leaky ReLU does not prevent the collapse"
    return (f"{prevents}: {pct(leaky['collapsed'])} of the Leaky ReLU networks end near-constant after "
            f"{s['epochs_run']} epochs, {effect}; {100 * low:.1f}–{100 * high:.1f} % over tolerances "
            f"{rows[0]['tolerance']:g} to {rows[-1]['tolerance']:g}.")


# ------------------------------------------------------------------------------------------- 2.4
def depth_table(data: dict) -> str:
    """Plain-text table of the width-2 depth sweep (``p2.dying_relu_depth``): collapsed share with its
    95 % interval, born-dead share, and the points killed in training, per depth.

    Example:
        >>> data = {"depths": np.array([2, 3]), "collapsed": np.array([0.02, 0.27]),
        ...         "collapsed_ci95": np.array([[0.01, 0.04], [0.23, 0.31]]), "born_dead": np.array([0.0, 0.15])}
        >>> print(depth_table(data))
        depth  collapsed (95 % CI)  born dead  killed in training
        2          2.0 % (1.0–4.0)      0.0 %          2.0 points
        3       27.0 % (23.0–31.0)     15.0 %         12.0 points
    """
    rows = [[str(int(d)), f"{100 * c:.1f} % ({100 * ci[0]:.1f}–{100 * ci[1]:.1f})", f"{100 * b:.1f} %",
             f"{100 * (c - b):.1f} points"]
            for d, c, ci, b in zip(data["depths"], data["collapsed"], data["collapsed_ci95"], data["born_dead"])]
    return _text_table(["depth", "collapsed (95 % CI)", "born dead", "killed in training"], rows)


def half_dead_depth(data: dict) -> dict:
    """Per width of the Monte-Carlo grid: the first depth at which at least half of the networks are
    born dead (``None`` if none), and the born-dead probability at the deepest depth.

    Example:
        >>> half_dead_depth({"mc_widths": np.array([2]), "mc_depths": np.array([1, 2, 3]),
        ...                  "mc_born_dead": np.array([[0.0, 0.4, 0.6]])})
        {2: (3, 0.6)}
    """
    out = {}
    for wi, width in enumerate(data["mc_widths"]):
        above = np.flatnonzero(np.asarray(data["mc_born_dead"][wi]) >= 0.5)
        out[int(width)] = (int(data["mc_depths"][above[0]]) if above.size else None,
                           float(data["mc_born_dead"][wi][-1]))
    return out


def epochs_check(long: dict, epochs: int) -> dict:
    """The ReLU collapsed share of the converged run after ``epochs`` epochs and at its end, and how
    many networks changed status in between (the basis for training 2.4's sweep ``epochs`` epochs)."""
    marks = list(np.asarray(long["checkpoint_epochs"]))
    a = list(long["arms"]).index("relu")
    n = len(long["per_arm"]["relu"]["collapsed"])
    i = marks.index(epochs) if epochs in marks else None
    if i is None:
        return {}
    return {"at": float(long["collapsed_counts"][i, a] / n), "end": float(long["collapsed_counts"][-1, a] / n),
            "changed_after": int(long["changed_counts"][i + 1:, a].sum()), "epochs_run": int(marks[-1])}


def answer_24(data: dict) -> str:
    """The 2.4 answer: collapse against depth at width 2 (with intervals), and at the widest width."""
    depths, c, ci = list(data["depths"]), data["collapsed"], data["collapsed_ci95"]
    steps = np.diff(c)
    trend = ("rises with depth" if np.all(steps > 0) else "never falls with depth" if np.all(steps >= 0)
             else "changes with depth")
    shown = [0] + ([depths.index(10)] if 10 in depths[1:-1] else []) + [len(depths) - 1]
    text = f"At width 2 the collapsed share {trend}: " + ", ".join(
        f"{100 * c[i]:.0f} % (95 % CI {100 * ci[i][0]:.0f}–{100 * ci[i][1]:.0f} %) at depth {depths[i]}"
        if depths[i] == 10 else f"{100 * c[i]:.0f} % at depth {depths[i]}" for i in shown)
    widest, deepest = int(data["map_widths"][-1]), int(data["map_depths"][-1])
    n = int(data["map_n"][-1, -1])
    low, high = stats.wilson_interval(int(round(data["map_collapsed"][-1, -1] * n)), n)
    return text + (f". Width {widest} at depth {deepest}: {100 * data['map_collapsed'][-1, -1]:.0f} % "
                   f"(95 % CI {100 * low:.0f}–{100 * high:.0f} %).")


# ------------------------------------------------------------------------- 2.2 / 2.3 page texts
def collapse_text(data: dict, short: dict) -> str:
    """2.2's headline lines: the ReLU collapsed, dead and born-dead shares of the converged run, the
    Monte-Carlo born-dead probability and the one-sided bound (from the 50-epoch run ``short``),
    and the comparison with Lu et al."""
    relu, s = data["summary"]["relu"], short["summary"]
    n = relu["collapsed"]["n"]
    mc = s["born_dead_monte_carlo"]["he_normal"]
    return "\n".join([
        f"ReLU collapsed after training: {relu['collapsed']['count']} / {n} = {pct(relu['collapsed'])}",
        f"  dead (a layer off everywhere): {relu['dead']['count']}; diverged: {relu['non_finite']}",
        f"born dead: {relu['born_dead']['count']} / {n} = {pct(relu['born_dead'])}",
        f"born dead, Monte Carlo over {mc['n']:,} fresh initializations: {100 * mc['probability']:.2f} % "
        f"(95 % CI {100 * mc['ci95'][0]:.2f}–{100 * mc['ci95'][1]:.2f} %)",
        f"upper bound P(dead for every x > 0) = 1 − (1 − 2^−width)^(depth−1) = "
        f"{100 * s['one_sided_death_probability']:.1f} %",
        f"compared with Lu et al.: our collapsed share is {verdict_lu(relu['collapsed'])}"])


def birth_text(arm: dict) -> str:
    """Born dead against collapsed at the end, per network.

    Example:
        >>> print(birth_text({"born_dead": np.array([1, 0, 0], bool),
        ...                   "collapsed": np.array([1, 1, 0], bool)}))  # doctest: +NORMALIZE_WHITESPACE
        born dead and collapsed: 1; alive at birth but collapsed in training: 1; born dead but not
        collapsed: 0; not collapsed: 1; share of the collapsed networks that were born dead: 50 %
    """
    born, flat = np.asarray(arm["born_dead"], bool), np.asarray(arm["collapsed"], bool)
    share = np.sum(born & flat) / max(int(flat.sum()), 1)
    return (f"born dead and collapsed: {int(np.sum(born & flat))}; alive at birth but collapsed in training: "
            f"{int(np.sum(~born & flat))}; born dead but not collapsed: {int(np.sum(born & ~flat))}; "
            f"not collapsed: {int(np.sum(~flat))}; share of the collapsed networks that were born dead: "
            f"{100 * share:.0f} %")


def constant_at_init_text(arm: dict, tolerance: float) -> str:
    """:func:`constant_at_init` in words."""
    init = constant_at_init(arm)
    text = (f"at initialization: collapsed {init['constant']}, born dead {init['born_dead']}; collapsed with no "
            f"dead layer: {init['alive_flat']}; born dead but not collapsed: {init['dead_not_constant']}")
    if init["alive_flat"]:
        low, high = init["alive_flat_spread"]
        text += (f"\nthe {init['alive_flat']} collapsed live networks: output spread {low:.1e} to {high:.1e} × "
                 f"that of |x| (tolerance {tolerance:g}); at the end of training {init['alive_flat_collapsed_end']} "
                 f"of them are collapsed, {init['alive_flat_dead_end']} dead")
    return text


def constant_text(data: dict, arm: str = "relu") -> str:
    """Where the collapsed networks of ``arm`` end (the target's mean: the best constant), their
    training MSE against ``Var(|x|)``, and what the others learned (:func:`fit_classes`)."""
    a, s = data["per_arm"][arm], data["summary"]
    flat, mse, variance = np.asarray(a["collapsed"], bool), np.asarray(a["mse"], float), s["target_variance_on_domain"]
    fits = fit_classes(mse[~flat], variance)
    return "\n".join([
        f"mean of |x| on the domain: {s['target_mean_on_grid']:.3f}; median constant output of the collapsed "
        f"networks: {np.nanmedian(a['mean_output'][flat]):.3f}",
        f"Var(|x|) on the domain (the MSE of the best constant): {variance:.3f}; median training MSE of the "
        f"collapsed networks {np.nanmedian(mse[flat]):.3f}, of the others {np.nanmedian(mse[~flat]):.4f}",
        f"of the {int(np.sum(~flat))} networks that did not collapse: fit |x| (MSE < 1 % of Var(|x|)) "
        f"{100 * fits['fits']:.0f} %, part of it {100 * fits['partial']:.0f} %, constant level "
        f"{100 * fits['constant_level']:.0f} %"])


def relu_tolerance_text(data: dict, depth: int) -> str:
    """ReLU's collapsed share over the tolerance grid, how many dead networks have spread exactly 0,
    and the first dead hidden layer of the dead networks."""
    rows, a = tolerance_rows(data), data["per_arm"]["relu"]
    shares = [r["relu"]["fraction"] for r in rows]
    dead = np.asarray(a["dead"], bool)
    layers = np.asarray(a["dead_layer"])
    counts = np.bincount(layers[layers > 0], minlength=depth)[1:]
    return "\n".join([
        "ReLU collapsed share by tolerance: " + ", ".join(f"{r['tolerance']:g}: {100 * s:.1f} %"
                                                         for r, s in zip(rows, shares)),
        f"range: {100 * (max(shares) - min(shares)):.1f} points; dead networks with output spread exactly 0: "
        f"{int(np.sum(np.asarray(a['relative_spread'])[dead] == 0))} of {int(dead.sum())}",
        "first dead hidden layer of the dead networks: " + ", ".join(f"layer {i + 1}: {c}"
                                                                     for i, c in enumerate(counts))])


def arms_text(data: dict) -> str:
    """Per arm: near-constant, negative-regime layer, born with one (with intervals), diverged."""
    return "\n".join(
        f"{ARM_LABELS.get(arm, arm):>10}: near-constant {pct(s['collapsed'])}; negative-regime layer "
        f"{pct(s['dead'])}; born with one {pct(s['born_dead'])}; diverged {s['non_finite']}"
        for arm, s in ((arm, data["summary"][arm]) for arm in data["arms"]))


def pair_text(pair: dict, a: str = "ReLU", b: str = "Leaky ReLU") -> str:
    """A stored paired comparison of two 0/1 outcomes (``_paired``) in words.

    Example:
        >>> print(pair_text({"both": 50, "only_a": 40, "only_b": 2, "neither": 8, "difference": 0.38,
        ...                  "ci95": [0.28, 0.48]}))  # doctest: +NORMALIZE_WHITESPACE
        collapsed with both: 50; only with ReLU: 40; only with Leaky ReLU: 2; with neither: 8
        ReLU − Leaky ReLU collapsed share: +38.0 points (paired 95 % CI +28.0 to +48.0)
    """
    return (f"collapsed with both: {pair['both']}; only with {a}: {pair['only_a']}; only with {b}: "
            f"{pair['only_b']}; with neither: {pair['neither']}\n{a} − {b} collapsed share: "
            f"{100 * pair['difference']:+.1f} points (paired 95 % CI {100 * pair['ci95'][0]:+.1f} to "
            f"{100 * pair['ci95'][1]:+.1f})")


def leaky_progress_text(data: dict, short: dict, snapshot_epoch: int) -> str:
    """Do the ReLU counts only grow? Leaky ReLU's near-constant count after the snapshot epoch (and
    in the 50-epoch run) and at the end; near-constant against negative-regime layer at the end."""
    i_relu = list(data["arms"]).index("relu")
    relu_c, relu_d = data["collapsed_counts"][:, i_relu], data["dead_counts"][:, i_relu]
    leaky, s = data["per_arm"]["leaky_relu"], data["summary"]
    agree = snapshot_agreement(leaky, short["per_arm"]["leaky_relu"])
    flat, dead = np.asarray(leaky["collapsed"], bool), np.asarray(leaky["dead"], bool)
    return "\n".join([
        f"ReLU counts never decrease: near-constant {bool(np.all(np.diff(relu_c) >= 0))}, dead "
        f"{bool(np.all(np.diff(relu_d) >= 0))}; equal at the end: {bool(relu_c[-1] == relu_d[-1])}",
        f"Leaky ReLU near-constant after {snapshot_epoch} epochs: {agree['long']} (the "
        f"{int(short['checkpoint_epochs'][-1])}-epoch run: "
        f"{agree['short']}; same status for {agree['same']} of {agree['n']}); after {s['epochs_run']}: "
        f"{int(flat.sum())}",
        f"Leaky ReLU at the end: near-constant with a negative-regime layer {int(np.sum(flat & dead))} of "
        f"{int(flat.sum())}; negative-regime layer but not near-constant {int(np.sum(dead & ~flat))} of "
        f"{int(dead.sum())}"])


def fit_table(data: dict) -> str:
    """Plain-text table of :func:`fit_classes` per arm."""
    variance = data["summary"]["target_variance_on_domain"]
    rows = []
    for arm in data["arms"]:
        f = fit_classes(data["per_arm"][arm]["mse"], variance)
        rows.append([ARM_LABELS.get(arm, arm), f"{100 * f['fits']:.1f} %", f"{100 * f['partial']:.1f} %",
                     f"{100 * f['constant_level']:.1f} %"])
    return _text_table(["arm", "fits |x|", "partial", "constant-level"], rows)


def exact_constant_text(data: dict, target_spread: float) -> str:
    """Leaky ReLU networks whose float32 output is exactly constant on the grid: how many, how many
    have a negative-regime layer, one float32 step at their level (:func:`hw2.dying_relu.float32_resolution`)
    and the smallest nonzero spread of any Leaky ReLU network."""
    from hw2.dying_relu import float32_resolution

    a = data["per_arm"]["leaky_relu"]
    spread = np.asarray(a["relative_spread"], float)
    exact = spread == 0
    text = (f"Leaky ReLU networks with exactly constant float32 output: {int(exact.sum())} of {spread.size}; "
            f"with a negative-regime layer: {int(np.sum(exact & np.asarray(a['dead'], bool)))} of them")
    if exact.any():
        step = float32_resolution(np.asarray(a["mean_output"])[exact], target_spread)
        text += (f"\none float32 step at their output level: {step.min():.1e} to {step.max():.1e} of the spread "
                 f"of |x|; the smallest nonzero spread of any Leaky ReLU network: {spread[spread > 0].min():.1e}")
    return text


def rai_text(short: dict) -> str:
    """The RAI arm of the 50-epoch run: born dead (and Monte Carlo), collapsed after 50 epochs with
    the change over the second half, and the paired difference with He-initialized ReLU."""
    s = short["summary"]
    rai, mc, pair = s["relu+rai"], s["born_dead_monte_carlo"], s["relu_vs_relu+rai"]["collapsed"]
    epochs = int(short["checkpoint_epochs"][-1])
    return "\n".join([
        f"ReLU + RAI: born dead {pct(rai['born_dead'])} (Monte Carlo {100 * mc['rai']['probability']:.1f} %, He "
        f"normal {100 * mc['he_normal']['probability']:.1f} %)",
        f"collapsed after {epochs} epochs {pct(rai['collapsed'])}; change over the second half "
        f"{100 * s['collapse_change_second_half']['relu+rai']:+.1f} points",
        f"ReLU (He) − ReLU (RAI) after {epochs} epochs: {100 * pair['difference']:+.1f} points (95 % CI "
        f"{100 * pair['ci95'][0]:+.1f} to {100 * pair['ci95'][1]:+.1f})"])


# ------------------------------------------------------------------------------- 2.1 page texts
def theory_text(data: dict) -> str:
    """tanh + Glorot and ReLU + Glorot / He: measured spread factors against the variance argument."""
    rows = {r["case"]: r for r in scale_rows(data)}
    lines = []
    if "tanh/glorot_normal" in rows:
        lines.append(f"tanh + Glorot: {factor_text(rows['tanh/glorot_normal']['activation_factor'])} per layer "
                     f"(theory ×1)")
    t = relu_theory(data)
    if t:
        lines += [f"ReLU + Glorot: {factor_text(t['glorot'])} per layer (theory ×{t['glorot_theory']:.2f}); "
                  f"ReLU + He: {factor_text(t['he'])} (theory ×1); He / Glorot = {t['ratio']:.3f} "
                  f"(√2 = {2 ** 0.5:.3f})",
                  f"measured / theory: Glorot {t['glorot_vs_theory']:.2f}, He {t['he_vs_theory']:.2f}; within "
                  f"[1/T, T]: He {in_band(t['he'])}, Glorot {in_band(t['glorot'])}"]
    return "\n".join(lines)


def zeros_text(data: dict) -> str:
    """The share of exact zeros per layer of the ReLU N(0, σ) cases, and their largest difference."""
    idx = [i for i, c in enumerate(data["cases"]) if parse_case(c)[:2] == ("relu", "normal")]
    if not idx:
        return ""
    zeros = np.asarray(data["activation_saturated"])[idx]
    return (f"share of exact zeros per layer with N(0, σ): {', '.join(f'{100 * v:.1f} %' for v in zeros[0])}; "
            f"largest difference between the {len(idx)} σ: {100 * np.ptp(zeros, axis=0).max():.1f} points")


def sigmoid_gains(data: dict) -> list[tuple[float, str]]:
    """``[(gain, case), ...]`` of the sigmoid Glorot-normal cases, gain 1 for plain Glorot, sorted."""
    return sorted((parse_case(c)[2] or 1.0, c) for c in data["cases"] if c.startswith("sigmoid/glorot"))


def gains_text(data: dict) -> str:
    """As sigmoid's Glorot gain grows: does the gradient factor fall and the saturated share rise at
    every step, and which gains keep the scale."""
    gains, rows = sigmoid_gains(data), {r["case"]: r for r in scale_rows(data)}
    grad = [rows[c]["gradient_factor"] for _, c in gains]
    sat = [rows[c]["saturated_max"] for _, c in gains]
    kept = [f"{g:g}" for g, c in gains if rows[c]["verdict"] == "keeps its scale"]
    return (f"as the gain grows ({', '.join(f'{g:g}' for g, _ in gains)}): the gradient factor falls at every "
            f"step: {bool(np.all(np.diff(grad) < 0))}; the worst-layer saturated share rises at every step: "
            f"{bool(np.all(np.diff(sat) > 0))}\ngains that keep sigmoid's scale: {', '.join(kept) or 'none'}")
