"""LeNet-5 builder, the P3 data pipeline, the covariate-shift probe and the p3.lenet experiment."""

import dataclasses

import keras
import numpy as np
import pytest

from hw2 import covariate_shift, stats, training
from hw2.experiments import p3_lenet
from hw2.models import lenet5
from hw2.store import ResultStore


# ------------------------------------------------------------------------------------------ model
def test_lenet5_layout_and_shapes():
    model = lenet5()
    assert model.input_shape == (None, 28, 28, 1)
    assert model.output_shape == (None, 10)
    assert model.get_layer("pad").output.shape[1:3] == (32, 32)
    assert model.get_layer("conv1").output.shape[1:] == (28, 28, 6)
    assert model.get_layer("pool1").output.shape[1:] == (14, 14, 6)
    assert model.get_layer("conv2").output.shape[1:] == (10, 10, 16)
    assert model.get_layer("pool2").output.shape[1:] == (5, 5, 16)
    assert model.get_layer("fc1").output.shape[-1] == 120
    assert model.get_layer("fc2").output.shape[-1] == 84
    assert isinstance(model.get_layer("pool1"), keras.layers.AveragePooling2D)
    assert model.get_layer("conv1_act").activation.__name__ == "tanh"
    # 156 + 2416 + 48120 + 10164 + 850: the classic LeNet-5 count with a 400-input fc1
    assert model.count_params() == 61706
    assert not [layer for layer in model.layers if isinstance(layer, (keras.layers.BatchNormalization,
                                                                      keras.layers.Dropout))]


def test_lenet5_batchnorm_drops_biases_and_comes_before_the_activation():
    model = lenet5(input_treatment="batchnorm", hidden_batchnorm=True)
    bn = [layer.name for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert bn == ["input_bn", "conv1_bn", "conv2_bn", "fc1_bn", "fc2_bn"]
    for name in ("conv1", "conv2", "fc1", "fc2"):
        assert model.get_layer(name).bias is None
        order = [layer.name for layer in model.layers]
        assert order.index(name) < order.index(f"{name}_bn") < order.index(f"{name}_act")
    assert model.get_layer("output").bias is not None


def test_lenet5_dropout_placement():
    model = lenet5(input_dropout=0.2, hidden_dropout=0.5)
    rates = {layer.name: layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)}
    assert rates == {"input_dropout": 0.2, "fc1_dropout": 0.5, "fc2_dropout": 0.5}


def test_lenet5_standardizes_with_the_given_statistics():
    model = lenet5(input_mean=0.5, input_variance=0.25)
    norm = keras.Model(model.input, model.get_layer("input_norm").output)
    x = np.full((2, 28, 28, 1), 1.0, np.float32)
    out = keras.ops.convert_to_numpy(norm(x))
    np.testing.assert_allclose(out[:, 2:-2, 2:-2], 1.0, rtol=1e-5)  # (1 - 0.5) / 0.5
    np.testing.assert_allclose(out[:, 0, :], -1.0, rtol=1e-5)       # padding = background 0


@pytest.mark.parametrize("kwargs, message", [
    ({"input_treatment": "none"}, "input_treatment"),
    ({"input_dropout": 1.0}, "input_dropout"),
    ({"hidden_dropout": -0.1}, "hidden_dropout"),
    ({"input_variance": 0.0}, "input_variance"),
])
def test_lenet5_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=f"Argument `{message}`"):
        lenet5(**kwargs)


# ------------------------------------------------------------------------------------------ data
def test_mnist_splits_are_fixed_disjoint_and_standardized():
    data = p3_lenet.mnist_splits(n_validation=500, n_train=1000, n_test=300)
    assert data.x_train.shape == (1000, 28, 28, 1) and data.x_val.shape == (500, 28, 28, 1)
    assert data.x_test.shape == (300, 28, 28, 1) and data.x_train.dtype == np.float32
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    np.testing.assert_allclose(data.mean, data.x_train.mean(), rtol=1e-4)
    np.testing.assert_allclose(data.variance, data.x_train.var(), rtol=1e-3)
    again = p3_lenet.mnist_splits(n_validation=500, n_train=1000, n_test=300)
    np.testing.assert_array_equal(again.y_val, data.y_val)
    train_rows = {row.tobytes() for row in data.x_train[:200]}
    assert not train_rows & {row.tobytes() for row in data.x_val}


