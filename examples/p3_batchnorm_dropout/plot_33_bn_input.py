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
# learns its own ``γ`` and ``β``. Same seeds, same data order, same optimizer.
import numpy as np

from hw2 import experiments, plotting, report
from hw2.experiments import p3_lenet

result = experiments.run("p3.lenet", fallback=True)
report.banner(result)
data, setup = result.data, result.data["setup"]
variants = data["variants"]
names = p3_lenet.labels(variants)
pair = {k: variants[k] for k in ("bn_hidden", "bn_input_hidden")}

# %%
# γ and β of every BN layer (3.3)
# -------------------------------
bn = variants["bn_input_hidden"]["bn"]
fig, axes = plotting.new_figure(nrows=2, height=2.8)
plotting.plot_bn_violins(axes[0], bn, "gamma")
plotting.plot_bn_violins(axes[1], bn, "beta")
axes[0].set_title("3.3: learned scale γ per BN layer (all channels, all seeds)")
axes[1].set_title("3.3: learned shift β per BN layer")

# %%
# One violin per BN layer; ``input_bn`` has one channel, so it shows one value per seed. The
# hidden layers' ``γ`` and ``β`` are to be compared with those of 3.2 in the table below: if the
# input BN only re-learns the standardization, the hidden layers should end up alike.
rows_33 = {r["layer"]: r for r in p3_lenet.bn_table(bn)}
rows_32 = {r["layer"]: r for r in p3_lenet.bn_table(variants["bn_hidden"]["bn"])}
print(f"{'layer':<9} | {'γ mean 3.2':>10} {'γ mean 3.3':>10} | {'β mean 3.2':>10} {'β mean 3.3':>10}")
for layer, r in rows_33.items():
    g32 = f"{rows_32[layer]['gamma_mean']:10.3f}" if layer in rows_32 else f"{'—':>10}"
    b32 = f"{rows_32[layer]['beta_mean']:10.3f}" if layer in rows_32 else f"{'—':>10}"
    print(f"{layer:<9} | {g32} {r['gamma_mean']:10.3f} | {b32} {r['beta_mean']:10.3f}")
in_gamma, in_beta = np.ravel(bn["input_bn"]["gamma"]), np.ravel(bn["input_bn"]["beta"])
print(f"input BN per seed: γ = {np.round(in_gamma, 3)}, β = {np.round(in_beta, 3)}")

# %%
# Curves of 3.2 and 3.3 on shared axes
# ------------------------------------
fig, axes = plotting.new_figure(ncols=2, height=3.4)
plotting.plot_learning_curves(axes[0], pair, names, "accuracy")
plotting.plot_learning_curves(axes[1], pair, names, "loss")
axes[0].set_ylim(97, 100.05)
axes[1].set_yscale("log")
axes[0].legend(fontsize=6)
axes[0].set_title("accuracy")
axes[1].set_title("loss")

# %%
# Mean ± sd over seeds per epoch; dashed = a fixed training subset (as large as the validation
# split), solid = the held-out validation split carved from the training set, both in inference
# mode. The test set is kept for the final numbers below. Training curves keep improving after the
# validation curves flatten: the gap between dashed and solid lines is the generalization gap.
hist = {k: pair[k]["history"] for k in pair}
for k in pair:
    gap = 100 * (hist[k]["train_accuracy"][:, -1] - hist[k]["val_accuracy"][:, -1])
    print(f"{names[k]:>24}: final validation accuracy {100 * hist[k]['val_accuracy'][:, -1].mean():.2f} %, "
          f"train − validation gap {gap.mean():.2f} ± {gap.std(ddof=1):.2f} points")
epoch_diff = 100 * (hist["bn_input_hidden"]["val_accuracy"] - hist["bn_hidden"]["val_accuracy"])
print("validation accuracy 3.3 − 3.2 per epoch (mean over seeds): "
      + " ".join(f"{d:+.2f}" for d in epoch_diff.mean(axis=0)))

# %%
# Did BN on the input help?
# -------------------------
# The paired difference of test accuracies over the same seeds, against the seed-to-seed spread.
print(p3_lenet.accuracy_table(pair))
diff = p3_lenet.comparison(variants, "bn_input_hidden", "bn_hidden")
print(p3_lenet.verdict(diff, names))
ratio = abs(diff["mean_diff"]) / diff["seed_sd"] if diff["seed_sd"] > 0 else float("inf")
print(f"|mean difference| / seed-to-seed sd = {ratio:.2f}")

# %%
# Why the two models behave alike
# -------------------------------
# Both input treatments are affine maps of the image with one scale and one shift for the single
# channel: ``a·x + b``. The first convolution has no bias and ``valid`` padding (the image was
# padded to 32×32 before), so it turns ``a·x + b`` into ``a·conv(x) + b·ΣW`` — per output channel
# the same affine change — and ``conv1_bn``, which standardizes each channel over the batch,
# removes it again (exactly, up to BN's ``ε``). With BN right after the first layer, *how* the
# input is normalized hardly reaches the rest of the network: with the same seed the two models start
# from the same weights, see the same batches, and should follow almost the same path. The input
# BN's own ``γ`` and ``β`` receive gradients only through ``ε``; Adam's per-parameter step
# normalization still moves them (table above), without consequence for the output. At test time
# the cancellation holds only once the moving averages of both BN layers have converged (BN's
# momentum is 0.99, so that takes a few hundred steps); before that the two models can differ at
# test time even with identical weights. Measured:
same_seed = {}
for layer in ("conv1_bn", "conv2_bn", "fc1_bn", "fc2_bn"):
    gap = np.abs(variants["bn_input_hidden"]["bn"][layer]["gamma"] - variants["bn_hidden"]["bn"][layer]["gamma"])
    same_seed[layer] = float(gap.max())
print("largest |γ(3.3) − γ(3.2)| over channels and seeds (same seed): "
      + ", ".join(f"{layer} {value:.4f}" for layer, value in same_seed.items()))
seed_gap = 100 * np.abs(variants["bn_input_hidden"]["test_accuracy"] - variants["bn_hidden"]["test_accuracy"])
print(f"|test accuracy 3.3 − 3.2| per seed (points): {np.round(seed_gap, 3)}")

# %%
# The verdict is read from the paired 95 % interval (Student t over the seeds).
steps = setup["epochs"] * variants["bn_hidden"]["steps_per_epoch"]
if seed_gap.max() < 100 * diff["seed_sd"]:
    why = (f"with the same seed the two differ by at most {seed_gap.max():.2f} points (less than the seed "
           f"sd), as expected since conv1's BN cancels any affine input normalization.")
else:
    why = (f"with the same seed they differ by up to {seed_gap.max():.2f} points: after {steps} steps the "
           f"moving averages used at test time have not converged.")
print(why)
helped = "helped" if diff["significant"] and diff["mean_diff"] > 0 else (
    "hurt" if diff["significant"] else "made no measurable difference")
report.answer(
    "3.3",
    f"BN on the input as well {helped} ({p3_lenet.verdict(diff, names)}); |difference| = {ratio:.2f}× "
    f"the seed-to-seed sd; {why} Input BN learned γ = {in_gamma.mean():.2f} ± "
    f"{in_gamma.std(ddof=1):.2f}, β = {in_beta.mean():.2f} ± {in_beta.std(ddof=1):.2f}.", result)
