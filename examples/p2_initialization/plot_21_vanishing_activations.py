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
at 0 is 1/4 rather than Glorot's assumed 1.
Gradients are those of the cross-entropy loss with respect to each hidden layer's kernel, on one
batch of test images, as the backend computes them for training.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, init_study, plotting, report

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


def idx(case):
    return cases.index(case) if case in cases else None


def ratio(values, i):
    return values[i, -1] / values[i, 0] if values[i, 0] > 0 else float("nan")


# %%
# Per-layer scale of the activations and of the gradients
# --------------------------------------------------------
# The standard deviation of each hidden layer's activations (over all images and units) and of the
# gradient of the loss with respect to its kernel (over all weights), and the ratio last / first
# hidden layer: far below 1 means the signal shrinks with depth, far above 1 that it grows.
header = ("case", *[f"act L{i + 1}" for i in range(n_layers)], "act L5/L1",
          *[f"grad L{i + 1}" for i in range(n_layers)], "grad L5/L1")
print(("{:<28}" + "{:>11}" * (len(header) - 1)).format(*header))
for i, label in enumerate(labels):
    row = [*act_std[i], ratio(act_std, i), *grad_std[i], ratio(grad_std, i)]
    print(f"{label:<28}" + "".join(f"{v:>11.2e}" for v in row))

# %%
# The same numbers as curves: activation and gradient scale per layer, one line per case
# (log scale; a horizontal line keeps the scale, a falling line shrinks with depth).
fig, axes = plotting.new_figure(ncols=2, height=3.8)
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
plt.show()

# %%
# Left: the activations' scale layer by layer; right: the weight gradients' (solid tanh, dashed
# sigmoid, dotted ReLU; cases with exactly zero gradients have no line on the right). A straight
# line on these log axes is a constant factor per layer — the measure used to classify every case
# below.
#
# Violin plots per layer, as in the article
# -----------------------------------------
# Each row is one case; left the distribution of the activations of every hidden layer, right the
# distribution of the entries of that layer's kernel gradient. Each panel has its own vertical
# scale (the power of ten is in its axis label), so compare shapes and the axis units.


def violins(rows_cases):
    rows = [idx(c) for c in rows_cases if idx(c) is not None]
    fig, axes = plotting.new_figure(ncols=2, nrows=len(rows), height=1.9, sharex=True, squeeze=False)
    for r, i in enumerate(rows):
        plotting.plot_layer_violins(axes[r, 0], data["activation_samples"][i], title=f"{labels[i]}: activations",
                                    ylabel="activation", color=plotting.PALETTE[0])
        plotting.plot_layer_violins(axes[r, 1], data["gradient_samples"][i], title=f"{labels[i]}: dLoss/dW",
                                    ylabel="dLoss/dW", color=plotting.PALETTE[3])
        for ax in axes[r]:
            ax.set_xlabel("hidden layer" if r == len(rows) - 1 else "")
    return fig


def factors(activation):
    """Measured per-layer factors of every case of ``activation`` (printed below each violin figure)."""
    for i, case in enumerate(cases):
        if case.startswith(activation + "/"):
            c = init_study.classify(signal_std[i], grad_std[i])
            print(f"{labels[i]:<28} activation spread ×{c['activation_factor']:.3g}/layer, weight gradient "
                  f"×{c['gradient_factor']:.3g}/layer, saturated{' or zero' if activation == 'relu' else ''} in "
                  f"layer 5: {saturated[i, -1]:.0%}")


violins([c for c in cases if c.startswith("tanh/")])
plt.show()

# %%
# tanh: with σ = 0.01 the violins shrink to a needle layer by layer; with σ = 1 most outputs sit at
# ±1 (the two bulges at the ends of each violin); Glorot normal keeps a broad, similar shape in every
# layer. The measured factors per layer (the activations' input-dependent spread and the weight
# gradients' std, see the classification below); for tanh, which is the identity near 0, theory
# predicts a factor σ·√100 for small σ:
factors("tanh")
i_small = idx("tanh/normal(0.01)")
if i_small is not None:
    print(f"theory for N(0, 0.01) in the linear regime: σ·√units = {0.01 * np.sqrt(config['units']):.3g}")

