"""Plot helpers: one look across the report (seaborn theme, palette, figure sizes).

Example:
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> use_report_style()
    >>> fig, ax = new_figure()
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from hw2._checks import argument_error

PALETTE = sns.color_palette("colorblind", 10)
WIDTH = 7.5  # inches: the content width of the report's pages


def use_report_style() -> None:
    """Seaborn's whitegrid theme with the report's palette and font sizes."""
    sns.set_theme(context="notebook", style="whitegrid", palette=PALETTE, font_scale=0.95)
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 110, "axes.titleweight": "bold",
                         "figure.constrained_layout.use": True})


def new_figure(ncols: int = 1, nrows: int = 1, height: float = 3.4, **kwargs):
    """A figure of the report's width with ``nrows x ncols`` axes."""
    use_report_style()
    return plt.subplots(nrows, ncols, figsize=(WIDTH, height * nrows), **kwargs)


# ------------------------------------------------------------------------------------------ P1
def plot_separators(ax, x_train, y_train, weights: dict, x_test=None, title: str | None = None):
    """Training points of one set, the true boundary x1 = x2 and each learned separator w·x = 0.

    The legend sits to the right of the axes, never on the points.
    """
    if x_test is not None:
        ax.scatter(x_test[:, 0], x_test[:, 1], s=3, color="0.8", label="test points", zorder=1)
    for label, marker, color in ((1, "o", PALETTE[0]), (-1, "s", PALETTE[3])):
        sel = y_train == label
        ax.scatter(x_train[sel, 0], x_train[sel, 1], marker=marker, s=36, color=color, edgecolor="k",
                   linewidth=0.5, label=f"train y={label:+d}", zorder=3)
    grid = np.linspace(0, 1, 2)
    ax.plot(grid, grid, color="k", linestyle="--", linewidth=1.2, label="true boundary x1 = x2", zorder=2)
    for (name, w), color in zip(weights.items(), (PALETTE[2], PALETTE[4], PALETTE[1], PALETTE[5])):
        w = np.asarray(w, dtype=float)
        if abs(w[1]) > 1e-12:
            ax.plot(grid, -w[0] / w[1] * grid, color=color, linewidth=2, label=f"{name}: w·x = 0", zorder=2)
        elif abs(w[0]) > 1e-12:
            ax.axvline(0, color=color, linewidth=2, label=f"{name}: w·x = 0")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="x1", ylabel="x2", aspect="equal")
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0, fontsize=8)
    return ax


def plot_p1_grid(ax, data: dict, key: str, ylabel: str, scale: float = 100.0):
    """One quantity of the P1 grid (``data[f"grid_{key}"]``, times ``scale``) against epochs: a
    line per hinge learning rate and one dotted line for the perceptron criterion (the first
    learning rate's row: from zero weights its learning rate only scales ``w``). No legend: the
    caller draws one for the figure."""
    values = scale * np.asarray(data[f"grid_{key}"])
    li_h, li_p = data["losses"].index("hinge"), data["losses"].index("perceptron")
    for ri, lr in enumerate(data["lr_grid"]):
        ax.plot(data["epochs_grid"], values[li_h, ri], marker="o", markersize=3, color=PALETTE[ri],
                label=f"hinge, lr {lr:g}")
    ax.plot(data["epochs_grid"], values[li_p, 0], ":", color="k", linewidth=2, label="perceptron (any lr)")
    ax.set(xscale="log", xlabel="epochs", ylabel=ylabel)
    return ax


def plot_p1_accuracies(axes, data: dict, key: str = "fresh_accuracy", what: str = "accuracy on new data"):
    """Left: the distribution over training sets of each loss's accuracy ``data[key][loss]``; right:
    the paired hinge − perceptron difference per training set and its mean. No legend: the caller
    draws one for the figure."""
    values = {name: 100 * np.asarray(data[key][name]) for name in data["losses"]}
    low = np.floor(min(v.min() for v in values.values()))
    for name, color in zip(data["losses"], (PALETTE[2], PALETTE[4])):
        sns.histplot(values[name], bins=np.arange(low, 100.5, 1), ax=axes[0], color=color, label=name,
                     element="step", alpha=0.35)
    axes[0].set(xlabel=f"{what} (%)", ylabel="training sets", title=f"{len(values['hinge'])} training sets")
    delta = values["hinge"] - values["perceptron"]
    sns.histplot(delta, bins=41, ax=axes[1], color=PALETTE[0], label="hinge − perceptron")
    axes[1].axvline(0, color="k", linewidth=1)
    axes[1].axvline(delta.mean(), color=PALETTE[3], linewidth=2, label="mean difference")
    axes[1].set(xlabel="hinge − perceptron (accuracy points)", ylabel="training sets",
                title="paired difference per training set")
    return axes


def plot_p1_tilts(ax, data: dict):
    """Distribution over training sets of each loss's learned separator's tilt: the signed angle of
    its normal ``w`` from the true normal (1, −1), 0° = the true diagonal. No legend: the caller
    draws one for the figure."""
    for name, color in zip(data["losses"], (PALETTE[2], PALETTE[4])):
        w = np.asarray(data["weights"][name])
        tilt = np.degrees(np.arctan2(w[:, 0] + w[:, 1], w[:, 0] - w[:, 1]))
        sns.kdeplot(tilt, ax=ax, color=color, label=name, fill=True, alpha=0.25, bw_adjust=0.6)
    ax.set(xlabel="tilt of the learned separator (degrees)", title="direction across training sets")
    return ax


