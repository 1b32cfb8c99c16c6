"""
3.1 Co-adaptation and internal covariate shift
==============================================

*Question.* Explain co-adaptation and internal covariate shift, the two problems dropout and batch
normalization were introduced to address, and illustrate internal covariate shift with a
measurement: how does the distribution of a hidden layer's inputs drift over training steps,
without batch normalization and with it?
"""

# %%
# Co-adaptation
# -------------
# In a network trained by back-propagation every hidden unit adapts to the *current* behaviour of
# the other units. Units can then *co-adapt*: a unit becomes useful only in combination with a few
# specific others, and together they encode a fragile conjunction that fits idiosyncrasies of the
# training set rather than a feature that is useful on its own (Hinton et al. 2012; Srivastava et
# al. 2014). Co-adapted units generalize badly: a small change of the input that breaks one unit of
# the conjunction breaks the whole detector. Dropout attacks this directly: every training step
# removes each unit with probability ``p``, so no unit can rely on any particular partner being
# present and each has to carry information that is useful in many contexts. At test time all units
# are kept (Keras' inverted dropout scales the kept activations by ``1/(1-p)`` during training, so
# no rescaling is needed at test time). Training with dropout can be read as training an
# exponentially large ensemble of thinned networks that share weights.
#
# Internal covariate shift
# ------------------------
# *Covariate shift* is a change in the input distribution of a learning system. Inside a deep
# network every layer is such a system, and its inputs are the outputs of the layers below it,
# whose parameters change at every step. Ioffe & Szegedy (2015) call the change of the
# distribution of a layer's inputs caused by updates of the earlier layers *internal covariate
# shift*: each layer keeps chasing a moving target, which forces small learning rates and careful
# initialization, and pushes saturating nonlinearities such as tanh into their flat regions.
# Batch normalization standardizes each unit's input over the mini-batch and then applies a
# learned scale ``γ`` and shift ``β``: ``BN(z) = γ (z − μ_B)/σ_B + β``. The first two moments of
# what the nonlinearity sees are then set by two parameters per unit that change slowly, instead
# of by all the weights below. (Later work — Santurkar et al. 2018 — argues that BN helps mainly by
# making the loss surface smoother rather than by removing the shift; the measurement below only
# shows how much the distribution moves.)
#
# The measurement
# ---------------
# In every run of the study a probe feeds the same validation images through the network at
# log-spaced training steps and records, per unit of the second hidden dense layer (``fc2``, 84
# units), the distribution of the input to its tanh: ``z = W x + b`` without BN, and
# ``BN(z)`` computed with the probe batch's own statistics — exactly what the nonlinearity receives
# in training — with BN (:class:`hw2.covariate_shift.DriftProbe`). We compare the plain baseline
# with the variant that has BN in every hidden layer (3.2); both train on the same data order.
import numpy as np

from hw2 import experiments, plotting, report
from hw2.experiments import p3_lenet

result = experiments.run("p3.lenet", fallback=True)
report.banner(result)
data, setup = result.data, result.data["setup"]
variants = data["variants"]
names = p3_lenet.labels(variants)
print(f"{setup['n_train']} training images, {setup['epochs']} epochs of "
      f"{variants['baseline']['steps_per_epoch']} steps (batch {setup['batch_size']}), "
      f"{setup['optimizer']}, seeds {setup['seeds']}")
drift = {name: variants[name]["drift"] for name in ("baseline", "bn_hidden")}
steps = drift["baseline"]["steps"]
print(f"probe: {drift['baseline']['mean'].shape[-1]} units of {setup['drift_layer']}, "
      f"{len(steps)} checkpoints from step {steps[0]} to {steps[-1]}")

# %%
# One unit, seed by seed
# ----------------------
# Ioffe & Szegedy's figure 1: the 15th, 50th and 85th percentiles of one unit's input over
# training. We show the unit whose drift (range of its mean over training, in its own sds) is the
# median among the 84 units of the baseline, for the first seed.
seed_index = 0
base_mean, base_std = drift["baseline"]["mean"][seed_index], drift["baseline"]["std"][seed_index]
unit_drift = (base_mean.max(axis=0) - base_mean.min(axis=0)) / base_std.mean(axis=0)
unit = int(np.argsort(unit_drift)[len(unit_drift) // 2])
fig, axes = plotting.new_figure(ncols=2, height=3.2, sharey=True)
for ax, name in zip(axes, ("baseline", "bn_hidden")):
    plotting.plot_input_drift(ax, steps, drift[name]["percentiles"][seed_index], unit, names[name],
                              plotting.P3_COLORS[name])
    ax.set_title(f"{names[name]}: unit {unit} of {setup['drift_layer']}")
    ax.legend(fontsize=7, loc="lower left")

# %%
# Left: without BN, the input of this tanh unit widens and its centre moves as the weights below
# it change. Right: with BN the same unit's input stays standardized: its median is ``β`` and its
# 15–85 % band is about ``±|γ|``, and ``γ``, ``β`` themselves move only slowly.
#
# All units, all seeds
# --------------------
# Two numbers per unit, then the median over the 84 units: how far the unit's mean wanders over
# training, in units of its average sd, and the ratio of its largest to its smallest sd over the
# checkpoints (1 = constant spread). Mean ± sd over seeds, and the paired ratio baseline / BN.
table = p3_lenet.drift_table(variants)
for key, what in (("mean_range_over_std", "range of the mean / sd"), ("std_ratio", "max sd / min sd")):
    b, n = table["baseline"][key], table["bn_hidden"][key]
    ratio = b / n
    print(f"{what:>24}: baseline {b.mean():.3f} ± {b.std(ddof=1):.3f}   BN hidden {n.mean():.3f} ± "
          f"{n.std(ddof=1):.3f}   baseline / BN per seed: {np.round(ratio, 2)}")

fig, ax = plotting.new_figure(height=3.2)
for name in ("baseline", "bn_hidden"):
    stds = drift[name]["std"]  # (seeds, checkpoints, units)
    relative = np.median(stds / stds[:, -1:, :], axis=2)
    plotting.plot_mean_band(ax, np.where(steps == 0, 0.5, steps), relative, names[name],
                            plotting.P3_COLORS[name])
ax.set(xscale="log", xlabel="training step (log; 0 drawn at 0.5)",
       ylabel="sd / final sd (median over units)", title="spread of the tanh inputs of fc2 over training")
ax.axhline(1.0, color="0.4", linewidth=0.8, linestyle="--")
ax.legend(fontsize=8)

# %%
# The spread of every unit's input relative to its final value (median over units; band = ± sd
# over seeds). Without BN the spread keeps changing throughout training, so the layer above sees a
# moving input distribution; with BN it is pinned at ``|γ|``, which starts at 1 and moves little.
b_range, n_range = table["baseline"]["mean_range_over_std"], table["bn_hidden"]["mean_range_over_std"]
b_ratio, n_ratio = table["baseline"]["std_ratio"], table["bn_hidden"]["std_ratio"]
report.answer(
    "3.1",
    f"Co-adaptation: units that are only useful together (dropout breaks them up); internal covariate "
    f"shift: a layer's input distribution moves as earlier layers learn. Measured on the fc2 tanh "
    f"inputs over {steps[-1]} steps ({len(b_range)} seeds): without BN a unit's mean wanders "
    f"{b_range.mean():.2f} ± {b_range.std(ddof=1):.2f} of its sd and its sd changes {b_ratio.mean():.2f}× "
    f"(median unit); with BN {n_range.mean():.2f} ± {n_range.std(ddof=1):.2f} sd and "
    f"{n_ratio.mean():.2f}×.", result)