# %%
violins([c for c in ("sigmoid/normal(0.01)", "sigmoid/normal(0.1)", "sigmoid/normal(1)",
                     "sigmoid/glorot_normal", "sigmoid/glorot_normal(4)") if c in cases])
plt.show()

# %%
# sigmoid: every activation violin is centred near 0.5, not 0. Small σ collapses each layer to a
# thin line at 0.5, large σ pushes outputs to 0 and 1, and in every row the gradient violins widen
# towards the output layer. Measured factors:
factors("sigmoid")

# %%
violins([c for c in cases if c.startswith("relu/")])
plt.show()

# %%
# ReLU: a share of each layer's outputs is exactly zero (the flat foot of each violin; the printed
# share below). With N(0, σ) the scale changes geometrically with depth. Measured factors:
factors("relu")

# %%
# Reading the numbers
# -------------------
# For a layer with ``n`` inputs and weights of variance ``Var(w)``, the pre-activation variance is
# ``n · Var(w) · E[a²]`` of the previous layer. tanh is the identity near 0, so keeping the
# variance needs ``n · Var(w) ≈ 1``; Glorot's ``Var(w) = 2 / (n_in + n_out)`` is exactly ``1/n``
# for square layers, and it balances the backward pass (which scales with ``n_out``) too. ReLU
# zeroes half of its inputs, so ``E[a²]`` is half the pre-activation variance: keeping the variance
# needs ``n · Var(w) · 1/2 = 1``, i.e. ``Var(w) = 2 / n`` — He's factor 2. With Glorot the same
# network should lose a factor 2 of variance per layer, √2 of standard deviation. Measured (overall
# activation std per layer):


def per_layer(values, i):
    return init_study.per_layer_factor(values[i])


tanh_glorot = idx("tanh/glorot_normal")
if tanh_glorot is not None:
    print(f"tanh + Glorot: std factor per layer {per_layer(act_std, tanh_glorot):.3f} (theory 1 for a linear unit)")
relu_glorot, relu_he = idx("relu/glorot_normal"), idx("relu/he_normal")
if relu_glorot is not None and relu_he is not None:
    print(f"ReLU + Glorot: std factor per layer {per_layer(act_std, relu_glorot):.3f} "
          f"(theory 1/√2 = {1 / np.sqrt(2):.3f}); ReLU + He: {per_layer(act_std, relu_he):.3f} (theory 1)")

# %%
# Why Glorot does not rescue sigmoid
# ----------------------------------
# Glorot's derivation assumes units that are linear around a zero mean with slope 1 — true for
# tanh. The sigmoid is ``1/2 + z/4 + O(z³)``: its slope at 0 is 1/4
# (:func:`hw2.init_study.expected_gain`), so every layer multiplies a small backward signal by at
# most 1/4, and its outputs have mean 1/2, so each pre-activation also carries the constant
# ``Σ w · 1/2``, a term that does not depend on the image. Compensating the slope needs a standard
# deviation 1/slope = 4 times Glorot's, which is the arm "4 × Glorot normal"; 2× and 8× bracket it.
sig = {c: i for i, c in enumerate(cases) if c.startswith("sigmoid/")}
g_ratio = {c: ratio(grad_std, i) for c, i in sig.items()}
for c, i in sig.items():
    # Share of E[a²] that is the mean: the part of the next pre-activation that does not depend on the image.
    mean_share = data["activation_mean"][i] ** 2 / (data["activation_mean"][i] ** 2 + act_std[i] ** 2)
    print(f"{labels[i]:<28} gradient L5/L1 = {g_ratio[c]:9.3g}; mean² / E[a²] per layer: "
          + " ".join(f"{v:.2f}" for v in mean_share))
