"""The dying-ReLU simulator: each network of the ensemble trains exactly like a plain Keras model."""

import dataclasses

import keras
import numpy as np
import pytest

from hw2 import dying_relu as dr

ARMS = ("relu", "leaky_relu", "relu+rai")


@pytest.fixture(scope="module")
def trained():
    """A small ensemble of depth-5 width-2 networks (3 arms) trained 2 epochs, batch orders recorded."""
    ens = dr.DyingReluEnsemble(8, depth=5, width=2, arms=ARMS, n_points=200, batch_size=64, seed=5,
                               record_orders=True)
    history = ens.train(2, progress=False, checkpoints=(1, 2))
    return ens, history


def _max_abs_diff(params_a, params_b, k):
    """Largest difference between network ``k`` of ``params_a`` and the single network ``params_b``."""
    return max(max(float(np.max(np.abs(a[0][k] - b[0][0]))), float(np.max(np.abs(a[1][k] - b[1][0]))))
               for a, b in zip(params_a, params_b))


@pytest.mark.slow
def test_each_simulation_matches_a_plain_keras_model_trained_alone(trained):
    ens, history = trained
    born_dead = dr.analyze_parameters(ens.initial_parameters_of("relu"), "relu")["dead"]
    alive = [int(k) for k in np.flatnonzero(~born_dead)]
    assert alive, "the fixture should hold a ReLU network that is alive at initialization"
    final = ens.parameters()
    for arm, k in (("relu", alive[0]), ("leaky_relu", 3), ("relu+rai", alive[-1])):
        _, params, losses = dr.train_reference_network(ens, arm, k, 2, orders=ens.orders, jit_compile=False)
        assert _max_abs_diff(final[arm], params, k) < 1e-5, (arm, k)
        np.testing.assert_allclose(history["loss"][:, ens.arms.index(dr.Arm.parse(arm)), k], losses, rtol=1e-5)
    # The comparison is not vacuous: the alive ReLU network and every Leaky ReLU network moved.
    init = ens.initial_parameters_of("relu")
    assert _max_abs_diff(final["relu"], [(k[alive[0]][None], b[alive[0]][None]) for k, b in init], alive[0]) > 1e-3


@pytest.mark.slow
def test_wide_layers_use_einsum_and_still_match():
    ens = dr.DyingReluEnsemble(3, depth=3, width=5, arms=("leaky_relu",), n_points=128, batch_size=32, seed=1,
                               record_orders=True)
    assert ens.model.stacks[0].products == "einsum"
    ens.train(1, progress=False)
    _, params, _ = dr.train_reference_network(ens, "leaky_relu", 2, 1, orders=ens.orders, jit_compile=False)
    assert _max_abs_diff(ens.parameters()["leaky_relu"], params, 2) < 1e-5


def test_arms_share_data_and_initial_weights(trained):
    ens, _ = trained
    he_relu, he_leaky = ens.initial_parameters_of("relu"), ens.initial_parameters_of("leaky_relu")
    assert all(a[0] is b[0] for a, b in zip(he_relu, he_leaky))
    rai = ens.initial_parameters_of("relu+rai")
    assert np.any(rai[0][1] != 0) and np.all(he_relu[0][1] == 0)  # RAI biases are not all zero
    # Each simulation has its own points and its own batch order.
    assert not np.allclose(ens.x[0], ens.x[1])
    assert not np.array_equal(ens.orders[0][0], ens.orders[0][1])
    assert not np.array_equal(ens.orders[0][0], ens.orders[1][0])
    assert ens.orders[0].shape == (8, 3 * 64)  # the partial last batch is dropped


