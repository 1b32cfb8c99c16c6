"""Problem 3 analysis (:mod:`hw2.experiments.p3_analysis`): every reading a P3 page prints, made when
the page renders from what ``p3.lenet`` stored."""

import numpy as np
import pytest

from hw2.experiments import p3_analysis as analysis
from hw2.experiments import p3_lenet


def test_verdict_wording_follows_the_interval():
    base = {"a": "bn_hidden", "b": "baseline", "frac_a_better": 0.6, "n": 5, "seed_sd": 0.001}
    sig = analysis.verdict(dict(base, mean_diff=0.004, ci_low=0.001, ci_high=0.007, significant=True),
                           analysis.labels(p3_lenet.VARIANTS))
    assert sig.startswith("3.2 BN hidden beats baseline") and "0.40 points" in sig
    flat = analysis.verdict(dict(base, mean_diff=-0.001, ci_low=-0.004, ci_high=0.002, significant=False))
    assert flat.startswith("no clear difference between bn_hidden and baseline")




def _runs(test_accuracy, train_loss=None, test_loss=None, best_epoch=None, epochs_run=None, gamma=None,
          variance_ratio=None, val_accuracy=None):
    """Stacked runs of one variant with the fields the analysis functions read (5 seeds); the
    validation accuracy of the best epoch is ``val_accuracy`` if given."""
    n = len(test_accuracy)
    train_loss = np.full(n, 0.05) if train_loss is None else np.asarray(train_loss, float)
    test_loss = train_loss + 0.03 if test_loss is None else np.asarray(test_loss, float)
    best = np.full(n, 8) if best_epoch is None else np.asarray(best_epoch)
    run = best + 3 if epochs_run is None else np.asarray(epochs_run)
    longest = int(run.max())
    history = np.full((n, longest), np.nan)
    for i, length in enumerate(run):
        history[i, :length] = np.linspace(0.9, 0.99, length)
    runs = {"seeds": np.arange(n), "test_accuracy": np.asarray(test_accuracy, float), "train_loss": train_loss,
            "test_loss": test_loss, "train_accuracy": np.asarray(test_accuracy, float) + 0.005,
            "best_epoch": best, "epochs_run": run, "bn": {}, "variance_shift": {},
            "history": {k: history.copy() for k in ("train_accuracy", "val_accuracy", "train_loss", "val_loss")}}
    if val_accuracy is not None:
        runs["history"]["val_accuracy"][np.arange(n), best - 1] = val_accuracy
    if gamma is not None:
        runs["bn"] = {"conv1_bn": {"gamma": np.asarray(gamma, float), "beta": np.zeros_like(gamma, float)}}
    if variance_ratio is not None:
        runs["variance_shift"] = {layer: {"moving_variance": np.ones((n, 4)),
                                          "inference_variance": np.tile(np.asarray(r, float)[:, None], (1, 4))}
                                  for layer, r in variance_ratio.items()}
    return runs


NOISE = np.array([0.0, 1.0, -1.0, 0.5, -0.5])


def test_metrics_word_every_metric_a_comparison_can_be_about():
    assert set(analysis.METRICS) == set(p3_lenet.METRIC_NAMES) | {"val_accuracy"}
    for name in p3_lenet.METRIC_NAMES:
        diff = dict(p3_lenet.comparison({"x": _runs(0.99 + 1e-3 * NOISE), "y": _runs(0.98 + 1e-3 * NOISE[::-1])},
                                        "x", "y", name))
        assert analysis.verdict(diff) and analysis.difference_text(diff) and analysis.outcome(diff)


def test_comparison_of_any_metric_follows_its_direction():
    variants = {"bn_hidden": _runs(0.99 + 1e-4 * NOISE, train_loss=0.02 + 1e-3 * NOISE),
                "baseline": _runs(0.98 + 1e-4 * NOISE[::-1], train_loss=0.05 + 1e-3 * NOISE[::-1])}
    loss = p3_lenet.comparison(variants, "bn_hidden", "baseline", "train_loss")
    assert loss["metric"] == "train_loss" and loss["mean_diff"] == pytest.approx(-0.03)
    assert analysis.outcome(loss) == "better"
    assert "training loss is lower than baseline's by 0.0300" in analysis.verdict(loss)
    assert "better on 5 of 5 seeds" in analysis.verdict(loss)
    accuracy = p3_lenet.comparison(variants, "baseline", "bn_hidden")
    assert analysis.outcome(accuracy) == "worse" and analysis.verdict(accuracy).startswith("baseline trails")
    np.testing.assert_allclose(p3_lenet.metric_values(variants["baseline"], "loss_gap"), 0.03)
    assert analysis.outcome(dict(accuracy, significant=False)) == "unclear"
    with pytest.raises(ValueError, match="Argument `metric`"):
        p3_lenet.metric_values(variants["baseline"], "val_loss")


