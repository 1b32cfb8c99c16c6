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
# experiment version, and computes it otherwise. The banner says which, and where the numbers come
# from. Weights start at zero; at a zero margin the loss counts as active, which makes the update
# exactly Rosenblatt's rule ``w ← w + lr·y·x`` on every mistake (see :mod:`hw2.perceptron`).
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, perceptron, plotting, report, stats

result = experiments.run("p1.perceptron", fallback=True)
report.banner(result)
data, config = result.data, result.config

# %%
# One training set, one test set
# ------------------------------
# Training set number 0 of the experiment, trained for ``epochs`` passes at the configured
# learning rate (for the perceptron criterion from zero weights the learning rate only scales ``w``
# and changes nothing else).
acc = data["summary"]["single_set_accuracy"]["perceptron"]
n_test = len(data["y_test"])
low, high = stats.wilson_interval(round(acc * n_test), n_test)
print(f"training points: {len(data['example_y_train'])}, test points: {n_test}, "
      f"lr = {config['lr']}, epochs = {config['epochs']}")
print(f"perceptron criterion: test accuracy {acc:.1%} (95% Wilson interval {low:.1%} – {high:.1%})")
print(f"learned w = {np.round(data['weights']['perceptron'][0], 3)}")

# %%
fig, ax = plotting.new_figure(height=5.2)
plotting.plot_separators(ax, data["example_x_train"], data["example_y_train"],
                         {"perceptron criterion": data["weights"]["perceptron"][0]}, x_test=data["x_test"],
                         title=f"Perceptron criterion: test accuracy {acc:.1%}")
plt.show()

# %%
# The dashed diagonal is the true boundary ``x1 = x2`` (it passes through the origin, so a model
# without bias can represent it); the solid line is the learned separator, and the test points that
# fall between the two lines are its errors. The perceptron criterion is zero as soon as every
# training point is on the right side, so training stops at the first separating direction it
# reaches, wherever that is inside the gap between the two classes. On this training set:
w0 = data["weights"]["perceptron"][:1]
train_acc = float((perceptron.predict(w0, data["example_x_train"])[0] == data["example_y_train"]).mean())
print(f"training accuracy of the learned line: {train_acc:.0%} of {len(data['example_y_train'])} points")
report.answer("1.1", f"Perceptron criterion (a = 0): {acc:.1%} test accuracy on the 1000 test points "
                     f"(95% CI {low:.1%}–{high:.1%}; one training set of 20 points).", result)
