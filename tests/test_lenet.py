"""LeNet-5 builder, the P3 data pipeline, the covariate-shift probe and the p3.lenet experiment."""

import dataclasses

import keras
import numpy as np
import pytest

from hw2 import covariate_shift, stats, training
from hw2.experiments import p3_analysis, p3_lenet
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


# ------------------------------------------------------------------------------------------ variants
HIDDEN_BN = {"conv1_bn", "conv2_bn", "fc1_bn", "fc2_bn"}
# The homework's variants (the table of hw2.experiments.p3_lenet), written out independently of VARIANTS:
# (input layer, BN layers, {dropout layer: the LeNetConfig field whose rate it has}).
DENSE_DROPOUT = {"input_dropout": "input_dropout", "fc1_dropout": "hidden_dropout", "fc2_dropout": "hidden_dropout"}
EXPECTED_LAYOUT = {
    "baseline": ("input_norm", set(), {}),
    "bn_hidden": ("input_norm", HIDDEN_BN, {}),
    "bn_input_hidden": ("input_bn", {"input_bn"} | HIDDEN_BN, {}),
    "dropout": ("input_norm", set(), DENSE_DROPOUT),
    "dropout_conv": ("input_norm", set(),
                     dict(DENSE_DROPOUT, conv1_dropout="conv_dropout", conv2_dropout="conv_dropout")),
    "bn_dropout": ("input_norm", HIDDEN_BN, DENSE_DROPOUT),
}


def _layers_of(model, kind):
    return {layer.name: layer for layer in model.layers if isinstance(layer, kind)}


def test_every_variant_has_an_expected_layout():
    assert set(EXPECTED_LAYOUT) == set(p3_lenet.VARIANTS)


@pytest.mark.parametrize("variant", list(EXPECTED_LAYOUT))
def test_build_variant_has_the_variants_layers_and_dropout_rates(variant):
    config = p3_lenet.LeNetConfig()
    assert (config.input_dropout, config.hidden_dropout) == (0.2, 0.5)  # the homework's rates, which differ
    model = p3_lenet.build_variant(variant, config, mean=0.13, variance=0.09, steps_per_epoch=10)
    input_layer, bn, dropout = EXPECTED_LAYOUT[variant]
    names = [layer.name for layer in model.layers]
    assert input_layer in names and ({"input_norm", "input_bn"} - {input_layer}).isdisjoint(names)
    assert set(_layers_of(model, keras.layers.BatchNormalization)) == bn
    rates = {name: layer.rate for name, layer in _layers_of(model, keras.layers.Dropout).items()}
    assert rates == {name: getattr(config, field) for name, field in dropout.items()}
    if dropout:  # the input rate on the input, the hidden rate after the dense layers
        assert rates["input_dropout"] == 0.2 and rates["fc1_dropout"] == rates["fc2_dropout"] == 0.5
        assert names.index("input_dropout") == names.index(input_layer) + 1
        assert names.index("fc1_dropout") == names.index("fc1_act") + 1
    if input_layer == "input_norm":  # standardized with the training set's statistics
        norm = model.get_layer("input_norm")
        np.testing.assert_allclose(keras.ops.convert_to_numpy(norm.mean).ravel(), 0.13, rtol=1e-6)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(norm.variance).ravel(), 0.09, rtol=1e-6)
    assert model.name == f"lenet5_{variant}"


@pytest.mark.parametrize("variant", ["dropout", "dropout_conv", "bn_dropout"])
def test_build_variant_takes_each_dropout_rate_from_its_own_field(variant):
    config = p3_lenet.LeNetConfig(input_dropout=0.1, hidden_dropout=0.4, conv_dropout=0.3)  # all different
    model = p3_lenet.build_variant(variant, config, mean=0.0, variance=1.0, steps_per_epoch=10)
    rates = {name: layer.rate for name, layer in _layers_of(model, keras.layers.Dropout).items()}
    assert rates == {name: getattr(config, field) for name, field in EXPECTED_LAYOUT[variant][2].items()}


def test_build_variant_compiles_the_shared_optimizer_and_loss():
    config = p3_lenet.LeNetConfig(max_epochs=7, learning_rate=2e-3, final_learning_rate=5e-4)
    model = p3_lenet.build_variant("bn_dropout", config, mean=0.0, variance=1.0, steps_per_epoch=11)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    schedule = model.optimizer.get_config()["learning_rate"]
    assert schedule["class_name"] == "CosineDecay"
    assert schedule["config"]["initial_learning_rate"] == pytest.approx(2e-3)
    assert schedule["config"]["decay_steps"] == 7 * 11  # the cap, not the epochs a run happens to reach
    assert schedule["config"]["alpha"] == pytest.approx(0.25)  # ends at final_learning_rate
    assert model.loss == "sparse_categorical_crossentropy"


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
    with pytest.raises(ValueError, match=r"Argument `n_train` must be an integer >= 1 or None\. Received: n_train=0"):
        p3_lenet.LeNetConfig(n_train=0)
    with pytest.raises(ValueError, match=r"in \(0, learning_rate=0\.001\]\. Received: final_learning_rate=0\.1"):
        p3_lenet.LeNetConfig(final_learning_rate=0.1)
    with pytest.raises(ValueError, match=r"Argument `learning_rate` must be > 0\. Received: learning_rate=0"):
        p3_lenet.LeNetConfig(learning_rate=0)
    with pytest.raises(ValueError, match=r"= 2 \(every run must reach it\)\. Received: probe_epochs=3"):
        p3_lenet.LeNetConfig(patience=1, probe_epochs=3)
    with pytest.raises(ValueError, match=r"non-empty subset of .*Received: variants=\(\)"):
        p3_lenet.LeNetConfig(variants=())
    assert p3_lenet.LeNetConfig(n_train=None, n_test=100).n_test == 100


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
    assert "3.5 BN hidden + dropout" in p3_analysis.accuracy_table(data["variants"])

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


def test_comparisons_are_the_listed_pairs_of_the_variants_run():
    rng = np.random.default_rng(0)

    def runs(level):
        return {"test_accuracy": level + 1e-3 * rng.standard_normal(5)}

    variants = {"baseline": runs(0.98), "bn_hidden": runs(0.99), "dropout": runs(0.985)}
    out = p3_lenet.comparisons(variants)
    assert [(c["a"], c["b"]) for c in out] == [("bn_hidden", "baseline"), ("dropout", "baseline"),
                                                ("dropout", "bn_hidden")]  # COMPARISONS' order, a - b
    assert out[0]["question"] == "does BN in the hidden layers help?" and out[0]["mean_diff"] > 0
    assert out[2]["mean_diff"] < 0 and all(c["metric"] == "test_accuracy" for c in out)
    with pytest.raises(ValueError, match="Argument `metric` must be one of"):
        p3_lenet.metric_values(variants["baseline"], "val_loss")


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