def test_convergence_counts_only_runs_the_cap_ended_while_improving():
    runs = _runs([0.9, 0.9, 0.9], best_epoch=[30, 9, 27], epochs_run=[30, 12, 30])
    assert analysis.unconverged(runs, max_epochs=30, patience=3).tolist() == [True, False, False]
    note = analysis.convergence_note({"dropout": runs}, 30, 3)
    assert note.startswith("1 of 3 runs were still improving") and "3.4 dropout 1" in note
    capped = _runs([0.9, 0.9], best_epoch=[27, 9], epochs_run=[30, 12])
    assert "would have ended it there too" in analysis.convergence_note({"dropout": capped}, 30, 3)
    early = _runs([0.9, 0.9], best_epoch=[7, 9], epochs_run=[10, 12])
    assert analysis.convergence_note({"dropout": early}, 30, 3).startswith("all 2 runs stopped before")
    assert analysis.convergence_status({"dropout": early}, 30, 3) == "all 2 runs converged by the stopping rule"
    assert analysis.convergence_status({"dropout": runs}, 30, 3) == "1 of 3 runs still improving at the 30-epoch cap"
    table = analysis.epochs_table({"dropout": runs}, 30, 3)
    assert "22.0 (30 9 27)" in table and "24.0 (30 12 30)" in table and "2 of 3" in table
    assert "val. acc. rise" in table and "n/a" not in table
    assert "n/a (best epoch < 3)" in analysis.epochs_table({"dropout": _runs([0.9], best_epoch=[2])}, 30, 3)
    setup = {"max_epochs": 30, "patience": 3, "stopping": "early stopping on the validation loss"}
    assert analysis.convergence_report({"dropout": runs}, setup).startswith("stopping rule: early stopping")


def test_loss_table_reports_train_and_test_loss_and_the_gap():
    table = analysis.loss_table({"baseline": _runs([0.98, 0.99], train_loss=[0.01, 0.03], test_loss=[0.05, 0.05])})
    header, row = table.splitlines()
    assert "training loss" in header and "test loss" in header and "test − training loss" in header
    assert "0.0200 ± 0.0141" in row and "0.0500 ± 0.0000" in row and "0.0300 ± 0.0141" in row
    assert "98.50 ± 0.71" in row


def test_fit_reading_says_whether_the_regularizer_trails_because_of_fit():
    variants = {"dropout": _runs(0.985 + 1e-4 * NOISE, train_loss=0.04 + 1e-3 * NOISE,
                                 test_loss=0.05 + 1e-3 * NOISE),
                "bn_hidden": _runs(0.990 + 1e-4 * NOISE[::-1], train_loss=0.01 + 1e-3 * NOISE[::-1],
                                   test_loss=0.04 + 1e-3 * NOISE[::-1])}
    reading = analysis.fit_reading(variants, "dropout", "bn_hidden", max_epochs=30, patience=3)
    assert analysis.outcome(reading["train_loss"]) == "worse" and analysis.outcome(reading["loss_gap"]) == "better"
    assert "fits the training set less closely than 3.2 BN hidden" in reading["fit_text"]
    assert "a smaller test − training loss gap" in reading["fit_text"]
    assert reading["conclusion"] == ("so it trails once both are trained to convergence, and it fits the "
                                     "training set less")
    assert "3.4 dropout trails 3.2 BN hidden by 0.50 points" in reading["text"]
    capped = analysis.fit_reading(variants, "dropout", "bn_hidden", max_epochs=10, patience=3)
    assert "at the 10-epoch cap, where 10 of their 10 runs were still improving" in capped["conclusion"]


def _arm(accuracy):
    """Runs whose validation accuracy (best epoch) is ``accuracy``, and their test accuracy too."""
    return _runs(accuracy, val_accuracy=accuracy)


