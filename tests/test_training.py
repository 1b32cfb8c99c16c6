"""Training with a batch-size policy: accumulation equals a real large batch, state carries across batch sizes,
one compiled train step per run."""

import io
import re

import keras
import numpy as np
import pytest

from hw2 import accumulation, training
from hw2.accumulation import GradientAccumulation
from hw2.schedules import CyclicalBatchSize, CyclicalLearningRate
from hw2.training import (
    EpochLogger,
    TraceCounter,
    epoch_order,
    fit_with_batch_policy,
)


def small_model(seed=0, n_in=6, n_out=3):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((n_in,)), keras.layers.Dense(8, activation="tanh"),
                             keras.layers.Dense(n_out, activation="softmax")])


def data(n=96, n_in=6, n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)).astype("float32"), rng.integers(0, n_out, n)


@pytest.mark.parametrize("make", [lambda: keras.optimizers.SGD(learning_rate=0.5, momentum=0.9),
                                  lambda: keras.optimizers.Adam(learning_rate=0.05)], ids=["sgd-momentum", "adam"])
def test_accumulated_step_equals_real_large_batch_step(make):
    """k micro-batches + accumulation == one step on the k-times batch (no BN in this model)."""
    x, y = data(n=64)
    real = small_model()
    real.compile(optimizer=make(), loss="sparse_categorical_crossentropy")
    accumulated = small_model()
    accumulated.compile(optimizer=GradientAccumulation(make(), steps=4), loss="sparse_categorical_crossentropy")
    start = [w.copy() for w in real.get_weights()]
    # two updates (the optimizer state carries over between them), same samples in the same order
    fit_with_batch_policy(real, x, y, policy=32, epochs=1, seed=3)
    fit_with_batch_policy(accumulated, x, y, policy=32, epochs=1, seed=3, micro_batch=8)
    assert int(real.optimizer.iterations) == int(accumulated.optimizer.iterations) == 2
    for a, b, w0 in zip(real.get_weights(), accumulated.get_weights(), start):
        assert not np.allclose(a, w0)  # it did train
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [lambda: keras.optimizers.SGD(learning_rate=0.3, momentum=0.9),
                                  lambda: keras.optimizers.Adam(learning_rate=0.05)], ids=["sgd-momentum", "adam"])
