"""
3.4 Dropout instead of batch normalization
==========================================

*Question.* Train LeNet-5 without batch normalization but with dropout: rate 0.2 on the input and
0.5 on the hidden layers. How does its test accuracy compare with the BN models of 3.2 and 3.3?
"""

# %%
# Two dropout arms
# ----------------
# Both arms put dropout 0.2 on the (standardized, padded) input image and 0.5 after the tanh of
# each hidden dense layer (120 and 84 units). The homework's "hidden layers" can also be read to
# include the two conv layers, so the second arm adds dropout 0.5 after each conv block as well
# (after its pooling; :func:`hw2.models.lenet5`). Srivastava et al. (2014) used dropout in conv
# layers too, at lower rates: neighbouring pixels of a feature map are strongly correlated, so
# dropping single pixels removes less information than dropping a dense unit, and a rate of 0.5 on
# maps of only 6 and 16 channels may cost fit. Which arm the answer uses is decided below from the
# measured difference. Keras' dropout is *inverted*: kept activations are scaled by ``1/(1 − p)`` in
# training, and nothing is dropped or rescaled at test time. Everything else — optimizer, batch
# size, stopping rule, data order per seed — is shared with the other variants.
import matplotlib.pyplot as plt

from hw2 import experiments, plotting, report
from hw2.experiments import p3_analysis, p3_lenet

result = experiments.run("p3.lenet", fallback=True)
report.banner(result)
setup, run_config = result.data["setup"], result.config
variants = result.data["variants"]
names = p3_analysis.labels(variants)
print(
    f"input dropout {run_config['input_dropout']}, dense dropout {run_config['hidden_dropout']}, conv-block "
    f"dropout {run_config['conv_dropout']} (second arm only); seeds {setup['seeds']}"
)
shown = {
    name: variants[name]
    for name in ("baseline", "bn_hidden", "bn_input_hidden", "dropout", "dropout_conv")
}
print(p3_analysis.convergence_report(shown, setup))
print(p3_analysis.accuracy_table(shown))

# %%
fig, ax = plotting.new_figure(height=3.4)
plotting.plot_seed_accuracies(ax, shown, names)
ax.set_title("test accuracy per seed (grey lines join the same seed)")
plt.show()

# %%
# Each dot is one seed's test accuracy, black = mean ± sd; grey lines connect runs with the same
# seed (same data order), which is what the paired comparisons use. Each dropout arm against the
# two BN models and the baseline:
arms = ("dropout", "dropout_conv")
accuracy_diffs = {
    (arm, other): p3_lenet.comparison(variants, arm, other)
    for arm in arms
    for other in ("bn_hidden", "bn_input_hidden", "baseline")
}
for diff in accuracy_diffs.values():
    print(p3_analysis.verdict(diff, names))

# %%
# Which dropout arm the answers use
# ---------------------------------
# The rule (:func:`hw2.experiments.p3_analysis.dropout_arm`), read on the validation split so that
# the test set only reports: the conv-block arm if its validation accuracy is measurably higher
# than dense-only dropout's, else dense-only dropout — the simpler model, and the one whose dropout
# layers the BN + dropout model of 3.5 shares, so that 3.4 and 3.5 differ only by BN.
choice = p3_analysis.dropout_arm(variants)
arm = choice["arm"]
print(choice["text"] + ".")

# %%
# Regularization at work: training vs validation
# ----------------------------------------------
curves = {name: variants[name] for name in ("baseline", "bn_hidden", "dropout", "dropout_conv")}
fig, axes = plotting.new_figure(ncols=2, height=3.4)
plotting.plot_learning_curves(axes[0], curves, names, "accuracy")
plotting.plot_learning_curves(axes[1], curves, names, "loss")
axes[1].set_yscale("log")
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=7)
plt.show()

# %%
# Accuracy (left) and loss (right) per epoch, mean ± sd over the seeds still training at that
# epoch; dashed = a fixed training subset, solid = the validation split, both in inference mode; a
# dot marks each seed's best validation loss, whose weights were restored. A regularizer shows as a
# smaller distance between dashed and solid lines. Dropout is expected to need more epochs (each
# step trains a different thinned network); the stopping rule lets every run take what it needs.
# Epochs each dropout arm needed to its best validation loss, against the baseline and against BN:
for arm_name in arms:
    for other in ("baseline", "bn_hidden"):
        print(
            p3_analysis.verdict(p3_lenet.comparison(variants, arm_name, other, "best_epoch"), names)
        )

# %%
# Trained to convergence: does dropout still trail BN?
# ----------------------------------------------------
# The restored weights of every run on the whole training split and on the test set (inference
# mode). Dropout is a regularizer: it should fit the training set less closely and shrink the gap
# between training and test loss; it pays off only if the gap it closes is worth more than the fit
# it costs. Each reading below is built from the paired intervals of the training loss, of the
# test − training loss gap and of the test accuracy.
print(p3_analysis.loss_table(shown))
readings = {
    other: p3_analysis.fit_reading(variants, arm, other, setup["max_epochs"], setup["patience"])
    for other in ("baseline", "bn_hidden", "bn_input_hidden")
}
for reading in readings.values():
    print(reading["text"] + ".")


# %%
# What the seeds can resolve
# --------------------------
# Half-width of each paired 95 % interval of test accuracy, and the seeds that would resolve a
# difference of 0.1 points at the spread these seeds show:
print(
    p3_analysis.power_text(
        variants, [(arm, "bn_hidden"), (arm, "bn_input_hidden"), (arm, "baseline")]
    )
)
versus = {other: accuracy_diffs[(arm, other)] for other in ("bn_hidden", "bn_input_hidden")}
report.answer(
    "3.4",
    f"{names[arm].removeprefix('3.4 ').capitalize()} (no BN): {p3_analysis.accuracy_text(variants[arm])}, "
    + " and ".join(
        p3_analysis.versus_phrase(diff, label)
        for label, diff in zip(("3.2", "3.3"), versus.values())
    )
    + ".",
    result,
)