def test_checkpoint_analysis_and_dead_relu_networks_are_constant(trained):
    ens, history = trained
    assert sorted(history["checkpoints"]) == [1, 2]
    final = ens.analyze()
    relu, leaky = final["relu"], final["leaky_relu"]
    assert np.all(relu["collapsed"][relu["dead"]])
    assert np.all(relu["relative_spread"][relu["dead"]] == 0)
    assert np.all(np.isfinite(relu["mse"]))
    # With the same initial weights, a born-dead ReLU network is constant; its Leaky ReLU twin is not.
    init_relu = dr.analyze_parameters(ens.initial_parameters_of("relu"), "relu")
    init_leaky = dr.analyze_parameters(ens.initial_parameters_of("leaky_relu"), "leaky_relu")
    assert init_relu["dead"].any()
    assert np.all(init_relu["relative_spread"][init_relu["dead"]] == 0)
    assert np.all(init_leaky["relative_spread"] > 0)
    assert leaky["collapsed"].shape == (8,)


def test_one_sided_death_probability_matches_monte_carlo():
    depth, width, n = 6, 2, 20000
    params = dr.initial_parameters("he_normal", depth, width, n, np.random.default_rng(0))
    _, dead_positive, _ = dr.evaluate_networks(params, np.array([1.0]))
    expected = dr.one_sided_death_probability(depth, width)
    se = np.sqrt(expected * (1 - expected) / n)
    assert abs(dead_positive.mean() - expected) < 4 * se
    mc = dr.born_dead_monte_carlo(depth, width, 4000)
    assert 0 < mc["probability"] <= expected + 0.03
    assert mc["ci95"][0] <= mc["probability"] <= mc["ci95"][1]


def test_zero_bias_networks_are_dead_exactly_when_both_signs_die():
    params = dr.initial_parameters("he_normal", 8, 2, 3000, np.random.default_rng(1))
    _, dead_grid, _ = dr.evaluate_networks(params, dr.grid(101))
    outputs, _, _ = dr.evaluate_networks(params, np.array([-1.0, 1.0]))
    np.testing.assert_array_equal(dead_grid, np.all(outputs == 0, axis=1))


@pytest.mark.slow
def test_diverging_networks_are_reported_not_silent():
    ens = dr.DyingReluEnsemble(4, depth=4, width=2, arms=("leaky_relu",), n_points=128, batch_size=64,
                               learning_rate=1e9, seed=0)
    history = ens.train(2, progress=False)
    out = ens.analyze()["leaky_relu"]
    assert out["non_finite"].any()
    assert not np.any(out["collapsed"] & out["non_finite"])
    assert np.all(np.isnan(out["mse"][out["non_finite"]]))
    assert history["loss"].shape == (2, 1, 4)