def test_optimizer_state_carries_across_batch_sizes(make):
    """A policy 16 -> 32 -> 64 in one fit equals plain steps at 16, then 32, then 64 with one optimizer."""
    x, y = data(n=64)
    policy = lambda epoch: 16 * 2 ** epoch
    cyclic = small_model()
    cyclic.compile(optimizer=GradientAccumulation(make()), loss="sparse_categorical_crossentropy")
    history = fit_with_batch_policy(cyclic, x, y, policy=policy, epochs=3, seed=1, micro_batch=16)
    assert history["batch_size"] == [16, 32, 64] and history["steps"] == [4, 2, 1]
    reference = small_model()
    reference.compile(optimizer=make(), loss="sparse_categorical_crossentropy")
    for epoch in range(3):
        order = epoch_order(64, 1, epoch)
        b = policy(epoch)
        for start in range(0, 64, b):
            rows = order[start:start + b]
            # same samples per update; accumulation averages micro-batch means = the mean over rows
            reference.train_on_batch(x[rows], y[rows])
    assert int(cyclic.optimizer.iterations) == int(reference.optimizer.iterations) == 7
    for a, b in zip(cyclic.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


class _Plan:
    """A policy with one batch size per update (the protocol of NoiseMatchedBatchSize)."""

    def __init__(self, sizes):
        self.sizes = sizes

    def update_plan(self, epochs):
        return np.asarray(self.sizes)


@pytest.mark.parametrize("make", [lambda: keras.optimizers.SGD(learning_rate=0.3, momentum=0.9),
                                  lambda: keras.optimizers.Adam(learning_rate=0.05)], ids=["sgd-momentum", "adam"])
def test_a_per_update_plan_equals_real_batches_across_epoch_boundaries(make):
    """Batch sizes changing at every update, updates spanning epochs: each update is one real batch."""
    x, y = data(n=64)
    micro, epochs = 8, 3
    groups = [1, 3, 5, 2, 4, 6, 3]  # micro-batches per update: 24 = 3 epochs of 8, crossing epoch boundaries
    planned = small_model()
    planned.compile(optimizer=GradientAccumulation(make()), loss="sparse_categorical_crossentropy")
    history = fit_with_batch_policy(planned, x, y, policy=_Plan([micro * g for g in groups]), epochs=epochs,
                                    seed=2, micro_batch=micro)
    assert history["update_batch_sizes"] == [micro * g for g in groups]
    assert history["steps"] == [2, 3, 2] and int(planned.optimizer.iterations) == len(groups)
    # the epoch's effective batch 1 / mean(1 / B) over its micro-batches: epoch 1 holds 1 + 3 + 4 of 5
    np.testing.assert_allclose(history["batch_size"][0], 8 / (1 / 8 + 3 / 24 + 4 / 40))

    reference = small_model()
    reference.compile(optimizer=make(), loss="sparse_categorical_crossentropy")
    batches = training.EpochBatches(x, y, micro, seed=2, epochs=epochs)
    items = iter(range(len(batches)))
    for g in groups:
        parts = [batches[next(items)] for _ in range(g)]
        reference.train_on_batch(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    for a, b in zip(planned.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_an_update_plan_must_cover_the_samples_fed():
    x, y = data(n=64)
    model = small_model()
    model.compile(optimizer=GradientAccumulation("sgd"), loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="update plan must cover the 128 samples"):
        fit_with_batch_policy(model, x, y, policy=_Plan([16, 32]), epochs=2, micro_batch=16)


def test_learning_rate_schedule_counts_updates_not_micro_batches():
    x, y = data(n=64)
    schedule = keras.optimizers.schedules.PiecewiseConstantDecay([2], [1.0, 0.001])  # drops after update 2
    model = small_model()
    model.compile(optimizer=GradientAccumulation(keras.optimizers.SGD(schedule)),
                  loss="sparse_categorical_crossentropy")
    history = fit_with_batch_policy(model, x, y, policy=32, epochs=2, micro_batch=8)
    assert history["steps"] == [2, 2] and int(model.optimizer.iterations) == 4
    assert int(model.optimizer._iterations) == 16  # micro-batches
    # after 2 updates the rate is still 1.0 (boundary inclusive); a micro-batch clock (8) would give 0.001
    assert history["learning_rate"] == pytest.approx([1.0, 0.001])
    assert training.current_learning_rate(model.optimizer) == pytest.approx(0.001)


def test_a_cyclical_batch_size_run_compiles_one_train_step():
    x, y = data(n=100)
    policy = CyclicalBatchSize(8, 32, step_size=2)
    model = small_model()
    model.compile(optimizer=GradientAccumulation("sgd"), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    with TraceCounter(model) as traces:
        history = fit_with_batch_policy(model, x, y, policy=policy, epochs=8)
    assert history["batch_size"] == policy.trajectory(8).tolist()
    assert len(set(history["batch_size"])) == 3
    constant = small_model()
    constant.compile(optimizer=GradientAccumulation("sgd"), loss="sparse_categorical_crossentropy",
                     metrics=["accuracy"])
    with TraceCounter(constant) as constant_traces:
        fit_with_batch_policy(constant, x, y, policy=8, epochs=2)
    # JAX traces once; TensorFlow traces a PyDataset-fed step twice, shape-generically: as often as a
    # constant batch size does, whatever the number of batch sizes
    assert traces.count == constant_traces.count <= 2 and set(traces.batch_sizes) <= {8, None}
    assert int(model.optimizer.iterations) == sum(history["steps"])
    assert len(history["loss"]) == 8 and all(np.isfinite(history["loss"]))
    assert "accuracy" in history and "learning_rate" in history


def test_noise_statistics_of_one_update():
    """|g_i|^2 averaged over the group and |mean g|^2, for a linear model with known gradients."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=GradientAccumulation(keras.optimizers.SGD(0.0), steps=2), loss="mse")
    # mse gradient wrt w at w = 0 for one point (x, t): -2 x t
    x, t = np.array([[1.0], [2.0]], "float32"), np.array([1.0, 1.0], "float32")
    model.fit(x, t, batch_size=1, epochs=1, verbose=0, shuffle=False)
    opt = model.optimizer
    g = np.array([-2.0, -4.0])
    assert float(opt.noise_updates) == 1.0
    assert float(opt.noise_small_sq) == pytest.approx(np.mean(g ** 2))
    assert float(opt.noise_big_sq) == pytest.approx(np.mean(g) ** 2)


def test_gradient_accumulation_validates_and_serializes():
    with pytest.raises(ValueError, match="Argument `steps`"):
        GradientAccumulation("sgd", steps=0)
    with pytest.raises(ValueError, match="Argument `steps`"):
        GradientAccumulation("sgd", steps=True)
    opt = GradientAccumulation(keras.optimizers.SGD(0.1, momentum=0.9), steps=4)
    again = GradientAccumulation.from_config(opt.get_config())
    assert again.initial_steps == 4 and isinstance(again.inner_optimizer, keras.optimizers.SGD)
    assert again.inner_optimizer.momentum == 0.9
    with pytest.raises(ValueError, match="multiple of `micro_batch`"):
        accumulation.accumulation_steps(100, 64)
    model = small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = data(n=64)
    with pytest.raises(ValueError, match="GradientAccumulation"):
        fit_with_batch_policy(model, x, y, policy=32, epochs=1, micro_batch=8)
    with pytest.raises(ValueError, match="multiple of `micro_batch`"):
        fit_with_batch_policy(model, x, y, policy=lambda e: [16, 24][e], epochs=2)


def test_a_model_compiled_with_gradient_accumulation_saves_and_loads_with_its_state(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    schedule = CyclicalLearningRate(1e-3, 1e-1, step_size=2)
    model.compile(optimizer=GradientAccumulation(keras.optimizers.SGD(schedule, momentum=0.9), steps=4), loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 3), dtype="float32"), rng.random((40, 2), dtype="float32")
    model.fit(x, y, batch_size=8, epochs=2, verbose=0)  # 10 micro-batches: 2 updates and a group left open
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert isinstance(loaded.optimizer, GradientAccumulation) and loaded.optimizer.initial_steps == 4
    assert loaded.optimizer.get_config() == model.optimizer.get_config()  # the schedule too
    assert loaded.optimizer.get_config()["optimizer"]["config"]["learning_rate"]["class_name"] == "CyclicalLearningRate"
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)
    for a, b in zip(model.optimizer.variables, loaded.optimizer.variables):  # open group, momentum, counters
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=a.path)
    assert int(loaded.optimizer.iterations) == 2 and int(loaded.optimizer.micro_step) == 2
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)  # carries on exactly
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_trace_counter_sees_a_partial_last_batch():
    """The negative control: plain fit with 100 samples at batch 32 traces a second shape (4)."""
    x, y = data(n=100)
    model = small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with TraceCounter(model) as traces:
        model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    # JAX: a second compilation for the batch of 4; TensorFlow: one shape-generic trace (None),
    # which XLA would compile once per concrete shape
    assert traces.batch_sizes in ([32, 4], [None])
    assert "train_step" not in vars(model)  # the wrapper is gone afterwards


def test_every_step_sees_a_full_micro_batch():
    """Run eagerly, the counter records every step's concrete batch size (both backends)."""
    x, y = data(n=100)
    model = small_model()
    model.compile(optimizer=GradientAccumulation("sgd"), loss="sparse_categorical_crossentropy", run_eagerly=True)
    with TraceCounter(model) as steps:
        fit_with_batch_policy(model, x, y, policy=CyclicalBatchSize(8, 32, step_size=1), epochs=4)
    assert steps.batch_sizes == [8] * (4 * (100 // 8))


def test_epoch_order_is_seeded_and_independent_of_batch_size():
    a, b = epoch_order(50, seed=1, epoch=2), epoch_order(50, seed=1, epoch=2)
    np.testing.assert_array_equal(a, b)
    assert sorted(a.tolist()) == list(range(50))
    assert not np.array_equal(a, epoch_order(50, seed=1, epoch=3))


def test_max_steps_and_stop_on_nan():
    x, y = data(n=64)
    model = small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = fit_with_batch_policy(model, x, y, policy=16, epochs=5, max_steps=6)
    assert history["steps"] == [4, 2] and not history["diverged"]
    keras.utils.set_random_seed(0)
    exploding = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)])
    exploding.compile(optimizer=keras.optimizers.SGD(1e12), loss="mse")
    history = fit_with_batch_policy(exploding, x, np.full((64, 3), 1e3, "float32"), policy=16, epochs=5)
    assert len(history["loss"]) < 5 and not np.isfinite(history["loss"][-1]) and history["diverged"]


def test_policy_errors():
    x, y = data(n=64)
    model = small_model()
    with pytest.raises(ValueError, match="compiled"):
        fit_with_batch_policy(model, x, y, policy=16, epochs=1)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="batch-size policy"):
        fit_with_batch_policy(model, x, y, policy=128, epochs=1)
    with pytest.raises(ValueError, match="Argument `policy`"):
        fit_with_batch_policy(model, x, y, policy="big", epochs=1)
    with pytest.raises(ValueError, match="Argument `epochs`"):
        fit_with_batch_policy(model, x, y, policy=16, epochs=0)


def _message(name, requirement, received, verb="be"):
    return "^" + re.escape(f"Argument `{name}` must {verb} {requirement}. Received: {received}") + "$"


def test_policy_values_and_max_steps_are_checked_not_floored():
    # a policy returning 16.9 trained at 16, True at 1; max_steps=0 made one update
    x, y = data(n=64)
    model = small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    for value in (16.9, True, 0):
        with pytest.raises(ValueError, match=_message("policy(1)", "an integer >= 1", f"policy(1)={value}")):
            fit_with_batch_policy(model, x, y, policy=lambda e, v=value: 16 if e == 0 else v, epochs=2)
    with pytest.raises(ValueError, match=_message("update_plan(1)[1]", "an integer >= 1", "update_plan(1)[1]=16.5")):
        fit_with_batch_policy(model, x, y, policy=_Plan([16, 16.5, 16, 15.5]), epochs=1)
    schedule = training.BatchSizeSchedule(lambda epoch: 16.9, micro_batch=16)  # used alone, in model.fit
    with pytest.raises(ValueError, match=_message("policy(0)", "an integer >= 1", "policy(0)=16.9")):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[schedule])
    for max_steps in (0, 2.5, True):
        with pytest.raises(ValueError, match=_message("max_steps", "an integer >= 1", f"max_steps={max_steps}")):
            fit_with_batch_policy(model, x, y, policy=16, epochs=1, max_steps=max_steps)


def test_an_empty_update_plan_is_named():
    x, y = data(n=64)
    model = small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"^Argument `policy` must be a policy planning at least one update .*"
                                         r"Received: policy\.update_plan\(2\) returned no batch sizes$"):
        fit_with_batch_policy(model, x, y, policy=_Plan([]), epochs=2)


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", keras.losses.sparse_categorical_crossentropy,
                                  keras.losses.SparseCategoricalCrossentropy()], ids=["name", "function", "instance"])
