"""
1.2 Hinge loss (a = 1): test accuracy
=====================================

*Question.* Train the same bias-free linear model with the hinge loss ``max(0, 1 − y·w·x)`` on the
same 20 training points and report its accuracy on the same 1000 test points.
"""

# %%
import matplotlib.pyplot as plt

from hw2 import experiments, plotting, report
from hw2.experiments import p1_analysis

result = experiments.run("p1.perceptron", fallback=True)
report.banner(result)
data, config = result.data, result.config
print(p1_analysis.setup_line(data, config))

# %%
# Both models on the same training set and the same test set
# ----------------------------------------------------------
for loss in ("hinge", "perceptron"):
    print(p1_analysis.single_set_line(data, loss))
    print(p1_analysis.training_fit(data, loss))

# %%
weights = {f"{p1_analysis.LABELS[loss]} (a={margin:g})": data["weights"][loss][0]
           for loss, margin in (("perceptron", 0), ("hinge", 1))}
fig, ax = plotting.new_figure(height=4.0)
plotting.plot_separators(ax, data["example_x_train"], data["example_y_train"], weights,
                         x_test=data["x_test"])
plt.show()

# %%
# The two learned lines on training set 0 next to the true diagonal; the test points between a
# learned line and the diagonal are that model's errors.
#
# Why the two lines differ
# ------------------------
# The perceptron criterion is zero once every training point is on the right side of the line, so
# it stops at the first separating line it reaches. The hinge loss keeps updating while any
# training point has ``y·w·x ≤ 1``, i.e. lies closer than ``1/|w|`` to the line, and stops only
# when none does (a fixed point: the line never changes again). Both runs on this training set, and
# then all training sets of the experiment, measured by the distance of the closest training point
# to the learned line (the margin):
print(p1_analysis.margin_reading(data, run=0))
print(p1_analysis.margin_reading(data))

# %%
# A run stops moving only at a fixed point; how many epochs the hinge needs to get there depends on
# the learning rate, and page 1.3 measures what training longer buys.
#
# Is the difference on this training set real?
# --------------------------------------------
# Both models are scored on the *same* test points, so the right comparison is paired: only the
# points on which the two disagree carry information. McNemar's exact test asks whether those
# discordant points split evenly (:func:`hw2.stats.mcnemar`).
print(p1_analysis.mcnemar_reading(data["summary"]["single_set_mcnemar"]))

# %%
# The paired test is much sharper than comparing the two Wilson intervals above: most test points
# are classified alike by both lines and cancel out. It answers a question about *this* training
# set only. Another draw of 20 training points gives other lines; the per-set differences over
# every training set of the experiment say how often the order changes (part 1.3 asks whether the
# difference is systematic):
print(p1_analysis.order_reading(data))
report.answer("1.2", p1_analysis.answer_1_2(data), result)
