"""
1.3 Which loss is better, and why?
==================================

*Question.* Which of the two losses gives the better classifier, and why? One training set answers
that for that training set only (page 1.2: another set of 20 points can reverse the order), so we
repeat the experiment on many independent training sets of 20 points (1000 at the full
specification) -- both losses on the same sets, in the same example order -- and compare the
accuracies pairwise.
"""

# %%
import matplotlib.pyplot as plt

from hw2 import experiments, plotting, report
from hw2.experiments import p1_analysis

result = experiments.run("p1.perceptron", fallback=True)
report.banner(result)
data, config = result.data, result.config

# %%
# Accuracy over independent training sets
# ---------------------------------------
# Every training set trains both losses at the configured learning rate and number of epochs. Each
# trained line is scored twice: on the homework's fixed test set, and on a large fresh sample drawn
# from the same distribution by a separate random stream (independent of the training sets, the
# test set and the example orders).
print(p1_analysis.setup_line(data, config, run=None))
print(p1_analysis.accuracy_table(data))
print(p1_analysis.difference_line(data, "test"))
print(p1_analysis.difference_line(data, "fresh"))

# %%
# Two intervals, two questions. Every run is scored on the *same* fixed test points, so an interval
# over training sets on them is about those points: their own luck is shared by every run and no
# number of training sets averages it out. The fresh sample stands in for new data, which is what
# "the better classifier" means, so its interval is the answer:
print(p1_analysis.shared_test_luck(data))
print(p1_analysis.verdict(data, config))

# %%
fig, axes = plotting.new_figure(ncols=2, height=3.3)
plotting.plot_p1_accuracies(axes, data)
handles = [h for ax in axes for h in ax.get_legend_handles_labels()[0]]
fig.legend(handles=handles, loc="outside lower center", ncol=4, fontsize=8)
plt.show()

# %%
# Left: the accuracy on new data of every training set's line, per loss; both have a long tail of
# unlucky training sets (20 points can leave a wide empty band around the diagonal). Right: the
# paired difference on each training set, which removes the luck of the draw that both losses
# share; the verdict above is the 95 % interval of its mean.
#
# It depends on how long the hinge loss is trained
# ------------------------------------------------
# From zero weights the perceptron criterion's learning rate only scales ``w``, and it stops as soon
# as the training set is separated. The hinge loss wants ``y·w·x ≥ 1``; with learning rate ``lr``
# that is the same dynamics as ``lr = 1`` with margin ``1/lr``: a small learning rate asks for a
# *large* margin, which takes more updates to reach. The experiment measures every pair of the grid:
fig, axes = plotting.new_figure(ncols=2, height=3.2)
plotting.plot_p1_grid(axes[0], data, "fresh_accuracy_mean", "mean accuracy on new data (%)")
plotting.plot_p1_grid(axes[1], data, "converged", "runs at a fixed point (%)")
axes[0].set_title("accuracy vs training length")
axes[1].set_title("converged runs")
fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=4, fontsize=8)
plt.show()

# %%
# Left: mean accuracy on new data for every (learning rate, epochs) pair; dotted = perceptron
# criterion, solid = hinge. Right: the share of runs in which a whole epoch made no update (a fixed
# point of SGD). One dotted line for the perceptron:
print(p1_analysis.perceptron_lr_reading(data))

# %%
# Which loss wins where is decided per setting by the paired difference on new data and its 95 %
# interval (``*``: the interval excludes 0; rows: learning rate, columns: epochs):
print(p1_analysis.difference_table(data))
print(p1_analysis.wins_text(data))

# %%
# Does the answer depend on where the grid stops?
# -----------------------------------------------
# The best hinge setting, and for each edge of the grid it sits on, what the last row or column
# bought: the paired difference between the best setting and the best one without that edge
# (:func:`hw2.experiments.p1_analysis.edge_check`).
print(p1_analysis.edge_text(data))

# %%
# What longer training changes
# ----------------------------
# The hinge at the configured learning rate along the epochs of the grid: accuracy on new data,
# runs at a fixed point, and the mean over training sets of ``|w|`` and of the margin (distance of
# the closest training point to the line).
print(p1_analysis.training_length_table(data, lr=config["lr"]))
print(p1_analysis.growth_reading(data, config["lr"]))
print(p1_analysis.training_length_reading(data, config))

# %%
# Until a run reaches a fixed point, each epoch can still move its line; at the fixed point ``|w|``
# and the line stop changing for good. The same after the grid's longest training, for every
# learning rate:
print(p1_analysis.training_length_table(data))

# %%
# Why
# ---
# Both losses are zero only when every training point is classified correctly, so both end at a
# separating line. The perceptron criterion is satisfied by *any* separator and stops at the first
# one it reaches. The hinge loss also demands ``y·w·x > 1`` of every training point, so points close
# to the line keep pushing it away until each is farther than ``1/|w|``. Measured at the configured
# setting, over all training sets, paired:
print(p1_analysis.margin_reading(data))
print(p1_analysis.angle_reading(data))
report.answer("1.3", p1_analysis.answer_1_3(data, config), result)