@pytest.mark.parametrize("conv_accuracy, arm, reason", [
    (0.992, "dropout_conv", "measurably better on validation"),
    (0.980, "dropout", "measurably worse on validation"),
    (None, "dropout", "validation cannot tell the arms apart"),
])
def test_dropout_arm_is_chosen_from_the_paired_difference(conv_accuracy, arm, reason):
    dense = 0.985 + 1e-4 * NOISE
    conv = dense + 1e-3 * NOISE[::-1] if conv_accuracy is None else conv_accuracy + 1e-4 * NOISE[::-1]
    choice = analysis.dropout_arm({"dropout": _arm(dense), "dropout_conv": _arm(conv)})
    assert choice["arm"] == arm and reason in choice["text"]
    assert choice["comparison"]["a"] == "dropout_conv" and choice["comparison"]["b"] == "dropout"
    assert choice["comparison"]["metric"] == "val_accuracy"


def test_dropout_arm_is_chosen_on_validation_never_on_the_test_set():
    dense = 0.985 + 1e-4 * NOISE
    # measurably better on the test set, measurably worse on validation: validation decides
    conv = _runs(0.992 + 1e-4 * NOISE[::-1], val_accuracy=0.980 + 1e-4 * NOISE[::-1])
    choice = analysis.dropout_arm({"dropout": _arm(dense), "dropout_conv": conv})
    assert choice["arm"] == "dropout" and "validation accuracy" in choice["text"]
    np.testing.assert_allclose(analysis.validation_accuracy(conv), 0.980 + 1e-4 * NOISE[::-1])


def test_dropout_arm_does_not_take_a_higher_mean_that_is_not_measurable():
    dense = 0.985 + 1e-4 * NOISE
    conv = dense + np.array([0.003, 0.003, 0.003, 0.003, -0.008])  # +0.08 points on average, 4 of 5 seeds
    choice = analysis.dropout_arm({"dropout": _arm(dense), "dropout_conv": _arm(conv)})
    assert choice["comparison"]["mean_diff"] > 0 and choice["comparison"]["frac_a_better"] == 0.8
    assert choice["arm"] == "dropout" and "cannot tell the arms apart" in choice["text"]


def test_dropout_arm_takes_a_consistent_gain_smaller_than_the_seed_to_seed_spread():
    dense = np.array([0.970, 0.990, 0.980, 0.995, 0.975])  # seeds differ by about 1 point
    conv = dense + 2e-4 + 1e-5 * NOISE  # +0.02 points on every seed: paired, that is measurable
    choice = analysis.dropout_arm({"dropout": _arm(dense), "dropout_conv": _arm(conv)})
    assert choice["comparison"]["mean_diff"] < choice["comparison"]["seed_sd"] / 10
    assert choice["arm"] == "dropout_conv" and "measurably better" in choice["text"]


def test_a_comparison_tied_on_every_seed_is_said_in_words_not_as_a_zero_interval():
    variants = {"bn_input_hidden": _runs(0.99 + 1e-4 * NOISE, best_epoch=[8, 9, 10, 8, 9]),
                "bn_hidden": _runs(0.99 + 1e-4 * NOISE[::-1], best_epoch=[8, 9, 10, 8, 9])}
    text = analysis.verdict(p3_lenet.comparison(variants, "bn_input_hidden", "bn_hidden", "best_epoch"),
                            analysis.labels(variants))
    assert text == "3.3 BN input + hidden and 3.2 BN hidden have the same best epoch on all 5 seeds"
    assert "CI" not in text


def test_an_unresolved_fit_difference_is_not_called_about_the_same():
    variants = {"dropout": _runs(0.990 + 1e-4 * NOISE, train_loss=[0.026, 0.010, 0.042, 0.020, 0.030]),
                "bn_hidden": _runs(0.991 + 1e-4 * NOISE[::-1], train_loss=[0.010, 0.030, 0.005, 0.012, 0.011])}
    reading = analysis.fit_reading(variants, "dropout", "bn_hidden", max_epochs=100, patience=3)
    assert analysis.outcome(reading["train_loss"]) == "unclear"
    assert "no measurable difference in fit with 5 seeds" in reading["fit_text"]
    assert "training loss 0.0256 vs 0.0136" in reading["fit_text"]
    assert "about as" not in reading["text"]


