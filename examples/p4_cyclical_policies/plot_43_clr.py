"""
4.3 Does a cyclical learning rate with exponential decay train MiniGoogLeNet well?
==================================================================================

*Train MiniGoogLeNet at batch size 64 with a cyclical learning rate in ``exp_range`` mode between
the lr_min and lr_max found in 4.2. State the step size and the number of cycles, plot the training
and validation loss and accuracy with the learning rate beneath (like the pyimagesearch article's
Figure 4), and report the final test accuracy.*

The schedule is :class:`hw2.schedules.CyclicalLearningRate` (Smith 2017). With ``t`` the
iteration and ``s`` the step size (half a cycle)::

    cycle = floor(1 + t / (2 s));  x = |t / s - 2 cycle + 1|
    lr(t) = lr_min + (lr_max - lr_min) * max(0, 1 - x) * gamma ** t

The article used a step of 8 epochs and 3 cycles (48 epochs). ``gamma`` is chosen so that the
amplitude has shrunk to 10 % of its start at the last iteration; at the full specification that is
``gamma = 0.99994``, the value of the reference Keras CLR implementation.
"""

# %%
import matplotlib.pyplot as plt

from hw2 import experiments, report
from hw2.experiments.p4_cyclical import setup_sentence
from hw2.plotting import new_figure, plot_policy_run

result = experiments.run("p4.clr", fallback=True)
report.banner(result)
data = result.data
cfg = result.config
print(setup_sentence(data["setup"]))
print(f"lr_min = {data['lr_min']:.3g}, lr_max = {data['lr_max']:.3g} (from 4.2, finder seed {cfg['finder_seed']})")
print(f"batch size {cfg['batch_size']}: {data['iterations_per_epoch']} iterations per epoch")
print(f"step size {cfg['step_epochs']} epochs = {data['step_iterations']} iterations; {cfg['cycles']} cycles "
      f"of {2 * cfg['step_epochs']} epochs = {data['epochs']} epochs; gamma = {data['gamma']:.6f} per iteration "
      f"(amplitude x {cfg['final_amplitude']:g} by the end)")

# %%
# Learning curves with the learning rate beneath
# ----------------------------------------------
history = data["history"]
fig, axes = new_figure(nrows=3, height=2.1, sharex=True)
plot_policy_run(axes, history, data["lr_trace_iteration"] / data["iterations_per_epoch"], data["lr_trace"],
                "learning rate")
axes[0].set_title(f"CLR exp_range, step {cfg['step_epochs']} epochs, {cfg['cycles']} cycles")
plt.show()

# %%
# Top: training and validation cross-entropy per epoch; middle: accuracy; bottom: the learning
# rate at every iteration (log scale). Each cycle climbs from lr_min to lr_max and back; the
# exponential factor lowers every later peak, so training ends near lr_min.
h = history
step = cfg["step_epochs"]
print("validation loss at the learning-rate peak vs at the end of each cycle:")
for c in range(cfg["cycles"]):
    peak, end = (2 * c + 1) * step, (2 * c + 2) * step  # 1-based epochs
    if end <= len(h["val_loss"]):
        print(f"  cycle {c + 1}: epoch {peak}: {h['val_loss'][peak - 1]:.3f}   "
              f"epoch {end}: {h['val_loss'][end - 1]:.3f}")
lo, hi = data["test_accuracy_ci95"]
print(f"final training loss {h['loss'][-1]:.3f}, accuracy {100 * h['accuracy'][-1]:.1f} %")
print(f"validation accuracy: best {100 * data['best_val_accuracy']:.1f} % (epoch {data['best_val_epoch']}), "
      f"final {100 * data['final_val_accuracy']:.1f} %")
print(f"test accuracy {100 * data['test_accuracy']:.2f} % (95 % Wilson interval {100 * lo:.1f}–{100 * hi:.1f} %, "
      f"{data['test_images']} test images); test loss {data['test_loss']:.3f}")
print(f"training time {data['seconds']:.0f} s" + (" (diverged)" if data["diverged"] else ""))

# %%
# The cycle table compares the validation loss when the learning rate is at its peak (middle of a
# cycle) with the loss at the end of the cycle, when the rate is back at lr_min: the cyclical
# policy expects the high rates to move the weights far and the low rates to settle them. The test
# accuracy is measured once, after the last epoch.
report.answer(
    "4.3",
    f"CLR exp_range between {data['lr_min']:.2g} and {data['lr_max']:.2g} (step {cfg['step_epochs']} epochs, "
    f"{cfg['cycles']} cycles = {data['epochs']} epochs, gamma {data['gamma']:.5f}/iteration): test accuracy "
    f"{100 * data['test_accuracy']:.1f} % (95 % CI {100 * lo:.1f}–{100 * hi:.1f} %), best validation accuracy "
    f"{100 * data['best_val_accuracy']:.1f} % at epoch {data['best_val_epoch']}.",
    result,
)