@pytest.mark.parametrize("kwargs, name", [
    ({"depth": 0}, "depth"), ({"width": 0}, "width"), ({"batch_size": 5000}, "batch_size"),
    ({"target": "sine"}, "target"), ({"arms": ("tanh",)}, "activation"), ({"arms": ("relu+lsuv",)}, "initialization"),
    ({"n_simulations": 0}, "n_simulations"), ({"learning_rate": 0.0}, "learning_rate"), ({"arms": ()}, "arms"),
    ({"arms": ("relu", "relu")}, "arms"), ({"learning_rate": float("nan")}, "learning_rate"),
    ({"negative_slope": 1.0}, "negative_slope"), ({"depth": 2.5}, "depth"), ({"products": "loops"}, "products"),
])
def test_bad_input_names_the_argument(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        dr.DyingReluEnsemble(**{"n_simulations": 2, "n_points": 100, **kwargs})


def test_targets_and_grid():
    x = dr.grid(5)
    assert x[0] == pytest.approx(-np.sqrt(7)) and x[-1] == pytest.approx(np.sqrt(7))
    np.testing.assert_allclose(dr.TARGETS["abs"](x), np.abs(x))
    np.testing.assert_allclose(dr.TARGETS["xsin5x"](x), x * np.sin(5 * x))
    np.testing.assert_allclose(dr.TARGETS["step_sin"](np.array([-1.0, 1.0])), [0.2 * np.sin(-5), 1 + 0.2 * np.sin(5)])
    assert dr.layer_sizes(10, 2) == [1] + [2] * 9 + [1]


def test_experiment_configs_validate_and_checkpoints():
    from hw2.experiments.p2_initialization import DepthSweepConfig, DyingReluConfig, checkpoint_epochs

    assert checkpoint_epochs(50) == (1, 2, 5, 10, 20, 30, 40, 50)
    assert checkpoint_epochs(3) == (1, 2, 3)
    for kwargs, name in [({"depth": 0}, "depth"), ({"width": 0}, "width"), ({"batch_size": 4000}, "batch_size"),
                         ({"target": "cos"}, "target"), ({"arms": ("elu",)}, "activation"),
                         ({"epochs": 0}, "epochs"), ({"tolerance": -1.0}, "tolerance")]:
        with pytest.raises(ValueError, match=f"`{name}`"):
            DyingReluConfig(**kwargs)
    with pytest.raises(ValueError, match="`depth`"):
        DepthSweepConfig(depths=(0, 2))
    with pytest.raises(ValueError, match=r"^Argument `born_dead_mc` must be an integer >= 1. Received: born_dead_mc=0"):
        DyingReluConfig(born_dead_mc=0)
    with pytest.raises(ValueError, match=r"^Argument `tolerance` must be >= 0 and finite. Received: tolerance=nan$"):
        DyingReluConfig(tolerance=float("nan"))


def test_every_p2_config_checks_its_batch_size_as_the_simulator_does():
    from hw2.experiments.p2_initialization import ConvergedConfig, DepthSweepConfig, DyingReluConfig

    message = r"^Argument `batch_size` must be <= n_points=100. Received: batch_size=128$"
    for config in (DyingReluConfig, DepthSweepConfig, ConvergedConfig, dr.DyingReluEnsemble):
        arguments = {"n_simulations": 1} if config is dr.DyingReluEnsemble else {}
        with pytest.raises(ValueError, match=message):
            config(n_points=100, batch_size=128, **arguments)


def test_converged_config_counts_are_checked():
    from hw2.experiments.p2_initialization import ConvergedConfig

    ConvergedConfig(n_simulations=1, every=1, window=1, max_epochs=1, snapshot_epoch=1, max_change=0)
    for name in ("n_simulations", "every", "window", "max_epochs", "snapshot_epoch"):
        with pytest.raises(ValueError, match=rf"^Argument `{name}` must be an integer >= 1. Received: {name}=0$"):
            ConvergedConfig(**{name: 0})
    with pytest.raises(ValueError, match=r"^Argument `max_change` must be an integer >= 0"):
        ConvergedConfig(max_change=-1)
    with pytest.raises(ValueError, match="`activation`"):
        ConvergedConfig(arms=("elu",))


@pytest.mark.slow
def test_converged_run_stops_by_its_rule_and_keeps_the_snapshot():
    """Smoke-sized run: stops at the first checkpoint where the rule holds, or at the cap; the
    snapshot is the state after its epoch, and the counts match the per-network flags."""
    from hw2.experiments.p2_initialization import ConvergedConfig, changed_within, compute_converged, converged_marks

    config = ConvergedConfig(n_simulations=6, depth=4, n_points=128, grid_size=51, every=1, window=2,
                             max_change=6, max_epochs=5, snapshot_epoch=1)
    out = compute_converged(config)
    s = out["summary"]
    assert s["stopped_by"] == "rule" and s["epochs_run"] == 2  # every network may change: stops at the window
    assert list(out["checkpoint_epochs"]) == [0, 1, 2]
    for a, arm in enumerate(out["arms"]):
        flags = out["per_arm"][arm]["collapsed"]
        assert out["collapsed_counts"][-1, a] == flags.sum() == s[arm]["collapsed"]["count"]
        assert out["per_arm"][arm]["collapsed_at_snapshot"].shape == flags.shape
        assert s[arm]["changed_in_last_window"] == changed_within(out["per_arm"][arm]["last_change"], 2, 2)
    assert out["loss_quantiles"].shape == (3, 2, 2)
    assert converged_marks(25, 60) == (1, 2, 5, 10, 20, 25, 50, 60)
    strict = compute_converged(dataclasses.replace(config, max_change=0, window=5, max_epochs=3))
    assert strict["summary"]["stopped_by"] == "cap" and strict["summary"]["epochs_run"] == 3


# ------------------------------------------------------------------------------ Keras serialization
def test_network_stack_config_round_trips():
    stack = dr.NetworkStack(3, depth=4, width=5, activation="leaky_relu", negative_slope=0.2, name="arm")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(stack))
    assert type(clone) is dr.NetworkStack and clone.get_config() == stack.get_config()
    assert (clone.sizes, clone.products, clone.negative_slope) == ([1, 5, 5, 5, 1], "einsum", 0.2)


