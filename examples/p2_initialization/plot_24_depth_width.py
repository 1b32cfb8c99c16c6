"""
2.4 Beyond the question: how collapse depends on depth and width
=================================================================

*Question.* The 90 % of 2.2 belongs to one architecture. How does the collapse fraction of
ReLU networks (He normal, zero biases, trained on ``|x|`` as in 2.2) change with the depth for width 2,
and over a grid of depths and widths? How much of it is decided at initialization?

Trained fractions come from ensembles like 2.2's (all depths of one width share data and batch
orders); they train for fewer epochs than 2.2 — the collapse fraction of ReLU networks settles in
the first epochs (page 2.2). The probability of being *born dead* is estimated by Monte Carlo over
fresh initializations, which is cheap: with zero biases each layer is positively homogeneous in
x, so the two points x = ±√7 decide exactly whether some layer is off on the whole domain.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, plotting, report

result = experiments.run("p2.dying_relu_depth", fallback=True)
report.banner(result)
data, config = result.data, result.config
depths = data["depths"]
print(f"width 2: depths {depths.tolist()}, {config['n_simulations']} simulations each, {config['epochs']} epochs; "
      f"map: widths {data['map_widths'].tolist()} x depths {data['map_depths'].tolist()} "
      f"({config['map_simulations']} simulations per cell for widths other than 2); "
      f"Monte Carlo: {config['mc_networks']:,} networks per cell")

# %%
# Width 2: collapse against depth
# -------------------------------
mc_depths, mc = data["mc_depths"], data["mc_born_dead"]
w2 = list(data["mc_widths"]).index(2) if 2 in data["mc_widths"] else None
fig, ax = plotting.new_figure(height=3.4)
plotting.plot_fraction_ci(ax, depths, data["collapsed"], data["collapsed_ci95"], "collapsed after training",
                          color=plotting.PALETTE[3])
ax.plot(depths, data["born_dead"], "s", color=plotting.PALETTE[0], markersize=4, label="born dead (same networks)")
if w2 is not None:
    ax.plot(mc_depths, mc[w2], "-", color=plotting.PALETTE[0], linewidth=1.2, label="born dead (Monte Carlo)")
    ax.plot(mc_depths, data["one_sided_death"][w2], ":", color="k", linewidth=1.2,
            label="bound 1 − (3/4)^(depth−1)")
ax.axhline(0.9, color="0.5", linestyle="--", linewidth=0.8)
ax.set(xlabel="depth (weight layers)", ylabel="fraction of networks", ylim=(-0.02, 1.02),
       title="ReLU, width 2")
ax.legend(fontsize=7, loc="lower right")
plt.show()

# %%
# Red: the fraction collapsed after training, with 95 % intervals; blue squares: the fraction of the
# same networks born dead; blue line: the Monte-Carlo born-dead probability; dotted: the bound that
# counts the networks dead for x > 0 only; dashed: 90 %. A dead ReLU network cannot come back, so the
# trained fraction can only be at or above the born-dead one; the gap is what training killed:
for d, c, ci, b in zip(depths, data["collapsed"], data["collapsed_ci95"], data["born_dead"]):
    print(f"depth {d:>2}: collapsed {100 * c:5.1f} % (95 % CI {100 * ci[0]:.1f}–{100 * ci[1]:.1f}), born dead "
          f"{100 * b:5.1f} %, killed in training {100 * (c - b):4.1f} points")
gap = data["collapsed"] - data["born_dead"]
first_90 = next((int(d) for d, ci in zip(depths, data["collapsed_ci95"]) if ci[0] > 0.9), None)
d10 = {int(d): i for i, d in enumerate(depths)}
print(f"killed in training: {100 * gap.min():.1f} to {100 * gap.max():.1f} points, largest at depth "
      f"{int(depths[np.argmax(gap)])}; first depth whose collapse interval lies above 90 %: {first_90}")
print(f"collapse never decreases with depth: {bool(np.all(np.diff(data['collapsed']) >= 0))}; born dead never "
      f"decreases with depth: {bool(np.all(np.diff(data['born_dead']) >= 0))}")

# %%
# Depth x width
# -------------
fig, axes = plotting.new_figure(ncols=2, height=3.3)
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
fig.colorbar(image, ax=axes, label="% of networks", shrink=0.8)
plt.show()

# %%
# Left: the share of networks collapsed after training for each depth (columns) and width (rows);
# right: the share of the same networks born dead. A layer of ``width`` units shuts off for a given
# input when all of them do, which for independent symmetric units has probability 2^−width, so
# each added unit per layer makes a dead layer rarer. Measured at the deepest map column:
deep = len(data["map_depths"]) - 1
print(f"depth {int(data['map_depths'][deep])}: collapsed " + ", ".join(
    f"width {int(w)}: {100 * data['map_collapsed'][wi, deep]:.0f} %" for wi, w in enumerate(data["map_widths"])))

# %%
# The Monte-Carlo born-dead probability over a wider range of depths and widths, with the trained
# map as dots:
fig, ax = plotting.new_figure(height=3.2)
for wi, width in enumerate(data["mc_widths"]):
    color = plotting.PALETTE[wi % len(plotting.PALETTE)]
    ax.plot(mc_depths, 100 * mc[wi], "-", color=color, label=f"width {width}")
    ax.plot(mc_depths, 100 * data["one_sided_death"][wi], ":", color=color, linewidth=1)
for wi, width in enumerate(data["map_widths"]):
    color = plotting.PALETTE[list(data["mc_widths"]).index(width) % len(plotting.PALETTE)] \
        if width in data["mc_widths"] else "k"
    ax.plot(data["map_depths"], 100 * data["map_collapsed"][wi], "o", color=color, markersize=4)
ax.set(xlabel="depth (weight layers)", ylabel="%", title="born dead (lines: Monte Carlo; dotted: one-sided bound); "
       "dots: collapsed after training")
ax.title.set_fontsize(8)
ax.legend(fontsize=7, ncol=2)
plt.show()

# %%
# Each line is one width's born-dead probability against depth (dotted: the one-sided bound); the
# dots are the trained networks' collapse fractions of the map above. For each width, the depth at
# which half of the networks are born dead:
for wi, width in enumerate(data["mc_widths"]):
    above = np.flatnonzero(mc[wi] >= 0.5)
    print(f"width {int(width)}: " + (f"depth {int(mc_depths[above[0]])}" if above.size else
                                     f"not reached by depth {int(mc_depths[-1])}")
          + f" (born dead at depth {int(mc_depths[-1])}: {100 * mc[wi, -1]:.1f} %)")

# %%
# The answer
# ----------
i10 = d10.get(10)
text = ""
if i10 is not None:
    text += (f"width 2: collapse rises with depth, {100 * data['collapsed'][0]:.0f} % at depth {depths[0]} to "
             f"{100 * data['collapsed'][i10]:.0f} % at depth 10 and {100 * data['collapsed'][-1]:.0f} % at depth "
             f"{depths[-1]}, {100 * gap.min():.0f}–{100 * gap.max():.0f} points above the born-dead fraction")
else:
    text += (f"width 2: collapse {100 * data['collapsed'][0]:.0f} % at depth {depths[0]} to "
             f"{100 * data['collapsed'][-1]:.0f} % at depth {depths[-1]}")
widest = int(data["map_widths"][-1])
text += (f"; at width {widest} the collapse at depth {int(data['map_depths'][-1])} is "
         f"{100 * data['map_collapsed'][-1, -1]:.0f} %")
report.answer("2.4", text + ".", result)
