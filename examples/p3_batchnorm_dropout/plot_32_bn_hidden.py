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
# variant of Problem 3 shares the optimizer, batch size, number of epochs, validation split and —
# for a given seed — the order of the batches; the test set is used only for the final numbers.
from hw2 import experiments, plotting, report
from hw2.experiments import p3_lenet

result = experiments.run("p3.lenet", fallback=True)
report.banner(result)
data, setup = result.data, result.data["setup"]
variants = data["variants"]
names = p3_lenet.labels(variants)
print(f"training {setup['n_train']} / validation {setup['n_validation']} / test {setup['n_test']} images; "
      f"input mean {setup['input_mean']:.4f}, sd {setup['input_sd']:.4f}")
print(f"{setup['optimizer']}; batch {setup['batch_size']} (last partial batch dropped); "
      f"{setup['epochs']} epochs; activation {setup['activation']}; seeds {setup['seeds']}")
print(f"parameters: baseline {variants['baseline']['n_params']}, BN hidden {variants['bn_hidden']['n_params']}")

# %%
# γ and β of every BN layer
# -------------------------
# Summary statistics over the channels / units of each layer, pooled over the seeds. The full
# vectors are in the stored result: ``result.data["variants"]["bn_hidden"]["bn"][layer]["gamma"]``
# has shape (seeds, channels).
bn = variants["bn_hidden"]["bn"]
rows = p3_lenet.bn_table(bn)
print(f"{'layer':<9}{'units':>6} | {'γ mean':>7} {'γ sd':>6} {'γ min':>6} {'γ max':>6} | "
      f"{'β mean':>7} {'β sd':>6} {'β min':>6} {'β max':>6}")
for r in rows:
    print(f"{r['layer']:<9}{r['channels']:>6} | {r['gamma_mean']:7.3f} {r['gamma_sd']:6.3f} {r['gamma_min']:6.3f} "
          f"{r['gamma_max']:6.3f} | {r['beta_mean']:7.3f} {r['beta_sd']:6.3f} {r['beta_min']:6.3f} "
          f"{r['beta_max']:6.3f}")

# %%
fig, axes = plotting.new_figure(ncols=2, height=3.2)
plotting.plot_bn_violins(axes[0], bn, "gamma")
plotting.plot_bn_violins(axes[1], bn, "beta")
axes[0].set_title("learned scale γ")
axes[1].set_title("learned shift β")

# %%
# Each violin pools every channel of one BN layer over all seeds (dots: individual values; dashed:
# the initial values γ = 1, β = 0). ``γ`` sets the sd and ``β`` the centre of what each tanh
# receives, so these plots show where in the tanh the network chose to operate each unit.
gamma_means = {r["layer"]: r["gamma_mean"] for r in rows}
beta_sds = {r["layer"]: r["beta_sd"] for r in rows}
lo_layer, hi_layer = min(gamma_means, key=gamma_means.get), max(gamma_means, key=gamma_means.get)
print(f"mean γ ranges from {gamma_means[lo_layer]:.3f} ({lo_layer}) to {gamma_means[hi_layer]:.3f} "
      f"({hi_layer}); sd of β from {min(beta_sds.values()):.3f} to {max(beta_sds.values()):.3f}")
small = {layer: float((abs(bn[layer]["gamma"]) < 1).mean()) for layer in bn}
print("share of units with |γ| < 1 (input to tanh narrower than standardized): "
      + ", ".join(f"{layer} {share:.0%}" for layer, share in small.items()))

# %%
# Did BN in the hidden layers help?
# ---------------------------------
# Test accuracy of every seed, against the plain baseline trained on the same data order.
print(p3_lenet.accuracy_table({k: variants[k] for k in ("baseline", "bn_hidden")}))
diff = p3_lenet.comparison(variants, "bn_hidden", "baseline")
print(p3_lenet.verdict(diff, names))

# %%
fig, axes = plotting.new_figure(ncols=2, height=3.2)
plotting.plot_learning_curves(axes[0], {k: variants[k] for k in ("baseline", "bn_hidden")}, names, "accuracy")
plotting.plot_learning_curves(axes[1], {k: variants[k] for k in ("baseline", "bn_hidden")}, names, "loss")
axes[0].set_ylim(97, 100.05)
axes[1].set_yscale("log")
axes[0].legend(fontsize=6)

# %%
# Accuracy and loss per epoch (mean ± sd over seeds): dashed = a fixed subset of the training set
# as large as the validation split, solid = the validation split, both evaluated in inference mode
# at each epoch end. Whether training was long enough for the curves to settle: the change of the
# validation accuracy over the last two epochs, per variant.
for name, runs in variants.items():
    change, sd = p3_lenet.late_change(runs)
    print(f"{names[name]:>30}: validation accuracy over the last 2 of {setup['epochs']} epochs "
          f"{100 * change:+.2f} ± {100 * sd:.2f} points")
bn_acc = 100 * variants["bn_hidden"]["test_accuracy"]
report.answer(
    "3.2",
    f"With BN in every hidden layer, test accuracy {bn_acc.mean():.2f} ± {bn_acc.std(ddof=1):.2f} % "
    f"({len(bn_acc)} seeds, {setup['epochs']} epochs); {p3_lenet.verdict(diff, names)}. Learned γ: layer means "
    f"{gamma_means[lo_layer]:.2f} ({lo_layer}) to {gamma_means[hi_layer]:.2f} ({hi_layer}); "
    f"β sd per layer {min(beta_sds.values()):.2f}–{max(beta_sds.values()):.2f}.", result)
