"""Fit helpers: full batches only, a batch size per epoch, effective batches by gradient accumulation.

XLA compiles one program per input shape. A partial last batch is a second shape (and on JAX a
recompilation every epoch it changes); a batch size that changes every epoch is a new shape per
epoch. So :func:`fit_with_batch_policy` shuffles each epoch itself, drops the remainder, and fits one
epoch at a time with a batch size taken from a policy whose values are powers of two
(:class:`hw2.schedules.CyclicalBatchSize`): the model compiles at most once per bucket.
:class:`TraceCounter` counts those compilations.

Batch sizes that do not fit in memory are reached with a physical micro-batch and Keras' optimizer
option ``gradient_accumulation_steps`` (:func:`effective_batch_optimizer`): gradients of ``k``
micro-batches are averaged, then applied once, which equals one step on the ``k``-times batch for
models without batch normalization. With batch normalization it does not: each micro-batch is
normalized with its own statistics (a "ghost batch" of the micro-batch size) and the moving
statistics are updated ``k`` times per effective step.

Example:
    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    >>> model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    >>> x, y = np.random.rand(100, 4).astype("float32"), np.random.randint(0, 3, 100)
    >>> history = fit_with_batch_policy(model, x, y, policy=32, epochs=2)
    >>> history["batch_size"], history["steps"]
    ([32, 32], [3, 3])
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable

import keras
import numpy as np
from keras import ops

# ------------------------------------------------------------------------------------ data shapes


def pad_to_32(x) -> np.ndarray:
    """Zero-pad 28x28 images (MNIST, Fashion-MNIST) to 32x32x1, the MiniGoogLeNet input.

    Padding (2 pixels each side) keeps every original pixel unchanged, unlike resizing; the dtype is
    kept, so uint8 stays uint8 (scale afterwards).

    Example:
        >>> pad_to_32(np.ones((5, 28, 28), dtype="uint8")).shape
        (5, 32, 32, 1)
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[1] > 32 or x.shape[2] > 32:
        raise ValueError("Argument `x` must have shape (N, H, W) or (N, H, W, C) with H, W <= 32. "
                         f"Received: x.shape={x.shape}")
    dh, dw = 32 - x.shape[1], 32 - x.shape[2]
    return np.pad(x, ((0, 0), (dh // 2, dh - dh // 2), (dw // 2, dw - dw // 2), (0, 0)))


# ------------------------------------------------------------------------------------ inputs


def check_training_arrays(x, y, names=("x", "y")):
    """``(x, y)`` as numpy arrays, or a one-line ``ValueError`` naming the bad argument.

    Both must hold one row per sample (same length) and only finite numbers: one NaN in ``x``
    turns a ReLU/batch-norm model's weights into NaN while its loss can stay finite, so a finder
    would report a curve from a broken model.

    Example:
        >>> x, y = check_training_arrays(np.zeros((4, 2)), [0, 1, 0, 1])
        >>> check_training_arrays([[0.0, np.nan]], [0])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Argument `x` must contain only finite numbers. Received: x=array of shape (1, 2) ...
    """
    arrays = []
    for name, value in zip(names, (x, y)):
        value = np.asarray(value)
        if value.ndim < 1 or value.dtype.kind not in "biuf":
            raise ValueError(f"Argument `{name}` must be a numeric array with one row per sample. "
                             f"Received: {name} of shape {value.shape}, dtype {value.dtype}")
        if value.dtype.kind == "f":
            bad = ~np.isfinite(value)
            if bad.any():
                first = tuple(int(i) for i in np.argwhere(bad)[0])
                raise ValueError(f"Argument `{name}` must contain only finite numbers. Received: "
                                 f"{name}=array of shape {value.shape} with {int(bad.sum())} NaN/inf "
                                 f"value(s), the first at index {first}")
        arrays.append(value)
    if len(arrays[0]) != len(arrays[1]):
        raise ValueError(f"Arguments `{names[0]}` and `{names[1]}` must have the same length (one label per "
                         f"sample). Received: len({names[0]})={len(arrays[0])}, len({names[1]})={len(arrays[1])}")
    return tuple(arrays)


def check_batch_size(batch_size, n: int, name: str = "batch_size") -> int:
    """``batch_size`` as an int in ``[1, n]``, or a ``ValueError`` (``32.0`` and ``True`` are not sizes).

    Example:
        >>> check_batch_size(32, 100)
        32
        >>> check_batch_size(32.0, 100)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Argument `batch_size` must be an integer in [1, 100] ... Received: batch_size=32.0
    """
    if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, (int, np.integer)) \
            or not 1 <= batch_size <= n:
        raise ValueError(f"Argument `{name}` must be an integer in [1, {n}] (the number of samples). "
                         f"Received: {name}={batch_size!r}")
    return int(batch_size)


def weights_are_finite(model) -> bool:
    """Whether every floating-point variable of ``model`` (weights, batch-norm statistics) is finite.

    One reduction per variable and one transfer to the host: call it per epoch or every few steps,
    not after every batch.

    Example:
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> weights_are_finite(model)
        True
    """
    checks = [ops.all(ops.isfinite(v)) for v in model.variables if "float" in str(v.dtype)]
    return bool(ops.convert_to_numpy(ops.all(ops.stack(checks)))) if checks else True


# ------------------------------------------------------------------------------ effective batch


def effective_batch_optimizer(optimizer, effective_batch: int, micro_batch: int):
    """A fresh copy of ``optimizer`` that applies one update per ``effective_batch // micro_batch`` steps.

    Keras averages the gradients of ``k = effective_batch // micro_batch`` consecutive micro-batches
    and applies them once (``gradient_accumulation_steps=k``; ``k == 1`` means no accumulation).
    The copy is built from ``optimizer.get_config()``, so pass an optimizer that has not trained yet.
    Learning-rate schedules see the micro-step count (Keras' convention).

    Example:
        >>> opt = effective_batch_optimizer(keras.optimizers.SGD(0.1, momentum=0.9), 1024, 256)
        >>> opt.gradient_accumulation_steps, opt.momentum
        (4, 0.9)
        >>> effective_batch_optimizer("sgd", 1000, 64)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Argument `effective_batch` must be a multiple of `micro_batch`. Received: ...

    Args:
        optimizer: an optimizer instance, a name (``"sgd"``) or a zero-argument factory.
        effective_batch: the batch size each update stands for.
        micro_batch: the batch size actually fed to the model.
    """
    for arg, value in (("effective_batch", effective_batch), ("micro_batch", micro_batch)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"Argument `{arg}` must be an integer >= 1. Received: {arg}={value!r}")
    if effective_batch % micro_batch:
        raise ValueError("Argument `effective_batch` must be a multiple of `micro_batch`. "
                         f"Received: effective_batch={effective_batch}, micro_batch={micro_batch}")
    if callable(optimizer) and not isinstance(optimizer, keras.optimizers.Optimizer):
        optimizer = optimizer()
    optimizer = keras.optimizers.get(optimizer)
    if optimizer.built:
        raise ValueError("Argument `optimizer` must not have been used for training yet (its state "
                         "would be lost in the copy). Pass a fresh optimizer or a factory.")
    k = effective_batch // micro_batch
    config = dict(optimizer.get_config(), gradient_accumulation_steps=k if k >= 2 else None)
    return optimizer.__class__.from_config(config)


def fit_effective_batch(model, x, y, *, effective_batch: int, micro_batch: int, epochs: int = 1,
                        seed: int = 0, validation_data=None, callbacks=None) -> dict:
    """Train with updates of ``effective_batch`` samples fed as micro-batches of ``micro_batch``.

    ``model`` must be compiled with ``effective_batch_optimizer(..., effective_batch, micro_batch)``.
    Each epoch uses ``N // effective_batch`` full effective batches, so accumulation groups never
    straddle epochs. Returns the history dict of :func:`fit_with_batch_policy`.

    Example:
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        >>> model.compile(optimizer=effective_batch_optimizer("sgd", 64, 16),
        ...               loss="sparse_categorical_crossentropy")
        >>> x, y = np.random.rand(200, 4).astype("float32"), np.random.randint(0, 3, 200)
        >>> fit_effective_batch(model, x, y, effective_batch=64, micro_batch=16)["steps"]
        [3]
    """
    return fit_with_batch_policy(model, x, y, policy=effective_batch, epochs=epochs, seed=seed,
                                 micro_batch=micro_batch, validation_data=validation_data,
                                 callbacks=callbacks)


# --------------------------------------------------------------------------- batch-size policies


def _policy_fn(policy) -> Callable[[int], int]:
    if isinstance(policy, (int, np.integer)) and not isinstance(policy, bool):
        return lambda epoch: int(policy)
    if callable(policy):
        return policy
    raise ValueError("Argument `policy` must be an int or a callable epoch -> batch size "
                     f"(e.g. hw2.schedules.CyclicalBatchSize). Received: policy={policy!r}")


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The sample order of ``epoch``: a permutation of ``range(n)`` fixed by ``(seed, epoch)``.

    Independent of the batch size and of the model, so runs that differ only in learning rate or
    batch size see the same data in the same order.

    Example:
        >>> epoch_order(5, seed=0, epoch=0).tolist() == epoch_order(5, seed=0, epoch=0).tolist()
        True
    """
    return np.random.default_rng([int(seed), int(epoch)]).permutation(n)


class EpochBatches(keras.utils.PyDataset):
    """Full batches of ``(x, y)`` in the order :func:`epoch_order` fixes for each epoch.

    Epoch ``e`` of a ``fit`` call takes ``epoch_order(n, seed, e)`` and drops the last ``n mod
    batch_size`` samples (a different subset every epoch), so every step has the same shape and two
    models trained with the same seed see the same batches in the same order. Rows within a batch
    are sorted (memory locality; the batch is a set).

    Example:
        >>> data = EpochBatches(np.zeros((10, 2)), np.arange(10), batch_size=4, seed=0)
        >>> len(data), data[0][0].shape
        (2, (4, 2))
        >>> first = data[0][1].tolist(); data.on_epoch_end(); first != data[0][1].tolist()
        True
    """

    def __init__(self, x, y, batch_size: int, seed: int = 0, epoch: int = 0):
        super().__init__()
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or not 1 <= batch_size <= len(x):
            raise ValueError(f"Argument `batch_size` must be an integer in [1, {len(x)}]. "
                             f"Received: batch_size={batch_size!r}")
        if len(x) != len(y):
            raise ValueError(f"Arguments `x` and `y` must have the same length. Received: {len(x)} and {len(y)}")
        self.x, self.y, self.batch_size, self.seed = x, y, int(batch_size), int(seed)
        self.epoch = int(epoch)
        self._order = epoch_order(len(x), self.seed, self.epoch)

    def __len__(self) -> int:
        return len(self.x) // self.batch_size

    def __getitem__(self, index: int):
        rows = np.sort(self._order[index * self.batch_size:(index + 1) * self.batch_size])
        return self.x[rows], self.y[rows]

    def on_epoch_end(self):
        self.epoch += 1
        self._order = epoch_order(len(self.x), self.seed, self.epoch)


class _AddToLogs(keras.callbacks.Callback):
    """Puts fixed values (the epoch's batch size) into the epoch logs before other callbacks see them."""

    def __init__(self, **values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(self.values)


def current_learning_rate(optimizer) -> float:
    """The learning rate the optimizer applies at its current step, as a Python float."""
    return float(ops.convert_to_numpy(optimizer.learning_rate))


def fit_with_batch_policy(model, x, y, policy, epochs: int, *, validation_data=None, seed: int = 0,
                          callbacks=None, micro_batch: int | None = None, max_steps: int | None = None,
                          stop_on_nan: bool = True, validation_batch_size: int = 256) -> dict:
    """Train ``model`` for ``epochs`` epochs, epoch ``e`` with batch size ``policy(e)``, full batches only.

    Each epoch shuffles with :func:`epoch_order` and drops the last ``N mod B`` samples (a different
    subset every epoch, so nothing is left out systematically), then runs one ``model.fit`` epoch
    (``initial_epoch=e``), so the compiled train step is reused for every epoch with the same batch
    size. Give the policy powers of two (:class:`hw2.schedules.CyclicalBatchSize`) to bound the
    number of compilations. Callbacks see ``logs["batch_size"]``; each epoch is its own ``fit``
    call, so callbacks that keep state across ``on_train_begin`` (early stopping) do not apply.

    Args:
        model: a compiled Keras model.
        x, y: training arrays (numpy).
        policy: an int (a constant batch size) or a callable ``epoch -> batch size``.
        epochs: number of epochs (>= 1).
        validation_data: optional ``(x_val, y_val)``, evaluated after every epoch.
        seed: fixes the per-epoch sample order.
        callbacks: Keras callbacks (e.g. :class:`EpochLogger`).
        micro_batch: feed each batch as micro-batches of this size; the optimizer must accumulate
            ``batch_size // micro_batch`` steps (:func:`effective_batch_optimizer`).
        max_steps: stop after this many optimizer updates (the last epoch is cut short).
        stop_on_nan: stop after the first epoch whose loss is not finite (a diverged run). It is
            checked per epoch, not per batch: a per-batch check would make Keras synchronize with
            the device after every step.
        validation_batch_size: one fixed batch size for validation (one shape, compiled once).

    Returns:
        A dict of per-epoch lists: ``epoch``, ``batch_size``, ``steps`` (optimizer updates),
        ``learning_rate`` (at the end of the epoch), ``seconds``, and every Keras log
        (``loss``, ``accuracy``, ``val_loss``, ...).
    """
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"Argument `epochs` must be an integer >= 1. Received: epochs={epochs!r}")
    if getattr(model, "optimizer", None) is None:
        raise ValueError("Argument `model` must be compiled (model.compile(...)) before training.")
    batch_size_at = _policy_fn(policy)
    x, y = np.asarray(x), np.asarray(y)
    n = len(x)
    accumulation = getattr(model.optimizer, "gradient_accumulation_steps", None) or 1
    for callback in callbacks or ():
        if isinstance(callback, EpochLogger) and callback.epochs is None:
            callback.epochs = int(epochs)
    history: dict[str, list] = {"epoch": [], "batch_size": [], "steps": [], "learning_rate": [],
                                "seconds": []}
    updates = 0
    for epoch in range(int(epochs)):
        batch_size = int(batch_size_at(epoch))
        if not 1 <= batch_size <= n:
            raise ValueError(f"The batch-size policy must return values in [1, {n}] (the number of samples). "
                             f"Received: batch_size={batch_size} at epoch {epoch}")
        feed = batch_size if micro_batch is None else int(micro_batch)
        if micro_batch is not None and (batch_size % feed or batch_size // feed != accumulation):
            raise ValueError(
                f"Batch size {batch_size} with `micro_batch={micro_batch}` needs an optimizer with "
                f"gradient_accumulation_steps={batch_size // max(feed, 1)}; it has {accumulation}. "
                "Use hw2.training.effective_batch_optimizer.")
        if micro_batch is None and accumulation != 1:
            raise ValueError("The optimizer accumulates gradients; pass `micro_batch` so that batch "
                             "boundaries line up with its updates.")
        n_batches = n // batch_size
        if max_steps is not None:
            n_batches = min(n_batches, int(max_steps) - updates)
            if n_batches <= 0:
                break
        order = epoch_order(n, seed, epoch)[: n_batches * batch_size]
        epoch_callbacks = [_AddToLogs(batch_size=batch_size), *(callbacks or ())]
        start = time.perf_counter()
        result = model.fit(x[order], y[order], batch_size=feed, epochs=epoch + 1, initial_epoch=epoch,
                           shuffle=False, verbose=0, validation_data=validation_data,
                           validation_batch_size=validation_batch_size, callbacks=epoch_callbacks)
        seconds = time.perf_counter() - start
        updates += n_batches
        history["epoch"].append(epoch)
        history["batch_size"].append(batch_size)
        history["steps"].append(n_batches)
        history["learning_rate"].append(current_learning_rate(model.optimizer))
        history["seconds"].append(seconds)
        for key, values in result.history.items():
            if key in ("batch_size", "learning_rate"):  # recorded above, once per epoch
                continue
            history.setdefault(key, [math.nan] * (len(history["epoch"]) - 1)).append(float(values[-1]))
        if stop_on_nan and not math.isfinite(history["loss"][-1]):
            break
    return history


# ---------------------------------------------------------------------------------- callbacks


class EpochLogger(keras.callbacks.Callback):
    """One concise line per epoch: metrics, learning rate, batch size and wall time.

    Use it with ``verbose=0`` instead of Keras' progress bar. Lines go to ``stream`` (default
    standard error, so they stay out of the report).

    Example:
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        >>> _ = model.fit(np.zeros((8, 2)), np.zeros(8), epochs=1, verbose=0,
        ...               callbacks=[EpochLogger(stream=sys.stdout, show_time=False)])
        epoch 1/1  loss 0  lr 0.01

    Args:
        every: print every ``every``-th epoch (and the last one).
        stream: a file-like object; default ``sys.stderr``.
        prefix: text put before each line (e.g. the run's name).
        epochs: the total number of epochs shown; default Keras' ``params["epochs"]``.
        show_time: print the epoch's wall time.
    """

    def __init__(self, every: int = 1, stream=None, prefix: str = "", epochs: int | None = None,
                 show_time: bool = True):
        super().__init__()
        if every < 1:
            raise ValueError(f"Argument `every` must be >= 1. Received: every={every!r}")
        self.every, self.stream, self.prefix, self.epochs = int(every), stream, prefix, epochs
        self.show_time = show_time
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        total = self.epochs or self.params.get("epochs") or epoch + 1
        if (epoch + 1) % self.every and epoch + 1 != total:
            return
        logs = dict(logs or {})
        batch_size = logs.pop("batch_size", None)
        logs.pop("learning_rate", None)
        keys = sorted(logs, key=lambda k: (k.startswith("val_"), k != "loss" and k != "val_loss"))
        parts = [f"{self.prefix}epoch {epoch + 1}/{total}"]
        parts += [f"{key} {float(logs[key]):.4g}" for key in keys]
        try:
            parts.append(f"lr {current_learning_rate(self.model.optimizer):.3g}")
        except Exception:  # optimizer without a readable learning rate
            pass
        if batch_size is not None:
            parts.append(f"bs {int(batch_size)}")
        if self.show_time and self._start is not None:
            parts.append(f"{time.perf_counter() - self._start:.1f} s")
        print("  ".join(parts), file=self.stream or sys.stderr, flush=True)


class NonFiniteWeightsAsDivergence(keras.callbacks.Callback):
    """Records an epoch's loss as NaN, and stops training, when the weights are no longer finite.

    A model with NaN weights can still report a finite loss (a ReLU maps NaN to 0; the loss of the
    remaining layers stays about ``ln(classes)``). Weights that are not finite have no finite loss,
    so the epoch's ``logs["loss"]`` becomes NaN and everything downstream (``stop_on_nan``, a
    sweep's ``diverged``, the suggestion rules) treats the run as diverged. Checked once per epoch
    (:func:`weights_are_finite`). Put it first in the callback list, so later callbacks (and the
    history) see the corrected loss.

    Example:
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> history = model.fit(np.zeros((8, 2)), np.zeros(8), epochs=1, verbose=0,
        ...                     callbacks=[NonFiniteWeightsAsDivergence()])
        >>> history.history["loss"]
        [0.0]
    """

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and not weights_are_finite(self.model):
            logs["loss"] = math.nan
            self.model.stop_training = True


def progress_bar(total: int, enabled: bool, desc: str):
    """A tqdm bar on standard error (a no-op when not ``enabled``)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, leave=False)


# ------------------------------------------------------------------------------- compilations


class TraceCounter:
    """Counts how often Keras traces ``model``'s train step (one trace = one compiled program).

    Used as a context manager around training. It wraps ``model.train_step`` and drops the cached
    train function so that the wrapper is what gets compiled; the Python body of a compiled step runs
    once per trace, so the number of calls is the number of traces (per step under ``run_eagerly``).
    TensorFlow's ``reduce_retracing`` may generalize the batch dimension after a second shape (it is
    then recorded as ``None``); JAX compiles once per distinct shape.

    Example:
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> with TraceCounter(model) as traces:
        ...     _ = fit_with_batch_policy(model, np.zeros((64, 2)), np.zeros(64), policy=16, epochs=3)
        >>> traces.count, traces.batch_sizes
        (1, [16])

    Attributes:
        count: number of traces so far.
        batch_sizes: the (static) batch dimension seen by each trace; ``None`` when generalized.
    """

    def __init__(self, model):
        self.model = model
        self.batch_sizes: list[int | None] = []

    @property
    def count(self) -> int:
        return len(self.batch_sizes)

    def __enter__(self):
        original = self.model.train_step

        def counted_train_step(*args):
            data = args[-1]  # TF: train_step(data); JAX: train_step(state, data)
            first = data[0] if isinstance(data, (tuple, list)) else data
            while isinstance(first, (tuple, list)):
                first = first[0]
            if isinstance(first, dict):
                first = next(iter(first.values()))
            dim = tuple(first.shape)[0] if hasattr(first, "shape") else None
            self.batch_sizes.append(None if dim is None else int(dim))
            return original(*args)

        self.model.train_step = counted_train_step
        self.model.train_function = None
        return self

    def __exit__(self, *exc):
        del self.model.train_step
        self.model.train_function = None
        return False
