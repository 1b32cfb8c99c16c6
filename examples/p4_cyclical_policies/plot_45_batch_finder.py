"""
4.5 Where should a cyclical batch size start and end?
=====================================================

*Read bmin and bmax off the batch-size sweep of 4.4 with the batch-size finder's rule; draw the
algorithm as a block diagram and describe its steps in words.*

Two finders answer the question side by side:

* the **loss-threshold rule** (:func:`hw2.sweeps.batch_size_finder`, experiment ``p4.batch_sweep``)
  is the learning-rate finder turned around. The gradient-noise scale of SGD is roughly
  ``lr * N / B`` (Smith & Le 2018), so a batch size plays the role of an inverse learning rate: the
  *large*-batch end of the curve corresponds to the *small*-learning-rate end (little noise,
  little progress per epoch), and the curve is read from the largest batch down;
* the **gradient-noise scale** (:mod:`hw2.noise_scale`, experiment ``p4.noise_scale``) measures
  McCandlish et al.'s (2018) ``B_simple = tr(Sigma) / |G|^2`` along training at lr_min: the batch
  size below which a larger batch buys an almost proportionally better step, and above which more
  samples per step are mostly wasted.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, noise_scale, report, sweeps
from hw2.experiments.p4_finders_analysis import (
    agreement_sentence,
    batch_bound_agreement,
    batch_readings,
    noise_readings,
    noise_scale_summary,
    setup_sentence,
)
from hw2.plotting import P4_COLORS, mark_values, new_figure, plot_block_diagram, steps_in_words

sweep_result = experiments.run("p4.batch_sweep", fallback=True)
noise_result = experiments.run("p4.noise_scale", fallback=True)
report.banner(sweep_result, noise_result)
sweep_data, noise_data = sweep_result.data, noise_result.data
threshold_rule = batch_readings(sweep_data)  # the rule, read now from the stored sweep
evidence = threshold_rule["evidence"]
bounds = noise_readings(noise_data, noise_result.config["b_low"], noise_result.config["b_high"])
noise_summary = noise_scale_summary(noise_data)
print(setup_sentence(sweep_data["setup"]))
print(f"loss-threshold finder: {len(sweep_data['sweep']['batch_sizes'])} batch sizes at lr {sweep_data['lr']:.3g}, "
      f"{int(np.sum(sweep_data['sweep']['steps']))} optimizer updates in all")
print(f"gradient-noise finder: {len(noise_summary['epochs'])} epoch(s) at lr {noise_data['lr']:.3g}, micro-batch "
      f"b = {noise_data['b_small']}, effective batch B = {noise_data['b_big']}, {noise_summary['updates']} optimizer "
      "updates")

# %%
# The loss-threshold finder as a block diagram
# --------------------------------------------
fig, ax = new_figure(height=0.75 * len(sweeps.BATCH_FINDER_STEPS))
plot_block_diagram(ax, sweeps.BATCH_FINDER_STEPS, title="Loss-threshold batch-size finder")
plt.show()

# %%
# The diagram is drawn from :data:`hw2.sweeps.BATCH_FINDER_STEPS`, the one source of these steps;
# in words, as the library states them:
for line in steps_in_words(sweeps.BATCH_FINDER_STEPS):
    print("  " + line)

# %%
# The gradient-noise finder as a block diagram
# --------------------------------------------
fig, ax = new_figure(height=0.85 * len(noise_scale.NOISE_FINDER_STEPS))
plot_block_diagram(ax, noise_scale.NOISE_FINDER_STEPS, title="Gradient-noise-scale batch-size finder")
plt.show()

# %%
# Drawn from :data:`hw2.noise_scale.NOISE_FINDER_STEPS`; in words:
for line in steps_in_words(noise_scale.NOISE_FINDER_STEPS):
    print("  " + line)

# %%
# The noise finder costs no extra run: every update of the accumulating optimizer already averages
# ``k`` micro-batch gradients, so the squared norm of each micro-batch gradient (batch ``b``) and of
# their mean (batch ``B = k b``) come for free. **Caveat (batch normalization):** each micro-batch
# is normalized with its own statistics, so a micro-batch gradient is a *ghost-batch* gradient and
# the mean of ``k`` of them is not the gradient of one true batch of ``B``. The estimate is the
# noise scale of ghost-batch training, which is exactly how every batch size of 4.4 and 4.6 is
# trained here; it is not the noise scale of a network normalized over whole batches of ``B``.
#
# The loss-threshold rule applied to the sweep of 4.4
# ---------------------------------------------------
drop = np.asarray(evidence.get("drop", []), dtype=float)
sizes = np.asarray(sweep_data["sweep"]["batch_sizes"])[evidence["curve_start"]:]
losses = np.asarray(sweep_data["final_losses"])[evidence["curve_start"]:]
print(f"reference (untrained) loss {evidence['reference_loss']:.4f}, best loss {evidence['min_loss']:.4f}")
print(f"{'batch':>6} {'loss':>8} {'drop':>6}")
for size, loss, fraction in zip(sizes, losses, drop):
    flag = " <- bmin" if size == sweep_data["b_min"] else " <- bmax" if size == sweep_data["b_max"] else ""
    print(f"{size:>6} {loss:8.4f} {fraction:6.2f}{flag}")
print(f"loss-threshold rule: bmin = {sweep_data['b_min']}, bmax = {sweep_data['b_max']}"
      + ("" if sweep_data["reliable"] else "  (fallback: the loss never fell measurably, so these are not readings)"))
low_edge, high_edge = threshold_rule["grid"]
edge_notes = []
if threshold_rule["b_min_at_edge"]:
    edge_notes.append(f"bmin = {sweep_data['b_min']} is the smallest batch size searched (the homework's grid starts "
                      f"at {low_edge}): the rule cannot read a smaller one, so the true bmin may be smaller")
if threshold_rule["b_max_at_edge"]:
    edge_notes.append(f"bmax = {sweep_data['b_max']} is the largest batch size searched ({high_edge}): the true bmax "
                      "may be larger")
for note in edge_notes:
    print("edge of the grid: " + note)
print(f"on a plateau: {'yes' if threshold_rule['on_plateau'] else 'no'}"
      + (f" ({threshold_rule['note']})" if threshold_rule["note"] else ""))

# %%
# ``drop`` is ``(untrained loss - loss) / (untrained loss - best loss)``: 0 is nothing learned, 1
# as good as the best batch size. The rule's bounds are marked in the table.
#
# The noise scale along training
# ------------------------------
probe = noise_data["probe"]
print(f"{'epoch':>5} {'B':>6} {'updates':>8} {'|G|^2':>11} {'tr(Sigma)':>11} {'B_simple':>9}")
for epoch, big, n_updates, gradient_sq, trace_sigma, value in zip(
        noise_summary["epochs"], probe["b_big"], probe["updates"], probe["gradient_sq"], probe["trace_sigma"],
        noise_summary["b_simple"]):
    print(f"{epoch:>5} {big:>6} {n_updates:>8} {gradient_sq:11.4g} {trace_sigma:11.4g} {value:9.1f}")
if noise_summary["trend"] is None:
    print("one estimate only: how B_simple moves along training cannot be read at this profile")
else:
    print(f"B_simple {noise_summary['trend']} by a factor {noise_summary['factor']:.2f} from the first to the "
          "last epoch")
print(f"noise finder: bmin = {bounds['b_min']}, bmax = {bounds['b_max']}"
      + (f" ({bounds['note']})" if bounds["note"] else "")
      + ("" if bounds["reliable"] else " (fallback: no finite positive estimate)"))

# %%
# Each row is one epoch's estimate, numerator and denominator averaged over the epoch's updates
# before the ratio is taken. The figure puts both finders next to each other.
fig, (ax_drop, ax_noise) = new_figure(ncols=2, height=3.1)
if len(drop):
    ax_drop.plot(sizes, drop, marker="o", color=P4_COLORS["CBS"], label="drop fraction")
    for level in evidence["fractions"]:
        ax_drop.axhline(level, color="0.5", linestyle="--", linewidth=0.8)
mark_values(ax_drop, {f"bmin = {sweep_data['b_min']}": (sweep_data["b_min"], P4_COLORS["lr_min"], "-"),
                      f"bmax = {sweep_data['b_max']}": (sweep_data["b_max"], P4_COLORS["lr_max"], "-")})
ax_drop.set_xscale("log", base=2)
ax_drop.set(xlabel="batch size", ylabel="drop fraction", title=f"loss threshold (lr {sweep_data['lr']:.2g})")
ax_drop.legend(fontsize=7)
ax_noise.plot(noise_summary["epochs"], noise_summary["b_simple"], marker="o", color=P4_COLORS["matched CBS"],
              label="B_simple")
for label, value, style in ((f"bmin = {bounds['b_min']} (noise)", bounds["b_min"], "-"),
                            (f"bmax = {bounds['b_max']} (noise)", bounds["b_max"], "-"),
                            (f"bmin = {sweep_data['b_min']} (loss)", sweep_data["b_min"], ":"),
                            (f"bmax = {sweep_data['b_max']} (loss)", sweep_data["b_max"], ":")):
    ax_noise.axhline(value, color=P4_COLORS["lr_min" if "bmin" in label else "lr_max"], linestyle=style,
                     linewidth=1.2, label=label)
ax_noise.set_yscale("log", base=2)
ax_noise.set(xlabel="epoch", ylabel="batch size", title=f"noise scale (lr {noise_data['lr']:.2g})",
             xticks=noise_summary["epochs"])
ax_noise.legend(fontsize=6.5)
plt.show()

# %%
# Left: the loss-threshold rule's drop fraction per batch size, its 10 % and 90 % thresholds
# dashed and its bounds as vertical lines. Right: ``B_simple`` per epoch with the noise finder's
# bounds (solid) and the loss-threshold bounds (dotted) on the same batch-size axis. The lines
# below say whether the two finders agree, on the sweep's grid of powers of two.
agreement = batch_bound_agreement(sweep_data, bounds)
for bound in ("b_min", "b_max"):
    print(f"{bound}: loss threshold {sweep_data[bound]}, noise scale {bounds[bound]}")
agreement_text = agreement_sentence(agreement)
print(agreement_text)

# %%
# The cyclical batch size of 4.6 uses the loss-threshold bounds, the homework's finder.
report.answer(
    "4.5",
    f"bmin = {sweep_data['b_min']}, bmax = {sweep_data['b_max']}: the largest batches whose loss "
    f"after {sweep_data['sweep']['epochs']} epochs at lr {sweep_data['lr']:.2g} fell 90 % and 10 % "
    "of the way to the lowest"
    + ("" if sweep_data["reliable"] else " (fallback: the loss never fell measurably)")
    + ("; bmin is the grid's edge" if threshold_rule["b_min_at_edge"] else "")
    + f". The gradient-noise finder reads {bounds['b_min']} / {bounds['b_max']}.",
    sweep_result,
)
