"""The LR range test: caller untouched, curve from the caller's weights, smoothing, stops, inputs."""

import math
import os
import tempfile

import keras
import numpy as np
import pytest
from finder_models import classifier, data, poisoned_classifier, regressor, state

from hw2.range_test import WEIGHT_CHECK_EVERY, LRRangeTestResult, lr_range_test
from hw2.suggest import valley_index
from hw2.training import epoch_order, fit_with_batch_policy, weights_are_finite


def pretrained(seed=0, bn=True):
    keras.utils.set_random_seed(seed)
    model = classifier(bn=bn)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    x, y = data()
    fit_with_batch_policy(model, x, y, policy=32, epochs=1)  # iterations, moments, BN statistics move
    return model


def test_range_test_of_a_model_with_gradient_accumulation_trains_its_inner_optimizer_per_batch():
    from hw2.accumulation import GradientAccumulation

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
    with pytest.raises(ValueError, match=r"Argument `x` must be an array of finite numbers\. Received: x=.*"
                                         r"1 NaN/inf value\(s\), the first at index \(5, 2\)"):
        lr_range_test(model, nan_x, y)
    with pytest.raises(ValueError, match=r"`x` and `y` must be of the same length.*len\(x\)=128, len\(y\)=127"):
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
    with pytest.raises(ValueError, match=rf"^Argument `y` must be integer class labels in \[0, 3\)\. "
                                         rf"Received: y with {shown} at index 12$"):
        lr_range_test(model, x, bad)
    assert len(lr_range_test(model, x, y.astype("float32"), steps=2).lrs) == 2  # whole-number floats are labels


# ------------------------------------------------------------------ fastai's lr_find window