def test_class_labels_are_checked_against_the_loss_and_the_output_width(loss):
    x, y = data(n=64)
    model = small_model()
    model.compile(optimizer="sgd", loss=loss)
    labels = "integer class labels in [0, 3)"
    for label in (7, -1, 0.5):
        bad = y.astype(type(label))
        bad[12] = label
        with pytest.raises(ValueError, match=_message("y", labels, f"y with {label} at index 12")):
            fit_with_batch_policy(model, x, bad, policy=16, epochs=1)
        with pytest.raises(ValueError, match=_message("validation_data[1]", labels,
                                                      f"validation_data[1] with {label} at index 12")):
            fit_with_batch_policy(model, x, y, policy=16, epochs=1, validation_data=(x, bad))
    with pytest.raises(ValueError, match=_message("y", labels, "y with 3 at index (5, 0)")):
        training.check_class_labels(model, np.where(np.arange(8) == 5, 3, 0)[:, None])
    with pytest.raises(ValueError, match=_message("y", labels, "y of dtype bool")):
        training.check_class_labels(model, y > 0)
    # whole-number floats are labels (an array loaded as float32)
    history = fit_with_batch_policy(model, x, y.astype("float32"), policy=16, epochs=1,
                                    validation_data=(x, y.astype("float32")))
    assert np.isfinite(history["val_loss"]).all()


