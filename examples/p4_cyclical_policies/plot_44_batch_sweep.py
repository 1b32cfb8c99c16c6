"""
4.4 How does the training loss depend on the batch size at a fixed learning rate?
=================================================================================

*Fix the learning rate at lr_min from 4.2 and train MiniGoogLeNet for 5 epochs at each batch size
64, 128, ..., 8192 (powers of two), using gradient accumulation where a batch does not fit. Plot
the training loss against the batch size and put it beside 4.2's curve: is the shape similar?*

:func:`hw2.sweeps.batch_size_sweep` trains every batch size from the same initial weights and in
the same data order for the same number of epochs, so a batch twice as large makes half as many
updates. Batch sizes above the micro-batch are effective batches: Keras averages the gradients of
``B / micro-batch`` micro-batches before one update (``gradient_accumulation_steps``). For a network
with batch normalization that is not exactly one step on the large batch: each micro-batch is
normalized with its own statistics ("ghost batches").
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, report
from hw2.experiments.p4_cyclical import setup_sentence, shape_similarity
from hw2.plotting import P4_COLORS, PALETTE, mark_values, new_figure, plot_loss_curve

batch_result = experiments.run("p4.batch_sweep", fallback=True)
report.banner(batch_result)
sweep_result = experiments.run("p4.lr_sweep", fallback=True)
report.banner(sweep_result)
bs, lr = batch_result.data, sweep_result.data
b = bs["sweep"]
micro = batch_result.config["micro_batch"]
print(setup_sentence(bs["setup"]))
print(f"learning rate fixed at lr_min = {bs['lr']:.3g}; {b['epochs']} epochs per batch size; micro-batch {micro}")

# %%
# Loss and updates per batch size
# -------------------------------
print(f"{'batch':>6} {'updates':>8} {'accum':>6} {'final loss':>11}  status")
for size, steps, loss, bad in zip(b["batch_sizes"], b["steps"], bs["final_losses"], b["diverged"]):
    accum = size // micro if size > micro else 1
    print(f"{size:>6} {steps:>8} {accum:>6} {loss:>11.4f}  {'diverged' if bad else 'ok'}")
print(f"training-mode loss of the untrained network (4.2's loss at its smallest LR): {bs['reference_loss']:.4f}")

# %%
# Every row had the same number of epochs; ``updates`` is the number of optimizer steps that
# bought, ``accum`` the number of micro-batches per update.
#
# Why the two curves can be compared at all
# -----------------------------------------
# With ``N`` training images, one epoch at batch ``B`` makes ``N / B`` updates of size about ``lr``
# times a gradient, and the gradient noise of those updates has the scale ``g = lr N / B`` (Smith &
# Le 2018). Both the distance travelled per epoch and the noise depend on ``lr / B`` only, so
# batch ``B`` at learning rate ``lr`` should behave like 4.2's batch ``b0`` (64 in the homework) at
# the *equivalent* rate ``lr * b0 / B``. The batch-size curve is then not just similar in shape to
# 4.2's curve: it should be a piece of it. The left panel tests exactly that by placing each
# batch-size run at its equivalent learning rate on 4.2's curve.
sim = shape_similarity(lr, bs)
b0 = lr["sweep"]["batch_size"]
fig, (ax_lr, ax_b) = new_figure(ncols=2, height=3.4)
plot_loss_curve(ax_lr, lr["sweep"]["learning_rates"], lr["final_losses"], lr["sweep"]["diverged"],
                label=f"4.2: batch {lr['sweep']['batch_size']}, lr varied")
ax_lr.scatter(sim["equivalent_lr"], sim["batch_losses"], marker="s", s=40, color=PALETTE[2], zorder=5,
              edgecolor="k", linewidth=0.5, label=f"4.4: lr {bs['lr']:.2g}, batch varied,\nat lr x {b0} / B")
mark_values(ax_lr, {f"lr_min {lr['lr_min']:.2g}": (lr["lr_min"], P4_COLORS["lr_min"], "-")})
ax_lr.set(xlabel="learning rate (equivalent, log)", ylabel="training loss after the sweep's epochs",
          title="both sweeps on one axis")
ax_lr.legend(fontsize=7)
plot_loss_curve(ax_b, b["batch_sizes"], bs["final_losses"], b["diverged"], color=PALETTE[2],
                label=f"loss after {b['epochs']} epochs", log_base=2)
if micro < b["batch_sizes"][-1]:
    ax_b.axvspan(micro * 1.4, b["batch_sizes"][-1] * 1.3, color="0.9", zorder=0, label="gradient accumulation")
ax_b.invert_xaxis()
ax_b.set(xlabel="batch size (log2, decreasing to the right)", title=f"4.4: lr {bs['lr']:.2g}")
ax_b.legend(fontsize=7)
plt.show()

# %%
# Left: 4.2's loss against the learning rate (blue) with every batch-size run of 4.4 placed at its
# equivalent learning rate (squares). Right: the batch-size curve on its own axis, reversed so that
# more noise per update is to the right in both panels.
print(f"{'batch':>6} {'equivalent lr':>14} {'loss (4.4)':>11} {'4.2 curve there':>16} {'difference':>11}")
for size, eq, loss, ref, dev in zip(sim["batch_sizes"], sim["equivalent_lr"], sim["batch_losses"],
                                    sim["lr_curve_at_equivalent"], sim["deviation"]):
    print(f"{int(size):>6} {eq:14.3g} {loss:11.4f} {ref:16.4f} {dev:+11.4f}")
rho = sim["spearman"]
print(f"largest |difference| {sim['max_abs_deviation']:.4f} = {100 * sim['max_deviation_fraction']:.1f} % of the "
      f"LR curve's range ({sim['lr_curve_range']:.3f})")
print(f"rank correlation of loss with the noise coordinate: {rho['loss_vs_minus_log_batch']:+.2f} (batch, "
      f"-log B), {rho['loss_vs_log_lr']:+.2f} (learning rate, log lr, whole curve)")
print(f"lowest loss at the {sim['minimum_at']['batch']} batch size; at the {sim['minimum_at']['lr']} learning rate")

# %%
# The difference column compares each batch-size run with 4.2's curve read at the same ``lr / B``
# (interpolated between the sweep's learning rates in log scale; points outside the swept range
# are not compared). The learning-rate range of 4.2 spans ten decades and runs past the best rate
# into instability; the batch range spans a factor of ``max B / min B`` at a safe learning rate, so
# the batch curve can only retrace a piece of the descending branch, never the minimum and the rise.
on_curve = bool(np.isfinite(sim["max_deviation_fraction"]) and sim["max_deviation_fraction"] <= 0.1)
monotone = rho["loss_vs_minus_log_batch"] <= -0.9
if on_curve:
    shape = (f"the same shape: every batch size lands on 4.2's curve at lr x {b0} / B (largest gap "
             f"{100 * sim['max_deviation_fraction']:.0f} % of that curve's range), i.e. it retraces a piece of its "
             f"descending branch")
else:
    shape = (f"not simply the same curve: at lr x {b0} / B the batch runs miss 4.2's curve by up to "
             f"{100 * sim['max_deviation_fraction']:.0f} % of its range")
report.answer(
    "4.4",
    f"At lr {bs['lr']:.2g}, the loss after {b['epochs']} epoch(s) rises from {bs['final_losses'][0]:.3f} (batch "
    f"{b['batch_sizes'][0]}) to {bs['final_losses'][-1]:.3f} (batch {b['batch_sizes'][-1]})"
    f"{' monotonically' if monotone else ''}: {shape}.",
    batch_result,
)
