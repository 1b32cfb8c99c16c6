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

A second, **noise-matched** arm runs at the fixed rate lr_max and sets its batch size at every
update so that ``lr / B`` traces the CLR's ``lr(t) / 64``
(:class:`hw2.schedules.NoiseMatchedBatchSize`): each update takes the images of the CLR's next
``k`` steps whose learning rates sum to about lr_max, so ``B = 64 k`` and both runs apply the same
total step length to the same images. Its nominal bounds are bmin = 64 (a CLR step at lr_max) and
bmax = ``64 * lr_max / lr_min`` (a step at lr_min), rounded and capped; which of them it reaches,
the CLR decides, and the page computes why.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from hw2 import experiments, report
from hw2.experiments import p4_policies
from hw2.experiments.p4_finders_analysis import setup_sentence
from hw2.experiments.p4_policies_analysis import (
    cbs_trajectory,
    matched_trace,
    noise_trace,
    run_summary,
    training_progress,
)
from hw2.plotting import new_figure, plot_noise_temperature, plot_policy_run

cbs_result = experiments.run("p4.cbs", fallback=True)
matched_result = experiments.run("p4.cbs_matched", fallback=True)
clr_result = experiments.run("p4.clr", fallback=True)
sweep_result = experiments.run("p4.lr_sweep", fallback=True)  # the untrained loss, for "how far it trained"
report.banner(cbs_result, matched_result, clr_result, sweep_result)
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
cbs_summary = run_summary(cbs_run)
low, high = cbs_summary["test_accuracy_ci95"]
at_b_min = cbs_run["epochs"] * (cbs_run["setup"]["train_images"] // cbs_run["b_min"])
print(f"optimizer updates: {cbs_run['updates']} (a constant batch of {cbs_run['b_min']} would make {at_b_min})")
print(f"validation accuracy: best {100 * cbs_summary['best_val_accuracy']:.1f} % (epoch "
      f"{cbs_summary['best_val_epoch']}), final {100 * cbs_summary['final_val_accuracy']:.1f} %")
print(f"test accuracy {100 * cbs_run['test_accuracy']:.2f} % (95 % Wilson interval "
      f"{100 * low:.1f}–{100 * high:.1f} %); "
      f"test loss {cbs_run['test_loss']:.3f}; training time {cbs_run['seconds']:.0f} s")
print(f"noise lr/B: hottest {temperature.max():.3g} (batch {int(trajectory['realised'].min())}), coldest "
      f"{temperature.min():.3g} (batch {int(trajectory['realised'].max())}), last epoch {temperature[-1]:.3g}")

# %%
# The number of updates is what the cyclical batch size trades: at the same learning rate and the
# same number of epochs, every epoch at a large batch is an epoch of fewer, less noisy steps.
#
# How far did it train?
# ---------------------
# SGD moves the weights by the learning rate times a gradient per update, so the sum of the
# learning rates over all updates (the summed step length) bounds how far it can travel. The CBS
# runs at lr_min, the bottom of the CLR's range, and makes fewer updates than a batch of 64.
progress = training_progress(cbs_run, clr_run, sweep_result.data["reference_loss"])
clr_accuracy = clr_run["test_accuracy"]
print(f"summed step length: CBS {progress['step_length']:.3g}, CLR {progress['reference_step_length']:.3g} "
      f"({progress['step_ratio']:.2g} x the CLR's)")
print(f"training loss: untrained {sweep_result.data['reference_loss']:.3f}, CBS last epoch "
      f"{progress['final_loss']:.3f}, CLR last epoch {progress['reference_final_loss']:.3f}: the CBS went "
      f"{100 * progress['fraction']:.0f} % of the CLR's way down")
trained_text = (f"the homework CBS {progress['words']}: {100 * cbs_run['test_accuracy']:.1f} % test accuracy against "
                f"the CLR's {100 * clr_accuracy:.1f} %, because its summed step length is {progress['step_ratio']:.2g} "
                "x the CLR's (lr_min on every update, and fewer updates)")
print(trained_text)

# %%
# The fraction compares training losses, which are measured on the same images after the same
# epochs; the summed step length says why: the increase of the batch size is the right direction,
# but at lr_min with batches of at least 64, no epoch of it can be hotter than the CLR at lr_min
# with batch 64 (the ratio is printed at the end of this page).
#
# The noise-matched arm
# ---------------------
matched = matched_run["matched"]
matched_config = matched_result.config
reach = p4_policies.stored_matched_reach(matched_config)  # the CLR's reach, read from the stored config
trace = matched_trace(matched_run, matched_config["step_epochs"])
print(f"lr = lr_max = {matched_run['lr']:.3g}; one update = the images of the CLR's next k steps whose rates sum to "
      f"about lr_max, B = {matched['b_min']} k")
print(f"nominal bmin = {matched['b_min']} (a CLR step at lr_max); bmax = {matched['b_min']} x lr_max / lr_min = "
      f"{matched['exact_b_max']:.0f}, rounded and capped at {matched['cap']} (the smaller of b_cap = "
      f"{matched_config['b_cap']} and the training set): bmax = {matched['b_max']}; the cap "
      f"{'cut it' if matched['capped'] else 'did not bite'}")
print(f"{matched_run['updates']} optimizer updates at {trace['distinct']} batch sizes from {trace['smallest']} to "
      f"{trace['largest']} (realised = planned: {trace['as_planned']})")
for cycle in trace["cycles"]:
    print(f"cycle epochs {cycle['epochs'][0]}-{cycle['epochs'][1]}: {cycle['updates']} updates, batch "
          f"{cycle['smallest']}..{cycle['largest']}")
low_ratio, high_ratio = trace["ratio_range"]
print(f"matched lr/B over the CLR's mean lr/{matched_run['clr_batch']} on the same images, per update: median "
      f"deviation {100 * (np.exp(trace['ratio_median_abs_log']) - 1):.1f} %, 5-95 % range {low_ratio:.2f}-"
      f"{high_ratio:.2f} (the last update, cut short by the end of the run, left out)")

# %%
# What the CLR lets the mirror reach
# ----------------------------------
hot_fraction = reach["max_rate"] / matched_run["lr"]
print(f"hot end: the CLR's hottest step has lr {reach['max_rate']:.3g} = {hot_fraction:.2f} x lr_max "
      f"(exp_range has decayed by its first peak), the batch of {reach['b_hottest_exact']:.0f}; the nearest multiple "
      f"of {matched['b_min']} in ratio is {trace['smallest']}: bmin visited: {trace['visits_b_min']}")
window = reach["window_steps"]
if trace["visits_b_max"]:
    cold_text = (f"cold end: the coldest {window} consecutive CLR steps (the images of one batch of "
                 f"{matched['b_max']}) sum to {reach['coldest_window_over_lr']:.2f} x lr_max, so one update of "
                 f"{matched['b_max']} matches them: bmax visited")
else:
    cold_text = (f"cold end: even the coldest {window} consecutive CLR steps (the images of one batch of "
                 f"{matched['b_max']}) sum to {reach['coldest_window_over_lr']:.2f} x lr_max: one update of "
                 f"{matched['b_max']} would be {reach['coldest_window_over_lr']:.1f} x colder than the CLR on the same "
                 f"images, so the largest faithful batch is {trace['largest']}; bmax visited: False")
print(cold_text)
full = p4_policies.matched_plan_at("full", matched_config["lr_min"], matched_config["lr_max"])
print(f"the same bounds at the full specification (step {full['step_epochs']} epochs of {full['steps_per_epoch']} "
      f"steps): batch {full['smallest']} to {full['largest']}, bmax = {full['bounds']['b_max']} visited: "
      f"{full['largest'] == full['bounds']['b_max']}")

# %%
# A batch size can only be as long-lived as an update: the mirror reaches the cap where the CLR
# stays near lr_min for the images of one whole batch of bmax. The lines above compute whether
# it does at this profile and at the full specification, from the CLR of this run. The bottom end
# is the CLR's own: ``exp_range`` decays from the first step on, so its hottest step is the printed
# fraction of lr_max, and the mirror's smallest batch is that step's batch, rounded.
clr_epoch = np.asarray(clr_run["lr_trace_iteration"], float) / clr_run["iterations_per_epoch"]
clr_edges = np.append(clr_epoch, clr_run["epochs"])
matched_edges = np.append(trace["start_epoch"], matched_run["epochs"])
clr_batch = clr_result.config["batch_size"]
fig, ax = new_figure(height=3.2)
plot_noise_temperature(ax, {"CLR": (clr_edges, np.asarray(clr_run["lr_trace"], float) / clr_batch),
                            "CBS": temperature, "matched CBS": (matched_edges, trace["lr_over_b"])})
ax.set_title("lr / B: CLR per step, matched CBS per update, CBS per epoch")
ax.legend(fontsize=8)
plt.show()

# %%
# On a log axis: the CLR's ``lr / 64`` at every step, the matched arm's ``lr_max / B`` at every
# update (each step as wide as the images it takes), the homework CBS per epoch.
clr_temperature = noise_trace(clr_run)["lr_over_b"]
matched_temperature = noise_trace(matched_run)["lr_over_b"]
print(f"homework CBS hottest epoch lr/B {temperature.max():.3g} = {temperature.max() / clr_temperature.min():.2g} x "
      f"the CLR's coldest epoch ({clr_temperature.min():.3g}); epoch means: matched CBS "
      f"{matched_temperature.min():.3g} to {matched_temperature.max():.3g}, the CLR {clr_temperature.min():.3g} to "
      f"{clr_temperature.max():.3g}")

# %%
# A ratio below 1 means the homework's CBS is never as noisy as the CLR at its quietest.
short_direction = ("increase: the batch size drifts up and the noise lr/B down as the CLR's rate decays"
                   if trajectory["direction"] == "increase"
                   else "neither: without decay every cycle repeats the whole range")
report.answer(
    "4.6",
    f"Exponential {short_direction}. The homework CBS ({cbs_run['b_min']}–{cbs_run['b_max']} at lr "
    f"{cbs_run['lr']:.2g}) reaches {100 * cbs_run['test_accuracy']:.1f} % test accuracy (95 % "
    f"Wilson interval {100 * low:.1f}–{100 * high:.1f} %); the noise-matched CBS at lr "
    f"{matched_run['lr']:.2g}, {100 * matched_run['test_accuracy']:.1f} %.",
    cbs_result,
)
