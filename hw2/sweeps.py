"""Sweeps: one short training run per learning rate or per batch size, all from the same start.

* :func:`lr_sweep` -- the homework's version of the LR finder: one short training per learning
  rate, every run from the same initial weights, optimizer state and data order.
* :func:`batch_size_sweep` / :func:`batch_size_finder` -- the "Keras Batch Finder": at a fixed
  learning rate, one short training per batch size (powers of two), same initial weights; its
  steps are :data:`BATCH_FINDER_STEPS`.

Bounds are read off the curves by :mod:`hw2.suggest` (each result's ``suggest``). A run whose loss
or weights stop being finite is marked diverged (checked once per epoch); the sweep goes on.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable

import keras
import numpy as np

from hw2 import accumulation, training
from hw2._checks import argument_error, check_choice, check_increasing, check_int, check_positive
from hw2.progress import progress_bar
from hw2.store import StoredFields
from hw2.suggest import Suggestion, suggest_batch_size, suggest_lr

DEFAULT_SWEEP_LRS = tuple(float(v) for v in np.logspace(-9, 1, 10))
DEFAULT_BATCH_SIZES = tuple(2**k for k in range(6, 14))  # 64 ... 8192
BUDGETS = ("epochs", "steps")


def _make_optimizer(optimizer, learning_rate: float):
    if callable(optimizer) and not isinstance(optimizer, keras.optimizers.Optimizer):
        return optimizer(learning_rate)
    if isinstance(optimizer, str):
        return keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    raise argument_error("optimizer", "an optimizer name ('sgd', 'adam', ...) or a callable learning_rate -> optimizer",
                         optimizer)


class _Runs:
    """One model and one optimizer, reset to the same initial state before every run.

    Rebuilding per run would recompile per run (tens of seconds under XLA); restoring every model
    variable (weights, batch-norm statistics, dropout seeds) and every optimizer variable instead
    reuses the compiled train step and makes runs differ only in what the caller changes.
    """

    def __init__(self, build_model, optimizer, learning_rate, loss, metrics, seed, accumulate: bool = False):
        keras.utils.set_random_seed(int(seed))
        self.model = build_model()
        opt = _make_optimizer(optimizer, learning_rate)
        if accumulate:  # one compiled train step for every batch size (a variable accumulation count)
            opt = accumulation.GradientAccumulation(opt)
        self.model.compile(optimizer=opt, loss=loss, metrics=list(metrics))
        self.model.optimizer.build(self.model.trainable_variables)
        self.model_state = [np.array(v.numpy()) for v in self.model.variables]
        self.optimizer_state = [np.array(v.numpy()) for v in self.model.optimizer.variables]

    def reset(self, learning_rate=None, model_state=None):
        for variable, value in zip(self.model.variables, model_state or self.model_state):
            variable.assign(value)
        for variable, value in zip(self.model.optimizer.variables, self.optimizer_state):
            variable.assign(value)
        if learning_rate is not None:
            self.model.optimizer.learning_rate.assign(float(learning_rate))
        return self.model


@dataclasses.dataclass
class LRSweepResult(StoredFields):
    """Per-epoch training loss of one short run per learning rate.

    Attributes:
        learning_rates: the learning rates (L,).
        losses: (L, epochs) training loss per epoch; NaN after a run diverged (the diverging epoch
            itself holds its non-finite value as NaN or inf).
        accuracy: (L, epochs) training accuracy (NaN where not run), if the model reports it.
        val_losses: (L, epochs) validation loss, or None.
        diverged: (L,) whether the run hit a non-finite loss or non-finite weights.
        diverged_epoch: (L,) the epoch it did (-1: never).
        initial_loss: loss of the common initial weights on the training data.
        seconds: (L,) wall time of each run.
        epochs, batch_size: the settings.
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    accuracy: np.ndarray
    val_losses: np.ndarray | None
    diverged: np.ndarray
    diverged_epoch: np.ndarray
    initial_loss: float
    seconds: np.ndarray
    epochs: int
    batch_size: int

    @property
    def final_losses(self) -> np.ndarray:
        """Last-epoch training loss per learning rate (inf for diverged runs)."""
        return np.where(self.diverged, np.inf, self.losses[:, -1])

    def suggest(self, rule: str = "default", **kwargs) -> Suggestion:
        """:func:`suggest_lr` on the last-epoch losses, reference = the initial loss."""
        if rule == "default":
            kwargs.setdefault("reference", self.initial_loss)
        return suggest_lr(self.learning_rates, self.final_losses, rule, **kwargs)



