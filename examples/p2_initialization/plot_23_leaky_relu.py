"""
2.3 Does Leaky ReLU prevent the collapse?
=========================================

*Question.* Repeat the 1000 simulations of 2.2 with Leaky ReLU (negative slope α = 0.01) instead
of ReLU. Does it prevent the collapse? And what does "collapse" even mean here?

The Leaky ReLU simulations are paired with the ReLU ones: simulation k of both arms has the same
3000 training points, the same initial weights (He normal, zero biases) and the same minibatch
order, so any difference comes from the activation alone. A third arm uses ReLU with the
*randomized asymmetric initialization* (RAI) that Lu et al. propose against dying: each unit's
weights and bias are drawn from N(0, 0.6007² / fan_in), then one of them, chosen at random, is
replaced by a Beta(2, 1) draw (positive), so that a unit is less likely to be off for every input.

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

result = experiments.run("p2.dying_relu", fallback=True)
report.banner(result)
data, config, summary = result.data, result.config, result.data["summary"]
arms = list(data["arms"])
S, epochs = config["n_simulations"], config["epochs"]


def pct(p):
    return f"{100 * p['fraction']:.1f} % (95 % CI {100 * p['ci95'][0]:.1f}–{100 * p['ci95'][1]:.1f} %)"


print(f"{S} paired simulations per arm, {epochs} epochs, negative slope {config['negative_slope']:g}, "
      f"tolerance {config['tolerance']:g}")
for arm in arms:
    s = summary[arm]
    print(f"{arm:>11}: near-constant {pct(s['collapsed'])}; layer in negative regime {pct(s['dead'])}; "
          f"at initialization: negative-regime layer {pct(s['born_dead'])}; diverged: {s['non_finite']}")

# %%
# Paired comparison with ReLU
# ---------------------------
pair = summary["relu_vs_leaky_relu"]["collapsed"]
print(f"simulations collapsed with both activations: {pair['both']}; only with ReLU: {pair['only_a']}; "
      f"only with Leaky ReLU: {pair['only_b']}; with neither: {pair['neither']}")
print(f"ReLU − Leaky ReLU collapse fraction: {100 * pair['difference']:+.1f} points "
      f"(95 % CI {100 * pair['ci95'][0]:+.1f} to {100 * pair['ci95'][1]:+.1f})")

# %%
# Each simulation is a pair; the discordant pairs — collapsed with one activation and not with
# the other — decide the comparison, and the counts above show in which direction they go.
#
# What the networks learned
# -------------------------
# Collapse is one end of a range. Classified by the training MSE relative to the variance of ``|x|``
# (the MSE of the best constant): *fits* ``|x|`` below 1 % of it, *constant-level* above 90 % of it,
# *partial* in between (e.g. one side of ``|x|`` learned, the other flat).
variance = summary["target_variance_on_domain"]
for arm in arms:
    mse = data["per_arm"][arm]["mse"]
    fits, flat = mse < 0.01 * variance, mse >= 0.9 * variance
    print(f"{arm:>11}: fits |x| {fits.mean():6.1%}   partial {np.mean(~fits & ~flat):6.1%}   "
          f"constant-level {flat.mean():6.1%}")

# What the Leaky ReLU networks compute, and how the picture evolves with training
# -------------------------------------------------------------------------------
i_leaky = arms.index("leaky_relu")
fig, axes = plotting.new_figure(ncols=2, height=3.4)
shown = data["example_indices"][i_leaky]
plotting.plot_network_functions(axes[0], data["example_grid"], data["example_outputs"][i_leaky],
                                data["example_target"], data["per_arm"]["leaky_relu"]["collapsed"][shown],
                                title=f"Leaky ReLU simulations {', '.join(str(int(k)) for k in shown)}")
epochs_axis = data["checkpoint_epochs"]
for a, arm in enumerate(arms):
    color = plotting.PALETTE[a]
    axes[1].plot(epochs_axis, 100 * data["collapsed_by_epoch"][:, a], marker="o", markersize=3, color=color,
                 label=f"{arm}: near-constant")
    axes[1].plot(epochs_axis, 100 * data["dead_by_epoch"][:, a], marker="s", markersize=3, color=color,
                 linestyle=":", label=f"{arm}: negative-regime layer")
axes[1].set(xlabel="epoch (0 = initialization)", ylabel="% of simulations", title="during training")
axes[1].legend(fontsize=6, loc="center right", framealpha=0.85)
plt.show()

# %%
# Left: a few Leaky ReLU simulations, non-collapsed ones first, collapsed ones dashed. Right: solid lines
# are near-constant networks, dotted lines networks with a hidden layer entirely in the negative
# regime. A dead ReLU layer passes no gradient back, so nothing before it can change and a dead
# ReLU network stays dead; for Leaky ReLU the negative regime still passes α times the gradient,
# so such networks can keep learning — slowly, since the signal through k such layers is scaled by
# α^k. What the curves show, measured:
i_relu = arms.index("relu")
relu_c, relu_d = data["collapsed_by_epoch"][:, i_relu], data["dead_by_epoch"][:, i_relu]
print(f"ReLU: near-constant {', '.join(f'{100 * v:.1f}' for v in relu_c)} %; dead "
      f"{', '.join(f'{100 * v:.1f}' for v in relu_d)} % at epochs {', '.join(str(int(e)) for e in epochs_axis)}")
print(f"ReLU fractions never decrease: near-constant {bool(np.all(np.diff(relu_c) >= 0))}, "
      f"dead {bool(np.all(np.diff(relu_d) >= 0))}; they are equal at the end: "
      f"{summary['relu']['collapsed']['count'] == summary['relu']['dead']['count']}")

# %%
# *Collapsed at epoch 0 is not the same as born dead.* The two numbers at epoch 0 use different
# definitions: *near-constant* is a test on the output (spread on the domain at most the tolerance
# times that of ``|x|``), *born dead* a test on the hidden layers (one of them off for every input).
# A born-dead ReLU network is exactly constant, so born dead implies near-constant; the converse
# fails for a network whose every layer is alive somewhere but whose output varies by less than
# the tolerance. Counted per network:
relu_arm = data["per_arm"]["relu"]
const0, dead0 = relu_arm["constant_at_init"], relu_arm["born_dead"]
alive_flat = const0 & ~dead0
print(f"ReLU at initialization: near-constant {const0.sum()} of {S} ({const0.mean():.1%}), born dead {dead0.sum()} "
      f"({dead0.mean():.1%}); near-constant but no dead layer: {alive_flat.sum()}; born dead but not near-constant: "
      f"{np.sum(dead0 & ~const0)}")
if alive_flat.any():
    spread0 = relu_arm["relative_spread_at_init"][alive_flat]
    print(f"  the {alive_flat.sum()} near-constant live networks: output spread {spread0.min():.1e} to "
          f"{spread0.max():.1e} × that of |x| (tolerance {config['tolerance']:g}); dead after training: "
          f"{np.sum(relu_arm['dead'][alive_flat])} of them")

# %%
leaky = summary["leaky_relu"]
change = summary["collapse_change_second_half"]["leaky_relu"]
trend = data["collapsed_by_epoch"][:, i_leaky]
print("Leaky ReLU near-constant fraction by epoch: " + ", ".join(f"{int(e)}: {100 * v:.1f} %"
                                                                for e, v in zip(epochs_axis, trend)))
print(f"change over the second half of training: {100 * change:+.1f} points")
print(f"networks with a negative-regime layer that are NOT near-constant: {leaky['dead_not_collapsed']} "
      f"of {leaky['dead']['count']}")
print(f"median training MSE: near-constant {leaky['median_mse_collapsed']:.3f} (Var(|x|) = "
      f"{summary['target_variance_on_domain']:.3f}), others {leaky['median_mse_not_collapsed']:.4f}")

# %%
# Where does it settle? The same Leaky ReLU networks, trained much longer
# ------------------------------------------------------------------------
# A separate run (experiment ``p2.leaky_long``) trains a separate, smaller ensemble of Leaky ReLU
# networks — not the simulations above, but the same architecture, data distribution and optimizer —
# for many more epochs and records the near-constant fraction along the way.
long = experiments.run("p2.leaky_long", fallback=True)
report.banner(long)
long_data, long_config = long.data, long.config
fig, axes = plotting.new_figure(ncols=2, height=3.2)
plotting.plot_fraction_ci(axes[0], long_data["checkpoint_epochs"], 100 * long_data["collapsed"],
                          100 * long_data["collapsed_ci95"], "near-constant", color=plotting.PALETTE[1])
axes[0].plot(long_data["checkpoint_epochs"], 100 * long_data["dead"], ":", marker="s", markersize=3,
             color=plotting.PALETTE[1], label="negative-regime layer")
axes[0].set(xlabel="epoch", ylabel="% of simulations",
            title=f"Leaky ReLU, {long_config['n_simulations']} simulations")
axes[0].legend(fontsize=7)
q = long_data["loss_quantiles"]
span = np.arange(1, q.shape[1] + 1)
axes[1].fill_between(span, q[0], q[2], color=plotting.PALETTE[1], alpha=0.25, label="10–90 % of simulations")
axes[1].plot(span, q[1], color=plotting.PALETTE[1], label="median")
axes[1].axhline(summary["target_variance_on_domain"], color="k", linestyle=":", linewidth=1, label="Var(|x|)")
axes[1].set(yscale="log", xlabel="epoch", ylabel="training MSE", title="training loss")
axes[1].legend(fontsize=7)
long_final = long_data["summary"]["collapsed_final"]
long_by = long_data["summary"]["collapsed_by_epoch"]
plt.show()
long_note = f"separate run p2.leaky_long of {long_config['n_simulations']} networks, not the {S} above"
print("near-constant fraction by epoch: " + ", ".join(f"{e}: {100 * v:.1f} %" for e, v in long_by.items()))
print(f"after {long_config['epochs']} epochs ({long_note}): {pct(long_final)}")

# %%
# Left: the near-constant fraction of Leaky ReLU networks against training time, next to the
# fraction with a negative-regime layer (a layer that is linear with slope α is no obstacle to
# fitting ``|x|`` once the later layers scale it back up). Right: the loss quantiles over the
# simulations.
first, last = long_data["collapsed"][1], long_data["collapsed"][-1]
print(f"near-constant: {100 * first:.1f} % after {int(long_data['checkpoint_epochs'][1])} epochs, "
      f"{100 * last:.1f} % after {int(long_data['checkpoint_epochs'][-1])}; 90th percentile of the last epoch's "
      f"loss {q[2, -1]:.3f} (Var(|x|) = {summary['target_variance_on_domain']:.3f}), median {q[1, -1]:.1e}")

# %%
# "Near-constant" depends on the tolerance for Leaky ReLU
# -------------------------------------------------------
# A ReLU network is exactly constant or clearly not; a Leaky ReLU network can be *almost* constant,
# with a spread α^k times smaller than the target's. The fraction therefore depends on where the
# line is drawn:
tolerances = data["tolerance_grid"]
fig, ax = plotting.new_figure(height=3.0)
for a, arm in enumerate(arms):
    curve = summary[arm]["collapsed_by_tolerance"]
    ax.plot(tolerances, [100 * curve[f"{float(t):g}"] for t in tolerances], marker="o", markersize=3,
            color=plotting.PALETTE[a], label=arm)
ax.axvline(config["tolerance"], color="k", linestyle=":", linewidth=1, label="tolerance used")
ax.set(xscale="log", xlabel="tolerance (× spread of |x| on the domain)", ylabel="collapsed (%)",
       title=f"after {epochs} epochs")
ax.legend(fontsize=7)
plt.show()

# %%
# The collapsed fraction of each arm after training as the tolerance moves over the grid printed
# below (the dotted line marks the tolerance used on these pages): a flat curve means the arm's
# networks are either exactly constant or clearly not.
for arm in arms:
    curve = [summary[arm]["collapsed_by_tolerance"][f"{float(t):g}"] for t in tolerances]
    print(f"{arm:>11}: {100 * min(curve):.1f} % to {100 * max(curve):.1f} % collapsed over tolerances "
          f"{float(tolerances[0]):g}–{float(tolerances[-1]):g}")

# %%
# Exactly constant, yet not dead
# ------------------------------
# Some Leaky ReLU networks output *exactly* the same float32 number at every grid point. Which
# ones are they? A layer in the negative regime multiplies the input-dependent part of the signal by
# α = 0.01 instead of cutting it; after a few such layers that part falls below one float32 step at
# the output's level (:func:`hw2.dying_relu.float32_resolution`), every grid value rounds to the
# same number, and the measured spread is exactly 0. In exact arithmetic the function is not
# constant, and its gradient is α^k times smaller, not zero.
leaky_arm = data["per_arm"]["leaky_relu"]
exact = leaky_arm["relative_spread"] == 0
target_values = dying_relu.TARGETS[config["target"]](dying_relu.grid(config["grid_size"]))
resolution = dying_relu.float32_resolution(leaky_arm["mean_output"], float(target_values.max() - target_values.min()))
nonzero = leaky_arm["relative_spread"][leaky_arm["relative_spread"] > 0]
print(f"Leaky ReLU networks with exactly constant float32 output: {exact.sum()} of {S}; with a negative-regime layer: "
      f"{np.sum(exact & leaky_arm['dead'])} of them; born with one: {np.sum(exact & leaky_arm['born_dead'])}; "
      f"near-constant already at initialization: {np.sum(exact & leaky_arm['constant_at_init'])}")
if exact.any():
    level = leaky_arm["mean_output"][exact]
    print(f"their output level: {level.min():.3f} to {level.max():.3f}; "
          f"one float32 step there is {resolution[exact].min():.1e} to {resolution[exact].max():.1e} of the spread "
          f"of |x|; the smallest nonzero spread measured in any Leaky ReLU network: {nonzero.min():.1e}")
exact_dead = int(np.sum(exact & leaky_arm["dead"]))

# %%
# The randomized asymmetric initialization
# ----------------------------------------
rai = summary.get("relu+rai")
if rai is not None:
    mc = summary["born_dead_monte_carlo"]
    pair_rai = summary["relu_vs_relu+rai"]["collapsed"]
    print(f"ReLU + RAI: born dead {pct(rai['born_dead'])} (Monte Carlo {100 * mc['rai']['probability']:.1f} %, "
          f"He normal {100 * mc['he_normal']['probability']:.1f} %); collapsed after training {pct(rai['collapsed'])}")
    print(f"ReLU (He) − ReLU (RAI) collapse fraction: {100 * pair_rai['difference']:+.1f} points "
          f"(95 % CI {100 * pair_rai['ci95'][0]:+.1f} to {100 * pair_rai['ci95'][1]:+.1f}); "
          f"collapsed with RAI but not with He: {pair_rai['only_b']}")

# %%
# RAI attacks the cause measured on page 2.2 — death at initialization — and the Monte-Carlo
# estimate shows by how much. Whether it prevents collapse is a different question: the networks
# it starts alive can still die during training.
#
# The answer
# ----------
relu = summary["relu"]
if pair["significant"] and pair["difference"] > 0:
    effect = (f"Leaky ReLU cuts the collapse from {100 * relu['collapsed']['fraction']:.1f} % to "
              f"{pct(leaky['collapsed'])} (paired difference {100 * pair['difference']:.1f} points, 95 % CI "
              f"{100 * pair['ci95'][0]:.1f}–{100 * pair['ci95'][1]:.1f})")
else:
    effect = (f"Leaky ReLU does not measurably change the collapse ({100 * relu['collapsed']['fraction']:.1f} % vs "
              f"{pct(leaky['collapsed'])})")
prevents = ("but does not prevent it" if leaky["collapsed"]["count"] > 0 else "and no network collapsed")
detail = (f"after {epochs} epochs, near-constant meaning spread ≤ {config['tolerance']:g}× that of |x|; "
          f"{int(exact.sum())} are exactly constant in float32 ({exact_dead} of them with a negative-regime layer, "
          f"whose α-scaled signal is below one float32 step: constant to float precision, not dead, since no "
          f"Leaky ReLU layer outputs zero); in a {long_note}, {pct(long_final)} are near-constant after "
          f"{long_config['epochs']} epochs")
fit_share = {arm: float(np.mean(data["per_arm"][arm]["mse"] < 0.01 * variance)) for arm in arms}
text = (f"{effect} {prevents} — {detail}. Fitting |x| (MSE < 1 % of its variance) after {epochs} epochs: "
        f"{100 * fit_share['leaky_relu']:.1f} % with Leaky ReLU vs {100 * fit_share['relu']:.1f} % with ReLU.")
if rai is not None:
    text += (f" RAI lowers the born-dead fraction to {100 * rai['born_dead']['fraction']:.1f} % and the collapse to "
             f"{100 * rai['collapsed']['fraction']:.1f} %.")
report.answer("2.3", text, result)
