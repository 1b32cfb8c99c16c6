"""CyclicalLearningRate and CyclicalBatchSize against straightforward reference implementations."""

import math

import keras
import numpy as np
import pytest

from hw2.schedules import CyclicalBatchSize, CyclicalLearningRate, NoiseMatchedBatchSize, triangle_position


def reference_clr(it, lr_min, lr_max, step, mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle"):
    """Smith's formulas, written out in plain Python floats."""
    cycle = math.floor(1 + it / (2 * step))
    x = abs(it / step - 2 * cycle + 1)
    if scale_fn is not None:
        scale = scale_fn(cycle if scale_mode == "cycle" else it)
    elif mode == "triangular":
        scale = 1.0
    elif mode == "triangular2":
        scale = 1 / 2 ** (cycle - 1)
    else:
        scale = gamma**it
    return lr_min + (lr_max - lr_min) * max(0.0, 1 - x) * scale


# every iteration up to 3.5 cycles, so every cycle boundary and peak is included
ITERATIONS = list(range(0, 141)) + [997, 1000, 1001, 2000, 12345]


@pytest.mark.parametrize("mode,gamma", [("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.999)])
@pytest.mark.parametrize("step", [20, 7.5])
def test_clr_matches_reference(mode, gamma, step):
    clr = CyclicalLearningRate(1e-4, 1e-1, step_size=step, mode=mode, gamma=gamma)
    got = np.array([float(clr(i)) for i in ITERATIONS])
    want = np.array([reference_clr(i, 1e-4, 1e-1, step, mode, gamma) for i in ITERATIONS])
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-8)


def test_clr_hits_bounds_at_cycle_boundaries_and_peaks():
    clr = CyclicalLearningRate(0.01, 0.1, step_size=10)
    for it in (0, 20, 40, 200):
        assert float(clr(it)) == pytest.approx(0.01, rel=1e-6)
    for it in (10, 30, 210):
        assert float(clr(it)) == pytest.approx(0.1, rel=1e-6)
    tri2 = CyclicalLearningRate(0.0, 0.8, step_size=10, mode="triangular2")
    assert [round(float(tri2(it)), 6) for it in (10, 30, 50)] == [0.8, 0.4, 0.2]


@pytest.mark.parametrize("scale_mode", ["cycle", "iterations"])
def test_clr_custom_scale_fn(scale_mode):
    fn = lambda z: 1.0 / (1.0 + 0.1 * z)
    clr = CyclicalLearningRate(1e-3, 1e-2, step_size=5, scale_fn=fn, scale_mode=scale_mode)
    got = [float(clr(i)) for i in range(40)]
    want = [reference_clr(i, 1e-3, 1e-2, 5, scale_fn=fn, scale_mode=scale_mode) for i in range(40)]
    np.testing.assert_allclose(got, want, rtol=2e-5)


@pytest.mark.parametrize("kwargs,match", [
    ({"lr_min": 0.1, "lr_max": 0.1}, "lr_max"),
    ({"lr_min": 0.2, "lr_max": 0.1}, "lr_max"),
    ({"lr_min": -1.0}, "lr_min"),
    ({"step_size": 0}, "step_size"),
    ({"step_size": -3}, "step_size"),
    ({"gamma": 0.0}, "gamma"),
    ({"gamma": 1.5}, "gamma"),
    ({"mode": "cosine"}, "mode"),
    ({"scale_mode": "epoch"}, "scale_mode"),
])
def test_clr_rejects_bad_arguments(kwargs, match):
    args = {"lr_min": 1e-3, "lr_max": 1e-2, "step_size": 10, **kwargs}
    with pytest.raises(ValueError, match=f"Argument `{match}`"):
        CyclicalLearningRate(**args)


@pytest.mark.parametrize("step_size", [1e-300, 0.5, 1e300, 2.0**30, float("nan")])
def test_clr_rejects_a_step_size_it_cannot_evaluate_at_construction(step_size):
    with pytest.raises(ValueError, match=r"Argument `step_size` must be in \[1, 1073741823\]"):
        CyclicalLearningRate(1e-3, 1e-2, step_size=step_size)


@pytest.mark.parametrize("step_size", [4, 7.5, 1000, 2**29 + 3])
def test_clr_is_exact_at_steps_beyond_float32_integers(step_size):
    clr = CyclicalLearningRate(0.001, 0.01, step_size=step_size)
    steps = [2**24 + k for k in range(-2, 12)] + [2**25 + 1, 2**30 + 7, 2**31 - 1]
    got = np.array([float(clr(np.int64(i))) for i in steps])
    want = np.array([reference_clr(i, 0.001, 0.01, step_size) for i in steps])
    np.testing.assert_allclose(got, want, rtol=2e-6)
    if step_size == 4:
        assert float(clr(2**25 + 1)) == pytest.approx(0.00325, rel=1e-6)  # a float32 step gave 0.001


def test_clr_is_exact_at_a_large_step_inside_a_compiled_train_step():
    clr = CyclicalLearningRate(0.001, 0.01, step_size=4)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=clr), loss="mse")
    model.fit(np.ones((4, 3), "float32"), np.zeros((4, 2), "float32"), batch_size=4, epochs=1, verbose=0)
    model.optimizer.iterations.assign(2**25)
    model.fit(np.ones((4, 3), "float32"), np.zeros((4, 2), "float32"), batch_size=4, epochs=1, verbose=0)
    assert int(model.optimizer.iterations) == 2**25 + 1
    assert float(model.optimizer.learning_rate) == pytest.approx(0.00325, rel=1e-6)


def test_clr_config_round_trip_and_keras_serialization():
    clr = CyclicalLearningRate(1e-3, 1e-2, step_size=8, mode="exp_range", gamma=0.99)
    assert CyclicalLearningRate.from_config(clr.get_config()).get_config() == clr.get_config()
    restored = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(clr))
    assert isinstance(restored, CyclicalLearningRate)
    assert [float(restored(i)) for i in range(20)] == [float(clr(i)) for i in range(20)]


