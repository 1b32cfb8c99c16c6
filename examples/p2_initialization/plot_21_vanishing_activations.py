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
``he_normal``). The N(0, σ) cases of one activation share the same random draws, scaled by σ.
Gradients are those of the cross-entropy loss with respect to each hidden layer's kernel, on one
batch of test images, as the backend computes them for training.
"""

# %%
import numpy as np

from hw2 import experiments, plotting, report

result = experiments.run("p2.init", fallback=True)
report.banner(result)
data, config = result.data, result.config
cases, labels = list(data["cases"]), list(data["labels"])
n_layers = data["activation_std"].shape[1]
act_std, grad_std = data["activation_std"], data["gradient_std"]
signal_std = data["activation_signal_std"]
saturated = data["activation_saturated"]
print(f"{config['n_images']} test images, gradient batch of {config['gradient_batch_size']}, "
      f"{n_layers} hidden layers of {config['units']} units")

# %%
# Per-layer scale of the activations and of the gradients
# --------------------------------------------------------
# The standard deviation of each hidden layer's activations (over all images and units) and of the
# gradient of the loss with respect to its kernel (over all weights), and the ratio last / first
# hidden layer: far below 1 means the signal shrinks with depth, far above 1 that it grows.
header = ("case", *[f"act L{i + 1}" for i in range(n_layers)], "act L5/L1",
          *[f"grad L{i + 1}" for i in range(n_layers)], "grad L5/L1")
print(("{:<26}" + "{:>11}" * (len(header) - 1)).format(*header))
for i, label in enumerate(labels):
    a_ratio = act_std[i, -1] / act_std[i, 0] if act_std[i, 0] > 0 else float("nan")
    g_ratio = grad_std[i, -1] / grad_std[i, 0] if grad_std[i, 0] > 0 else float("nan")
    row = [*act_std[i], a_ratio, *grad_std[i], g_ratio]
    print(f"{label:<26}" + "".join(f"{v:>11.2e}" for v in row))

# %%
# The same numbers as curves: activation and gradient scale per layer, one line per case
# (log scale; a horizontal line keeps the scale, a falling line vanishes).
fig, axes = plotting.new_figure(ncols=2, height=3.6)
styles = {"tanh": "-", "sigmoid": "--", "relu": ":"}
for i, (case, label) in enumerate(zip(cases, labels)):
    style = styles[case.split("/")[0]]
    color = plotting.PALETTE[i % len(plotting.PALETTE)]
    layers = np.arange(1, n_layers + 1)
    axes[0].plot(layers, act_std[i], style, marker="o", markersize=3, color=color, label=label)
    positive = grad_std[i] > 0
    axes[1].plot(layers[positive], grad_std[i][positive], style, marker="o", markersize=3, color=color)
axes[0].set(yscale="log", xlabel="hidden layer", ylabel="std of activations", title="activations")
axes[1].set(yscale="log", xlabel="hidden layer", ylabel="std of dLoss/dW", title="weight gradients")
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=7)

# %%
# Left: activations. Small σ makes each layer a contraction, so the scale falls by the same factor
# every layer; large σ with tanh or sigmoid pins the scale at the saturation value. Right: weight
# gradients, whose behaviour is different — see the discussion below.
#
# Violin plots per layer, as in the article
# -----------------------------------------
# Each row is one case; left the distribution of the activations of every hidden layer, right the
# distribution of the entries of that layer's kernel gradient. Each violin has its own scale on the
# vertical axis of its row, so compare shapes and the axis exponents.


def violins(activation):
    rows = [i for i, case in enumerate(cases) if case.startswith(activation + "/")]
    fig, axes = plotting.new_figure(ncols=2, nrows=len(rows), height=1.9, sharex=True)
    for r, i in enumerate(rows):
        plotting.plot_layer_violins(axes[r, 0], data["activation_samples"][i], title=f"{labels[i]}: activations",
                                    color=plotting.PALETTE[0])
        plotting.plot_layer_violins(axes[r, 1], data["gradient_samples"][i], title=f"{labels[i]}: dLoss/dW",
                                    color=plotting.PALETTE[3])
        for ax in axes[r]:
            ax.set_xlabel("hidden layer" if r == len(rows) - 1 else "")
    return fig


violins("tanh")

# %%
# tanh. With σ = 0.01 every layer multiplies the scale by about σ·√100 = 0.1 (tanh is linear near
# zero): the violins shrink to a needle. With σ = 1 the pre-activations are large and most outputs
# sit at ±1 — the two bulges at the ends. Glorot normal keeps a broad, similar shape in every layer.
violins("sigmoid")

# %%
# sigmoid. The output is centred on 0.5, not 0: small σ collapses every layer to ≈ 0.5 (the
# violins are thin lines at 0.5), large σ pushes outputs to 0 and 1. The gradients grow towards the
# output: each sigmoid multiplies the backward signal by its slope, at most 1/4.
violins("relu")

# %%
# ReLU. Half of the outputs are exactly zero (the flat foot of each violin). With N(0, σ) the scale
# grows or shrinks geometrically with depth; with He normal it stays put.
#
# Reading the numbers
# -------------------
# For a layer with ``n`` inputs and weights of variance ``Var(w)``, the pre-activation variance is
# ``n · Var(w) · E[a²]`` of the previous layer. tanh is the identity near 0, so keeping the
# variance needs ``n · Var(w) ≈ 1``; Glorot's ``Var(w) = 2 / (n_in + n_out)`` is exactly ``1/n``
# for square layers, and it balances the backward pass (which scales with ``n_out``) too. ReLU
# zeroes half of its inputs, so ``E[a²]`` is half the pre-activation variance: keeping the variance
# needs ``n · Var(w) · 1/2 = 1``, i.e. ``Var(w) = 2 / n`` — He's factor 2. With Glorot the same
# network loses a factor 2 of variance per layer, √2 of standard deviation.


def idx(case):
    return cases.index(case) if case in cases else None


def ratio(values, i):
    return values[i, -1] / values[i, 0] if values[i, 0] > 0 else float("nan")


def per_layer(values, i):
    return ratio(values, i) ** (1 / (n_layers - 1))


tanh_glorot = idx("tanh/glorot_normal")
if tanh_glorot is not None:
    print(f"tanh + Glorot: std factor per layer {per_layer(act_std, tanh_glorot):.3f} (1 if tanh were linear; "
          f"it is slightly contracting away from 0)")
relu_glorot, relu_he = idx("relu/glorot_normal"), idx("relu/he_normal")
if relu_glorot is not None and relu_he is not None:
    print(f"\nReLU + Glorot: measured std factor per layer {per_layer(act_std, relu_glorot):.3f} "
          f"(theory 1/√2 = {1 / np.sqrt(2):.3f}); ReLU + He: {per_layer(act_std, relu_he):.3f} (theory 1).")

# %%
# Vanishing gradients: which layer's gradient is small?
# ------------------------------------------------------
# A kernel's gradient is (the layer's input activations) × (the backward signal at its output),
# and going back one layer multiplies the backward signal by the transposed weights (a factor of
# about σ·√100 in scale) and by the activation's slope at every unit: 1 for active ReLUs, at most
# 1/4 for sigmoid, nearly 0 for saturated tanh. So the gradient can vanish towards the input (the
# classic picture: the first layers barely learn), explode towards it, or shrink uniformly — in the
# small-σ network both factors shrink geometrically in opposite directions and every layer's weight
# gradient ends up equally tiny. Each case, classified from the measured numbers (activations:
# "vanish" below ×0.5 per layer, "explode" above ×2, "saturate" when over half the units are
# saturated; gradients: "vanish towards the input" when layer 1's is under a tenth of layer 5's,
# "explode towards the input" when over ten times). The activation verdict uses the
# *input-dependent* spread — each unit's standard deviation over the images — because a layer can
# keep a large overall spread while carrying no information about the image: small-σ sigmoid
# units all sit near 0.5, each at a slightly different constant.


def activation_verdict(i):
    if saturated[i, -1] > 0.5 and not cases[i].startswith("relu"):
        return "saturate"
    factor = per_layer(signal_std, i)
    return "vanish" if factor < 0.5 else "explode" if factor > 2 else "keep their scale"


def gradient_verdict(i):
    if np.all(grad_std[i] == 0):
        return "exactly zero"
    r = ratio(grad_std, i)
    if r > 10:
        return "vanish towards the input"
    if r < 0.1:
        return "explode towards the input"
    return "similar in every layer"


verdicts = {}
for i, label in enumerate(labels):
    verdicts[cases[i]] = (activation_verdict(i), gradient_verdict(i))
    print(f"{label:<26} activations {verdicts[cases[i]][0]:<17} (×{per_layer(signal_std, i):.3g} per layer);  "
          f"weight gradients {verdicts[cases[i]][1]} (L5/L1 = {ratio(grad_std, i):.3g}, median "
          f"{np.median(grad_std[i]):.1e})")
zero_grad = [labels[i] for i, c in enumerate(cases) if verdicts[c][1] == "exactly zero"]
if zero_grad:
    print(f"\nexactly zero gradients in: {', '.join(zero_grad)}; their loss: "
          + ", ".join(f"{data['loss'][labels.index(z)]:.2f}" for z in zero_grad)
          + f" (−log of Keras' probability clip 1e−7 is {-np.log(1e-7):.2f})")

# %%
# When every gradient is exactly zero, the logits are so large that the softmax outputs are 0 or 1
# to float precision; Keras' cross-entropy clips probabilities to [10⁻⁷, 1 − 10⁻⁷], and a clipped
# probability has zero gradient — the loss above sits near −log(10⁻⁷) times the fraction of wrong
# answers. An exploding forward pass thus ends in a silent, vanishing gradient.
#
# The answer
# ----------


def describe(case):
    i = idx(case)
    if i is None:
        return None
    act, grad = verdicts[case]
    return f"{labels[i]}: activations {act} (×{per_layer(signal_std, i):.2g}/layer), gradients {grad}"


described = [d for d in (describe(c) for c in ("tanh/normal(0.01)", "tanh/normal(1)", "sigmoid/normal(0.01)",
                                               "sigmoid/glorot_normal", "tanh/glorot_normal")) if d]
answer = "; ".join(described)
if relu_glorot is not None and relu_he is not None:
    answer += (f"; Glorot keeps tanh's variance because n·Var(w) = 1, but ReLU halves it: with Glorot its activations "
               f"shrink ×{per_layer(act_std, relu_glorot):.2f}/layer, with He (Var(w) = 2/n) "
               f"×{per_layer(act_std, relu_he):.2f}")
report.answer("2.1", answer + ".", result)
