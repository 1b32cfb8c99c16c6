"""
4.2 Which learning rates train MiniGoogLeNet, and where should a cycle start and end?
=====================================================================================

*At batch size 64, train MiniGoogLeNet for 5 epochs at each of 10 learning rates log-spaced over
[1e-9, 1e1], every run from the same initial weights. Plot the training loss against the learning
rate, mark the diverged runs, pick lr_min and lr_max, and compare with the continuous LR range test
(the curve the pyimagesearch article calls Figure 3).*

The sweep is :func:`hw2.sweeps.lr_sweep` (one compiled model, reset to the same weights, optimizer
state and data order before every run); the range test is :func:`hw2.range_test.lr_range_test` (one
run, the learning rate multiplied by a constant factor after every batch). Both read their bounds
with :func:`hw2.suggest.suggest_lr`: on the loss-vs-LR curve cut at the first diverged point, with
``drop = (untrained loss - loss) / (untrained loss - lowest loss)``, **lr_min** is the first LR whose
drop reaches 10 % (the loss has started to fall) and **lr_max** the first whose drop reaches 90 %
(the end of the steep descent, before the minimum). fastai's rules are shown for comparison:
*valley* (two thirds down the longest descending stretch), *steep* (steepest descent) and
*minimum / 10*.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, report
from hw2.experiments.p4_cyclical import lr_agreement, setup_sentence
from hw2.plotting import (
    P4_COLORS,
    PALETTE,
    mark_values,
    new_figure,
    plot_loss_curve,
    plot_range_test,
    plot_sweep_epochs,
)

sweep_result = experiments.run("p4.lr_sweep", fallback=True)
report.banner(sweep_result)
range_result = experiments.run("p4.lr_range_test", fallback=True)
report.banner(range_result)
sweep, rt = sweep_result.data, range_result.data
s = sweep["sweep"]
print(setup_sentence(sweep["setup"]))
print(f"sweep: {len(s['learning_rates'])} learning rates, {s['epochs']} epochs each at batch size {s['batch_size']}")
print(f"untrained network: training-mode loss {sweep['reference_loss']:.3f} (the run at the smallest LR), "
      f"inference-mode loss {s['initial_loss']:.3f}")
test = rt["test"]
print(f"range test: {test['steps']} batches of {test['batch_size']} from {test['start_lr']:.0e} to "
      f"{test['end_lr']:.0e}, loss smoothed with beta = {test['beta']}; its reference (mean batch loss over the "
      f"first 5 % of the batches) {rt['reference_loss']:.3f}")

# %%
# Training loss after each epoch, per learning rate
# --------------------------------------------------
print(f"{'lr':>10} " + " ".join(f"{'ep ' + str(e + 1):>7}" for e in range(s["epochs"])) + "  status")
for lr, row, bad, at in zip(s["learning_rates"], s["losses"], s["diverged"], s["diverged_epoch"]):
    cells = " ".join(f"{v:7.3f}" if np.isfinite(v) else f"{'nan':>7}" for v in row)
    print(f"{lr:10.2e} {cells}  {'diverged in epoch ' + str(at + 1) if bad else 'ok'}")

untouched = [lr for lr, v in zip(s["learning_rates"], sweep["final_losses"])
             if np.isfinite(v) and abs(v - sweep["reference_loss"]) <= 0.02 * sweep["reference_loss"]]
if untouched:
    print(f"{len(untouched)} learning rates (up to {max(untouched):.2g}) end within 2 % of the untrained loss")

fig, ax = new_figure(height=2.8)
plot_sweep_epochs(ax, s["learning_rates"], s["losses"], s["diverged"])
ax.set(title="training loss after each epoch")
ax.legend(fontsize=7)
plt.show()

# %%
# Each row of the table, and each point of a line in the figure, is one run after one more epoch
# (darker lines: later epochs). Learning rates that end within 2 % of the untrained loss have left the
# weights essentially where they started; a run whose loss became non-finite is marked diverged
# and stops there. The losses are training-mode epoch averages (dropout on, batch statistics in
# batch normalization), so the rule's "nothing learned" reference is the training-mode loss of the
# untrained network, not its inference-mode evaluation, which for MiniGoogLeNet (dropout 0.5,
# moving statistics still at their initial values) is a different number.
#
# The sweep and the range test, one above the other
# ---------------------------------------------------
sugg, rt_sugg = sweep["suggestions"], rt["suggestions"]
marks = {
    f"lr_min = {sweep['lr_min']:.2g} (sweep)": (sweep["lr_min"], P4_COLORS["lr_min"], "-"),
    f"lr_max = {sweep['lr_max']:.2g} (sweep)": (sweep["lr_max"], P4_COLORS["lr_max"], "-"),
    f"fastai valley {sugg['valley']['value']:.2g}": (sugg["valley"]["value"], PALETTE[4], ":"),
    f"fastai steep {sugg['steep']['value']:.2g}": (sugg["steep"]["value"], PALETTE[5], ":"),
    f"fastai minimum/10 {sugg['minimum']['value']:.2g}": (sugg["minimum"]["value"], PALETTE[8], ":"),
}
fig, (ax_sweep, ax_rt) = new_figure(nrows=2, height=3.0, sharex=True)
plot_loss_curve(ax_sweep, s["learning_rates"], sweep["final_losses"], s["diverged"],
                label=f"loss after {s['epochs']} epochs")
ax_sweep.axhline(sweep["reference_loss"], color="0.5", linewidth=0.8, linestyle="--", label="untrained (reference)")
mark_values(ax_sweep, marks)
ax_sweep.set(ylabel="training loss", title="LR sweep (one run per learning rate)")
ax_sweep.legend(fontsize=6.5, loc="lower left", ncol=2)
plot_range_test(ax_rt, test["lrs"], test["losses"], test["smoothed"])
mark_values(ax_rt, {
    f"lr_min = {rt['lr_min']:.2g} (range test)": (rt["lr_min"], P4_COLORS["lr_min"], "--"),
    f"lr_max = {rt['lr_max']:.2g} (range test)": (rt["lr_max"], P4_COLORS["lr_max"], "--"),
    f"fastai valley {rt_sugg['valley']['value']:.2g}": (rt_sugg["valley"]["value"], PALETTE[4], ":"),
})
ax_rt.set(xlabel="learning rate (log scale)", ylabel="training loss",
          title=f"LR range test ({len(test['lrs'])} of {test['steps']} planned batches, stop: {test['stop_reason']})")
ax_rt.legend(fontsize=6.5, loc="lower left")
plt.show()

# %%
# The upper panel is the sweep: one point per learning rate, the loss after the last epoch (red
# crosses along the top: runs that diverged). The lower panel is the range test: the loss of each
# batch (grey) and its exponentially smoothed value, the learning rate growing from the left;
# it stops once the smoothed loss exceeds four times its best. The solid lines are the sweep's
# bounds, the dashed ones the range test's.
agreement = lr_agreement(sweep, rt)
d = agreement["decades"]
verdict = {True: "agree", False: "disagree"}
print(f"sweep grid spacing: {agreement['grid_spacing_decades']:.2f} decades")
for bound in ("lr_min", "lr_max"):
    print(f"{bound}: sweep {sweep[bound]:.3g}, range test {rt[bound]:.3g} -> {d[bound]:.2f} decades apart "
          f"({verdict[agreement['agree'][bound]]} within one grid step)")
print(f"lowest loss in the sweep at lr = {sweep['best_lr']:.3g} (used as the constant-LR baseline of 4.7)")
if not sweep["reliable"]:
    print("note: the sweep's loss never fell measurably, so its bounds are fallbacks, not readings")

# %%
# Two bounds "agree" when they are at most one grid step of the sweep apart: the sweep cannot
# resolve anything finer. Where they differ, the two curves measure different things: the range
# test sees each learning rate for a single batch, after the network was trained at every smaller
# rate, while a sweep run trains whole epochs at one rate from the initial weights. A sweep run at
# a moderate rate therefore has many more useful updates behind it, and a range test keeps going
# for a few batches past the rate at which a full run would already blow up.
both = all(agreement["agree"].values())
report.answer(
    "4.2",
    f"Sweep at batch size {s['batch_size']} ({s['epochs']} epoch(s) per LR): {int(np.sum(s['diverged']))} of "
    f"{len(s['diverged'])} runs diverged; lr_min = {sweep['lr_min']:.2g}, lr_max = {sweep['lr_max']:.2g} "
    f"(10 %/90 % of the loss drop). The range test gives {rt['lr_min']:.2g} / {rt['lr_max']:.2g}: "
    f"{'both bounds agree' if both else 'they do not agree'} within one sweep step "
    f"({d['lr_min']:.1f} and {d['lr_max']:.1f} decades apart).",
    sweep_result,
)
