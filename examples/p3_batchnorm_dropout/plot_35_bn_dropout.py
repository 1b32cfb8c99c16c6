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
# tanh → dropout → dense 84 → BN → tanh → dropout → softmax: the dense-only dropout of 3.4, so that
# "dropout alone" (3.4 dropout) and this model differ only by BN. Some BN layers therefore sit
# *after* a dropout layer, with no other BN in between; they are found from the model below.
import matplotlib.pyplot as plt

from hw2 import experiments, plotting, report
from hw2.experiments import p3_analysis, p3_lenet

result = experiments.run("p3.lenet", fallback=True)
report.banner(result)
setup = result.data["setup"]
variants = result.data["variants"]
names = p3_analysis.labels(variants)
print(
    f"BN layers right after a dropout layer in {names['bn_dropout']}: "
    f"{', '.join(p3_analysis.bn_layers_after_dropout('bn_dropout'))}"
)
print(p3_analysis.convergence_report(variants, setup))
print(p3_analysis.accuracy_table(variants))

# %%
fig, ax = plotting.new_figure(height=3.6)
plotting.plot_seed_accuracies(ax, variants, names)
ax.set_title("all variants: test accuracy per seed, mean ± sd")
plt.show()

# %%
# Every variant of Problem 3: each dot one seed's test accuracy, black = mean ± sd, grey lines join
# runs of the same seed. The paired comparisons that answer the question — BN + dropout against
# dropout alone (both arms of 3.4), BN alone and the baseline — in test accuracy and test loss:
compared_with = ("dropout", "dropout_conv", "bn_hidden", "baseline")
accuracy_diffs = {
    other: p3_lenet.comparison(variants, "bn_dropout", other) for other in compared_with
}
for other in compared_with:
    print(p3_analysis.verdict(accuracy_diffs[other], names))
    print(
        "   "
        + p3_analysis.verdict(
            p3_lenet.comparison(variants, "bn_dropout", other, "test_loss"), names
        )
    )
print(
    p3_analysis.loss_table(
        {name: variants[name] for name in ("bn_hidden", "dropout", "bn_dropout")}
    )
)
for other in ("bn_hidden", "dropout"):
    print(
        p3_analysis.fit_reading(
            variants, "bn_dropout", other, setup["max_epochs"], setup["patience"]
        )["text"]
        + "."
    )

# %%
# Variance shift, measured
# ------------------------
# Li et al. (2019) point out that dropout changes the *variance* of a unit between training and
# inference: with inverted dropout of rate ``p`` a kept activation is scaled by ``1/(1 − p)``, so in
# training its variance is larger than at test time, when nothing is dropped. A BN layer *after*
# dropout accumulates its moving variance from the noisier training-mode batches and then, at test
# time, divides the calmer inference-mode inputs by a too-large sd. The test-time network is thus
# not the one whose statistics BN learned. The study records, after training (restored weights),
# each BN layer's moving variance and the actual variance of its input over the validation split in
# inference mode; their ratio is 1 when there is no shift and below 1 when BN over-estimates the
# variance.
shift_rows = p3_analysis.variance_shift_table(
    {name: variants[name] for name in ("bn_hidden", "bn_dropout")}
)
print(p3_analysis.variance_shift_text(shift_rows))

# %%
fig, ax = plotting.new_figure(height=3.2)
plotting.plot_variance_shift(ax, shift_rows, names)
ax.set_title("variance shift per BN layer")
ax.legend(fontsize=8)
plt.show()

# %%
# One pair of bars per BN layer: the test-time variance of the layer's input divided by the moving
# variance BN normalizes it with (mean ± sd over seeds), without dropout (3.2) and with it (3.5);
# bars below the dashed line mean BN divides test-time inputs by a too-large sd. Without dropout the
# ratio measures only how far the moving averages lag behind the final weights; the difference
# between the two bars of a layer is what dropout adds. Per layer, the paired difference over seeds:
shift = p3_analysis.variance_shift_reading(variants)
print(shift["text"] + ".")

# %%
# Reading the result
# ------------------
# Dropout and BN both regularize, and BN was introduced to speed up optimization (Ioffe & Szegedy
# 2015). Combining them adds dropout noise to a BN model, and the variance shift adds a train/test
# mismatch in every BN layer placed after a dropout layer. Li et al. recommend placing dropout only
# after the last BN layer or using a variance-stable form of dropout. The answer below is built from
# the paired intervals above; how wide those intervals are, and the seeds that would resolve 0.1
# points at the spread seen:
print(p3_analysis.power_text(variants, [("bn_dropout", "dropout"), ("bn_dropout", "bn_hidden")]))
versus = {"dropout alone": accuracy_diffs["dropout"], "BN alone": accuracy_diffs["bn_hidden"]}
report.answer(
    "3.5",
    f"BN + dropout: {p3_analysis.accuracy_text(variants['bn_dropout'])}, "
    + " and ".join(p3_analysis.versus_phrase(diff, label) for label, diff in versus.items())
    + f". Variance shift in {len(shift['shifted_after_dropout'])} of the {len(shift['after_dropout'])} BN "
    f"layers after dropout.",
    result,
)