def test_clr_drives_an_optimizer_and_survives_model_save_load(tmp_path):
    clr = CyclicalLearningRate(0.01, 0.1, step_size=3, mode="triangular2")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=clr, momentum=0.9), loss="mse")
    x, y = np.ones((20, 3), "float32"), np.zeros((20, 2), "float32")
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)  # 5 steps
    expected = reference_clr(5, 0.01, 0.1, 3, "triangular2")
    assert float(model.optimizer.learning_rate) == pytest.approx(expected)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    schedule = loaded.optimizer._learning_rate
    assert isinstance(schedule, CyclicalLearningRate)
    assert schedule.get_config() == clr.get_config()
    assert float(loaded.optimizer.learning_rate) == pytest.approx(float(model.optimizer.learning_rate))


# ------------------------------------------------------------------------------ batch size


def reference_batch(t, b_min, b_max, step, mode="triangular", gamma=1.0, scale="inverse"):
    """Plain-Python reference, written from the docstring's formulas."""
    if mode == "exponential":
        return min(b_max, b_min * 2 ** math.floor(t / step))
    cycle = math.floor(1 + t / (2 * step))
    x = abs(t / step - 2 * cycle + 1)
    decay = {"triangular": 1.0, "triangular2": 1 / 2 ** (cycle - 1),
             "exp_range": gamma ** (2 * step * (cycle - 1))}[mode]
    u = max(0.0, 1 - x) * decay
    if scale == "log2":
        log2_b = math.log2(b_max) - u * (math.log2(b_max) - math.log2(b_min))
        return 2 ** int(math.floor(log2_b + 0.5))
    inverse = 1 / b_max + u * (1 / b_min - 1 / b_max)
    return b_min * int(math.floor(1 / (inverse * b_min) + 0.5))


@pytest.mark.parametrize("scale", ["inverse", "log2"])
@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range", "exponential"])
@pytest.mark.parametrize("step", [3, 4, 2.5])
def test_batch_policy_matches_reference(mode, step, scale):
    policy = CyclicalBatchSize(64, 8192, step_size=step, mode=mode, gamma=0.9, scale=scale)
    got = policy.trajectory(60).tolist()
    assert got == [reference_batch(t, 64, 8192, step, mode, 0.9, scale) for t in range(60)]
    assert [policy(t) for t in range(60)] == got
    assert set(got) <= set(policy.batch_sizes)
    assert all(64 <= b <= 8192 and b % 64 == 0 for b in got)
    if scale == "log2" or mode == "exponential":
        assert all(b & (b - 1) == 0 for b in got)