def test_class_label_check_follows_the_loss():
    model = small_model()
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(ignore_class=-1))
    assert training.check_class_labels(model, [0, -1, 2]).tolist() == [0, -1, 2]
    with pytest.raises(ValueError, match=_message("y", "integer class labels in [0, 3) or -1 (ignore_class)",
                                                  "y with -2 at index 1")):
        training.check_class_labels(model, [0, -2])
    model.compile(optimizer="sgd", loss="mse")  # a regression target or one-hot rows: no class labels
    assert training.check_class_labels(model, [0.5, 7.0]).tolist() == [0.5, 7.0]


def test_validation_data_is_checked_as_the_training_data_is():
    # a NaN in validation_data gave `val_loss nan` silently
    x, y = data(n=64)
    model = small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    nan_x = x.copy()
    nan_x[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"^Argument `validation_data\[0\]` must be an array of finite numbers\. "
                                         r"Received: .*the first at index \(3, 1\)$"):
        fit_with_batch_policy(model, x, y, policy=16, epochs=1, validation_data=(nan_x, y))
    with pytest.raises(ValueError, match=r"`validation_data\[0\]` and `validation_data\[1\]` must be of the same"):
        fit_with_batch_policy(model, x, y, policy=16, epochs=1, validation_data=(x, y[:-1]))
    with pytest.raises(ValueError, match=_message("validation_data", "a pair (x_val, y_val) or None",
                                                  "a tuple of length 3")):
        fit_with_batch_policy(model, x, y, policy=16, epochs=1, validation_data=(x, y, y))


