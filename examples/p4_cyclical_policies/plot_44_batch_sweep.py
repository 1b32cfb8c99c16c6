"""
4.4 How does the training loss depend on the batch size at a fixed learning rate?
=================================================================================

*Fix the learning rate at lr_min from 4.2 and train MiniGoogLeNet for 5 epochs at each batch size
64, 128, ..., 8192 (powers of two), using gradient accumulation where a batch does not fit. Plot
the training loss against the batch size and put it beside 4.2's curve: is the shape similar?*

:func:`hw2.finders.batch_size_sweep` trains every batch size from the same initial weights and in
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
print(f"{'batch':>6} {'updates':>8} {'accum':>6} {'final loss':>11} {'img/s':>8}  status")
for size, steps, loss, ips, bad in zip(b["batch_sizes"], b["steps"], bs["final_losses"], b["images_per_second"],
                                       b["diverged"]):
    accum = size // micro if size > micro else 1
    print(f"{size:>6} {steps:>8} {accum:>6} {loss:>11.4f} {ips:>8.0f}  {'diverged' if bad else 'ok'}")
print(f"loss of the common initial weights: {b['initial_loss']:.4f}")

# %%
# Every row had the same number of epochs; ``updates`` is the number of optimizer steps that
# bought, ``accum`` the number of micro-batches per update.
#
# The batch-size curve beside the learning-rate curve
# ---------------------------------------------------
fig, (ax_lr, ax_b) = new_figure(ncols=2, height=3.3)
plot_loss_curve(ax_lr, lr["sweep"]["learning_rates"], lr["final_losses"], lr["sweep"]["diverged"],
                label=f"loss after {lr['sweep']['epochs']} epochs")
mark_values(ax_lr, {f"lr_min {lr['lr_min']:.2g}": (lr["lr_min"], P4_COLORS["lr_min"], "-")})
ax_lr.set(xlabel="learning rate (log)", ylabel="training loss", title=f"4.2: batch {lr['sweep']['batch_size']}")
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
# Left: 4.2's loss against the learning rate; right: the loss against the batch size at lr_min,
# with the batch axis reversed. SGD's gradient noise grows like ``lr / B`` (Smith & Le 2018), so a
# smaller batch acts like a larger learning rate: reversing the axis puts "more noise per update"
# to the right in both panels, and the shapes can be compared directly.
sim = shape_similarity(lr, bs)
rho = sim["spearman"]
print(f"Spearman rank correlation of loss with log(lr): {rho['loss_vs_log_lr']:+.2f} "
      f"({sim['finite_points']['lr']} finite points)")
print(f"Spearman rank correlation of loss with -log(batch): {rho['loss_vs_minus_log_batch']:+.2f} "
      f"({sim['finite_points']['batch']} finite points)")
print(f"lowest loss: at the {sim['minimum_at']['lr']} learning rate / the {sim['minimum_at']['batch']} batch size "
      f"of the ranges swept (batch: 'first' = smallest)")
print(f"loss range relative to the worst point: lr {100 * sim['relative_range']['lr']:.0f} %, "
      f"batch {100 * sim['relative_range']['batch']:.0f} %")

# %%
# Both correlations are computed on the finite (non-diverged) points, against the noise
# coordinate (``log lr`` and ``-log B``). A negative value means the loss falls as the noise
# grows. The learning-rate range of 4.2 spans ten decades and reaches divergence; the batch range
# spans only the factor between the smallest and the largest batch, at a learning rate chosen to
# be safe, so the batch curve can show at most the descending part of the learning-rate curve.
same_sign = np.sign(rho["loss_vs_log_lr"]) == np.sign(rho["loss_vs_minus_log_batch"])
strong = min(abs(rho["loss_vs_log_lr"]), abs(rho["loss_vs_minus_log_batch"])) >= 0.5
similar = bool(same_sign and strong)
report.answer(
    "4.4",
    f"At lr {bs['lr']:.2g}, the loss after {b['epochs']} epochs goes from {bs['final_losses'][0]:.3f} (batch "
    f"{b['batch_sizes'][0]}) to {bs['final_losses'][-1]:.3f} (batch {b['batch_sizes'][-1]}); rank correlation "
    f"with the noise coordinate {rho['loss_vs_minus_log_batch']:+.2f} vs {rho['loss_vs_log_lr']:+.2f} for the LR "
    f"curve: {'similar (mirrored) shape' if similar else 'not the same shape'} over the range swept.",
    batch_result,
)