def test_evaluate_arrays_pads_and_matches_a_direct_computation():
    model = lenet5()
    model.compile(loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.random((23, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 23)
    loss, acc = p3_lenet.evaluate_arrays(model, x, y, batch_size=10)
    p = keras.ops.convert_to_numpy(model(x, training=False)).astype(np.float64)
    np.testing.assert_allclose(loss, -np.log(p[np.arange(23), y]).mean(), rtol=1e-4)
    assert acc == pytest.approx(float((p.argmax(axis=1) == y).mean()))


# ------------------------------------------------------------------------------------------ 3.1 probe
def test_checkpoint_steps_and_drift_summary():
    assert covariate_shift.checkpoint_steps(1, 3).tolist() == [0, 1]
    steps = covariate_shift.checkpoint_steps(1000, 10)
    assert steps[0] == 0 and steps[-1] == 1000 and np.all(np.diff(steps) > 0)
    with pytest.raises(ValueError, match="total_steps"):
        covariate_shift.checkpoint_steps(0, 3)
    means = np.zeros((4, 3))
    stds = np.array([[1.0, 1, 1], [2, 2, 2], [4, 4, 4], [1, 1, 1]])
    summary = covariate_shift.drift_summary(means, stds)
    assert summary == {"mean_range_over_std": 0.0, "std_ratio": 4.0}


def test_nonlinearity_input_stats_applies_batch_norm():
    z = np.random.default_rng(1).normal(3.0, 5.0, size=(4000, 2))
    plain = covariate_shift.nonlinearity_input_stats(z)
    np.testing.assert_allclose(plain["mean"], z.mean(axis=0))
    normed = covariate_shift.nonlinearity_input_stats(z, gamma=[2.0, 0.5], beta=[1.0, -1.0], epsilon=0.0)
    np.testing.assert_allclose(normed["mean"], [1.0, -1.0], atol=1e-9)
    np.testing.assert_allclose(normed["std"], [2.0, 0.5], rtol=1e-9)
    assert normed["percentiles"].shape == (3, 2)


def _tiny_fit(model, steps, epochs=1, callbacks=()):
    rng = np.random.default_rng(0)
    x, y = rng.random((16 * steps, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, 16 * steps)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(training.EpochBatches(x, y, 16, seed=0), epochs=epochs, verbose=0, callbacks=list(callbacks))
    return x


@pytest.mark.parametrize("batchnorm", [False, True])
def test_drift_probe_records_at_the_requested_steps(batchnorm):
    model = lenet5(hidden_batchnorm=batchnorm)
    probe_x = np.random.default_rng(2).random((32, 28, 28, 1), dtype=np.float32)
    probe = covariate_shift.DriftProbe("fc2", probe_x, steps=[0, 1, 3, 4])
    _tiny_fit(model, steps=4, callbacks=[probe])
    out = probe.result()
    assert out["steps"].tolist() == [0, 1, 3, 4]
    assert out["mean"].shape == out["std"].shape == (4, 84)
    assert out["percentiles"].shape == (4, 3, 84)
    z = keras.ops.convert_to_numpy(keras.Model(model.input, model.get_layer("fc2").output)(probe_x))
    if batchnorm:  # BN with the probe batch's statistics: mean beta, sd |gamma| (shrunk by epsilon)
        bn = model.get_layer("fc2_bn")
        gamma = np.abs(keras.ops.convert_to_numpy(bn.gamma))
        np.testing.assert_allclose(out["mean"][-1], keras.ops.convert_to_numpy(bn.beta), atol=1e-5)
        np.testing.assert_allclose(out["std"][-1], gamma * z.std(axis=0) / np.sqrt(z.var(axis=0) + bn.epsilon),
                                   rtol=1e-3)
    else:
        np.testing.assert_allclose(out["mean"][-1], z.mean(axis=0), rtol=1e-4, atol=1e-5)
        assert not np.allclose(out["mean"][0], out["mean"][-1])


def test_bn_variance_shift_reports_moving_and_inference_statistics():
    model = lenet5(hidden_batchnorm=True, hidden_dropout=0.5)
    x = _tiny_fit(model, steps=3)
    shift = p3_lenet.bn_variance_shift(model, x[:20])
    assert set(shift) == {"conv1_bn", "conv2_bn", "fc1_bn", "fc2_bn"}
    z = keras.ops.convert_to_numpy(keras.Model(model.input, model.get_layer("fc2_bn").input)(x[:20]))
    np.testing.assert_allclose(shift["fc2_bn"]["inference_variance"], z.var(axis=0), rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(shift["fc2_bn"]["moving_variance"],
                               keras.ops.convert_to_numpy(model.get_layer("fc2_bn").moving_variance))
    assert shift["conv1_bn"]["inference_mean"].shape == (6,)


# ------------------------------------------------------------------------------------------ statistics
def test_paired_comparison_uses_a_student_t_interval():
    a, b = np.array([0.990, 0.991, 0.992, 0.990, 0.993]), np.array([0.989, 0.989, 0.991, 0.990, 0.990])
    out = p3_lenet.paired_comparison(a, b)
    diff = a - b
    half = 2.776 * diff.std(ddof=1) / np.sqrt(5)
    assert out["ci_low"] == pytest.approx(diff.mean() - half)
    assert out["significant"] == (abs(diff.mean()) > half)
    assert out["interval"] == "t" and out == stats.paired_difference(a, b, interval="t")  # the one t helper
    assert stats.t_quantile_975(1) == pytest.approx(12.706)
    assert stats.t_quantile_975(1000) == pytest.approx(1.96, abs=0.01)
    with pytest.raises(ValueError, match="df"):
        stats.t_quantile_975(0)


def test_verdict_wording_follows_the_interval():
    base = {"a": "bn_hidden", "b": "baseline", "frac_a_better": 0.6, "n": 5, "seed_sd": 0.001}
    sig = p3_lenet.verdict(dict(base, mean_diff=0.004, ci_low=0.001, ci_high=0.007, significant=True),
                           p3_lenet.labels(p3_lenet.VARIANTS))
    assert sig.startswith("3.2 BN hidden beats baseline") and "0.40 points" in sig
    flat = p3_lenet.verdict(dict(base, mean_diff=-0.001, ci_low=-0.004, ci_high=0.002, significant=False))
    assert flat.startswith("no clear difference between bn_hidden and baseline")


def test_config_validation():
    with pytest.raises(ValueError, match="variants"):
        p3_lenet.LeNetConfig(variants=("bn_everywhere",))
    with pytest.raises(ValueError, match="max_epochs"):
        p3_lenet.LeNetConfig(max_epochs=0)
    with pytest.raises(ValueError, match="probe_epochs"):
        p3_lenet.LeNetConfig(patience=1, probe_epochs=3)
    with pytest.raises(ValueError, match="conv_dropout"):
        p3_lenet.LeNetConfig(conv_dropout=1.0)
    with pytest.raises(ValueError, match="final_learning_rate"):
        p3_lenet.LeNetConfig(final_learning_rate=0.1)
    with pytest.raises(ValueError, match="hidden_dropout"):
        p3_lenet.LeNetConfig(hidden_dropout=0.0)


# ------------------------------------------------------------------------------------------ experiment
TINY = dict(n_seeds=2, max_epochs=2, patience=1, probe_epochs=1, n_train=256, n_validation=128, n_test=200,
            probe_size=64, n_probe_steps=3,
            variants=("baseline", "bn_dropout"))


@pytest.mark.slow
def test_experiment_end_to_end_with_per_run_cache(tmp_path, monkeypatch):
    from hw2 import experiments

    monkeypatch.setenv("HW2_RESULTS_DIR", str(tmp_path))
    store = ResultStore(tmp_path / "smoke")
    result = experiments.run("p3.lenet", "smoke", store=store, **TINY)
    data = result.data
    assert set(data["variants"]) == {"baseline", "bn_dropout"}
    runs = data["variants"]["bn_dropout"]
    assert runs["seeds"].tolist() == [0, 1]
    assert runs["test_accuracy"].shape == (2,)
    assert np.all((runs["test_accuracy"] >= 0) & (runs["test_accuracy"] <= 1))
    assert runs["history"]["val_accuracy"].shape == (2, 2)
    assert set(runs["epochs_run"].tolist()) <= {2} and set(runs["best_epoch"].tolist()) <= {1, 2}
    assert np.all(runs["train_loss"] > 0) and np.all(runs["test_loss"] > 0)
    assert runs["bn"]["fc1_bn"]["gamma"].shape == (2, 120)
    assert runs["drift"]["mean"].shape[0] == 2 and runs["drift"]["mean"].shape[-1] == 84
    assert set(runs["variance_shift"]) == {"conv1_bn", "conv2_bn", "fc1_bn", "fc2_bn"}
    assert data["variants"]["baseline"]["bn"] == {}
    assert {(c["a"], c["b"]) for c in data["comparisons"]} == {("bn_dropout", "baseline")}
    summary = experiments.get("p3.lenet").summarize(data)
    assert summary["baseline"]["test_accuracy_per_seed"] == pytest.approx(
        data["variants"]["baseline"]["test_accuracy"].tolist())
    assert "3.5 BN hidden + dropout" in p3_lenet.accuracy_table(data["variants"])

    # Every (variant, seed) run is cached: a recomputation with a third seed trains only that seed.
    trained = []
    original = p3_lenet.train_variant

    def counting(variant, seed, *args, **kwargs):
        trained.append((variant, seed))
        return original(variant, seed, *args, **kwargs)

    monkeypatch.setattr(p3_lenet, "train_variant", counting)
    again = experiments.run("p3.lenet", "smoke", store=store, **dict(TINY, n_seeds=3))
    assert sorted(trained) == [("baseline", 2), ("bn_dropout", 2)]
    np.testing.assert_array_equal(again.data["variants"]["baseline"]["test_accuracy"][:2],
                                  data["variants"]["baseline"]["test_accuracy"])


def test_run_key_ignores_only_the_study_level_fields():
    config = p3_lenet.LeNetConfig(**TINY)
    key = p3_lenet._run_key(config, "baseline", 7)
    assert "seed" not in key and "n_seeds" not in key and "variants" not in key
    assert key["run_seed"] == 7 and key["variant"] == "baseline"
    assert p3_lenet._run_key(dataclasses.replace(config, max_epochs=3), "baseline", 7) != key


def test_conv_dropout_follows_each_conv_block():
    names = [layer.name for layer in lenet5(conv_dropout=0.5, hidden_dropout=0.5).layers]
    assert names.index("conv1_dropout") == names.index("pool1") + 1
    assert names.index("conv2_dropout") == names.index("pool2") + 1
    assert "conv1_dropout" not in [layer.name for layer in lenet5(hidden_dropout=0.5).layers]


def test_stacking_pads_runs_that_stopped_early():
    def run(seed, epochs, best):
        return {"seed": seed, "test_accuracy": 0.9, "test_loss": 0.3, "train_accuracy": 0.95, "train_loss": 0.2,
                "train_time_s": 1.0, "epochs_run": epochs, "best_epoch": best,
                "history": {"val_loss": np.linspace(1, 0.5, epochs), "val_accuracy": np.linspace(0.5, 0.9, epochs),
                            "epoch_time_s": np.ones(epochs)},
                "bn": {}, "variance_shift": {}, "steps_per_epoch": 10, "n_params": 1,
                "drift": {"steps": np.arange(epochs), "mean": np.zeros((epochs, 3)), "std": np.ones((epochs, 3))}}

    stacked = p3_lenet._stack([run(0, 3, 3), run(1, 5, 2)])
    assert stacked["history"]["val_loss"].shape == (2, 5)
    assert np.isnan(stacked["history"]["val_loss"][0, 3:]).all()
    assert stacked["drift"]["mean"].shape == (2, 3, 3)
    summary = p3_lenet.variant_summary(stacked, max_epochs=5)
    assert summary["runs_at_epoch_cap"] == 1 and summary["best_epoch_per_seed"] == [3, 2]
    assert summary["best_val_accuracy_mean"] == pytest.approx((0.9 + 0.6) / 2)


# ------------------------------------------------------------------------------------------ analysis
def _runs(test_accuracy, train_loss=None, test_loss=None, best_epoch=None, epochs_run=None, gamma=None,
          variance_ratio=None):
    """Stacked runs of one variant with the fields the analysis functions read (5 seeds)."""
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
    if gamma is not None:
        runs["bn"] = {"conv1_bn": {"gamma": np.asarray(gamma, float), "beta": np.zeros_like(gamma, float)}}
    if variance_ratio is not None:
        runs["variance_shift"] = {layer: {"moving_variance": np.ones((n, 4)),
                                          "inference_variance": np.tile(np.asarray(r, float)[:, None], (1, 4))}
                                  for layer, r in variance_ratio.items()}
    return runs


NOISE = np.array([0.0, 1.0, -1.0, 0.5, -0.5])


def test_comparison_of_any_metric_follows_its_direction():
    variants = {"bn_hidden": _runs(0.99 + 1e-4 * NOISE, train_loss=0.02 + 1e-3 * NOISE),
                "baseline": _runs(0.98 + 1e-4 * NOISE[::-1], train_loss=0.05 + 1e-3 * NOISE[::-1])}
    loss = p3_lenet.comparison(variants, "bn_hidden", "baseline", "train_loss")
    assert loss["metric"] == "train_loss" and loss["mean_diff"] == pytest.approx(-0.03)
    assert p3_lenet.outcome(loss) == "better"
    assert "training loss is lower than baseline's by 0.0300" in p3_lenet.verdict(loss)
    assert "better on 5 of 5 seeds" in p3_lenet.verdict(loss)
    accuracy = p3_lenet.comparison(variants, "baseline", "bn_hidden")
    assert p3_lenet.outcome(accuracy) == "worse" and p3_lenet.verdict(accuracy).startswith("baseline trails")
    np.testing.assert_allclose(p3_lenet.metric_values(variants["baseline"], "loss_gap"), 0.03)
    assert p3_lenet.outcome(dict(accuracy, significant=False)) == "unclear"
    with pytest.raises(ValueError, match="Argument `metric`"):
        p3_lenet.metric_values(variants["baseline"], "val_loss")


def test_convergence_counts_only_runs_the_cap_ended_while_improving():
    runs = _runs([0.9, 0.9, 0.9], best_epoch=[30, 9, 27], epochs_run=[30, 12, 30])
    assert p3_lenet.unconverged(runs, max_epochs=30, patience=3).tolist() == [True, False, False]
    note = p3_lenet.convergence_note({"dropout": runs}, 30, 3)
    assert note.startswith("1 of 3 runs were still improving") and "3.4 dropout 1" in note
    capped = _runs([0.9, 0.9], best_epoch=[27, 9], epochs_run=[30, 12])
    assert "would have ended it there too" in p3_lenet.convergence_note({"dropout": capped}, 30, 3)
    early = _runs([0.9, 0.9], best_epoch=[7, 9], epochs_run=[10, 12])
    assert p3_lenet.convergence_note({"dropout": early}, 30, 3).startswith("all 2 runs stopped before")
    assert p3_lenet.convergence_status({"dropout": early}, 30, 3) == "all 2 runs converged by the stopping rule"
    assert p3_lenet.convergence_status({"dropout": runs}, 30, 3) == "1 of 3 runs still improving at the 30-epoch cap"
    table = p3_lenet.epochs_table({"dropout": runs}, 30, 3)
    assert "22.0 (30 9 27)" in table and "24.0 (30 12 30)" in table and "2 of 3" in table
    assert "val. acc. rise" in table and "n/a" not in table
    assert "n/a (best epoch < 3)" in p3_lenet.epochs_table({"dropout": _runs([0.9], best_epoch=[2])}, 30, 3)
    setup = {"max_epochs": 30, "patience": 3, "stopping": "early stopping on the validation loss"}
    assert p3_lenet.convergence_report({"dropout": runs}, setup).startswith("stopping rule: early stopping")


def test_loss_table_reports_train_and_test_loss_and_the_gap():
    table = p3_lenet.loss_table({"baseline": _runs([0.98, 0.99], train_loss=[0.01, 0.03], test_loss=[0.05, 0.05])})
    header, row = table.splitlines()
    assert "training loss" in header and "test loss" in header and "test − training loss" in header
    assert "0.0200 ± 0.0141" in row and "0.0500 ± 0.0000" in row and "0.0300 ± 0.0141" in row
    assert "98.50 ± 0.71" in row


def test_fit_reading_says_whether_the_regularizer_trails_because_of_fit():
    variants = {"dropout": _runs(0.985 + 1e-4 * NOISE, train_loss=0.04 + 1e-3 * NOISE,
                                 test_loss=0.05 + 1e-3 * NOISE),
                "bn_hidden": _runs(0.990 + 1e-4 * NOISE[::-1], train_loss=0.01 + 1e-3 * NOISE[::-1],
                                   test_loss=0.04 + 1e-3 * NOISE[::-1])}
    reading = p3_lenet.fit_reading(variants, "dropout", "bn_hidden", max_epochs=30, patience=3)
    assert p3_lenet.outcome(reading["train_loss"]) == "worse" and p3_lenet.outcome(reading["loss_gap"]) == "better"
    assert "fits the training set less closely than 3.2 BN hidden" in reading["fit_text"]
    assert "a smaller test − training loss gap" in reading["fit_text"]
    assert reading["conclusion"] == ("so it trails once both are trained to convergence, and it fits the "
                                     "training set less")
    assert "3.4 dropout trails 3.2 BN hidden by 0.50 points" in reading["text"]
    capped = p3_lenet.fit_reading(variants, "dropout", "bn_hidden", max_epochs=10, patience=3)
    assert "at the 10-epoch cap, where 10 of their 10 runs were still improving" in capped["conclusion"]


@pytest.mark.parametrize("conv_accuracy, arm, reason", [
    (0.992, "dropout_conv", "measurably better"),
    (0.980, "dropout", "costs accuracy"),
    (None, "dropout", "no measurable difference"),
])
def test_dropout_arm_is_chosen_from_the_paired_difference(conv_accuracy, arm, reason):
    dense = 0.985 + 1e-4 * NOISE
    conv = dense + 1e-3 * NOISE[::-1] if conv_accuracy is None else conv_accuracy + 1e-4 * NOISE[::-1]
    choice = p3_lenet.dropout_arm({"dropout": _runs(dense), "dropout_conv": _runs(conv)})
    assert choice["arm"] == arm and reason in choice["text"]
    assert choice["comparison"]["a"] == "dropout_conv" and choice["comparison"]["b"] == "dropout"


def test_same_seed_agreement_separates_training_path_from_test_time():
    gamma = np.array([[1.0, 1.1], [0.9, 1.2], [1.05, 0.95]])
    a = _runs([0.90, 0.95, 0.99], gamma=gamma + 1e-6)
    b = _runs([0.95, 0.96, 0.97], gamma=gamma)
    out = p3_lenet.same_seed_agreement({"bn_input_hidden": a, "bn_hidden": b}, "bn_input_hidden", "bn_hidden")
    np.testing.assert_allclose(out["per_seed_points"], [5.0, 1.0, 2.0], atol=1e-9)
    assert not out["within_seed_sd"] and out["same_training_path"]
    assert "the difference arises at inference" in out["text"]
    close = p3_lenet.same_seed_agreement({"x": _runs([0.95, 0.96, 0.97], gamma=gamma), "bn_hidden": b},
                                         "x", "bn_hidden")
    assert close["within_seed_sd"] and close["max_points"] == 0.0


def test_bn_layers_after_dropout_come_from_the_model():
    assert p3_lenet.bn_layers_after_dropout("bn_dropout") == ["conv1_bn", "fc2_bn"]
    assert p3_lenet.bn_layers_after_dropout("bn_hidden") == []


def test_variance_shift_reading_uses_paired_intervals_per_layer():
    layers = ("conv1_bn", "conv2_bn", "fc1_bn", "fc2_bn")
    reference = {layer: 0.98 + 0.01 * NOISE for layer in layers}
    shifted = dict(reference, conv1_bn=0.80 + 0.01 * NOISE, fc2_bn=0.70 + 0.01 * NOISE[::-1])
    variants = {"bn_hidden": _runs(0.99 + 0 * NOISE, variance_ratio=reference),
                "bn_dropout": _runs(0.99 + 0 * NOISE, variance_ratio=shifted)}
    reading = p3_lenet.variance_shift_reading(variants)
    assert reading["after_dropout"] == ["conv1_bn", "fc2_bn"] and reading["others"] == ["conv2_bn", "fc1_bn"]
    assert reading["shifted_after_dropout"] == ["conv1_bn", "fc2_bn"]
    assert reading["layers"]["fc2_bn"]["ratio_shifted"] == pytest.approx(0.70)
    assert "measurably lower in 2 of 2" in reading["text"] and "not measurably different in any" in reading["text"]
    assert reading["changed_others"] == {"lower": [], "higher": []}
    downstream = p3_lenet.variance_shift_reading(dict(variants, bn_dropout=_runs(
        0.99 + 0 * NOISE, variance_ratio=dict(shifted, fc1_bn=1.08 + 0.01 * NOISE))))
    assert downstream["changed_others"]["higher"] == ["fc1_bn"]
    assert "measurably higher in fc1_bn: the mismatch reaches the layers downstream" in downstream["text"]
    rows = p3_lenet.variance_shift_table(variants)
    assert {(r["variant"], r["layer"]) for r in rows} == {(v, layer) for v in variants for layer in layers}


def test_drift_reading_typical_unit_and_relative_spread():
    table = {"baseline": {"mean_range_over_std": np.array([0.5, 0.6, 0.55]), "std_ratio": np.array([2.0, 2.2, 2.1])},
             "bn_hidden": {"mean_range_over_std": np.array([0.005, 0.006, 0.0055]),
                           "std_ratio": np.array([1.9, 2.3, 2.1])}}
    reading = p3_lenet.drift_reading(table)
    assert reading["mean_range_over_std"]["ratio"] == pytest.approx(100.0)
    assert "measurably larger in baseline" in reading["mean_range_over_std"]["text"]
    assert "not measurably different" in reading["std_ratio"]["text"]
    means = np.array([[0.0, 0.0, 0.0], [1.0, 3.0, 2.0]])
    assert p3_lenet.typical_unit(means, np.ones((2, 3))) == 2
    spread = p3_lenet.relative_spread({"std": np.array([[[2.0, 4.0], [1.0, 2.0]]])})
    np.testing.assert_allclose(spread, [[2.0, 1.0]])


def test_p3_plots_take_runs_of_different_lengths():
    import matplotlib

    matplotlib.use("Agg")
    from hw2 import plotting

    assert set(plotting.P3_COLORS) == set(p3_lenet.VARIANTS)
    runs = {"dropout": _runs([0.9, 0.91], best_epoch=[3, 6], epochs_run=[5, 9]),
            "dropout_conv": _runs([0.9, 0.91], best_epoch=[2, 2], epochs_run=[4, 4])}
    fig, ax = plotting.new_figure()
    plotting.plot_learning_curves(ax, runs, p3_lenet.labels(runs), "accuracy")
    validation = [line for line in ax.lines if line.get_label() == "3.4 dropout — validation"][0]
    assert np.isfinite(validation.get_ydata()).all() and len(validation.get_ydata()) == 9
    assert len(ax.collections) >= 2  # bands and the best-epoch dots
    rows = [{"variant": v, "layer": "fc2_bn", "ratio_median": 0.9, "ratio_sd": 0.01}
            for v in ("bn_hidden", "bn_dropout")]
    fig, ax = plotting.new_figure()
    plotting.plot_variance_shift(ax, rows, p3_lenet.labels(("bn_hidden", "bn_dropout")))
    assert len(ax.patches) == 2