def test_epoch_logger_prints_one_line_per_epoch():
    x, y = data(n=64)
    model = small_model()
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    stream = io.StringIO()
    model.compile(optimizer=GradientAccumulation(keras.optimizers.SGD(0.05)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    fit_with_batch_policy(model, x, y, policy=CyclicalBatchSize(16, 32, 1), epochs=3,
                          callbacks=[EpochLogger(stream=stream, prefix="[run] ")])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("[run] epoch 1/3  loss ") and "accuracy" in lines[0]
    assert "lr 0.05" in lines[0] and "bs 32" in lines[0] and "bs 16" in lines[1]
    stream = io.StringIO()
    model.fit(x, y, epochs=4, verbose=0, callbacks=[EpochLogger(every=2, stream=stream, show_time=False)])
    assert [line.split("  ")[0] for line in stream.getvalue().splitlines()] == ["epoch 2/4", "epoch 4/4"]


def test_epoch_batches_drop_the_partial_batch_and_follow_the_seed():
    x, y = np.arange(10, dtype=np.float32)[:, None], np.arange(10)
    a, b = training.EpochBatches(x, y, 4, seed=3, epochs=2), training.EpochBatches(x, y, 4, seed=3, epochs=2)
    assert a.steps_per_epoch == 2 and len(a) == 4
    first = [a[i][1].tolist() for i in range(2)]
    assert first == [b[i][1].tolist() for i in range(2)]
    assert all(len(batch) == 4 for batch in first) and len(set(sum(first, []))) == 8
    assert [a[i][1].tolist() for i in (2, 3)] != first
    other = training.EpochBatches(x, y, 4, seed=4)
    assert [other[i][1].tolist() for i in range(2)] != first
    for bad in (11, 0, 4.0, True):
        with pytest.raises(ValueError, match="batch_size"):
            training.EpochBatches(x, y, bad, seed=0)
    with pytest.raises(ValueError, match="same length"):
        training.EpochBatches(x, y[:5], 4, seed=0)


def test_fit_sees_exactly_the_epoch_orders():
    """Through model.fit (prefetching, epoch hooks), step s of epoch e is epoch_order(n, seed, e)'s s-th batch."""
    x, y = data(n=64)
    targets = np.arange(64, dtype="float32")
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", run_eagerly=True)
    seen, original = [], model.train_step

    def recording(*args):
        seen.append(sorted(int(t) for t in np.asarray(args[-1][1])))
        return original(*args)

    model.train_step = recording
    batches = training.EpochBatches(x, targets, 16, seed=3, epochs=3)
    model.fit(batches, epochs=3, steps_per_epoch=batches.steps_per_epoch, shuffle=False, verbose=0)
    expected = [sorted(epoch_order(64, 3, e)[s:s + 16].tolist()) for e in range(3) for s in range(0, 64, 16)]
    assert seen == expected


def test_update_count_follows_a_group_left_open_by_an_earlier_fit():
    """A second fit on the same model starts with the device's open group: the logged updates match it."""
    x, y = data(n=160)  # 10 micro-batches of 16 per epoch, 4 per update: 2 updates, 2 micro-batches left open
    model = small_model()
    model.compile(optimizer=GradientAccumulation(keras.optimizers.SGD(0.1)), loss="sparse_categorical_crossentropy")
    first = fit_with_batch_policy(model, x, y, policy=64, epochs=1, micro_batch=16)
    assert first["steps"] == [2] and int(model.optimizer.micro_step) == 2
    second = fit_with_batch_policy(model, x, y, policy=64, epochs=1, micro_batch=16)
    assert int(model.optimizer.iterations) == 5 and second["steps"] == [3]


def test_options_the_wrapper_would_ignore_and_loss_scaling_are_refused():
    with pytest.raises(ValueError, match="clipnorm"):  # apply() bypasses the base class: no clipping would happen
        GradientAccumulation(keras.optimizers.SGD(0.1), steps=2, clipnorm=1.0)
    x, y = data(n=64)
    model = small_model()
    model.compile(optimizer=keras.optimizers.LossScaleOptimizer(GradientAccumulation("sgd")),
                  loss="sparse_categorical_crossentropy")  # what compile() does under mixed_float16
    with pytest.raises(ValueError, match="loss scaling"):
        fit_with_batch_policy(model, x, y, policy=32, epochs=1, micro_batch=16)


def test_progress_output_stays_off_captured_streams(capsys, monkeypatch):
    """Report pages capture standard error: default progress output appears only on a terminal."""
    from hw2 import progress

    x, y = data(n=64)
    model = small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0, callbacks=[EpochLogger()])
    assert progress.progress_bar(3, enabled=True, desc="x").disable
    assert capsys.readouterr().err == ""  # pytest's capture is no terminal
    monkeypatch.setattr(progress, "on_terminal", lambda stream=None: True)
    monkeypatch.setattr(training, "on_terminal", lambda stream=None: True)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[EpochLogger()])
    assert "epoch 1/1" in capsys.readouterr().err
    monkeypatch.setenv("TQDM_DISABLE", "1")
    monkeypatch.undo()
    assert not progress.on_terminal(io.StringIO())


