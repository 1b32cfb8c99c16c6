"""
4.7 Which policy wins: cyclical learning rate, cyclical batch size or a constant learning rate?
===============================================================================================

*Tabulate the best validation accuracy and the final test accuracy of CLR (4.3), CBS (4.6) and a
constant-learning-rate baseline trained for the same number of epochs. Which policy wins, and by
how much compared with the seed-to-seed spread?*

Four policies run for the same number of epochs: the CLR of 4.3, the homework's CBS of 4.6 (at
lr_min), the noise-matched CBS of 4.6 (at lr_max, ``lr / B`` tracing the CLR's ``lr / 64``) and a
constant learning rate at batch size 64, the rate that reached the lowest loss in the sweep of 4.2
(the rate one would pick from the sweep without any cycling). All see the same split; for a given
seed they start from the same initial weights and see the images in the same order within each
epoch (a paired design). The bounds (lr_min, lr_max, bmin, bmax) come from the finders run once
(finder seed 0); the seeds vary the initial weights and data order of the policies.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, report
from hw2.experiments.p4_analysis import setup_sentence, temperature_comparison
from hw2.plotting import P4_COLORS, new_figure, plot_mean_band, plot_noise_temperature, plot_policy_comparison

result = experiments.run("p4.compare", fallback=True)
report.banner(result)
runs = result.data["runs"]
comparison = result.data["comparison"]
table = comparison["table"]
seeds = sorted({run["seed"] for run in runs})
print(setup_sentence(runs[0]["setup"]))
print(f"{runs[0]['epochs']} epochs per run; seeds {seeds}; upstream runs: "
      + ", ".join(sorted({f"{run['policy']}@{run['profile']}" for run in runs})))

# %%
# What each policy spends
# -----------------------
print("optimizer updates, the sum of the learning rates over them, and the batch sizes visited:")
print(f"{'policy':<12} {'updates':>8} {'sum of lr over updates':>23} {'batch sizes (seed ' + str(seeds[0]) + ')'}")
for policy in table:
    policy_runs = [run for run in runs if run["policy"] == policy]
    visited = [int(b) for b in policy_runs[0]["batch_sizes_visited"]]
    batch_sizes = str(visited) if len(visited) <= 8 else f"{visited[0]}..{visited[-1]} ({len(visited)} sizes)"
    print(f"{policy:<12} {int(np.mean([run['updates'] for run in policy_runs])):>8} "
          f"{np.mean([run['lr_sum'] for run in policy_runs]):>23.3g} {batch_sizes}")

temperatures = {run["policy"]: run["lr_over_b"] for run in runs if run["seed"] == seeds[0]}
fig, ax = new_figure(height=3.0)
plot_noise_temperature(ax, temperatures)
ax.set_title("gradient-noise temperature lr / B per epoch")
ax.legend(fontsize=8)
plt.show()

# %%
# The table gives each policy's optimizer updates (mean over seeds), the sum of its learning rates
# over them (how far SGD can move the weights in the same number of epochs) and the batch sizes its
# updates used; the figure draws each policy's ``lr / B`` per epoch (the epoch mean, for the CLR
# and the matched CBS whose values change within an epoch) on one log axis. The line below
# puts the homework CBS's hottest epoch against the CLR's coldest.
temperature = temperature_comparison(runs, comparison)
extremes = temperature["extremes"]
for policy, values in extremes.items():
    print(f"{policy:<12} lr/B from {values['coldest']:.3g} to {values['hottest']:.3g}")
if temperature["cbs_hottest_over_clr_coldest"] is not None:
    print(f"homework CBS's hottest epoch / CLR's coldest epoch = {temperature['cbs_hottest_over_clr_coldest']:.2g}")

# %%
# The accuracy table
# ------------------
print(f"{'policy':<12} " + " ".join(f"{'seed ' + str(s) + ' val/test':>20}" for s in seeds)
      + f" {'best val (mean ± sd)':>22} {'test (mean ± sd)':>18}")
for policy, row in table.items():
    cells = " ".join(f"{100 * v:9.2f}/{100 * t:<10.2f}" for v, t in zip(row["best_val_accuracy"], row["test_accuracy"]))
    sd_val = f"± {100 * row['val_sd']:.2f}" if np.isfinite(row["val_sd"]) else "(1 seed)"
    sd_test = f"± {100 * row['test_sd']:.2f}" if np.isfinite(row["test_sd"]) else "(1 seed)"
    print(f"{policy:<12} {cells} {100 * row['val_mean']:>12.2f} {sd_val:<9} {100 * row['test_mean']:>8.2f} {sd_test}")

fig, (ax_accuracy, ax_curves) = new_figure(ncols=2, height=3.3)
plot_policy_comparison(ax_accuracy, table)
ax_accuracy.tick_params(axis="x", labelsize=7)
ax_accuracy.legend(fontsize=7)
for policy in table:
    curves = [run["history_val_accuracy"] for run in runs if run["policy"] == policy]
    length = min(len(c) for c in curves)
    values = 100 * np.stack([np.asarray(c[:length], dtype=float) for c in curves])
    plot_mean_band(ax_curves, np.arange(1, length + 1), values, policy, P4_COLORS.get(policy))
ax_curves.set(xlabel="epoch", ylabel="validation accuracy (%)", title="mean ± sd over seeds")
ax_curves.legend(fontsize=7)
plt.show()

# %%
# Accuracies in percent: the best validation accuracy over the epochs of each run (an optimistic
# number, since the epoch is chosen on the validation set) and the test accuracy of the final
# weights (the honest number). Left: the test accuracy of every seed (dots) and the mean ± sd per
# policy; right: the validation accuracy over the epochs. The ranking and the paired differences:
winner, runner_up = comparison["winner"], comparison["runner_up"]
margin, spread = comparison["margin"], comparison["seed_sd"]
print(f"ranking by mean test accuracy: {' > '.join(comparison['ranking'])}")
print(f"winner {winner} by {100 * margin:.2f} points over {runner_up}; "
      + (f"seed-to-seed sd of these two policies {100 * spread:.2f} points -> margin / sd = "
         f"{comparison['margin_over_sd']:.1f}"
         if np.isfinite(spread) else "one seed: no seed-to-seed sd"))
for pair, difference in comparison["pairs"].items():
    if difference["n"] > 1:
        print(f"paired test-accuracy difference {pair}: {100 * difference['mean_diff']:+.2f} points "
              f"(95 % CI {100 * difference['ci_low']:+.2f} to {100 * difference['ci_high']:+.2f}, n = "
              f"{difference['n']} seeds; {'excludes' if difference['significant'] else 'includes'} 0)")
    else:
        print(f"test-accuracy difference {pair}: {100 * difference['mean_diff']:+.2f} points (one seed: no interval)")

# %%
# With two seeds an interval of the mean difference is very wide (the normal approximation even
# understates it), so the verdict rests on the margin measured in seed-to-seed standard
# deviations: more than two is called clear, less than one within the spread.
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

# %%
# What the comparison shows
# -------------------------
# Two questions decide what the table may be read as. Is the homework's CBS ever as noisy as the
# CLR? If its hottest epoch is colder than the CLR's coldest, CLR vs CBS compares two temperatures,
# not two ways of cycling. And does the noise-matched CBS, which cycles through the CLR's
# temperatures, do as well as the CLR, within the seed-to-seed spread?
if temperature["compares_temperatures"]:
    temperature_text = (f"the homework CBS's hottest epoch is {temperature['cbs_hottest_over_clr_coldest']:.2g} x the "
                        "CLR's coldest: CLR vs CBS compares temperatures, not policies")
elif temperature["compares_temperatures"] is False:
    temperature_text = (f"the homework CBS's hottest epoch reaches {temperature['cbs_hottest_over_clr_coldest']:.2g} x "
                        "the CLR's coldest: their temperatures overlap")
else:
    temperature_text = "the temperature comparison needs both the CLR and the CBS"
matched = temperature["matched"]
if matched is None:
    matched_text = "no matched CBS in this comparison"
elif matched["within_spread"] is None:
    matched_text = (f"the matched CBS is {100 * matched['clr_minus_matched']:+.1f} points from the CLR (CLR minus "
                    "matched; one seed: no spread to compare with)")
else:
    matched_text = (f"the matched CBS is {100 * matched['clr_minus_matched']:+.1f} points from the CLR "
                    "(CLR minus matched), "
                    f"{'within' if matched['within_spread'] else 'outside'} the seed-to-seed sd of these two policies ("
                    f"{100 * matched['seed_sd']:.1f} points)")
print(temperature_text)
print(matched_text)

# %%
# The two lines are the page's reading of the table; the answer below collects them.
report.answer(
    "4.7",
    f"Mean test accuracy over {len(seeds)} seed(s), {runs[0]['epochs']} epochs each ("
    + ", ".join(f"{p} {int(np.mean([r['updates'] for r in runs if r['policy'] == p]))}" for p in comparison["ranking"])
    + " updates): "
    + ", ".join(f"{p} {100 * table[p]['test_mean']:.1f} %" for p in comparison["ranking"])
    + f". {winner} leads by {100 * margin:.2f} points: {verdict}. "
    f"{temperature_text[0].upper() + temperature_text[1:]}; {matched_text}.",
    result,
)
