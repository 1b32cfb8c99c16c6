import numpy as np
import pytest

from hw2 import experiments, perceptron
from hw2.datasets import unit_square


def _classic_perceptron(x, y, lr, epochs, orders):
    """Rosenblatt's rule, written the textbook way: update on every mistake (sign(0) is a mistake)."""
    w = np.zeros(x.shape[1])
    for epoch in range(epochs):
        for i in orders[epoch]:
            if np.sign(w @ x[i]) != y[i]:
                w = w + lr * y[i] * x[i]
    return w


def test_margin_zero_is_the_classic_perceptron_rule():
    rng = np.random.default_rng(0)
    x, y = unit_square(20, rng)
    epochs, runs = 7, 1
    order_rng = np.random.default_rng(5)
    w, _ = perceptron.train_margin_sgd(x[None], y[None], margin=0.0, lr=0.3, epochs=epochs, rng=order_rng)
    # Replay the same permutations the trainer drew.
    replay = np.random.default_rng(5)
    base = np.tile(np.arange(20), (runs, 1))
    orders = [replay.permuted(base, axis=1)[0] for _ in range(epochs)]
    np.testing.assert_allclose(w[0], _classic_perceptron(x, y, 0.3, epochs, orders), rtol=0, atol=1e-12)


def test_hinge_updates_inside_the_margin_only():
    x = np.array([[[1.0, 0.0]]])
    y = np.array([[1.0]])
    w0 = np.array([[0.5, 0.0]])  # margin 0.5: hinge (a=1) updates, perceptron (a=0) does not
    w_h, _ = perceptron.train_margin_sgd(x, y, margin=1.0, lr=0.1, epochs=1, rng=np.random.default_rng(0), w0=w0)
    w_p, _ = perceptron.train_margin_sgd(x, y, margin=0.0, lr=0.1, epochs=1, rng=np.random.default_rng(0), w0=w0)
    np.testing.assert_allclose(w_h, [[0.6, 0.0]])
    np.testing.assert_allclose(w_p, w0)


def test_zero_weights_start_moving_because_the_kink_counts_as_active():
    x, y = unit_square(20, np.random.default_rng(1))
    w, snaps = perceptron.train_margin_sgd(x[None], y[None], margin=0.0, lr=1.0, epochs=1,
                                           rng=np.random.default_rng(0), record_epochs=(0, 1))
    assert np.all(snaps[0][0] == 0) and np.linalg.norm(w) > 0


def test_perceptron_from_zero_is_learning_rate_invariant_and_runs_are_independent():
    rng = np.random.default_rng(2)
    x, y = unit_square(3 * 20, rng)
    x, y = x.reshape(3, 20, 2), y.reshape(3, 20)
    w_small, _ = perceptron.train_margin_sgd(x, y, margin=0.0, lr=0.01, epochs=5, rng=np.random.default_rng(9))
    w_big, _ = perceptron.train_margin_sgd(x, y, margin=0.0, lr=10.0, epochs=5, rng=np.random.default_rng(9))
    np.testing.assert_allclose(w_big, 1000 * w_small, rtol=1e-9)
    # Run 1 trained alone equals run 1 trained among others when it sees the same orders.
    together, _ = perceptron.train_margin_sgd(np.repeat(x[1:2], 3, 0), np.repeat(y[1:2], 3, 0), margin=1.0,
                                              lr=0.1, epochs=4, rng=np.random.default_rng(3), runs_per_order=3)
    np.testing.assert_allclose(together[0], together[2])


def test_converged_runs_are_fixed_points():
    x, y = unit_square(20, np.random.default_rng(4))
    _, snaps = perceptron.train_margin_sgd(x[None], y[None], margin=0.0, lr=1.0, epochs=300,
                                           rng=np.random.default_rng(0), record_epochs=(200, 300))
    w200, converged200 = snaps[200]
    assert converged200[0]
    np.testing.assert_array_equal(snaps[300][0], w200)
    assert np.all(np.sign(x @ w200[0]) == y)


@pytest.mark.parametrize("kwargs, match", [
    ({"margin": -1.0}, "`margin` must be >= 0"), ({"lr": 0.0}, "`lr` must be > 0"), ({"epochs": -1}, "`epochs`"),
])
def test_bad_arguments_are_named(kwargs, match):
    x, y = unit_square(4, np.random.default_rng(0))
    args = {"margin": 0.0, "lr": 0.1, "epochs": 1} | kwargs
    with pytest.raises(ValueError, match=match):
        perceptron.train_margin_sgd(x[None], y[None], rng=np.random.default_rng(0), **args)
    with pytest.raises(ValueError, match="only -1 and \\+1"):
        perceptron.train_margin_sgd(x[None], (y[None] + 1) / 2, margin=0.0, lr=0.1, epochs=1,
                                    rng=np.random.default_rng(0))


def test_angle_and_accuracy_helpers():
    np.testing.assert_allclose(perceptron.angle_to_normal(np.array([[2.0, -2.0], [0.0, 1.0], [0.0, 0.0]])),
                               [0.0, 135.0, 90.0], atol=1e-5)
    x = np.array([[0.9, 0.1], [0.1, 0.9]])
    assert perceptron.accuracy(np.array([[1.0, -1.0], [-1.0, 1.0]]), x, np.array([1.0, -1.0])).tolist() == [1.0, 0.0]


