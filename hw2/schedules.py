"""Cyclical policies: a cyclical learning rate and a cyclical batch size.

:class:`CyclicalLearningRate` is a Keras ``LearningRateSchedule`` (Smith 2017, "Cyclical Learning
Rates for Training Neural Networks"); pass it as an optimizer's ``learning_rate``.
:class:`CyclicalBatchSize` is its batch-size counterpart: a policy mapping an epoch (or any integer
time) to a batch size (a multiple of ``b_min``), consumed by :func:`hw2.training.fit_with_batch_policy`.
:class:`NoiseMatchedBatchSize` gives one batch size per update instead: the mirror, at a fixed
rate, of a learning-rate schedule.

Both share Smith's triangle wave. With ``t`` the time and ``s`` the half-cycle length (step size)::

    cycle = floor(1 + t / (2 * s))           # 1, 1, ..., 2, 2, ...
    x = abs(t / s - 2 * cycle + 1)           # 1 -> 0 -> 1 within each cycle
    u = max(0, 1 - x) * scale                # 0 -> 1 -> 0: how far towards the "hot" end

The learning rate rises with ``u``; the batch size falls with ``u`` (see :class:`CyclicalBatchSize`).
"""

from __future__ import annotations

import math
from fractions import Fraction

import keras
import numpy as np
from keras import ops

from hw2._checks import argument_error, check_callable, check_choice, check_int, check_positive, check_range

LR_MODES = ("triangular", "triangular2", "exp_range")
SCALE_MODES = ("cycle", "iterations")
BATCH_MODES = ("triangular", "triangular2", "exp_range", "exponential")
BATCH_SCALES = ("inverse", "log2")


def _check_step_size(step_size):
    step_size = check_positive("step_size", step_size)
    return float(step_size) if not float(step_size).is_integer() else int(step_size)


#: A cyclical learning rate's ``step_size`` as ``p / q``: the position within a cycle is then an
#: integer remainder, exact at any step, and ``2 * p * q`` stays below 2**31 (int32 under JAX).
MAX_STEP_SIZE = 2**30 - 1
MAX_STEP_DENOMINATOR = 1000


