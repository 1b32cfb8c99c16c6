"""
4.5 Where should a cyclical batch size start and end?
=====================================================

*Read bmin and bmax off the batch-size sweep of 4.4 with the batch-size finder's rule; draw the
algorithm as a block diagram and describe its steps in words.*

The finder (:func:`hw2.sweeps.batch_size_finder`) is the learning-rate finder turned around. The
gradient-noise scale of SGD is roughly ``lr * N / B`` (Smith & Le 2018), so a batch size plays the
role of an inverse learning rate: the *large* batch end of the curve corresponds to the *small*
learning-rate end (little noise, little progress per epoch), and the curve is read from the largest
batch down.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, report, sweeps
from hw2.plotting import P4_COLORS, mark_values, new_figure, plot_batch_finder_diagram

result = experiments.run("p4.batch_sweep", fallback=True)
report.banner(result)
data = result.data
sugg = data["suggestion"]
evidence = sugg["evidence"]

# %%
# The algorithm as a block diagram
# --------------------------------
fig, ax = new_figure(height=5.2)
plot_batch_finder_diagram(ax, title="Batch-size finder")
plt.show()

# %%
# Its steps in words
# ------------------
# 1. Fix everything but the batch size: the learning rate (here lr_min of 4.2, the rate the
#    cyclical batch size will use), the initial weights, the data order and the budget (the same
#    number of epochs for every batch size).
# 2. For each power of two ``B`` in the search range, reset the network to the initial weights
#    and train for the budget; batches larger than memory allows are effective batches built by
#    gradient accumulation.
# 3. Record the training loss after the budget; a non-finite loss marks ``B`` as diverged (too
#    noisy for this learning rate) and excludes it and everything smaller.
# 4. Turn the losses into a *drop fraction* ``drop(B) = (L0 - L(B)) / (L0 - L_best)``, where
#    ``L0`` is the loss of the initial weights: 0 means nothing learned, 1 means as good as the best
#    batch size.
# 5. Walk from the largest batch size down: **bmax** is the largest ``B`` whose drop reaches
#    10 % (training has started to pay off) and **bmin** the largest ``B`` whose drop reaches 90 %
#    (nearly as good as the best, with the fewest updates). If both coincide, bmax moves one power
#    of two up.
# 6. Cycle the batch size between bmin and bmax (4.6).
print("the same steps, as the library states them:")
for i, (_, text) in enumerate(sweeps.BATCH_FINDER_STEPS, 1):
    print(f"  {i}. " + " ".join(text.split()))

# %%
# The rule applied to the sweep of 4.4
# ------------------------------------
drop = np.asarray(evidence.get("drop", []), dtype=float)
sizes = np.asarray(data["sweep"]["batch_sizes"])[evidence["curve_start"]:]
print(f"reference (initial) loss {evidence['reference_loss']:.4f}, best loss {evidence['min_loss']:.4f}")
print(f"{'batch':>6} {'loss':>8} {'drop':>6}")
for size, loss, d in zip(sizes, np.asarray(data["final_losses"])[evidence["curve_start"]:], drop):
    flag = " <- bmin" if size == data["b_min"] else " <- bmax" if size == data["b_max"] else ""
    print(f"{size:>6} {loss:8.4f} {d:6.2f}{flag}")
print(f"bmin = {data['b_min']}, bmax = {data['b_max']}" + ("" if data["reliable"] else
      "  (fallback: the loss never fell measurably, so these are not readings)"))

# %%
if len(drop):
    fig, ax = new_figure(height=3.0)
    ax.plot(sizes, drop, marker="o", color=P4_COLORS["CBS"], label="drop fraction")
    for level in evidence["fractions"]:
        ax.axhline(level, color="0.5", linestyle="--", linewidth=0.8)
    mark_values(ax, {f"bmin = {data['b_min']}": (data["b_min"], P4_COLORS["lr_min"], "-"),
                     f"bmax = {data['b_max']}": (data["b_max"], P4_COLORS["lr_max"], "-")})
    ax.set_xscale("log", base=2)
    ax.set(xlabel="batch size", ylabel="drop fraction", title=f"lr = {data['lr']:.2g}")
    ax.legend(fontsize=8)
    plt.show()

# %%
# The dashed lines are the 10 % and 90 % thresholds; the batch sizes between the vertical lines
# are the range the cyclical batch size of 4.6 moves in.
def drop_at(size):
    hits = np.flatnonzero(sizes[: len(drop)] == size)
    return f"{drop[hits[0]]:.2f}" if len(hits) else "n/a"


report.answer(
    "4.5",
    f"From the sweep at lr {data['lr']:.2g}: bmin = {data['b_min']}, bmax = {data['b_max']} (largest batch sizes "
    f"reaching 90 % and 10 % of the loss drop; their drop fractions {drop_at(data['b_min'])} and "
    f"{drop_at(data['b_max'])})" + ("." if data["reliable"] else "; fallback values: the loss never fell measurably."),
    result,
)
