"""
4.6 Does a cyclical batch size at a fixed learning rate train as well?
======================================================================

*Train MiniGoogLeNet at the constant learning rate lr_min with a batch size that cycles between
bmin and bmax (from 4.5) along the exponential trajectory. Should the batch size follow an
exponential increase or decrease? Explain why, and show the curves as in 4.3.*

Why an increasing batch size is the analogue of a decaying learning rate
------------------------------------------------------------------------
One SGD step with learning rate ``lr`` on a batch of ``B`` of the ``N`` training images moves the
weights by ``lr`` times the batch gradient, which is the full gradient plus noise of variance
roughly proportional to ``1 / B``. Over many steps the updates behave like gradient descent
plus a random walk whose temperature, the *noise scale*, is ``g = lr * N / B`` (Smith & Le 2018;
Smith, Kindermans, Ying & Le 2018, "Don't decay the learning rate, increase the batch size").
Decaying ``lr`` lowers ``g``, and so does *increasing* ``B``: both let the weights settle into a
minimum at the end of training. Decreasing ``B`` would raise the noise, the analogue of raising the
learning rate.

The policy: CLR's dual
----------------------
Because ``g`` is linear in ``lr`` and in ``1 / B``, the exact counterpart of the CLR's triangle in
``lr`` is a triangle in ``1 / B`` (:class:`hw2.schedules.CyclicalBatchSize`, ``scale="inverse"``).
With Smith's triangle position ``u`` (0 at the start of a cycle, 1 halfway)::

    1 / B = 1 / bmax + u * (1 / bmin - 1 / bmax)       # like lr = lr_min + u * (lr_max - lr_min)

rounded to a multiple of the micro-batch. Every cycle starts at bmax (the cold end, as the CLR
starts at lr_min), reaches bmin halfway and returns; in ``exp_range`` mode the excursion ``u`` is
multiplied by ``gamma`` per epoch, applied per cycle, so later cycles stay closer to bmax. The
batch size is set once per epoch, by a callback inside one ``model.fit``; every batch size is
``B / micro-batch`` accumulated micro-batches (one compiled train step).

A second, **noise-matched** arm runs at the fixed rate lr_max and cycles its batch size so that
``lr / B`` traces the CLR's ``lr(t) / 64``: bmin = 64 (the CLR's hottest point ``lr_max / 64``) and
bmax = ``64 * lr_max / lr_min`` (its coldest, ``lr_min / 64``), rounded and capped.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, report
from hw2.experiments.p4_analysis import cbs_trajectory, noise_trace, setup_sentence
from hw2.plotting import new_figure, plot_noise_temperature, plot_policy_run

cbs_result = experiments.run("p4.cbs", fallback=True)
report.banner(cbs_result)
matched_result = experiments.run("p4.cbs_matched", fallback=True)
report.banner(matched_result)
clr_result = experiments.run("p4.clr", fallback=True)
report.banner(clr_result)
cbs_run, matched_run, clr_run = cbs_result.data, matched_result.data, clr_result.data
config = cbs_result.config
print(setup_sentence(cbs_run["setup"]))
print(f"homework CBS: constant lr = lr_min = {cbs_run['lr']:.3g}; batch size between bmin = {cbs_run['b_min']} and "
      f"bmax = {cbs_run['b_max']} (from 4.5); {cbs_run['updates']} optimizer updates")
print(f"step {config['step_epochs']} epoch(s), {config['cycles']} cycle(s) = {cbs_run['epochs']} epochs; "
      f"gamma = {cbs_run['gamma']:.4f} per epoch; micro-batch {config['micro_batch']} (larger batches accumulate "
      "gradients)")

# %%
# Planned and realised batch sizes
# --------------------------------
trajectory = cbs_trajectory(cbs_run, config["step_epochs"])
temperature = noise_trace(cbs_run)["lr_over_b"]
print(f"{'epoch':>5} {'planned':>8} {'realised':>9} {'updates':>8} {'lr / B':>10}")
for epoch, planned, realised, n_updates, value in zip(range(1, len(trajectory["realised"]) + 1),
                                                      trajectory["planned"], trajectory["realised"],
                                                      cbs_run["history"]["steps"], temperature):
    print(f"{epoch:>5} {planned:>8} {realised:>9} {n_updates:>8} {value:10.3g}")
print(f"realised = planned in every epoch: {trajectory['as_planned']}")
for cycle in trajectory["cycles"]:
    print(f"cycle epochs {cycle['epochs'][0]}-{cycle['epochs'][1]}: batch {cycle['smallest']}..{cycle['largest']}, "
          f"visits bmin: {cycle['visits_b_min']}, visits bmax: {cycle['visits_b_max']}, excursion reached "
          f"{cycle['excursion']:.2f} of the full range (in 1/B)")
visits = trajectory["first_cycle_visits"]
print(f"the first cycle visits bmin and bmax: {visits['b_min'] and visits['b_max']}")

# %%
# ``planned`` is the policy's trajectory, ``realised`` the batch size each epoch actually trained at
# (recorded in the run's history); ``lr / B`` is the gradient-noise temperature of the epoch. The
# cycle lines check what the policy promises: its first cycle spans the whole range.
#
# Exponential increase or decrease?
# ---------------------------------
ratios = " ".join(f"{r:.3g}" for r in trajectory["ratios_first_cycle"])
print(f"exp_range decay of the excursion towards bmin per cycle: gamma^(2 step) = {trajectory['decay_per_cycle']:.3f}")
print(f"smallest batch size per cycle: {trajectory['cycle_minima']}"
      + ("" if trajectory["minima_increase"] is None else
         f" ({'rising' if trajectory['minima_increase'] else 'not rising'} from cycle to cycle)"))
print(f"batch-size ratio from epoch to epoch in the first cycle: {ratios}; a constant factor (geometric): "
      f"{'cannot tell (fewer than two changes)' if trajectory['geometric'] is None else trajectory['geometric']}")
print(f"last epoch at batch {trajectory['final_batch_size']} ({trajectory['final_excursion']:.2f} of the excursion "
      "towards bmin)")
if trajectory["direction"] == "increase":
    observed = {None: "one cycle in this run, so the drift is the policy's, not yet seen in the run",
                True: "the cycle minima of this run rise", False: "yet the cycle minima of this run do not rise"}
    direction_text = (f"increase: the excursion towards bmin shrinks by a factor {trajectory['decay_per_cycle']:.3f} "
                      "per cycle, so over the cycles the batch size drifts exponentially up towards bmax and the "
                      "noise lr/B down, as the CLR's exp_range drifts down to lr_min "
                      f"({observed[trajectory['minima_increase']]})")
else:
    direction_text = "neither increase nor decrease: without decay every cycle repeats the whole range"
print(direction_text)

# %%
# The exponential part of the trajectory is the ``exp_range`` decay: it shrinks each cycle's
# excursion towards the high-noise end, bmin, by the printed factor. Its direction is therefore an
# **increase** of the batch size over training (the cycle minima rise; they are printed above when
# the run has more than one cycle), the counterpart of the decreasing learning rate. Within a cycle
# the batch size does not change by a constant factor per epoch: ``1 / B``, not ``log B``, moves
# linearly, so that the noise ``lr / B`` follows the same triangle as the CLR's learning rate.
#
# Learning curves with the batch size beneath
# -------------------------------------------
history = cbs_run["history"]
epoch_edges = np.arange(len(history["batch_size"]) + 1)
fig, axes = new_figure(nrows=3, height=2.1, sharex=True)
plot_policy_run(axes, history, epoch_edges, np.append(history["batch_size"], history["batch_size"][-1]),
                "batch size", trace_step=True)
axes[0].set_title(f"CBS exp_range, lr {cbs_run['lr']:.2g}, batch {cbs_run['b_min']}–{cbs_run['b_max']}")
plt.show()

# %%
# Top: cross-entropy, middle: accuracy, bottom: the batch size of each epoch (log2 scale).
low, high = cbs_run["test_accuracy_ci95"]
at_b_min = cbs_run["epochs"] * (cbs_run["setup"]["train_images"] // cbs_run["b_min"])
print(f"optimizer updates: {cbs_run['updates']} (a constant batch of {cbs_run['b_min']} would make {at_b_min})")
print(f"validation accuracy: best {100 * cbs_run['best_val_accuracy']:.1f} % (epoch {cbs_run['best_val_epoch']}), "
      f"final {100 * cbs_run['final_val_accuracy']:.1f} %")
print(f"test accuracy {100 * cbs_run['test_accuracy']:.2f} % (95 % Wilson interval "
      f"{100 * low:.1f}–{100 * high:.1f} %); "
      f"test loss {cbs_run['test_loss']:.3f}; training time {cbs_run['seconds']:.0f} s")
print(f"noise lr/B: hottest {temperature.max():.3g} (batch {int(trajectory['realised'].min())}), coldest "
      f"{temperature.min():.3g} (batch {int(trajectory['realised'].max())}), last epoch {temperature[-1]:.3g}")

# %%
# The number of updates is what the cyclical batch size trades: at the same learning rate and the
# same number of epochs, every epoch at a large batch is an epoch of fewer, less noisy steps.
#
# The noise-matched arm
# ---------------------
matched = matched_run["matched"]
matched_config = matched_result.config
matched_trajectory = cbs_trajectory(matched_run, matched_config["step_epochs"])
print(f"lr = lr_max = {matched_run['lr']:.3g}; bmin = {matched['b_min']} (the CLR's batch size)")
print(f"bmax = {matched['b_min']} x lr_max / lr_min = {matched['exact_b_max']:.0f}, rounded to a multiple of "
      f"{matched['b_min']} and capped at {matched['cap']} (the smaller of b_cap = {matched_config['b_cap']} and the "
      f"training set): bmax = {matched['b_max']}; the cap {'cut it' if matched['capped'] else 'did not bite'}")
print("realised batch sizes:", " ".join(str(b) for b in matched_trajectory["realised"]),
      f"(as planned: {matched_trajectory['as_planned']}); first cycle visits bmin and bmax: "
      f"{all(matched_trajectory['first_cycle_visits'].values())}; {matched_run['updates']} optimizer updates")
clr_temperature = noise_trace(clr_run)["lr_over_b"]
matched_temperature = noise_trace(matched_run)["lr_over_b"]
ratio = matched_temperature / clr_temperature
print(f"matched lr/B over the CLR's lr/{clr_result.config['batch_size']}, per epoch: "
      + " ".join(f"{r:.2g}" for r in ratio))

# %%
# With the cap, the matched arm's coldest point is ``lr_max / bmax`` instead of the CLR's
# ``lr_min / 64``; the ratio line shows how closely its epoch-level temperature follows the CLR's
# epoch mean (1 = exactly; the CLR's rate moves within an epoch, the batch size only between
# epochs).
fig, ax = new_figure(height=3.0)
plot_noise_temperature(ax, {"CLR": clr_temperature, "CBS": temperature, "matched CBS": matched_temperature})
ax.set_title("gradient-noise temperature per epoch")
ax.legend(fontsize=8)
plt.show()

# %%
# The three temperature curves, one step per epoch, on a log axis: the line below puts the homework
# CBS's hottest epoch against the CLR's coldest; 4.7 compares the policies with the constant
# learning rate and asks what that ratio means for the comparison.
print(f"homework CBS hottest epoch lr/B {temperature.max():.3g} = {temperature.max() / clr_temperature.min():.2g} x "
      f"the CLR's coldest epoch ({clr_temperature.min():.3g}); matched CBS spans {matched_temperature.min():.3g} to "
      f"{matched_temperature.max():.3g}, the CLR {clr_temperature.min():.3g} to {clr_temperature.max():.3g}")

# %%
# A ratio below 1 means the homework's CBS is never as noisy as the CLR at its quietest.
report.answer(
    "4.6",
    f"CBS exp_range (1/B linear in the triangle, CLR's dual) between {cbs_run['b_min']} and {cbs_run['b_max']} at "
    f"lr {cbs_run['lr']:.2g} ({cbs_run['epochs']} epochs, {cbs_run['updates']} updates; first cycle visits bmin and "
    f"bmax: {visits['b_min'] and visits['b_max']}): test accuracy {100 * cbs_run['test_accuracy']:.1f} % (95 % CI "
    f"{100 * low:.1f}–{100 * high:.1f} %). Exponential {direction_text}. Noise-matched arm at lr "
    f"{matched_run['lr']:.2g}, batch {matched['b_min']}–{matched['b_max']} (cap {matched['cap']} "
    f"{'bit' if matched['capped'] else 'did not bite'}): test accuracy {100 * matched_run['test_accuracy']:.1f} %.",
    cbs_result,
)
