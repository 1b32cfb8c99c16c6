"""
2.2 How often does a deep, narrow ReLU network collapse to a constant?
======================================================================

*Question.* Lu, Shin, Su and Karniadakis ("Dying ReLU and Initialization: Theory and Numerical
Examples", 2019) train a ReLU network of width 2 and depth 10 on a 1-D function and report that it
collapses to a constant function in over 90 % of the runs. Repeat the experiment: 1000 independent
simulations, each with its own 3000 training points drawn uniformly in [−√7, √7], its own He-normal
initialization (zero biases) and its own minibatch order, target f(x) = ``|x|``, mean-squared error,
Adam, minibatches of 64. What fraction collapses, and how does it compare with theirs?

**Setup and conventions.** *Depth* counts weight layers, as in Lu et al. (an "L-layer" network has
L − 1 hidden layers): depth 10 is ``1 → 2 → … → 2 → 1`` with nine hidden ReLU layers of width 2
and a linear output. (Reading "10 layers" as ten hidden layers is depth 11; page 2.4 shows every
depth from 2 to 12.) Adam uses Keras' defaults (learning rate 10⁻³); we found no other setting in
the paper's text available to us. A network has *collapsed* when the spread (max − min) of its
output over 1001 evenly spaced points of the domain is at most a tolerance times the spread of the
target there; it is *dead* when some hidden layer has every unit inactive (pre-activation ≤ 0) at
every point, which for ReLU makes the output exactly constant; it is *born dead* when that holds
already at initialization.

All 1000 networks train as one Keras computation (:class:`hw2.dying_relu.DyingReluEnsemble`): each
network's weights are a slice of ``(1000, fan_in, fan_out)`` tensors, the loss is the sum of the
1000 independent losses, and Keras' Adam is elementwise, so each network gets exactly the update it
would get alone — the test suite checks this against plain ``keras.Sequential`` models.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, plotting, report

result = experiments.run("p2.dying_relu", fallback=True)
report.banner(result)
data, config, summary = result.data, result.config, result.data["summary"]
arms = list(data["arms"])
relu = summary["relu"]
S = config["n_simulations"]
print(f"{S} simulations, depth {config['depth']} (weight layers), width {config['width']}, "
      f"{config['n_points']} points each, batch {config['batch_size']}, {config['epochs']} epochs of Adam "
      f"(lr {config['learning_rate']:g}), collapse tolerance {config['tolerance']:g} x target spread")


def pct(p):
    return f"{100 * p['fraction']:.1f} % (95 % CI {100 * p['ci95'][0]:.1f}–{100 * p['ci95'][1]:.1f} %)"


# %%
# The fraction that collapses
# ---------------------------
mc = summary["born_dead_monte_carlo"]["he_normal"]
print(f"ReLU collapsed after training : {relu['collapsed']['count']} / {S} = {pct(relu['collapsed'])}")
print(f"  of which dead (a layer off everywhere): {relu['dead']['count']}; collapsed without a dead layer: "
      f"{relu['collapsed_not_dead']}")
print(f"  diverged (non-finite output, counted as not collapsed): {relu['non_finite']}")
print(f"ReLU born dead (at initialization): {relu['born_dead']['count']} / {S} = {pct(relu['born_dead'])}")
print(f"born dead, Monte Carlo over {mc['n']:,} fresh initializations: {100 * mc['probability']:.2f} % "
      f"(95 % CI {100 * mc['ci95'][0]:.2f}–{100 * mc['ci95'][1]:.2f} %)")
print(f"upper bound P(dead for every x > 0) = 1 − (1 − 2^−width)^(depth−1) = "
      f"{100 * summary['one_sided_death_probability']:.1f} %")
low, high = relu["collapsed"]["ci95"]
if low > 0.9:
    verdict_lu = "above 90 %, in agreement with Lu et al.'s “over 90 %”"
elif high < 0.9:
    verdict_lu = "below 90 %, so we do not reproduce Lu et al.'s “over 90 %”"
else:
    verdict_lu = "compatible with 90 % (the interval contains it)"
print(f"\nCompared with Lu et al.: our collapse fraction is {verdict_lu}.")

# %%
# Most of the collapse happens before training starts: with zero biases a ReLU network is
# positively homogeneous, so for x > 0 each hidden unit of the first layer is on with probability
# 1/2, and, as long as the previous layer passes any signal, each unit of the next layer is on with
# probability 1/2 independently (symmetric weights). A width-2 layer shuts off with probability
# 1/4, and the signal for x > 0 survives nine hidden layers with probability (3/4)⁹. A network is
# born dead when the signals of both signs die; the bound above counts one sign only. Training then
# kills a few more networks: Adam steps that push a layer's last active unit negative for all inputs
# are never undone, because a dead layer passes no gradient to anything before it.
born = data["per_arm"]["relu"]["born_dead"]
collapsed = data["per_arm"]["relu"]["collapsed"]
print(f"born dead and collapsed: {int(np.sum(born & collapsed))}; alive at birth but collapsed in training: "
      f"{int(np.sum(~born & collapsed))}; born dead but not collapsed: {int(np.sum(born & ~collapsed))}; "
      f"learned a non-constant function: {int(np.sum(~collapsed))}")

# %%
# What the networks compute
# -------------------------
i_relu = arms.index("relu")
fig, ax = plotting.new_figure(height=3.4)
shown = data["example_indices"][i_relu]
plotting.plot_network_functions(ax, data["example_grid"], data["example_outputs"][i_relu], data["example_target"],
                                data["per_arm"]["relu"]["collapsed"][shown],
                                title=f"ReLU simulations {', '.join(str(int(k)) for k in shown)} after training")
plt.show()

# %%
# The figure shows the first few simulations that did *not* collapse, next to collapsed ones
# (dashed): flat at a value that the output layer's bias learned.
# The mean-squared error of a constant is smallest at the mean of the target, and that is where they
# end up:
print(f"mean of |x| on the domain: {summary['target_mean_on_grid']:.3f}; median constant output of the collapsed "
      f"ReLU networks: {np.nanmedian(data['per_arm']['relu']['mean_output'][collapsed]):.3f}")
print(f"variance of |x| on the domain (the MSE of the best constant): {summary['target_variance_on_domain']:.3f}; "
      f"median training MSE of collapsed networks: {relu['median_mse_collapsed']:.3f}, of the others: "
      f"{relu['median_mse_not_collapsed']:.3f}")
mse = data["per_arm"]["relu"]["mse"]
good = ~collapsed & (mse < 0.01 * summary["target_variance_on_domain"])
partial = ~collapsed & ~good
print(f"of the {int(np.sum(~collapsed))} ReLU networks that did not collapse, {int(good.sum())} fit |x| "
      f"(MSE below 1 % of Var(|x|)); {int(partial.sum())} fit part of it"
      + (f" (median MSE {np.nanmedian(mse[partial]):.3f})" if partial.any() else ""))

# %%
# How long to train, and is the answer settled?
# ---------------------------------------------
epochs_axis, by_epoch = data["checkpoint_epochs"], data["collapsed_by_epoch"]
loss_q = data["loss_quantiles"]  # (quantile 10/50/90 %, epoch, arm)
fig, axes = plotting.new_figure(ncols=2, height=3.3)
curves = data["loss_curves"][:, i_relu, :]
epochs_range = np.arange(1, curves.shape[0] + 1)
flags = collapsed[: curves.shape[1]]
for k in range(curves.shape[1]):
    axes[0].plot(epochs_range, curves[:, k], color=plotting.PALETTE[3] if flags[k] else plotting.PALETTE[0],
                 linewidth=0.9, alpha=0.8)
axes[0].plot([], [], color=plotting.PALETTE[3], label="collapsed")
axes[0].plot([], [], color=plotting.PALETTE[0], label="not collapsed")
axes[0].axhline(summary["target_variance_on_domain"], color="k", linestyle=":", linewidth=1, label="Var(|x|)")
axes[0].set(yscale="log", xlabel="epoch", ylabel="training MSE (epoch mean)",
            title=f"{curves.shape[1]} ReLU simulations")
axes[0].legend(fontsize=7)
for a, name in enumerate(arms):
    axes[1].plot(epochs_axis, 100 * by_epoch[:, a], marker="o", markersize=3, color=plotting.PALETTE[a], label=name)
axes[1].set(xlabel="epoch (0 = initialization)", ylabel="collapsed (%)", title="collapse fraction during training")
axes[1].legend(fontsize=7)
plt.show()

# %%
# Left: each line is one simulation's training loss. Collapsed networks (red) fall to the variance
# of ``|x|`` as the output bias walks to the mean, while the others go on below it. Right: the
# collapsed fraction at the recorded epochs for the three arms of the experiment (Leaky ReLU and the
# asymmetric initialization are discussed on the next page).
change = summary["collapse_change_second_half"]["relu"]
print("ReLU collapse fraction by epoch: " + ", ".join(f"{int(e)}: {100 * v:.1f} %"
                                                     for e, v in zip(epochs_axis, by_epoch[:, i_relu])))
print(f"change over the second half of training: {100 * change:+.1f} points; median loss of the last epoch "
      f"{loss_q[1, -1, i_relu]:.3f} vs {loss_q[1, len(epochs_range) // 2, i_relu]:.3f} at mid-training")

# %%
# Does the answer depend on the tolerance?
# ----------------------------------------
tolerances = data["tolerance_grid"]
print("collapsed fraction by tolerance (spread ≤ tolerance x spread of |x|):")
for arm in arms:
    curve = summary[arm]["collapsed_by_tolerance"]
    print(f"  {arm:>11}: " + "  ".join(f"{float(t):g}: {100 * curve[f'{float(t):g}']:.1f} %" for t in tolerances))

relu_curve = [relu["collapsed_by_tolerance"][f"{float(t):g}"] for t in tolerances]
print(f"ReLU: {100 * (max(relu_curve) - min(relu_curve)):.1f} points between tolerance {float(tolerances[0]):g} "
      f"and {float(tolerances[-1]):g}; dead networks have a spread of exactly 0: "
      f"{int(np.sum(data['per_arm']['relu']['relative_spread'][data['per_arm']['relu']['dead']] == 0))} of "
      f"{relu['dead']['count']}")

# %%
# A collapsed ReLU network is exactly constant (a dead layer), not nearly so, so the choice of
# tolerance hardly matters for ReLU. Where the networks first die:
layers = data["per_arm"]["relu"]["dead_layer"]
counts = np.bincount(layers[layers > 0], minlength=config["depth"])[1:]
print("first dead hidden layer of the dead ReLU networks: " +
      ", ".join(f"layer {i + 1}: {c}" for i, c in enumerate(counts)))

# %%
# The answer
# ----------
report.answer("2.2", f"{pct(relu['collapsed'])} of {S} ReLU networks (width {config['width']}, depth "
              f"{config['depth']} weight layers, {config['epochs']} epochs) collapse to a constant — {verdict_lu}; "
              f"{100 * relu['born_dead']['fraction']:.1f} % are already dead at initialization "
              f"(Monte Carlo {100 * mc['probability']:.1f} %).", result)
