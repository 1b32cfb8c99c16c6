"""
3.3 Batch normalization on the input layer as well
==================================================

*Question.* Replace the standard normalization of the input by a batch-normalization layer, keeping
BN in the hidden layers. Show violin plots of ``γ`` and ``β`` of every BN layer, including the
input one; plot training and held-out accuracy and loss of this model and of the 3.2 model on
shared axes. Did batch-normalizing the input help?
"""

# %%
# The two models differ only in the input layer: 3.2 standardizes each image with the fixed mean
# and sd of the training set; 3.3 puts a ``BatchNormalization`` on the single input channel, which
# standardizes with the statistics of each mini-batch (moving averages at test time) and then
# learns its own ``γ`` and ``β``. Same seeds, same data order, same optimizer, same stopping rule.
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, plotting, report
from hw2.experiments import p3_analysis, p3_lenet

result = experiments.run("p3.lenet", fallback=True)
report.banner(result)
setup = result.data["setup"]
variants = result.data["variants"]
names = p3_analysis.labels(variants)
pair = {name: variants[name] for name in ("bn_hidden", "bn_input_hidden")}
print(p3_analysis.convergence_report(variants, setup))

# %%
# γ and β of every BN layer (3.3)
# -------------------------------
bn_params = variants["bn_input_hidden"]["bn"]
fig, axes = plotting.new_figure(nrows=2, height=2.8)
plotting.plot_bn_violins(axes[0], bn_params, "gamma")
plotting.plot_bn_violins(axes[1], bn_params, "beta")
axes[0].set_title("3.3: learned scale γ per BN layer (all channels, all seeds)")
axes[1].set_title("3.3: learned shift β per BN layer")
plt.show()

# %%
# One violin per BN layer of the 3.3 model (dots: individual channels of every seed; dashed: the
# initial values); ``input_bn`` has one channel, so it shows one value per seed. The table puts
# each layer's mean ``γ`` and ``β`` next to those of the 3.2 model ("ref."), which has no input BN:
print(p3_analysis.bn_parameter_table(bn_params, reference=variants["bn_hidden"]["bn"]))
input_gamma = bn_params["input_bn"]["gamma"].ravel()
input_beta = bn_params["input_bn"]["beta"].ravel()

# %%
# Curves of 3.2 and 3.3 on shared axes
# ------------------------------------
fig, axes = plotting.new_figure(ncols=2, height=3.4)
plotting.plot_learning_curves(axes[0], pair, names, "accuracy")
plotting.plot_learning_curves(axes[1], pair, names, "loss")
axes[1].set_yscale("log")
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=7)
axes[0].set_title("accuracy")
axes[1].set_title("loss")
plt.show()

# %%
# Accuracy (left) and cross-entropy loss (right) per epoch, mean ± sd over the seeds still training
# at that epoch; dashed = a fixed training subset (as large as the validation split), solid = the
# held-out validation split carved from the training set, both in inference mode; a dot marks each
# seed's best validation loss, whose weights every number below uses. The two models' epochs to
# their best validation loss, compared seed by seed:
print(
    p3_analysis.verdict(
        p3_lenet.comparison(variants, "bn_input_hidden", "bn_hidden", "best_epoch"), names
    )
)

# %%
# Training and test accuracy and loss, every variant
# --------------------------------------------------
# The restored weights of every run evaluated in inference mode on the whole training split and on
# the test set (mean ± sd over seeds); the test − training loss gap measures how much worse the
# model does on images it never trained on.
print(p3_analysis.loss_table(variants))

# %%
# Did BN on the input help?
# -------------------------
# The paired differences 3.3 − 3.2 over the same seeds, against the seed-to-seed spread.
print(p3_analysis.accuracy_table(pair))
input_bn_diffs = {
    metric: p3_lenet.comparison(variants, "bn_input_hidden", "bn_hidden", metric)
    for metric in ("test_accuracy", "test_loss", "train_loss", "loss_gap")
}
for diff in input_bn_diffs.values():
    print(p3_analysis.verdict(diff, names))
accuracy_diff = input_bn_diffs["test_accuracy"]
size_in_seed_sds = abs(accuracy_diff["mean_diff"]) / accuracy_diff["seed_sd"]
print(f"|mean test-accuracy difference| / seed-to-seed sd = {size_in_seed_sds:.2f}")

# %%
# Why the two models can behave alike
# -----------------------------------
# Both input treatments are affine maps of the image with one scale and one shift for the single
# channel: ``a·x + b``. The first convolution has no bias and ``valid`` padding (the image was
# padded to 32×32 before), so it turns ``a·x + b`` into ``a·conv(x) + b·ΣW`` — per output channel
# the same affine change — and ``conv1_bn``, which standardizes each channel over the batch,
# removes it again (exactly, up to BN's ``ε``). With BN right after the first layer, *how* the
# input is normalized hardly reaches the rest of the network in training: with the same seed the two
# models start from the same weights and see the same batches. The input BN's own ``γ`` and ``β``
# receive gradients only through ``ε``; Adam's per-parameter step normalization can still move them
# (their values per seed are printed above). At test time the cancellation holds only once the
# moving averages of both BN layers have caught up with the batch statistics, and early stopping
# may end the two runs of a seed at different epochs. How close the same-seed runs end up, measured:
agreement = p3_analysis.same_seed_agreement(variants, "bn_input_hidden", "bn_hidden")
print(
    "largest |γ(3.3) − γ(3.2)| over channels and seeds (same seed): "
    + ", ".join(f"{layer} {gap:.4f}" for layer, gap in agreement["gamma_max_abs_diff"].items())
)
print(f"|test accuracy 3.3 − 3.2| per seed (points): {np.round(agreement['per_seed_points'], 3)}")
print(agreement["text"] + ".")

# %%
# What the seeds can resolve
# --------------------------
# The verdicts are read from paired 95 % intervals (Student t over the seeds). How wide they are,
# and how many seeds would resolve a difference of 0.1 points at the spread these seeds show:
print(p3_analysis.power_text(variants, [("bn_input_hidden", "bn_hidden")]))
lead = {"better": "Yes", "worse": "No, it hurt", "unclear": "Not measurably"}[
    p3_analysis.outcome(accuracy_diff)
]
report.answer(
    "3.3",
    f"{lead}: with input BN, test accuracy {p3_analysis.accuracy_text(variants['bn_input_hidden'])} is "
    f"{p3_analysis.versus_phrase(accuracy_diff, 'hidden BN alone')}. The input BN learned "
    f"γ = {input_gamma.mean():.2f}, β = {input_beta.mean():+.2f}.",
    result,
)
