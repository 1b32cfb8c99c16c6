"""Gradient-noise scale: the two-batch estimator, its Keras probe against a closed form, the bounds rule."""

import keras
import numpy as np
import pytest

from hw2 import accumulation, training
from hw2 import noise_scale as ns


def test_estimator_is_unbiased_for_exact_expectations():
    # E|G_B|^2 = |G|^2 + tr(S)/B exactly: the estimates recover |G|^2 and tr(S)
    g2, trace = 2.0, 300.0
    small, big = g2 + trace / 16, g2 + trace / 256
    out = ns.noise_scale([small], [big], b_small=16, b_big=256)
    assert out["gradient_sq"] == pytest.approx(g2) and out["trace_sigma"] == pytest.approx(trace)
    assert out["b_simple"] == pytest.approx(150.0)


def test_estimator_averages_numerator_and_denominator_apart():
    # per-update |G|^2 estimates +1 and -0.5, tr(S) estimates 2 and 1.5: the ratio of means is 1.75 / 0.25 = 7,
    # the mean of the per-update ratios (2 and -3) would be -0.5
    out = ns.noise_scale([3.0, 1.0], [2.0, 0.25], b_small=1, b_big=2)
    assert out["gradient_sq"] == pytest.approx(0.25) and out["trace_sigma"] == pytest.approx(1.75)
    assert out["b_simple"] == pytest.approx(7.0)


@pytest.mark.parametrize("kwargs,match", [
    ({"b_small": 8, "b_big": 8}, "b_big"), ({"b_small": 0, "b_big": 8}, "b_small"),
    ({"small_sq": [np.nan]}, "small_sq"), ({"small_sq": [1.0, 2.0]}, "small_sq")])
def test_estimator_rejects_bad_input(kwargs, match):
    args = {"small_sq": [1.0], "big_sq": [0.5], "b_small": 8, "b_big": 64, **kwargs}
    with pytest.raises(ValueError, match=match):
        ns.noise_scale(**args)


def test_probe_measures_the_closed_form_noise_scale_of_linear_regression():
    """y = w*.x + eps, x ~ N(0, I_d), eps ~ N(0, s^2), squared loss, evaluated at w = 0 (lr 0).

    Per-sample gradient at w = 0: -2 y x, so G = -2 w* and tr(Sigma) = 4 (|w*|^2 (d + 1) + s^2 d):
    B_simple = d + 1 + s^2 d / |w*|^2 (the factor 4 cancels).
    """
    d, s, n = 4, 1.0, 2**16
    rng = np.random.default_rng(0)
    w_star = rng.normal(size=d)
    w_star /= np.linalg.norm(w_star)
    x = rng.normal(size=(n, d)).astype("float32")
    y = (x @ w_star + s * rng.normal(size=n)).astype("float32")
    expected = d + 1 + s**2 * d / float(w_star @ w_star)  # 9
    model = keras.Sequential([keras.Input((d,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")])
    model.compile(optimizer=accumulation.GradientAccumulation(keras.optimizers.SGD(0.0), steps=16), loss="mse")
    probe = ns.GradientNoiseScale(micro_batch=4)
    training.fit_with_batch_policy(model, x, y, policy=64, epochs=2, micro_batch=4, callbacks=[probe])
    assert probe.history["b_big"] == [64, 64] and probe.history["updates"] == [n // 64] * 2
    assert np.mean(probe.history["b_simple"]) == pytest.approx(expected, rel=0.1)
    assert np.mean(probe.history["gradient_sq"]) == pytest.approx(4.0, rel=0.1)  # |G|^2 = 4 |w*|^2


def test_probe_needs_gradient_accumulation():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="GradientAccumulation"):
        model.fit(np.zeros((8, 2)), np.zeros(8), batch_size=4, verbose=0, callbacks=[ns.GradientNoiseScale(4)])


def test_bounds_rule():
    out = ns.suggest_bounds([150.0, 400.0, 900.0])
    assert (out["b_min"], out["b_max"], out["clipped"]) == (128, 1024, False)
    same = ns.suggest_bounds([128.0, 128.0])
    assert (same["b_min"], same["b_max"]) == (128, 256)
    top = ns.suggest_bounds([20000.0], b_high=8192)
    assert (top["b_min"], top["b_max"], top["clipped"]) == (4096, 8192, True) and "clipped" in top["note"]
    empty = ns.suggest_bounds([np.inf, -1.0])
    assert not empty["reliable"] and (empty["b_min"], empty["b_max"]) == (64, 8192)
    with pytest.raises(ValueError, match="Argument `b_high` must be at least 2"):
        ns.suggest_bounds([100.0], b_low=512, b_high=256)


def test_probe_skips_an_epoch_whose_updates_mix_batch_sizes():
    from hw2.training import fit_with_batch_policy

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=accumulation.GradientAccumulation("sgd"), loss="mse")
    probe = ns.GradientNoiseScale(micro_batch=8)
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")

    class Plan:  # epoch 1: updates of 16, 16, 32; epoch 2: 32, 16, 16 (two batch sizes in each)
        def update_plan(self, epochs):
            return np.array([16, 16, 32, 32, 16, 16])

    fit_with_batch_policy(model, x, x.sum(axis=1), policy=Plan(), epochs=2, micro_batch=8, callbacks=[probe])
    assert probe.skipped_epochs == [0, 1] and probe.history["b_simple"] == []


def test_block_diagram_steps_name_the_rule():
    names = [name for name, *_ in ns.NOISE_FINDER_STEPS]
    assert names[0] == "train" and names[-1] == "use" and "suggest" in names
