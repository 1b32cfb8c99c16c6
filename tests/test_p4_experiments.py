"""Problem 4 experiments: the fixed split, the chained finders, training under a batch policy, verdicts."""

import dataclasses

import keras
import numpy as np
import p4_tiny
import pytest

from hw2 import experiments, profiles, schedules
from hw2.datasets import FASHION_MNIST_CLASSES
from hw2.experiments import p4_finders, p4_policies, p4_setup
from hw2.experiments.p4_data import fashion_mnist_split, stratified_order, training_arrays
from hw2.store import ResultStore

P4_TRAINING = ("p4.lr_sweep", "p4.lr_range_test", "p4.clr", "p4.baseline", "p4.batch_sweep", "p4.noise_scale",
               "p4.cbs", "p4.cbs_matched")


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
    with pytest.raises(ValueError, match=r"`train_size` must be an integer in \[1, "):
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
@pytest.mark.parametrize("name", P4_TRAINING)
def test_full_profile_is_the_homework_spec(name):
    assert profiles.overrides_for(name, "full") == {}
    assert experiments.get(name).gpu_recommended


def test_4_7_is_no_experiment_and_compares_at_its_profiles_seeds():
    """4.7 stores nothing of its own: its seeds live in the profiles, read by compare_seeds."""
    assert p4_policies.COMPARISON not in experiments.names()
    with pytest.raises(KeyError, match="Unknown experiment 'p4.compare'"):
        experiments.get(p4_policies.COMPARISON)
    assert profiles.overrides_for(p4_policies.COMPARISON, "full") == {}  # the homework's seeds 0, 1, 2
    assert {profile: p4_policies.compare_seeds(profile) for profile in profiles.PROFILES} == {
        "smoke": (0,), "laptop": (0, 1), "full": (0, 1, 2)}
    assert p4_policies.compare_seeds() == (0,)  # $HW2_PROFILE is smoke in the tests
    for bad in ((), (0, 0), (-1,), (1.5,)):
        with pytest.raises(ValueError, match="seeds"):
            p4_policies.CompareConfig(seeds=bad)
    seeds = p4_policies.CompareConfig(seeds=[2.0, 0]).seeds  # integral values are taken, as the ints run() accepts
    assert seeds == (2, 0) and all(type(seed) is int for seed in seeds)


def test_full_spec_defaults():
    sweep = p4_finders.LRSweepConfig()
    assert (sweep.batch_size, sweep.n_lrs, sweep.epochs) == (64, 10, 5)
    assert np.allclose(sweep.learning_rates[[0, -1]], [1e-9, 1e1])
    clr = p4_policies.CLRConfig(lr_min=1e-3, lr_max=1e-2)
    assert (clr.step_epochs, clr.cycles, clr.epochs, clr.mode) == (8, 3, 48, "exp_range")
    schedule, per_epoch, iterations = p4_policies.clr_schedule(clr, 54000)
    assert per_epoch == 843 and iterations == 843 * 48
    assert schedule.gamma == pytest.approx(0.99994, abs=5e-6)  # the reference implementation's value
    assert p4_finders.BatchSweepConfig().batch_sizes == tuple(2**k for k in range(6, 14))
    assert p4_policies.CompareConfig().seeds == (0, 1, 2)
    setup = p4_setup.P4Setup()
    assert (setup.micro_batch, setup.precision, setup.width) == (64, "mixed_bfloat16", 1.0)
    assert set(p4_policies.POLICIES) == {"CLR", "CBS", "matched CBS", "constant LR"}


@pytest.mark.parametrize("cls, field, value, message", [
    (p4_finders.LRSweepConfig, "lr_low", 0.0, "`lr_low` must be > 0"),
    (p4_finders.LRSweepConfig, "lr_low", 20.0, "Arguments `lr_low` and `lr_high` must be such that 0 < lr_low"),
    (p4_finders.LRSweepConfig, "n_lrs", 1, "`n_lrs` must be an integer >= 2"),
    (p4_policies.CLRConfig, "mode", "cosine", "`mode` must be one of"),
    (p4_policies.CLRConfig, "step_epochs", 0, "`step_epochs` must be"),
    (p4_finders.BatchSweepConfig, "batch_sizes", (64, 100), "multiples of `micro_batch`"),
    (p4_policies.CBSConfig, "micro_batch", 0, "`micro_batch` must be"),
    (p4_policies.CBSConfig, "scale", "linear", "`scale` must be one of"),
    (p4_finders.LRSweepConfig, "width", 0, "`width` must be > 0"),
    (p4_finders.LRSweepConfig, "precision", "float16", "`precision` must be one of"),
    (p4_finders.NoiseScaleConfig, "accumulation", 1, "`accumulation` must be"),
])
def test_bad_config_raises_with_the_argument_name(cls, field, value, message):
    with pytest.raises(ValueError, match=message):
        cls(**{field: value})


