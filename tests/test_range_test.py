"""The LR range test: caller untouched, curve from the caller's weights, smoothing, stops, inputs."""

import math
import os
import tempfile

import keras
import numpy as np
import pytest
from finder_models import classifier, data, poisoned_classifier, regressor, state

from hw2.range_test import WEIGHT_CHECK_EVERY, LRRangeTestResult, lr_range_test
from hw2.training import epoch_order, fit_with_batch_policy, weights_are_finite


def pretrained(seed=0, bn=True):
    keras.utils.set_random_seed(seed)
    model = classifier(bn=bn)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    x, y = data()
    fit_with_batch_policy(model, x, y, policy=32, epochs=1)  # iterations, moments, BN statistics move
    return model


def test_range_test_of_a_model_with_gradient_accumulation_trains_its_inner_optimizer_per_batch():
    from hw2.training import GradientAccumulation

    x, y = data()
    wrapped, plain = classifier(bn=False), classifier(bn=False)
    plain.set_weights(wrapped.get_weights())
    wrapped.compile(optimizer=GradientAccumulation(keras.optimizers.SGD(momentum=0.9), steps=4),
                    loss="sparse_categorical_crossentropy")
    plain.compile(optimizer=keras.optimizers.SGD(momentum=0.9), loss="sparse_categorical_crossentropy")
    kwargs = dict(start_lr=1e-4, end_lr=1.0, steps=12, batch_size=16)
    result, expected = lr_range_test(wrapped, x, y, **kwargs), lr_range_test(plain, x, y, **kwargs)
    np.testing.assert_array_equal(result.lrs, expected.lrs)
    np.testing.assert_allclose(result.losses, expected.losses, rtol=1e-6)  # one update per batch, as documented
    assert isinstance(wrapped.optimizer, GradientAccumulation) and wrapped.optimizer.initial_steps == 4


def test_range_test_leaves_weights_and_optimizer_state_bit_for_bit(tmp_path, monkeypatch):
    model, twin = pretrained(), pretrained()
    before_vars, before_opt = state(model)
    assert int(model.optimizer.iterations) == 4
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    x, y = data()
    result = lr_range_test(model, x, y, start_lr=1e-5, end_lr=10.0, steps=30, batch_size=16)
    assert len(result.lrs) >= 2
    assert os.listdir(tmp_path) == []  # nothing written, not even a temporary file
    after_vars, after_opt = state(model)
    assert len(before_opt) == len(after_opt) and len(before_vars) == len(after_vars)
    for a, b in zip(before_vars + before_opt, after_vars + after_opt):
        np.testing.assert_array_equal(a, b)
    assert float(model.optimizer.learning_rate) == pytest.approx(3e-3)
    # and later training is exactly what it would have been without the test
    fit_with_batch_policy(model, x, y, policy=32, epochs=1, seed=5)
    fit_with_batch_policy(twin, x, y, policy=32, epochs=1, seed=5)
    for a, b in zip(state(model)[0] + state(model)[1], state(twin)[0] + state(twin)[1]):
        np.testing.assert_array_equal(a, b)


def test_first_recorded_loss_is_the_callers_loss_on_the_first_batch():
    # the curve must come from the caller's weights, not from a fresh initialization of the clone
    model = pretrained(bn=False)  # no batch norm: training-mode loss == evaluate()
    x, y = data()
    first = epoch_order(len(x), 3, 0)[:16]
    own = model.evaluate(x[first], y[first], batch_size=16, verbose=0, return_dict=True)["loss"]
    result = lr_range_test(model, x, y, start_lr=1e-6, end_lr=1e-2, steps=4, batch_size=16, seed=3)
    assert result.losses[0] == pytest.approx(own, rel=1e-5)


