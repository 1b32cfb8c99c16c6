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
# log-spaced training steps over the first epochs (which every run reaches before early stopping
# can end it) and records, per unit of the second hidden dense layer (``fc2``, 84 units), the
# distribution of the input to its tanh: ``z = W x + b`` without BN, and ``BN(z)`` computed with
# the probe batch's own statistics — exactly what the nonlinearity receives in training — with BN
# (:class:`hw2.covariate_shift.DriftProbe`). We compare the plain baseline with the variant that has
# BN in every hidden layer (3.2); both train on the same data order and stop by the same rule.
import matplotlib.pyplot as plt
import numpy as np

from hw2 import covariate_shift, experiments, plotting, report
from hw2.experiments import p3_analysis

result = experiments.run("p3.lenet", fallback=True)
report.banner(result)
setup = result.data["setup"]
variants = result.data["variants"]
names = p3_analysis.labels(variants)
compared = ("baseline", "bn_hidden")
print(p3_analysis.convergence_report({name: variants[name] for name in compared}, setup))
drift = {name: variants[name]["drift"] for name in compared}
steps = drift["baseline"]["steps"]
steps_per_epoch = variants["baseline"]["steps_per_epoch"]
print(f"{setup['n_train']} training images, {steps_per_epoch} steps per epoch (batch {setup['batch_size']}), "
      f"{setup['optimizer']}, seeds {setup['seeds']}")
print(f"probe: {drift['baseline']['mean'].shape[-1]} units of {setup['drift_layer']}, {len(steps)} checkpoints "
      f"from step {steps[0]} to {steps[-1]}, over the first {setup['probe_epochs']} epoch"
      f"{'s' if setup['probe_epochs'] > 1 else ''} (every run trains at least that long)")

# %%
# One unit, seed by seed
# ----------------------
# Ioffe & Szegedy's figure 1: the 15th, 50th and 85th percentiles of one unit's input over
# training. We show the unit whose drift (range of its mean over training, in its own sds) is the
# median among the 84 units of the baseline, for the first seed.
seed_index = 0
unit = p3_analysis.typical_unit(drift["baseline"]["mean"][seed_index], drift["baseline"]["std"][seed_index])
fig, axes = plotting.new_figure(ncols=2, height=3.2, sharey=True)
for ax, name in zip(axes, compared):
    plotting.plot_input_drift(ax, steps, drift[name]["percentiles"][seed_index], unit, names[name],
                              plotting.P3_COLORS[name])
    ax.set_title(f"{names[name]}: unit {unit} of {setup['drift_layer']}", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
plt.show()

# %%
# The line is the median of the unit's tanh input over the probe images, the band its 15–85 % range,
# at each checkpoint; left without BN, right with BN. With BN the probe standardizes with the batch's
# own statistics, so by construction the median sits near ``β`` and the band spans about ``±|γ|``:
# the band can move only as fast as those two parameters learn. How much this unit's distribution
# moved in each model, in the two measures used for all units below:
for name in compared:
    one_unit = covariate_shift.drift_summary(drift[name]["mean"][seed_index][:, [unit]],
                                             drift[name]["std"][seed_index][:, [unit]])
    print(f"{names[name]:>28}: unit {unit}'s mean moved {one_unit['mean_range_over_std']:.3f} of its sd; "
          f"its largest sd is {one_unit['std_ratio']:.3f}× its smallest")

# %%
# All units, all seeds
# --------------------
# Two numbers per unit, then the median over the 84 units: how far the unit's mean wanders over
# training, in units of its average sd, and the ratio of its largest to its smallest sd over the
# checkpoints (1 = constant spread). Mean ± sd over seeds, and the ratio baseline / BN (geometric
# mean over seeds, with the Student-t 95 % interval of the paired log ratio).
drift_per_seed = p3_analysis.drift_table(variants)
for key, what in p3_analysis.DRIFT_MEASURES.items():
    base, bn = drift_per_seed["baseline"][key], drift_per_seed["bn_hidden"][key]
    print(f"{what:>24}: baseline {base.mean():.3f} ± {base.std(ddof=1):.3f}   BN hidden {bn.mean():.3f} ± "
          f"{bn.std(ddof=1):.3f}   baseline / BN per seed: {np.round(base / bn, 2)}")
drift_verdicts = p3_analysis.drift_reading(drift_per_seed)
for reading in drift_verdicts.values():
    print(reading["text"])

# %%
spread = {name: p3_analysis.relative_spread(drift[name]) for name in compared}
fig, ax = plotting.new_figure(height=3.2)
for name in compared:
    plotting.plot_mean_band(ax, np.where(steps == 0, 0.5, steps), spread[name], names[name], plotting.P3_COLORS[name])
ax.set(xscale="log", xlabel="training step (log; 0 drawn at 0.5)",
       ylabel="sd / final sd (median over units)", title="spread of the tanh inputs of fc2 over training")
ax.axhline(1.0, color="0.4", linewidth=0.8, linestyle="--")
ax.legend(fontsize=8)
plt.show()

# %%
# Each unit's input sd relative to its value at the last checkpoint, median over the 84 units
# (line: mean over seeds; band: ± sd over seeds). A flat line at 1 means the layer above sees
# inputs of a constant spread. The range each curve covers over the probed steps:
for name in compared:
    curve = spread[name].mean(axis=0)
    print(f"{names[name]:>28}: sd / final sd from {curve.min():.3f} to {curve.max():.3f} "
          f"(at step {steps[int(np.argmin(curve))]} and {steps[int(np.argmax(curve))]})")
base_range = drift_per_seed["baseline"]["mean_range_over_std"]
bn_range = drift_per_seed["bn_hidden"]["mean_range_over_std"]
base_ratio, bn_ratio = drift_per_seed["baseline"]["std_ratio"], drift_per_seed["bn_hidden"]["std_ratio"]
mean_drift, spread_drift = drift_verdicts["mean_range_over_std"], drift_verdicts["std_ratio"]
report.answer(
    "3.1",
    f"Co-adaptation: units that are only useful together (dropout breaks them up); internal covariate "
    f"shift: a layer's input distribution moves as earlier layers learn. Measured on the fc2 tanh inputs "
    f"over the first {steps[-1]} steps ({len(base_range)} seeds): without BN a unit's mean wanders "
    f"{base_range.mean():.2f} ± {base_range.std(ddof=1):.2f} of its sd and its sd changes {base_ratio.mean():.2f}× "
    f"(median unit); with BN {bn_range.mean():.2f} ± {bn_range.std(ddof=1):.2f} sd and {bn_ratio.mean():.2f}×. "
    f"Without / with BN: mean drift {mean_drift['ratio']:.3g}× (95% CI {mean_drift['ratio_low']:.3g}–"
    f"{mean_drift['ratio_high']:.3g}×), sd change {spread_drift['ratio']:.3g}× (95% CI "
    f"{spread_drift['ratio_low']:.3g}–{spread_drift['ratio_high']:.3g}×).", result)
