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
setup = result.data["setup"]
variants = result.data["variants"]
names = p3_analysis.labels(variants)
compared = {name: variants[name] for name in ("baseline", "bn_hidden")}
print(f"training {setup['n_train']} / validation {setup['n_validation']} / test {setup['n_test']} images; "
      f"input mean {setup['input_mean']:.4f}, sd {setup['input_sd']:.4f}")
print(f"{setup['optimizer']}; batch {setup['batch_size']} (last partial batch dropped); "
      f"activation {setup['activation']}; seeds {setup['seeds']}")
print(f"parameters: baseline {variants['baseline']['n_params']}, BN hidden {variants['bn_hidden']['n_params']}")
print(p3_analysis.convergence_report(compared, setup))

# %%
# γ and β of every BN layer
# -------------------------
# Summary statistics over the channels / units of each layer, pooled over the seeds (each seed's
# restored best weights). The full vectors are in the stored result:
# ``result.data["variants"]["bn_hidden"]["bn"][layer]["gamma"]`` has shape (seeds, channels).
bn_params = variants["bn_hidden"]["bn"]
rows = p3_analysis.bn_table(bn_params)
print(f"{'layer':<9}{'units':>6} | {'γ mean':>7} {'γ sd':>6} {'γ min':>6} {'γ max':>6} | "
      f"{'β mean':>7} {'β sd':>6} {'β min':>6} {'β max':>6}")
for row in rows:
    print(f"{row['layer']:<9}{row['channels']:>6} | {row['gamma_mean']:7.3f} {row['gamma_sd']:6.3f} "
          f"{row['gamma_min']:6.3f} {row['gamma_max']:6.3f} | {row['beta_mean']:7.3f} {row['beta_sd']:6.3f} "
          f"{row['beta_min']:6.3f} {row['beta_max']:6.3f}")

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
# receives, so the violins show where in the tanh the network chose to operate each unit. How far
# the learned values moved from their start (mean ``|γ − 1|`` and mean ``|β|`` per layer), and their range:
for row in rows:
    print(f"{row['layer']:<9} mean |γ − 1| {row['gamma_mean_abs_change']:.3f}   "
          f"mean |β| {row['beta_mean_abs_change']:.3f}")
gamma_means = {row["layer"]: row["gamma_mean"] for row in rows}
beta_sds = {row["layer"]: row["beta_sd"] for row in rows}
low_gamma_layer = min(gamma_means, key=gamma_means.get)
high_gamma_layer = max(gamma_means, key=gamma_means.get)
print(f"mean γ ranges from {gamma_means[low_gamma_layer]:.3f} ({low_gamma_layer}) to "
      f"{gamma_means[high_gamma_layer]:.3f} ({high_gamma_layer}); sd of β from {min(beta_sds.values()):.3f} "
      f"to {max(beta_sds.values()):.3f}")
narrow_share = {layer: float((abs(bn_params[layer]["gamma"]) < 1).mean()) for layer in bn_params}
print("share of units with |γ| < 1 (input to tanh narrower than standardized): "
      + ", ".join(f"{layer} {share:.0%}" for layer, share in narrow_share.items()))

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
    print(p3_analysis.verdict(p3_lenet.comparison(variants, "bn_hidden", "baseline", metric), names))

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
epoch_diff = p3_lenet.comparison(variants, "bn_hidden", "baseline", "best_epoch")
print(p3_analysis.verdict(epoch_diff, names))
bn_accuracy = 100 * variants["bn_hidden"]["test_accuracy"]
bn_best_epochs = variants["bn_hidden"]["best_epoch"]
report.answer(
    "3.2",
    f"With BN in every hidden layer ({setup['stopping']}: "
    f"{p3_analysis.convergence_status(compared, setup['max_epochs'], setup['patience'])}; BN's best epoch "
    f"{bn_best_epochs.mean():.1f}, per seed {', '.join(str(int(e)) for e in bn_best_epochs)}), test accuracy "
    f"{bn_accuracy.mean():.2f} ± {bn_accuracy.std(ddof=1):.2f} % ({len(bn_accuracy)} seeds); "
    f"{p3_analysis.verdict(accuracy_diff, names)}. Learned γ: layer means {gamma_means[low_gamma_layer]:.2f} "
    f"({low_gamma_layer}) to {gamma_means[high_gamma_layer]:.2f} ({high_gamma_layer}); β sd per layer "
    f"{min(beta_sds.values()):.2f}–{max(beta_sds.values()):.2f}.", result)
