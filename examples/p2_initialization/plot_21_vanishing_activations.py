"""
2.1 Where do activations and gradients vanish or explode, and why do Xavier and He initialization help?
=======================================================================================================

*Question.* Take the network of the intoli article on weight initialization — MNIST images
flattened to 784 values in [0, 1], a linear ``Dense(100)``, five hidden ``Dense(100)`` layers with
the activation under study and a ``Dense(10)`` softmax, zero biases — and look at it *at
initialization*. With tanh and sigmoid and weights drawn from N(0, σ) for several σ, where do the
activations vanish or saturate? Where do the *gradients* vanish? Why does Xavier (Glorot)
initialization keep the variance, and why does ReLU want He initialization instead?

Every case below is the same network and the same 10,000 MNIST test images; only the activation and
the kernel initializer change (``keras.initializers``: ``RandomNormal(0, σ)``, ``glorot_normal``,
``he_normal``). The N(0, σ) cases of one activation share the same random draws, scaled by σ;
sigmoid is also run with Glorot normal times 2, 4 and 8 (the same draws, scaled), because its slope
at 0 is 1/4 rather than Glorot's assumed 1. Gradients are those of the cross-entropy loss with
respect to each hidden layer's kernel, on one batch of test images, as the backend computes them
for training. One initialization (seed 0) per case.

**One measure of activation scale.** Everywhere on this page a layer's activation scale is its
*spread*: the standard deviation of a unit's output over the images, averaged over the layer's
units. It measures how much the layer's output depends on the image; a unit stuck at a constant
has spread 0 whatever that constant is. The gradient scale is the standard deviation of the
layer's weight gradient. Each enters through its *factor per layer*, ``(layer 5 / layer 1)^(1/4)``.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, init_study, plotting, report
from hw2.experiments import p2_analysis as pa

result = experiments.run("p2.init", fallback=True)
report.banner(result)
data, config = result.data, result.config
cases, labels = list(data["cases"]), list(data["labels"])
print(f"{config['n_images']} test images, gradient batch of {config['gradient_batch_size']}, "
      f"{config['n_hidden']} hidden layers of {config['units']} units; {pa.SPREAD}")

# %%
# Every case in one table
# -----------------------
# Each case gets one verdict (:func:`hw2.init_study.classify`), checked in this order:
#
# 1. *saturates*: tanh or sigmoid with at least a quarter of some hidden layer's outputs in the
#    flat tails (tanh: ``|a| > 0.99``; sigmoid: ``a < 0.01`` or ``a > 0.99``; there the slope is
#    under 4 % of its largest value, so those units pass almost no gradient back). ReLU cannot
#    saturate: its zeros are about half of its outputs at any scale;
# 2. *keeps its scale*: both factors per layer within ``[1/T, T]``, T = 2^(1/4) (halfway, on a log
#    scale, between He's theoretical factor 1 for ReLU and the 1/√2 Glorot gives ReLU);
# 3. otherwise the factor farther from 1 names it: *activations vanish / explode*, or *gradients
#    vanish / explode towards the input*.
print(pa.scale_table(data))
low, high = pa.saturation_margin(data)
print(f"\nT = {init_study.SCALE_THRESHOLD:.3f}; any saturation threshold above {100 * low:.1f} % "
      f"and at most {100 * high:.1f} % gives the same verdicts")

# %%
# The same numbers layer by layer, one panel per activation (log scale: a horizontal line keeps
# its scale, a straight falling line loses a constant factor per layer).
groups = [init_study.parse_case(c)[0] for c in cases]
fig, axes = plotting.new_figure(ncols=3, nrows=2, height=3.0)
plotting.plot_layer_scales(axes[0], data["activation_signal_std"], labels, groups, "spread")
plotting.plot_layer_scales(axes[1], data["gradient_std"], labels, groups, "std of dLoss/dW")
for ax in axes[1]:
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=1)
plt.show()

# %%
# Top: the spread of every hidden layer; bottom: the weight gradients' standard deviation (a case
# whose gradients are exactly zero has no line there). Each line's slope on these log axes is its
# factor per layer in the table above.
#
# Violin plots per layer, as in the article
# -----------------------------------------
# Each row is one case; left the distribution of the activations of every hidden layer, right the
# distribution of the entries of that layer's kernel gradient. Each panel has its own vertical
# scale (the power of ten is in its axis label), so compare shapes and the axis units.


def violins(rows_cases):
    rows = [cases.index(c) for c in rows_cases if c in cases]
    fig, axes = plotting.new_figure(ncols=2, nrows=len(rows), height=1.9, sharex=True,
                                    squeeze=False)
    for r, i in enumerate(rows):
        plotting.plot_layer_violins(axes[r, 0], data["activation_samples"][i], ylabel="activation",
                                    title=f"{labels[i]}: activations", color=plotting.PALETTE[0])
        plotting.plot_layer_violins(axes[r, 1], data["gradient_samples"][i], ylabel="dLoss/dW",
                                    title=f"{labels[i]}: dLoss/dW", color=plotting.PALETTE[3])
        for ax in axes[r]:
            ax.set_xlabel("hidden layer" if r == len(rows) - 1 else "")
    plt.show()
    return rows_cases


tanh_cases = violins([c for c in cases if c.startswith("tanh/")])

# %%
# tanh. Outputs at ±1 (the bulges at the ends of a violin) are saturated units. For small σ, tanh
# is the identity near 0 and theory predicts a spread factor σ·√units per layer:
print(pa.scale_table(data, tanh_cases))
print(f"theory for N(0, 0.01) in the linear regime: σ·√units = "
      f"{0.01 * np.sqrt(config['units']):.2f}")

# %%
sigmoid_cases = violins(["sigmoid/normal(0.01)", "sigmoid/normal(0.1)", "sigmoid/normal(1)",
                         "sigmoid/glorot_normal", "sigmoid/glorot_normal(4)"])

# %%
# sigmoid: the activation violins sit near 0.5, not 0 (sigmoid(0) = 1/2).
print(pa.scale_table(data, sigmoid_cases))

# %%
relu_cases = violins([c for c in cases if c.startswith("relu/")])

# %%
# ReLU: the flat foot of each violin is the share of outputs that are exactly zero, printed with
# the factors. ReLU is positively homogeneous, so scaling all weights by σ scales every layer's
# output and leaves which units are zero unchanged: the N(0, σ) cases share their draws.
print(pa.scale_table(data, relu_cases))
print(pa.zeros_text(data))

# %%
# Why Glorot, and why He for ReLU
# -------------------------------
# For a layer with ``n`` inputs and weights of variance ``Var(w)``, the pre-activation variance is
# ``n · Var(w) · E[a²]`` of the previous layer. tanh is the identity near 0, so keeping the
# variance needs ``n · Var(w) ≈ 1``; Glorot's ``Var(w) = 2 / (n_in + n_out)`` is exactly ``1/n``
# for square layers, and it balances the backward pass (which scales with ``n_out``) too. ReLU
# zeroes half of its inputs, so ``E[a²]`` is half the pre-activation variance: keeping it needs
# ``Var(w) = 2 / n`` — He's factor 2. With Glorot, ReLU should lose a factor √2 of scale per
# layer. Measured with the spread:
print(pa.theory_text(data))

# %%
# The variance argument is about the whole second moment ``E[a²]``; the spread counts only the
# part that differs between images, so the two need not agree (the measured / theory ratios above).
# He / Glorot is √2 by construction: He's draws are Glorot's times √2 for square layers, and ReLU
# passes a scale through unchanged, so the two initializations differ by exactly the factor per
# layer that the variance argument names.
#
# Why Glorot does not rescue sigmoid
# ----------------------------------
# Glorot's derivation assumes units that are linear around a zero mean with slope 1 — true for
# tanh. The sigmoid is ``1/2 + z/4 + O(z³)``: its slope at 0 is 1/4
# (:func:`hw2.init_study.expected_gain`), so every layer multiplies a small backward signal by at
# most 1/4, and its outputs have mean 1/2, so each pre-activation also carries the constant
# ``Σ w · 1/2``. Compensating the slope needs a standard deviation 1/slope = 4 times Glorot's;
# 2× and 8× bracket it.
print(pa.scale_table(data, [c for _, c in pa.sigmoid_gains(data)]))
print(pa.gains_text(data))

# %%
# The mechanism: a larger gain compensates the slope 1/4 on the way back (the gradient factor), but
# it also multiplies the constant ``Σ w · 1/2`` term, which pushes units into the flat tails (the
# saturated share), so rescaling the weights trades one problem for the other. What removes the
# cause is removing the mean: ``sigmoid(z) − 1/2 = tanh(z/2) / 2`` is a scaled tanh, for which
# Glorot's assumptions hold.
#
# Exactly zero gradients
# ----------------------
zero = [i for i, c in enumerate(cases) if data["summary"][c]["gradients_zero"]]
for i in zero:
    print(f"{labels[i]}: every weight gradient is exactly 0; loss {data['loss'][i]:.2f} "
          f"(−log of Keras' probability clip 1e−7 = {-np.log(1e-7):.2f})")

# %%
# When the activations explode, the logits are so large that the softmax outputs are 0 or 1 to float
# precision; Keras' cross-entropy clips probabilities to [10⁻⁷, 1 − 10⁻⁷], and a clipped
# probability has zero gradient: an exploding forward pass ends in a silent, vanishing gradient.
#
# The answer
# ----------
report.answer("2.1", pa.answer_21(data), result)
