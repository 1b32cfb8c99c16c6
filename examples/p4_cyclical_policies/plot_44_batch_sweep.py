"""
4.4 How does the training loss depend on the batch size at a fixed learning rate?
=================================================================================

*Fix the learning rate at lr_min from 4.2 and train MiniGoogLeNet for 5 epochs at each batch size
64, 128, ..., 8192 (powers of two), using gradient accumulation where a batch does not fit. Plot
the training loss against the batch size and put it beside 4.2's curve: is the shape similar?*

:func:`hw2.sweeps.batch_size_sweep` trains every batch size from the same initial weights and in
the same data order for the same number of epochs, so a batch twice as large makes half as many
updates. Every run is fed the same micro-batches; a batch size above the micro-batch is an
effective batch: :class:`hw2.accumulation.GradientAccumulation` averages the gradients of
``B / micro-batch`` micro-batches before one update. For a network with batch normalization that is
not exactly one step on a true batch of ``B``: each micro-batch is normalized with its own
statistics ("ghost batches"), at every batch size alike, so the batch size changes the gradient
noise only.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, report
from hw2.experiments.p4_finders_analysis import (
    SIMILAR_RANK,
    UNMOVED_LOSS_TOL,
    below_untrained,
    setup_sentence,
    shape_similarity,
    similar_behaviour,
    update_limited,
)
from hw2.plotting import P4_COLORS, PALETTE, mark_values, new_figure, plot_loss_curve

batch_result = experiments.run("p4.batch_sweep", fallback=True)
sweep_result = experiments.run("p4.lr_sweep", fallback=True)
report.banner(batch_result, sweep_result)
batch_data, lr_data = batch_result.data, sweep_result.data
batch_curve = batch_data["sweep"]
micro = batch_result.config["micro_batch"]
print(setup_sentence(batch_data["setup"]))
print(f"learning rate fixed at lr_min = {batch_data['lr']:.3g}; {batch_curve['epochs']} epoch(s) per batch size; "
      f"micro-batch {micro}; {int(np.sum(batch_curve['steps']))} optimizer updates over all batch sizes")

# %%
# Loss and updates per batch size
# -------------------------------
print(f"{'batch':>6} {'updates':>8} {'accum':>6} {'final loss':>11}  status")
for size, steps, loss, bad in zip(batch_curve["batch_sizes"], batch_curve["steps"], batch_data["final_losses"],
                                  batch_curve["diverged"]):
    accumulation = size // micro if size > micro else 1
    print(f"{size:>6} {steps:>8} {accumulation:>6} {loss:>11.4f}  {'diverged' if bad else 'ok'}")
print("training-mode loss of the untrained network (4.2's loss at its smallest LR): "
      f"{batch_data['reference_loss']:.4f}")
moved = below_untrained(lr_data, batch_data)
noise_floor = (f"3 x {moved['noise_sd']:.4f}, the epoch-to-epoch sd at 4.2's smallest LR"
               if np.isfinite(moved["noise_sd"]) else "no epoch-to-epoch sd: 4.2 ran one epoch")
print(f"smallest batch ({moved['batch_size']}): {moved['loss']:.4f}, {moved['drop']:+.4f} below the untrained loss "
      f"({100 * moved['fraction']:.2f} %); measurable means more than {moved['threshold']:.4f} (the larger of 1 % "
      f"and {noise_floor}): {'yes' if moved['measurable'] else 'NO'}")

# %%
# Every row had the same number of epochs; ``updates`` is the number of optimizer steps that
# bought, ``accum`` the number of micro-batches per update. The last line says whether even the
# smallest batch (the most updates) moved the loss measurably below where it started: if not, the
# batch sizes differ in noise that has had no effect yet, and the curve below carries no shape.
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
similarity = shape_similarity(lr_data, batch_data)
lr_batch = lr_data["sweep"]["batch_size"]
fig, (ax_lr, ax_batch) = new_figure(ncols=2, height=3.4)
plot_loss_curve(ax_lr, lr_data["sweep"]["learning_rates"], lr_data["final_losses"], lr_data["sweep"]["diverged"],
                label=f"4.2: batch {lr_batch}, lr varied")
ax_lr.scatter(similarity["equivalent_lr"], similarity["batch_losses"], marker="s", s=40, color=PALETTE[2], zorder=5,
              edgecolor="k", linewidth=0.5,
              label=f"4.4: lr {batch_data['lr']:.2g}, batch varied,\nat lr x {lr_batch} / B")
mark_values(ax_lr, {f"lr_min {lr_data['lr_min']:.2g}": (lr_data["lr_min"], P4_COLORS["lr_min"], "-")})
ax_lr.set(xlabel="learning rate (equivalent, log)", ylabel="training loss after the sweep's epochs",
          title="both sweeps on one axis")
ax_lr.legend(fontsize=7)
plot_loss_curve(ax_batch, batch_curve["batch_sizes"], batch_data["final_losses"], batch_curve["diverged"],
                color=PALETTE[2], label=f"loss after {batch_curve['epochs']} epoch(s)", log_base=2)
ax_batch.axhline(batch_data["reference_loss"], color="0.5", linewidth=0.8, linestyle="--", label="untrained")
if micro < batch_curve["batch_sizes"][-1]:
    ax_batch.axvspan(micro * 1.4, batch_curve["batch_sizes"][-1] * 1.3, color="0.9", zorder=0,
                     label="gradient accumulation")
ax_batch.invert_xaxis()
ax_batch.set(xlabel="batch size (log2, decreasing to the right)", ylabel="training loss after the sweep's epochs",
             title=f"4.4: lr {batch_data['lr']:.2g}")
ax_batch.legend(fontsize=7)
plt.show()

# %%
# Left: 4.2's loss against the learning rate (blue) with every batch-size run of 4.4 placed at its
# equivalent learning rate (squares). Right: the batch-size curve on its own axis, reversed so that
# more noise per update is to the right in both panels, with the untrained loss dashed. The table
# compares each batch-size run with 4.2's curve read at the same ``lr / B`` (interpolated between
# the sweep's learning rates in log scale; points outside the swept range are not compared).
print(f"{'batch':>6} {'equivalent lr':>14} {'loss (4.4)':>11} {'4.2 curve there':>16} {'difference':>11}")
for size, equivalent, loss, on_lr_curve, deviation in zip(
        similarity["batch_sizes"], similarity["equivalent_lr"], similarity["batch_losses"],
        similarity["lr_curve_at_equivalent"], similarity["deviation"]):
    print(f"{int(size):>6} {equivalent:14.3g} {loss:11.4f} {on_lr_curve:16.4f} {deviation:+11.4f}")
rank = similarity["spearman"]
print(f"largest |difference| {similarity['max_abs_deviation']:.4f} = "
      f"{100 * similarity['max_deviation_fraction']:.0f} % "
      f"of the batch curve's own span ({similarity['batch_curve_span']:.4f}, its largest minus smallest loss); "
      f"{similarity['points_on_lr_curve']} of {len(similarity['batch_sizes'])} batch sizes fall inside 4.2's range")
print(f"rank correlation of loss with the noise coordinate: {rank['loss_vs_minus_log_batch']:+.2f} (batch, "
      f"-log B), {rank['loss_vs_log_lr']:+.2f} (learning rate, log lr, whole curve)")
print(f"lowest loss at the {similarity['minimum_at']['batch']} batch size; at the {similarity['minimum_at']['lr']} "
      "learning rate")

# %%
# The same runs against the number of updates
# -------------------------------------------
# Every batch size ran the same epochs, so a batch ``k`` times larger made ``k`` times fewer
# updates. Drawn against the updates it made, each run shows how much of the curve above is the
# batch size and how much is simply the number of steps.
limited = update_limited(lr_data, batch_data)
fig, ax = new_figure(height=2.8)
steps = np.asarray(batch_curve["steps"])
ax.plot(steps, batch_data["final_losses"], marker="s", color=PALETTE[2], label="4.4: one run per batch size")
for size, n, loss in zip(batch_curve["batch_sizes"], steps, batch_data["final_losses"]):
    ax.annotate(f"B={size}", (n, loss), textcoords="offset points", xytext=(3, 4), fontsize=6.5)
ax.axhspan(batch_data["reference_loss"] - UNMOVED_LOSS_TOL, batch_data["reference_loss"] + UNMOVED_LOSS_TOL,
           color="0.85", label=f"untrained loss ± {UNMOVED_LOSS_TOL:g}")
ax.set_xscale("log")
ax.set(xlabel="optimizer updates (log)", ylabel="final training loss",
       title="loss against the updates each batch size made")
ax.legend(fontsize=7)
plt.show()

# %%
# The grey band is the untrained loss give or take the printed tolerance: a run inside it has
# not moved. The line below counts them.
if limited["unmoved_from"] is None:
    updates_text = "every batch size moved the loss beyond the untrained band"
else:
    updates_text = (f"batches of {limited['unmoved_from']} and more ({len(limited['unmoved_sizes'])} of "
                    f"{len(batch_curve['batch_sizes'])}) ended within {UNMOVED_LOSS_TOL:g} of the untrained loss after "
                    f"at most {limited['most_updates_unmoved']} updates"
                    + (", so the curve mostly counts updates: at this learning rate those batch sizes made too few "
                       "steps to move, whatever their noise" if limited["mostly_updates"] else ""))
print(updates_text)

# %%
# A deviation is measured against the batch curve's own span: what the batch size itself changes.
# The batch range maps onto only a factor ``max B / min B`` of 4.2's learning-rate axis (the
# equivalent rates in the table), so at most that piece of 4.2's curve can be retraced, whatever
# the learning-rate sweep does elsewhere. The verdict below is computed from the table:
# "the same curve" when every compared batch size lies within 10 % of the batch curve's span of
# 4.2's curve, and the direction from the sign of the rank correlation.
fraction = similarity["max_deviation_fraction"]
on_curve = bool(np.isfinite(fraction) and fraction <= 0.1)
rho = rank["loss_vs_minus_log_batch"]
first_loss, last_loss = batch_data["final_losses"][0], batch_data["final_losses"][-1]
trend = ("falls" if last_loss < first_loss else "rises") + (" monotonically" if abs(rho) >= 0.99 else "")
if not moved["measurable"]:
    shape = (f"no shape to compare: even batch {moved['batch_size']} ended only {moved['drop']:.4f} below the "
             f"untrained loss, within the {moved['threshold']:.4f} that counts as measurable")
elif on_curve:
    shape = (f"the same shape: every batch size lands on 4.2's curve at lr x {lr_batch} / B (largest gap "
             f"{100 * fraction:.0f} % of the batch curve's span), a piece of its descending branch")
else:
    shape = (f"not simply the same curve: at lr x {lr_batch} / B the batch runs miss 4.2's curve by up to "
             f"{100 * fraction:.0f} % of the batch curve's span")
print(f"loss {trend} from batch {batch_curve['batch_sizes'][0]} to {batch_curve['batch_sizes'][-1]}; {shape}")

similar = similar_behaviour(similarity, moved, lr_descends=bool(lr_data["reliable"]))
cannot = ("even the smallest batch barely moved the loss" if not moved["measurable"]
          else "4.2's loss never fell measurably, so it has no descending branch to compare with")
plain = {"yes": "Yes: the loss falls as the batch shrinks (more gradient noise per epoch, and more updates), as "
                "4.2's loss falls as the learning rate grows towards lr_max",
         "no": "No: the loss does not fall steadily as the batch shrinks, while 4.2's falls as the rate grows",
         "cannot tell": f"Cannot tell: {cannot}"}[similar["answer"]]
if similar["lr_rank"] is None:
    piece = "fewer than 3 batch sizes map inside 4.2's swept range"
else:
    piece = (f"4.2's own loss at the equivalent rates has rank correlation {similar['lr_rank']:+.2f} with log lr "
             + ("(it falls there too)" if similar["lr_rank"] <= -SIMILAR_RANK
                else "(that piece of 4.2's curve is flat or noisy)"))
print(f"{plain}. Rank correlation of the batch curve's loss with -log B: {similar['rank']:+.2f}; {piece}")

# %%
# The printed verdict is the page's answer.
report.answer(
    "4.4",
    f"{plain}. At lr {batch_data['lr']:.2g} the loss after {batch_curve['epochs']} epochs {trend} "
    f"from {first_loss:.3f} (batch {batch_curve['batch_sizes'][0]}) to {last_loss:.3f} "
    f"(batch {batch_curve['batch_sizes'][-1]}).",
    batch_result,
)
