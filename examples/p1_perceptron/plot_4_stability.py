"""
1.4 Which loss is more stable across training sets?
===================================================

*Question.* If we draw a different training set of 20 points, how much does the learned classifier
change? We measure it three ways over the 1000 independent training sets: the spread of test
accuracy, the spread of the learned direction (angle to the true normal ``(1, −1)``), and how often
two models trained on different sets disagree on the same test point (mean pairwise disagreement
over all pairs of training sets).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from hw2 import experiments, plotting, report

result = experiments.run("p1.perceptron", fallback=True)
report.banner(result)
data, config, summary = result.data, result.config, result.data["summary"]

# %%
print(f"{'':>10}  {'accuracy sd':>11}  {'angle sd':>9}  {'pairwise disagreement':>22}")
for name in data["losses"]:
    s = summary[name]
    print(f"{name:>10}  {100 * s['accuracy_sd']:10.2f}%  {s['angle_sd_deg']:8.2f}°  "
          f"{100 * s['mean_pairwise_disagreement']:21.2f}%")

# %%
fig, axes = plotting.new_figure(ncols=2, height=3.3)
signed = {}
for name, color in zip(data["losses"], (plotting.PALETTE[2], plotting.PALETTE[4])):
    w = data["weights"][name]
    # Signed angle of the learned normal relative to (1, -1): which side of the diagonal it tilts to.
    signed[name] = np.degrees(np.arctan2(w[:, 0] + w[:, 1], w[:, 0] - w[:, 1]))
    sns.kdeplot(signed[name], ax=axes[0], color=color, label=name, fill=True, alpha=0.25, bw_adjust=0.6)
axes[0].set(xlabel="tilt of the learned separator (degrees)", title="direction across training sets")
axes[0].legend()
li_p, li_h = data["losses"].index("perceptron"), data["losses"].index("hinge")
for ri, lr in enumerate(data["lr_grid"]):
    axes[1].plot(data["epochs_grid"], 100 * data["grid_disagreement"][li_h, ri], marker="o", markersize=3,
                 color=plotting.PALETTE[ri], label=f"hinge, lr={lr:g}")
axes[1].plot(data["epochs_grid"], 100 * data["grid_disagreement"][li_p].mean(axis=0), ":", color="k",
             label="perceptron")
axes[1].set(xscale="log", xlabel="epochs", ylabel="pairwise disagreement (%)", title="prediction instability")
axes[1].legend(fontsize=7)
plt.show()

# %%
# Left: the distribution of the learned separator's tilt (0° = the true diagonal) over the 1000
# training sets at the headline setting. Right: the mean pairwise disagreement of test predictions
# as a function of training length. Fewer disagreements = a classifier that depends less on which
# 20 points it happened to see.
p, h = summary["perceptron"], summary["hinge"]
ratio = p["mean_pairwise_disagreement"] / h["mean_pairwise_disagreement"]
more_stable = "hinge" if ratio > 1 else "perceptron criterion"
print(f"At lr = {config['lr']:g}, {config['epochs']} epochs the {more_stable} is more stable: pairwise "
      f"disagreement {100 * h['mean_pairwise_disagreement']:.2f}% (hinge) vs "
      f"{100 * p['mean_pairwise_disagreement']:.2f}% (perceptron), ratio {max(ratio, 1 / ratio):.2f}; "
      f"angle sd {h['angle_sd_deg']:.2f}° vs {p['angle_sd_deg']:.2f}°.")

# %%
# Why: the perceptron's solution depends on the order in which mistakes happened to be corrected and
# on the few points that were misclassified last; any separator of the sample is acceptable to it.
# The hinge solution (once trained long enough) is pinned down by the points closest to the
# boundary on *both* sides, which is a more reproducible property of a sample. Where in the grid
# is a model least stable (right panel)?
dis = data["grid_disagreement"]
worst = np.unravel_index(int(np.argmax(dis)), dis.shape)
print(f"highest pairwise disagreement in the grid: {data['losses'][worst[0]]} at lr = "
      f"{data['lr_grid'][worst[1]]:g}, {int(data['epochs_grid'][worst[2]])} epochs: {100 * dis[worst]:.2f}% "
      f"(perceptron after the longest training: {100 * dis[li_p, :, -1].mean():.2f}%)")
report.answer("1.4", f"The {more_stable} is more stable across training sets: mean pairwise test "
                     f"disagreement {100 * h['mean_pairwise_disagreement']:.2f}% (hinge) vs "
                     f"{100 * p['mean_pairwise_disagreement']:.2f}% (perceptron), accuracy sd "
                     f"{100 * h['accuracy_sd']:.2f} vs {100 * p['accuracy_sd']:.2f} points.", result)