def lr_sweep(build_model: Callable[[], keras.Model], x, y, *, learning_rates=DEFAULT_SWEEP_LRS,
             epochs: int = 5, batch_size: int = 64, optimizer="sgd",
             loss="sparse_categorical_crossentropy", metrics=("accuracy",), seed: int = 0,
             validation_data=None, callbacks=None, progress: bool = False) -> LRSweepResult:
    """Train from the same initial weights for ``epochs`` epochs at each learning rate.

    Every run starts from the weights ``build_model()`` produced under ``seed``, with a fresh
    optimizer state and the same per-epoch data order (:func:`hw2.training.epoch_order`, full batches
    only). A run whose loss or weights become non-finite (weights checked once per epoch) stops there
    and is marked diverged; the sweep goes on.

    Example:
        >>> build = lambda: keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        >>> rng = np.random.default_rng(0)
        >>> x = rng.random((256, 4), dtype="float32")
        >>> y = x @ np.array([1.0, 2.0, 3.0, 4.0], dtype="float32")
        >>> sweep = lr_sweep(build, x, y, learning_rates=[1e-3, 1e-1, 1e3], epochs=2, batch_size=32,
        ...                  loss="mse", metrics=())
        >>> sweep.losses.shape, sweep.diverged.tolist()
        ((3, 2), [False, False, True])
        >>> bool(sweep.final_losses[1] < sweep.initial_loss)
        True

    Args:
        build_model: returns an uncompiled Keras model (called once, under ``seed``).
        x, y: training arrays of the same length, finite; class labels in ``[0, output width)`` for a
            sparse categorical cross-entropy ``loss`` (checked once the model is built).
        learning_rates: strictly increasing, finite learning rates > 0 (default 10 log-spaced in [1e-9, 10]).
        epochs: epochs per run.
        batch_size: batch size of every run, an integer in [1, N].
        optimizer: a Keras optimizer name or a callable ``learning_rate -> optimizer``; it is built
            once and its learning rate assigned per run, so its learning rate must be a float.
        loss, metrics: passed to ``compile``.
        seed: initial weights and data order.
        validation_data: optional ``(x_val, y_val)``, checked as ``x, y`` are.
        callbacks: extra Keras callbacks for every run (e.g. :class:`hw2.training.EpochLogger`).
        progress: a tqdm bar over the runs on standard error.
    """
    # an inf or out-of-order rate would only fail later, in .suggest()
    lrs = np.asarray(check_increasing("learning_rates", learning_rates, low=0, inclusive="neither"), dtype=np.float64)
    epochs = check_int("epochs", epochs, low=1)
    x, y = training.check_training_arrays(x, y)
    batch_size = training.check_batch_size(batch_size, len(x))
    runs = _Runs(build_model, optimizer, float(lrs[0]), loss, metrics, seed)
    # labels need the built model (its loss and output width); checked before the initial-loss evaluation
    training.check_class_labels(runs.model, y)
    validation_data = training.check_validation_data(validation_data, runs.model)
    initial_loss = _initial_loss(runs.model, x, y, batch_size)
    shape = (len(lrs), int(epochs))
    losses, accuracy = np.full(shape, np.nan), np.full(shape, np.nan)
    val_losses = np.full(shape, np.nan) if validation_data is not None else None
    diverged, diverged_epoch = np.zeros(len(lrs), bool), np.full(len(lrs), -1)
    seconds = np.zeros(len(lrs))
    bar = progress_bar(len(lrs), progress, "LR sweep")
    for i, lr in enumerate(lrs):
        model = runs.reset(learning_rate=lr)
        start = time.perf_counter()
        history = training.fit_with_batch_policy(model, x, y, policy=int(batch_size), epochs=int(epochs),
                                                 seed=seed, validation_data=validation_data, callbacks=callbacks)
        seconds[i] = time.perf_counter() - start
        _fill_row(i, history, losses, accuracy, val_losses, diverged, diverged_epoch)
        bar.update(1)
    bar.close()
    return LRSweepResult(learning_rates=lrs, losses=losses, accuracy=accuracy, val_losses=val_losses,
                         diverged=diverged, diverged_epoch=diverged_epoch, initial_loss=initial_loss,
                         seconds=seconds, epochs=int(epochs), batch_size=int(batch_size))


