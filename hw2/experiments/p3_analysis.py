"""Problem 3 analysis: what the pages compute from the stored ``p3.lenet`` result (no training here).

:mod:`hw2.experiments.p3_lenet` stores what training produced per variant and seed (curves, epochs,
train and test numbers, BN parameters, drift, variance-shift statistics), each variant's headline
numbers and the paired test-accuracy differences of its ``COMPARISONS``. Every other reading,
threshold and verdict is here and runs when a page renders, so changing one recomputes nothing
(this module is one of :data:`hw2.experiments.RENDER_ONLY_MODULES`; no computation imports it).

* :func:`labels` -- the variants' display names; :data:`METRICS` -- how each metric of
  :data:`hw2.experiments.p3_lenet.METRIC_NAMES` is worded;
* :func:`outcome`, :func:`verdict`, :func:`difference_text` -- a paired comparison
  (:func:`hw2.experiments.p3_lenet.comparison`) in words, from its Student-t interval;
* :func:`accuracy_table`, :func:`loss_table`, :func:`bn_table` -- plain-text and row tables;
* :func:`unconverged`, :func:`late_change`, :func:`epochs_table`, :func:`convergence_note`,
  :func:`convergence_report`, :func:`convergence_status` -- did every run converge by the stopping
  rule, or did the epoch cap end some?
* :func:`fit_reading` -- does a regularizer trail because it fits the training set less (3.4, 3.5)?
* :func:`validation_accuracy`, :func:`dropout_arm` -- which dropout arm the 3.4 answer uses, chosen
  on the validation split;
* :func:`resolution`, :func:`seeds_needed` -- how small a paired difference the seeds can resolve;
* :func:`same_seed_agreement` -- how close two variants trained with the same seed end up (3.3);
* :func:`variance_shift_per_seed`, :func:`bn_layers_after_dropout`, :func:`variance_shift_table`,
  :func:`variance_shift_reading` -- the variance shift of BN after dropout (3.5);
* :func:`typical_unit`, :func:`relative_spread`, :func:`drift_table`, :func:`drift_reading` --
  the drift of the ``fc2`` nonlinearity's inputs, with and without BN (3.1).
"""

from __future__ import annotations

import keras
import numpy as np

from hw2 import covariate_shift, stats
from hw2.experiments.p3_lenet import (
    VARIANTS,
    LeNetConfig,
    comparison,
    metric_values,
    paired_comparison,
    variant_options,
)
from hw2.models import lenet5


# ------------------------------------------------------------------------------ names and wording
def labels(variants) -> dict:
    """``{variant: its label}``, e.g. ``'3.2 BN hidden'``."""
    return {v: VARIANTS[v]["label"] for v in variants}


# How to word a paired comparison of each metric of p3_lenet.METRIC_NAMES (its per-seed values:
# p3_lenet.metric_values): what it is, its unit and scale, and which direction is better.
METRICS = {
    "test_accuracy": {"what": "test accuracy", "scale": 100.0, "unit": " points", "digits": 2,
                      "higher_is_better": True},
    "train_accuracy": {"what": "training accuracy", "scale": 100.0, "unit": " points", "digits": 2,
                       "higher_is_better": True},
    "test_loss": {"what": "test loss", "scale": 1.0, "unit": "", "digits": 4, "higher_is_better": False},
    "train_loss": {"what": "training loss", "scale": 1.0, "unit": "", "digits": 4, "higher_is_better": False},
    "loss_gap": {"what": "test − training loss gap", "scale": 1.0, "unit": "", "digits": 4,
                 "higher_is_better": False},
    "best_epoch": {"what": "best epoch", "scale": 1.0, "unit": " epochs", "digits": 1, "higher_is_better": False,
                   "words": ("earlier", "later")},
    # read off the stored curves here (validation_accuracy), not a stored metric of p3_lenet
    "val_accuracy": {"what": "validation accuracy", "scale": 100.0, "unit": " points", "digits": 2,
                     "higher_is_better": True},
}


def outcome(diff: dict) -> str:
    """``'better'``, ``'worse'`` (``a`` vs ``b``, in the metric's direction) or ``'unclear'``
    (the paired 95 % interval contains 0).

    Example:
        >>> outcome({"metric": "test_loss", "mean_diff": -0.01, "significant": True})
        'better'
    """
    if not diff.get("significant"):
        return "unclear"
    higher = METRICS[diff.get("metric", "test_accuracy")]["higher_is_better"]
    return "better" if (diff["mean_diff"] > 0) == higher else "worse"


