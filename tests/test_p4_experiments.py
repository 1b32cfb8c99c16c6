"""Problem 4 experiments: the fixed split, the chained finders, training under a batch policy, verdicts."""

import dataclasses

import keras
import numpy as np
import pytest

from hw2 import experiments, profiles
from hw2.datasets import FASHION_MNIST_CLASSES
from hw2.experiments import p4_cyclical as p4
from hw2.experiments.p4_data import fashion_mnist_split, stratified_order, training_arrays
from hw2.store import ResultStore

P4_TRAINING = ("p4.lr_sweep", "p4.lr_range_test", "p4.clr", "p4.baseline", "p4.batch_sweep", "p4.cbs")


# ------------------------------------------------------------------------------------ data
def test_split_is_stratified_disjoint_and_complete():
    split = fashion_mnist_split(600, 0)
    sizes = {name: len(y) for name, (_, y) in split.items()}
    assert sizes == {"train": 54000, "validation": 6000, "test": 10000}
    assert np.bincount(split["validation"][1]).tolist() == [600] * 10
    assert np.bincount(split["train"][1]).tolist() == [5400] * 10
    # train + validation is exactly the official training set (as a multiset of images)
    from hw2.datasets import load_fashion_mnist

    (x_all, _), _ = load_fashion_mnist()
    joined = np.concatenate([split["train"][0], split["validation"][0]])
    rows = lambda x: np.sort(np.ascontiguousarray(x.reshape(60000, -1)).view(np.dtype((np.void, 784))).ravel())
    assert np.array_equal(rows(joined), rows(x_all))


def test_subsets_are_stratified_and_nested():
    small, large = training_arrays(100, 50, 30), training_arrays(300, 50, 30)
    assert small["train"][0].shape == (100, 28, 28, 1) and small["train"][0].dtype == np.float32
    assert small["train"][1].sum(axis=0).tolist() == [10.0] * 10  # one-hot, balanced
    assert np.array_equal(small["train"][0], large["train"][0][:100])
    assert 0.0 <= small["train"][0].min() and small["train"][0].max() <= 1.0
    with pytest.raises(ValueError, match="`train_size` must be in"):
        training_arrays(0)


def test_stratified_order_prefixes_are_balanced():
    labels = np.repeat(np.arange(5), 20)
    order = stratified_order(labels, seed=3)
    assert sorted(order.tolist()) == list(range(100))
    for n in (5, 10, 25):
        counts = np.bincount(labels[order[:n]], minlength=5)
        assert counts.max() - counts.min() <= 1


def test_fashion_summary_counts(results_dir):
    result = experiments.run("p4.fashion_mnist", "smoke")
    data = result.data
    assert data["total_images"] == 70000 and data["num_classes"] == 10
    assert data["class_names"] == list(FASHION_MNIST_CLASSES)
    assert data["figure_images"].shape == (9, 28, 28)
    d = np.asarray(data["figure_distances"])
    assert np.all(d[:, 0] < d[:, 1])  # the shown images are closer to their class mean than the median one
    with pytest.raises(ValueError, match="`figure_classes`"):
        experiments.get("p4.fashion_mnist").config_cls(figure_classes=("Hat",))


# ---------------------------------------------------------------------------- configuration
@pytest.mark.parametrize("name", P4_TRAINING + ("p4.compare",))
def test_full_profile_is_the_homework_spec(name):
    assert profiles.overrides_for(name, "full") == {}
    assert experiments.get(name).gpu_recommended


def test_full_spec_defaults():
    sweep = p4.LRSweepConfig()
    assert (sweep.batch_size, sweep.n_lrs, sweep.epochs) == (64, 10, 5)
    assert np.allclose(sweep.learning_rates[[0, -1]], [1e-9, 1e1])
    clr = p4.CLRConfig(lr_min=1e-3, lr_max=1e-2)
    assert (clr.step_epochs, clr.cycles, clr.epochs, clr.mode) == (8, 3, 48, "exp_range")
    schedule, per_epoch, iterations = p4.clr_schedule(clr, 54000)
    assert per_epoch == 843 and iterations == 843 * 48
    assert schedule.gamma == pytest.approx(0.99994, abs=5e-6)  # the reference implementation's value
    assert p4.BatchSweepConfig().batch_sizes == tuple(2**k for k in range(6, 14))
    assert p4.CompareConfig().seeds == (0, 1)


