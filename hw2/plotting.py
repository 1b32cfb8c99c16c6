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
    """Training points of one set, the true boundary x1 = x2 and each learned separator w·x = 0."""
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
    ax.legend(loc="upper left", fontsize=7, framealpha=0.9)
    return ax


# ------------------------------------------------------------------------------------------ P3
P3_COLORS = {"baseline": PALETTE[7], "bn_hidden": PALETTE[0], "bn_input_hidden": PALETTE[1],
             "dropout": PALETTE[2], "bn_dropout": PALETTE[4]}


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
    """Mean over the first axis of ``values`` (seeds, points) as a line, ± 1 sd as a band."""
    values = np.asarray(values, dtype=float)
    mean = values.mean(axis=0)
    sd = values.std(axis=0, ddof=1) if values.shape[0] > 1 else np.zeros_like(mean)
    ax.plot(x, mean, linestyle, color=color, label=label, linewidth=1.6)
    ax.fill_between(x, mean - sd, mean + sd, color=color, alpha=0.18, linewidth=0)
    return ax


def plot_learning_curves(axes, variants: dict, labels: dict, metric: str = "accuracy"):
    """Training (inference mode, fixed training subset; dashed) and validation (solid) curves,
    mean ± sd over seeds, of several variants on shared axes: ``axes`` = (accuracy/loss axis)."""
    for name, runs in variants.items():
        history = runs["history"]
        epochs = np.arange(1, history[f"val_{metric}"].shape[1] + 1)
        scale = 100.0 if metric == "accuracy" else 1.0
        color = P3_COLORS.get(name, PALETTE[0])
        label = labels[name]
        plot_mean_band(axes, epochs, scale * history[f"train_{metric}"], f"{label} — train", color, "--")
        plot_mean_band(axes, epochs, scale * history[f"val_{metric}"], f"{label} — validation", color)
    axes.set(xlabel="epoch", ylabel="accuracy (%)" if metric == "accuracy" else "cross-entropy loss")
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


def plot_input_drift(ax, steps, percentiles, unit: int, label: str, color):
    """Ioffe & Szegedy's figure 1: the 15th / 50th / 85th percentiles of one unit's nonlinearity
    input over training steps (``percentiles``: (checkpoints, 3, units)); step 0 drawn at 0.5."""
    steps = np.where(np.asarray(steps) == 0, 0.5, steps)
    p = np.asarray(percentiles)[:, :, unit]
    ax.fill_between(steps, p[:, 0], p[:, 2], color=color, alpha=0.2, linewidth=0)
    ax.plot(steps, p[:, 1], color=color, linewidth=1.6, label=f"{label}: median, 15–85 %")
    ax.plot(steps, p[:, 0], color=color, linewidth=0.6)
    ax.plot(steps, p[:, 2], color=color, linewidth=0.6)
    ax.set(xscale="log", xlabel="training step (log; 0 drawn at 0.5)", ylabel="input to tanh")
    return ax