def verdict(diff: dict, labels: dict | None = None) -> str:
    """One sentence for a comparison from its paired t interval (accuracy in points, losses in nats).

    Example:
        >>> d = {"a": "x", "b": "y", "mean_diff": 0.002, "ci_low": 0.001, "ci_high": 0.003,
        ...      "significant": True, "frac_a_better": 1.0, "n": 5, "seed_sd": 0.0005}
        >>> verdict(d)
        'x beats y by 0.20 points (paired 95% CI +0.10 to +0.30; better on 5 of 5 seeds; seed sd 0.05)'
        >>> print(verdict(dict(d, metric="test_loss", mean_diff=-0.02, ci_low=-0.03, ci_high=-0.01,
        ...                    frac_b_better=1.0, seed_sd=0.004)))  # doctest: +NORMALIZE_WHITESPACE
        x's test loss is lower than y's by 0.0200 (paired 95% CI -0.0300 to -0.0100;
        x better on 5 of 5 seeds; seed sd 0.0040)
    """
    labels = labels or {}
    a, b = labels.get(diff["a"], diff["a"]), labels.get(diff["b"], diff["b"])
    metric = diff.get("metric", "test_accuracy")
    spec = METRICS[metric]
    digits, scale = spec["digits"], spec["scale"]
    value, lo, hi = scale * diff["mean_diff"], scale * diff["ci_low"], scale * diff["ci_high"]
    if diff.get("frac_tie") == 1.0:  # an interval "+0.0 to +0.0" says nothing; this does
        return f"{a} and {b} have the same {spec['what']} on all {diff['n']} seeds"
    if metric == "val_accuracy":
        wins = round(diff["frac_a_better"] * diff["n"])
        ci = f"paired 95% CI {lo:+.2f} to {hi:+.2f}; better on {wins} of {diff['n']} seeds"
        if diff["significant"]:
            return (f"{a} {'beats' if value > 0 else 'trails'} {b} on validation accuracy by "
                    f"{abs(value):.2f} points ({ci})")
        return f"no clear difference in validation accuracy between {a} and {b}: {value:+.2f} points ({ci})"
    if metric == "test_accuracy":
        wins = round(diff["frac_a_better"] * diff["n"])
        ci = (f"paired 95% CI {lo:+.2f} to {hi:+.2f}; better on {wins} of {diff['n']} seeds; "
              f"seed sd {100 * diff['seed_sd']:.2f}")
        if diff["significant"]:
            return f"{a} {'beats' if value > 0 else 'trails'} {b} by {abs(value):.2f} points ({ci})"
        return f"no clear difference between {a} and {b}: {value:+.2f} points ({ci})"
    wins = round(diff["frac_a_better" if spec["higher_is_better"] else "frac_b_better"] * diff["n"])
    ci = (f"paired 95% CI {lo:+.{digits}f} to {hi:+.{digits}f}; {a} "
          f"{spec.get('words', ('better',))[0]} on {wins} of {diff['n']} seeds; "
          f"seed sd {scale * diff['seed_sd']:.{digits}f}")
    if diff["significant"]:
        lower, higher = spec.get("words", ("lower", "higher"))
        return (f"{a}'s {spec['what']} is {higher if value > 0 else lower} than {b}'s by "
                f"{abs(value):.{digits}f}{spec['unit']} ({ci})")
    return (f"no clear difference in {spec['what']} between {a} and {b}: "
            f"{value:+.{digits}f}{spec['unit']} ({ci})")


def difference_text(diff: dict) -> str:
    """``'+0.0123, paired 95% CI +0.0050 to +0.0196'`` in the metric's unit (see ``METRICS``)."""
    spec = METRICS[diff.get("metric", "test_accuracy")]
    digits, scale = spec["digits"], spec["scale"]
    return (f"{scale * diff['mean_diff']:+.{digits}f}{spec['unit']}, paired 95% CI "
            f"{scale * diff['ci_low']:+.{digits}f} to {scale * diff['ci_high']:+.{digits}f}")


# ------------------------------------------------------------------------------------------ tables
def bn_table(bn: dict) -> list[dict]:
    """Summary statistics of gamma and beta per BN layer (pooled over seeds and channels), and the
    mean absolute distance from their initial values (gamma 1, beta 0): ``*_mean_abs_change``."""
    rows = []
    for layer, params in bn.items():
        row = {"layer": layer, "channels": int(params["gamma"].shape[-1])}
        for name, start in (("gamma", 1.0), ("beta", 0.0)):
            v = np.asarray(params[name], np.float64).ravel()
            row.update({f"{name}_mean": float(v.mean()), f"{name}_sd": float(v.std()),
                        f"{name}_min": float(v.min()), f"{name}_max": float(v.max()),
                        f"{name}_mean_abs_change": float(np.abs(v - start).mean())})
        rows.append(row)
    return rows


def accuracy_table(variants: dict) -> str:
    """Plain-text table: test accuracy mean ± sd over seeds and the per-seed values, per variant."""
    names = labels(variants)
    width = max(len(label) for label in names.values())
    lines = [f"{'variant':<{width}}  test accuracy (mean ± sd)   per seed (seeds "
             f"{', '.join(str(int(s)) for s in next(iter(variants.values()))['seeds'])})"]
    for name, runs in variants.items():
        acc = 100 * np.asarray(runs["test_accuracy"])
        sd = acc.std(ddof=1) if acc.size > 1 else float("nan")
        lines.append(f"{names[name]:<{width}}  {acc.mean():6.2f} % ± {sd:.2f}            "
                     + "  ".join(f"{a:.2f}" for a in acc))
    return "\n".join(lines)