def test_range_test_curve_smoothing_and_stop():
    model = pretrained()
    x, y = data()
    done = lr_range_test(model, x, y, start_lr=1e-6, end_lr=1e-2, epochs=2, batch_size=16, beta=0.9)
    assert done.stop_reason == "completed" and not done.stopped_early and len(done.lrs) == 16 == done.steps
    np.testing.assert_allclose(done.lrs, 1e-6 * (1e4) ** (np.arange(16) / 15), rtol=1e-12)
    avg, expected = 0.0, []
    for i, loss in enumerate(done.losses):
        avg = 0.9 * avg + 0.1 * loss
        expected.append(avg / (1 - 0.9 ** (i + 1)))
    np.testing.assert_allclose(done.smoothed, expected, rtol=1e-12)
    assert done.best_index == int(np.argmin(done.smoothed))

    keras.utils.set_random_seed(0)
    linear = regressor()
    linear.compile(optimizer="sgd", loss="mse")
    target = (x[:, 0] * 3).astype("float32")
    blown = lr_range_test(linear, x, target, start_lr=1e-4, end_lr=1e6, steps=200, batch_size=16)
    assert blown.stopped_early and blown.stop_reason in ("exploded", "non-finite")
    assert len(blown.lrs) < 200
    last = blown.smoothed[-1]
    assert not np.isfinite(last) or last > 4 * np.min(blown.smoothed[:-1])
    again = LRRangeTestResult.from_dict(blown.to_dict())
    np.testing.assert_array_equal(again.smoothed, blown.smoothed)
    assert blown.suggest().high <= blown.lrs[-1]


def test_non_finite_weights_with_a_finite_loss_are_a_divergence():
    keras.utils.set_random_seed(0)
    model = poisoned_classifier()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = data()
    # the premise: after one step the weights are NaN while the loss stays finite (about ln 3)
    twin = keras.models.clone_model(model)
    twin.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    twin.train_on_batch(x[:16], y[:16])
    assert not weights_are_finite(twin)
    assert math.isfinite(twin.train_on_batch(x[:16], y[:16]))

    result = lr_range_test(model, x, y, start_lr=1e-4, end_lr=1e-1, steps=3 * WEIGHT_CHECK_EVERY, batch_size=16)
    assert result.stop_reason == "non-finite" and result.stopped_early
    assert len(result.lrs) == WEIGHT_CHECK_EVERY  # stopped at the first weight check
    # only the first loss (the caller's finite weights) is kept; later ones came from NaN weights
    assert np.isfinite(result.losses[0]) and np.isnan(result.losses[1:]).all()
    assert not result.suggest().reliable


def test_range_test_rejects_bad_arguments():
    x, y = data()
    with pytest.raises(ValueError, match="compiled"):
        lr_range_test(classifier(), x, y)
    model = pretrained()
    for kwargs, match in [({"start_lr": 1.0, "end_lr": 0.1}, "start_lr"), ({"beta": 1.0}, "beta"),
                          ({"epochs": 1, "steps": 5}, "at most one"), ({"stop_factor": 1.0}, "stop_factor"),
                          ({"batch_size": 1000}, "batch_size"), ({"steps": 1}, "steps"),
                          ({"steps": 5.5}, "steps"), ({"epochs": True}, "epochs")]:
        with pytest.raises(ValueError, match=match):
            lr_range_test(model, x, y, **kwargs)
    for batch_size in (32.0, True):
        with pytest.raises(ValueError, match=rf"^Argument `batch_size` must be an integer .*"
                                             rf"Received: batch_size={batch_size!r}$"):
            lr_range_test(model, x, y, batch_size=batch_size)


def test_range_test_rejects_bad_inputs():
    model = pretrained()
    x, y = data()
    nan_x = x.copy()
    nan_x[5, 2] = np.nan
    with pytest.raises(ValueError, match=r"Argument `x` must contain only finite numbers\. Received: x=.*"
                                         r"1 NaN/inf value\(s\), the first at index \(5, 2\)"):
        lr_range_test(model, nan_x, y)
    with pytest.raises(ValueError, match=r"`x` and `y` must have the same length.*len\(x\)=128, len\(y\)=127"):
        lr_range_test(model, x, y[:-1])
    broken = keras.models.clone_model(model)
    broken.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    weights = model.get_weights()
    weights[0][0, 0] = np.nan
    broken.set_weights(weights)
    with pytest.raises(ValueError, match="Argument `model` must be a model with finite weights"):
        lr_range_test(broken, x, y)


@pytest.mark.parametrize("label, shown", [(7, "7"), (-1, "-1"), (0.5, "0.5")])
def test_range_test_rejects_labels_outside_the_models_classes(label, shown):
    # TensorFlow failed inside the train step with a 41-line traceback; 0.5 was truncated to class 0
    model = pretrained()
    x, y = data()
    bad = y.astype(type(label))
    bad[12] = label
    with pytest.raises(ValueError, match=rf"^Argument `y` must hold integer class labels in \[0, 3\)\. "
                                         rf"Received: y with {shown} at index 12$"):
        lr_range_test(model, x, bad)
    assert len(lr_range_test(model, x, y.astype("float32"), steps=2).lrs) == 2  # whole-number floats are labels
