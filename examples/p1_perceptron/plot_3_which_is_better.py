"""
1.3 Which loss is better, and why?
==================================

*Question.* Which of the two losses gives the better classifier, and why? One training set answers
that for that training set only (page 1.2: another set of 20 points can reverse the order), so we
repeat the experiment on many independent training sets of 20 points (1000 at the full
specification) — both losses on the same sets, in the same example order — and compare the
accuracies pairwise.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, plotting, report
from hw2.experiments import p1_perceptron

result = experiments.run("p1.perceptron", fallback=True)
report.banner(result)
data, config, summary = result.data, result.config, result.data["summary"]
n_sets = config["n_repeats"]

# %%
# Accuracy over independent training sets
# ---------------------------------------
for name in data["losses"]:
    s = summary[name]
    print(f"{name:>10}: mean accuracy {s['accuracy_mean']:.2%} (95% CI {s['accuracy_ci95'][0]:.2%}–"
          f"{s['accuracy_ci95'][1]:.2%}), sd {s['accuracy_sd']:.2%}, worst {s['accuracy_min']:.1%}, "
          f"mean angle to the true normal {s['angle_mean_deg']:.2f}°")
diff = summary["hinge_minus_perceptron"]
print(f"\npaired difference hinge − perceptron over {diff['n']} training sets: "
      f"{100 * diff['mean_diff']:+.2f} points (95% CI {100 * diff['ci_low']:+.2f} to {100 * diff['ci_high']:+.2f}); "
      f"hinge better on {diff['frac_a_better']:.0%}, tie on {diff['frac_tie']:.0%}, "
      f"perceptron better on {diff['frac_b_better']:.0%} of the sets")

# %%
import seaborn as sns

fig, axes = plotting.new_figure(ncols=2, height=3.3)
for name, color in zip(data["losses"], (plotting.PALETTE[2], plotting.PALETTE[4])):
    sns.histplot(100 * data["accuracy"][name], bins=np.arange(70, 100.5, 1), ax=axes[0], color=color,
                 label=name, element="step", alpha=0.35)
axes[0].set(xlabel="test accuracy (%)", ylabel="training sets", title=f"{n_sets} training sets")
axes[0].legend()
delta = 100 * (data["accuracy"]["hinge"] - data["accuracy"]["perceptron"])
sns.histplot(delta, bins=41, ax=axes[1], color=plotting.PALETTE[0])
axes[1].axvline(0, color="k", linewidth=1)
axes[1].axvline(100 * diff["mean_diff"], color=plotting.PALETTE[3], linewidth=2, label="mean")
axes[1].set(xlabel="hinge − perceptron (accuracy points)", ylabel="training sets",
            title="paired difference per training set")
axes[1].legend()
plt.show()

# %%
# Left: both distributions have a long tail of unlucky training sets (20 points can leave a wide
# empty band around the diagonal). Right: the paired difference on each training set, which
# removes the luck of the draw that both losses share. The verdict below is computed from the
# 95 % interval of the mean paired difference.
if diff["significant"]:
    winner = "hinge" if diff["mean_diff"] > 0 else "perceptron criterion"
    verdict = (f"the {winner} is better by {100 * abs(diff['mean_diff']):.2f} accuracy points on average "
               f"(95% CI {100 * diff['ci_low']:+.2f} to {100 * diff['ci_high']:+.2f} for hinge − perceptron)")
else:
    verdict = (f"no significant difference ({100 * diff['mean_diff']:+.2f} points, 95% CI "
               f"{100 * diff['ci_low']:+.2f} to {100 * diff['ci_high']:+.2f})")
print(f"At lr = {config['lr']} and {config['epochs']} epochs: {verdict}.")

# %%
# It depends on how long the hinge loss is trained
# ------------------------------------------------
# The perceptron criterion from zero weights is invariant to the learning rate (``w`` is just
# scaled), and it stops as soon as the training set is separated. The hinge loss wants
# ``y·w·x ≥ 1``; with learning rate ``lr`` that is the same dynamics as ``lr = 1`` with margin
# ``1/lr``, so a small learning rate asks for a *large* margin and needs many epochs to reach it.
lr_grid, epochs_grid = data["lr_grid"], data["epochs_grid"]
fig, axes = plotting.new_figure(ncols=2, height=3.4, sharey=False)
li_h, li_p = data["losses"].index("hinge"), data["losses"].index("perceptron")
for ri, lr in enumerate(lr_grid):
    axes[0].plot(epochs_grid, 100 * data["grid_accuracy_mean"][li_h, ri], marker="o", markersize=3,
                 color=plotting.PALETTE[ri], label=f"hinge, lr={lr:g}")
    axes[1].plot(epochs_grid, 100 * data["grid_converged"][li_h, ri], marker="o", markersize=3,
                 color=plotting.PALETTE[ri], label=f"hinge, lr={lr:g}")
# The perceptron rows coincide for every learning rate (scale invariance), so one line shows them.
axes[0].plot(epochs_grid, 100 * data["grid_accuracy_mean"][li_p].mean(axis=0), ":", color="k", linewidth=2,
             label="perceptron (any lr)")
axes[1].plot(epochs_grid, 100 * data["grid_converged"][li_p].mean(axis=0), ":", color="k", linewidth=2,
             label="perceptron (any lr)")
axes[0].set(xscale="log", xlabel="epochs", ylabel="mean test accuracy (%)", title="accuracy vs training length")
axes[1].set(xscale="log", xlabel="epochs", ylabel="runs at a fixed point (%)", title="converged runs")
axes[0].legend(fontsize=7)
axes[1].legend(fontsize=7)
plt.show()

# %%
# Left: mean test accuracy over the training sets for every (learning rate, epochs) pair; dotted =
# perceptron criterion (identical for every learning rate), solid = hinge. Right: the share of runs
# in which a whole epoch made no update (a fixed point of SGD). Which loss wins where is decided per
# setting by the paired difference over the training sets and its 95 % interval
# (:func:`hw2.experiments.p1_perceptron.where_each_wins`):
wins = p1_perceptron.where_each_wins(data)
cmp = p1_perceptron.compare_grid(data)
n_settings = lr_grid.size * epochs_grid.size


def settings(pairs):
    return ", ".join(f"(lr {lr:g}, {e:g} epoch{'' if e == 1 else 's'})" for lr, e in pairs) or "none"


for name in ("hinge", "perceptron", "tie"):
    label = {"hinge": "hinge better", "perceptron": "perceptron better", "tie": "no significant difference"}[name]
    print(f"{label} in {len(wins[name])} of {n_settings} settings: {settings(wins[name])}")
# Each setting is tested at the 95 % level, so with no true difference anywhere about 5 % of them
# would still be called significant; the smallest interval bound of the called settings says how
# far from that line they are.
called = cmp["winner"] != "tie"
bound_to_zero = np.where(called, np.minimum(np.abs(cmp["ci_low"]), np.abs(cmp["ci_high"])), np.inf)
print(f"expected by chance among {n_settings} settings: {0.05 * n_settings:.1f}; called: {int(called.sum())}; "
      f"the closest call's interval bound is {100 * bound_to_zero.min():.2f} points from 0"
      if called.any() else f"no setting is called (of {n_settings})")
print("\nhinge − perceptron (accuracy points) per setting; rows lr, columns epochs:")
print("       lr " + "".join(f"{int(e):>9}" for e in epochs_grid))
for ri, lr in enumerate(lr_grid):
    print(f"{lr:>9g} " + "".join(f"{100 * v:>+9.2f}" for v in cmp["diff_mean"][ri]))

# %%
# Does the answer depend on where the grid stops?
# -----------------------------------------------
# The best hinge setting, and for each edge of the grid it sits on, what the last row or column
# bought: the paired difference between the best setting and the best one without that edge
# (:func:`hw2.experiments.p1_perceptron.edge_check`).
check = p1_perceptron.edge_check(data)
best_lr, best_epochs = check["best"]
ri_b, ei_b = list(lr_grid).index(best_lr), list(epochs_grid).index(best_epochs)
print(f"best hinge setting: lr = {best_lr:g}, {best_epochs} epochs: mean accuracy {check['best_accuracy']:.2%} "
      f"(perceptron {data['grid_accuracy_mean'][li_p].max():.2%}); {check['best_converged']:.1%} of its runs at a "
      f"fixed point; hinge − perceptron there {100 * cmp['diff_mean'][ri_b, ei_b]:+.2f} points "
      f"(95% CI {100 * cmp['ci_low'][ri_b, ei_b]:+.2f} to {100 * cmp['ci_high'][ri_b, ei_b]:+.2f})")
for edge, e in check["edges"].items():
    print(f"  on the {edge} edge; without it the best is lr = {e['without'][0]:g}, {e['without'][1]} epochs, and the "
          f"last step bought {100 * e['gain']:+.3f} points (95% CI {100 * e['ci95'][0]:+.3f} to "
          f"{100 * e['ci95'][1]:+.3f}): {'significant' if e['significant'] else 'within the noise'}")
if not check["edges"]:
    print("  the best setting lies inside the grid")
if check["stable"]:
    edge_text = ("the best hinge setting lies inside the grid" if not check["edges"] else
                 "one more step of the grid beyond the best setting changes its accuracy by less than the noise")
else:
    edge_text = ("the best hinge setting still improves significantly at the grid's edge, so its accuracy is a "
                 "lower bound that depends on where the grid stops")
print(edge_text)

# %%
# A larger learning rate means a smaller margin for the hinge (margin ``1/lr`` at ``lr = 1``, see
# above), so the large-lr rows move towards the perceptron criterion, and a smaller learning rate
# asks for a larger margin that takes more epochs to reach. The printed check says whether the best
# setting found is a property of the losses or of where the grid was cut. Measured along the
# longest training, for every learning rate:
last = len(epochs_grid) - 1
print(f"after {int(epochs_grid[last])} epochs, hinge − perceptron by lr: " + ", ".join(
    f"lr {lr:g}: {100 * cmp['diff_mean'][ri, last]:+.2f} ({cmp['winner'][ri, last]})" for ri, lr in enumerate(lr_grid)))
print("share of hinge runs at a fixed point by lr: " + ", ".join(
    f"lr {lr:g}: {data['grid_converged'][li_h, ri, last]:.1%}" for ri, lr in enumerate(lr_grid)))

# %%
# Why
# ---
# Both losses are zero only when every training point is classified correctly, so both find a
# separating direction. The perceptron criterion is satisfied by *any* separator — it stops at the
# first one, typically close to the last misclassified training point. The hinge loss also demands
# a margin, so points close to the boundary keep pushing the line towards the middle of the empty
# band between the classes, towards the maximum-margin separator. Without regularization that
# preference only acts while training continues, hence the dependence on training length. Whether
# the hinge's lines are in fact closer to the true diagonal, at the configured setting:
angle = {name: summary[name]["angle_mean_deg"] for name in data["losses"]}
closer = min(angle, key=angle.get)
print(f"mean angle to the true normal: hinge {angle['hinge']:.2f}°, perceptron {angle['perceptron']:.2f}° "
      f"-> the {closer}'s separators are closer to the diagonal on average")
where = (f"the hinge is better in {len(wins['hinge'])} of {n_settings} (lr, epochs) settings "
         f"[{settings(wins['hinge'])}], the perceptron in {len(wins['perceptron'])}, no significant difference in "
         f"{len(wins['tie'])}")
report.answer("1.3", f"At lr = {config['lr']:g}, {config['epochs']} epochs over {n_sets} training sets: {verdict}; "
                     f"{where}; best hinge setting lr {best_lr:g}, {best_epochs} epochs "
                     f"({check['best_accuracy']:.2%}): {edge_text}.", result)
