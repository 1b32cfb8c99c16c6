"""
3.5 Batch normalization and dropout together
============================================

*Question.* Train LeNet-5 with both batch normalization (in the hidden layers, as in 3.2) and
dropout (0.2 on the input, 0.5 on the hidden layers, as in 3.4). How does its test accuracy compare
with dropout alone and with BN alone? Relate the result to the *variance shift* explanation of Li
et al. (2019) where it applies.
"""

# %%
# Layout: input dropout → conv1 → BN → tanh → pool → conv2 → BN → tanh → pool → dense 120 → BN →
# tanh → dropout → dense 84 → BN → tanh → dropout → softmax. Two BN layers therefore sit *after* a
# dropout layer: ``conv1_bn`` (after the input dropout) and ``fc2_bn`` (after the dropout of the
# 120-unit layer). ``conv2_bn`` and ``fc1_bn`` see no dropout upstream except through conv1.
import numpy as np

from hw2 import experiments, plotting, report
from hw2.experiments import p3_lenet

result = experiments.run("p3.lenet", fallback=True)
report.banner(result)
data = result.data
variants = data["variants"]
names = p3_lenet.labels(variants)
print(p3_lenet.accuracy_table(variants))

# %%
fig, ax = plotting.new_figure(height=3.6)
plotting.plot_seed_accuracies(ax, variants, names)
ax.set_title("all variants: test accuracy per seed, mean ± sd")

# %%
# All five variants of Problem 3 (grey lines join runs of the same seed). The paired comparisons
# that answer the question:
diffs = {b: p3_lenet.comparison(variants, "bn_dropout", b) for b in ("dropout", "bn_hidden", "baseline")}
for d in diffs.values():
    print(p3_lenet.verdict(d, names))

# %%
# Variance shift, measured
# ------------------------
# Li et al. (2019) point out that dropout changes the *variance* of a unit between training and
# inference: with inverted dropout of rate ``p`` a kept activation is scaled by ``1/(1 − p)``, so in
# training its variance is larger than at test time, when nothing is dropped. A BN layer *after*
# dropout accumulates its moving variance from the noisier training-mode batches and then, at test
# time, divides the calmer inference-mode inputs by a too-large sd. The test-time network is thus
# not the one whose statistics BN learned. The study records, after training, each BN layer's
# moving variance and the actual variance of its input over the validation split in inference
# mode; their ratio is 1 when there is no shift and below 1 when BN over-estimates the variance.
rows = p3_lenet.variance_shift_table({k: variants[k] for k in ("bn_hidden", "bn_dropout")})
print(f"{'variant':<26}{'BN layer':<10} inference var / moving var (median over channels, mean ± sd over seeds)")
for r in rows:
    print(f"{names[r['variant']]:<26}{r['layer']:<10} {r['ratio_median']:.3f} ± {r['ratio_sd']:.3f}")

# %%
fig, ax = plotting.new_figure(height=3.2)
layers = [r["layer"] for r in rows if r["variant"] == "bn_hidden"]
x = np.arange(len(layers))
for offset, name in ((-0.18, "bn_hidden"), (0.18, "bn_dropout")):
    values = [next(r for r in rows if r["variant"] == name and r["layer"] == layer) for layer in layers]
    ax.bar(x + offset, [v["ratio_median"] for v in values], width=0.34, yerr=[v["ratio_sd"] for v in values],
           color=plotting.P3_COLORS[name], label=names[name], capsize=3)
ax.axhline(1.0, color="k", linewidth=0.8, linestyle="--")
ax.set_xticks(x, layers)
ax.set(ylabel="inference var / moving var", title="variance shift per BN layer")
ax.legend(fontsize=8)

# %%
# Bars below the dashed line mean BN normalizes test-time inputs with a too-large variance. Without
# dropout (3.2) the ratio measures only the lag of the moving averages; with dropout the layers
# right after a dropout layer show the shift Li et al. describe.
ratio = {(r["variant"], r["layer"]): r["ratio_median"] for r in rows}
shift = {layer: ratio[("bn_dropout", layer)] / ratio[("bn_hidden", layer)] for layer in layers}
print("ratio (BN + dropout) / (BN only) per layer: " + ", ".join(f"{k} {v:.3f}" for k, v in shift.items()))
after_dropout = ("conv1_bn", "fc2_bn")
others = [layer for layer in layers if layer not in after_dropout]
worst = min(after_dropout, key=lambda layer: shift[layer])
print(f"directly after a dropout layer ({', '.join(after_dropout)}): BN's moving variance exceeds the "
      f"test-time variance by {100 * (1 / ratio[('bn_dropout', worst)] - 1):.1f} % at {worst}; in the other "
      f"layers ({', '.join(others)}) the ratio is "
      + ", ".join(f"{ratio[('bn_dropout', layer)]:.3f}" for layer in others)
      + (" — the mismatch propagates: downstream layers receive test-time inputs that BN scaled differently "
         "from training." if max(abs(shift[layer] - 1) for layer in others) > 0.02 else "."))

# %%
# Reading the result
# ------------------
# Dropout and BN both regularize; BN also speeds up optimization. Combining them adds dropout noise
# to a BN model, and the variance shift adds a train/test mismatch in every BN layer placed after a
# dropout layer. Li et al. recommend placing dropout only after the last BN layer or using a
# variance-stable form of dropout. The verdicts below come from the paired intervals.
bd = 100 * variants["bn_dropout"]["test_accuracy"]
report.answer(
    "3.5",
    f"BN + dropout: test accuracy {bd.mean():.2f} ± {bd.std(ddof=1):.2f} %; vs dropout alone: "
    f"{p3_lenet.verdict(diffs['dropout'], names)}; vs BN alone: {p3_lenet.verdict(diffs['bn_hidden'], names)}. "
    f"Variance shift measured: in the BN layers right after dropout the test-time input variance is "
    + " and ".join(f"{ratio[('bn_dropout', layer)]:.2f}× ({layer})" for layer in after_dropout)
    + " of BN's moving variance, vs "
    + " and ".join(f"{ratio[('bn_hidden', layer)]:.2f}×" for layer in after_dropout)
    + " without dropout.", result)