def test_what_the_seeds_resolve():
    variants = {"dropout": _runs(0.990 + 3e-3 * NOISE), "bn_hidden": _runs(0.991 + 3e-3 * NOISE[::-1])}
    diff = p3_lenet.comparison(variants, "dropout", "bn_hidden")
    assert analysis.resolution(diff) == pytest.approx((diff["ci_high"] - diff["ci_low"]) / 2)
    needed = analysis.seeds_needed(diff["sd_diff"], 0.001)
    assert needed > 5  # these 5 seeds do not resolve 0.1 points ...
    from hw2 import stats
    half = stats.t_quantile_975(needed - 1) * diff["sd_diff"] / np.sqrt(needed)
    fewer = stats.t_quantile_975(needed - 2) * diff["sd_diff"] / np.sqrt(needed - 1)
    assert half <= 0.001 < fewer  # ... and one seed fewer does not
    text = analysis.power_text(variants, [("dropout", "bn_hidden")])
    assert f"± {100 * analysis.resolution(diff):.2f} points with 5 seeds; {needed} seeds to resolve 0.1 points" in text
    assert analysis.accuracy_text(variants["bn_hidden"]).startswith("99.10 % (95 % CI ")
    assert analysis.versus_phrase(diff, "3.2").startswith("not measurably different from 3.2 (-0.10 points, ")


def test_same_seed_agreement_separates_training_path_from_test_time():
    gamma = np.array([[1.0, 1.1], [0.9, 1.2], [1.05, 0.95]])
    a = _runs([0.90, 0.95, 0.99], gamma=gamma + 1e-6)
    b = _runs([0.95, 0.96, 0.97], gamma=gamma)
    out = analysis.same_seed_agreement({"bn_input_hidden": a, "bn_hidden": b}, "bn_input_hidden", "bn_hidden")
    np.testing.assert_allclose(out["per_seed_points"], [5.0, 1.0, 2.0], atol=1e-9)
    assert not out["within_seed_sd"] and out["same_training_path"]
    assert "the difference arises at inference" in out["text"]
    close = analysis.same_seed_agreement({"x": _runs([0.95, 0.96, 0.97], gamma=gamma), "bn_hidden": b},
                                         "x", "bn_hidden")
    assert close["within_seed_sd"] and close["max_points"] == 0.0


@pytest.mark.parametrize("variant, expected", [
    # input dropout -> conv1 -> conv1_bn and fc1 dropout -> fc2 -> fc2_bn: the nearest BN-or-dropout layer
    # upstream is a dropout layer; conv2_bn and fc1_bn have conv1_bn / conv2_bn in between.
    ("bn_dropout", ["conv1_bn", "fc2_bn"]),
    ("bn_hidden", []), ("bn_input_hidden", []), ("baseline", []), ("dropout", []), ("dropout_conv", []),
])
def test_bn_layers_after_dropout_come_from_the_model(variant, expected):
    assert analysis.bn_layers_after_dropout(variant) == expected


def test_variance_shift_reading_uses_paired_intervals_per_layer():
    layers = ("conv1_bn", "conv2_bn", "fc1_bn", "fc2_bn")
    reference = {layer: 0.98 + 0.01 * NOISE for layer in layers}
    shifted = dict(reference, conv1_bn=0.80 + 0.01 * NOISE, fc2_bn=0.70 + 0.01 * NOISE[::-1])
    variants = {"bn_hidden": _runs(0.99 + 0 * NOISE, variance_ratio=reference),
                "bn_dropout": _runs(0.99 + 0 * NOISE, variance_ratio=shifted)}
    reading = analysis.variance_shift_reading(variants)
    assert reading["after_dropout"] == ["conv1_bn", "fc2_bn"] and reading["others"] == ["conv2_bn", "fc1_bn"]
    assert reading["shifted_after_dropout"] == ["conv1_bn", "fc2_bn"]
    assert reading["layers"]["fc2_bn"]["ratio_shifted"] == pytest.approx(0.70)
    assert "measurably lower in 2 of 2" in reading["text"] and "not measurably different in any" in reading["text"]
    assert reading["changed_others"] == {"lower": [], "higher": []}
    downstream = analysis.variance_shift_reading(dict(variants, bn_dropout=_runs(
        0.99 + 0 * NOISE, variance_ratio=dict(shifted, fc1_bn=1.08 + 0.01 * NOISE))))
    assert downstream["changed_others"]["higher"] == ["fc1_bn"]
    assert "measurably higher in fc1_bn: the mismatch reaches the layers downstream" in downstream["text"]
    # a measurably *higher* ratio right after dropout is no variance shift
    higher = analysis.variance_shift_reading(dict(variants, bn_dropout=_runs(
        0.99 + 0 * NOISE, variance_ratio=dict(shifted, conv1_bn=1.20 + 0.01 * NOISE))))
    assert higher["layers"]["conv1_bn"]["significant"] and higher["shifted_after_dropout"] == ["fc2_bn"]
    assert "measurably lower in 1 of 2 (fc2_bn)" in higher["text"]
    rows = analysis.variance_shift_table(variants)
    assert {(r["variant"], r["layer"]) for r in rows} == {(v, layer) for v in variants for layer in layers}