@pytest.mark.parametrize("scale", ["inverse", "log2"])
@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
@pytest.mark.parametrize("b_min,b_max,step,gamma", [
    (64, 8192, 8, 0.1 ** (1 / 48)),   # the full specification (48 epochs, amplitude 0.1 left)
    (64, 8192, 2, 0.1 ** (1 / 12)),   # a short reduced run
    (64, 1024, 1, 0.5), (32, 4096, 3, 0.9),
])
def test_the_first_cycle_visits_both_ends(mode, scale, b_min, b_max, step, gamma):
    first_cycle = CyclicalBatchSize(b_min, b_max, step, mode, gamma, scale).trajectory(2 * step + 1)
    assert first_cycle[0] == b_max and first_cycle.min() == b_min and first_cycle[-1] == b_max


def test_batch_policy_shapes():
    tri = CyclicalBatchSize(64, 1024, step_size=4).trajectory(9).tolist()
    assert tri == [1024, 192, 128, 64, 64, 64, 128, 192, 1024]
    assert CyclicalBatchSize(64, 1024, step_size=4, scale="log2").trajectory(9).tolist() == [
        1024, 512, 256, 128, 64, 128, 256, 512, 1024]
    # the excursion of triangular2 / exp_range shrinks: the batch size settles at b_max
    tri2 = CyclicalBatchSize(64, 1024, step_size=4, mode="triangular2", scale="log2").trajectory(24)
    assert tri2[4] == 64 and tri2[12] == 256 and tri2[20] == 512
    exp = CyclicalBatchSize(64, 1024, step_size=4, mode="exp_range", gamma=0.8).trajectory(40)
    assert exp[4] < exp[12] <= exp[20] and exp[-8:].min() == 1024
    grow = CyclicalBatchSize(64, 1024, step_size=2, mode="exponential").trajectory(12)
    assert np.all(np.diff(grow) >= 0) and grow[0] == 64 and grow[-1] == 1024
    assert CyclicalBatchSize(64, 1024, 2, scale="log2").batch_sizes == (64, 128, 256, 512, 1024)
    assert CyclicalBatchSize(64, 256, 2).batch_sizes == (64, 128, 192, 256)


def test_inverse_batch_policy_is_the_dual_of_the_lr_cycle():
    """1/B follows the triangle as CLR's lr does: lr_max/B(t) == lr(t)/b_min when b_max/b_min = lr_max/lr_min."""
    lr_min, lr_max, b_min, step = 1e-3, 1.6e-2, 64, 5
    policy = CyclicalBatchSize(b_min, int(b_min * lr_max / lr_min), step_size=step)
    clr = CyclicalLearningRate(lr_min, lr_max, step_size=step)
    t = np.arange(20)
    lr = np.array([float(clr(int(i))) for i in t])
    exact = b_min * lr_max / lr  # the batch size at which lr_max / B equals CLR's lr(t) / b_min
    # the policy's batch size is the multiple of b_min nearest to it
    assert np.all(np.abs(policy.trajectory(20) - exact) <= b_min / 2 + 1e-6 * exact)
    u = triangle_position(t, step)
    assert np.all(policy.trajectory(20)[u == 1] == b_min) and np.all(policy.trajectory(20)[u == 0] == 1024)


@pytest.mark.parametrize("kwargs,match", [
    ({"b_min": 48, "scale": "log2"}, "b_max"), ({"b_max": 1000}, "b_max"), ({"b_min": 0}, "b_min"),
    ({"b_min": 256, "b_max": 256}, "b_max"), ({"step_size": 0}, "step_size"), ({"step_size": math.inf}, "step_size"),
    ({"gamma": 2.0}, "gamma"), ({"mode": "cosine"}, "mode"), ({"b_min": True}, "b_min"),
    ({"b_min": 1, "b_max": 2**64}, "b_max"), ({"scale": "linear"}, "scale"),
])
def test_batch_policy_rejects_bad_arguments(kwargs, match):
    args = {"b_min": 64, "b_max": 1024, "step_size": 2, **kwargs}
    with pytest.raises(ValueError, match=f"Argument `{match}`"):
        CyclicalBatchSize(**args)


def test_batch_policy_rejects_bad_times():
    policy = CyclicalBatchSize(64, 1024, step_size=2)
    for bad in (float("nan"), -1, True, float("inf")):
        with pytest.raises(ValueError, match="Argument `t`"):
            policy(bad)
    with pytest.raises(ValueError, match="Argument `n`"):
        policy.trajectory(2.5)


def test_lr_schedule_rejects_unusable_bounds():
    for kwargs, match in (({"step_size": math.inf}, "step_size"), ({"lr_max": 1e300}, "lr_max"),
                          ({"lr_min": True}, "lr_min"), ({"lr_max": float("nan")}, "lr_max")):
        with pytest.raises(ValueError, match=f"Argument `{match}`"):
            CyclicalLearningRate(**{"lr_min": 1e-3, "lr_max": 1e-2, "step_size": 4, **kwargs})