@pytest.mark.parametrize("cls, field, value, message", [
    (p4.LRSweepConfig, "lr_low", 0.0, "`lr_low`, `lr_high`"),
    (p4.LRSweepConfig, "n_lrs", 1, "`n_lrs` must be >= 2"),
    (p4.CLRConfig, "mode", "cosine", "`mode` must be one of"),
    (p4.CLRConfig, "step_epochs", 0, "`step_epochs` must be >= 1"),
    (p4.BatchSweepConfig, "batch_sizes", (64, 100), "powers of two"),
    (p4.CBSConfig, "micro_batch", 100, "`micro_batch` must be a power of two"),
    (p4.LRSweepConfig, "width", 0, "`width` must be > 0"),
])
def test_bad_config_raises_with_the_argument_name(cls, field, value, message):
    with pytest.raises(ValueError, match=message):
        cls(**{field: value})


def test_cbs_policy_settles_at_bmax():
    config = p4.CBSConfig(b_min=64, b_max=1024, lr=1e-3)
    sizes = p4.cbs_policy(config).trajectory(config.epochs)
    assert sizes[0] == 1024 and sizes[-1] == 1024 and sizes.min() >= 64
    assert set(sizes.tolist()) <= {64, 128, 256, 512, 1024}  # powers of two: few compiled shapes
    first, last = sizes[: 2 * config.step_epochs], sizes[-2 * config.step_epochs:]
    assert first.min() < last.min()  # the excursion towards bmin shrinks (exp_range)


# -------------------------------------------------------------------- training under a policy
def _tiny_data(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, n)]
    return {"train": (x, y), "validation": (x[:32], y[:32]), "test": (x[:40], y[:40])}


def _tiny_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(8, activation="tanh"),
                             keras.layers.Dense(3, activation="softmax")])


def _sgd(k):
    return keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, gradient_accumulation_steps=k)


def test_accumulated_epochs_match_direct_large_batches():
    """Batch 64 fed as 2 x 32 with accumulation == batch 64 fed at once (no BN: exact up to rounding)."""
    data = _tiny_data()
    direct = p4.train_under_policy(_tiny_model, data, epochs=2, batch_policy=lambda e: 64, make_optimizer=_sgd,
                                   micro_batch=64, seed=0)
    accumulated = p4.train_under_policy(_tiny_model, data, epochs=2, batch_policy=lambda e: 64,
                                        make_optimizer=_sgd, micro_batch=32, seed=0)
    assert direct["compiled_views"] == [1] and accumulated["compiled_views"] == [2]
    np.testing.assert_allclose(accumulated["history"]["val_loss"], direct["history"]["val_loss"], rtol=1e-4)
    assert accumulated["test_accuracy"] == pytest.approx(direct["test_accuracy"])


def test_switching_accumulation_keeps_weights_and_momentum():
    """A cyclical batch size crossing the micro-batch trains one set of weights with one momentum."""
    data = _tiny_data()
    policy = lambda e: [32, 64, 32][e]
    switched = p4.train_under_policy(_tiny_model, data, epochs=3, batch_policy=policy, make_optimizer=_sgd,
                                     micro_batch=32, seed=0)
    reference = p4.train_under_policy(_tiny_model, data, epochs=3, batch_policy=policy, make_optimizer=_sgd,
                                      micro_batch=64, seed=0)
    assert switched["compiled_views"] == [1, 2] and reference["compiled_views"] == [1]
    assert switched["history"]["batch_size"].tolist() == [32, 64, 32]
    assert switched["history"]["steps"].tolist() == [4, 2, 4]
    # Without the weights and momentum carried across the views, epoch 3 would differ.
    np.testing.assert_allclose(switched["history"]["loss"], reference["history"]["loss"], rtol=1e-4)


def test_copy_optimizer_state_moves_momentum():
    model = _tiny_model()
    a, b = _sgd(None), _sgd(2)
    a.build(model.trainable_variables)
    b.build(model.trainable_variables)
    for m in a.momentums:
        m.assign(np.full(m.shape, 0.5, dtype="float32"))
    p4._copy_optimizer_state(a, b)
    assert all(np.allclose(keras.ops.convert_to_numpy(m), 0.5) for m in b.momentums)


# ------------------------------------------------------------------------- chained experiments
@pytest.fixture
def tiny_p4(monkeypatch, tmp_path):
    """Even smaller than smoke: the chain lr_sweep -> clr in seconds, in a private store, with a
    small stand-in network (MiniGoogLeNet's own tests are in test_minigooglenet.py)."""
    tiny = {"train_size": 64, "validation_size": 20, "test_size": 20, "width": 0.0625}
    sizes = dict(profiles.SIZES)
    sizes["p4.lr_sweep"] = {"smoke": dict(tiny, n_lrs=3, lr_low=1e-4, lr_high=1e-1, epochs=1, batch_size=32)}
    sizes["p4.clr"] = {"smoke": dict(tiny, step_epochs=1, cycles=1, batch_size=32, micro_batch=32)}
    monkeypatch.setattr(profiles, "SIZES", sizes)

    def small_network(input_shape, width):  # the chain is under test here, not MiniGoogLeNet
        return keras.Sequential([keras.Input(input_shape), keras.layers.Conv2D(2, 3, strides=4),
                                 keras.layers.BatchNormalization(), keras.layers.Flatten(),
                                 keras.layers.Dense(10, activation="softmax")])

    monkeypatch.setattr(p4, "mini_googlenet", small_network)
    return ResultStore(tmp_path)


