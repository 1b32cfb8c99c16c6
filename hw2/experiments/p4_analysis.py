"""Problem 4 analysis: what the pages compute from the stored P4 results (no training here).

* :func:`setup_sentence` -- the data and network behind a result, in plain words;
* :func:`lr_agreement` -- do the LR sweep and the range test give the same bounds (4.2)?
* :func:`shape_similarity` -- is loss vs batch size the loss-vs-LR curve seen through ``lr / B`` (4.4)?
* :func:`noise_trace`, :func:`lr_budget` -- gradient-noise temperature ``lr / B`` and the sum of
  learning rates over a policy run (4.6, 4.7);
* :func:`compare_policies` -- 4.7's table, ranking and paired differences over seeds;
* :func:`reference_gap` -- the distance to pyimagesearch's published CLR accuracy, and why.
"""

from __future__ import annotations

import math

import numpy as np

from hw2 import stats

# pyimagesearch, "Cyclical Learning Rates with Keras and Deep Learning" (2019): the published
# MiniGoogLeNet trained with a cyclical LR at batch 64 on all 60 000 Fashion-MNIST training images
# reaches 94 % test accuracy.
PYIMAGESEARCH_CLR_ACCURACY = 0.94
FULL_SPEC_EPOCHS = 48  # this homework's CLR: step 8 epochs, 3 cycles


def setup_sentence(setup: dict) -> str:
    """Plain words for the data and network behind a result (what a reduced profile changed).

    Example:
        >>> setup_sentence({"train_images": 2048, "validation_images": 1000, "test_images": 2000,
        ...                 "width": 1.0, "published_network": True, "bn_momentum": 0.99})[:59]
        'MiniGoogLeNet (the published width), 2048 of 54000 training'
    """
    if setup["published_network"]:
        net = "MiniGoogLeNet (the published width)"
    else:
        net = f"MiniGoogLeNet with every filter count x {setup['width']:g} (narrower than the published network)"
    bn = setup.get("bn_momentum", 0.99)
    bn_note = "" if bn == 0.99 else f" (batch-norm moving-statistics momentum {bn:g} instead of Keras' 0.99)"
    precision = setup.get("precision", "float32")
    precision_note = "" if precision == "float32" else f", {precision} compute"
    return (f"{net}{bn_note}{precision_note}, {setup['train_images']} of 54000 training, "
            f"{setup['validation_images']} of 6000 validation and {setup['test_images']} of 10000 test images")


def lr_agreement(sweep: dict, range_test: dict) -> dict:
    """Do the sweep (4.2) and the range test suggest the same bounds?

    They *agree* on a bound only when it differs by at most one grid step of the sweep (the sweep
    cannot resolve finer); otherwise ``ratio`` says how many times larger one is than the other.

    Example:
        >>> s = {"lr_min": 1e-4, "lr_max": 1e-2, "sweep": {"learning_rates": np.logspace(-9, 1, 11)}}
        >>> out = lr_agreement(s, {"lr_min": 3e-4, "lr_max": 1e-4})
        >>> out["agree"], round(out["ratio"]["lr_max"], 1)
        ({'lr_min': True, 'lr_max': False}, 100.0)
    """
    grid = np.log10(np.asarray(sweep["sweep"]["learning_rates"], dtype=float))
    spacing = float(np.mean(np.diff(grid)))
    out = {"grid_spacing_decades": spacing, "decades": {}, "ratio": {}, "agree": {}}
    for bound in ("lr_min", "lr_max"):
        d = abs(math.log10(range_test[bound]) - math.log10(sweep[bound]))
        out["decades"][bound] = d
        out["ratio"][bound] = 10.0 ** d
        out["agree"][bound] = bool(d <= spacing + 1e-9)
    return out


def agreement_sentence(agreement: dict, names=("the sweep", "the range test")) -> str:
    """One sentence per bound: within one grid step, or how many times apart.

    Example:
        >>> text = agreement_sentence({"grid_spacing_decades": 1.1, "decades": {"lr_min": 0.3, "lr_max": 1.5},
        ...     "ratio": {"lr_min": 2.0, "lr_max": 31.6}, "agree": {"lr_min": True, "lr_max": False}})
        >>> for part in text.split("; "): print(part)
        lr_min: within one grid step (1.1 decades) of each other
        lr_max: 31.6 times apart (1.5 decades, more than one grid step)
    """
    parts = []
    for bound in ("lr_min", "lr_max"):
        if agreement["agree"][bound]:
            step = agreement["grid_spacing_decades"]
            parts.append(f"{bound}: within one grid step ({step:.1f} decades) of each other")
        else:
            parts.append(f"{bound}: {agreement['ratio'][bound]:.1f} times apart ({agreement['decades'][bound]:.1f} "
                         "decades, more than one grid step)")
    return "; ".join(parts)


