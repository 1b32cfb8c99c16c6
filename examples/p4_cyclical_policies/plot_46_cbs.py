"""
4.6 Does a cyclical batch size at a fixed learning rate train as well?
======================================================================

*Train MiniGoogLeNet at the constant learning rate lr_min with a batch size that cycles between
bmin and bmax (from 4.5) along the exponential trajectory. Explain why an increasing (not a
decreasing) batch size is the analogue of learning-rate decay, and show the curves as in 4.3.*

Why an increasing batch size is the analogue of a decaying learning rate
------------------------------------------------------------------------
One SGD step with learning rate ``lr`` on a batch of ``B`` of the ``N`` training images moves the
weights by ``lr`` times the batch gradient, which is the full gradient plus noise of variance
roughly proportional to ``1 / B``. Over many steps the updates behave like gradient descent
plus a random walk whose temperature, the *noise scale*, is ``g = lr * N / B`` (Smith & Le 2018;
Smith, Kindermans, Ying & Le 2018, "Don't decay the learning rate, increase the batch size").
Decaying ``lr`` lowers ``g``, and so does *increasing* ``B``: both let the weights settle into a
minimum at the end of training. Decreasing ``B`` would raise the noise, the analogue of raising the
learning rate. The large batch additionally makes fewer, cheaper-per-image updates per epoch.

The policy
----------
:class:`hw2.schedules.CyclicalBatchSize` moves the batch size on a log2 scale, opposite to a
cyclical learning rate of the same shape: every cycle starts at bmax, halves the batch size step by
step down to bmin in its middle and doubles it back, so the batch size changes *exponentially*
(by powers of two) along the cycle. In ``exp_range`` mode the excursion towards bmin shrinks by
``gamma`` per epoch, so training ends at bmax, as the CLR of 4.3 ends at lr_min. The batch size
changes once per epoch (one compiled program per power of two).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, report
from hw2.experiments.p4_cyclical import lr_budget, setup_sentence
from hw2.plotting import new_figure, plot_policy_run

result = experiments.run("p4.cbs", fallback=True)
report.banner(result)
data = result.data
cfg = result.config
history = data["history"]
print(setup_sentence(data["setup"]))
print(f"constant lr = lr_min = {data['lr']:.3g}; batch size between bmin = {data['b_min']} "
      f"and bmax = {data['b_max']}")
print(f"step {cfg['step_epochs']} epochs, {cfg['cycles']} cycles = {data['epochs']} epochs; "
      f"gamma = {data['gamma']:.4f} per epoch; micro-batch {cfg['micro_batch']} (larger batches accumulate gradients)")
print("batch size per epoch:", " ".join(str(int(v)) for v in history["batch_size"]))

# %%
# Learning curves with the batch size beneath
# -------------------------------------------
epochs = np.arange(len(history["batch_size"]) + 1)
fig, axes = new_figure(nrows=3, height=2.1, sharex=True)
plot_policy_run(axes, history, epochs, np.append(history["batch_size"], history["batch_size"][-1]),
                "batch size", trace_step=True)
axes[0].set_title(f"CBS exp_range, lr {data['lr']:.2g}, batch {data['b_min']}–{data['b_max']}")
plt.show()

# %%
# Top: cross-entropy, middle: accuracy, bottom: the batch size of each epoch (log2 scale).
# Epochs at small batch sizes make many updates and move the weights; epochs at bmax make few.
updates = np.asarray(history["steps"])
lo, hi = data["test_accuracy_ci95"]
at_bmin = data["epochs"] * (data["setup"]["train_images"] // data["b_min"])
print(f"optimizer updates: {int(updates.sum())} in total (a constant batch of {data['b_min']} would make {at_bmin})")
print(f"validation accuracy: best {100 * data['best_val_accuracy']:.1f} % (epoch {data['best_val_epoch']}), "
      f"final {100 * data['final_val_accuracy']:.1f} %")
print(f"test accuracy {100 * data['test_accuracy']:.2f} % (95 % Wilson interval {100 * lo:.1f}–{100 * hi:.1f} %); "
      f"test loss {data['test_loss']:.3f}; training time {data['seconds']:.0f} s")

n_train = data["setup"]["train_images"]
noise = data["lr"] * n_train / np.asarray(history["batch_size"], dtype=float)
print(f"noise scale lr*N/B per epoch: from {noise.max():.3g} (batch {int(min(history['batch_size']))}) "
      f"to {noise.min():.3g} (batch {int(max(history['batch_size']))}); last epoch {noise[-1]:.3g}")
print(f"sum of the learning rates of all updates: {lr_budget(data):.3g} (how far SGD can move the weights)")

# %%
# The number of updates is what the cyclical batch size trades: at the same learning rate and the
# same number of epochs, every epoch spent at a large batch is an epoch of fewer, less noisy steps.
# The printed noise scale falls as the batch size settles at bmax, as it does when a cyclical
# learning rate settles at lr_min. The sum of the learning rates over all updates bounds how far
# the weights can travel; 4.7 compares it across the three policies.
report.answer(
    "4.6",
    f"CBS exp_range between {data['b_min']} and {data['b_max']} at lr {data['lr']:.2g} ({data['epochs']} epochs, "
    f"{int(updates.sum())} updates): test accuracy {100 * data['test_accuracy']:.1f} % (95 % CI "
    f"{100 * lo:.1f}–{100 * hi:.1f} %), best validation {100 * data['best_val_accuracy']:.1f} %. Increasing the "
    f"batch size lowers the noise scale lr·N/B as decaying the LR does.",
    result,
)
