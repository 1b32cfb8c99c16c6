"""
1.2 Hinge loss (a = 1): test accuracy
=====================================

*Question.* Train the same bias-free linear model with the hinge loss ``max(0, 1 − y·w·x)`` on the
same 20 training points and report its accuracy on the same 1000 test points.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, plotting, report, stats

result = experiments.run("p1.perceptron", fallback=True)
report.banner(result)
data, config = result.data, result.config
n_test = len(data["y_test"])

# %%
# Both models on the same training set and the same test set
# ----------------------------------------------------------
rows = []
for name in data["losses"]:
    acc = data["summary"]["single_set_accuracy"][name]
    low, high = stats.wilson_interval(round(acc * n_test), n_test)
    w = data["weights"][name][0]
    rows.append((name, acc, low, high, w))
    print(f"{name:>10}: accuracy {acc:.1%} (95% CI {low:.1%}–{high:.1%}), w = {np.round(w, 2)}, "
          f"|w| = {np.linalg.norm(w):.2f}")

# %%
fig, ax = plotting.new_figure(height=5.2)
plotting.plot_separators(ax, data["example_x_train"], data["example_y_train"],
                         {"perceptron (a=0)": rows[0][4], "hinge (a=1)": rows[1][4]}, x_test=data["x_test"],
                         title="Both separators on training set 0")
plt.show()

# %%
# The two learned lines on training set 0 next to the true diagonal; the test points that fall
# between a learned line and the diagonal are that model's errors. The hinge loss keeps pushing
# until every training point is beyond a margin of 1 in units of ``w·x``, so it does not stop at the
# first separating line: points close to the boundary keep pulling the line towards the middle of
# the gap between the classes. Without regularization that margin is measured relative to ``|w|``:
# the longer training runs, the larger ``|w|`` and the smaller the geometric margin it actually
# enforces, which is why the training length matters (part 1.3).
#
# Is the difference on this training set real?
# --------------------------------------------
# Both models are scored on the *same* 1000 test points, so the right comparison is paired: only the
# points on which the two disagree carry information. McNemar's exact test asks whether those
# discordant points split evenly (:func:`hw2.stats.mcnemar`).
m = data["summary"]["single_set_mcnemar"]
print(f"test points right with both: {m['both']}, with neither: {m['neither']}; "
      f"hinge right where the perceptron is wrong: {m['only_a']}; perceptron right where the hinge is wrong: "
      f"{m['only_b']}; exact McNemar p = {m['p_value']:.2g}")
better = "hinge" if m["only_a"] > m["only_b"] else "perceptron criterion"
if m["p_value"] < 0.05:
    paired = (f"on this training set the {better} is better beyond the test-set noise: of the "
              f"{m['only_a'] + m['only_b']} test points on which the two disagree, the hinge gets "
              f"{m['only_a']} right and the perceptron {m['only_b']} (exact McNemar p = {m['p_value']:.2g})")
else:
    paired = (f"on this training set the difference is within the test-set noise: of the "
              f"{m['only_a'] + m['only_b']} test points on which the two disagree, the hinge gets {m['only_a']} "
              f"right and the perceptron {m['only_b']} (exact McNemar p = {m['p_value']:.2g})")
print(paired)

# %%
# The paired test is much sharper than comparing the two Wilson intervals above: most test points
# are classified alike by both lines and cancel out. It answers a question about *this* training
# set and these test points only. Another draw of 20 training points gives other lines; the per-set
# differences over every training set of the experiment say how much that changes (part 1.3 asks
# whether the difference is systematic).
diff = data["summary"]["hinge_minus_perceptron"]
delta = data["accuracy"]["hinge"] - data["accuracy"]["perceptron"]
print(f"hinge − perceptron on training set 0: {100 * delta[0]:+.1f} points; over all {diff['n']} training sets: "
      f"sd {100 * diff['sd_diff']:.1f} points, perceptron better on {diff['frac_b_better']:.0%}, tie on "
      f"{diff['frac_tie']:.0%}, hinge better on {diff['frac_a_better']:.0%}")
same_order = diff["frac_a_better"] if delta[0] > 0 else diff["frac_b_better"] if delta[0] < 0 else diff["frac_tie"]
print(f"another training set changes the result: the order seen on training set 0 holds on only "
      f"{same_order:.0%} of the training sets" if same_order < 1 else
      "the order seen on training set 0 holds on every training set")
hinge_acc, hinge_low, hinge_high = rows[1][1], rows[1][2], rows[1][3]
report.answer("1.2", f"Hinge loss (a = 1): {hinge_acc:.1%} test accuracy (95% CI {hinge_low:.1%}–"
                     f"{hinge_high:.1%}) on the same training and test sets (perceptron: {rows[0][1]:.1%}); "
                     f"paired on the same test points, the hinge fixes {m['only_a']} and breaks {m['only_b']} "
                     f"(exact McNemar p = {m['p_value']:.2g}).", result)
