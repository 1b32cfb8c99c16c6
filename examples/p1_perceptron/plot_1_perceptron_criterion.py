"""
1.1 Perceptron criterion (a = 0): test accuracy
===============================================

*Question.* Train a bias-free linear model with the perceptron criterion ``max(0, −y·w·x)`` on
20 points uniform in the unit square (label ``+1`` iff ``x1 > x2``) and report its accuracy on
1000 test points drawn the same way.
"""

# %%
# The experiment
# --------------
# :func:`hw2.experiments.run` returns the stored result when one exists for this profile, config and
# experiment version, and computes it otherwise; the banner says which, and where the numbers come
# from. Weights start at zero; at a zero margin the loss counts as active, which makes the update
# exactly Rosenblatt's rule ``w ← w + lr·y·x`` on every mistake (see :mod:`hw2.perceptron`).
import matplotlib.pyplot as plt

from hw2 import experiments, plotting, report
from hw2.experiments import p1_analysis

result = experiments.run("p1.perceptron", fallback=True)
report.banner(result)
data, config = result.data, result.config
print(p1_analysis.setup_line(data, config))

# %%
# One training set, one test set
# ------------------------------
# Training set 0 of the experiment, trained as printed above, then scored on the test set (from
# zero weights the perceptron criterion's learning rate only scales ``w`` and changes nothing else):
print(p1_analysis.single_set_line(data, "perceptron"))
print(p1_analysis.training_fit(data, "perceptron"))

# %%
w = data["weights"]["perceptron"][0]
fig, ax = plotting.new_figure(height=4.0)
plotting.plot_separators(ax, data["example_x_train"], data["example_y_train"],
                         {"perceptron criterion": w}, x_test=data["x_test"])
plt.show()

# %%
# The dashed diagonal is the true boundary ``x1 = x2`` (it passes through the origin, so a model
# without bias can represent it); the solid line is the learned separator, and the test points
# between the two lines are its errors. The perceptron criterion is zero as soon as every training
# point is on the right side, so training stops at the first separating line it reaches (a fixed
# point: a whole epoch without an update), wherever that line lies inside the gap between the two
# classes.
#
# What the interval is about
# --------------------------
# The Wilson interval is about this one trained line: where its accuracy on new points lies, given
# the test points it was scored on. The experiment also scores the same line on a large fresh
# sample from the same distribution, which measures that accuracy directly:
print(p1_analysis.single_set_reading(data, "perceptron"))
report.answer("1.1", p1_analysis.answer_1_1(data), result)