def fastai_lr_find(lrs, smoothed, num_it, rule):
    """fastai's ``Learner.lr_find`` after its fit, transcribed (fastai/callback/schedule.py): the
    recorder's ``lrs``/``losses`` sliced ``[num_it//10:-5]``, cut at their first NaN, then the rule.
    fastai's ``LRFinder`` does not stop on a NaN loss, so a curve ending in NaN goes on to ``num_it``."""
    lrs, losses = list(lrs), list(smoothed)
    if np.isnan(losses[-1]):
        lrs += [math.nan] * (num_it - len(lrs))
        losses += [math.nan] * (num_it - len(losses))
    lrs, losses = np.array(lrs[num_it // 10:-5]), np.array(losses[num_it // 10:-5])
    nan = np.flatnonzero(np.isnan(losses))
    if nan.size:
        lrs, losses = lrs[:nan[0]], losses[:nan[0]]
    if rule == "steep":
        return float(lrs[np.argmin(np.diff(losses) / np.diff(np.log(lrs)))])
    if rule == "minimum":
        return float(lrs[np.argmin(losses)] / 10)
    return float(lrs[valley_index(losses)])  # fastai's valley, one point later (hw2.suggest.valley_index)


def hand_test(smoothed, steps, reason="completed", start_lr=1e-4, end_lr=1.0):
    smoothed = np.asarray(smoothed, dtype=float)
    lrs = start_lr * (end_lr / start_lr) ** (np.arange(len(smoothed)) / (steps - 1))
    return LRRangeTestResult(lrs, smoothed.copy(), smoothed, reason != "completed", reason,
                             int(np.nanargmin(smoothed)), steps, 16, start_lr, end_lr, 0.98, 4.0)


def test_early_stopped_test_is_trimmed_by_its_planned_steps_as_fastai():
    # 40 of 100 planned steps, then exploded: fastai reads steps 10..34 (num_it // 10 = 10 planned
    # steps, not 40 // 10 = 4 recorded ones). The steepest fall overall (step 4 to 5) lies in steps
    # 4-9, the steepest in fastai's window is step 19 to 20; the minimum before the explosion is step 38.
    smoothed = np.concatenate([np.full(5, 2.3), [1.5], np.linspace(1.49, 1.40, 14), [1.0],
                               np.linspace(0.99, 0.9, 18), [9.0]])
    test = hand_test(smoothed, steps=100, reason="exploded")
    assert test.fastai_skips() == (10, 5)
    for rule in ("steep", "minimum", "valley"):
        s = test.suggest(rule)
        assert s.reliable and s.evidence["curve_start"] == 10 and s.evidence["curve_end"] == 35
        assert s.value == fastai_lr_find(test.lrs, test.smoothed, 100, rule), rule
    assert test.suggest("steep").index == 19  # 4 with the old skip of len // 10 recorded points
    assert test.suggest("minimum").value == test.lrs[34] / 10  # 38 untrimmed, as before


def test_short_test_is_trimmed_as_fastai():
    # 15 steps (< 20: the old code trimmed nothing): fastai reads steps 1..9, for minimum too
    smoothed = np.concatenate([[2.3], np.linspace(2.2, 1.0, 9), [0.9, 0.5, 0.4, 0.35, 0.3]])
    test = hand_test(smoothed, steps=15)
    assert test.fastai_skips() == (1, 5)
    for rule in ("steep", "minimum", "valley"):
        s = test.suggest(rule)
        assert s.reliable and (s.evidence["curve_start"], s.evidence["curve_end"]) == (1, 10)
        assert s.value == fastai_lr_find(test.lrs, test.smoothed, 15, rule), rule
    assert test.suggest("minimum").value == test.lrs[9] / 10  # not the last step's (the loss fell on)
    assert test.suggest("default").evidence["curve_end"] == 15  # the default rule reads every step


def test_nan_stop_is_cut_at_the_nan_as_fastai():
    # fastai's LRFinder records NaN on to num_it, so its "-5" falls in the NaN: it reads steps 10..38
    smoothed = np.concatenate([np.linspace(2.3, 2.0, 36), [1.0, 0.9, 0.85], [np.nan]])
    test = hand_test(smoothed, steps=100, reason="non-finite")
    assert test.fastai_skips() == (10, 0)
    for rule in ("steep", "minimum", "valley"):
        s = test.suggest(rule)
        assert s.reliable and (s.evidence["curve_start"], s.evidence["curve_end"]) == (10, 39)
        assert s.value == fastai_lr_find(test.lrs, test.smoothed, 100, rule), rule
    assert test.suggest("steep").index == 35


def test_fastai_window_of_fewer_than_two_points_is_unreliable_not_an_error():
    test = hand_test(np.linspace(2.3, 1.0, 12), steps=100, reason="exploded")  # window: steps 10..6
    for rule in ("steep", "minimum", "valley"):
        s = test.suggest(rule)
        assert not s.reliable and "fewer than two points" in s.evidence["reason"]
    with pytest.raises(ValueError, match="skip_end"):  # skips passed by the caller are checked as before
        test.suggest("steep", skip_start=10, skip_end=1)


def test_a_thinned_stored_curve_is_trimmed_at_the_same_steps():
    whole = hand_test(np.linspace(2.3, 1.0, 100), steps=100)
    keep = np.unique(np.linspace(0, 99, 34).astype(int))
    thin = LRRangeTestResult.from_dict(dict(whole.to_dict(), lrs=whole.lrs[keep], losses=whole.losses[keep],
                                            smoothed=whole.smoothed[keep]))
    np.testing.assert_array_equal(thin.step_indices(), keep)
    assert thin.fastai_skips() == (int(np.sum(keep < 10)), int(np.sum(keep >= 95)))
    assert thin.suggest("minimum").value == whole.lrs[keep[keep < 95][-1]] / 10


def test_real_early_stopped_test_matches_fastais_window():
    keras.utils.set_random_seed(0)
    linear = regressor()
    linear.compile(optimizer="sgd", loss="mse")
    x, _ = data()
    result = lr_range_test(linear, x, (x[:, 0] * 3).astype("float32"), start_lr=1e-4, end_lr=1e6, steps=200,
                           batch_size=16)
    assert result.stopped_early and 25 < len(result.lrs) < 200
    np.testing.assert_array_equal(result.step_indices(), np.arange(len(result.lrs)))
    for rule in ("steep", "minimum", "valley"):
        assert result.suggest(rule).value == fastai_lr_find(result.lrs, result.smoothed, 200, rule), rule
