"""Fit helpers: gradient accumulation equals a real large batch, full batches only, one trace per bucket."""

import io

import keras
import numpy as np
import pytest

from hw2 import training
from hw2.schedules import CyclicalBatchSize
from hw2.training import (
    EpochLogger,
    TraceCounter,
    effective_batch_optimizer,
    epoch_order,
    fit_effective_batch,
    fit_with_batch_policy,
)


def small_model(seed=0, n_in=6, n_out=3):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((n_in,)), keras.layers.Dense(8, activation="tanh"),
                             keras.layers.Dense(n_out, activation="softmax")])


def data(n=96, n_in=6, n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)).astype("float32"), rng.integers(0, n_out, n)


def test_accumulated_step_equals_real_large_batch_step():
    """k micro-batches + accumulation == one step on the k-times batch (no BN in this model)."""
    x, y = data(n=64)
    make = lambda: keras.optimizers.SGD(learning_rate=0.5, momentum=0.9)
    real = small_model()
    real.compile(optimizer=make(), loss="sparse_categorical_crossentropy")
    accumulated = small_model()
    accumulated.compile(optimizer=effective_batch_optimizer(make, 32, 8),
                        loss="sparse_categorical_crossentropy")
    for a, b in zip(real.get_weights(), accumulated.get_weights()):
        np.testing.assert_array_equal(a, b)
    start = [w.copy() for w in real.get_weights()]
    # two updates (momentum carries over between them), same samples in the same order
    fit_with_batch_policy(real, x, y, policy=32, epochs=1, seed=3)
    fit_effective_batch(accumulated, x, y, effective_batch=32, micro_batch=8, epochs=1, seed=3)
    assert int(real.optimizer.iterations) == int(accumulated.optimizer.iterations) == 2
    for a, b, w0 in zip(real.get_weights(), accumulated.get_weights(), start):
        assert not np.allclose(a, w0)  # it did train
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_effective_batch_optimizer_validates_and_copies():
    opt = effective_batch_optimizer(keras.optimizers.Adam(1e-3), 256, 64)
    assert opt.gradient_accumulation_steps == 4 and isinstance(opt, keras.optimizers.Adam)
    assert effective_batch_optimizer("sgd", 64, 64).gradient_accumulation_steps is None
    with pytest.raises(ValueError, match="multiple of `micro_batch`"):
        effective_batch_optimizer("sgd", 100, 64)
    with pytest.raises(ValueError, match="Argument `micro_batch`"):
        effective_batch_optimizer("sgd", 64, 0)
    model = small_model()
    model.compile(optimizer=effective_batch_optimizer("sgd", 32, 8), loss="sparse_categorical_crossentropy")
    x, y = data(n=64)
    with pytest.raises(ValueError, match="gradient_accumulation_steps=2"):
        fit_with_batch_policy(model, x, y, policy=16, epochs=1, micro_batch=8)
    with pytest.raises(ValueError, match="micro_batch"):
        fit_with_batch_policy(model, x, y, policy=32, epochs=1)


def test_policy_training_uses_full_batches_and_one_trace_per_bucket():
    x, y = data(n=100)  # 100 is no multiple of any bucket: a partial batch would show up
    policy = CyclicalBatchSize(8, 32, step_size=2)
    model = small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    with TraceCounter(model) as traces:
        history = fit_with_batch_policy(model, x, y, policy=policy, epochs=8)
    assert history["batch_size"] == policy.trajectory(8).tolist() == [32, 16, 8, 16, 32, 16, 8, 16]
    assert history["steps"] == [100 // b for b in history["batch_size"]]
    assert int(model.optimizer.iterations) == sum(history["steps"])
    # JAX compiles once per bucket; TensorFlow may generalize the batch dimension (None) instead
    assert 1 <= traces.count <= len(set(history["batch_size"]))
    assert set(traces.batch_sizes) <= {8, 16, 32, None}
    assert len(history["loss"]) == 8 and all(np.isfinite(history["loss"]))
    assert "accuracy" in history and "learning_rate" in history


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


def test_every_step_sees_a_full_bucket_sized_batch():
    """Run eagerly, the counter records every step's concrete batch size (both backends)."""
    x, y = data(n=100)
    policy = CyclicalBatchSize(8, 32, step_size=1)
    model = small_model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", run_eagerly=True)
    with TraceCounter(model) as steps:
        fit_with_batch_policy(model, x, y, policy=policy, epochs=4)
    expected = [b for b in policy.trajectory(4).tolist() for _ in range(100 // b)]
    assert steps.batch_sizes == expected


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
    assert history["steps"] == [4, 2]
    keras.utils.set_random_seed(0)
    exploding = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)])
    exploding.compile(optimizer=keras.optimizers.SGD(1e12), loss="mse")
    history = fit_with_batch_policy(exploding, x, np.full((64, 3), 1e3, "float32"), policy=16, epochs=5)
    assert len(history["loss"]) < 5 and not np.isfinite(history["loss"][-1])


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


def test_epoch_logger_prints_one_line_per_epoch():
    x, y = data(n=64)
    model = small_model()
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    stream = io.StringIO()
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
    a, b = training.EpochBatches(x, y, 4, seed=3), training.EpochBatches(x, y, 4, seed=3)
    assert len(a) == 2
    first = [a[i][1].tolist() for i in range(len(a))]
    assert first == [b[i][1].tolist() for i in range(len(b))]
    assert all(len(batch) == 4 for batch in first) and len(set(sum(first, []))) == 8
    a.on_epoch_end()
    assert [a[i][1].tolist() for i in range(len(a))] != first
    other = training.EpochBatches(x, y, 4, seed=4)
    assert [other[i][1].tolist() for i in range(2)] != first
    for bad in (11, 0, 4.0, True):
        with pytest.raises(ValueError, match="batch_size"):
            training.EpochBatches(x, y, bad, seed=0)
    with pytest.raises(ValueError, match="same length"):
        training.EpochBatches(x, y[:5], 4, seed=0)