def late_change(runs: dict, key: str = "val_accuracy", last: int = 2) -> tuple[float, float]:
    """Mean ± sd over seeds of how much ``history[key]`` changed over the ``last`` epochs before the
    best (restored) epoch: near 0 when the curve had flattened (``nan`` when too few epochs)."""
    values = np.asarray(runs["history"][key], np.float64)
    change = []
    for curve, best in zip(values, np.asarray(runs["best_epoch"])):
        change.append(curve[best - 1] - curve[best - 1 - last] if best - 1 - last >= 0 else np.nan)
    change = np.asarray(change)
    if np.isnan(change).all():
        return float("nan"), float("nan")
    sd = float(np.nanstd(change, ddof=1)) if np.sum(~np.isnan(change)) > 1 else float("nan")
    return float(np.nanmean(change)), sd


# ------------------------------------------------------------------------------ convergence and fit
def unconverged(runs: dict, max_epochs: int, patience: int) -> np.ndarray:
    """Per seed: did the epoch cap, not the stopping rule, end the run? True when the run reached
    ``max_epochs`` with its best validation loss less than ``patience`` epochs before the end (a run
    that reached the cap ``patience`` epochs after its best would have stopped there anyway)."""
    epochs_run, best = np.asarray(runs["epochs_run"]), np.asarray(runs["best_epoch"])
    return (epochs_run >= max_epochs) & (best > max_epochs - patience)


