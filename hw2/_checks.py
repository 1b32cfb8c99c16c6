"""Argument checks with Keras' message wording, in one place.

Every public constructor and function in :mod:`hw2` validates its arguments in the form of Keras'
own messages (``keras.optimizers.Optimizer``: "`gradient_accumulation_steps` must be an integer >= 2.
Received: gradient_accumulation_steps=1"; Keras' wording varies from check to check, :mod:`hw2` keeps
one form), a ``ValueError`` that names the argument, states the requirement and echoes the value::

    Argument `step_size` must be > 0. Received: step_size=0

Each check returns the value it accepted (converted where that is the point: :func:`check_int`
returns an ``int``), so a constructor reads ``self.step_size = check_positive("step_size",
step_size)``. The numeric checks accept Python and NumPy real numbers, never ``bool`` (``True``
is not a batch size), and reject ``nan`` and ``inf`` whatever the bounds.

Example:
    >>> check_positive("step_size", 4)
    4
    >>> check_positive("step_size", 0)
    Traceback (most recent call last):
    ...
    ValueError: Argument `step_size` must be > 0. Received: step_size=0
    >>> check_choice("mode", "c", ("a", "b"))
    Traceback (most recent call last):
    ...
    ValueError: Argument `mode` must be one of ('a', 'b'). Received: mode='c'
"""

from __future__ import annotations

import math
import numbers

INCLUSIVE = ("both", "left", "right", "neither")


def _shown(value) -> str:
    """``repr`` of the value, NumPy scalars shown as the Python number they hold (``0.5``, not
    ``np.float64(0.5)``)."""
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()
    return repr(value)


def _fail(name, requirement, value):
    return argument_error(name, requirement, value)


_UNSET = object()