# ------------------------------------------------------------------------------------------ P3
P3_COLORS = {"baseline": PALETTE[7], "bn_hidden": PALETTE[0], "bn_input_hidden": PALETTE[1],
             "dropout": PALETTE[2], "dropout_conv": PALETTE[3], "bn_dropout": PALETTE[4]}


def plot_bn_violins(ax, bn: dict, parameter: str):
    """Violin per BN layer of ``parameter`` ('gamma' or 'beta'), pooled over seeds and channels.

    ``bn`` maps layer name -> {'gamma': (seeds, channels), 'beta': ...}; individual values are
    drawn as dots, so a one-channel layer (the input BN) still shows every seed.
    """
    import pandas as pd

    rows = [{"layer": layer, parameter: float(v)} for layer, params in bn.items()
            for v in np.ravel(params[parameter])]
    frame = pd.DataFrame(rows)
    sns.violinplot(frame, x="layer", y=parameter, ax=ax, color=PALETTE[0], inner=None, cut=0,
                   density_norm="width", linewidth=0.8)
    sns.stripplot(frame, x="layer", y=parameter, ax=ax, color="k", size=1.5, alpha=0.5, jitter=0.2)
    ax.axhline(1.0 if parameter == "gamma" else 0.0, color="0.3", linewidth=0.8, linestyle="--")
    ax.set(xlabel="", ylabel={"gamma": "γ (scale)", "beta": "β (shift)"}.get(parameter, parameter))
    ax.tick_params(axis="x", labelsize=8)
    return ax


def plot_mean_band(ax, x, values, label: str, color, linestyle: str = "-"):
    """Mean over the first axis of ``values`` (seeds, points) as a line, ± 1 sd as a band.

    NaN marks a point a seed did not reach (runs of different lengths): the line averages the seeds
    present at each point and ends where the last one ends; the band needs two seeds.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> fig, ax = new_figure()
        >>> _ = plot_mean_band(ax, [1, 2, 3], [[1.0, 2.0, np.nan], [3.0, 4.0, 5.0]], "runs", "k")
        >>> ax.lines[0].get_ydata().tolist()
        [2.0, 3.0, 5.0]
    """
    values = np.asarray(values, dtype=float)
    present = np.sum(~np.isnan(values), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(values, axis=0) / present
        centred = np.where(np.isnan(values), 0.0, values - mean)
        sd = np.sqrt(np.sum(centred ** 2, axis=0) / (present - 1))
    mean = np.where(present > 0, mean, np.nan)
    sd = np.where(present > 1, sd, np.nan if values.shape[0] > 1 else 0.0)
    ax.plot(x, mean, linestyle, color=color, label=label, linewidth=1.6)
    ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.18, linewidth=0)
    return ax


def plot_learning_curves(axes, variants: dict, labels: dict, metric: str = "accuracy"):
    """Training (inference mode, fixed training subset; dashed) and validation (solid) curves,
    mean ± sd over the seeds still running at each epoch, of several variants on shared axes
    (``axes``: one accuracy or loss axis). A dot marks each seed's best (restored) epoch on the
    validation curve."""
    for name, runs in variants.items():
        history = runs["history"]
        epochs = np.arange(1, history[f"val_{metric}"].shape[1] + 1)
        scale = 100.0 if metric == "accuracy" else 1.0
        color = P3_COLORS.get(name, PALETTE[0])
        label = labels[name]
        plot_mean_band(axes, epochs, scale * history[f"train_{metric}"], f"{label} — train", color, "--")
        plot_mean_band(axes, epochs, scale * history[f"val_{metric}"], f"{label} — validation", color)
        best = np.asarray(runs["best_epoch"], dtype=int)
        values = scale * np.asarray(history[f"val_{metric}"])[np.arange(len(best)), best - 1]
        axes.scatter(best, values, color=color, s=16, edgecolor="k", linewidth=0.4, zorder=3)
    axes.set(xlabel="epoch", ylabel="accuracy (%)" if metric == "accuracy" else "cross-entropy loss")
    axes.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    return axes


def plot_seed_accuracies(ax, variants: dict, labels: dict):
    """Test accuracy per seed (dots, one line per seed across variants) and mean ± sd per variant."""
    names = list(variants)
    acc = np.stack([100 * np.asarray(variants[n]["test_accuracy"]) for n in names])  # (variants, seeds)
    x = np.arange(len(names))
    for seed_values in acc.T:
        ax.plot(x, seed_values, color="0.75", linewidth=0.7, zorder=1)
    for i, name in enumerate(names):
        color = P3_COLORS.get(name, PALETTE[0])
        ax.scatter(np.full(acc.shape[1], i), acc[i], color=color, s=14, zorder=2)
        sd = acc[i].std(ddof=1) if acc.shape[1] > 1 else 0.0
        ax.errorbar(i + 0.18, acc[i].mean(), yerr=sd, fmt="o", color="k", capsize=3, markersize=4, zorder=3)
    ax.set_xticks(x, [labels[n] for n in names], rotation=15, ha="right", fontsize=8)
    ax.set(ylabel="test accuracy (%)")
    return ax