def shape_similarity(lr_sweep_data: dict, batch_sweep_data: dict) -> dict:
    """4.4's question: is loss vs batch size the loss-vs-LR curve seen through ``lr / B``?

    For plain SGD the displacement per epoch and the gradient noise both scale with ``lr / B``
    (``N / B`` updates of size ``lr``; noise scale ``g ~ lr N / B``, Smith & Le 2018). So the batch
    sweep at the fixed rate ``lr`` should reproduce the LR sweep (batch ``b0``) at the *equivalent*
    learning rate ``lr * b0 / B``. This reads the LR sweep's loss at each equivalent rate (linear
    interpolation in log lr between finite, non-diverged points) and reports the deviations, their
    largest value as a fraction of the batch curve's own span (max - min of the batch sweep's
    losses: a deviation is large or small relative to what the batch sweep itself varies), rank
    correlations of loss with the 'noise' coordinate (``log lr`` and ``-log B``) and where each curve
    has its minimum.

    Example:
        >>> lr = {"sweep": {"learning_rates": [1e-3, 1e-2, 1e-1], "diverged": [False] * 3, "batch_size": 64},
        ...       "final_losses": [2.0, 1.0, 0.5]}
        >>> bs = {"lr": 1e-2, "sweep": {"batch_sizes": [64, 128, 640], "diverged": [False] * 3},
        ...       "final_losses": [1.0, 0.9, 2.0]}
        >>> out = shape_similarity(lr, bs)
        >>> out["equivalent_lr"].round(3).tolist(), out["lr_curve_at_equivalent"].round(2).tolist()
        ([0.01, 0.005, 0.001], [1.0, 1.3, 2.0])
        >>> out["spearman"], round(out["max_deviation_fraction"], 2)
        ({'loss_vs_log_lr': -1.0, 'loss_vs_minus_log_batch': -0.5}, 0.36)
    """

    def curve(xs, losses, diverged):
        xs, losses = np.asarray(xs, float), np.asarray(losses, float)
        ok = np.isfinite(losses) & ~np.asarray(diverged, bool)
        return xs[ok], losses[ok]

    lrs, lr_loss = curve(lr_sweep_data["sweep"]["learning_rates"], lr_sweep_data["final_losses"],
                         lr_sweep_data["sweep"]["diverged"])
    bss, bs_loss = curve(batch_sweep_data["sweep"]["batch_sizes"], batch_sweep_data["final_losses"],
                         batch_sweep_data["sweep"]["diverged"])

    def spearman(a, b):
        if len(a) < 3:
            return math.nan
        ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
        return float(np.corrcoef(ra, rb)[0, 1])

    def where_min(losses):
        i = int(np.argmin(losses))
        return "first" if i == 0 else "last" if i == len(losses) - 1 else "interior"

    equivalent = float(batch_sweep_data["lr"]) * int(lr_sweep_data["sweep"]["batch_size"]) / bss
    inside = (equivalent >= lrs.min() * (1 - 1e-9)) & (equivalent <= lrs.max() * (1 + 1e-9))
    on_lr_curve = np.full(len(bss), np.nan)
    on_lr_curve[inside] = np.interp(np.log10(equivalent[inside]), np.log10(lrs), lr_loss)
    deviation = bs_loss - on_lr_curve
    batch_span = float(bs_loss.max() - bs_loss.min()) if len(bs_loss) else math.nan
    worst = float(np.nanmax(np.abs(deviation))) if np.isfinite(deviation).any() else math.nan
    return {
        "equivalent_lr": equivalent, "batch_sizes": bss, "batch_losses": bs_loss,
        "lr_curve_at_equivalent": on_lr_curve, "deviation": deviation,
        "max_abs_deviation": worst, "batch_curve_span": batch_span,
        "max_deviation_fraction": worst / batch_span if batch_span and np.isfinite(worst) else math.nan,
        "spearman": {"loss_vs_log_lr": spearman(np.log10(lrs), lr_loss),
                     "loss_vs_minus_log_batch": spearman(-np.log2(bss), bs_loss)},
        "minimum_at": {"lr": where_min(lr_loss), "batch": where_min(bs_loss)},
        "finite_points": {"lr": int(len(lrs)), "batch": int(len(bss))},
        "points_on_lr_curve": int(np.isfinite(on_lr_curve).sum()),
    }


def noise_trace(run: dict) -> dict:
    """Per epoch of a policy run: the learning rate, the batch size and the noise temperature ``lr / B``.

    The CLR's rate changes within an epoch; its epoch value is the mean over the epoch's updates
    (from the stored per-update trace). Returns arrays ``epoch`` (1-based), ``lr``, ``batch_size``,
    ``lr_over_b`` and the run's total ``updates``.

    Example:
        >>> run = {"lr": 0.1, "history": {"batch_size": [64, 128], "steps": [10, 5]}}
        >>> noise_trace(run)["lr_over_b"].tolist(), noise_trace(run)["updates"]
        ([0.0015625, 0.00078125], 15)
    """
    history = run["history"]
    batch = np.asarray(history["batch_size"], dtype=float)
    epochs = np.arange(1, len(batch) + 1)
    if "lr_trace" in run:  # per-update trace, sampled at lr_trace_iteration
        t = np.asarray(run["lr_trace_iteration"], dtype=float)
        trace = np.asarray(run["lr_trace"], dtype=float)
        per_epoch = run["iterations_per_epoch"]
        lr = np.array([trace[(t >= e * per_epoch) & (t < (e + 1) * per_epoch)].mean() for e in range(len(batch))])
    else:
        lr = np.full(len(batch), float(run["lr"]))
    return {"epoch": epochs, "lr": lr, "batch_size": batch, "lr_over_b": lr / batch,
            "updates": int(np.sum(history["steps"]))}