def _initial_loss(model, x, y, batch_size) -> float:
    n = (len(x) // batch_size) * batch_size
    result = model.evaluate(x[:n], y[:n], batch_size=batch_size, verbose=0, return_dict=True)
    return float(result["loss"])


def _fill_row(i, history, losses, accuracy, val_losses, diverged, diverged_epoch):
    run = np.asarray(history["loss"], dtype=np.float64)
    losses[i, : len(run)] = np.where(np.isfinite(run), run, np.nan)
    if "accuracy" in history:
        accuracy[i, : len(run)] = history["accuracy"]
    if val_losses is not None and "val_loss" in history:
        val_losses[i, : len(run)] = history["val_loss"]
    bad = np.flatnonzero(~np.isfinite(run))
    if len(bad):
        diverged[i] = True
        diverged_epoch[i] = int(bad[0])


# ------------------------------------------------------------------------------ batch-size finder

#: The batch-size finder, step by step: actions ``(name, text)`` and one decision
#: ``(name, text, branches)`` whose ``branches`` map "yes" and "no" to the step each leads to (the
#: loop over the batch sizes). The one source of its block diagram
#: (:func:`hw2.plotting.plot_block_diagram`) and of the steps listed on the report's page.
BATCH_FINDER_STEPS = (
    ("fix", "Fix the learning rate, the initial weights and the data order"),
    ("grid", "Batch sizes B = bmin_search, 2 bmin_search, ..., bmax_search"),
    ("train", "Next batch size B: reset to the initial weights and the data order;\n"
              "train for the budget (same epochs or same updates;\n"
              "accumulate micro-batch gradients above the micro-batch)"),
    ("record", "Record the training loss per epoch;\nnon-finite loss or weights: B diverged"),
    ("more", "Another batch\nsize left?", {"yes": "train", "no": "curve"}),
    ("curve", "drop(B) = (initial loss - loss(B)) / (initial loss - best loss)\n"
              "(B at or below the largest diverged B left out)"),
    ("suggest", "From the largest B down: b_max = first B with drop >= 0.1,\n"
                "b_min = first B with drop >= 0.9"),
    ("use", "Train with a cyclical batch size in [b_min, b_max]"),
)


@dataclasses.dataclass
class BatchSweepResult(StoredFields):
    """Training loss of one run per batch size at a fixed learning rate.

    Attributes:
        batch_sizes: the batch sizes (K,).
        losses: (K, max epochs) training loss per epoch (NaN where not run / after divergence).
        accuracy: (K, max epochs) training accuracy.
        final_losses: (K,) last recorded epoch's loss (inf for diverged runs).
        diverged: (K,) whether the run hit a non-finite loss or non-finite weights.
        steps: (K,) optimizer updates made.
        epochs_run: (K,) epochs (or part epochs) run.
        seconds: (K,) wall time; images_per_second: (K,) training throughput.
        initial_loss: the loss of the common initial weights.
        lr, budget, epochs, micro_batch: the settings.
    """

    batch_sizes: np.ndarray
    losses: np.ndarray
    accuracy: np.ndarray
    final_losses: np.ndarray
    diverged: np.ndarray
    steps: np.ndarray
    epochs_run: np.ndarray
    seconds: np.ndarray
    images_per_second: np.ndarray
    initial_loss: float
    lr: float
    budget: str
    epochs: int
    micro_batch: int | None

    def suggest(self, rule: str = "default", **kwargs) -> Suggestion:
        """:func:`suggest_batch_size` on the final losses, reference = the initial loss."""
        kwargs.setdefault("reference", self.initial_loss)
        return suggest_batch_size(self.batch_sizes, self.final_losses, rule, **kwargs)



def batch_size_sweep(build_model: Callable[[], keras.Model], x, y, *, lr: float,
                     batch_sizes=DEFAULT_BATCH_SIZES, budget: str = "epochs", epochs: int = 5,
                     steps: int | None = None, micro_batch: int | None = None, optimizer="sgd",
                     loss="sparse_categorical_crossentropy", metrics=("accuracy",), seed: int = 0,
                     callbacks=None, progress: bool = False) -> BatchSweepResult:
    """Train from the same initial weights at learning rate ``lr`` once per batch size.

    Budgets: ``"epochs"`` gives every batch size ``epochs`` epochs -- the same number of samples,
    so a batch twice as large makes half as many updates. ``"steps"`` gives every batch size the
    same number of optimizer updates, ``steps`` (default ``epochs * (N // max(batch_sizes))``: the
    largest batch gets ``epochs`` epochs, smaller ones fewer). Batch sizes above ``micro_batch`` are
    reached by gradient accumulation (batch-norm statistics then come from micro-batches; see
    :mod:`hw2.training`).

    Example:
        >>> build = lambda: keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        >>> x, y = np.random.rand(256, 4).astype("float32"), np.random.randint(0, 3, 256)
        >>> sweep = batch_size_sweep(build, x, y, lr=0.5, batch_sizes=(16, 32, 64), epochs=2)
        >>> sweep.steps.tolist()
        [32, 16, 8]

    Args:
        build_model: returns an uncompiled Keras model (called under ``seed``).
        x, y: training arrays of the same length, finite; class labels as in :func:`lr_sweep`.
        lr: the fixed learning rate, finite and > 0.
        batch_sizes: strictly increasing integer batch sizes (default 64 ... 8192), each in [1, N].
        budget: ``"epochs"`` or ``"steps"``.
        epochs: epochs per run (``"epochs"``) or the default step count's base (``"steps"``).
        steps: optimizer updates per run for ``budget="steps"``, an integer >= 1.
        micro_batch: largest batch fed at once; larger batch sizes must be multiples of it.
        optimizer, loss, metrics: as in :func:`lr_sweep`.
        seed: initial weights and data order.
        callbacks: extra Keras callbacks for every run.
        progress: a tqdm bar over the runs on standard error.
    """
    x, y = training.check_training_arrays(x, y)
    n = len(x)
    sizes = np.asarray(check_increasing("batch_sizes", batch_sizes, low=1, high=n, integer=True), dtype=np.int64)
    check_choice("budget", budget, BUDGETS)
    epochs = check_int("epochs", epochs, low=1)
    check_positive("lr", lr)
    micro_batch = int(sizes[0]) if micro_batch is None else check_int("micro_batch", micro_batch, low=1)
    bad = [int(b) for b in sizes if b % micro_batch]
    if bad:
        raise argument_error("micro_batch", "an integer >= 1 dividing every batch size",
                             received=f"micro_batch={micro_batch!r}, batch_sizes not divisible: {bad}")
    if budget == "steps":  # the default is >= 1: the largest batch fits in N
        steps = check_int("steps", steps, low=1) if steps is not None else int(epochs) * (n // int(sizes[-1]))
    elif steps is not None:
        raise argument_error("steps", "None unless budget='steps' (it is only used there)",
                             received=f"budget={budget!r}, steps={steps!r}")

    runs = _Runs(build_model, optimizer, lr, loss, metrics, seed, accumulate=True)
    training.check_class_labels(runs.model, y)  # as in lr_sweep
    initial_loss = _initial_loss(runs.model, x, y, micro_batch)
    epochs_for = [int(epochs) if budget == "epochs" else math.ceil(steps / (n // int(b))) for b in sizes]
    shape = (len(sizes), max(epochs_for))
    losses, accuracy = np.full(shape, np.nan), np.full(shape, np.nan)
    diverged, diverged_epoch = np.zeros(len(sizes), bool), np.full(len(sizes), -1)
    final, n_steps, epochs_run = np.full(len(sizes), np.inf), np.zeros(len(sizes), int), np.zeros(len(sizes))
    seconds, throughput = np.zeros(len(sizes)), np.zeros(len(sizes))
    bar = progress_bar(len(sizes), progress, "batch-size sweep")
    for i, b in enumerate(int(s) for s in sizes):
        model = runs.reset(learning_rate=lr)
        start = time.perf_counter()
        history = training.fit_with_batch_policy(
            model, x, y, policy=b, epochs=epochs_for[i], seed=seed, callbacks=callbacks,
            micro_batch=micro_batch, max_steps=steps if budget == "steps" else None)
        seconds[i] = time.perf_counter() - start
        _fill_row(i, history, losses, accuracy, None, diverged, diverged_epoch)
        n_steps[i] = int(sum(history["steps"]))
        epochs_run[i] = n_steps[i] / (n // b)
        throughput[i] = n_steps[i] * b / max(seconds[i], 1e-9)
        last = float(history["loss"][-1])
        final[i] = last if math.isfinite(last) else np.inf
        bar.update(1)
    bar.close()
    return BatchSweepResult(batch_sizes=sizes, losses=losses, accuracy=accuracy, final_losses=final,
                            diverged=diverged, steps=n_steps, epochs_run=epochs_run, seconds=seconds,
                            images_per_second=throughput, initial_loss=initial_loss, lr=float(lr),
                            budget=budget, epochs=int(epochs), micro_batch=micro_batch)


@dataclasses.dataclass
class BatchFinderResult:
    """A batch-size sweep and the bounds suggested from it."""

    sweep: BatchSweepResult
    suggestion: Suggestion

    def to_dict(self) -> dict:
        return {"sweep": self.sweep.to_dict(), "suggestion": self.suggestion.to_dict()}


def batch_size_finder(build_model: Callable[[], keras.Model], x, y, *, lr: float, rule: str = "default",
                      fractions=(0.1, 0.9), **sweep_kwargs) -> BatchFinderResult:
    """The Keras Batch Finder: :func:`batch_size_sweep` then :func:`suggest_batch_size`.

    The steps are :data:`BATCH_FINDER_STEPS` (drawn by :func:`hw2.plotting.plot_batch_finder_diagram`).

    Example:
        >>> build = lambda: keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        >>> x, y = np.random.rand(256, 4).astype("float32"), np.random.randint(0, 3, 256)
        >>> found = batch_size_finder(build, x, y, lr=0.5, batch_sizes=(16, 32, 64, 128), epochs=2)
        >>> found.suggestion.b_min <= found.suggestion.b_max
        True

    Args:
        build_model, x, y, lr: as in :func:`batch_size_sweep`.
        rule, fractions: as in :func:`suggest_batch_size`.
        **sweep_kwargs: further :func:`batch_size_sweep` arguments (batch_sizes, budget, epochs, ...).
    """
    sweep = batch_size_sweep(build_model, x, y, lr=lr, **sweep_kwargs)
    return BatchFinderResult(sweep, sweep.suggest(rule, fractions=fractions))