def test_batch_policy_config_round_trip():
    policy = CyclicalBatchSize(64, 512, step_size=3, mode="exp_range", gamma=0.95)
    again = CyclicalBatchSize.from_config(policy.get_config())
    assert again.get_config() == policy.get_config()
    assert again.trajectory(30).tolist() == policy.trajectory(30).tolist()
    assert "exp_range" in repr(policy)


def test_noise_matched_batch_size_mirrors_a_learning_rate_schedule_update_by_update():
    clr = CyclicalLearningRate(1e-3, 1.6e-2, step_size=40, mode="exp_range", gamma=0.99)
    policy = NoiseMatchedBatchSize(clr, lr=1.6e-2, reference_batch=64, b_max=8192, steps_per_epoch=20)
    k, sums = policy.groups(8)
    rates = np.array([float(clr(s)) for s in range(160)])
    np.testing.assert_allclose(policy.rates(8), rates, rtol=1e-6)
    assert k.sum() == 160 and np.array_equal(policy.update_plan(8), 64 * k)  # every sample, once
    starts = np.concatenate([[0], np.cumsum(k)[:-1]])
    np.testing.assert_allclose(sums, [rates[s:s + n].sum() for s, n in zip(starts, k)], rtol=1e-6)
    # each update's k is the one whose summed rate is nearest lr in ratio (k - 1 and k + 1 are not nearer)
    for s, n in zip(starts[:-1], k[:-1]):
        error = abs(np.log(rates[s:s + n].sum() / 1.6e-2))
        for other in (n - 1, n + 1):
            if other >= 1:
                assert error <= abs(np.log(rates[s:s + other].sum() / 1.6e-2)) + 1e-6
    # lr / B equals the mean CLR rate / 64 over each update's samples, up to the rounding of k
    ratio = (1.6e-2 / (64 * k)) / (sums / k / 64)
    assert np.all(np.abs(np.log(ratio[:-1])) <= np.log(2)) and np.median(np.abs(np.log(ratio))) < 0.1
    capped = NoiseMatchedBatchSize(clr, lr=1.6e-2, reference_batch=64, b_max=128, steps_per_epoch=20)
    assert capped.update_plan(8).max() == 128 and capped.update_plan(8).sum() == 160 * 64
    for kwargs, match in (({"lr": 0}, "lr"), ({"b_max": 100}, "b_max"), ({"steps_per_epoch": 0}, "steps_per_epoch"),
                          ({"schedule": 3}, "schedule")):
        args = {"schedule": clr, "lr": 1e-2, "reference_batch": 64, "b_max": 1024, "steps_per_epoch": 10, **kwargs}
        with pytest.raises(ValueError, match=f"Argument `{match}`"):
            NoiseMatchedBatchSize(**args)
    zero = NoiseMatchedBatchSize(CyclicalLearningRate(0.0, 1e-2, step_size=4), lr=1e-2, reference_batch=64,
                                 b_max=1024, steps_per_epoch=10)
    with pytest.raises(ValueError, match=r"Argument `schedule` must be a callable giving finite rates > 0 .*"
                                         r"Received: rate 0\.0 at step 0$"):
        zero.update_plan(1)


def test_noise_matched_batch_size_plans_every_sample_for_a_schedule_that_returns_one_number():
    constant = NoiseMatchedBatchSize(lambda step: 0.01, lr=0.02, reference_batch=64, b_max=256, steps_per_epoch=10)
    plan = constant.update_plan(epochs=2)  # 20 steps of 64 = 1280 samples, two steps per update
    assert int(plan.sum()) == 20 * 64 and plan.tolist() == [128] * 10
    halving = NoiseMatchedBatchSize(lambda step: 0.02 if int(step) < 10 else 0.01, lr=0.02, reference_batch=64,
                                    b_max=256, steps_per_epoch=10)  # Python control flow: one step at a time
    assert halving.update_plan(epochs=2).tolist() == [64] * 10 + [128] * 5
    vector = NoiseMatchedBatchSize(lambda step: np.full(2, 0.01), lr=0.02, reference_batch=64, b_max=256,
                                   steps_per_epoch=10)
    with pytest.raises(ValueError, match=r"Argument `schedule` must be a callable returning one rate per step\. "
                                         r"Received: a schedule returning shape \(2,\) at one step"):
        vector.update_plan(epochs=1)