def lr_budget(run: dict) -> float:
    """Sum of the learning rates of all optimizer updates of a policy run (how far SGD may travel).

    CLR: the schedule summed over its iterations; constant LR and CBS: ``lr`` times the updates.

    Example:
        >>> lr_budget({"lr": 0.01, "history": {"steps": [100, 50]}})
        1.5
    """
    if "lr_trace" in run:
        return float(np.mean(run["lr_trace"]) * run["iterations_per_epoch"] * len(run["history"]["steps"]))
    return float(run["lr"] * np.sum(run["history"]["steps"]))


def compare_policies(per_run: dict) -> dict:
    """Table and verdict of 4.7 from ``{policy: {seed: run_data}}``.

    Per policy: mean and sd over seeds of the best validation accuracy and the final test accuracy.
    Per pair: the paired (same seed) test-accuracy difference. The winner is the policy with the
    highest mean test accuracy; its margin over the runner-up is compared with the seed-to-seed
    spread (pooled sd over policies).

    Example:
        >>> runs = {"A": {0: {"test_accuracy": .90, "best_val_accuracy": .91},
        ...               1: {"test_accuracy": .92, "best_val_accuracy": .93}},
        ...         "B": {0: {"test_accuracy": .80, "best_val_accuracy": .81},
        ...               1: {"test_accuracy": .81, "best_val_accuracy": .80}}}
        >>> out = compare_policies(runs)
        >>> out["winner"], round(out["margin"], 3)
        ('A', 0.105)
    """
    table = {}
    for policy, runs in per_run.items():
        seeds = sorted(runs)
        test = np.array([runs[s]["test_accuracy"] for s in seeds], dtype=float)
        val = np.array([runs[s]["best_val_accuracy"] for s in seeds], dtype=float)
        table[policy] = {
            "seeds": seeds, "test_accuracy": test, "best_val_accuracy": val,
            "test_mean": float(test.mean()), "test_sd": float(test.std(ddof=1)) if len(test) > 1 else math.nan,
            "val_mean": float(val.mean()), "val_sd": float(val.std(ddof=1)) if len(val) > 1 else math.nan,
        }
    ranking = sorted(table, key=lambda p: -table[p]["test_mean"])
    winner, runner_up = ranking[0], ranking[1]
    margin = table[winner]["test_mean"] - table[runner_up]["test_mean"]
    variances = [table[p]["test_sd"] ** 2 for p in table if np.isfinite(table[p]["test_sd"])]
    spread = float(math.sqrt(np.mean(variances))) if variances else math.nan
    pairs = {}
    for i, a in enumerate(ranking):
        for b in ranking[i + 1:]:
            common = sorted(set(table[a]["seeds"]) & set(table[b]["seeds"]))
            pairs[f"{a} - {b}"] = stats.paired_difference([per_run[a][s]["test_accuracy"] for s in common],
                                                          [per_run[b][s]["test_accuracy"] for s in common])
    return {"table": table, "ranking": ranking, "winner": winner, "runner_up": runner_up, "margin": float(margin),
            "seed_sd": spread, "margin_over_sd": float(margin / spread) if spread and spread > 0 else math.inf,
            "pairs": pairs}


def reference_gap(test_accuracy: float, setup: dict, epochs: int) -> dict:
    """How far a CLR run's test accuracy is from pyimagesearch's 94 %, and what differs from that run.

    Example:
        >>> out = reference_gap(0.88, {"train_images": 8192, "width": 0.125, "published_network": False}, 8)
        >>> round(out["gap_points"], 1), out["causes"][0]
        (6.0, '8192 instead of 60000 training images')
    """
    causes = []
    if setup["train_images"] < 54000:
        causes.append(f"{setup['train_images']} instead of 60000 training images")
    if not setup.get("published_network", True):
        causes.append(f"every filter count x {setup['width']:g} (the published network has "
                      "1,654,522 parameters)")
    if epochs < FULL_SPEC_EPOCHS:
        causes.append(f"{epochs} instead of the full specification's {FULL_SPEC_EPOCHS} epochs")
    return {"reference": PYIMAGESEARCH_CLR_ACCURACY, "gap_points": 100 * (PYIMAGESEARCH_CLR_ACCURACY - test_accuracy),
            "causes": causes}
