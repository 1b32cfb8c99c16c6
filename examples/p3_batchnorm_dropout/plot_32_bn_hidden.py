"""
3.2 Batch normalization in the hidden layers: the learned γ and β
=================================================================

*Question.* Train LeNet-5 on MNIST with standard-normalized inputs and batch normalization in
every hidden layer. What values do the learned scale ``γ`` and shift ``β`` of each BN layer take?
"""

# %%
# The model and the training setup
# --------------------------------
# LeNet-5 as LeCun et al. (1998), in its common modern form (:func:`hw2.models.lenet5`): the 28×28
# digit zero-padded to 32×32; conv 6@5×5 → 2×2 average pool → conv 16@5×5 → 2×2 average pool →
# dense 120 → dense 84 → dense 10 softmax. Every hidden layer uses **tanh**, as in the original
# (whose scaled tanh and RBF output layer are replaced by plain tanh and softmax). Inputs are
# standardized with the mean and sd of the whole training set (a ``keras.layers.Normalization``
# adapted once). In the BN variant each hidden conv / dense layer is followed by
# ``BatchNormalization`` *before* its tanh, and drops its bias (``β`` takes its place). Every
# variant of Problem 3 shares the optimizer, batch size, stopping rule, validation split and — for
# a given seed — the order of the batches. Each run trains until its validation loss stops
# improving or the epoch cap is reached, and keeps the weights of its best epoch; the test set is
# used only for the final numbers.
import matplotlib.pyplot as plt

from hw2 import experiments, plotting, report
from hw2.experiments import p3_analysis, p3_lenet

result = experiments.run("p3.lenet", fallback=True)
report.banner(result)
setup, variants = result.data["setup"], result.data["variants"]
names = p3_analysis.labels(variants)
compared = {name: variants[name] for name in ("baseline", "bn_hidden")}
print(p3_analysis.setup_text(result.data))
print(p3_analysis.convergence_report(compared, setup))

# %%
# γ and β of every BN layer
# -------------------------
# Summary statistics over the channels / units of each layer, pooled over the seeds (each seed's
# restored best weights), and how far they moved from their start (γ = 1, β = 0). The full vectors
# are in the stored result: ``result.data["variants"]["bn_hidden"]["bn"][layer]["gamma"]`` has
# shape (seeds, channels).
bn_params = variants["bn_hidden"]["bn"]
print(p3_analysis.bn_parameter_table(bn_params))

# %%
fig, axes = plotting.new_figure(ncols=2, height=3.2)
plotting.plot_bn_violins(axes[0], bn_params, "gamma")
plotting.plot_bn_violins(axes[1], bn_params, "beta")
axes[0].set_title("learned scale γ")
axes[1].set_title("learned shift β")
plt.show()

# %%
# Each violin pools every channel of one BN layer over all seeds (dots: individual values; dashed:
# the initial values γ = 1, β = 0). ``γ`` sets the sd and ``β`` the centre of what each tanh
# receives, so the violins show where in the tanh the network chose to operate each unit: a unit
# with ``|γ| < 1`` works in the nearly linear middle of the tanh, one with ``|γ| > 1`` reaches its
# flat tails. The share of units of each layer in the first group:
narrow = {layer: float((abs(bn_params[layer]["gamma"]) < 1).mean()) for layer in bn_params}
print(", ".join(f"{layer} {share:.0%}" for layer, share in narrow.items()))

# %%
# Did BN in the hidden layers help?
# ---------------------------------
# Test accuracy of every seed, against the plain baseline trained on the same data order, and the
# loss and accuracy of the restored weights on the whole training split and on the test set.
print(p3_analysis.accuracy_table(compared))
accuracy_diff = p3_lenet.comparison(variants, "bn_hidden", "baseline")
print(p3_analysis.verdict(accuracy_diff, names))
print(p3_analysis.loss_table(compared))
for metric in ("test_loss", "train_loss"):
    print(
        p3_analysis.verdict(p3_lenet.comparison(variants, "bn_hidden", "baseline", metric), names)
    )

# %%
fig, axes = plotting.new_figure(ncols=2, height=3.2)
plotting.plot_learning_curves(axes[0], compared, names, "accuracy")
plotting.plot_learning_curves(axes[1], compared, names, "loss")
axes[1].set_yscale("log")
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=7)
plt.show()

# %%
# Accuracy and loss per epoch (mean ± sd over the seeds still training at that epoch): dashed = a
# fixed subset of the training set as large as the validation split, solid = the validation split,
# both evaluated in inference mode at each epoch end; a dot marks each seed's best validation loss,
# whose weights were restored. How many epochs each model needed to get there:
print(
    p3_analysis.verdict(p3_lenet.comparison(variants, "bn_hidden", "baseline", "best_epoch"), names)
)
rows = {row["layer"]: row for row in p3_analysis.bn_table(bn_params)}
gamma = [row["gamma_mean"] for row in rows.values()]
beta = [row["beta_mean"] for row in rows.values()]
report.answer(
    "3.2",
    f"Per layer, mean γ is {min(gamma):.2f}–{max(gamma):.2f} and mean β {min(beta):+.2f} to "
    f"{max(beta):+.2f} (violins on the page). Test accuracy with BN: "
    f"{p3_analysis.accuracy_text(variants['bn_hidden'])}, "
    f"{p3_analysis.versus_phrase(accuracy_diff, 'without BN')}.",
    result,
)
