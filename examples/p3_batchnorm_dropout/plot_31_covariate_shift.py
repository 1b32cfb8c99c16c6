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
# distribution of ``z = W x + b`` and, with BN, also of ``BN(z)`` computed with the probe batch's
# own statistics — exactly what the tanh receives in training
# (:class:`hw2.covariate_shift.DriftProbe`). We compare the plain baseline with the variant that
# has BN in every hidden layer (3.2); both train on the same data order and stop by the same rule.
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, plotting, report
from hw2.experiments import p3_analysis

result = experiments.run("p3.lenet", fallback=True)
report.banner(result)
variants = result.data["variants"]
compared = {name: variants[name] for name in ("baseline", "bn_hidden")}
print(p3_analysis.convergence_report(compared, result.data["setup"]))
print(p3_analysis.probe_text(result.data))

# %%
# One unit, seed by seed
# ----------------------
# Ioffe & Szegedy's figure 1: the 15th, 50th and 85th percentiles of one unit's input over
# training. We show the unit whose drift (range of its mean over training, in its own sds) is the
# median among the 84 units of the baseline, for the first seed; the same unit index in the BN
# model, before and after its normalization.
drift = {name: variants[name]["drift"] for name in ("baseline", "bn_hidden")}
steps = drift["baseline"]["steps"]
unit = p3_analysis.typical_unit(drift["baseline"]["mean"][0], drift["baseline"]["std"][0])
fig, axes = plotting.new_figure(ncols=3, height=3.0, sharey=False)
for ax, (label, name, before) in zip(axes, p3_analysis.DRIFT_VIEWS):
    percentiles = drift[name]["pre_percentiles" if before else "percentiles"][0]
    plotting.plot_input_drift(
        ax,
        steps,
        percentiles,
        unit,
        label,
        plotting.P3_COLORS[name],
        ylabel="z" if "BN(z)" not in label else "BN(z)",
    )
    ax.set_title(label, fontsize=8)
plt.show()

# %%
# The line is the median over the probe images, the band their 15–85 % range, at each checkpoint.
# Left, without BN, the tanh input of this unit moves as the layers below learn. Middle, the same
# quantity ``z`` in the BN model moves too: BN does not stop the layers below from changing it.
# Right, what BN hands the tanh: standardized with the batch's own statistics, its median sits near
# ``β`` and its band spans about ``±|γ|`` by construction, so it can move only as fast as those two
# parameters learn.
#
# All units, all seeds
# --------------------
# Two numbers per unit, then the median over the 84 units: how far the unit's mean wanders over the
# probed steps, in units of its average sd, and the ratio of its largest to its smallest sd (1 =
# constant spread); mean ± sd over seeds, then each seed.
print(p3_analysis.drift_measures_table(variants))
headline = p3_analysis.drift_answer(variants)

# %%
# What these numbers can and cannot show
# --------------------------------------
# The drift *after* BN is small by construction: BN removes the first two moments of ``z`` batch by
# batch, and what is left moves only with ``γ`` and ``β``. So "BN has less drift after BN" says
# nothing by itself; the informative comparison is ``z`` *before* the normalization, in the same
# network: it shows how much shift the layers below still produce and BN absorbs. What the numbers
# cannot show is whether the shift *hurts*: they measure movement of a distribution, not its effect
# on learning (Santurkar et al. 2018 add noise after BN, recreating the shift, and BN still trains
# fast). Pages 3.2 and 3.3 measure the effect on accuracy.
fig, ax = plotting.new_figure(height=3.2)
for (label, name, before), style in zip(p3_analysis.DRIFT_VIEWS, ("-", "--", "-")):
    spread = p3_analysis.relative_spread({"std": drift[name]["pre_std" if before else "std"]})
    plotting.plot_mean_band(
        ax,
        np.where(steps == 0, 0.5, steps),
        spread,
        label,
        plotting.P3_COLORS[name],
        linestyle=style,
    )
ax.set(
    xscale="log",
    xlabel="training step (log; 0 drawn at 0.5)",
    ylabel="sd / final sd (median over units)",
    title="spread of fc2's inputs over training",
)
ax.axhline(1.0, color="0.4", linewidth=0.8, linestyle=":")
ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
plt.show()

# %%
# Each unit's sd relative to its value at the last checkpoint, median over the 84 units (line: mean
# over seeds; band: ± sd over seeds). A flat line at 1 means the tanh sees inputs of a constant
# spread.
report.answer(
    "3.1",
    "Co-adaptation: units that work only together (dropout breaks them up). Internal covariate "
    f"shift: a layer's inputs move as earlier layers learn; fc2's unit means moved {headline['text']}.",
    result,
)