def test_drift_reading_typical_unit_and_relative_spread():
    table = {"baseline": {"mean_range_over_std": np.array([0.5, 0.6, 0.55]), "std_ratio": np.array([2.0, 2.2, 2.1])},
             "bn_hidden": {"mean_range_over_std": np.array([0.005, 0.006, 0.0055]),
                           "std_ratio": np.array([1.9, 2.3, 2.1])}}
    reading = analysis.drift_reading(table)
    assert reading["mean_range_over_std"]["ratio"] == pytest.approx(100.0)
    assert "measurably larger in baseline" in reading["mean_range_over_std"]["text"]
    assert "not measurably different" in reading["std_ratio"]["text"]
    reverse = analysis.drift_reading(table, a="bn_hidden", b="baseline")
    assert "measurably smaller in 3.2 BN hidden" in reverse["mean_range_over_std"]["text"]
    means = np.array([[0.0, 0.0, 0.0], [1.0, 3.0, 2.0]])
    assert analysis.typical_unit(means, np.ones((2, 3))) == 2
    # the drift is the mean's range relative to the unit's sd: unit 1 moves most, but against an sd of
    # 10 it drifts least (0.3, 1, 2), so the median unit is unit 0, not unit 2
    assert analysis.typical_unit(means, np.array([[1.0, 10.0, 1.0], [1.0, 10.0, 1.0]])) == 0
    spread = analysis.relative_spread({"std": np.array([[[2.0, 4.0], [1.0, 2.0]]])})
    np.testing.assert_allclose(spread, [[2.0, 1.0]])


def test_p3_plots_take_runs_of_different_lengths():
    import matplotlib

    matplotlib.use("Agg")
    from hw2 import plotting

    assert set(plotting.P3_COLORS) == set(p3_lenet.VARIANTS)
    runs = {"dropout": _runs([0.9, 0.91], best_epoch=[3, 6], epochs_run=[5, 9]),
            "dropout_conv": _runs([0.9, 0.91], best_epoch=[2, 2], epochs_run=[4, 4])}
    fig, ax = plotting.new_figure()
    plotting.plot_learning_curves(ax, runs, analysis.labels(runs), "accuracy")
    validation = [line for line in ax.lines if line.get_label() == "3.4 dropout — validation"][0]
    assert np.isfinite(validation.get_ydata()).all() and len(validation.get_ydata()) == 9
    assert len(ax.collections) >= 2  # bands and the best-epoch dots
    rows = [{"variant": v, "layer": "fc2_bn", "ratio_median": 0.9, "ratio_sd": 0.01}
            for v in ("bn_hidden", "bn_dropout")]
    fig, ax = plotting.new_figure()
    plotting.plot_variance_shift(ax, rows, analysis.labels(("bn_hidden", "bn_dropout")))
    assert len(ax.patches) == 2


def test_drift_answer_compares_before_and_after_the_normalization():
    steps = 4

    def drift(wander):  # (seeds, checkpoints, units): one unit's mean walks by ``wander`` of its sd
        mean = np.zeros((3, steps, 2))
        mean[:, :, 0] = np.linspace(0, 1, steps) * np.asarray(wander)[:, None]
        mean[:, :, 1] = mean[:, :, 0]
        return mean

    ones = np.ones((3, steps, 2))
    variants = {"baseline": {"drift": {"mean": drift([0.5, 0.6, 0.7]), "std": ones,
                                       "pre_mean": drift([0.5, 0.6, 0.7]), "pre_std": ones}},
                "bn_hidden": {"drift": {"mean": drift([0.0, 0.0, 0.0]), "std": ones,
                                        "pre_mean": drift([0.3, 0.4, 0.5]), "pre_std": ones}}}
    out = analysis.drift_answer(variants)
    assert out["without_bn"]["mean"] == pytest.approx(0.6) and out["before_bn"]["mean"] == pytest.approx(0.4)
    assert out["after_bn"]["mean"] == pytest.approx(0.0)
    assert out["text"].startswith("0.60 sd (95 % CI ") and "without BN, 0.40 sd (" in out["text"]
    assert out["text"].endswith("before BN normalizes, 0.00 sd after")
    table = analysis.drift_measures_table(variants)
    assert "BN: z before its normalization" in table and "0.40 ± 0.10 (0.30 0.40 0.50)" in table