@pytest.mark.parametrize("profile", ["smoke", "laptop", "full"])
def test_the_first_cbs_cycle_visits_both_ends_at_every_profile(profile):
    config = p4_policies.with_clr_fields(experiments.get("p4.cbs").config(profile),
                                         experiments.get("p4.clr").config(profile),
                                p4_policies.CLR_CYCLE + p4_policies.CLR_SHAPE)
    b_min, b_max = (config.micro_batch, 256) if profile == "smoke" else (64, 8192)
    config = dataclasses.replace(config, b_min=b_min, b_max=b_max, lr=1e-3)
    first = p4_policies.cbs_policy(config).trajectory(min(config.epochs, 2 * config.step_epochs + 1))
    assert first[0] == b_max and first.min() == b_min


@pytest.mark.parametrize("profile", ["smoke", "laptop", "full"])
def test_the_matched_cbs_mirrors_the_clr_update_by_update_and_reaches_what_the_clr_allows(profile):
    lr_min, lr_max = 3.6e-4, 6e-2
    config = p4_policies.matched_config(profile, lr_min, lr_max)
    n, bounds = config.train_images, config.bounds()
    assert (config.lr, config.b_min, config.b_max) == (lr_max, bounds["b_min"], bounds["b_max"])
    policy = p4_policies.matched_policy(config)
    k, sums = policy.groups(config.epochs)
    plan = policy.update_plan(config.epochs)
    per_epoch = n // config.clr_batch
    assert plan.sum() == config.epochs * per_epoch * config.clr_batch and np.all(plan % config.clr_batch == 0)
    # the same total step length as the CLR over the same samples, update by update (up to rounding of k)
    assert np.all(np.abs(np.log(sums[:-1] / lr_max)) < np.log(2))
    if len(k) > 20:
        assert np.median(np.abs(np.log(sums / lr_max))) < 0.1
    reach = p4_policies.matched_reach(policy, config.epochs)
    hottest = reach["b_hottest_exact"]
    # its hottest update is the CLR's hottest step, rounded to the nearer multiple in ratio
    low, high = (config.clr_batch * np.floor(hottest / config.clr_batch),
                 config.clr_batch * np.ceil(hottest / config.clr_batch))
    assert plan.min() in (max(low, config.clr_batch), high)
    if reach["coldest_window_over_lr"] <= 1.0:  # the CLR has a stretch cold enough for the cap: it is reached
        assert plan.max() == bounds["b_max"]
    elif reach["coldest_window_over_lr"] >= 1.5:  # every stretch of b_max / 64 steps is too hot for it
        assert plan.max() < bounds["b_max"]
    if profile == "full":  # 8 epochs per step: the CLR's trough holds long enough for a batch of 8192
        assert plan.max() == bounds["b_max"] == 8192 and bounds["capped"]


def test_cbs_policy_settles_at_bmax():
    config = p4_policies.with_clr_fields(p4_policies.CBSConfig(b_min=64, b_max=1024, lr=1e-3), p4_policies.CLRConfig(),
                                         p4_policies.CLR_CYCLE + p4_policies.CLR_SHAPE)
    sizes = p4_policies.cbs_policy(config).trajectory(config.epochs)
    assert sizes[0] == 1024 and sizes.min() == 64 and np.all(sizes % 64 == 0)
    first, last = sizes[: 2 * config.step_epochs], sizes[-2 * config.step_epochs:]
    assert first.min() < last.min()  # the excursion towards bmin shrinks (exp_range, per cycle)


