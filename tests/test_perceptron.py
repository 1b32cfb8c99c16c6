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


def _reference_margin_sgd(x, y, margin, lr, epochs, rng, w0=None, record_epochs=(), runs_per_order=1):
    """The trainer as first written (runs x features layout, every epoch draws its orders): the
    optimized one must give the same numbers bit for bit."""
    runs, points, features = x.shape
    w = np.zeros((runs, features)) if w0 is None else np.array(w0, dtype=np.float64, copy=True)
    lr = np.broadcast_to(np.asarray(lr, dtype=np.float64), (runs,))
    converged = np.zeros(runs, dtype=bool)
    snapshots = {0: (w.copy(), converged.copy())} if 0 in record_epochs else {}
    base_order = np.tile(np.arange(points), (runs // runs_per_order, 1))
    for epoch in range(1, epochs + 1):
        order = np.repeat(rng.permuted(base_order, axis=1), runs_per_order, axis=0)
        live = np.flatnonzero(~converged)
        if live.size:
            xs = np.take_along_axis(x[live], order[live][:, :, None], axis=1)
            ys = np.take_along_axis(y[live], order[live], axis=1)
            w_live, lr_live = w[live], lr[live]
            updated = np.zeros(live.size, dtype=bool)
            for step in range(points):
                xi, yi = xs[:, step], ys[:, step]
                active = yi * (xi * w_live).sum(axis=1) <= margin
                w_live += (lr_live * active * yi)[:, None] * xi
                updated |= active
            w[live] = w_live
            converged[live] = ~updated
        if epoch in record_epochs:
            snapshots[epoch] = (w.copy(), converged.copy())
    return w, snapshots


@pytest.mark.parametrize("margin, features, runs_per_order, with_w0", [
    (0.0, 2, 3, False), (1.0, 2, 3, False), (1.0, 2, 1, True), (0.5, 3, 2, True),
])
def test_trainer_matches_the_reference_bit_for_bit(margin, features, runs_per_order, with_w0):
    rng = np.random.default_rng(11)
    x = rng.uniform(0, 1, size=(12, 9, features))
    y = np.where(x[..., 0] > x[..., 1], 1.0, -1.0)
    lr = np.tile([0.1, 1.0, 10.0], 4)[: len(x)]
    w0 = rng.normal(size=(len(x), features)) if with_w0 else None
    record = (0, 1, 5, 40, 400)  # 400: long after every run has stopped (the optimized loop stops too)
    args = {"margin": margin, "lr": lr, "epochs": 400, "w0": w0, "record_epochs": record,
            "runs_per_order": runs_per_order}
    w, snaps = perceptron.train_margin_sgd(x, y, rng=np.random.default_rng(5), **args)
    w_ref, snaps_ref = _reference_margin_sgd(x, y, rng=np.random.default_rng(5), **args)
    np.testing.assert_array_equal(w, w_ref)
    assert snaps.keys() == snaps_ref.keys() == set(record)
    for epoch in record:
        np.testing.assert_array_equal(snaps[epoch][0], snaps_ref[epoch][0])
        np.testing.assert_array_equal(snaps[epoch][1], snaps_ref[epoch][1])
    if margin == 0.0:
        assert snaps[400][1].all()  # the perceptron stops on separable data: the early exit was taken


def test_sorted_sample_counts_what_predict_counts():
    from hw2 import stats

    rng = np.random.default_rng(3)
    x, y = unit_square(5000, rng)
    w = np.concatenate([rng.normal(size=(200, 2)), [[1, 1], [-1, -1], [0, 0], [1, -1], [0, 2], [-2, 0]]])
    sample = perceptron.SortedSample.of(x, y)
    direct = perceptron.predict(w, x)
    np.testing.assert_array_equal(sample.correct(w), (direct == y).sum(axis=1))
    np.testing.assert_allclose(sample.accuracy(w), perceptron.accuracy(w, x, y))
    per_run = sample.disagreement_with_others(w)
    assert per_run.shape == (len(w),)
    assert abs(per_run.mean() - stats.mean_pairwise_disagreement(direct)) < 1e-12
    # Run 0 against every other run, by brute force.
    brute = np.mean([(direct[0] != direct[s]).mean() for s in range(1, len(w))])
    assert abs(per_run[0] - brute) < 1e-12


@pytest.mark.parametrize("x, y, match", [
    (np.ones((3, 3)), np.ones(3), r"`x` must be an array of shape \(points, 2\)"),
    (np.ones((3, 2)), np.ones(2), r"`y` must be an array of shape \(3,\)"),
    (np.ones((3, 2)), np.zeros(3), "only -1 and \\+1"),
    (-np.ones((3, 2)), np.ones(3), "nonnegative coordinates"),
])
def test_sorted_sample_names_bad_arguments(x, y, match):
    with pytest.raises(ValueError, match=match):
        perceptron.SortedSample.of(x, y)
    sample = perceptron.SortedSample.of(np.array([[0.9, 0.1], [0.1, 0.9]]), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match=r"`w` must be an array of shape \(runs, 2\)"):
        sample.correct(np.ones(2))
    with pytest.raises(ValueError, match="runs >= 2"):
        sample.disagreement_with_others(np.ones((1, 2)))


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


def test_training_margin_is_the_closest_training_point():
    from hw2.experiments.p1_perceptron import training_margin

    x = np.array([[[0.9, 0.1], [0.2, 0.8], [0.6, 0.5]]])
    y = np.array([[1.0, -1.0, 1.0]])
    w = np.array([[2.0, -2.0]])
    np.testing.assert_allclose(training_margin(w, x, y), [0.1 / np.sqrt(2)])
    assert training_margin(np.zeros((1, 2)), x, y).tolist() == [0.0]
    assert training_margin(-w, x, y)[0] < 0  # misclassified points: negative


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
    # The fresh sample: the configured setting's per-run accuracies are the grid's, and they are
    # close to (not equal to) the fixed test set's.
    li, ri = data["losses"].index("hinge"), list(data["lr_grid"]).index(first.config["lr"])
    ei = list(data["epochs_grid"]).index(first.config["epochs"])
    np.testing.assert_allclose(data["grid_fresh_correct"][li, ri, ei] / data["n_fresh"],
                               data["fresh_accuracy"]["hinge"])
    assert data["n_fresh"] == first.config["n_fresh"] == 200_000
    assert abs(summary["hinge"]["fresh_accuracy_mean"] - summary["hinge"]["accuracy_mean"]) < 0.02
    assert summary["hinge_minus_perceptron_fresh"]["n"] == first.config["n_repeats"]
    np.testing.assert_allclose(summary["hinge"]["mean_pairwise_disagreement"], data["grid_disagreement"][li, ri, ei])


def test_p1_fresh_sample_is_its_own_stream(tmp_path):
    """Growing the fresh sample changes neither the training sets nor the fixed test set's numbers."""
    from hw2.store import ResultStore

    small = experiments.run("p1.perceptron", "smoke", n_fresh=1000, store=ResultStore(tmp_path / "a")).data
    large = experiments.run("p1.perceptron", "smoke", store=ResultStore(tmp_path / "b")).data
    np.testing.assert_array_equal(small["grid_correct"], large["grid_correct"])
    np.testing.assert_array_equal(small["weights"]["hinge"], large["weights"]["hinge"])
    assert not np.array_equal(small["grid_fresh_correct"], large["grid_fresh_correct"])


def test_p1_config_validation():
    from hw2.experiments.p1_perceptron import PerceptronConfig

    with pytest.raises(ValueError, match=r"`lr` must be one of \(0\.001, 0\.01, .*Received: lr=0\.5$"):
        PerceptronConfig(lr=0.5)
    with pytest.raises(ValueError, match=r"^Argument `n_train` must be an integer >= 2. Received: n_train=1$"):
        PerceptronConfig(n_train=1)
    with pytest.raises(ValueError, match=r"^Argument `n_repeats` must be an integer >= 2. Received: n_repeats=1$"):
        PerceptronConfig(n_repeats=1)
    with pytest.raises(ValueError, match=r"^Argument `n_fresh` must be an integer >= 2. Received: n_fresh=0$"):
        PerceptronConfig(n_fresh=0)


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
