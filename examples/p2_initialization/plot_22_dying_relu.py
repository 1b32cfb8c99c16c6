"""
2.2 How often does a deep, narrow ReLU network collapse to a constant?
======================================================================

*Question.* Lu, Shin, Su and Karniadakis ("Dying ReLU and Initialization: Theory and Numerical
Examples", 2019) train a ReLU network of width 2 and depth 10 on a 1-D function and report that it
collapses to a constant function in over 90 % of the runs. Repeat the experiment: 1000 independent
simulations, each with its own 3000 training points drawn uniformly in [−√7, √7], its own He-normal
initialization (zero biases) and its own minibatch order, target f(x) = ``|x|``, mean-squared error,
Adam, minibatches of 64. What fraction collapses, and how does it compare with theirs?

**Setup and conventions.** *Depth* counts weight layers, as in Lu et al. (an "L-layer" network has
L − 1 hidden layers): depth 10 is ``1 → 2 → … → 2 → 1`` with nine hidden ReLU layers of width 2
and a linear output. (Reading "10 layers" as ten hidden layers is depth 11; page 2.4 shows every
depth from 2 to 12.) Adam uses Keras' defaults (learning rate 10⁻³); we found no other setting in
the paper's text available to us. A network has *collapsed* when the spread (max − min) of its
output over 1001 evenly spaced points of the domain is at most a tolerance times the spread of the
target there; it is *dead* when some hidden layer has every unit inactive (pre-activation ≤ 0) at
every point, which for ReLU makes the output exactly constant; it is *born dead* when that holds
already at initialization.

**How long to train.** The paper gives no number of epochs, so the networks train until their
collapse count stops changing: they are checked after epochs 1, 2, 5, 10, 20 and then at a fixed
spacing, and training stops once, in each arm, at most a few networks changed status within a
window of recent epochs (the rule's numbers are printed below; experiment ``p2.dying_relu_long``,
2.3's Leaky ReLU networks train alongside). The same simulations trained for 50 epochs with a
third arm (``p2.dying_relu``) supply the Monte-Carlo born-dead probability and the example
functions.

All networks train as one Keras computation (:class:`hw2.dying_relu.DyingReluEnsemble`): each
network's weights are a slice of ``(1000, fan_in, fan_out)`` tensors, the loss is the sum of the
1000 independent losses, and Keras' Adam is elementwise, so each network gets exactly the update it
would get alone — the test suite checks this against plain ``keras.Sequential`` models.
"""

# %%
import matplotlib.pyplot as plt

from hw2 import experiments, plotting, report
from hw2.experiments import p2_analysis as pa

result = experiments.run("p2.dying_relu_long", fallback=True)
short = experiments.run("p2.dying_relu", fallback=True)
report.banner(result, short)
data, config, summary = result.data, result.config, result.data["summary"]
arm, S = data["per_arm"]["relu"], config["n_simulations"]
print(f"{S} simulations, depth {config['depth']} (weight layers), width {config['width']}, "
      f"{config['n_points']} points each, batch {config['batch_size']}, Adam (lr "
      f"{config['learning_rate']:g}), collapse tolerance {config['tolerance']:g} × target spread")

# %%
# How long to train
# -----------------
print(pa.convergence_text(data, config))
print(pa.count_table(data))
agree = pa.snapshot_agreement(arm, short.data["per_arm"]["relu"])
print(f"\nafter epoch {config['snapshot_epoch']}: same status as the "
      f"{short.config['epochs']}-epoch run for {agree['same']} of {agree['n']} networks "
      f"({agree['long']} vs {agree['short']} collapsed)")

# %%
# The table gives the collapsed share at a few checkpoints and how many networks changed status
# since the row before. The last line compares the run with the separate 50-epoch run of the same
# simulations (same data, initial weights and batch orders), after the same number of epochs.
fig, axes = plotting.new_figure(ncols=2, height=3.2)
plotting.plot_collapse_history(axes, data, [pa.ARM_LABELS[a] for a in data["arms"]])
plt.show()

# %%
# Left: the collapsed share of both arms at every checkpoint (log time axis). Right: the training
# loss over the simulations (median, band from the 10th to the 90th percentile); ``Var(|x|)`` is the
# loss of the best constant, where collapsed networks end.
#
# The fraction that collapses
# ---------------------------
print(pa.collapse_text(data, short.data))

# %%
# Why so many are born dead (the share is printed below): with zero biases a ReLU network is
# positively homogeneous, so for x > 0 each hidden unit of the first layer is on with probability
# 1/2, and, as long as the previous layer passes any signal, each unit of the next layer is on with
# probability 1/2 independently (symmetric weights). A width-2 layer shuts off with probability
# 1/4, and the signal for x > 0 survives nine hidden layers with probability (3/4)⁹. A network is
# born dead when the signals of both signs die; the bound above counts one sign only. A network
# that dies in training (counted below) stays dead: a dead layer passes no gradient to anything
# before it, so nothing can undo it.
print(pa.birth_text(arm))

# %%
# Collapsed at epoch 0 is not the same as born dead
# -------------------------------------------------
# The table's epoch-0 share and the born-dead share use different tests: *collapsed* tests the
# output (spread at most the tolerance times that of ``|x|``), *born dead* the hidden layers (one
# of them off for every input). A born-dead network is exactly constant, so it is also collapsed;
# a network whose layers are all alive somewhere can still have an output spread below the
# tolerance. Counted per network:
print(pa.constant_at_init_text(arm, config["tolerance"]))

# %%
# Those networks make the difference between the two shares at epoch 0: alive, but with an output
# that varies by less than the tolerance over the domain. (With zero biases the output is ``c₊·x``
# for x > 0 and ``c₋·|x|`` for x < 0, so a product of small weights along the surviving path is
# enough.)
#
# What the networks compute
# -------------------------
i_relu = short.data["arms"].index("relu")
shown = short.data["example_indices"][i_relu]
fig, ax = plotting.new_figure(height=3.4)
plotting.plot_network_functions(
    ax, short.data["example_grid"], short.data["example_outputs"][i_relu],
    short.data["example_target"], short.data["per_arm"]["relu"]["collapsed"][shown],
    title=f"ReLU simulations {', '.join(map(str, shown))} after {short.config['epochs']} epochs")
plt.show()

# %%
# The first few simulations that did *not* collapse, next to collapsed ones (dashed): flat at a
# value that the output layer's bias learned. The mean-squared error of a constant is smallest at
# the mean of the target; the converged networks:
print(pa.constant_text(data))

# %%
# Does the answer depend on the tolerance?
# ----------------------------------------
print(pa.relu_tolerance_text(data, config["depth"]))

# %%
# A dead ReLU network is exactly constant, not nearly so, which is why the tolerance moves the ReLU
# share by no more than the range printed above.
#
# The answer
# ----------
report.answer("2.2", pa.answer_22(data, config), result)