sig_glorot, sig_small = "sigmoid/glorot_normal", "sigmoid/normal(0.1)"
verdicts_tanh = init_study.classify(signal_std[idx("tanh/glorot_normal")], grad_std[idx("tanh/glorot_normal")]) \
    if "tanh/glorot_normal" in cases else None
findings = []
if sig_glorot in sig and sig_small in sig:
    relation = "worse than" if g_ratio[sig_glorot] > g_ratio[sig_small] else "better than"
    sig_glorot_keeps = init_study.classify(signal_std[sig[sig_glorot]], grad_std[sig[sig_glorot]])["keeps_scale"]
    findings.append(f"with Glorot normal the gradient of hidden layer 5 is {g_ratio[sig_glorot]:.0f}× that of layer 1, "
                    f"{relation} N(0, 0.1) ({g_ratio[sig_small]:.0f}×): Glorot "
                    f"{'keeps sigmoid' if sig_glorot_keeps else 'does not rescue sigmoid'}")
gains = sorted((init_study.parse_case(c)[2], c) for c in sig
               if init_study.parse_case(c)[1] == "glorot_normal" and init_study.parse_case(c)[2] is not None)
if gains:
    findings.append("scaling Glorot's standard deviation by " + ", ".join(
        f"{g:g} gives {g_ratio[c]:.3g}×" for g, c in gains))
    findings.append("saturated share of layer 5 with gain " + ", ".join(
        f"{g:g}: {saturated[sig[c], -1]:.0%}" for g, c in [(1.0, sig_glorot)] + gains if c in sig))
    shrink = [g for g, c in gains if init_study.per_layer_factor(signal_std[sig[c]]) < 1]
    findings.append(f"the input-dependent spread shrinks layer by layer with {len(shrink)} of the {len(gains)} gains")
    kept = [g for g, c in gains if init_study.classify(signal_std[sig[c]], grad_std[sig[c]])["keeps_scale"]]
    keep_text = ("gains " + ", ".join(f"{g:g}" for g in kept) + " keep") if kept else "none of these gains keeps"
    findings.append(f"{keep_text} both scales within ×{init_study.SCALE_THRESHOLD:.3g} per layer")
if "tanh/glorot_normal" in cases:
    findings.append(f"tanh with Glorot normal: {verdicts_tanh['verdict']}")
print("\n" + ";\n".join(findings) + ".")

# %%
# The mechanism behind the printed numbers: a larger gain compensates the slope 1/4 on the way back,
# which flattens the gradient profile, but it also multiplies the constant ``Σ w · 1/2`` term — the
# share ``mean² / E[a²]`` printed per layer is the part of the next pre-activation's second moment
# that is the same for every image — and that term pushes units off the steep middle of the
# sigmoid towards saturation, where the slope is far below 1/4. Rescaling the weights trades one
# problem for the other. What removes the cause is removing the mean: ``sigmoid(z) − 1/2 =
# tanh(z/2) / 2`` is a scaled tanh, for which Glorot's assumptions hold (its verdict is printed
# above and in the classification below). For a sigmoid network that means centring its outputs
# (or normalizing its layers), not only rescaling its weights.
#
# Vanishing gradients: one measure, one threshold
# -----------------------------------------------
# Every case is classified by :func:`hw2.init_study.classify` from one measure — the per-layer factor
# ``(layer 5 / layer 1)^(1/4)`` of a scale — applied to the forward pass (the *input-dependent*
# spread of the activations: each unit's std over the images, averaged over units, because a layer
# can keep a large overall spread while carrying no information about the image, as small-σ sigmoid
# units that each sit at a slightly different constant near 0.5) and to the backward pass (the std
# of the weight gradients). A case *keeps its scale* when both factors lie within one threshold
# ``[1/T, T]``; otherwise the verdict names the factor farther from 1. T is set before looking at the
# cases, halfway (on a log scale) between He's theoretical factor 1 for ReLU and the 1/√2 that
# Glorot's variance gives ReLU.
print(f"threshold T = {init_study.SCALE_THRESHOLD:.4f} per layer (×{init_study.SCALE_THRESHOLD ** (n_layers - 1):.2f} "
      f"over the {n_layers} hidden layers)")