def test_a_change_of_the_clrs_shape_moves_both_cyclical_batch_sizes_and_every_policys_length(monkeypatch):
    """The CLR's config is the one home of the cycle and the decay: change them there alone, and the
    CBS, the noise-matched CBS (update by update) and the constant-LR baseline follow."""
    from hw2 import profiles

    changed = {"step_epochs": 2, "cycles": 2, "final_amplitude": 0.5, "mode": "triangular2"}
    monkeypatch.setitem(profiles.SIZES["p4.clr"], "smoke", {**profiles.SIZES["p4.clr"]["smoke"], **changed})
    bounds = {"lr": 1e-3, "b_min": 32, "b_max": 256}  # given: no upstream result is read
    cbs = experiments.get("p4.cbs").prepared(experiments.get("p4.cbs").config("smoke", **bounds), "smoke")
    baseline = experiments.get("p4.baseline").prepared(experiments.get("p4.baseline").config("smoke", lr=1e-2),
                                                       "smoke")
    matched = p4_policies.matched_config("smoke", 1e-3, 1e-1)
    for config in (cbs, matched):
        assert {name: getattr(config, name) for name in changed} == changed, type(config).__name__
    assert cbs.epochs == matched.epochs == baseline.epochs == 8
    # the mirror's rates are the CLR's own schedule at the same bounds, step by step
    clr = experiments.get("p4.clr").config("smoke", lr_min=1e-3, lr_max=1e-1)
    schedule, per_epoch, iterations = p4_policies.clr_schedule(clr, matched.train_images)
    assert matched.clr_batch == clr.batch_size
    expected = np.asarray(schedule(np.arange(iterations)), np.float64)
    assert np.allclose(p4_policies.matched_policy(matched).rates(matched.epochs), expected, rtol=1e-6)
    assert p4_policies.cbs_policy(cbs).mode == "triangular2"


def test_matched_bounds_trace_the_clr_noise():
    out = p4_policies.matched_bounds(1e-3, 1e-1, 64, 8192)
    assert (out["b_min"], out["b_max"], out["capped"]) == (64, 6400, False)
    capped = p4_policies.matched_bounds(1e-5, 1e-1, 64, 8192)
    assert (capped["b_max"], capped["capped"], capped["exact_b_max"]) == (8192, True, pytest.approx(640000))
    assert p4_policies.matched_bounds(1e-2, 1.1e-2, 64, 8192)["b_max"] == 128  # at least two batch sizes


def test_matched_cbs_without_its_bounds_says_what_it_needs():
    with pytest.raises(ValueError, match="needs lr_min and lr_max"):  # was a TypeError from inside matched_bounds
        p4_policies.cbs_matched(p4_policies.MatchedCBSConfig())


# -------------------------------------------------------------------- training under a policy
def _tiny_data(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 32, 32, 1)).astype("float32")
    y = np.eye(10, dtype="float32")[rng.integers(0, 10, n)]
    return {"train": (x, y), "validation": (x[:32], y[:32]), "test": (x[:40], y[:40])}


def test_train_policy_runs_a_cyclical_batch_size_in_one_fit(tiny_p4):
    config = p4_setup.P4Setup(micro_batch=16, precision="float32")
    run = p4_policies.train_policy(config, _tiny_data(), epochs=3, batch_policy=lambda e: [16, 64, 32][e],
                          optimizer=keras.optimizers.SGD(0.05, momentum=0.9), seed=0)
    assert run["history"]["batch_size"].tolist() == [16, 64, 32]
    assert run["history"]["steps"].tolist() == [8, 2, 4] and run["updates"] == 14
    assert run["update_batch_sizes"].tolist() == [16] * 8 + [64] * 2 + [32] * 4
    assert run["images_per_second"] > 0 and 0 <= run["test_accuracy"] <= 1 and not run["diverged"]
    assert run["test_images"] == 40
    # what training produced, and nothing read from it (readings are made when a page renders)
    assert set(run) == {"history", "diverged", "test_loss", "test_accuracy", "test_images", "updates",
                        "update_batch_sizes", "images_per_second", "seconds"}
    assert set(run["history"]) == {"epoch", "batch_size", "steps", "learning_rate", "seconds", "loss", "accuracy",
                                   "val_loss", "val_accuracy"}
    from hw2.experiments.p4_policies_analysis import run_summary

    low, high = run_summary(run)["test_accuracy_ci95"]
    assert low <= run["test_accuracy"] <= high


# ------------------------------------------------------------------------- chained experiments
@pytest.fixture
def tiny_p4(monkeypatch, tmp_path):
    """Even smaller than smoke (tests/p4_tiny.py): the chain lr_sweep -> clr in seconds, in a private
    results folder (its smoke store is returned), with a small stand-in network."""
    p4_tiny.apply(monkeypatch, tmp_path)
    return ResultStore(tmp_path / "smoke")