def _text_table(header: list[str], rows: list[list[str]]) -> str:
    """Columns padded to their widest cell: the first left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in
                               enumerate(zip(row, widths))) for row in [header, *rows])


def epochs_table(variants: dict, max_epochs: int, patience: int) -> str:
    """Plain-text table: per variant, the best (restored) epoch and the epochs run of every seed,
    how many runs reached the cap and how many of those were still improving there, and how much the
    validation accuracy still rose over the 2 epochs before the best one (:func:`late_change`, mean ± sd
    over seeds; near 0 when the curve had flattened)."""
    names = labels(variants)
    rows = []
    for name, runs in variants.items():
        best, run = np.asarray(runs["best_epoch"]), np.asarray(runs["epochs_run"])
        rows.append([names[name], f"{best.mean():.1f} ({' '.join(str(int(e)) for e in best)})",
                     f"{run.mean():.1f} ({' '.join(str(int(e)) for e in run)})",
                     f"{int((run >= max_epochs).sum())} of {len(run)}",
                     f"{int(unconverged(runs, max_epochs, patience).sum())} of {len(run)}"])
        change, change_sd = late_change(runs)
        rows[-1].append("n/a (best epoch < 3)" if np.isnan(change) else
                        f"{100 * change:+.2f} ± {100 * change_sd:.2f}" if np.isfinite(change_sd) else
                        f"{100 * change:+.2f}")
    return _text_table(["variant", "best epoch (seeds)", "epochs run (seeds)", f"at cap {max_epochs}",
                        "improving at cap", "val. acc. rise, 2 epochs to best"], rows)


def convergence_note(variants: dict, max_epochs: int, patience: int) -> str:
    """One sentence: did every run end by the stopping rule, or did the cap end some (and which)?"""
    names = labels(variants)
    at_cap = {v: int((np.asarray(r["epochs_run"]) >= max_epochs).sum()) for v, r in variants.items()}
    improving = {v: int(unconverged(r, max_epochs, patience).sum()) for v, r in variants.items()}
    total = sum(len(r["epochs_run"]) for r in variants.values())
    if not sum(at_cap.values()):
        return (f"all {total} runs stopped before the {max_epochs}-epoch cap, each after {patience} "
                f"epoch{'s' if patience > 1 else ''} without a better validation loss: every one converged "
                f"by the stopping rule")
    where = ", ".join(f"{names[v]} {k}" for v, k in at_cap.items() if k)
    if not sum(improving.values()):
        return (f"{sum(at_cap.values())} of {total} runs reached the {max_epochs}-epoch cap ({where}), but "
                f"each had gone {patience} epochs without a better validation loss by then, so the stopping "
                f"rule would have ended it there too: every run converged by that rule")
    still = ", ".join(f"{names[v]} {k}" for v, k in improving.items() if k)
    return (f"{sum(improving.values())} of {total} runs were still improving their validation loss when the "
            f"{max_epochs}-epoch cap ended them ({still}): those did not converge by the stopping rule, and "
            f"their numbers may understate what the variant reaches with more epochs")


def convergence_report(variants: dict, setup: dict) -> str:
    """What every page states about training length: the stopping rule (``setup['stopping']``), the
    :func:`epochs_table` of ``variants`` and the :func:`convergence_note`."""
    max_epochs, patience = setup["max_epochs"], setup["patience"]
    return "\n".join([f"stopping rule: {setup['stopping']}", epochs_table(variants, max_epochs, patience),
                      convergence_note(variants, max_epochs, patience) + "."])


def convergence_status(variants: dict, max_epochs: int, patience: int) -> str:
    """A short clause for the answers: ``'all 10 runs converged by the stopping rule'`` or
    ``'3 of 10 runs still improving at the 30-epoch cap'``."""
    total = sum(len(r["epochs_run"]) for r in variants.values())
    still = sum(int(unconverged(r, max_epochs, patience).sum()) for r in variants.values())
    if not still:
        return f"all {total} runs converged by the stopping rule"
    return f"{still} of {total} runs still improving at the {max_epochs}-epoch cap"


def loss_table(variants: dict) -> str:
    """Plain-text table: training and test loss and accuracy of the restored weights (inference
    mode, whole training split and test set), mean ± sd over seeds, and the test − training loss gap."""
    names = labels(variants)

    def cell(values, scale=1.0, digits=4):
        values = scale * np.asarray(values, np.float64)
        sd = values.std(ddof=1) if values.size > 1 else float("nan")
        return f"{values.mean():.{digits}f} ± {sd:.{digits}f}"

    rows = [[names[name], cell(runs["train_loss"]), cell(runs["test_loss"]), cell(metric_values(runs, "loss_gap")),
             cell(runs["train_accuracy"], 100, 2), cell(runs["test_accuracy"], 100, 2)]
            for name, runs in variants.items()]
    return _text_table(["variant (mean ± sd over seeds)", "training loss", "test loss", "test − training loss",
                        "training accuracy %", "test accuracy %"], rows)


def fit_reading(variants: dict, a: str, b: str, max_epochs: int, patience: int) -> dict:
    """How ``a`` differs from ``b`` in fit and in generalization, at the end of training.

    Returns the paired comparisons ``a - b`` of the training loss, of the test − training loss gap and
    of the test accuracy, and sentences built from their intervals (:func:`outcome`): ``fit_text``
    (training loss and gap, with both means), ``conclusion`` (what the test accuracy adds; it says
    "trained to convergence" only when no run of ``a`` or ``b`` was still improving at the
    ``max_epochs`` cap, see :func:`unconverged`) and ``text`` (all of it). Every comparative word
    comes from an interval: a difference the interval cannot resolve is called "not measurable
    with these seeds", never "about the same".
    """
    names = labels(variants)
    diffs = {m: comparison(variants, a, b, m) for m in ("train_loss", "loss_gap", "test_accuracy")}
    loss = {v: float(np.mean(variants[v]["train_loss"])) for v in (a, b)}
    n = diffs["train_loss"]["n"]
    fit = {"worse": f"fits the training set less closely than {names[b]}",
           "better": f"fits the training set more closely than {names[b]}",
           "unclear": f"and {names[b]}: no measurable difference in fit with {n} seeds"}[outcome(diffs["train_loss"])]
    gap = {"better": "a smaller", "worse": "a larger", "unclear": "no measurably different"}[
        outcome(diffs["loss_gap"])]
    test, train = outcome(diffs["test_accuracy"]), outcome(diffs["train_loss"])
    still = sum(int(unconverged(variants[v], max_epochs, patience).sum()) for v in (a, b))
    total = sum(len(variants[v]["epochs_run"]) for v in (a, b))
    when = ("once both are trained to convergence" if not still else
            f"at the {max_epochs}-epoch cap, where {still} of their {total} runs were still improving")
    if test == "worse":
        close = (f"so it trails {when}, and it fits the training set less" if train == "worse"
                 else f"so it trails on the test set {when}, although it fits the training set no worse")
    elif test == "better":
        close = f"so on the test set its regularization pays off {when}"
    else:
        close = f"so on test accuracy the two cannot be told apart with these seeds {when}"
    fit_text = (f"{names[a]} {fit} (training loss {loss[a]:.4f} vs {loss[b]:.4f}, difference "
                f"{difference_text(diffs['train_loss'])}), with {gap} test − training loss gap "
                f"({difference_text(diffs['loss_gap'])})")
    text = f"{fit_text}; test accuracy: {verdict(diffs['test_accuracy'], names)}; {close}"
    return dict(diffs, fit_text=fit_text, conclusion=close, text=text)


def validation_accuracy(runs: dict) -> np.ndarray:
    """Per seed: the validation accuracy of the restored weights (the best epoch's, inference mode).

    Example:
        >>> runs = {"history": {"val_accuracy": np.array([[0.97, 0.98, 0.975]])}, "best_epoch": np.array([2])}
        >>> validation_accuracy(runs).tolist()
        [0.98]
    """
    curves = np.asarray(runs["history"]["val_accuracy"], np.float64)
    best = np.asarray(runs["best_epoch"], np.int64) - 1
    return curves[np.arange(len(best)), best]


def validation_comparison(variants: dict, a: str, b: str) -> dict:
    """Paired difference ``a - b`` of :func:`validation_accuracy` (metric ``'val_accuracy'``)."""
    values = {v: validation_accuracy(variants[v]) for v in (a, b)}
    spread = float(np.mean([np.std(values[v], ddof=1) if values[v].size > 1 else np.nan for v in (a, b)]))
    return dict(paired_comparison(values[a], values[b]), a=a, b=b, seed_sd=spread, metric="val_accuracy")


def dropout_arm(variants: dict) -> dict:
    """Which dropout arm the 3.4 answer uses, chosen on the validation split (the test set only
    reports): dropout after the conv blocks too (``dropout_conv``) if its paired validation
    accuracy is measurably higher than dense-only dropout's (``dropout``), else the dense-only arm
    (fewer dropout layers, and the one 3.5's BN + dropout variant shares). Returns ``arm``, the
    ``comparison`` and ``text``."""
    names = labels(variants)
    diff = validation_comparison(variants, "dropout_conv", "dropout")
    result = outcome(diff)
    arm = "dropout_conv" if result == "better" else "dropout"
    why = {"better": "the conv-block arm is measurably better on validation, so the 3.4 answer uses it",
           "worse": "the conv-block arm is measurably worse on validation, so the 3.4 answer uses dense-only dropout",
           "unclear": "validation cannot tell the arms apart, so the 3.4 answer uses the simpler dense-only "
                      "dropout"}[result]
    return {"arm": arm, "comparison": diff, "text": f"{verdict(diff, names)}: {why}"}


# ------------------------------------------------------------------------------ what the seeds resolve
def resolution(diff: dict) -> float:
    """Half-width of a paired comparison's 95 % interval (``diff``'s scale): the smallest mean
    difference these seeds can tell from zero, at the spread of the paired differences they show.

    Example:
        >>> resolution({"ci_low": 0.001, "ci_high": 0.005})
        0.002
    """
    return (diff["ci_high"] - diff["ci_low"]) / 2


def seeds_needed(sd_diff: float, target: float, most: int = 10000) -> int | None:
    """Fewest seeds whose paired Student-t 95 % interval has half-width ``<= target``, for paired
    differences of standard deviation ``sd_diff`` (``None`` beyond ``most``). It sizes a study to
    *resolve* a difference of ``target``; detecting it reliably (power 80 %) takes about twice as many.

    Example:
        >>> seeds_needed(0.001, 0.001)
        7
    """
    for n in range(2, most + 1):
        if stats.t_quantile_975(n - 1) * sd_diff / np.sqrt(n) <= target:
            return n
    return None


def same_seed_agreement(variants: dict, a: str, b: str) -> dict:
    """How close ``a`` and ``b`` trained with the same seed end up: per seed ``|test accuracy a − b|``
    (points), its maximum against the seed-to-seed sd (points, mean of both variants' sds), the
    largest ``|γ_a − γ_b|`` per shared BN layer against how much γ varies between seeds of ``b``
    (``same_training_path`` when smaller), and ``text``."""
    gap = 100 * np.abs(metric_values(variants[a], "test_accuracy") - metric_values(variants[b], "test_accuracy"))
    seed_sd = 100 * comparison(variants, a, b)["seed_sd"]
    shared = [layer for layer in variants[a]["bn"] if layer in variants[b]["bn"]]
    gamma_gap = {layer: float(np.max(np.abs(np.asarray(variants[a]["bn"][layer]["gamma"])
                                            - np.asarray(variants[b]["bn"][layer]["gamma"])))) for layer in shared}
    within = bool(gap.max() < seed_sd)
    # how much gamma varies between seeds of the same variant: the scale a same-seed gap is judged on
    gamma_seed_sd = float(np.median([np.std(np.asarray(variants[b]["bn"][layer]["gamma"]), axis=0, ddof=1).mean()
                                     for layer in shared])) if shared and len(gap) > 1 else float("nan")
    same_path = bool(shared) and max(gamma_gap.values()) < gamma_seed_sd
    if within:
        text = (f"with the same seed the two differ by at most {gap.max():.2f} points of test accuracy, less than "
                f"the seed-to-seed sd ({seed_sd:.2f}): the same seed gives nearly the same model")
    else:
        text = (f"with the same seed the two differ by up to {gap.max():.2f} points of test accuracy, no less than "
                f"the seed-to-seed sd ({seed_sd:.2f})")
        if same_path:
            text += (f", although their learned γ agree to {max(gamma_gap.values()):.2g} (γ varies by "
                     f"{gamma_seed_sd:.2g} between seeds): training took the same path, so the difference arises "
                     f"at inference, where BN uses its moving averages")
        else:
            text += ": the same seed does not give the same model"
    return {"per_seed_points": gap, "max_points": float(gap.max()), "seed_sd_points": seed_sd,
            "within_seed_sd": within, "gamma_max_abs_diff": gamma_gap, "gamma_seed_sd": gamma_seed_sd,
            "same_training_path": same_path, "text": text}


# ------------------------------------------------------------------------------ variance shift (3.5)
def variance_shift_per_seed(runs: dict, layer: str) -> np.ndarray:
    """Per seed: median over channels of (inference-time variance of the BN input) / (BN's moving variance)."""
    st = runs["variance_shift"][layer]
    moving = np.maximum(np.asarray(st["moving_variance"], np.float64), 1e-12)
    return np.median(np.asarray(st["inference_variance"], np.float64) / moving, axis=1)


def bn_layers_after_dropout(variant: str) -> list[str]:
    """The BN layers of ``variant`` whose nearest BN-or-dropout layer upstream is a dropout layer:
    those that see dropout noise in training but not at test time (read off the variant's model at
    the default rates, :func:`hw2.experiments.p3_lenet.variant_options`).

    Example:
        >>> bn_layers_after_dropout("bn_dropout")
        ['conv1_bn', 'fc2_bn']
    """
    model = lenet5(**variant_options(variant, LeNetConfig()))
    out, last = [], None
    for layer in model.layers:  # a chain: the layer list is in data-flow order
        if isinstance(layer, keras.layers.BatchNormalization):
            if last == "dropout":
                out.append(layer.name)
            last = "bn"
        elif isinstance(layer, keras.layers.Dropout):
            last = "dropout"
    return out


def variance_shift_reading(variants: dict, shifted: str = "bn_dropout", reference: str = "bn_hidden") -> dict:
    """Per BN layer, the paired difference over seeds (``shifted - reference``) of the variance ratio
    of :func:`variance_shift_per_seed`; ``after_dropout`` / ``others``: the layers right after a
    dropout layer (:func:`bn_layers_after_dropout`) and the rest; ``shifted_after_dropout``: the former
    whose ratio is measurably lower (the variance shift); ``changed_others``: the latter whose ratio is
    measurably ``'lower'`` / ``'higher'``; ``text``: what the intervals say."""
    layers = list(variants[shifted]["variance_shift"])
    after = [layer for layer in bn_layers_after_dropout(shifted) if layer in layers]
    others = [layer for layer in layers if layer not in after]
    per_layer = {}
    for layer in layers:
        ratio_shifted = variance_shift_per_seed(variants[shifted], layer)
        ratio_reference = variance_shift_per_seed(variants[reference], layer)
        per_layer[layer] = dict(paired_comparison(ratio_shifted, ratio_reference),
                                ratio_shifted=float(ratio_shifted.mean()),
                                ratio_reference=float(ratio_reference.mean()))

    def describe(layer):
        d = per_layer[layer]
        return (f"{layer} {d['ratio_shifted']:.3f} vs {d['ratio_reference']:.3f} (difference {d['mean_diff']:+.3f}, "
                f"paired 95% CI {d['ci_low']:+.3f} to {d['ci_high']:+.3f})")

    def measurably(group, sign):
        return [layer for layer in group
                if per_layer[layer]["significant"] and sign * per_layer[layer]["mean_diff"] > 0]

    names = labels(variants)
    text = (f"test-time input variance / BN's moving variance, {names[shifted]} vs {names[reference]}: right after "
            f"a dropout layer " + "; ".join(describe(layer) for layer in after))
    shifted_after = measurably(after, -1)
    text += (f" — measurably lower in {len(shifted_after)} of {len(after)} ({', '.join(shifted_after)}): the "
             f"variance shift" if shifted_after else
             f" — not measurably lower in any of the {len(after)}: no variance shift shows with these seeds")
    changed_others = {"lower": measurably(others, -1), "higher": measurably(others, +1)}
    if others:
        found = "; ".join(f"measurably {word} in {', '.join(group)}" for word, group in changed_others.items() if group)
        text += "; in the other BN layers " + "; ".join(describe(layer) for layer in others)
        if not found:
            text += " — not measurably different in any"
        elif shifted_after:
            text += f" — {found}: the mismatch reaches the layers downstream"
        else:
            text += f" — {found}, although the layers right after dropout show no shift"
    return {"layers": per_layer, "after_dropout": after, "others": others,
            "shifted_after_dropout": shifted_after, "changed_others": changed_others, "text": text}


def variance_shift_table(variants: dict) -> list[dict]:
    """Per variant and BN layer: median over channels (mean over seeds) of inference-time variance
    of the BN input / BN's moving variance. 1 = no shift; < 1: BN over-estimates the variance at test."""
    rows = []
    for name, runs in variants.items():
        for layer in runs.get("variance_shift", {}):
            per_seed = variance_shift_per_seed(runs, layer)
            rows.append({"variant": name, "layer": layer, "ratio_median": float(per_seed.mean()),
                         "ratio_sd": float(per_seed.std(ddof=1)) if per_seed.size > 1 else float("nan")})
    return rows


# ------------------------------------------------------------------------------ input drift (3.1)
def typical_unit(means: np.ndarray, stds: np.ndarray) -> int:
    """The unit whose drift (range of its mean over checkpoints / its average sd) is the median
    among all units; ``means``, ``stds``: (checkpoints, units) of one run."""
    means, stds = np.asarray(means, np.float64), np.asarray(stds, np.float64)
    drift = (means.max(axis=0) - means.min(axis=0)) / np.maximum(stds.mean(axis=0), 1e-12)
    return int(np.argsort(drift)[len(drift) // 2])


def relative_spread(drift: dict) -> np.ndarray:
    """(seeds, checkpoints): median over units of each unit's input sd relative to its final sd."""
    stds = np.asarray(drift["std"], np.float64)
    return np.median(stds / np.maximum(stds[:, -1:, :], 1e-12), axis=2)


DRIFT_MEASURES = {"mean_range_over_std": "range of the mean / sd", "std_ratio": "max sd / min sd"}


def drift_reading(table: dict, a: str = "baseline", b: str = "bn_hidden") -> dict:
    """Per measure of :func:`drift_table` (``DRIFT_MEASURES``, both positive ratios): the paired
    comparison over seeds of ``log a - log b``, as the geometric-mean ratio ``a / b`` with its
    Student-t 95 % interval, and a sentence saying whether the drift is measurably larger in ``a``."""
    names = labels((a, b))
    out = {}
    for key, what in DRIFT_MEASURES.items():
        diff = paired_comparison(np.log(np.maximum(table[a][key], 1e-12)), np.log(np.maximum(table[b][key], 1e-12)))
        ratio, low, high = (float(np.exp(diff[k])) for k in ("mean_diff", "ci_low", "ci_high"))
        word = (f"measurably {'larger' if ratio > 1 else 'smaller'} in {names[a]}" if diff["significant"]
                else "not measurably different with these seeds")
        out[key] = dict(diff, ratio=ratio, ratio_low=low, ratio_high=high,
                        text=f"{what}: {names[a]} / {names[b]} = {ratio:.3g}× (paired 95% CI {low:.3g}× to "
                             f"{high:.3g}×): {word}")
    return out


def drift_table(variants: dict, names=("baseline", "bn_hidden"), before_normalization: bool = False) -> dict:
    """:func:`hw2.covariate_shift.drift_summary` per seed for the named variants (arrays over seeds):
    of what the nonlinearity receives, or with ``before_normalization`` of the dense layer's output
    ``z`` before any BN (the same thing in a variant without BN)."""
    prefix = "pre_" if before_normalization else ""
    out = {}
    for name in names:
        if name in variants:
            d = variants[name]["drift"]
            per_seed = [covariate_shift.drift_summary(m, s) for m, s in zip(d[f"{prefix}mean"], d[f"{prefix}std"])]
            out[name] = {k: np.asarray([p[k] for p in per_seed]) for k in per_seed[0]}
    return out


def drift_answer(variants: dict, a: str = "baseline", b: str = "bn_hidden") -> dict:
    """The 3.1 headline: how far the median unit's mean wanders (in its own sds) in ``a``, in ``b``
    before its normalization and in ``b`` after it (what the nonlinearity receives), each the mean
    over seeds with its Student-t 95 % interval; ``text`` says it in one sentence."""
    out = {}
    for key, table in (("without_bn", drift_table(variants, (a,))[a]),
                       ("before_bn", drift_table(variants, (b,), before_normalization=True)[b]),
                       ("after_bn", drift_table(variants, (b,))[b])):
        mean, low, high = stats.t_interval(table["mean_range_over_std"])
        out[key] = {"mean": mean, "ci95": [low, high]}

    def say(key, ci="95 % CI "):
        m = out[key]
        return f"{m['mean']:.2f} sd ({ci}{m['ci95'][0]:.2f} to {m['ci95'][1]:.2f})"

    out["text"] = (f"{say('without_bn')} without BN, {say('before_bn', '')} before BN normalizes, "
                   f"{out['after_bn']['mean']:.2f} sd after")
    return out


# The three distributions 3.1 compares: (label, variant, before its normalization?)
DRIFT_VIEWS = (("no BN: z = Wx + b (the tanh input)", "baseline", False),
               ("BN: z before its normalization", "bn_hidden", True),
               ("BN: BN(z), the tanh input", "bn_hidden", False))


def drift_measures_table(variants: dict) -> str:
    """Plain-text table: per view of :data:`DRIFT_VIEWS`, each measure of :data:`DRIFT_MEASURES`
    (median over units) as mean ± sd over seeds and per seed."""
    rows = []
    for label, name, before in DRIFT_VIEWS:
        table = drift_table(variants, (name,), before_normalization=before)[name]
        cells = [label]
        for key in DRIFT_MEASURES:
            v = table[key]
            sd = f" ± {v.std(ddof=1):.2f}" if v.size > 1 else ""
            cells.append(f"{v.mean():.2f}{sd} ({' '.join(f'{x:.2f}' for x in v)})")
        rows.append(cells)
    return _text_table(["fc2 units, median unit", *(f"{what}: mean (seeds)" for what in DRIFT_MEASURES.values())],
                       rows)


def probe_text(result_data: dict) -> str:
    """What the 3.1 drift probe measured: layer, units, checkpoints, steps, epochs, training set."""
    setup, runs = result_data["setup"], result_data["variants"]["baseline"]
    steps = runs["drift"]["steps"]
    epochs = setup["probe_epochs"]
    return (f"{setup['n_train']} training images, {runs['steps_per_epoch']} steps per epoch (batch "
            f"{setup['batch_size']}); probe: {runs['drift']['mean'].shape[-1]} units of "
            f"{setup['drift_layer']}, {len(steps)} checkpoints from step {steps[0]} to {steps[-1]}\n"
            f"(the first {epochs} epoch{'s' if epochs > 1 else ''}, which every run reaches), "
            f"seeds {setup['seeds']}")


# ------------------------------------------------------------------------------ page text
def setup_text(result_data: dict) -> str:
    """The training setup every variant shares, in three lines (3.2)."""
    setup, variants = result_data["setup"], result_data["variants"]
    params = ", ".join(f"{labels((v,))[v]} {variants[v]['n_params']}" for v in ("baseline", "bn_hidden")
                       if v in variants)
    return (f"training {setup['n_train']} / validation {setup['n_validation']} / test {setup['n_test']} "
            f"images; input mean {setup['input_mean']:.4f}, sd {setup['input_sd']:.4f}\n"
            f"{setup['optimizer']}; batch {setup['batch_size']} (last partial batch dropped); "
            f"activation {setup['activation']}; seeds {setup['seeds']}\nparameters: {params}")


def bn_parameter_table(bn: dict, reference: dict | None = None) -> str:
    """Plain-text table of :func:`bn_table` per BN layer: γ and β mean, sd, range and mean distance
    from their start (γ 1, β 0); with ``reference`` (another variant's BN parameters) its γ and β
    means alongside, '—' for a layer it lacks."""
    ref = {row["layer"]: row for row in bn_table(reference)} if reference is not None else None
    header = ["layer", "units", "γ mean", "γ sd", "γ range", "mean |γ−1|", "β mean", "β sd", "β range", "mean |β|"]
    if ref is not None:
        header[3:3] = ["γ mean (ref.)"]
        header.insert(8, "β mean (ref.)")
    rows = []
    for row in bn_table(bn):
        cells = [row["layer"], str(row["channels"])]
        for name in ("gamma", "beta"):
            own = [f"{row[f'{name}_mean']:.3f}", f"{row[f'{name}_sd']:.3f}",
                   f"{row[f'{name}_min']:.2f} to {row[f'{name}_max']:.2f}", f"{row[f'{name}_mean_abs_change']:.3f}"]
            if ref is not None:
                other = ref.get(row["layer"])
                own.insert(1, f"{other[f'{name}_mean']:.3f}" if other else "—")
            cells += own
        rows.append(cells)
    return _text_table(header, rows)


def accuracy_text(runs: dict) -> str:
    """``'99.07 % (95 % CI 98.95–99.19)'``: mean test accuracy over seeds, Student-t interval."""
    mean, low, high = stats.t_interval(100 * np.asarray(runs["test_accuracy"], np.float64))
    return f"{mean:.2f} % (95 % CI {low:.2f}–{high:.2f})"


def versus_phrase(diff: dict, other: str) -> str:
    """A test-accuracy comparison against ``other`` in words read from its interval, then its numbers.

    Example:
        >>> versus_phrase({"mean_diff": 0.0017, "ci_low": 0.0003, "ci_high": 0.0031, "significant": True}, "3.2")
        'measurably higher than 3.2 (+0.17 points, paired 95 % CI +0.03 to +0.31)'
    """
    words = {"better": f"measurably higher than {other}", "worse": f"measurably lower than {other}",
             "unclear": f"not measurably different from {other}"}[outcome(diff)]
    return (f"{words} ({100 * diff['mean_diff']:+.2f} points, paired 95 % CI {100 * diff['ci_low']:+.2f} to "
            f"{100 * diff['ci_high']:+.2f})")


def power_text(variants: dict, pairs, target_points: float = 0.1) -> str:
    """What the seeds can resolve: for each paired test-accuracy comparison in ``pairs`` (``(a, b)``),
    the half-width of its 95 % interval (:func:`resolution`) and the seeds that would resolve a
    difference of ``target_points`` at its observed spread (:func:`seeds_needed`)."""
    names = labels(variants)
    lines = []
    for a, b in pairs:
        diff = comparison(variants, a, b)
        needed = seeds_needed(diff["sd_diff"], target_points / 100)
        lines.append(f"{names[a]} − {names[b]}: ± {100 * resolution(diff):.2f} points with {diff['n']} seeds; "
                     f"{needed if needed else 'more than 10000'} seeds to resolve {target_points:g} points")
    return "\n".join(lines)


def variance_shift_text(rows: list[dict]) -> str:
    """Plain-text table of :func:`variance_shift_table` rows (variant, BN layer, ratio mean ± sd)."""
    names = labels(dict.fromkeys(r["variant"] for r in rows))
    return _text_table(["variant", "BN layer", "test-time var / moving var (median unit, mean ± sd)"],
                       [[names[r["variant"]], r["layer"], f"{r['ratio_median']:.3f} ± {r['ratio_sd']:.3f}"]
                        for r in rows])