verdicts = {}
for i, label in enumerate(labels):
    c = init_study.classify(signal_std[i], grad_std[i])
    verdicts[cases[i]] = c
    print(f"{label:<28} {c['verdict']:<37} activations ×{c['activation_factor']:.3g}/layer, "
          f"gradients ×{c['gradient_factor']:.3g}/layer (L5/L1 = {ratio(grad_std, i):.3g}, median std "
          f"{np.median(grad_std[i]):.1e})")
keeps = [labels[i] for i, c in enumerate(cases) if verdicts[c]["keeps_scale"]]
print(f"\nkeep their scale: {', '.join(keeps) if keeps else 'none'}")
zero_grad = [labels[i] for i, c in enumerate(cases) if verdicts[c]["verdict"] == "gradients exactly zero"]
if zero_grad:
    print(f"exactly zero gradients in: {', '.join(zero_grad)}; their loss: "
          + ", ".join(f"{data['loss'][labels.index(z)]:.2f}" for z in zero_grad)
          + f" (−log of Keras' probability clip 1e−7 is {-np.log(1e-7):.2f})")

# %%
# A kernel's gradient is (the layer's input activations) × (the backward signal at its output), and
# going back one layer multiplies the backward signal by the transposed weights and by the
# activation's slope at every unit: 1 for active ReLUs, at most 1/4 for sigmoid, nearly 0 for
# saturated tanh. In the small-σ networks the two factors shrink in opposite directions, so the
# weight gradients can look equally sized in every layer while being tiny (the median std printed
# above) — which is why the forward factor is part of the measure. When every gradient is exactly
# zero, the logits are so large that the softmax outputs are 0 or 1 to float precision; Keras'
# cross-entropy clips probabilities to [10⁻⁷, 1 − 10⁻⁷], and a clipped probability has zero
# gradient: an exploding forward pass ends in a silent, vanishing gradient.
#
# The answer
# ----------


def describe(case):
    i = idx(case)
    if i is None:
        return None
    c = verdicts[case]
    return (f"{labels[i]}: {c['verdict']} (activations ×{c['activation_factor']:.2g}/layer, "
            f"gradients ×{c['gradient_factor']:.2g}/layer)")


described = [d for d in (describe(c) for c in ("tanh/normal(0.01)", "tanh/normal(1)", "tanh/glorot_normal",
                                               "sigmoid/normal(0.01)", "sigmoid/glorot_normal",
                                               "sigmoid/glorot_normal(4)", "relu/glorot_normal", "relu/he_normal"))
             if d]
answer = (f"One measure (per-layer factor of the activations' spread and of the weight gradients), one threshold "
          f"(×{init_study.SCALE_THRESHOLD:.3g}/layer): " + "; ".join(described))
if sig_glorot in sig and sig_small in sig:
    tanh_text = "fixes tanh" if verdicts["tanh/glorot_normal"]["keeps_scale"] else "does not fix tanh"
    sig_text = "and sigmoid" if sig_glorot_keeps else "but not sigmoid"
    answer += (f". Glorot {tanh_text} {sig_text} (sigmoid gradient L5/L1 {g_ratio[sig_glorot]:.0f} vs "
               f"{g_ratio[sig_small]:.0f} for N(0, 0.1); its slope is 1/4 and its mean 1/2, Glorot assumes 1 and 0)")
    if "sigmoid/glorot_normal(4)" in sig:
        answer += f"; 4 × Glorot brings the ratio to {g_ratio['sigmoid/glorot_normal(4)']:.3g}"
if relu_glorot is not None and relu_he is not None:
    answer += (f". ReLU halves the variance: with Glorot its activations shrink ×{per_layer(act_std, relu_glorot):.2f}"
               f"/layer, with He (Var(w) = 2/n) ×{per_layer(act_std, relu_he):.2f}")
report.answer("2.1", answer + ".", result)
