"""Gradient accumulation with a variable number of micro-batches per update: the effective batch.

:class:`GradientAccumulation` wraps any Keras optimizer and averages the gradients of
``accumulation_steps`` micro-batches before the wrapped optimizer applies them once. The number is
a variable, so a callback (:class:`hw2.training.BatchSizeSchedule`) can change the effective batch
size between epochs or updates while the train step stays one compiled program;
:func:`accumulation_steps` turns a batch size into that number. How it is used in one training
loop: :mod:`hw2.training`.

Example:
    >>> accumulation_steps(512, 64)
    8
"""

from __future__ import annotations

import keras
from keras import ops

from hw2._checks import argument_error, check_int


@keras.saving.register_keras_serializable(package="hw2")
class GradientAccumulation(keras.optimizers.Optimizer):
    """Average the gradients of ``steps`` micro-batches, then let ``optimizer`` apply them once.

    Unlike Keras' ``gradient_accumulation_steps`` (a Python constant), the number of micro-batches
    per update is a variable, ``accumulation_steps``: a callback can change the effective batch size
    ``micro_batch * steps`` between epochs (:class:`hw2.training.BatchSizeSchedule`) and the train step stays the
    one compiled program, with the wrapped optimizer's state (momentum, Adam moments) carried on::

        accumulated += g;  count += 1
        if count >= steps:                       # an update
            optimizer.apply(accumulated / count); accumulated = 0; count = 0

    ``iterations`` is the wrapped optimizer's counter, so a learning-rate schedule's clock counts
    updates (effective batches), not micro-batches, whatever the number of steps. A group that is
    open when ``steps`` changes is closed by the new rule and averaged over the micro-batches it
    holds. The update is computed at every micro-step and kept only where ``count >= steps``
    (``ops.where``), the form both TensorFlow graphs and JAX's stateless train step accept.

    Every update also leaves the two squared gradient norms that the gradient-noise scale needs
    (:mod:`hw2.noise_scale`): the mean over the group's micro-batches of ``|g_i|^2`` and ``|mean g|^2``,
    summed over updates in ``noise_small_sq``, ``noise_big_sq`` (and counted in ``noise_updates``)
    until a reader resets them.

    With batch normalization each micro-batch is normalized with its own statistics (a "ghost
    batch" of the micro-batch size), so the effective batch changes the gradient noise but not the
    normalization.

    A model compiled with it survives ``model.save`` / ``keras.saving.load_model`` with the state
    of both optimizers (registered as ``hw2>GradientAccumulation``).

    Example:
        >>> import numpy as np
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer=GradientAccumulation(keras.optimizers.SGD(0.1), steps=4), loss="mse")
        >>> _ = model.fit(np.ones((32, 3)), np.ones(32), batch_size=8, epochs=1, verbose=0)
        >>> int(model.optimizer.iterations)          # 4 micro-batches of 8 -> one update of 32
        1

    Args:
        optimizer: the optimizer that applies the averaged gradient (any Keras optimizer, unbuilt).
        steps: initial number of micro-batches per update (>= 1).
    """

    def __init__(self, optimizer, steps: int = 1, name: str | None = None, **kwargs):
        if kwargs:  # apply() bypasses the base class: clipnorm, weight_decay, use_ema, ... would do nothing here
            raise ValueError(f"GradientAccumulation takes no optimizer options (pass them to the wrapped optimizer). "
                             f"Received: {', '.join(sorted(kwargs))}")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = keras.optimizers.get(optimizer)
        self.initial_steps = check_int("steps", steps, low=1)

    def build(self, var_list):
        def scalar(name, dtype, value=0):
            return self.add_variable(shape=(), dtype=dtype, initializer=keras.initializers.Constant(value),
                                     aggregation="none", name=name)

        self.accumulation_steps = scalar("accumulation_steps", "int32", self.initial_steps)
        self.micro_step = scalar("micro_step", "int32")
        self.noise_small_sq = scalar("noise_small_sq", "float32")
        self.noise_big_sq = scalar("noise_big_sq", "float32")
        self.noise_updates = scalar("noise_updates", "float32")
        self._group_sq = scalar("group_sq", "float32")
        self._accumulated = [self.add_variable_from_reference(v, name="accumulated") for v in var_list]
        self.inner_optimizer.build(var_list)
        super().build(var_list)

    @property
    def variables(self):
        return self._variables + self.inner_optimizer.variables

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        # Optimizer.__init__ sets a placeholder rate before the wrapped optimizer exists.
        if "inner_optimizer" in self.__dict__:
            self.inner_optimizer.learning_rate = learning_rate

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    def apply(self, grads, trainable_variables=None):
        if not self.built:
            self.build(trainable_variables)
            self.built = True
        variables = list(trainable_variables if trainable_variables is not None else self._trainable_variables)
        accumulated = [self._accumulated[self._get_variable_index(v)] for v in variables]
        grads = [ops.cast(g, a.dtype) for g, a in zip(grads, accumulated)]
        count = self.micro_step + 1
        update = ops.greater_equal(count, self.accumulation_steps)
        sums = [ops.convert_to_tensor(a) + g for a, g in zip(accumulated, grads)]
        mean = [t / ops.cast(count, t.dtype) for t in sums]
        group_sq = self._group_sq + sum(ops.sum(ops.square(ops.cast(g, "float32"))) for g in grads)

        # Snapshots (a TensorFlow variable's ``.value`` is the variable itself, read later).
        before = [ops.copy(ops.convert_to_tensor(v)) for v in variables + list(self.inner_optimizer.variables)]
        self.inner_optimizer.apply(mean, variables)
        for v, old in zip(variables + list(self.inner_optimizer.variables), before):
            v.assign(ops.where(update, ops.convert_to_tensor(v), old))
        for a, t in zip(accumulated, sums):
            a.assign(ops.where(update, ops.zeros_like(t), t))

        counted = ops.cast(count, "float32")
        big_sq = sum(ops.sum(ops.square(ops.cast(t, "float32"))) for t in mean)
        with_noise = ops.logical_and(update, ops.greater(count, 1))  # two batch sizes need count >= 2
        self.noise_small_sq.assign(self.noise_small_sq + ops.where(with_noise, group_sq / counted, 0.0))
        self.noise_big_sq.assign(self.noise_big_sq + ops.where(with_noise, big_sq, 0.0))
        self.noise_updates.assign(self.noise_updates + ops.where(with_noise, 1.0, 0.0))
        self._group_sq.assign(ops.where(update, 0.0, group_sq))
        self.micro_step.assign(ops.where(update, 0, count))
        self._iterations.assign_add(1)  # micro-batches seen; ``iterations`` is the update count

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self):
        return {"name": self.name, "steps": self.initial_steps,
                "optimizer": keras.saving.serialize_keras_object(self.inner_optimizer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = keras.saving.deserialize_keras_object(config.pop("optimizer"), custom_objects=custom_objects)
        return cls(inner, **config)


def accumulation_steps(batch_size: int, micro_batch: int) -> int:
    """How many micro-batches of ``micro_batch`` make one batch of ``batch_size``.

    Example:
        >>> accumulation_steps(1024, 64)
        16
        >>> accumulation_steps(100, 64)
        Traceback (most recent call last):
        ...
        ValueError: Argument `batch_size` must be a multiple of `micro_batch`=64. Received: batch_size=100
    """
    batch_size, micro_batch = check_int("batch_size", batch_size, low=1), check_int("micro_batch", micro_batch, low=1)
    if batch_size % micro_batch:
        raise argument_error("batch_size", f"a multiple of `micro_batch`={micro_batch}", batch_size)
    return batch_size // micro_batch