def test_clr_takes_its_bounds_from_the_stored_sweep(tiny_p4, monkeypatch):
    monkeypatch.setattr(p4, "_run_upstream",
                        lambda name, profile, fallback, seed: experiments.run(name, profile, seed=seed,
                                                                              store=tiny_p4))
    result = experiments.run("p4.clr", "smoke", store=tiny_p4)
    sweep = experiments.run("p4.lr_sweep", "smoke", store=tiny_p4)
    assert sweep.from_store  # computed once, by the prepare hook
    assert result.config["lr_min"] == sweep.data["lr_min"] and result.config["lr_max"] == sweep.data["lr_max"]
    assert sweep.data["lr_min"] < sweep.data["lr_max"]
    data = result.data
    assert data["history"]["loss"].shape == (2,) and data["epochs"] == 2
    trace = data["lr_trace"]
    assert trace.min() >= data["lr_min"] * (1 - 1e-6) and trace.max() <= data["lr_max"] * (1 + 1e-6)
    # the optimizer's learning rate at the end of each epoch is the schedule's value there
    per_epoch = data["iterations_per_epoch"]
    expected = p4.schedules.CyclicalLearningRate(data["lr_min"], data["lr_max"], data["step_iterations"],
                                                 mode="exp_range", gamma=data["gamma"])
    for epoch, lr in enumerate(data["history"]["learning_rate"]):
        assert lr == pytest.approx(float(expected((epoch + 1) * per_epoch)), rel=1e-5)
    assert 0.0 <= data["test_accuracy"] <= 1.0
    assert dataclasses.asdict(p4.CLRConfig())["lr_min"] is None  # the default config leaves it to prepare


@pytest.mark.slow
def test_compare_gathers_every_policy_from_the_chain(tiny_p4, monkeypatch):
    tiny = {"train_size": 64, "validation_size": 20, "test_size": 20, "width": 0.0625}
    sizes = dict(profiles.SIZES)
    sizes["p4.batch_sweep"] = {"smoke": dict(tiny, batch_sizes=(16, 32, 64), epochs=1, micro_batch=16)}
    sizes["p4.cbs"] = {"smoke": dict(tiny, step_epochs=1, cycles=1, micro_batch=16)}
    sizes["p4.baseline"] = {"smoke": dict(tiny, step_epochs=1, cycles=1, batch_size=32, micro_batch=32)}
    sizes["p4.compare"] = {"smoke": {"seeds": (0, 1)}}
    monkeypatch.setattr(profiles, "SIZES", sizes)
    monkeypatch.setattr(p4, "_run_upstream",
                        lambda name, profile, fallback, seed: experiments.run(name, profile, seed=seed,
                                                                              store=tiny_p4))
    compare = experiments.run("p4.compare", "smoke", store=tiny_p4)
    runs = compare.data["runs"]
    assert sorted((r["policy"], r["seed"]) for r in runs) == sorted(
        (p, s) for p in ("CLR", "CBS", "constant LR") for s in (0, 1))
    assert len(compare.config["upstream"]) == 6  # the key records exactly which runs it summarizes
    sweep = experiments.run("p4.lr_sweep", "smoke", store=tiny_p4).data
    found = experiments.run("p4.batch_sweep", "smoke", store=tiny_p4)
    assert found.config["lr"] == sweep["lr_min"] and found.config["reference_loss"] == sweep["reference_loss"]
    cbs = experiments.run("p4.cbs", "smoke", store=tiny_p4, seed=1)
    assert cbs.from_store and (cbs.data["b_min"], cbs.data["b_max"]) == (found.data["b_min"], found.data["b_max"])
    assert set(cbs.data["history"]["batch_size"].tolist()) <= {16, 32, 64}
    baseline = experiments.run("p4.baseline", "smoke", store=tiny_p4).data
    assert baseline["lr"] == sweep["best_lr"]
    table = compare.data["comparison"]["table"]
    assert {p: len(v["test_accuracy"]) for p, v in table.items()} == {"CLR": 2, "CBS": 2, "constant LR": 2}
