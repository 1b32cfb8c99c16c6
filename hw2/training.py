"""Training with a batch size per epoch, in one ``model.fit``: fixed micro-batches, variable accumulation.

XLA compiles one program per input shape: a partial last batch is a second shape, and a batch
size that changes every epoch is a new shape (and 3-78 s of compilation on a GPU) per epoch. So the
model here is always fed full micro-batches of one size (:class:`EpochBatches`: shuffled per
``(seed, epoch)``, remainder dropped), and the effective batch size is the number of micro-batches
whose gradients a :class:`GradientAccumulation` optimizer averages before one update. That number
is a variable, which a callback (:class:`BatchSizeSchedule`) sets per epoch from a batch-size policy
(:class:`hw2.schedules.CyclicalBatchSize`) or per update from an update plan
(:class:`hw2.schedules.NoiseMatchedBatchSize`): one compiled train step for a whole cyclical run.

Averaging ``k`` micro-batch gradients equals one step on the ``k``-times batch for models without
batch normalization. With batch normalization each micro-batch is normalized with its own
statistics (a "ghost batch" of the micro-batch size) and the moving statistics are updated per
micro-batch: the effective batch then changes the gradient noise but not the normalization.
:class:`TraceCounter` counts compilations.

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

from hw2._checks import argument_error, check_int
from hw2.accumulation import GradientAccumulation, accumulation_steps
from hw2.progress import on_terminal

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
        raise argument_error("x", "an array of shape (N, H, W) or (N, H, W, C) with H, W <= 32",
                             received=f"x.shape={x.shape}")
    dh, dw = 32 - x.shape[1], 32 - x.shape[2]
    return np.pad(x, ((0, 0), (dh // 2, dh - dh // 2), (dw // 2, dw - dw // 2), (0, 0)))


# ------------------------------------------------------------------------------------ inputs


def check_training_arrays(x, y, names=("x", "y"), model=None):
    """``(x, y)`` as numpy arrays, or a one-line ``ValueError`` naming the bad argument.

    Both must hold one row per sample (same length) and only finite numbers: one NaN in ``x``
    turns a ReLU/batch-norm model's weights into NaN while its loss can stay finite, so a finder
    would report a curve from a broken model. Given the compiled ``model``, ``y`` must also suit
    its loss (:func:`check_class_labels`).

    Example:
        >>> x, y = check_training_arrays(np.zeros((4, 2)), [0, 1, 0, 1])
        >>> check_training_arrays([[0.0, np.nan]], [0])  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Argument `x` must be an array of finite numbers. Received: x=array of shape (1, 2) ...
    """
    arrays = []
    for name, value in zip(names, (x, y)):
        value = np.asarray(value)
        if value.ndim < 1 or value.dtype.kind not in "biuf":
            raise argument_error(name, "a numeric array with one row per sample",
                                 received=f"{name} of shape {value.shape}, dtype {value.dtype}")
        if value.dtype.kind == "f":
            bad = ~np.isfinite(value)
            if bad.any():
                first = tuple(int(i) for i in np.argwhere(bad)[0])
                raise argument_error(name, "an array of finite numbers",
                                     received=f"{name}=array of shape {value.shape} with {int(bad.sum())} NaN/inf "
                                              f"value(s), the first at index {first}")
        arrays.append(value)
    if len(arrays[0]) != len(arrays[1]):
        raise argument_error(tuple(names), "of the same length (one label per sample)",
                             received=f"len({names[0]})={len(arrays[0])}, len({names[1]})={len(arrays[1])}")
    if model is not None:
        check_class_labels(model, arrays[1], names[1])
    return tuple(arrays)


def check_validation_data(validation_data, model=None):
    """``None``, or ``validation_data = (x_val, y_val)`` checked as :func:`check_training_arrays` checks
    ``(x, y)``: a NaN there makes every ``val_loss`` NaN, silently.

    Example:
        >>> check_validation_data((np.zeros((2, 2)), [0, np.inf]))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: Argument `validation_data[1]` must be an array of finite numbers. Received: ...
    """
    if validation_data is None:
        return None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        shown = f"a {type(validation_data).__name__}" + (
            f" of length {len(validation_data)}" if isinstance(validation_data, (tuple, list)) else "")
        raise argument_error("validation_data", "a pair (x_val, y_val) or None", received=shown)
    return check_training_arrays(*validation_data, names=("validation_data[0]", "validation_data[1]"), model=model)


def check_class_labels(model, y, name: str = "y"):
    """``y`` as a numpy array, or a one-line ``ValueError`` if ``model``'s loss takes class labels
    and ``y`` holds anything else.

    For a model compiled with sparse categorical cross-entropy (the name, the function or a
    ``keras.losses.SparseCategoricalCrossentropy``) ``y`` must hold integral values in
    ``[0, num_classes)``, ``num_classes`` being the model's output width ``model.output_shape[-1]``
    (no upper bound while that is unknown): an integer dtype, or floats that are whole numbers (labels
    loaded as float32), never booleans; the loss's ``ignore_class`` is allowed too. Otherwise
    TensorFlow stops inside the train step with a 40-line traceback, JAX trains on a label of 7
    or -1 without a word, and both truncate 0.5 to class 0. Other losses leave ``y`` as it is.

    Example:
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        >>> model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        >>> check_class_labels(model, np.array([0.0, 2.0])).tolist()
        [0.0, 2.0]
        >>> check_class_labels(model, [0, 1, 7])
        Traceback (most recent call last):
        ...
        ValueError: Argument `y` must be integer class labels in [0, 3). Received: y with 7 at index 2
    """
    y = np.asarray(y)
    loss = getattr(model, "loss", None)
    fn = getattr(loss, "fn", loss)  # a SparseCategoricalCrossentropy instance wraps the function
    if not (isinstance(fn, str) and fn == "sparse_categorical_crossentropy"
            or fn is keras.losses.sparse_categorical_crossentropy):
        return y
    try:
        classes = model.output_shape[-1]
    except (AttributeError, ValueError):  # a subclassed model that was never called
        classes = None
    ignored = getattr(loss, "ignore_class", None)
    requirement = f"integer class labels {f'in [0, {classes})' if classes else '>= 0'}" + (
        f" or {ignored} (ignore_class)" if ignored is not None else "")
    if y.dtype.kind not in "iuf":
        raise argument_error(name, requirement, received=f"{name} of dtype {y.dtype}")
    # NaN and inf fail every comparison or the whole-number test
    bad = ~((y >= 0) & (y < (classes or np.inf)) & (y % 1 == 0))
    if ignored is not None:
        bad &= y != ignored
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise argument_error(name, requirement,
                             received=f"{name} with {y[first].item()!r} at index {first[0] if y.ndim == 1 else first}")
    return y


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
        raise argument_error(name, f"an integer in [1, {n}] (the number of samples)", batch_size)
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


class BatchSizeSchedule(keras.callbacks.Callback):
    """Set the effective batch size from a policy, per epoch or per update, inside one ``model.fit`` call.

    The model is fed fixed micro-batches (one compiled shape) and compiled with a
    :class:`GradientAccumulation` optimizer (any optimizer will do while the policy stays at the
    micro-batch size). The callback sets its ``accumulation_steps``:

    * at the start of epoch ``e`` to ``policy(e) // micro_batch``, for a policy ``epoch -> batch
      size`` (an int, a function, :class:`hw2.schedules.CyclicalBatchSize`);
    * at the start of every update, for a policy with an ``update_plan(epochs)`` method (one batch
      size per update, :class:`hw2.schedules.NoiseMatchedBatchSize`); an update may then span an
      epoch boundary.

    It keeps the number of updates in Python (mirroring the optimizer's counter, so it never reads
    the device per step), can stop training after ``max_updates`` updates, and puts ``batch_size``
    and ``updates`` (this epoch's) in the epoch logs. ``batch_size`` is the epoch's effective batch
    size: ``policy(e)``, or with an update plan ``1 / mean(1 / B)`` over the epoch's micro-batches
    (so that ``lr / batch_size`` is the epoch's mean noise temperature). ``update_batch_sizes``
    lists the batch size of every update. These records (``updates``, ``batch_sizes``,
    ``update_batch_sizes``) are the current fit's: ``on_train_begin`` resets them, as Keras'
    ``EarlyStopping`` resets its own, so one instance can serve several fits. Under JAX a change
    within an epoch first syncs the trainer's state into the variables (``model.jax_state_sync()``),
    the hook Keras provides for it.

    Example:
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer=GradientAccumulation("sgd"), loss="mse")
        >>> schedule = BatchSizeSchedule(lambda epoch: 16 * 2 ** epoch, micro_batch=16)
        >>> history = model.fit(np.ones((64, 3)), np.ones(64), batch_size=16, epochs=3, verbose=0,
        ...                     callbacks=[schedule])
        >>> history.history["batch_size"], history.history["updates"]
        ([16, 32, 64], [4, 2, 1])
    """

    def __init__(self, policy, micro_batch: int, max_updates: int | None = None):
        super().__init__()
        self._plan_source = getattr(policy, "update_plan", None)
        self.policy = None if self._plan_source is not None else _policy_fn(policy)
        self.micro_batch = int(micro_batch)
        self.max_updates = None if max_updates is None else check_int("max_updates", max_updates, low=1)
        self.updates, self._open, self._steps = 0, 0, 1
        self.batch_sizes: list[float] = []
        self.update_batch_sizes: list[int] = []
        self._plan: list[int] | None = None

    def on_train_begin(self, logs=None):
        # one instance may serve several fits (as Keras' own callbacks can): its records are this fit's
        self.updates, self._open, self._steps = 0, 0, 1
        self.batch_sizes, self.update_batch_sizes, self._plan = [], [], None
        if getattr(self.model, "steps_per_execution", 1) != 1:  # the Python mirror counts one step per batch
            raise ValueError("BatchSizeSchedule needs a model compiled with steps_per_execution=1. "
                             f"Received: steps_per_execution={self.model.steps_per_execution}")
        optimizer = self.model.optimizer
        if isinstance(optimizer, GradientAccumulation):
            if not optimizer.built:
                optimizer.build(self.model.trainable_variables)  # TensorFlow builds it lazily, at the first step
            self._open = int(optimizer.micro_step)  # a group an earlier fit left open (one read per fit)
        if self._plan_source is not None:
            if self._open:
                raise ValueError("An update plan must start on a fresh update; the optimizer holds an open group "
                                 f"of {self._open} micro-batch(es) from an earlier fit.")
            epochs = int(self.params["epochs"])
            self._plan = [accumulation_steps(b, self.micro_batch) for b in _planned_sizes(self._plan_source, epochs)]

    def _set_steps(self, steps: int, batch_size: int):
        optimizer = self.model.optimizer
        if isinstance(optimizer, GradientAccumulation):
            if keras.backend.backend() == "jax":
                self.model.jax_state_sync()  # no-op at an epoch start; mid-epoch the variables lag the state
            optimizer.accumulation_steps.assign(steps)
        elif steps != 1:
            raise ValueError(f"Batch size {batch_size} fed as micro-batches of {self.micro_batch} needs a model "
                             "compiled with a hw2.accumulation.GradientAccumulation optimizer.")
        self._steps = steps

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start_updates = self.updates
        self._epoch_micro, self._epoch_inverse = 0, 0.0
        if self._plan is None:
            batch_size = self.policy(epoch)
            self._set_steps(accumulation_steps(batch_size, self.micro_batch), batch_size)

    def on_train_batch_begin(self, batch, logs=None):
        if self._plan is not None and self._open == 0:
            index = min(len(self.update_batch_sizes), len(self._plan) - 1)
            if self._plan[index] != self._steps or not self.update_batch_sizes:
                self._set_steps(self._plan[index], self._plan[index] * self.micro_batch)

    def on_train_batch_end(self, batch, logs=None):
        self._open += 1
        self._epoch_micro += 1
        self._epoch_inverse += 1.0 / (self._steps * self.micro_batch)
        if self._open >= self._steps:
            self.updates, self._open = self.updates + 1, 0
            self.update_batch_sizes.append(self._steps * self.micro_batch)
            if self.max_updates is not None and self.updates >= self.max_updates:
                self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self._plan is None:
            batch_size = self._steps * self.micro_batch
        else:
            batch_size = float(self._epoch_micro / self._epoch_inverse) if self._epoch_micro else math.nan
        self.batch_sizes.append(batch_size)
        if logs is not None:
            logs.update(batch_size=batch_size, updates=self.updates - self._epoch_start_updates)


class StopOnDivergence(keras.callbacks.Callback):
    """Stop at the end of the first epoch whose loss or weights are not finite (a diverged run).

    A model with NaN weights can still report a finite loss (a ReLU maps NaN to 0; the loss of the
    remaining layers stays about ``ln(classes)``), so the weights are checked too
    (:func:`weights_are_finite`) and such an epoch's ``logs["loss"]`` becomes NaN: the history, a
    sweep's ``diverged`` and the suggestion rules then all see a diverged run. Checked once per
    epoch, not per batch: a per-batch check makes Keras wait for the device after every step. Put
    it first among the callbacks, so the others see the corrected loss. Sets ``diverged`` and
    ``diverged_epoch``.

    Example:
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer=keras.optimizers.SGD(1e30), loss="mse")
        >>> stop = StopOnDivergence()
        >>> history = model.fit(np.ones((8, 2)), np.full(8, 1e20), epochs=3, verbose=0, callbacks=[stop])
        >>> stop.diverged, len(history.history["loss"])
        (True, 1)
    """

    def __init__(self):
        super().__init__()
        self.diverged, self.diverged_epoch = False, None

    def on_train_begin(self, logs=None):
        self.diverged, self.diverged_epoch = False, None  # this fit's, when one instance serves several

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        if not weights_are_finite(self.model):
            logs["loss"] = math.nan
        if not math.isfinite(float(logs.get("loss", 0.0))) and not self.diverged:
            self.diverged, self.diverged_epoch = True, epoch
            self.model.stop_training = True


def _policy_fn(policy) -> Callable[[int], int]:
    """``policy`` as a function ``epoch -> batch size`` whose every value is checked: a policy that
    returns 16.9 or ``True`` is a bug to report, not a batch size to floor."""
    if isinstance(policy, (int, np.integer)) and not isinstance(policy, bool):
        return lambda epoch: int(policy)
    if callable(policy):
        return lambda epoch: check_int(f"policy({epoch})", policy(epoch), low=1)
    raise argument_error("policy", "an int or a callable epoch -> batch size (e.g. hw2.schedules.CyclicalBatchSize)",
                         policy)


def _planned_sizes(update_plan, epochs: int) -> list[int]:
    """``update_plan(epochs)`` as a list of int batch sizes, each checked (not floored)."""
    return [check_int(f"update_plan({epochs})[{i}]", b, low=1) for i, b in enumerate(update_plan(epochs))]


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
    """Full batches of ``(x, y)`` for ``epochs`` epochs, epoch ``e`` in the order ``epoch_order(n, seed, e)``.

    Each epoch drops the last ``n mod batch_size`` samples of its permutation (a different subset
    every epoch), so every step has the same shape, and two models trained with the same seed see the
    same batches in the same order. Rows within a batch are sorted (memory locality; a batch is a
    set). Item ``i`` is a pure function of ``i`` (epoch ``i // steps_per_epoch``), so prefetching
    ahead of Keras' epoch hooks cannot mix two epochs' orders: pass ``epochs``,
    ``steps_per_epoch=data.steps_per_epoch`` and ``shuffle=False`` (Keras shuffles items otherwise)
    to ``model.fit``.

    Example:
        >>> data = EpochBatches(np.zeros((10, 2)), np.arange(10), batch_size=4, seed=0, epochs=3)
        >>> data.steps_per_epoch, len(data), data[0][0].shape
        (2, 6, (4, 2))
        >>> data[0][1].tolist() != data[2][1].tolist()     # epoch 1 starts at item 2
        True
    """

    def __init__(self, x, y, batch_size: int, seed: int = 0, epochs: int = 1):
        super().__init__()
        batch_size = check_batch_size(batch_size, len(x))
        if len(x) != len(y):
            raise argument_error(("x", "y"), "of the same length", received=f"len(x)={len(x)}, len(y)={len(y)}")
        epochs = check_int("epochs", epochs, low=1)
        self.x, self.y, self.batch_size, self.seed, self.epochs = x, y, batch_size, int(seed), epochs
        self.steps_per_epoch = len(x) // self.batch_size
        self._orders: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self.steps_per_epoch * self.epochs

    def order(self, epoch: int) -> np.ndarray:
        """The permutation of epoch ``epoch`` (the last two are kept)."""
        if epoch not in self._orders:
            if len(self._orders) >= 2:
                self._orders.pop(min(self._orders))
            self._orders[epoch] = epoch_order(len(self.x), self.seed, epoch)
        return self._orders[epoch]

    def __getitem__(self, index: int):
        epoch, step = divmod(int(index), self.steps_per_epoch)
        rows = np.sort(self.order(epoch)[step * self.batch_size:(step + 1) * self.batch_size])
        return self.x[rows], self.y[rows]


def current_learning_rate(optimizer) -> float:
    """The learning rate the optimizer applies at its current step, as a Python float."""
    return float(ops.convert_to_numpy(optimizer.learning_rate))


def fit_with_batch_policy(model, x, y, policy, epochs: int, *, micro_batch: int | None = None,
                          validation_data=None, seed: int = 0, callbacks=None, max_steps: int | None = None,
                          stop_on_nan: bool = True, validation_batch_size: int = 256) -> dict:
    """Train ``model`` for ``epochs`` epochs in one ``model.fit``, epoch ``e`` at batch size ``policy(e)``.

    The model is fed full micro-batches of ``micro_batch`` samples (one shape, so one compiled train
    step for the whole run) in the order :class:`EpochBatches` fixes per ``(seed, epoch)``; an epoch is
    ``N // micro_batch`` micro-batches. :class:`BatchSizeSchedule` sets how many micro-batches make
    one update, so batch sizes above ``micro_batch`` need a model compiled with a
    :class:`GradientAccumulation` optimizer. Its wrapped optimizer keeps its state across batch sizes,
    and a learning-rate schedule's clock counts updates.

    Args:
        model: a compiled Keras model.
        x, y: training arrays (numpy) of the same length, finite; class labels in
            ``[0, model.output_shape[-1])`` for a sparse categorical cross-entropy loss
            (:func:`check_class_labels`).
        policy: an int (a constant batch size), a callable ``epoch -> batch size``
            (e.g. :class:`hw2.schedules.CyclicalBatchSize`), or an object whose ``update_plan(epochs)``
            gives the batch size of every update (:class:`hw2.schedules.NoiseMatchedBatchSize`; it
            must cover exactly the samples fed); every value an integer (``16.9`` and ``True`` are
            errors, not floored) and a multiple of ``micro_batch``.
        epochs: number of epochs (>= 1).
        micro_batch: the batch actually fed; default the smallest batch size the policy returns.
        validation_data: optional ``(x_val, y_val)``, evaluated after every epoch; checked as ``x, y`` are.
        seed: fixes the per-epoch sample order.
        callbacks: further Keras callbacks (e.g. :class:`EpochLogger`).
        max_steps: stop after this many optimizer updates (an integer >= 1).
        stop_on_nan: stop after the first epoch whose loss or weights are not finite
            (:class:`StopOnDivergence`).
        validation_batch_size: one fixed batch size for validation (one shape, compiled once).

    Returns:
        A dict of per-epoch lists: ``epoch``, ``batch_size`` (the epoch's effective batch size, see
        :class:`BatchSizeSchedule`), ``steps`` (optimizer updates completed in the epoch),
        ``learning_rate`` (at the end of the epoch), ``seconds``, every Keras log (``loss``,
        ``accuracy``, ``val_loss``, ...); ``update_batch_sizes`` (one per update) and ``diverged`` (bool).

    Example:
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        >>> model.compile(optimizer=GradientAccumulation("sgd"), loss="sparse_categorical_crossentropy")
        >>> x, y = np.random.rand(128, 4).astype("float32"), np.random.randint(0, 3, 128)
        >>> history = fit_with_batch_policy(model, x, y, policy=lambda e: 16 * 2 ** e, epochs=3)
        >>> history["batch_size"], history["steps"]
        ([16, 32, 64], [8, 4, 2])
    """
    epochs = check_int("epochs", epochs, low=1)
    if max_steps is not None:
        max_steps = check_int("max_steps", max_steps, low=1)
    if getattr(model, "optimizer", None) is None:
        raise argument_error("model", "compiled (model.compile(...)) before training",
                             received="a model without an optimizer")
    x, y = check_training_arrays(x, y, model=model)
    validation_data = check_validation_data(validation_data, model)
    update_plan = getattr(policy, "update_plan", None)
    if update_plan is not None:  # one batch size per update
        sizes = _planned_sizes(update_plan, int(epochs))
        if not sizes:
            raise argument_error("policy", f"a policy planning at least one update (one batch size per update, "
                                 f"covering the samples of `epochs`={epochs} epochs)",
                                 received=f"policy.update_plan({epochs}) returned no batch sizes")
    else:
        batch_size_at = _policy_fn(policy)
        sizes = [batch_size_at(e) for e in range(int(epochs))]
    if max(sizes) > len(x):
        raise ValueError(f"The batch-size policy must return values in [1, {len(x)}] (the number of samples). "
                         f"Received: batch sizes {sorted(set(sizes))}")
    micro = min(sizes) if micro_batch is None else micro_batch
    for size in sizes:
        accumulation_steps(size, micro)
    fed = int(epochs) * (len(x) // micro) * micro
    if update_plan is not None and sum(sizes) != fed:
        raise ValueError(f"The update plan must cover the {fed} samples fed in {epochs} epochs "
                         f"({len(x) // micro} micro-batches of {micro} each). Received: a plan of {sum(sizes)} samples")
    if isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer):
        raise ValueError("fit_with_batch_policy does not support loss scaling (the mixed_float16 policy wraps the "
                         "optimizer in a LossScaleOptimizer, which skips micro-batches); use mixed_bfloat16 "
                         "or float32.")
    if max(sizes) > micro and not isinstance(model.optimizer, GradientAccumulation):
        raise ValueError(f"Batch sizes up to {max(sizes)} fed as micro-batches of {micro} need a model compiled "
                         "with a hw2.accumulation.GradientAccumulation optimizer.")
    schedule = BatchSizeSchedule(policy, micro, max_updates=max_steps)
    divergence = StopOnDivergence()
    clock = _EpochClock(model)
    every = [*([divergence] if stop_on_nan else []), schedule, clock, *(callbacks or ())]
    batches = EpochBatches(x, y, micro, seed=seed, epochs=int(epochs))
    # shuffle=False: Keras would otherwise shuffle the items, mixing the epochs of EpochBatches
    result = model.fit(batches, epochs=int(epochs), steps_per_epoch=batches.steps_per_epoch, shuffle=False,
                       verbose=0,
                       validation_data=validation_data, validation_batch_size=validation_batch_size,
                       callbacks=every)
    logs = result.history
    history = {"epoch": result.epoch, "batch_size": [b if update_plan is not None else int(b)
                                                     for b in logs.pop("batch_size")],
               "steps": [int(u) for u in logs.pop("updates")], "learning_rate": clock.learning_rates,
               "seconds": clock.seconds, "update_batch_sizes": list(schedule.update_batch_sizes)}
    history.update({key: [float(v) for v in values] for key, values in logs.items()})
    history["diverged"] = divergence.diverged
    return history


class _EpochClock(keras.callbacks.Callback):
    """Wall time and end-of-epoch learning rate of every epoch."""

    def __init__(self, model):
        super().__init__()
        self.seconds: list[float] = []
        self.learning_rates: list[float] = []

    def on_train_begin(self, logs=None):
        self.seconds, self.learning_rates = [], []  # this fit's epochs only

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        self.learning_rates.append(current_learning_rate(self.model.optimizer))


# ---------------------------------------------------------------------------------- callbacks


class EpochLogger(keras.callbacks.Callback):
    """One concise line per epoch: metrics, learning rate, batch size and wall time.

    Use it with ``verbose=0`` instead of Keras' progress bar. Lines go to ``stream``; by default to
    standard error, and only when it is a terminal (:func:`hw2.progress.on_terminal`), so they stay
    out of the report pages.

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
        self.every = check_int("every", every, low=1)
        self.stream, self.prefix, self.epochs = stream, prefix, epochs
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
            parts.append(f"bs {float(batch_size):.4g}")
        if self.show_time and self._start is not None:
            parts.append(f"{time.perf_counter() - self._start:.1f} s")
        if self.stream is not None or on_terminal():  # never into a report page
            print("  ".join(parts), file=self.stream or sys.stderr, flush=True)


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
        >>> traces.count
        1

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