def test_per_network_mean_config_round_trips():
    metric = dr.PerNetworkMean((2, 3), name="loss_per_network")
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
    assert type(clone) is dr.PerNetworkMean and clone.get_config() == metric.get_config()
    assert tuple(clone.result().shape) == (2, 3)


def test_ensemble_regressor_saves_and_loads_with_its_weights(tmp_path):
    ens = dr.DyingReluEnsemble(3, depth=3, width=2, arms=("relu", "leaky_relu"), n_points=64, batch_size=32)
    model = ens.model
    clone = dr.EnsembleRegressor.from_config(model.get_config())
    assert [s.get_config() for s in clone.stacks] == [s.get_config() for s in model.stacks]
    path = tmp_path / "ensemble.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, compile=False)
    x = np.linspace(-1, 1, 3 * 32, dtype="float32").reshape(32, 3)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(loaded(x)), keras.ops.convert_to_numpy(model(x)))


@pytest.mark.parametrize("tolerance", [1e-3, 0.05])
def test_collapse_tolerance_separates_spreads_just_below_and_above_it(tolerance):
    # Two depth-2 width-1 networks out = w * relu(x + 10): on the grid [-sqrt 7, sqrt 7] the hidden
    # unit is x + 10 > 0, so the output spread is |w| * 2 sqrt 7 and the target |x| spreads sqrt 7:
    # relative spread 2 |w|, set 1 % below and 1 % above the tolerance.
    w = np.array([0.99, 1.01], np.float32) * tolerance / 2
    params = [(np.ones((2, 1, 1), np.float32), np.full((2, 1), 10.0, np.float32)),
              (w.reshape(2, 1, 1), np.zeros((2, 1), np.float32))]
    out = dr.analyze_parameters(params, "relu", "abs", tolerance=tolerance)
    np.testing.assert_allclose(out["relative_spread"], [0.99 * tolerance, 1.01 * tolerance], rtol=1e-3)
    assert out["collapsed"].tolist() == [True, False]
    assert out["dead"].tolist() == [False, False]


def test_a_checkpoints_analysis_is_the_analysis_of_its_parameters(trained):
    ens, history = trained
    checkpoint = history["checkpoints"][2]  # the last epoch: the parameters the ensemble holds now
    params = ens.parameters()
    for arm in ens.arms:
        expected = dr.analyze_parameters(params[arm.name], arm.activation, ens.target, ens.negative_slope,
                                         grid_size=201, tolerance=1e-3)
        assert sorted(checkpoint[arm.name]) == sorted(expected)
        for key, value in expected.items():
            np.testing.assert_array_equal(checkpoint[arm.name][key], value, err_msg=f"{arm.name} {key}")
    # Not vacuous: after one epoch the Leaky ReLU networks computed other functions.
    assert not np.array_equal(history["checkpoints"][1]["leaky_relu"]["relative_spread"],
                              checkpoint["leaky_relu"]["relative_spread"])


def test_float32_resolution_is_the_smallest_spread_float32_can_show():
    from hw2 import dying_relu

    level, spread = np.float32(1.27), 2.6
    step = dying_relu.float32_resolution(level, spread) * spread
    # Half a step below the resolution rounds away: the float32 output is exactly constant.
    values = (np.float64(level) + np.linspace(0, 0.4 * step, 11)).astype(np.float32)
    assert values.max() - values.min() == 0
    # One step is visible.
    assert np.float32(level + step) - level == np.float32(step)
    with pytest.raises(ValueError, match="`target_spread` must be > 0"):
        dying_relu.float32_resolution(1.0, 0.0)
