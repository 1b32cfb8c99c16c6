"""LR sweep, batch-size sweep and finder: same start every run, divergence, budgets, inputs."""

import re

import keras
import numpy as np
import pytest
from finder_models import classifier, data, poisoned_classifier, regressor

from hw2.suggest import suggest_lr
from hw2.sweeps import (
    BATCH_FINDER_STEPS,
    LRSweepResult,
    batch_size_finder,
    batch_size_sweep,
    lr_sweep,
)


def momentum(learning_rate):
    return keras.optimizers.SGD(learning_rate, momentum=0.9)


# ------------------------------------------------------------------------------------ LR sweep


def test_lr_sweep_same_start_divergence_recorded_and_sweep_continues():
    x, _ = data(n=64)
    target = (x @ np.arange(1, 7)).astype("float32")
    kwargs = {"epochs": 3, "batch_size": 16, "loss": "mse", "metrics": ()}
    sweep = lr_sweep(regressor, x, target, learning_rates=[1e-9, 1e-3, 1e-2, 1e8], **kwargs)
    assert isinstance(sweep, LRSweepResult) and sweep.losses.shape == (4, 3)
    # a negligible learning rate keeps the initial loss: every run starts from the same weights
    np.testing.assert_allclose(sweep.losses[0], sweep.initial_loss, rtol=1e-4)
    # the run after one that trained equals that rate swept alone: weights, optimizer state and data order were reset
    alone = lr_sweep(regressor, x, target, learning_rates=[1e-2], **kwargs)
    np.testing.assert_allclose(sweep.losses[2], alone.losses[0], rtol=1e-6)
    assert sweep.losses[1, -1] < sweep.initial_loss
    assert sweep.diverged.tolist() == [False, False, False, True]
    assert sweep.diverged_epoch.tolist()[:3] == [-1, -1, -1] and sweep.diverged_epoch[3] >= 0
    assert np.isnan(sweep.losses[3, sweep.diverged_epoch[3]:]).all()
    assert np.isinf(sweep.final_losses[3])
    assert set(sweep.to_dict()) >= {"learning_rates", "losses", "diverged", "initial_loss"}
    keep = [0, 2, 3]
    suggestion = suggest_lr(sweep.learning_rates[keep], sweep.final_losses[keep], reference=sweep.initial_loss)
    assert suggestion.high == 1e-2 and suggestion.evidence["curve_end"] == 2


def test_lr_sweep_resets_the_momentum_between_runs():
    # SGD with momentum 0.9 at rates that train: a run that inherited the previous run's
    # velocity (or iterations) would differ from that rate swept alone
    x, y = data(n=64)
    kwargs = {"epochs": 2, "batch_size": 16, "optimizer": momentum, "metrics": ()}
    sweep = lr_sweep(classifier, x, y, learning_rates=[0.03, 0.05], **kwargs)
    assert sweep.losses[0, -1] < 0.9 * sweep.initial_loss  # it trained
    alone = lr_sweep(classifier, x, y, learning_rates=[0.05], **kwargs)
    np.testing.assert_allclose(sweep.losses[1], alone.losses[0], rtol=1e-6)


def test_lr_sweep_marks_non_finite_weights_as_diverged():
    x, y = data(n=64)
    sweep = lr_sweep(poisoned_classifier, x, y, learning_rates=[1e-3, 1e-2], epochs=3, batch_size=16)
    # the loss stayed finite (about ln 3), the weights did not: each run diverged in its first epoch
    assert np.isfinite(sweep.initial_loss)
    assert sweep.diverged.tolist() == [True, True] and sweep.diverged_epoch.tolist() == [0, 0]
    assert np.isnan(sweep.losses).all() and not sweep.suggest().reliable