# ------------------------------------------------------------------ callbacks reused across fits


def _two_fits(first, second, epochs=4, lr=0.1):
    """Two ``model.fit`` calls on one model, ``first`` then ``second`` as the callback: histories, weights."""
    x, y = data(n=64)
    model = small_model()
    model.compile(optimizer=GradientAccumulation(keras.optimizers.SGD(lr)), loss="sparse_categorical_crossentropy")
    batches = training.EpochBatches(x, y, 16, seed=1, epochs=epochs)
    histories = [model.fit(batches, epochs=epochs, steps_per_epoch=batches.steps_per_epoch, shuffle=False, verbose=0,
                           callbacks=[callback]).history for callback in (first, second)]
    return histories, model.get_weights()


@pytest.mark.parametrize("make", [lambda: training.BatchSizeSchedule(_Plan([16, 32, 16, 16, 48, 16, 64, 48]), 16),
                                  lambda: training.BatchSizeSchedule(lambda e: 16 * 2 ** (e % 2), 16, max_updates=9)],
                         ids=["update-plan", "epoch-policy-max-updates"])
def test_a_batch_size_schedule_reused_across_fits_records_the_second_fit_as_a_fresh_one(make):
    # the records carried over: the plan was read from the first fit's last update on, max_updates counted both fits
    reused = make()
    (_, again), reused_weights = _two_fits(reused, reused)
    fresh = make()
    (_, expected), fresh_weights = _two_fits(make(), fresh)
    assert reused.updates == fresh.updates
    assert reused.batch_sizes == fresh.batch_sizes and reused.update_batch_sizes == fresh.update_batch_sizes
    assert again["batch_size"] == expected["batch_size"] and again["updates"] == expected["updates"]
    for a, b in zip(reused_weights, fresh_weights):
        np.testing.assert_array_equal(a, b)


def test_stop_on_divergence_reused_across_fits_reports_each_fit():
    stop = training.StopOnDivergence()
    blown = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    blown.compile(optimizer=keras.optimizers.SGD(1e30), loss="mse")
    blown.fit(np.ones((8, 2)), np.full(8, 1e20), epochs=3, verbose=0, callbacks=[stop])
    assert stop.diverged and stop.diverged_epoch == 0
    healthy = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    healthy.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    history = healthy.fit(np.ones((8, 2)), np.ones(8), epochs=3, verbose=0, callbacks=[stop])
    assert not stop.diverged and stop.diverged_epoch is None and len(history.history["loss"]) == 3
    blown.fit(np.ones((8, 2)), np.full(8, 1e20), epochs=3, verbose=0, callbacks=[stop])
    assert stop.diverged and stop.diverged_epoch == 0  # and it stops the next diverging fit again


def test_epoch_clock_reused_across_fits_holds_the_last_fits_epochs():
    model = small_model()
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy")
    clock = training._EpochClock(model)
    x, y = data(n=64)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[clock])
    model.fit(x, y, epochs=3, verbose=0, callbacks=[clock])
    assert len(clock.seconds) == len(clock.learning_rates) == 3 and np.allclose(clock.learning_rates, 0.05)
