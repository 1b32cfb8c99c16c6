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
    plt.rcParams.update({"figure.dpi": 110, "savefig.dpi": 110, "axes.titleweight": "semibold",
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
