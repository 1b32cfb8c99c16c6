"""Initializers Keras lacks: He-normal stacks with Keras' distribution, randomized asymmetric init."""

import keras
import numpy as np
import pytest

from hw2 import initializers


def test_he_normal_matches_keras_distribution():
    ours = initializers.he_normal(50, 40, np.random.default_rng(0), size=(20,))
    assert ours.shape == (20, 50, 40) and ours.dtype == np.float32
    theirs = keras.ops.convert_to_numpy(keras.initializers.HeNormal(seed=0)(shape=(50, 40 * 20)))
    target = np.sqrt(2 / 50)
    assert ours.std() == pytest.approx(target, rel=0.02)
    assert theirs.std() == pytest.approx(target, rel=0.02)
    # Keras truncates at two (unscaled) standard deviations; so do we.
    limit = 2 * target / 0.87962566103423978
    assert np.abs(ours).max() <= limit + 1e-6
    assert np.abs(ours).max() == pytest.approx(np.abs(theirs).max(), rel=0.02)


def test_randomized_asymmetric_puts_one_positive_entry_per_unit():
    rng = np.random.default_rng(0)
    kernel, bias = initializers.randomized_asymmetric(3, 5, rng, size=(400,), sigma=1e-6)
    v = np.concatenate([kernel, bias[:, None, :]], axis=1)  # (S, fan_in + 1, fan_out)
    large = np.abs(v) > 1e-3
    np.testing.assert_array_equal(large.sum(axis=1), 1)  # exactly one Beta(2, 1) draw per unit
    assert np.all(v[large] > 0) and np.all(v[large] < 1)
    assert v[large].mean() == pytest.approx(2 / 3, abs=0.03)  # mean of Beta(2, 1)
    # The position is uniform over the fan_in + 1 entries (weights and bias).
    positions = np.argmax(large, axis=1).ravel()
    np.testing.assert_allclose(np.bincount(positions, minlength=4) / positions.size, 0.25, atol=0.03)


def test_randomized_asymmetric_scale_and_model_helper():
    kernel, bias = initializers.randomized_asymmetric(200, 300, np.random.default_rng(1))
    assert kernel.shape == (200, 300) and bias.shape == (300,)
    symmetric = kernel[np.abs(kernel) < 0.3]  # the Beta entries are rare at this fan-in
    assert symmetric.std() == pytest.approx(initializers.RAI_SIGMA / np.sqrt(200), rel=0.05)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3), keras.layers.Dense(1)])
    initializers.apply_randomized_asymmetric(model, np.random.default_rng(0), sigma=1e-6)
    first = model.layers[0]
    v = np.concatenate([keras.ops.convert_to_numpy(first.kernel), keras.ops.convert_to_numpy(first.bias)[None]])
    np.testing.assert_array_equal((np.abs(v) > 1e-3).sum(axis=0), 1)


@pytest.mark.parametrize("call, name", [
    (lambda: initializers.he_normal(0, 2, np.random.default_rng(0)), "fan_in"),
    (lambda: initializers.randomized_asymmetric(2, 0, np.random.default_rng(0)), "fan_out"),
    (lambda: initializers.randomized_asymmetric(2, 2, np.random.default_rng(0), sigma=0), "sigma"),
    (lambda: initializers.randomized_asymmetric(2, 2, np.random.default_rng(0), sigma=float("inf")), "sigma"),
    (lambda: initializers.he_normal(2.5, 2, np.random.default_rng(0)), "fan_in"),
])
def test_bad_arguments(call, name):
    with pytest.raises(ValueError, match=f"`{name}`"):
        call()