def test_lr_sweep_rejects_bad_arguments():
    x, y = data(n=64)
    with pytest.raises(ValueError, match="learning_rates"):
        lr_sweep(classifier, x, y, learning_rates=[0.1, -1.0])
    with pytest.raises(ValueError, match="epochs"):
        lr_sweep(classifier, x, y, epochs=0)
    with pytest.raises(ValueError, match="epochs"):
        lr_sweep(classifier, x, y, epochs=True)
    with pytest.raises(ValueError, match="optimizer"):
        lr_sweep(classifier, x, y, learning_rates=[0.1], epochs=1, optimizer=42)
    for batch_size in (32.0, True):
        with pytest.raises(ValueError, match=rf"^Argument `batch_size` must be an integer .*"
                                             rf"Received: batch_size={batch_size!r}$"):
            lr_sweep(classifier, x, y, learning_rates=[0.1], epochs=1, batch_size=batch_size)
    nan_x = x.copy()
    nan_x[0, 0] = np.nan
    with pytest.raises(ValueError, match="Argument `x` must be an array of finite numbers"):
        lr_sweep(classifier, nan_x, y, learning_rates=[0.1], epochs=1)
    with pytest.raises(ValueError, match="same length"):
        lr_sweep(classifier, x, y[:-1], learning_rates=[0.1], epochs=1)
    with pytest.raises(ValueError, match=r"Argument `validation_data\[0\]` must be an array of finite"):
        lr_sweep(classifier, x, y, learning_rates=[0.1], epochs=1, validation_data=(nan_x, y))


# --------------------------------------------------------------------------- batch-size sweep


def test_batch_size_sweep_budgets_and_shared_start():
    x, y = data(n=64)
    by_epochs = batch_size_sweep(classifier, x, y, lr=1e-9, batch_sizes=(8, 16, 32), epochs=2)
    assert by_epochs.steps.tolist() == [16, 8, 4] and by_epochs.epochs_run.tolist() == [2, 2, 2]
    # nothing is learned at lr=1e-9, so every run shows the shared initial weights' loss
    np.testing.assert_allclose(by_epochs.final_losses, by_epochs.initial_loss, rtol=1e-4)
    by_steps = batch_size_sweep(classifier, x, y, lr=0.1, batch_sizes=(8, 16, 32), budget="steps", steps=6)
    assert by_steps.steps.tolist() == [6, 6, 6] and by_steps.epochs_run.tolist() == [0.75, 1.5, 3.0]
    assert by_steps.losses.shape == (3, 3) and np.isnan(by_steps.losses[0, 1:]).all()


def test_batch_size_sweep_resets_the_momentum_between_runs():
    # every run of a sweep equals that batch size swept alone (a fresh model and optimizer)
    x, y = data(n=64)
    kwargs = {"lr": 0.05, "epochs": 2, "optimizer": momentum, "metrics": ()}
    sweep = batch_size_sweep(classifier, x, y, batch_sizes=(8, 16, 32), **kwargs)
    assert sweep.final_losses[0] < 0.9 * sweep.initial_loss  # it trained
    for i, b in enumerate((16, 32), start=1):
        alone = batch_size_sweep(classifier, x, y, batch_sizes=(b,), **kwargs)
        np.testing.assert_allclose(sweep.losses[i], alone.losses[0], rtol=1e-6)


def test_batch_size_sweep_accumulation_matches_real_batches():
    x, y = data(n=64)
    kwargs = {"lr": 0.3, "batch_sizes": (8, 16, 32), "epochs": 2, "metrics": ()}
    real = batch_size_sweep(classifier, x, y, **kwargs)
    accumulated = batch_size_sweep(classifier, x, y, micro_batch=8, **kwargs)
    np.testing.assert_allclose(accumulated.final_losses, real.final_losses, rtol=1e-4)
    assert accumulated.micro_batch == 8 and accumulated.steps.tolist() == real.steps.tolist()


def test_batch_size_sweep_marks_non_finite_weights_as_diverged():
    x, y = data(n=64)
    sweep = batch_size_sweep(poisoned_classifier, x, y, lr=0.01, batch_sizes=(8, 16), epochs=2)
    assert sweep.diverged.tolist() == [True, True] and np.isinf(sweep.final_losses).all()
    assert not sweep.suggest().reliable


def test_batch_size_finder_and_its_diagram():
    import matplotlib

    matplotlib.use("Agg")
    from hw2 import plotting

    x, y = data(n=64)
    found = batch_size_finder(classifier, x, y, lr=0.5, batch_sizes=(8, 16, 32), epochs=2)
    s = found.suggestion
    assert s.b_min <= s.b_max and s.b_min in (8, 16, 32) and s.b_max in (8, 16, 32)
    assert set(found.to_dict()) == {"sweep", "suggestion"}
    fig, ax = plotting.new_figure()
    plotting.plot_batch_finder_diagram(ax)
    assert {text for _, text, *_ in BATCH_FINDER_STEPS} <= {t.get_text() for t in ax.texts}
    matplotlib.pyplot.close(fig)