def plot_variance_shift(ax, rows: list[dict], labels: dict, variants=("bn_hidden", "bn_dropout")):
    """Bars per BN layer of the inference-time / moving variance ratio (mean ± sd over seeds) of each
    of ``variants``; ``rows`` from :func:`hw2.experiments.p3_analysis.variance_shift_table`. Dashed: 1."""
    layers = list(dict.fromkeys(r["layer"] for r in rows if r["variant"] == variants[0]))
    by_key = {(r["variant"], r["layer"]): r for r in rows}
    x, width = np.arange(len(layers)), 0.8 / len(variants)
    for i, name in enumerate(variants):
        values = [by_key[(name, layer)] for layer in layers]
        ax.bar(x + (i - (len(variants) - 1) / 2) * width, [v["ratio_median"] for v in values], width=0.95 * width,
               yerr=[v["ratio_sd"] for v in values], color=P3_COLORS.get(name, PALETTE[0]), label=labels[name],
               capsize=3)
    ax.axhline(1.0, color="k", linewidth=0.8, linestyle="--")
    ax.set_xticks(x, layers)
    ax.set(ylabel="inference var / moving var")
    return ax


def plot_input_drift(ax, steps, percentiles, unit: int, label: str, color, ylabel: str = "input to tanh"):
    """Ioffe & Szegedy's figure 1: the 15th / 50th / 85th percentiles of one unit's nonlinearity
    input (or of any per-unit quantity) over training steps (``percentiles``: (checkpoints, 3, units));
    step 0 drawn at 0.5."""
    steps = np.where(np.asarray(steps) == 0, 0.5, steps)
    p = np.asarray(percentiles)[:, :, unit]
    ax.fill_between(steps, p[:, 0], p[:, 2], color=color, alpha=0.2, linewidth=0)
    ax.plot(steps, p[:, 1], color=color, linewidth=1.6, label=f"{label}: median, 15–85 %")
    ax.plot(steps, p[:, 0], color=color, linewidth=0.6)
    ax.plot(steps, p[:, 2], color=color, linewidth=0.6)
    ax.set(xscale="log", xlabel="training step (log; 0 drawn at 0.5)", ylabel=ylabel)
    return ax


# ------------------------------------------------------------------------------------ P4 report
P4_COLORS = {"CLR": PALETTE[0], "CBS": PALETTE[2], "matched CBS": PALETTE[4], "constant LR": PALETTE[7],
             "train": PALETTE[0],
             "validation": PALETTE[1], "lr_min": PALETTE[2], "lr_max": PALETTE[3]}


def _finite_top(values) -> float:
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else 1.0


def plot_loss_curve(ax, xs, losses, diverged=None, label: str = "training loss", color=None,
                    marker: str = "o", log_base: float = 10):
    """Loss per point of a sweep on a log x axis; diverged points as red crosses along the top."""
    xs, losses = np.asarray(xs, dtype=float), np.asarray(losses, dtype=float)
    diverged = np.zeros(len(xs), bool) if diverged is None else np.asarray(diverged, bool)
    ok = np.isfinite(losses) & ~diverged
    ax.plot(xs[ok], losses[ok], marker=marker, color=color or PALETTE[0], label=label, linewidth=1.6,
            markersize=5)
    if (~ok).any():
        top = _finite_top(losses[ok]) * 1.08
        ax.scatter(xs[~ok], np.full((~ok).sum(), top), marker="x", color="tab:red", s=50, zorder=4,
                   label="diverged (non-finite loss)")
    ax.set_xscale("log", base=log_base)
    return ax


def mark_values(ax, marks: dict):
    """Vertical lines at x positions: ``marks = {label: (x, color, linestyle)}``, labels in the legend."""
    for label, (x, color, style) in marks.items():
        if x is None or not np.isfinite(x):
            continue
        ax.axvline(x, color=color, linestyle=style, linewidth=1.3, label=label)
    return ax


