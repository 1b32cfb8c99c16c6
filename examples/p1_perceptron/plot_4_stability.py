"""
1.4 Which loss is more stable across training sets?
===================================================

*Question.* If we draw a different training set of 20 points, how much does the learned classifier
change? We measure it three ways over the experiment's independent training sets: the spread of
the accuracy on new data, the spread of the learned direction (angle to the true normal
``(1, −1)``), and how often two models trained on different sets disagree on the same new point
(mean pairwise disagreement over all pairs of training sets).
"""

# %%
import matplotlib.pyplot as plt

from hw2 import experiments, plotting, report
from hw2.experiments import p1_analysis

result = experiments.run("p1.perceptron", fallback=True)
report.banner(result)
data, config = result.data, result.config
print(p1_analysis.setup_line(data, config, run=None))

# %%
# Three measures of stability
# ---------------------------
# All three over the training sets at the configured setting; the accuracy and the disagreement are
# measured on the fresh sample, i.e. on new data.
print(p1_analysis.stability_table(data))

# %%
fig, axes = plotting.new_figure(ncols=2, height=3.3)
plotting.plot_p1_tilts(axes[0], data)
plotting.plot_p1_grid(axes[1], data, "disagreement", "pairwise disagreement (%)")
axes[1].set_title("prediction instability on new data")
handles = [h for ax in axes for h in ax.get_legend_handles_labels()[0]]
fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8)
plt.show()

# %%
# Left: the distribution of the learned separator's tilt (0° = the true diagonal) over the training
# sets at the configured setting. Right: the mean pairwise disagreement on new data at every
# (learning rate, epochs) of the grid. Fewer disagreements = a classifier that depends less on
# which 20 points it happened to see.
#
# Is the difference beyond the noise?
# -----------------------------------
# The mean pairwise disagreement averages over pairs of training sets, and both losses train on the
# same sets, so the comparison is paired; a mean over pairs has twice the standard error of a plain
# mean of per-set values (:func:`hw2.experiments.p1_analysis.disagreement_difference`).
print(p1_analysis.stability_reading(data))

# %%
# Why: the perceptron criterion accepts any separator of the sample and stops at the first one it
# reaches, wherever in the gap between the classes that is; the hinge loss keeps moving its line
# until every training point is beyond the margin, which ties the line to the points closest to it
# on both sides. The margins it ends with, over the same training sets:
print(p1_analysis.margin_reading(data))
print(p1_analysis.least_stable(data))
report.answer("1.4", p1_analysis.answer_1_4(data), result)