def test_clr_takes_its_bounds_from_the_stored_sweep(tiny_p4):
    result = experiments.run("p4.clr", "smoke")
    sweep = experiments.run("p4.lr_sweep", "smoke", store=tiny_p4)
    assert sweep.from_store  # computed once, by the prepare hook, into the default (private) store
    assert result.config["lr_min"] == sweep.data["lr_min"] and result.config["lr_max"] == sweep.data["lr_max"]
    assert sweep.data["lr_min"] < sweep.data["lr_max"]
    data = result.data
    assert data["history"]["loss"].shape == (2,) and data["epochs"] == 2
    trace = data["lr_trace"]
    assert trace.min() >= data["lr_min"] * (1 - 1e-6) and trace.max() <= data["lr_max"] * (1 + 1e-6)
    # the optimizer's learning rate at the end of each epoch is the schedule's value there
    per_epoch = data["iterations_per_epoch"]
    expected = schedules.CyclicalLearningRate(data["lr_min"], data["lr_max"], data["step_iterations"],
                                                 mode="exp_range", gamma=data["gamma"])
    for epoch, lr in enumerate(data["history"]["learning_rate"]):
        assert lr == pytest.approx(float(expected((epoch + 1) * per_epoch)), rel=1e-5)
    assert 0.0 <= data["test_accuracy"] <= 1.0
    assert dataclasses.asdict(p4_policies.CLRConfig())["lr_min"] is None  # the default config leaves it to prepare


@pytest.mark.slow
def test_policy_runs_gather_every_policy_of_the_chain_at_the_compare_seeds(monkeypatch, tmp_path):
    p4_tiny.apply(monkeypatch, tmp_path, seeds=(0, 1))
    runs = p4_policies.policy_runs("smoke")  # computes the chain on the way, through the prepare hooks
    assert (runs.profile, runs.seeds, runs.reduced_from) == ("smoke", (0, 1), None)
    by_policy = {policy: sorted(by_seed) for policy, by_seed in runs.results.items()}
    assert by_policy == {p: [0, 1] for p in p4_policies.POLICIES}
    for policy, by_seed in runs.results.items():
        for seed, result in by_seed.items():
            assert result.experiment == p4_policies.POLICIES[policy] and result.config["seed"] == seed
            assert result.data["policy"] == policy
    sweep = experiments.run("p4.lr_sweep", "smoke").data
    found = experiments.run("p4.batch_sweep", "smoke")
    assert found.config["lr"] == sweep["lr_min"] and found.config["reference_loss"] == sweep["reference_loss"]
    cbs = runs.results["CBS"][1]
    assert (cbs.data["b_min"], cbs.data["b_max"]) == (found.data["b_min"], found.data["b_max"])
    assert set(cbs.data["history"]["batch_size"].tolist()) <= set(range(16, 65, 16))
    matched = runs.data["matched CBS"][0]
    clr = runs.results["CLR"][0]
    assert matched["lr"] == sweep["lr_max"] and matched["b_min"] == matched["clr_batch"] == clr.config["batch_size"]
    assert matched["epochs"] == clr.data["epochs"]  # its cycle and batch are the CLR's (tests/p4_tiny.py sets neither)
    assert matched["b_max"] == matched["matched"]["b_max"] <= 64
    # one batch size per update, as planned, covering every micro-batch fed
    assert np.array_equal(matched["update_batch_sizes"], matched["planned_batch_sizes"])
    assert matched["update_batch_sizes"].sum() == matched["epochs"] * (64 // 16) * 16
    assert len(matched["clr_rate_sums"]) == matched["updates"] == len(matched["update_batch_sizes"])
    assert runs.data["constant LR"][1]["lr"] == sweep["best_lr"]
    # a second call reads every run from the store; 4.7's comparison is made from them, never stored
    monkeypatch.setenv("HW2_NO_COMPUTE", "1")
    again = p4_policies.policy_runs("smoke")
    assert all(r.from_store for r in again.all_results()) and len(again.all_results()) == 8
    from hw2.experiments.p4_policies_analysis import compare_policies

    table = compare_policies(again.data)["table"]
    assert {p: len(v["test_accuracy"]) for p, v in table.items()} == {p: 2 for p in p4_policies.POLICIES}
    assert not (tmp_path / "smoke" / p4_policies.COMPARISON).exists()
