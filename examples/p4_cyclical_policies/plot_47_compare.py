"""
4.7 Which policy wins: cyclical learning rate, cyclical batch size or a constant learning rate?
===============================================================================================

*Tabulate the best validation accuracy and the final test accuracy of CLR (4.3), CBS (4.6) and a
constant-learning-rate baseline trained for the same number of epochs. Which policy wins, and by
how much compared with the seed-to-seed spread?*

The baseline trains at batch size 64 with the learning rate that reached the lowest loss in the
sweep of 4.2, the rate one would pick from the sweep without any cycling. All three policies see
the same split and the same number of epochs; for a given seed they start from the same initial
weights and see the images in the same order within each epoch (a paired design). The bounds
(lr_min, lr_max, bmin, bmax) come from the finders run once (finder seed 0); the seeds vary the
initial weights and data order of the policies.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, report
from hw2.experiments.p4_cyclical import setup_sentence
from hw2.plotting import P4_COLORS, new_figure, plot_mean_band, plot_policy_comparison

result = experiments.run("p4.compare", fallback=True)
report.banner(result)
runs = result.data["runs"]
comparison = result.data["comparison"]
table = comparison["table"]
seeds = sorted({r["seed"] for r in runs})
print(setup_sentence(runs[0]["setup"]))
print(f"{runs[0]['epochs']} epochs per run; seeds {seeds}; upstream runs: "
      + ", ".join(sorted({f"{r['policy']}@{r['profile']}" for r in runs})))

# %%
# The table
# ---------
print(f"{'policy':<12} " + " ".join(f"{'seed ' + str(s) + ' val/test':>20}" for s in seeds)
      + f" {'best val (mean ± sd)':>22} {'test (mean ± sd)':>18}")
for policy, row in table.items():
    cells = " ".join(f"{100 * v:9.2f}/{100 * t:<10.2f}" for v, t in zip(row["best_val_accuracy"], row["test_accuracy"]))
    sd_val = f"± {100 * row['val_sd']:.2f}" if np.isfinite(row["val_sd"]) else "(1 seed)"
    sd_test = f"± {100 * row['test_sd']:.2f}" if np.isfinite(row["test_sd"]) else "(1 seed)"
    print(f"{policy:<12} {cells} {100 * row['val_mean']:>12.2f} {sd_val:<9} {100 * row['test_mean']:>8.2f} {sd_test}")

print()
print(f"{'policy':<12} {'updates':>8} {'sum of lr over updates':>23}")
for policy in table:
    mine = [r for r in runs if r["policy"] == policy]
    print(f"{policy:<12} {int(np.mean([r['updates'] for r in mine])):>8} {np.mean([r['lr_sum'] for r in mine]):>23.3g}")

# %%
# Accuracies in percent: the best validation accuracy over the epochs of each run (an optimistic
# number, since the epoch is chosen on the validation set) and the test accuracy of the final
# weights (the honest number). The second table shows what each policy spends: optimizer updates
# and the sum of the learning rates over them, which bounds how far SGD can move the weights in the
# same number of epochs. A policy that runs at lr_min (the cyclical batch size, as the homework
# specifies) spends far less of it than one that visits lr_max.
fig, (ax_acc, ax_curves) = new_figure(ncols=2, height=3.3)
plot_policy_comparison(ax_acc, table)
ax_acc.legend(fontsize=7)
for policy in table:
    curves = [r["history_val_accuracy"] for r in runs if r["policy"] == policy]
    length = min(len(c) for c in curves)
    values = 100 * np.stack([np.asarray(c[:length], dtype=float) for c in curves])
    plot_mean_band(ax_curves, np.arange(1, length + 1), values, policy, P4_COLORS.get(policy))
ax_curves.set(xlabel="epoch", ylabel="validation accuracy (%)", title="mean ± sd over seeds")
ax_curves.legend(fontsize=7)
plt.show()

# %%
# Left: the test accuracy of every seed (dots) and the mean ± sd per policy; right: the validation
# accuracy over the epochs.
winner, runner_up = comparison["winner"], comparison["runner_up"]
margin, spread = comparison["margin"], comparison["seed_sd"]
print(f"ranking by mean test accuracy: {' > '.join(comparison['ranking'])}")
print(f"winner {winner} by {100 * margin:.2f} points over {runner_up}; seed-to-seed sd (pooled) "
      f"{100 * spread:.2f} points -> margin / sd = {comparison['margin_over_sd']:.1f}")
for pair, diff in comparison["pairs"].items():
    if diff["n"] > 1:
        print(f"paired test-accuracy difference {pair}: {100 * diff['mean_diff']:+.2f} points "
              f"(95 % CI {100 * diff['ci_low']:+.2f} to {100 * diff['ci_high']:+.2f}, n = {diff['n']} seeds; "
              f"{'excludes' if diff['significant'] else 'includes'} 0)")
    else:
        print(f"test-accuracy difference {pair}: {100 * diff['mean_diff']:+.2f} points (one seed: no interval)")

# %%
# With two seeds an interval of the mean difference is very wide (the normal approximation even
# understates it), so the verdict below rests on the margin measured in seed-to-seed standard
# deviations: a margin of more than two standard deviations is called clear, less than one is
# within the spread.
ratio = comparison["margin_over_sd"]
if not np.isfinite(spread) or spread == 0:
    verdict = "no seed-to-seed spread is available at this profile (one seed)"
elif ratio > 2:
    verdict = f"a clear win ({ratio:.1f} seed sd)"
elif ratio >= 1:
    verdict = f"a small lead ({ratio:.1f} seed sd)"
else:
    verdict = f"within the seed-to-seed spread ({ratio:.1f} seed sd)"
print(verdict)
report.answer(
    "4.7",
    f"Mean test accuracy over {len(seeds)} seed(s): "
    + ", ".join(f"{p} {100 * table[p]['test_mean']:.1f} %" for p in comparison["ranking"])
    + " (best validation: " + ", ".join(f"{p} {100 * table[p]['val_mean']:.1f} %" for p in comparison["ranking"])
    + f"). {winner} leads by {100 * margin:.2f} points: {verdict}.",
    result,
)