def argument_error(name, requirement: str, value=_UNSET, *, received: str | None = None) -> ValueError:
    """The ``ValueError`` for a rule none of the checks below covers, in their wording: the one way
    :mod:`hw2` words a bad argument (``raise argument_error(...)``).

    ``name`` is one argument's name, or a tuple of the names a rule relates ("Arguments `a` and
    `b` must ..."). What follows "Received:" is ``name=value`` for one argument, else ``received``.

    Example:
        >>> argument_error("b_max", "a multiple of `b_min`", 96)
        ValueError('Argument `b_max` must be a multiple of `b_min`. Received: b_max=96')
        >>> argument_error(("x", "y"), "of the same length", received="len(x)=3, len(y)=2")
        ValueError('Arguments `x` and `y` must be of the same length. Received: len(x)=3, len(y)=2')
    """
    if isinstance(name, tuple):
        names = [f"`{n}`" for n in name]
        subject = "Arguments " + (", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0])
    else:
        subject = f"Argument `{name}`"
    if received is None:
        if value is _UNSET or isinstance(name, tuple):
            raise TypeError("argument_error needs `received` for several names or without a value")
        received = f"{name}={_shown(value)}"
    return ValueError(f"{subject} must be {requirement}. Received: {received}")


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _bounds(low, high, inclusive) -> str:
    """The requirement in words: ``"> 0"``, ``">= 1"``, ``"in [0, 1)"``; empty when unbounded."""
    left_closed, right_closed = inclusive in ("both", "left"), inclusive in ("both", "right")
    if low is not None and high is not None:
        return f"in {'[' if left_closed else '('}{low}, {high}{']' if right_closed else ')'}"
    if low is not None:
        return f"{'>=' if left_closed else '>'} {low}"
    if high is not None:
        return f"{'<=' if right_closed else '<'} {high}"
    return ""


def _within(value, low, high, inclusive) -> bool:
    left_closed, right_closed = inclusive in ("both", "left"), inclusive in ("both", "right")
    above = low is None or (value >= low if left_closed else value > low)
    below = high is None or (value <= high if right_closed else value < high)
    return above and below


def check_finite(name, value):
    """A real number that is neither ``nan`` nor infinite.

    Example:
        >>> check_finite("lr_max", 0.1)
        0.1
        >>> check_finite("lr_max", float("inf"))
        Traceback (most recent call last):
        ...
        ValueError: Argument `lr_max` must be finite. Received: lr_max=inf
    """
    if not (_is_real(value) and math.isfinite(value)):
        raise _fail(name, "finite", value)
    return value


def check_range(name, value, low=None, high=None, inclusive="both"):
    """A finite real number between ``low`` and ``high`` (either may be ``None``: unbounded).

    ``inclusive`` says which ends belong to the interval: ``"both"``, ``"left"``, ``"right"`` or
    ``"neither"``, as in scikit-learn's ``Interval(closed=...)``.

    Example:
        >>> check_range("gamma", 1.0, 0, 1, inclusive="right")
        1.0
        >>> check_range("negative_slope", 1.0, 0, 1, inclusive="left")
        Traceback (most recent call last):
        ...
        ValueError: Argument `negative_slope` must be in [0, 1). Received: negative_slope=1.0
        >>> check_range("tolerance", -1e-3, low=0)
        Traceback (most recent call last):
        ...
        ValueError: Argument `tolerance` must be >= 0. Received: tolerance=-0.001
        >>> check_range("tolerance", float("nan"), low=0)
        Traceback (most recent call last):
        ...
        ValueError: Argument `tolerance` must be >= 0 and finite. Received: tolerance=nan
    """
    if inclusive not in INCLUSIVE:
        raise _fail("inclusive", f"one of {INCLUSIVE}", inclusive)
    requirement = _bounds(low, high, inclusive)
    if not _is_real(value):
        raise _fail(name, requirement or "a finite number", value)
    if not math.isfinite(value):
        raise _fail(name, f"{requirement} and finite" if requirement else "finite", value)
    if not _within(value, low, high, inclusive):
        raise _fail(name, requirement, value)
    return value


def check_positive(name, value):
    """A finite real number > 0.

    Example:
        >>> check_positive("learning_rate", 1e-3)
        0.001
        >>> check_positive("learning_rate", -1)
        Traceback (most recent call last):
        ...
        ValueError: Argument `learning_rate` must be > 0. Received: learning_rate=-1
    """
    return check_range(name, value, low=0, inclusive="neither")


def check_probability(name, value, inclusive="both"):
    """A finite real number in [0, 1] (``inclusive`` as in :func:`check_range`: a dropout rate is
    ``inclusive="left"``).

    Example:
        >>> check_probability("dropout", 0.5, inclusive="left")
        0.5
        >>> check_probability("dropout", 1, inclusive="left")
        Traceback (most recent call last):
        ...
        ValueError: Argument `dropout` must be in [0, 1). Received: dropout=1
    """
    return check_range(name, value, 0, 1, inclusive=inclusive)


def check_int(name, value, low=None, high=None):
    """An integer in ``[low, high]`` (either bound may be ``None``), returned as a Python ``int``.

    Integral floats (``3.0``) are accepted; ``bool``, ``2.5``, ``nan`` and ``inf`` are not.

    Example:
        >>> check_int("epochs", 3.0, low=1)
        3
        >>> check_int("epochs", 2.5, low=1)
        Traceback (most recent call last):
        ...
        ValueError: Argument `epochs` must be an integer >= 1. Received: epochs=2.5
        >>> check_int("seed", True)
        Traceback (most recent call last):
        ...
        ValueError: Argument `seed` must be an integer. Received: seed=True
    """
    requirement = " ".join(filter(None, ("an integer", _bounds(low, high, "both"))))
    integral = _is_real(value) and math.isfinite(value) and float(value).is_integer()
    if not integral or not _within(value, low, high, "both"):
        raise _fail(name, requirement, value)
    return int(value)


def check_increasing(name, values, low=None, high=None, inclusive="both", integer=False):
    """A non-empty, strictly increasing sequence of finite numbers within the bounds (as in
    :func:`check_range`), or with ``integer=True`` of integers in ``[low, high]`` (as in
    :func:`check_int`): a grid of learning rates or batch sizes. Returned as a tuple.

    Example:
        >>> check_increasing("batch_sizes", [8, 16.0], low=1, high=64, integer=True)
        (8, 16)
        >>> check_increasing("learning_rates", [0.1, 0.01], low=0, inclusive="neither")
        Traceback (most recent call last):
        ...
        ValueError: Argument `learning_rates` must be a non-empty, strictly increasing list of finite numbers > 0. \
Received: learning_rates=[0.1, 0.01]
    """
    kind = "a non-empty, strictly increasing list of " + ("integers" if integer else "finite numbers")
    requirement = " ".join(filter(None, (kind, _bounds(low, high, "both" if integer else inclusive))))
    try:
        accepted = tuple(check_int(name, v, low, high) if integer else check_range(name, v, low, high, inclusive)
                         for v in values)
    except (TypeError, ValueError):  # not iterable, or an element out of bounds
        raise _fail(name, requirement, values) from None
    if not accepted or any(b <= a for a, b in zip(accepted, accepted[1:])):
        raise _fail(name, requirement, values)
    return accepted


def check_power_of_two(name, value):
    """An integer power of two (1, 2, 4, ...), returned as a Python ``int``; ``True`` is not one.

    Example:
        >>> check_power_of_two("micro_batch", 64)
        64
        >>> check_power_of_two("micro_batch", 96)
        Traceback (most recent call last):
        ...
        ValueError: Argument `micro_batch` must be a power of two >= 1. Received: micro_batch=96
    """
    integral = _is_real(value) and math.isfinite(value) and float(value).is_integer() and value >= 1
    if not integral or int(value) & (int(value) - 1):
        raise _fail(name, "a power of two >= 1", value)
    return int(value)


def check_choice(name, value, allowed):
    """One of ``allowed`` (any iterable of hashable or comparable values; shown as a tuple).

    Example:
        >>> check_choice("activation", "relu", ("relu", "tanh"))
        'relu'
        >>> check_choice("activation", "elu", ("relu", "tanh"))
        Traceback (most recent call last):
        ...
        ValueError: Argument `activation` must be one of ('relu', 'tanh'). Received: activation='elu'
    """
    allowed = tuple(allowed)
    try:
        ok = value in allowed
    except (TypeError, ValueError):  # unhashable, or an array whose `==` is elementwise
        ok = False
    if not ok:
        raise _fail(name, f"one of {allowed}", value)
    return value


def check_callable(name, value, signature: str = "", optional=False):
    """A callable (a schedule, a policy, a scale function), described by ``signature`` (``"step ->
    rate"``); with ``optional=True`` it may also be ``None``.

    Example:
        >>> check_callable("scale_fn", None, optional=True) is None
        True
        >>> check_callable("schedule", 0.01, "step -> rate")
        Traceback (most recent call last):
        ...
        ValueError: Argument `schedule` must be a callable step -> rate. Received: schedule=0.01
    """
    if not (callable(value) or optional and value is None):
        requirement = " ".join(filter(None, ("a callable", signature)))
        raise _fail(name, f"{requirement} or None" if optional else requirement, value)
    return value


def check_fields(obj, names, low=1, optional=False):
    """:func:`check_int` (``>= low``) on each attribute of ``obj`` named in ``names``: the
    ``__post_init__`` of a config dataclass whose fields are counts. With ``optional=True`` a field
    may also be ``None``.

    Example:
        >>> from dataclasses import dataclass
        >>> @dataclass
        ... class Config:
        ...     epochs: int = 10
        ...     seeds: int = 0
        >>> check_fields(Config(), ("epochs", "seeds"))
        Traceback (most recent call last):
        ...
        ValueError: Argument `seeds` must be an integer >= 1. Received: seeds=0
    """
    for name in names:
        value = getattr(obj, name)
        if optional and value is None:
            continue
        try:
            check_int(name, value, low=low)
        except ValueError:
            raise _fail(name, f"an integer >= {low} or None" if optional else f"an integer >= {low}", value) from None