def test_batch_size_sweep_rejects_bad_arguments():
    x, y = data(n=64)
    for kwargs, match in [({"budget": "samples"}, "budget"), ({"batch_sizes": (8, 128)}, "batch_sizes"),
                          ({"batch_sizes": (8.5, 16)}, "batch_sizes` must be .* list of integers"),
                          ({"batch_sizes": (True, 16)}, "batch_sizes` must be .* list of integers"),
                          ({"micro_batch": 12, "batch_sizes": (8, 16, 32)}, "micro_batch"),
                          ({"lr": 0.0}, "lr"), ({"lr": True}, "lr"), ({"steps": 4}, "steps"),
                          ({"epochs": 2.5}, "epochs")]:
        args = {"lr": 0.1, "batch_sizes": (8, 16), **kwargs}
        with pytest.raises(ValueError, match=match):
            batch_size_sweep(classifier, x, y, **args)
    nan_y = np.where(np.arange(64) == 3, np.nan, 1.0)
    with pytest.raises(ValueError, match="Argument `y` must be an array of finite numbers"):
        batch_size_sweep(regressor, x, nan_y, lr=0.1, batch_sizes=(8, 16), loss="mse", metrics=())
    with pytest.raises(ValueError, match="same length"):
        batch_size_sweep(classifier, x[:-1], y, lr=0.1, batch_sizes=(8, 16))


def _message(name, requirement, received, verb="be"):
    return "^" + re.escape(f"Argument `{name}` must {verb} {requirement}. Received: {received}") + "$"


def test_sweeps_reject_bad_grids_and_counts_at_the_call():
    # an inf rate or an out-of-order grid used to fail only in .suggest(); steps=2.7 was floored, True was 1
    x, y = data(n=64)
    rates = "a non-empty, strictly increasing list of finite numbers > 0"
    for learning_rates in ([0.1, np.inf], [0.1, 0.01], [0.1, 0.1], []):
        with pytest.raises(ValueError, match=_message("learning_rates", rates, f"learning_rates={learning_rates}")):
            lr_sweep(classifier, x, y, learning_rates=learning_rates, epochs=1)
    sizes = "a non-empty, strictly increasing list of integers in [1, 64]"
    with pytest.raises(ValueError, match=_message("batch_sizes", sizes, "batch_sizes=(16, 8)")):
        batch_size_sweep(classifier, x, y, lr=0.1, batch_sizes=(16, 8))
    with pytest.raises(ValueError, match=_message("lr", "> 0 and finite", "lr=inf")):
        batch_size_sweep(classifier, x, y, lr=np.inf, batch_sizes=(8, 16))
    for steps in (2.7, True, 0):
        with pytest.raises(ValueError, match=_message("steps", "an integer >= 1", f"steps={steps}")):
            batch_size_sweep(classifier, x, y, lr=0.1, batch_sizes=(8, 16), budget="steps", steps=steps)


@pytest.mark.parametrize("label", [7, -1, 0.5])
def test_sweeps_reject_labels_outside_the_models_classes(label):
    # checked once the model is built (its loss and output width), before the initial-loss evaluation
    x, y = data(n=64)
    bad = y.astype(type(label))
    bad[12] = label
    labels = "integer class labels in [0, 3)"
    for name, call in [("y", lambda: lr_sweep(classifier, x, bad, learning_rates=[0.1], epochs=1)),
                       ("validation_data[1]", lambda: lr_sweep(classifier, x, y, learning_rates=[0.1], epochs=1,
                                                               validation_data=(x, bad))),
                       ("y", lambda: batch_size_sweep(classifier, x, bad, lr=0.1, batch_sizes=(8, 16))),
                       ("y", lambda: batch_size_finder(classifier, x, bad, lr=0.1, batch_sizes=(8, 16)))]:
        with pytest.raises(ValueError, match=_message(name, labels, f"{name} with {label} at index 12")):
            call()
    # a regression target is no class label: other losses are not checked
    lr_sweep(regressor, x, bad, learning_rates=[1e-3], epochs=1, loss="mse", metrics=())


def test_plot_sweep_epochs_marks_diverged_runs():
    import matplotlib

    matplotlib.use("Agg")
    from hw2 import plotting

    fig, ax = plotting.new_figure()
    grid = np.array([[2.3, 2.3], [1.5, 1.0], [np.nan, np.nan]])
    plotting.plot_sweep_epochs(ax, [1e-4, 1e-2, 1.0], grid, diverged=[False, False, True])
    assert "diverged" in ax.get_legend_handles_labels()[1]
    matplotlib.pyplot.close(fig)
