"""
2.3 Does Leaky ReLU prevent the collapse?
=========================================

*Question.* Repeat the 1000 simulations of 2.2 with Leaky ReLU (negative slope α = 0.01) instead
of ReLU. Does it prevent the collapse? And what does "collapse" even mean here?

The Leaky ReLU simulations are paired with the ReLU ones: simulation k of both arms has the same
3000 training points, the same initial weights (He normal, zero biases) and the same minibatch
order, so any difference comes from the activation alone. Both arms train together until their
collapse counts stop changing (the rule of page 2.2, experiment ``p2.dying_relu_long``). A third
arm, trained for 50 epochs only (``p2.dying_relu``), uses ReLU with the *randomized asymmetric
initialization* (RAI) that Lu et al. propose against dying: each unit's weights and bias are drawn
from N(0, 0.6007² / fan_in), then one of them, chosen at random, is replaced by a Beta(2, 1) draw
(positive), so that a unit is less likely to be off for every input.

**Two measures.** A Leaky ReLU layer never outputs zero for every input — below zero it passes
α·z — so a Leaky ReLU network is (almost surely) never exactly constant and never "dead" in the
ReLU sense. We therefore measure both: *near-constant* (the same collapse test as 2.2: output
spread on the domain ≤ the tolerance times the spread of ``|x|``), and *a layer in the negative
regime* (every unit of some hidden layer has pre-activation ≤ 0 at every point — the state in which
a ReLU network is dead; for Leaky ReLU that layer is linear with slope α).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import dying_relu, experiments, plotting, report
from hw2.experiments import p2_analysis as pa

result = experiments.run("p2.dying_relu_long", fallback=True)
short = experiments.run("p2.dying_relu", fallback=True)
report.banner(result, short)
data, config, summary = result.data, result.config, result.data["summary"]
print(f"{config['n_simulations']} paired simulations per arm, negative slope "
      f"{config['negative_slope']:g}, tolerance {config['tolerance']:g}")
print(pa.convergence_text(data, config))
print(pa.arms_text(data))

# %%
# Paired comparison with ReLU
# ---------------------------
print(pa.pair_text(summary["relu_vs_leaky_relu"]["collapsed"]))

# %%
# Each simulation is a pair; the discordant pairs — collapsed with one activation and not with
# the other — decide the comparison, and the counts above show in which direction they go.
#
# How the Leaky ReLU networks get there
# -------------------------------------
fig, axes = plotting.new_figure(ncols=2, height=3.2)
plotting.plot_collapse_history(axes, data, [pa.ARM_LABELS[a] for a in data["arms"]], dead=True)
plt.show()

# %%
# Left, solid: near-constant networks; dotted: networks with a hidden layer entirely in the
# negative regime; right: the training loss. A dead ReLU layer passes no gradient back, so a dead
# ReLU network stays dead; a Leaky ReLU layer in the negative regime still passes α times the
# gradient, so such networks can keep learning — slowly, since the signal through k such layers is
# scaled by α^k. Measured:
print(pa.leaky_progress_text(data, short.data, config["snapshot_epoch"]))

# %%
# What the networks learned
# -------------------------
# Collapse is one end of a range. Classified by the training MSE relative to the variance of
# ``|x|`` (the MSE of the best constant): *fits* ``|x|`` below 1 % of it, *constant-level* at 90 %
# of it or more, *partial* in between (e.g. one side of ``|x|`` learned, the other flat).
print(pa.fit_table(data))

# %%
# Does "near-constant" depend on the tolerance?
# ---------------------------------------------
# A dead ReLU network is exactly constant; a Leaky ReLU network can be *almost* constant, with a
# spread α^k times smaller than the target's, so its share could depend on where the line is
# drawn. On the converged networks, the share of each
# arm at every tolerance of the grid and the paired difference, then the Leaky ReLU range after the
# first 50 epochs, when many networks were still on their way out:
print(pa.tolerance_table(data))
early = list(short.data["summary"]["leaky_relu"]["collapsed_by_tolerance"].values())
print(f"Leaky ReLU after {short.config['epochs']} epochs (p2.dying_relu), same tolerances: "
      f"{100 * min(early):.1f} to {100 * max(early):.1f} %")
rows = pa.tolerance_rows(data)
fig, ax = plotting.new_figure(height=3.0)
for a, arm in enumerate(("relu", "leaky_relu")):
    shares = [100 * r[arm]["fraction"] for r in rows]
    intervals = 100 * np.array([r[arm]["ci95"] for r in rows])
    plotting.plot_fraction_ci(ax, [r["tolerance"] for r in rows], shares, intervals,
                              pa.ARM_LABELS[arm], color=plotting.PALETTE[a])
ax.plot([r["tolerance"] for r in rows], [100 * v for v in early], "--", color=plotting.PALETTE[1],
        label=f"Leaky ReLU after {short.config['epochs']} epochs")
ax.axvline(config["tolerance"], color="k", linestyle=":", linewidth=1, label="tolerance used")
ax.set(xscale="log", xlabel="tolerance (× spread of |x| on the domain)", ylabel="collapsed (%)",
       title=f"after {summary['epochs_run']} epochs")
ax.legend(fontsize=7)
plt.show()

# %%
# The collapsed share of each arm as the tolerance moves over the grid, with 95 % intervals
# (dashed: Leaky ReLU after the first 50 epochs); the dotted line marks the tolerance of the
# answers. At how many tolerances the paired interval of ReLU − Leaky ReLU lies above 0:
above = sum(r["difference"]["significant"] and r["difference"]["value"] > 0 for r in rows)
print(f"{above} of {len(rows)} tolerances")

# %%
# Exactly constant, yet not dead
# ------------------------------
# A Leaky ReLU network can output *exactly* the same float32 number at every grid point. A layer in
# the negative regime multiplies the input-dependent part of the signal by α = 0.01 instead of
# cutting it; after a few such layers that part can fall below one float32 step at the output's
# level (:func:`hw2.dying_relu.float32_resolution`): every grid value rounds to the same number and
# the measured spread is exactly 0, although in exact arithmetic the function is not constant.
target = dying_relu.TARGETS[config["target"]](dying_relu.grid(config["grid_size"]))
print(pa.exact_constant_text(data, float(np.ptp(target))))

# %%
# The randomized asymmetric initialization
# ----------------------------------------
# Not in the converged run: these numbers are after 50 epochs, with the change over the second
# half of them printed, so they are not settled answers.
if "relu+rai" in short.data["arms"]:
    print(pa.rai_text(short.data))

# %%
# RAI attacks the cause measured on page 2.2 — death at initialization — and the Monte-Carlo
# estimate shows by how much. Whether it prevents collapse is a different question: the networks
# it starts alive can still die during training.
#
# The answer
# ----------
report.answer("2.3", pa.answer_23(data, config), result)