def test_p1_experiment_is_reproducible_and_consistent(tmp_path):
    from hw2.store import ResultStore

    first = experiments.run("p1.perceptron", "smoke", seed=1, store=ResultStore(tmp_path / "a"))
    second = experiments.run("p1.perceptron", "smoke", seed=1, store=ResultStore(tmp_path / "b"))
    assert not first.from_store and not second.from_store
    np.testing.assert_array_equal(first.data["accuracy"]["hinge"], second.data["accuracy"]["hinge"])
    data = first.data
    assert data["accuracy"]["hinge"].shape == (first.config["n_repeats"],)
    # The perceptron rows of the grid do not depend on the learning rate.
    np.testing.assert_allclose(data["grid_accuracy_mean"][0], data["grid_accuracy_mean"][0][:1].repeat(
        len(data["lr_grid"]), axis=0))
    summary = data["summary"]
    assert 0.5 < summary["perceptron"]["accuracy_mean"] <= 1.0
    assert summary["hinge_minus_perceptron"]["n"] == first.config["n_repeats"]


def test_p1_config_validation():
    from hw2.experiments.p1_perceptron import PerceptronConfig

    with pytest.raises(ValueError, match=r"`lr` must be one of \(0\.001, 0\.01, .*Received: lr=0\.5$"):
        PerceptronConfig(lr=0.5)
    with pytest.raises(ValueError, match=r"^Argument `n_train` must be an integer >= 2. Received: n_train=1$"):
        PerceptronConfig(n_train=1)
    with pytest.raises(ValueError, match=r"^Argument `n_repeats` must be an integer >= 2. Received: n_repeats=1$"):
        PerceptronConfig(n_repeats=1)


def _grid_data(hinge_correct, perceptron_correct, lr_grid, epochs_grid):
    correct = np.stack([perceptron_correct, hinge_correct])
    return {"losses": ["perceptron", "hinge"], "lr_grid": np.asarray(lr_grid), "epochs_grid": np.asarray(epochs_grid),
            "n_test": 100, "grid_correct": correct, "grid_converged": np.ones(correct.shape[:3])}


def test_grid_readers_name_the_winner_of_every_setting_and_the_edge():
    from hw2.experiments import p1_perceptron as p1

    rng = np.random.default_rng(0)
    base = rng.integers(80, 90, size=(2, 3, 200))
    noise = rng.integers(-1, 2, size=(2, 3, 200))
    hinge = base + noise
    hinge[1, 2] += 5   # clearly better at (lr 1, 100 epochs) only
    hinge[0, 0] -= 5   # clearly worse at (lr 0.1, 1 epoch)
    data = _grid_data(hinge, base, (0.1, 1.0), (1, 10, 100))
    wins = p1.where_each_wins(data)
    assert wins["hinge"] == [(1.0, 100)] and wins["perceptron"] == [(0.1, 1)]
    assert len(wins["tie"]) == 4
    check = p1.edge_check(data)
    assert check["best"] == (1.0, 100) and set(check["edges"]) == {"largest epochs", "largest lr"}
    assert not check["stable"] and check["edges"]["largest epochs"]["gain"] > 0.04
    # The best strictly inside the grid: nothing depends on where it stops.
    interior = np.full((3, 3, 50), 80)
    interior[1, 1] = 90
    check = p1.edge_check(_grid_data(interior, interior, (0.1, 1.0, 10.0), (1, 10, 100)))
    assert check["best"] == (1.0, 10) and check["edges"] == {} and check["stable"]
    # At an edge, but the last step buys nothing beyond the noise: stable.
    same = np.repeat(rng.integers(85, 95, size=(1, 1, 300)), 2, axis=1).repeat(2, axis=0)
    check = p1.edge_check(_grid_data(same, same, (0.1, 1.0), (10,)))
    assert check["edges"]["largest lr" if check["best"][0] == 1.0 else "smallest lr"]["gain"] == 0
    assert check["stable"]


def test_p1_summary_has_the_paired_single_set_comparison(tmp_path):
    from hw2 import stats
    from hw2.store import ResultStore

    data = experiments.run("p1.perceptron", "smoke", store=ResultStore(tmp_path)).data
    m = data["summary"]["single_set_mcnemar"]
    y = data["y_test"]
    right = {name: perceptron.predict(data["weights"][name][:1], data["x_test"])[0] == y for name in data["losses"]}
    assert m["only_a"] == int(np.sum(right["hinge"] & ~right["perceptron"]))
    assert m["only_b"] == int(np.sum(~right["hinge"] & right["perceptron"]))
    assert m["p_value"] == stats.mcnemar_exact(m["only_a"], m["only_b"])
    # grid_correct agrees with the stored accuracies of the configured setting.
    li, ri = data["losses"].index("hinge"), list(data["lr_grid"]).index(1.0)
    ei = list(data["epochs_grid"]).index(100)
    np.testing.assert_allclose(data["grid_correct"][li, ri, ei] / len(y), data["accuracy"]["hinge"])
