"""
2.4 Beyond the question: how collapse depends on depth and width
=================================================================

*Question.* The 90 % of 2.2 belongs to one architecture. How does the collapse fraction of
ReLU networks (He normal, zero biases, trained on ``|x|`` as in 2.2) change with the depth for
width 2, and over a grid of depths and widths? How much of it is decided at initialization?

Trained fractions come from ensembles like 2.2's (all depths of one width share data and batch
orders), trained for 20 epochs each; the converged run of page 2.2 shows below how much the ReLU
collapse share at depth 10 still moves after epoch 20. The probability of being *born dead* is
estimated by Monte Carlo over fresh initializations, which is cheap: with zero biases each layer
is positively homogeneous in x, so the two points x = ±√7 decide exactly whether some layer is off
on the whole domain.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, plotting, report
from hw2.experiments import p2_analysis as pa

result = experiments.run("p2.dying_relu_depth", fallback=True)
long = experiments.run("p2.dying_relu_long", fallback=True)
report.banner(result, long)
data, config = result.data, result.config
depths = data["depths"]
print(f"width 2: depths {depths.tolist()}, {config['n_simulations']} simulations each, "
      f"{config['epochs']} epochs; map: widths {data['map_widths'].tolist()} x depths "
      f"{data['map_depths'].tolist()} ({config['map_simulations']} simulations per cell for widths "
      f"other than 2); Monte Carlo: {config['mc_networks']:,} networks per cell")
check = pa.epochs_check(long.data, config["epochs"])
if check:
    print(f"converged run (depth 10, width 2): ReLU collapsed {100 * check['at']:.1f} % after "
          f"{config['epochs']} epochs, {100 * check['end']:.1f} % after {check['epochs_run']}; "
          f"networks that changed status after epoch {config['epochs']}: {check['changed_after']}")

# %%
# Width 2: collapse against depth
# -------------------------------
fig, ax = plotting.new_figure(height=3.4)
plotting.plot_depth_sweep(ax, data)
plt.show()

# %%
# Red: the fraction collapsed after training, with 95 % intervals; blue squares: the fraction of the
# same networks born dead; blue line: the Monte-Carlo born-dead probability; dotted: the bound that
# counts the networks dead for x > 0 only; dashed: 90 %. A dead ReLU network cannot come back, so
# the trained fraction can only be at or above the born-dead one; the gap is what training killed:
print(pa.depth_table(data))
gap = data["collapsed"] - data["born_dead"]
first_90 = next((int(d) for d, ci in zip(depths, data["collapsed_ci95"]) if ci[0] > 0.9), None)
print(f"killed in training: {100 * gap.min():.1f} to {100 * gap.max():.1f} points, largest at "
      f"depth {int(depths[np.argmax(gap)])}; first depth whose collapse interval lies above 90 %: "
      f"{first_90}")
print(f"collapse never decreases with depth: {bool(np.all(np.diff(data['collapsed']) >= 0))}; "
      f"born dead never decreases with depth: {bool(np.all(np.diff(data['born_dead']) >= 0))}")

# %%
# Depth x width
# -------------
fig, axes = plotting.new_figure(ncols=2, height=3.3)
image = plotting.plot_depth_width_maps(axes, data)
fig.colorbar(image, ax=axes, label="% of networks", shrink=0.8)
plt.show()

# %%
# Left: the share of networks collapsed after training for each depth (columns) and width (rows);
# right: the share of the same networks born dead. A layer of ``width`` units shuts off for a given
# input when all of them do, which for independent symmetric units has probability 2^−width.
# Measured at the deepest map column:
deep = len(data["map_depths"]) - 1
print(f"depth {int(data['map_depths'][deep])}: collapsed " + ", ".join(
    f"width {int(w)}: {100 * data['map_collapsed'][wi, deep]:.0f} %"
    for wi, w in enumerate(data["map_widths"])))

# %%
# The Monte-Carlo born-dead probability over a wider range of depths and widths, with the trained
# map as dots:
fig, ax = plotting.new_figure(height=3.2)
plotting.plot_born_dead_by_width(ax, data)
plt.show()

# %%
# Each line is one width's born-dead probability against depth (dotted: the one-sided bound); the
# dots are the trained networks' collapse fractions of the map above. For each width, the first
# depth at which half of the networks are born dead:
deepest = int(data["mc_depths"][-1])
for width, (depth, last) in pa.half_dead_depth(data).items():
    print(f"width {width}: " + (f"depth {depth}" if depth else f"not reached by depth {deepest}")
          + f" (born dead at depth {deepest}: {100 * last:.1f} %)")

# %%
# The answer
# ----------
report.answer("2.4", pa.answer_24(data), result)
