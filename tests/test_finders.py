"""LR range test, LR sweep, batch-size sweep/finder and the suggestion rules."""

import os
import tempfile

import keras
import numpy as np
import pytest

from hw2.finders import (
    BATCH_FINDER_DOT,
    BATCH_FINDER_STEPS,
    LRRangeTestResult,
    LRSweepResult,
    batch_size_finder,
    batch_size_sweep,
    lr_range_test,
    lr_sweep,
    suggest_batch_size,
    suggest_lr,
)
from hw2.training import fit_with_batch_policy


def classifier(bn=False):
    layers = [keras.Input((6,)), keras.layers.Dense(8)]
    if bn:
        layers.append(keras.layers.BatchNormalization())
    layers += [keras.layers.Activation("relu"), keras.layers.Dense(3, activation="softmax")]
    return keras.Sequential(layers)


def regressor():
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])


def data(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("int64") + (x[:, 1] > 1).astype("int64")


def state(model):
    return ([np.array(v.numpy()) for v in model.variables],
            [np.array(v.numpy()) for v in model.optimizer.variables])


# ------------------------------------------------------------------------------- range test


def pretrained(seed=0):
    keras.utils.set_random_seed(seed)
    model = classifier(bn=True)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    x, y = data()
    fit_with_batch_policy(model, x, y, policy=32, epochs=1)  # iterations, moments, BN statistics move
    return model


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


def test_range_test_rejects_bad_arguments():
    x, y = data()
    with pytest.raises(ValueError, match="compiled"):
        lr_range_test(classifier(), x, y)
    model = pretrained()
    for kwargs, match in [({"start_lr": 1.0, "end_lr": 0.1}, "start_lr"), ({"beta": 1.0}, "beta"),
                          ({"epochs": 1, "steps": 5}, "at most one"), ({"stop_factor": 1.0}, "stop_factor"),
                          ({"batch_size": 1000}, "batch_size"), ({"steps": 1}, "steps")]:
        with pytest.raises(ValueError, match=match):
            lr_range_test(model, x, y, **kwargs)


# ------------------------------------------------------------------------------------ LR sweep


def test_lr_sweep_same_start_divergence_recorded_and_sweep_continues():
    x, _ = data(n=64)
    target = (x @ np.arange(1, 7)).astype("float32")
    sweep = lr_sweep(regressor, x, target, learning_rates=[1e-9, 1e-2, 1e-2, 1e8], epochs=3,
                     batch_size=16, loss="mse", metrics=())
    assert isinstance(sweep, LRSweepResult) and sweep.losses.shape == (4, 3)
    # a negligible learning rate keeps the initial loss: every run starts from the same weights
    np.testing.assert_allclose(sweep.losses[0], sweep.initial_loss, rtol=1e-4)
    # identical settings give identical runs: weights, optimizer state and data order were reset
    np.testing.assert_array_equal(sweep.losses[1], sweep.losses[2])
    assert sweep.losses[1, -1] < sweep.initial_loss
    assert sweep.diverged.tolist() == [False, False, False, True]
    assert sweep.diverged_epoch.tolist()[:3] == [-1, -1, -1] and sweep.diverged_epoch[3] >= 0
    assert np.isnan(sweep.losses[3, sweep.diverged_epoch[3]:]).all()
    assert np.isinf(sweep.final_losses[3])
    assert set(sweep.to_dict()) >= {"learning_rates", "losses", "diverged", "initial_loss"}
    keep = [0, 1, 3]
    suggestion = suggest_lr(sweep.learning_rates[keep], sweep.final_losses[keep], reference=sweep.initial_loss)
    assert suggestion.high == 1e-2 and suggestion.evidence["curve_end"] == 2


def test_lr_sweep_rejects_bad_arguments():
    x, y = data(n=64)
    with pytest.raises(ValueError, match="learning_rates"):
        lr_sweep(classifier, x, y, learning_rates=[0.1, -1.0])
    with pytest.raises(ValueError, match="epochs"):
        lr_sweep(classifier, x, y, epochs=0)
    with pytest.raises(ValueError, match="optimizer"):
        lr_sweep(classifier, x, y, learning_rates=[0.1], epochs=1, optimizer=42)


# ---------------------------------------------------------------------------- LR suggestions


def synthetic_curve():
    """A range-test-like curve: flat, a smooth descent, a minimum, then divergence."""
    lrs = np.logspace(-6, 1, 71)
    t = np.log10(lrs)
    losses = 2.3 - 2.0 / (1 + np.exp(-3 * (t + 3))) + 0.8 * np.maximum(0, t + 0.5) ** 2
    losses[t > 0.6] = np.nan
    return lrs, losses


def test_default_lr_rule_reads_fractions_of_the_drop():
    lrs, losses = synthetic_curve()
    s = suggest_lr(lrs, losses)
    finite = losses[: int(np.argmax(np.isnan(losses)))]
    i_min = int(np.argmin(finite))
    reference = np.median(finite[: len(finite) // 20])
    assert s.evidence["reference_loss"] == reference
    drop = (reference - finite) / (reference - finite[i_min])
    i_lo, i_hi = int(np.argmax(drop >= 0.1)), int(np.argmax(drop >= 0.9))
    assert (s.low_index, s.high_index, s.index) == (i_lo, i_hi, i_hi)
    assert s.lr_min == lrs[i_lo] and s.lr_max == lrs[i_hi] == s.value and s.reliable
    assert s.lr_min < s.lr_max < lrs[i_min]
    assert s.evidence["min_index"] == i_min and s.evidence["curve_end"] == len(finite)
    assert s.evidence["slope_high"] < 0  # still descending at lr_max
    assert s.to_dict()["high"] == s.lr_max


def test_default_lr_rule_on_a_coarse_grid_and_a_flat_curve():
    lrs = np.logspace(-4, 0, 5)
    s = suggest_lr(lrs, [2.3, 2.3, 0.5, 0.4, np.nan])
    assert s.high_index == 2 and s.low_index == 1  # the fall happened between two grid points
    flat = suggest_lr(lrs, [2.3, 2.3, 2.3, 2.3, 2.3])
    assert not flat.reliable and "never fell" in flat.evidence["reason"]


def test_fastai_rules():
    lrs, losses = synthetic_curve()
    steep = suggest_lr(lrs, losses, "steep")
    finite = losses[: int(np.argmax(np.isnan(losses)))]
    slopes = np.diff(finite) / np.diff(np.log(lrs[: len(finite)]))
    assert steep.index == int(np.argmin(slopes)) and steep.value == lrs[steep.index]
    valley = suggest_lr(lrs, losses, "valley")
    i_min = int(np.argmin(finite))
    assert 0 < valley.index < i_min and lrs[valley.index] == valley.value
    assert steep.low is None and valley.high is None
    minimum = suggest_lr(lrs, losses, "minimum")
    assert minimum.value == pytest.approx(lrs[i_min] / 10)
    trimmed = suggest_lr(lrs, losses, "steep", skip_start=40)
    assert trimmed.index >= 40  # indices refer to the curve as passed in


@pytest.mark.parametrize("args,kwargs,match", [
    (([1e-3, 1e-2], [1.0, 0.5]), {"rule": "best"}, "rule"),
    (([1e-2, 1e-3], [1.0, 0.5]), {}, "increasing"),
    (([1e-3, 1e-2], [1.0]), {}, "same length"),
    (([1e-3, 1e-2], [1.0, 0.5]), {"fractions": (0.9, 0.1)}, "fractions"),
])
def test_suggest_lr_rejects_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        suggest_lr(*args, **kwargs)


# --------------------------------------------------------------------------- batch-size finder


def test_batch_rule_reads_from_the_largest_batch_down():
    sizes = [32, 64, 128, 256, 512, 1024]
    s = suggest_batch_size(sizes, [np.nan, 0.40, 0.42, 0.55, 1.20, 2.0], reference=2.3)
    assert (s.b_min, s.b_max, s.low_index, s.high_index) == (256, 1024, 3, 5)
    assert s.evidence["curve_start"] == 1  # batch sizes up to the diverged one are excluded
    same = suggest_batch_size([64, 128], [0.4, 2.2], reference=2.3)
    assert (same.b_min, same.b_max) == (64, 128)
    flat = suggest_batch_size([64, 128], [2.3, 2.3], reference=2.3)
    assert not flat.reliable
    with pytest.raises(ValueError, match="rule"):
        suggest_batch_size([64, 128], [1.0, 2.0], rule="valley")


def test_batch_size_sweep_budgets_and_shared_start():
    x, y = data(n=64)
    by_epochs = batch_size_sweep(classifier, x, y, lr=1e-9, batch_sizes=(8, 16, 32), epochs=2)
    assert by_epochs.steps.tolist() == [16, 8, 4] and by_epochs.epochs_run.tolist() == [2, 2, 2]
    # nothing is learned at lr=1e-9, so every run shows the shared initial weights' loss
    np.testing.assert_allclose(by_epochs.final_losses, by_epochs.initial_loss, rtol=1e-4)
    by_steps = batch_size_sweep(classifier, x, y, lr=0.1, batch_sizes=(8, 16, 32), budget="steps", steps=6)
    assert by_steps.steps.tolist() == [6, 6, 6] and by_steps.epochs_run.tolist() == [0.75, 1.5, 3.0]
    assert by_steps.losses.shape == (3, 3) and np.isnan(by_steps.losses[0, 1:]).all()


def test_batch_size_sweep_accumulation_matches_real_batches():
    x, y = data(n=64)
    kwargs = {"lr": 0.3, "batch_sizes": (8, 16, 32), "epochs": 2, "metrics": ()}
    real = batch_size_sweep(classifier, x, y, **kwargs)
    accumulated = batch_size_sweep(classifier, x, y, micro_batch=8, **kwargs)
    np.testing.assert_allclose(accumulated.final_losses, real.final_losses, rtol=1e-4)
    assert accumulated.micro_batch == 8 and accumulated.steps.tolist() == real.steps.tolist()


def test_batch_size_finder_and_diagram():
    x, y = data(n=64)
    found = batch_size_finder(classifier, x, y, lr=0.5, batch_sizes=(8, 16, 32), epochs=2)
    s = found.suggestion
    assert s.b_min <= s.b_max and s.b_min in (8, 16, 32) and s.b_max in (8, 16, 32)
    assert set(found.to_dict()) == {"sweep", "suggestion"}
    assert BATCH_FINDER_DOT.startswith("digraph") and BATCH_FINDER_DOT.count("->") == len(BATCH_FINDER_STEPS) - 1
    for name, _ in BATCH_FINDER_STEPS:
        assert f"  {name} [label=" in BATCH_FINDER_DOT


def test_batch_size_sweep_rejects_bad_arguments():
    x, y = data(n=64)
    for kwargs, match in [({"budget": "samples"}, "budget"), ({"batch_sizes": (8, 128)}, "batch_sizes"),
                          ({"micro_batch": 12, "batch_sizes": (8, 16, 32)}, "micro_batch"),
                          ({"lr": 0.0}, "lr"), ({"steps": 4}, "steps")]:
        args = {"lr": 0.1, "batch_sizes": (8, 16), **kwargs}
        with pytest.raises(ValueError, match=match):
            batch_size_sweep(classifier, x, y, **args)


def test_plot_helpers_accept_suggestions_and_their_dicts():
    import matplotlib

    matplotlib.use("Agg")
    from hw2 import plotting

    lrs, losses = synthetic_curve()
    fig, (ax1, ax2, ax3) = plotting.new_figure(3)
    for rule in ("default", "valley"):
        s = suggest_lr(lrs, losses, rule)
        plotting.plot_suggestion(ax1, s, lrs, losses)
        plotting.plot_suggestion(ax1, s.to_dict(), lrs, losses)
    labels = ax1.get_legend_handles_labels()[1]
    assert labels[0].startswith("default: [") and labels[2].startswith("valley: ")
    grid = np.array([[2.3, 2.3], [1.5, 1.0], [np.nan, np.nan]])
    plotting.plot_sweep_epochs(ax2, [1e-4, 1e-2, 1.0], grid, diverged=[False, False, True])
    assert "diverged" in ax2.get_legend_handles_labels()[1]
    plotting.plot_batch_finder_diagram(ax3)
    assert {text for _, text in BATCH_FINDER_STEPS} <= {t.get_text() for t in ax3.texts}
    matplotlib.pyplot.close(fig)