def plot_range_test(ax, lrs, losses, smoothed, color=None):
    """The continuous LR range test: raw batch losses (faint) and their smoothed curve."""
    ax.plot(lrs, losses, color="0.75", linewidth=0.6, label="batch loss")
    ax.plot(lrs, smoothed, color=color or PALETTE[4], linewidth=1.8, label="smoothed loss")
    ax.set_xscale("log")
    finite = np.asarray(smoothed, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size:  # the exploding tail would flatten the interesting part
        ax.set_ylim(finite.min() - 0.05 * abs(finite.min()), min(finite.max(), 2.5 * finite[0]) * 1.05)
    return ax


def plot_policy_run(axes, history: dict, trace_x, trace_y, trace_label: str, trace_log: bool = True,
                    trace_step: bool = False):
    """pyimagesearch's Figure 4 layout: loss (top), accuracy (middle), the policy's trace (bottom).

    ``history`` holds per-epoch arrays (loss, val_loss, accuracy, val_accuracy); ``trace_x`` is in
    epochs (fractional for per-iteration traces).
    """
    ax_loss, ax_acc, ax_trace = axes
    epochs = np.arange(1, len(history["loss"]) + 1)
    for key, label, color in (("loss", "train", P4_COLORS["train"]), ("val_loss", "validation",
                                                                       P4_COLORS["validation"])):
        ax_loss.plot(epochs, history[key], marker=".", color=color, label=label)
    ax_loss.set(ylabel="cross-entropy")
    ax_loss.legend(fontsize=8)
    for key, label, color in (("accuracy", "train", P4_COLORS["train"]),
                              ("val_accuracy", "validation", P4_COLORS["validation"])):
        ax_acc.plot(epochs, 100 * np.asarray(history[key]), marker=".", color=color, label=label)
    ax_acc.set(ylabel="accuracy (%)")
    ax_acc.legend(fontsize=8)
    if trace_step:
        ax_trace.step(trace_x, trace_y, where="post", color=PALETTE[4])
    else:
        ax_trace.plot(trace_x, trace_y, color=PALETTE[4], linewidth=1.0)
    if trace_log:
        ax_trace.set_yscale("log", base=2 if trace_step else 10)
    ax_trace.set(ylabel=trace_label, xlabel="epoch")
    for ax in axes:
        ax.set_xlim(0, max(len(epochs), float(np.max(trace_x))) + 0.5)
    return axes


def plot_policy_comparison(ax, table: dict, colors: dict | None = None):
    """Test accuracy of each policy: one dot per seed, the mean and its Student-t 95 % interval beside it.

    ``table`` is :func:`hw2.experiments.p4_policies_analysis.compare_policies`' table (``test_accuracy`` per
    seed, ``test_mean``, ``test_ci95``); the interval is clipped to 0-100 %, and with one seed the
    mean is drawn without one.
    """
    colors = colors or P4_COLORS
    names = list(table)
    for i, name in enumerate(names):
        acc = 100 * np.asarray(table[name]["test_accuracy"], dtype=float)
        ax.scatter(np.full(len(acc), i), acc, color=colors.get(name, PALETTE[0]), s=22, zorder=2,
                   label="one seed" if i == 0 else None)
        mean = 100 * float(table[name]["test_mean"])
        low, high = (100 * float(v) for v in table[name]["test_ci95"])
        yerr = None  # one seed: no interval
        if np.isfinite(low) and np.isfinite(high):
            low, high = max(0.0, low), min(100.0, high)  # an accuracy's range
            yerr = [[mean - low], [high - mean]]
        ax.errorbar(i + 0.15, mean, yerr=yerr, fmt="o", color="k", capsize=3, markersize=4, zorder=3,
                    label="mean, 95 % t interval" if i == 0 else None)
    ax.set_xticks(range(len(names)), names)
    ax.set(ylabel="test accuracy (%)", xlim=(-0.5, len(names) - 0.5))
    return ax


def plot_noise_temperature(ax, traces: dict, colors: dict | None = None):
    """The gradient-noise temperature ``lr / B`` of several policy runs on one log axis, as steps.

    ``traces`` maps a policy name to its per-epoch ``lr / B`` (epoch 1 first), drawn as a step over
    each epoch, or to a pair ``(edges, values)`` with ``len(edges) == len(values) + 1`` (in epochs),
    for a run whose batch size changes within an epoch (one step per update). A
    constant-temperature run is a flat line.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> fig, ax = new_figure()
        >>> _ = plot_noise_temperature(ax, {"CLR": [1e-4, 5e-4, 1e-4], "constant LR": [2e-4] * 3,
        ...                                 "matched CBS": ([0, 0.5, 2, 3], [1e-4, 4e-4, 1e-4])})
        >>> ax.get_yscale()
        'log'
    """
    colors = colors or P4_COLORS
    styles = ("-", "--", "-.", ":")
    for i, (name, values) in enumerate(traces.items()):
        if isinstance(values, tuple):
            edges, values = (np.asarray(v, dtype=float) for v in values)
        else:
            values = np.asarray(values, dtype=float)
            edges = np.arange(len(values) + 1)
        ax.stairs(values, edges, color=colors.get(name, PALETTE[i % len(PALETTE)]), linewidth=1.8,
                  linestyle=styles[i % len(styles)], label=name, baseline=None)
    ax.set_yscale("log")
    ax.set(xlabel="epoch", ylabel="lr / B")
    return ax


_FLOW_FONT_SIZES = (8.0, 7.5, 7.0, 6.5, 6.0)  # tried in turn until the diagram fits its axes
_FLOW_PAD = (0.09, 0.055)  # inches between a box's text and its edge (x, y)
_FLOW_DIAMOND = 1.8  # a diamond's half-height over its text's half-height (its width follows)
_FLOW_GAP = (0.2, 0.42)  # inches between two blocks: least, most
_FLOW_LOOP_GAP = 0.3  # inches from the widest block a loop passes to its vertical leg (and between loops)
_FLOW_MARGIN = 0.04  # inches kept free at the axes' edges
_FLOW_BRANCHES = ("yes", "no")


def _flow_steps(steps):
    """Check ``(name, text)`` / ``(name, text, {"yes": name, "no": name})`` steps.

    Returns ``[(name, text, loop)]`` where ``loop`` is ``None`` for an action, else
    ``(word on, target index back, word back)`` of a decision: one branch goes on to the next step,
    the other back up to an earlier one.
    """
    steps = list(steps)
    if not steps:
        raise argument_error("steps", "at least one (name, text) step", received="an empty sequence")
    for step in steps:
        if not isinstance(step, (tuple, list)) or len(step) not in (2, 3):
            raise ValueError("Every step must be (name, text) or (name, text, {'yes': name, 'no': name}). "
                             f"Received: {step!r}")
    names = [step[0] for step in steps]
    if len(set(names)) != len(names):
        raise ValueError(f"Step names must be unique (branches name their target). Received: {names}")
    index = {name: i for i, name in enumerate(names)}
    parsed = []
    for i, (name, text, *rest) in enumerate(steps):
        if not rest:
            parsed.append((name, text, None))
            continue
        branches = rest[0]
        if not isinstance(branches, dict) or set(branches) != set(_FLOW_BRANCHES):
            keys = sorted(branches) if isinstance(branches, dict) else branches
            raise ValueError(f"Decision step {name!r} must have branches with exactly the keys 'yes' and 'no'. "
                             f"Received: {keys!r}")
        for word in _FLOW_BRANCHES:
            if branches[word] not in index:
                raise ValueError(f"Decision step {name!r}: branch {word!r} names unknown step "
                                 f"{branches[word]!r} (steps: {', '.join(map(repr, names))})")
        on = [word for word in _FLOW_BRANCHES if index[branches[word]] == i + 1]
        back = [word for word in _FLOW_BRANCHES if index[branches[word]] < i]
        if len(on) != 1 or len(back) != 1:
            raise ValueError(f"Decision step {name!r} must send one branch on to the next step and the other "
                             f"back to an earlier step. Received: {dict(branches)!r}")
        parsed.append((name, text, (on[0], index[branches[back[0]]], back[0])))
    return parsed


def _flow_loops(steps, half_widths):
    """Each decision's loop ``(decision index, target index, x of its vertical leg)``, x from the column.

    Shorter loops lie nearer the column; a loop clears every block it passes and every loop inside it.
    """
    loops = sorted(((i, loop[1]) for i, (*_, loop) in enumerate(steps) if loop), key=lambda t: t[0] - t[1])
    placed = []
    for i, j in loops:
        x = max(half_widths[j:i + 1]) + _FLOW_LOOP_GAP
        for i2, j2, x2 in placed:
            if j2 <= i and j <= i2:  # the spans overlap: go round the other loop
                x = max(x, x2 + _FLOW_LOOP_GAP)
        placed.append((i, j, x))
    return placed


def steps_in_words(steps) -> list[str]:
    """The steps of a block diagram (:func:`plot_block_diagram`'s format) as numbered lines of text,
    a decision with where each answer leads.

    Example:
        >>> steps_in_words([("a", "Train"), ("b", "More?", {"yes": "a", "no": "c"}), ("c", "Stop")])
        ['1. Train', '2. More? yes: back to 1; no: on to 3', '3. Stop']
    """
    number = {step[0]: i for i, step in enumerate(steps, 1)}
    lines = []
    for i, (_name, text, *rest) in enumerate(steps, 1):
        line = f"{i}. " + " ".join(text.split())
        if rest:
            line += " " + "; ".join(f"{word}: {'back to' if number[target] < i else 'on to'} {number[target]}"
                                    for word, target in sorted(rest[0].items(), key=lambda kv: kv[0] != "yes"))
        lines.append(line)
    return lines


def plot_block_diagram(ax, steps, title: str | None = None):
    """An algorithm flowchart, top to bottom, from ``steps``.

    A ``(name, text)`` step is an action, drawn as a rounded box; a ``(name, text, {"yes": name,
    "no": name})`` step is a decision, drawn as a diamond. The branch that names the next step goes
    straight down; the other leaves the diamond's right corner and goes back up, to the right of
    the column, into the named earlier step (a loop); both are labelled with their branch word.
    Sizes are in inches, measured on the axes as laid out; the font shrinks (8 pt down to 6 pt)
    until the diagram fits.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> steps = (("init", "Start"), ("work", "Do one step"),
        ...          ("done", "Done?", {"no": "work", "yes": "end"}), ("end", "Stop"))
        >>> fig, ax = new_figure(height=0.75 * len(steps))
        >>> ax = plot_block_diagram(ax, steps, title="A loop")

    Raises:
        ValueError: a malformed step, a branch naming an unknown step, or a decision whose branches
            do not go one on to the next step and one back to an earlier one.
    """
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Polygon
    from matplotlib.path import Path

    steps = _flow_steps(steps)
    n = len(steps)
    fig = ax.figure.figure  # the root figure, also for an axes in a subfigure
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    fig.draw_without_rendering()  # lay the figure out first: the axes' size in inches is the canvas
    extent = ax.get_window_extent().transformed(fig.dpi_scale_trans.inverted())
    width, height = extent.width, extent.height
    ax.set(xlim=(0, width), ylim=(0, height))
    texts = [ax.text(width / 2, height / 2, text, ha="center", va="center", zorder=4, color="0.1")
             for _, text, _ in steps]
    (pad_x, pad_y), k = _FLOW_PAD, _FLOW_DIAMOND
    for fontsize in _FLOW_FONT_SIZES:
        for text in texts:
            text.set_fontsize(fontsize)
        sizes = [text.get_window_extent().transformed(fig.dpi_scale_trans.inverted()).size for text in texts]
        half = []  # (half width, half height) of each block
        for (w, h), (*_, loop) in zip(sizes, steps):
            if loop is None:
                half.append((w / 2 + pad_x, h / 2 + pad_y))
            else:  # the text's padded corners on the diamond's sides
                half.append(((w / 2 + pad_x / 2) * k / (k - 1), (h / 2 + pad_y / 2) * k))
        loops = _flow_loops(steps, [hw for hw, _ in half])
        left = max(hw for hw, _ in half)
        right = max([left] + [x + 0.05 for *_, x in loops])
        blocks = 2 * sum(hh for _, hh in half)
        if (left + right <= width - 2 * _FLOW_MARGIN
                and blocks + (n - 1) * _FLOW_GAP[0] <= height - 2 * _FLOW_MARGIN):
            break
    gap = max(_FLOW_GAP[0] / 2, min(_FLOW_GAP[1], (height - 2 * _FLOW_MARGIN - blocks) / max(n - 1, 1)))
    column = max(min(width / 2, width - _FLOW_MARGIN - right), _FLOW_MARGIN + left)
    top = height / 2 + (blocks + (n - 1) * gap) / 2
    centers = []
    for _, hh in half:
        centers.append(top - hh)
        top -= 2 * hh + gap
    arrow = {"arrowstyle": "-|>", "mutation_scale": 10, "color": "0.3", "linewidth": 1.0, "shrinkA": 0,
             "shrinkB": 0, "zorder": 2}
    label = {"fontsize": fontsize, "color": "0.25", "style": "italic", "zorder": 4}
    for i, ((name, _, loop), text, (hw, hh), y) in enumerate(zip(steps, texts, half, centers)):
        text.set_position((column, y))
        if loop is None:
            ax.add_patch(FancyBboxPatch((column - hw, y - hh), 2 * hw, 2 * hh, zorder=3, linewidth=0.9,
                                        boxstyle="round,pad=0,rounding_size=0.06", facecolor="#eef3fb",
                                        edgecolor="0.35"))
        else:
            ax.add_patch(Polygon([(column, y + hh), (column + hw, y), (column, y - hh), (column - hw, y)],
                                 closed=True, zorder=3, linewidth=0.9, facecolor="#fdf1dc", edgecolor="0.35",
                                 label=name))
        if i < n - 1:
            start, end = y - hh, centers[i + 1] + half[i + 1][1]
            ax.add_patch(FancyArrowPatch((column, start), (column, end), **arrow))
            if loop is not None:
                ax.text(column + 0.06, (start + end) / 2, loop[0], ha="left", va="center", **label)
    targets = {}  # loops entering one block come in one above the other, the outermost on top
    for i, j, x in sorted(loops, key=lambda t: -t[2]):
        targets.setdefault(j, []).append((i, x))
    for j, entering in targets.items():
        hh = half[j][1]
        for slot, (i, x) in enumerate(entering):
            y_in = centers[j] + (0.55 * hh * (1 - 2 * slot / (len(entering) - 1)) if len(entering) > 1 else 0.0)
            corner = (column + half[i][0], centers[i])
            path = Path([corner, (column + x, corner[1]), (column + x, y_in), (column + half[j][0], y_in)])
            ax.add_patch(FancyArrowPatch(path=path, gid=f"loop-{steps[i][0]}", **arrow))
            ax.text(corner[0] + 0.05, corner[1] + 0.03, steps[i][2][2], ha="left", va="bottom", **label)
    return ax


# ------------------------------------------------------------------------------------------ finders
def _field(obj, name, default=None):
    """``obj.name`` for a dataclass, ``obj[name]`` for its ``to_dict()`` read back from the store."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def plot_suggestion(ax, suggestion, xs, losses, color=None, label: str | None = None):
    """Mark a :class:`hw2.suggest.Suggestion` on the curve it was read from.

    ``low`` / ``high`` become dotted vertical lines with a dot on the curve, a single-value rule's
    ``value`` a star on the curve; the legend entry names the rule and the values.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from hw2.suggest import suggest_lr
        >>> lrs, losses = np.logspace(-4, 0, 5), np.array([2.3, 2.1, 1.0, 0.5, 0.7])
        >>> fig, ax = new_figure()
        >>> _ = plot_suggestion(ax, suggest_lr(lrs, losses), lrs, losses)
    """
    xs, losses = np.asarray(xs, dtype=float), np.asarray(losses, dtype=float)
    rule = _field(suggestion, "rule", "")
    color = color or {"default": PALETTE[3], "valley": PALETTE[2], "steep": PALETTE[4],
                      "minimum": PALETTE[5]}.get(rule, PALETTE[3])
    low, high = _field(suggestion, "low"), _field(suggestion, "high")
    as_int = float(xs[0]).is_integer() and float(xs[-1]).is_integer() and xs[0] >= 1
    fmt = (lambda v: f"{int(v)}") if as_int else (lambda v: f"{v:.2g}")
    if low is not None and high is not None:
        text = label or f"{rule}: [{fmt(low)}, {fmt(high)}]"
        for index, value, style in ((_field(suggestion, "low_index"), low, ":"),
                                    (_field(suggestion, "high_index"), high, "--")):
            ax.axvline(value, color=color, linestyle=style, linewidth=1.2)
            if index is not None and 0 <= index < len(xs) and np.isfinite(losses[index]):
                ax.scatter([xs[index]], [losses[index]], color=color, s=36, zorder=5, edgecolor="k",
                           linewidth=0.5)
        ax.plot([], [], color=color, linestyle="--", label=text)
    else:
        value, index = _field(suggestion, "value"), _field(suggestion, "index", -1)
        y = losses[index] if index is not None and 0 <= index < len(xs) else np.interp(
            np.log(value), np.log(xs[np.isfinite(losses)]), losses[np.isfinite(losses)])
        ax.scatter([value], [y], marker="*", s=120, color=color, edgecolor="k", linewidth=0.5, zorder=6,
                   label=label or f"{rule}: {fmt(value)}")
    return ax


def plot_sweep_epochs(ax, learning_rates, losses, diverged=None, cmap: str = "viridis"):
    """Training loss vs learning rate, one line per epoch (darker = later); diverged runs as crosses.

    ``losses`` is the (learning rates, epochs) matrix of :class:`hw2.sweeps.LRSweepResult`.
    """
    lrs, losses = np.asarray(learning_rates, dtype=float), np.asarray(losses, dtype=float)
    diverged = np.zeros(len(lrs), bool) if diverged is None else np.asarray(diverged, bool)
    colors = plt.get_cmap(cmap)(np.linspace(0.85, 0.15, losses.shape[1]))
    for epoch in range(losses.shape[1]):
        ok = np.isfinite(losses[:, epoch]) & ~diverged
        ax.plot(lrs[ok], losses[ok, epoch], marker=".", color=colors[epoch], linewidth=1.2,
                label=f"epoch {epoch + 1}" if epoch in (0, losses.shape[1] - 1) else None)
    if diverged.any():
        top = np.nanmax(np.where(np.isfinite(losses), losses, np.nan)) * 1.08
        ax.scatter(lrs[diverged], np.full(diverged.sum(), top), marker="x", color="tab:red", s=50,
                   zorder=4, label="diverged")
    ax.set(xscale="log", xlabel="learning rate", ylabel="training loss")
    return ax


def plot_batch_finder_diagram(ax=None, title: str | None = None):
    """The batch-size finder's steps (:data:`hw2.sweeps.BATCH_FINDER_STEPS`) as a block diagram."""
    from hw2.sweeps import BATCH_FINDER_STEPS

    if ax is None:
        _, ax = new_figure(height=0.75 * len(BATCH_FINDER_STEPS))
    return plot_block_diagram(ax, BATCH_FINDER_STEPS, title=title)


# ------------------------------------------------------------------------------------------ P2
def plot_layer_violins(ax, samples, title: str | None = None, ylabel: str | None = None, color=None,
                       first_layer: int = 1):
    """One violin per layer of ``samples`` (layers, values): the intoli article's per-layer plot.

    Values far from 1 in size are drawn in units of a power of ten named in the axis label
    (``'dLoss/dW (×10⁻⁴)'``) rather than with matplotlib's offset text, which sits above the axes
    where it collides with the title and is cut off in tight rows of subplots.
    """
    samples = np.asarray(samples, dtype=float)
    finite = samples[np.isfinite(samples)]
    peak = float(np.max(np.abs(finite))) if finite.size else 0.0
    exponent = int(np.floor(np.log10(peak))) if peak > 0 and not 1e-2 <= peak < 1e3 else 0
    samples = samples / 10.0**exponent
    parts = ax.violinplot([row[np.isfinite(row)] for row in samples], positions=np.arange(len(samples)),
                          showextrema=False, widths=0.85)
    for body in parts["bodies"]:
        body.set_facecolor(color if color is not None else PALETTE[0])
        body.set_edgecolor("0.3")
        body.set_alpha(0.75)
    ax.set_xticks(np.arange(len(samples)), [str(first_layer + i) for i in range(len(samples))])
    label = ylabel or ""
    if exponent:
        label = f"{label} (×$10^{{{exponent}}}$)".strip()
    ax.set(xlabel="hidden layer", ylabel=label or None)
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def plot_fraction_ci(ax, x, fractions, ci, label: str, color=None, marker: str = "o", offset: float = 0.0):
    """Fractions with their 95 % intervals (``ci``: (n, 2) array of low/high) as error bars."""
    x = np.asarray(x, dtype=float) + offset
    fractions, ci = np.asarray(fractions, dtype=float), np.asarray(ci, dtype=float)
    err = np.vstack([fractions - ci[:, 0], ci[:, 1] - fractions])
    ax.errorbar(x, fractions, yerr=err, marker=marker, markersize=4, capsize=2.5, linewidth=1.2,
                color=color, label=label)
    return ax


def plot_network_functions(ax, grid, outputs, target, collapsed=None, title: str | None = None):
    """A few trained networks' functions on the domain with the target; collapsed ones dashed."""
    outputs = np.asarray(outputs)
    collapsed = np.zeros(len(outputs), bool) if collapsed is None else np.asarray(collapsed, bool)
    ax.plot(grid, target, color="k", linewidth=2.2, alpha=0.35, label="target")
    for i, (out, flat) in enumerate(zip(outputs, collapsed)):
        ax.plot(grid, out, linestyle="--" if flat else "-", linewidth=1.2, color=PALETTE[i % len(PALETTE)],
                label=None)
    ax.plot([], [], "k--", linewidth=1.2, label="collapsed (constant)")
    ax.plot([], [], "k-", linewidth=1.2, label="not collapsed")
    ax.set(xlabel="x", ylabel="network output")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper center")
    return ax


LINE_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")


def plot_layer_scales(axes, values, labels, groups, ylabel: str):
    """Small multiples of a per-layer scale: one panel per group (e.g. activation), one line per case.

    ``values`` (cases, layers), ``labels`` and ``groups`` one per case; ``axes`` one per distinct
    group, in order of first appearance. Within a panel every line has its own colour and marker,
    labelled without the ``'group, '`` prefix (the panel's title); values <= 0 (log axis) are left out.

    Example:
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> fig, axes = new_figure(ncols=2)
        >>> _ = plot_layer_scales(axes, [[1, 0.5], [1, 1], [2, 4]], ["a", "b", "c"], ["t", "t", "r"], "std")
        >>> [len(ax.get_lines()) for ax in axes]
        [2, 1]
    """
    values = np.asarray(values, dtype=float)
    order = list(dict.fromkeys(groups))
    if len(axes) != len(order):
        raise argument_error("axes", f"one axis per group ({len(order)})", received=f"{len(axes)} axes")
    layers = np.arange(1, values.shape[1] + 1)
    for ax, group in zip(axes, order):
        members = [i for i, g in enumerate(groups) if g == group]
        for k, i in enumerate(members):
            keep = np.isfinite(values[i]) & (values[i] > 0)
            ax.plot(layers[keep], values[i][keep], marker=LINE_MARKERS[k % len(LINE_MARKERS)], markersize=4,
                    linewidth=1.3, color=PALETTE[k % len(PALETTE)], label=str(labels[i]).removeprefix(f"{group}, "))
        ax.set(yscale="log", xlabel="hidden layer", ylabel=ylabel, xticks=layers)
        ax.set_title(str(group), fontsize=9)
    return axes


def plot_depth_sweep(ax, data: dict):
    """Width-2 ReLU networks of ``p2.dying_relu_depth`` against depth: collapsed after training (95 %
    intervals), born dead (same networks and Monte Carlo), the one-sided bound, and 90 % dashed."""
    depths, mc_depths, mc_widths = data["depths"], data["mc_depths"], list(data["mc_widths"])
    plot_fraction_ci(ax, depths, data["collapsed"], data["collapsed_ci95"], "collapsed after training",
                     color=PALETTE[3])
    ax.plot(depths, data["born_dead"], "s", color=PALETTE[0], markersize=4, label="born dead (same networks)")
    if 2 in mc_widths:
        w2 = mc_widths.index(2)
        ax.plot(mc_depths, data["mc_born_dead"][w2], "-", color=PALETTE[0], linewidth=1.2,
                label="born dead (Monte Carlo)")
        ax.plot(mc_depths, data["one_sided_death"][w2], ":", color="k", linewidth=1.2,
                label="bound 1 − (3/4)^(depth−1)")
    ax.axhline(0.9, color="0.5", linestyle="--", linewidth=0.8)
    ax.set(xlabel="depth (weight layers)", ylabel="fraction of networks", ylim=(-0.02, 1.02), title="ReLU, width 2")
    ax.legend(fontsize=7, loc="lower right")
    return ax


def plot_depth_width_maps(axes, data: dict):
    """Two depth x width heat maps of ``p2.dying_relu_depth`` (collapsed after training, born dead),
    each cell labelled with its percentage; returns the image (for a shared colour bar)."""
    for ax, values, title in ((axes[0], data["map_collapsed"], "collapsed after training"),
                              (axes[1], data["map_born_dead"], "born dead (same networks)")):
        image = ax.imshow(100 * values, origin="lower", cmap="magma", vmin=0, vmax=100, aspect="auto")
        ax.set_xticks(range(len(data["map_depths"])), [str(d) for d in data["map_depths"]])
        ax.set_yticks(range(len(data["map_widths"])), [str(w) for w in data["map_widths"]])
        for (wi, di), v in np.ndenumerate(values):
            ax.text(di, wi, f"{100 * v:.0f}", ha="center", va="center", fontsize=7,
                    color="white" if v < 0.6 else "black")
        ax.set(xlabel="depth", ylabel="width", title=title)
        ax.grid(False)
    return image


def plot_born_dead_by_width(ax, data: dict):
    """Monte-Carlo born-dead probability of ``p2.dying_relu_depth`` against depth, one line per width
    (dotted: the one-sided bound), with the trained map's collapsed shares as dots."""
    widths, map_widths = data["mc_widths"], list(data["map_widths"])
    for wi, width in enumerate(widths):
        color = PALETTE[wi % len(PALETTE)]
        ax.plot(data["mc_depths"], 100 * data["mc_born_dead"][wi], "-", color=color, label=f"width {width}")
        ax.plot(data["mc_depths"], 100 * data["one_sided_death"][wi], ":", color=color, linewidth=1)
        if width in map_widths:
            ax.plot(data["map_depths"], 100 * data["map_collapsed"][map_widths.index(width)], "o", color=color,
                    markersize=4)
    ax.set(xlabel="depth (weight layers)", ylabel="%")
    ax.set_title("born dead (lines: Monte Carlo; dotted: one-sided bound); dots: collapsed after training",
                 fontsize=8)
    ax.legend(fontsize=7, ncol=2)
    return ax


def plot_collapse_history(axes, data: dict, labels, dead: bool = False):
    """Two panels of a ``p2.dying_relu_long`` result against epochs (log axes; epoch 0 drawn at 0.5):
    the collapsed share of every arm at each checkpoint (``dead``: also the share with a dead /
    negative-regime layer, dotted), and the training loss (median, 10–90 % band) with ``Var(|x|)``."""
    n = len(next(iter(data["per_arm"].values()))["collapsed"])
    marks = np.maximum(np.asarray(data["checkpoint_epochs"], dtype=float), 0.5)
    for a, label in enumerate(labels):
        color = PALETTE[a % len(PALETTE)]
        axes[0].plot(marks, 100 * data["collapsed_counts"][:, a] / n, marker="o", markersize=2.5, color=color,
                     label=f"{label}: collapsed" if dead else label)
        if dead:
            axes[0].plot(marks, 100 * data["dead_counts"][:, a] / n, ":", marker="s", markersize=2.5, color=color,
                         label=f"{label}: dead / negative-regime layer")
        q = data["loss_quantiles"][:, :, a]
        span = np.arange(1, q.shape[1] + 1)
        axes[1].fill_between(span, q[0], q[2], color=color, alpha=0.2)
        axes[1].plot(span, q[1], color=color, label=label)
    axes[0].set(xscale="log", xlabel="epoch (0 drawn at 0.5)", ylabel="% of networks", title="collapsed share")
    axes[1].axhline(data["summary"]["target_variance_on_domain"], color="k", linestyle=":", linewidth=1,
                    label="Var(|x|)")
    axes[1].set(xscale="log", yscale="log", xlabel="epoch", ylabel="training MSE", title="training loss")
    for ax in axes:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3))
    return axes