def _step_fraction(step_size) -> tuple[int, int]:
    """``step_size`` as ``(p, q)``, ``p / q`` the nearest fraction with ``q <= 1000`` and ``2 * p * q < 2**31``.

    Example:
        >>> _step_fraction(7.5), _step_fraction(40)
        ((15, 2), (40, 1))
    """
    denominator = max(1, min(MAX_STEP_DENOMINATOR, math.isqrt(2**30 // math.ceil(step_size))))
    fraction = Fraction(step_size).limit_denominator(denominator)
    return fraction.numerator, fraction.denominator


def _check_gamma(gamma):
    return float(check_range("gamma", gamma, low=0, high=1, inclusive="right"))


def triangle_position(t, step_size, mode="triangular", gamma=1.0):
    """Smith's position ``u`` in [0, 1] at time(s) ``t`` (numpy; the reference for both policies).

    ``u`` is 0 at the start of every cycle, 1 in its middle; ``triangular2`` halves it every
    cycle, ``exp_range`` multiplies it by ``gamma ** t``.

    Example:
        >>> triangle_position([0, 2, 4, 6, 8], step_size=4).tolist()
        [0.0, 0.5, 1.0, 0.5, 0.0]
        >>> triangle_position([4, 12], step_size=4, mode="triangular2").tolist()
        [1.0, 0.5]
    """
    t = np.asarray(t, dtype=np.float64)
    cycle = np.floor(1 + t / (2 * step_size))
    x = np.abs(t / step_size - 2 * cycle + 1)
    u = np.maximum(0.0, 1.0 - x)
    if mode == "triangular2":
        u = u / 2.0 ** (cycle - 1)
    elif mode == "exp_range":
        u = u * gamma ** t
    return u


@keras.saving.register_keras_serializable(package="hw2")
class CyclicalLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """A ``LearningRateSchedule`` that cycles between ``lr_min`` and ``lr_max`` (Smith 2017).

    The learning rate at optimizer step ``step`` is::

        def cyclical_learning_rate(step):
            cycle = floor(1 + step / (2 * step_size))
            x = abs(step / step_size - 2 * cycle + 1)
            return lr_min + (lr_max - lr_min) * max(0, 1 - x) * scale

    with ``scale = 1`` (``mode="triangular"``), ``1 / 2 ** (cycle - 1)`` (``"triangular2"``: the
    amplitude halves every cycle) or ``gamma ** step`` (``"exp_range"``). A custom
    ``scale_fn(z)`` (written with ``keras.ops``) replaces the mode's scale; it is evaluated at
    ``z = cycle`` or ``z = step`` according to ``scale_mode``.

    A cycle lasts ``2 * step_size`` optimizer steps; Smith recommends ``step_size`` of 2-10 epochs'
    worth of steps. Under gradient accumulation Keras passes the micro-step count, so count
    ``step_size`` in micro-batches there.

    The position within the cycle is computed with integers, so it is exact at any step (a float32
    step would be off by whole steps beyond 2**24): ``step_size`` is held as a fraction ``p / q``
    (``7.5 = 15 / 2``; a step size with more decimals is rounded to the nearest fraction with
    ``q <= 1000``), and ``x = abs((step * q mod 2p) / p - 1)``.

    Example:
        >>> import keras
        >>> clr = CyclicalLearningRate(lr_min=1e-3, lr_max=1e-2, step_size=4)
        >>> [round(float(clr(s)), 5) for s in (0, 2, 4, 6, 8)]
        [0.001, 0.0055, 0.01, 0.0055, 0.001]
        >>> optimizer = keras.optimizers.SGD(learning_rate=clr, momentum=0.9)
        >>> CyclicalLearningRate(1e-2, 1e-3, step_size=4)
        Traceback (most recent call last):
        ...
        ValueError: Argument `lr_max` must be > `lr_min`. Received: lr_min=0.01, lr_max=0.001

    It survives ``model.save`` / ``keras.saving.load_model`` (registered as ``hw2>CyclicalLearningRate``;
    a custom ``scale_fn`` must itself be a registered or importable function).

    Args:
        lr_min: the lower bound (>= 0), reached at the start and end of every cycle.
        lr_max: the upper bound (> ``lr_min``), reached in the middle of the first cycle (in
            ``exp_range`` mode the amplitude has already decayed there, to ``gamma ** step_size``).
        step_size: half a cycle, in optimizer steps, in [1, 2**30 - 1] (a shorter half-cycle is
            never sampled at whole steps).
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
        gamma: decay per step of the ``exp_range`` amplitude, in (0, 1].
        scale_fn: optional ``scale_fn(z) -> scale``; takes precedence over ``mode``.
        scale_mode: ``"cycle"`` or ``"iterations"``: what ``scale_fn`` receives.
        name: name of the schedule.

    Returns:
        A 1-arg callable ``schedule(step)`` returning a float32 scalar tensor.
    """

    def __init__(self, lr_min, lr_max, step_size, mode="triangular", gamma=1.0, scale_fn=None,
                 scale_mode="cycle", name="CyclicalLearningRate"):
        super().__init__()
        check_range("lr_min", lr_min, low=0)
        # float32 evaluation: a bound beyond ~1e38 would return inf
        check_range("lr_max", lr_max, low=0, high=1e30)
        if not lr_max > lr_min:
            raise argument_error("lr_max", "> `lr_min`", received=f"lr_min={lr_min!r}, lr_max={lr_max!r}")
        self.lr_min = float(lr_min)
        self.lr_max = float(lr_max)
        self.step_size = _check_step_size(check_range("step_size", step_size, low=1, high=MAX_STEP_SIZE))
        self._p, self._q = _step_fraction(self.step_size)
        self.mode = check_choice("mode", mode, LR_MODES)
        self.gamma = _check_gamma(gamma)
        self.scale_fn = check_callable("scale_fn", scale_fn, optional=True)
        self.scale_mode = check_choice("scale_mode", scale_mode, SCALE_MODES)
        self.name = name

    def __call__(self, step):
        dtype = "float32"
        step = ops.convert_to_tensor(step)
        if "int" not in keras.backend.standardize_dtype(step.dtype):
            step = ops.cast(ops.floor(step), "int32")
        # step * q = (cycle - 1) * 2p + remainder, without forming step * q (it could overflow)
        period = 2 * self._p
        whole, part = ops.floor_divide(step, period), ops.mod(step, period)
        remainder = ops.mod(part * self._q, period)
        cycle = ops.cast(whole * self._q + ops.floor_divide(part * self._q, period) + 1, dtype)
        x = ops.abs(ops.cast(remainder, dtype) / float(self._p) - 1.0)
        wave = ops.maximum(0.0, 1.0 - x)
        step = ops.cast(step, dtype)
        if self.scale_fn is not None:
            scale = ops.cast(self.scale_fn(cycle if self.scale_mode == "cycle" else step), dtype)
        elif self.mode == "triangular2":
            scale = ops.power(2.0, 1.0 - cycle)
        elif self.mode == "exp_range":
            # exp(step * log(gamma)) with log(gamma) taken in double precision: float32 pow(gamma, step)
            # would multiply gamma's rounding error by step
            scale = ops.exp(step * math.log(self.gamma))
        else:
            scale = 1.0
        return ops.cast(self.lr_min, dtype) + (self.lr_max - self.lr_min) * wave * scale

    def get_config(self):
        scale_fn = self.scale_fn
        if scale_fn is not None:
            scale_fn = keras.saving.serialize_keras_object(scale_fn)
        return {"lr_min": self.lr_min, "lr_max": self.lr_max, "step_size": self.step_size,
                "mode": self.mode, "gamma": self.gamma, "scale_fn": scale_fn,
                "scale_mode": self.scale_mode, "name": self.name}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("scale_fn"), dict):
            config["scale_fn"] = keras.saving.deserialize_keras_object(config["scale_fn"])
        return cls(**config)


class CyclicalBatchSize:
    """A policy mapping time (an epoch, usually) to a batch size in [b_min, b_max]: CLR's dual.

    SGD's gradient-noise scale is ``g ~ lr * N / B`` (Smith & Le 2018; Smith, Kindermans, Ying & Le
    2018, "Don't decay the learning rate, increase the batch size"), so the exact counterpart of a
    learning-rate triangle is a triangle in ``1 / B``: the high-noise end of a batch-size cycle is
    ``b_min``, as it is ``lr_max`` for a learning-rate cycle. With Smith's position ``u`` (see
    :func:`triangle_position`) and ``scale="inverse"`` (the default)::

        inverse_b = 1 / b_max + u * (1 / b_min - 1 / b_max)     # linear in u, like lr(u)
        batch_size = b_min * round(1 / (inverse_b * b_min))     # a multiple of b_min

    ``scale="log2"`` moves geometrically instead (``log2 B`` linear in ``u``, rounded to
    ``b_min * 2 ** k``): halving and doubling, it spends as long at every power of two.

    Every cycle starts at ``b_max``, reaches ``b_min`` halfway and returns. ``"triangular2"`` halves
    the excursion every cycle; ``"exp_range"`` multiplies it by ``gamma`` per time unit, applied per
    cycle (``gamma ** (2 * step_size * (cycle - 1))``) so that the first cycle spans the whole range
    and the batch size then settles towards ``b_max``, as a decaying CLR settles at ``lr_min``.
    ``"exponential"`` is a monotone schedule after Smith et al. 2018 (who grow the batch size by the
    factor the learning rate would have been divided by, at the same epochs): it starts at ``b_min``
    and doubles every ``step_size`` units until ``b_max``.

    Batch sizes are multiples of ``b_min``: feed micro-batches of ``b_min`` and accumulate
    (:func:`hw2.training.fit_with_batch_policy`), and a whole run is one compiled train step.

    Example:
        >>> policy = CyclicalBatchSize(64, 1024, step_size=4)
        >>> policy.trajectory(9).tolist()
        [1024, 192, 128, 64, 64, 64, 128, 192, 1024]
        >>> CyclicalBatchSize(64, 1024, step_size=4, scale="log2").trajectory(9).tolist()
        [1024, 512, 256, 128, 64, 128, 256, 512, 1024]
        >>> CyclicalBatchSize(64, 1024, step_size=2, mode="exponential").trajectory(10).tolist()
        [64, 64, 128, 128, 256, 256, 512, 512, 1024, 1024]

    Args:
        b_min: the smallest batch size, an integer >= 1.
        b_max: the largest batch size, a multiple of ``b_min`` above it (for ``scale="log2"`` and
            ``"exponential"``, ``b_min`` times a power of two).
        step_size: half a cycle (cyclic modes) or the doubling period (``"exponential"``), in the
            caller's time unit (epochs for :func:`hw2.training.fit_with_batch_policy`), > 0.
        mode: ``"triangular"``, ``"triangular2"``, ``"exp_range"`` or ``"exponential"``.
        gamma: per-unit decay of the ``exp_range`` excursion, in (0, 1].
        scale: ``"inverse"`` (1/B linear in the triangle, the dual of CLR) or ``"log2"``.
    """

    def __init__(self, b_min, b_max, step_size, mode="triangular", gamma=1.0, scale="inverse"):
        self.b_min = check_int("b_min", b_min, low=1)
        self.b_max = check_int("b_max", b_max, low=1, high=2**31)  # int64 arithmetic, memory
        if not self.b_max > self.b_min or self.b_max % self.b_min:
            raise argument_error("b_max", "a multiple of `b_min` larger than it",
                                 received=f"b_min={b_min!r}, b_max={b_max!r}")
        self.step_size = _check_step_size(step_size)
        self.mode = check_choice("mode", mode, BATCH_MODES)
        self.gamma = _check_gamma(gamma)
        self.scale = check_choice("scale", scale, BATCH_SCALES)
        if (self.scale == "log2" or self.mode == "exponential") and not _is_power_of_two(self.b_max // self.b_min):
            raise argument_error("b_max", "`b_min` times a power of two for scale='log2' or mode='exponential'",
                                 received=f"b_min={b_min!r}, b_max={b_max!r}")

    @property
    def batch_sizes(self) -> tuple[int, ...]:
        """Every batch size the policy can return, ascending."""
        if self.scale == "log2" or self.mode == "exponential":
            return tuple(self.b_min * 2**k for k in range(int(math.log2(self.b_max // self.b_min)) + 1))
        return tuple(range(self.b_min, self.b_max + 1, self.b_min))  # 1/B sweeps continuously: every multiple

    def __call__(self, t) -> int:
        """The batch size at time ``t`` (a finite number >= 0)."""
        t = check_range("t", t, low=0)
        return int(self._sizes(np.asarray([t], dtype=np.float64))[0])

    def trajectory(self, n: int) -> np.ndarray:
        """Batch sizes at ``t = 0, 1, ..., n - 1`` (int64 array)."""
        n = check_int("n", n, low=0)
        return self._sizes(np.arange(n, dtype=np.float64))

    def excursion(self, t) -> np.ndarray:
        """Smith's position ``u`` times this mode's decay at time(s) ``t``: 0 = b_max, 1 = b_min."""
        t = np.asarray(t, dtype=np.float64)
        if self.mode == "exp_range":
            cycle = np.floor(1 + t / (2 * self.step_size))
            return triangle_position(t, self.step_size) * self.gamma ** (2 * self.step_size * (cycle - 1))
        return triangle_position(t, self.step_size, self.mode, self.gamma)

    def _sizes(self, t):
        lo, hi = math.log2(self.b_min), math.log2(self.b_max)
        if self.mode == "exponential":
            log2_b = np.minimum(hi, lo + np.floor(np.asarray(t, dtype=np.float64) / self.step_size))
            return (2 ** log2_b).round().astype(np.int64)
        u = self.excursion(t)
        if self.scale == "log2":
            log2_b = np.floor(hi - u * (hi - lo) + 0.5)  # round half up: deterministic buckets
            return (2 ** np.clip(log2_b, lo, hi)).round().astype(np.int64)
        inverse = 1.0 / self.b_max + u * (1.0 / self.b_min - 1.0 / self.b_max)
        multiples = np.floor(1.0 / (inverse * self.b_min) + 0.5)
        return (self.b_min * np.clip(multiples, 1, self.b_max // self.b_min)).astype(np.int64)

    def get_config(self) -> dict:
        return {"b_min": self.b_min, "b_max": self.b_max, "step_size": self.step_size,
                "mode": self.mode, "gamma": self.gamma, "scale": self.scale}

    @classmethod
    def from_config(cls, config: dict) -> CyclicalBatchSize:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"CyclicalBatchSize({args})"


class NoiseMatchedBatchSize:
    """Per-update batch sizes at which a fixed rate ``lr`` has a learning-rate schedule's noise temperature.

    SGD's noise temperature is ``lr / B`` (:class:`CyclicalBatchSize`). The schedule runs at
    ``reference_batch``: its step ``i`` applies the rate ``r_i`` to ``reference_batch`` samples. A
    run at the fixed rate ``lr`` mirrors it update by update: each of its updates takes the samples
    of the schedule's next ``k`` steps, with ``k`` chosen so that their summed rate
    ``r_s + ... + r_(s+k-1)`` is nearest ``lr`` (in ratio)::

        batch_size = k * reference_batch        # lr / batch_size == mean(r_s .. r_(s+k-1)) / reference_batch

    so both runs apply the same total step length to the same samples and, over every update of
    the mirror, have the same mean temperature. The resolution is one update: the mirror reaches
    the schedule's hottest point (``k = 1``) only where one step's rate is about ``lr``, and a batch
    of ``b_max`` only where ``b_max / reference_batch`` consecutive steps sum to about ``lr``
    (near a trough that is wide enough). ``k`` is capped at ``b_max / reference_batch``; the last
    update takes the samples that remain.

    Consumed by :class:`hw2.training.BatchSizeSchedule` through :meth:`update_plan` (one batch size
    per update, not per epoch).

    Example:
        >>> clr = CyclicalLearningRate(lr_min=1e-3, lr_max=1.6e-2, step_size=40)   # step: 2 epochs of 20
        >>> policy = NoiseMatchedBatchSize(clr, lr=1.6e-2, reference_batch=64, b_max=1024, steps_per_epoch=20)
        >>> plan = policy.update_plan(epochs=4)
        >>> int(plan.sum()) == 4 * 20 * 64, int(plan.min()), int(plan.max())
        (True, 64, 448)

    Args:
        schedule: a learning-rate schedule (``step -> rate``), e.g. :class:`CyclicalLearningRate`.
        lr: the fixed learning rate of the batch-size run, > 0.
        reference_batch: the batch size the schedule runs at (also the smallest batch size), >= 1.
        b_max: the largest batch size (a cap), a multiple of ``reference_batch``.
        steps_per_epoch: the schedule's steps per epoch (``N // reference_batch``), >= 1.
    """

    def __init__(self, schedule, lr, reference_batch, b_max, steps_per_epoch):
        self.schedule = check_callable("schedule", schedule, "step -> rate")
        self.lr = float(check_positive("lr", lr))
        self.reference_batch = check_int("reference_batch", reference_batch, low=1)
        self.b_max = check_int("b_max", b_max, low=1, high=2**31)
        if self.b_max % self.reference_batch or self.b_max < self.reference_batch:
            raise argument_error("b_max", "a multiple of `reference_batch` >= it",
                                 received=f"reference_batch={reference_batch!r}, b_max={b_max!r}")
        self.steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, low=1)

    def rates(self, epochs: int) -> np.ndarray:
        """The schedule's rate at each of its ``epochs * steps_per_epoch`` steps (float64).

        The schedule is called once on every step at once; one that does not answer with one rate
        per step (``lambda step: 0.01`` gives a single number; Python control flow fails on an
        array) is called step by step instead.
        """
        steps = np.arange(check_int("epochs", epochs, low=1) * self.steps_per_epoch)
        try:
            rates = np.asarray(ops.convert_to_numpy(self.schedule(steps)), dtype=np.float64)
        except (TypeError, ValueError):  # not vectorized: the step-by-step call below says what is wrong
            rates = np.empty(0)
        if rates.shape != steps.shape:
            rates = np.asarray([ops.convert_to_numpy(self.schedule(step)) for step in steps], dtype=np.float64)
            if rates.shape != steps.shape:
                raise argument_error("schedule", "a callable returning one rate per step",
                                     received=f"a schedule returning shape {rates.shape[1:]} at one step")
        return rates

    def groups(self, epochs: int) -> tuple[np.ndarray, np.ndarray]:
        """``(k, rate_sum)`` per update: schedule steps mirrored and the sum of their rates."""
        rates = self.rates(epochs)
        if not np.all(np.isfinite(rates)) or np.any(rates <= 0):
            bad = int(np.flatnonzero(~(np.isfinite(rates) & (rates > 0)))[0])
            raise argument_error("schedule", "a callable giving finite rates > 0 at every step (a rate of 0 has no "
                                 "matching batch size)", received=f"rate {float(rates[bad])!r} at step {bad}")
        cumulative = np.concatenate([[0.0], np.cumsum(rates)])
        k_cap, total = self.b_max // self.reference_batch, len(rates)
        ks, sums, start = [], [], 0
        while start < total:
            # the first k whose sum reaches lr, and the one before it: keep the nearer in ratio
            k = int(np.searchsorted(cumulative, cumulative[start] + self.lr)) - start
            candidates = {min(max(c, 1), k_cap, total - start) for c in (k - 1, k)}
            k = min(candidates, key=lambda c: abs(math.log((cumulative[start + c] - cumulative[start]) / self.lr)))
            ks.append(k)
            sums.append(cumulative[start + k] - cumulative[start])
            start += k
        return np.asarray(ks, dtype=np.int64), np.asarray(sums)

    def update_plan(self, epochs: int) -> np.ndarray:
        """The batch size of every update of an ``epochs``-epoch run (int64; sums to the samples fed)."""
        return self.groups(epochs)[0] * self.reference_batch

    def __repr__(self) -> str:
        return (f"NoiseMatchedBatchSize(lr={self.lr!r}, reference_batch={self.reference_batch}, b_max={self.b_max}, "
                f"steps_per_epoch={self.steps_per_epoch})")


def _is_power_of_two(value) -> bool:
    return (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1
            and (int(value) & (int(value) - 1)) == 0)
