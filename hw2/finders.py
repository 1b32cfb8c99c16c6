"""Finders: where to put the learning-rate and batch-size bounds of a cyclical policy.

* :func:`lr_range_test` -- one run, the learning rate growing exponentially per batch, loss smoothed
  (Smith 2017; the pyimagesearch / fastai / Lightning "LR finder"). The caller's model and optimizer
  are untouched: the test trains a clone with a fresh optimizer of the same kind, in memory.
* :func:`lr_sweep` -- the homework's version: one short training per learning rate, every run from
  the same initial weights and in the same data order.
* :func:`batch_size_sweep` / :func:`batch_size_finder` -- the "Keras Batch Finder": at a fixed
  learning rate, one short training per batch size (powers of two), same initial weights.
* :func:`suggest_lr` / :func:`suggest_batch_size` -- rules that read ``(low, high)`` bounds off a
  curve and return the evidence, so plots can mark it.

The default learning-rate rule, on the loss-vs-learning-rate curve cut at the first non-finite
point::

    reference = loss at the smallest learning rates       # nothing learned yet
    drop(i) = (reference - loss[i]) / (reference - min(loss))
    lr_min = first learning rate with drop >= 0.1        # the loss has started to fall
    lr_max = first learning rate with drop >= 0.9        # end of the steep descent, before the minimum

If both land on the same grid point, ``lr_min`` is the grid point before it (the largest learning
rate at which the loss had not yet fallen measurably). fastai's ``valley`` and ``steep`` (and
``minimum``: a tenth of the minimum-loss rate) are there for comparison; they give one value each.

The default batch-size rule is its mirror image: the batch size plays the inverse of the learning
rate (gradient noise ``g ~ lr * N / B``), so the curve is read from the largest batch down::

    reference = initial loss (or the worst finite loss)
    drop(B) = (reference - loss(B)) / (reference - min(loss))
    b_max = largest batch size with drop >= 0.1          # training has started to pay off
    b_min = largest batch size with drop >= 0.9          # nearly as good as the best batch size
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from hw2 import training

DEFAULT_SWEEP_LRS = tuple(float(v) for v in np.logspace(-9, 1, 10))
DEFAULT_BATCH_SIZES = tuple(2**k for k in range(6, 14))  # 64 ... 8192
LR_RULES = ("default", "valley", "steep", "minimum")
BATCH_RULES = ("default",)
BUDGETS = ("epochs", "steps")
_NEVER_FELL = "the loss never fell measurably below the reference"


# --------------------------------------------------------------------------------- suggestions


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """What a rule read off a finder curve, with the evidence to mark it on a plot.

    Attributes:
        rule: the rule's name.
        value: the rule's headline value (``lr_max`` / ``b_min`` for ``"default"``).
        index: position of ``value`` on the curve (``-1`` if it is not a curve point).
        low, high: the suggested bounds (``None`` for single-value rules).
        low_index, high_index: their positions on the curve.
        reliable: ``False`` when the curve never fell measurably; the values are then fallbacks.
        evidence: the numbers the rule used (reference loss, minimum, slopes, drop fractions, ...).
    """

    rule: str
    value: float
    index: int
    low: float | None = None
    high: float | None = None
    low_index: int | None = None
    high_index: int | None = None
    reliable: bool = True
    evidence: dict = dataclasses.field(default_factory=dict)

    @property
    def lr_min(self):
        return self.low

    @property
    def lr_max(self):
        return self.high

    @property
    def b_min(self):
        return None if self.low is None else int(self.low)

    @property
    def b_max(self):
        return None if self.high is None else int(self.high)

    def to_dict(self) -> dict:
        """JSON values only (for the results store)."""
        return _jsonable(dataclasses.asdict(self))


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in np.asarray(value).tolist()] if isinstance(value, np.ndarray) \
            else [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _curve(xs, losses, x_name):
    xs = np.asarray(xs, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    if xs.ndim != 1 or xs.shape != losses.shape or len(xs) < 2:
        raise ValueError(f"Arguments `{x_name}` and `losses` must be 1-D of the same length >= 2. "
                         f"Received shapes {xs.shape} and {losses.shape}")
    if not np.all(xs > 0) or not np.all(np.diff(xs) > 0):
        raise ValueError(f"Argument `{x_name}` must be positive and strictly increasing.")
    return xs, losses


def _slopes(xs, losses):
    """d loss / d log10(x) at every point (central differences; non-finite where undefined)."""
    if len(xs) < 2:
        return np.full(len(xs), np.nan)
    return np.gradient(losses, np.log10(xs))


def _valley_index(losses) -> int:
    """fastai's ``valley``: the longest decreasing run, 2/3 down it (fastai.callback.schedule)."""
    n = len(losses)
    max_start = max_end = 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    return int(max_start + int(sections) + int(sections / 2))


def suggest_lr(lrs, losses, rule: str = "default", *, reference: float | None = None,
               fractions=(0.1, 0.9), skip_start: int = 0, skip_end: int = 0) -> Suggestion:
    """Suggest learning-rate bounds from a loss-vs-learning-rate curve (range test or sweep).

    The curve is cut at its first non-finite loss (divergence). Rules (see the module docstring):
    ``"default"`` gives ``lr_min`` and ``lr_max`` from the fraction of the total loss drop reached;
    ``"valley"`` and ``"steep"`` are fastai's (longest valley; steepest negative slope in log-lr);
    ``"minimum"`` is fastai's tenth of the minimum-loss learning rate.

    Example:
        >>> lrs = np.logspace(-5, 0, 6)               # 1e-5 ... 1
        >>> losses = [2.30, 2.29, 2.0, 0.9, 0.6, np.nan]
        >>> s = suggest_lr(lrs, losses)
        >>> float(s.lr_min), float(s.lr_max), s.evidence["min_index"]
        (0.001, 0.1, 4)
        >>> float(suggest_lr(lrs, losses, "steep").value)
        0.001

    Args:
        lrs: learning rates, increasing.
        losses: the loss at each (smoothed for a range test; the last epoch's for a sweep).
        rule: one of ``"default"``, ``"valley"``, ``"steep"``, ``"minimum"``.
        reference: the "nothing learned" loss for ``"default"``; default the median of the first
            5 % of the curve (at least its first point).
        fractions: ``(low, high)`` fractions of the total drop for ``"default"``.
        skip_start, skip_end: points dropped from the ends first (fastai's ``lr_find`` drops the
            first 10 % and the last 5 points before ``valley``/``steep``).

    Returns:
        :class:`Suggestion`; indices refer to the full curve as passed in.
    """
    if rule not in LR_RULES:
        raise ValueError(f"Argument `rule` must be one of {', '.join(map(repr, LR_RULES))}. "
                         f"Received: rule={rule!r}")
    lrs, losses = _curve(lrs, losses, "lrs")
    lo_frac, hi_frac = _check_fractions(fractions)
    stop = len(lrs) - int(skip_end)
    finite = np.isfinite(losses[:stop])
    cut = int(np.argmin(finite)) if not finite.all() else stop
    start = min(int(skip_start), max(cut - 1, 0))
    xs, ls = lrs[start:cut], losses[start:cut]
    evidence: dict[str, Any] = {"curve_start": start, "curve_end": cut}
    if len(xs) < 2:
        value = float(lrs[max(cut - 1, 0)])
        return Suggestion(rule, value, max(cut - 1, 0), value / 10 if rule == "default" else None,
                          value if rule == "default" else None, reliable=False,
                          evidence=dict(evidence, reason="fewer than two finite points"))
    slopes = _slopes(xs, ls)
    if rule == "valley":
        i = _valley_index(ls)
        return Suggestion(rule, float(xs[i]), start + i, evidence=dict(evidence, slope=float(slopes[i]),
                                                                       loss=float(ls[i])))
    if rule == "steep":
        grads = np.diff(ls) / np.diff(np.log(xs))
        i = int(np.argmin(grads))
        return Suggestion(rule, float(xs[i]), start + i,
                          evidence=dict(evidence, slope=float(slopes[i]), loss=float(ls[i]),
                                        slope_per_ln_lr=float(grads[i])))
    i_min = int(np.argmin(ls))
    if rule == "minimum":
        return Suggestion(rule, float(xs[i_min] / 10), -1,
                          evidence=dict(evidence, min_index=start + i_min, min_lr=float(xs[i_min]),
                                        min_loss=float(ls[i_min])))
    # a range test's first points are single noisy batches: take the median of the first 5 %
    ref = float(np.median(ls[: max(1, len(ls) // 20)])) if reference is None else float(reference)
    total = ref - float(ls[i_min])
    evidence.update(reference_loss=ref, min_loss=float(ls[i_min]), min_index=start + i_min,
                    fractions=[lo_frac, hi_frac])
    if not total > 1e-3 * max(abs(ref), 1e-12):
        value = float(xs[i_min])
        return Suggestion(rule, value, start + i_min, value / 10, value, -1, start + i_min, reliable=False,
                          evidence=dict(evidence, reason=_NEVER_FELL))
    drop = (ref - ls) / total
    head = drop[: i_min + 1]
    i_hi = int(np.argmax(head >= hi_frac))
    i_lo = int(np.argmax(head >= lo_frac))
    if i_lo >= i_hi:
        i_lo = max(i_hi - 1, 0)
    low = float(xs[i_lo]) if i_lo < i_hi else float(xs[i_hi]) / 10
    evidence.update(drop=drop, slope_low=float(slopes[i_lo]), slope_high=float(slopes[i_hi]))
    return Suggestion(rule, float(xs[i_hi]), start + i_hi, low, float(xs[i_hi]),
                      start + i_lo if i_lo < i_hi else -1, start + i_hi, evidence=evidence)


def suggest_batch_size(batch_sizes, losses, rule: str = "default", *, reference: float | None = None,
                       fractions=(0.1, 0.9)) -> Suggestion:
    """Suggest ``b_min`` / ``b_max`` from final training loss vs batch size at a fixed learning rate.

    The mirror of :func:`suggest_lr`'s default rule (see the module docstring): read from the
    largest batch size down, ``b_max`` is the first to reach ``fractions[0]`` of the total loss drop
    and ``b_min`` the first to reach ``fractions[1]``. Batch sizes at and below the largest diverged
    one are excluded (too noisy for this learning rate). If both bounds coincide, ``b_max`` is the
    next larger batch size (or ``b_min`` the next smaller).

    Example:
        >>> sizes = [64, 128, 256, 512, 1024]
        >>> s = suggest_batch_size(sizes, [0.40, 0.42, 0.55, 1.20, 2.0], reference=2.3)
        >>> s.b_min, s.b_max
        (256, 1024)

    Args:
        batch_sizes: increasing batch sizes.
        losses: final training loss of each run (non-finite: diverged).
        rule: ``"default"``.
        reference: the "nothing learned" loss, e.g. the initial loss; default the worst finite loss.
        fractions: ``(low, high)`` fractions of the total drop.

    Returns:
        :class:`Suggestion` with ``value = b_min``, ``low = b_min``, ``high = b_max``.
    """
    if rule not in BATCH_RULES:
        raise ValueError(f"Argument `rule` must be one of {', '.join(map(repr, BATCH_RULES))}. "
                         f"Received: rule={rule!r}")
    sizes, losses = _curve(batch_sizes, losses, "batch_sizes")
    lo_frac, hi_frac = _check_fractions(fractions)
    finite = np.isfinite(losses)
    first = int(np.flatnonzero(~finite).max()) + 1 if not finite.all() else 0
    evidence: dict[str, Any] = {"curve_start": first, "curve_end": len(sizes)}
    if len(sizes) - first < 1:
        return Suggestion(rule, float(sizes[-1]), len(sizes) - 1, float(sizes[-1]), float(sizes[-1]),
                          len(sizes) - 1, len(sizes) - 1, reliable=False,
                          evidence=dict(evidence, reason="every batch size diverged"))
    xs, ls = sizes[first:], losses[first:]
    i_min = int(np.argmin(ls))
    ref = float(np.max(ls)) if reference is None else float(reference)
    total = ref - float(ls[i_min])
    evidence.update(reference_loss=ref, min_loss=float(ls[i_min]), min_index=first + i_min,
                    fractions=[lo_frac, hi_frac])
    if not total > 1e-3 * max(abs(ref), 1e-12) or len(xs) < 2:
        i = first + i_min
        return Suggestion(rule, float(sizes[i]), i, float(sizes[i]), float(sizes[min(i + 1, len(sizes) - 1)]),
                          i, min(i + 1, len(sizes) - 1), reliable=False,
                          evidence=dict(evidence, reason=_NEVER_FELL if len(xs) >= 2
                                        else "only one batch size did not diverge"))
    drop = (ref - ls) / total
    tail = np.arange(i_min, len(xs))  # batch sizes from the best one upwards
    reached_hi = tail[drop[tail] >= hi_frac]
    reached_lo = tail[drop[tail] >= lo_frac]
    i_bmin, i_bmax = int(reached_hi.max()), int(reached_lo.max())
    if i_bmin == i_bmax:
        if i_bmax + 1 < len(xs):
            i_bmax += 1
        elif i_bmin > 0:
            i_bmin -= 1
    slopes = _slopes(xs, ls)
    evidence.update(drop=drop, slope_low=float(slopes[i_bmin]), slope_high=float(slopes[i_bmax]))
    return Suggestion(rule, float(xs[i_bmin]), first + i_bmin, float(xs[i_bmin]), float(xs[i_bmax]),
                      first + i_bmin, first + i_bmax, evidence=evidence)


def _check_fractions(fractions):
    lo, hi = (float(f) for f in fractions)
    if not 0 < lo < hi <= 1:
        raise ValueError(f"Argument `fractions` must be (low, high) with 0 < low < high <= 1. "
                         f"Received: fractions={tuple(fractions)!r}")
    return lo, hi


# --------------------------------------------------------------------------------- LR range test


@dataclasses.dataclass
class LRRangeTestResult:
    """The curve of an LR range test.

    Attributes:
        lrs: learning rate of every batch trained.
        losses: that batch's loss.
        smoothed: bias-corrected exponential moving average of ``losses`` (``beta``).
        stopped_early: whether the test stopped before ``steps`` batches.
        stop_reason: ``"completed"``, ``"exploded"`` (smoothed > ``stop_factor`` x best) or
            ``"non-finite"``.
        best_index: index of the smallest smoothed loss.
        steps: batches planned; batch_size, start_lr, end_lr, beta, stop_factor: the settings.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stopped_early: bool
    stop_reason: str
    best_index: int
    steps: int
    batch_size: int
    start_lr: float
    end_lr: float
    beta: float
    stop_factor: float

    def suggest(self, rule: str = "default", **kwargs) -> Suggestion:
        """:func:`suggest_lr` on the smoothed curve (fastai's end trimming for valley/steep)."""
        if rule in ("valley", "steep"):
            kwargs.setdefault("skip_start", len(self.lrs) // 10 if len(self.lrs) >= 20 else 0)
            kwargs.setdefault("skip_end", 5 if len(self.lrs) >= 20 else 0)
        return suggest_lr(self.lrs, self.smoothed, rule, **kwargs)

    def to_dict(self) -> dict:
        """Numpy arrays and JSON scalars (for the results store)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict) -> LRRangeTestResult:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


def lr_range_test(model, x, y, *, start_lr: float = 1e-9, end_lr: float = 10.0, epochs: int | None = None,
                  steps: int | None = None, batch_size: int = 64, beta: float = 0.98,
                  stop_factor: float = 4.0, seed: int = 0, progress: bool = False) -> LRRangeTestResult:
    """LR range test: grow the learning rate exponentially per batch and record the loss.

    Batch ``i`` of ``steps`` trains at ``start_lr * (end_lr / start_lr) ** (i / (steps - 1))``. The
    loss is smoothed as ``avg = beta * avg + (1 - beta) * loss``, ``smoothed = avg / (1 - beta ** (i + 1))``
    and the test stops once the smoothed loss exceeds ``stop_factor`` times its best or any loss
    is not finite.

    The test trains a clone of ``model`` (same weights) compiled with a fresh optimizer of the same
    class and settings (only the learning rate replaced, no gradient accumulation), all in memory.
    ``model``'s weights and its optimizer's state (iterations, slots, learning rate) are therefore
    exactly what they were, and nothing is written to disk.

    Example:
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        >>> model.compile(optimizer=keras.optimizers.SGD(momentum=0.9),
        ...               loss="sparse_categorical_crossentropy")
        >>> x, y = np.random.rand(512, 4).astype("float32"), np.random.randint(0, 3, 512)
        >>> result = lr_range_test(model, x, y, start_lr=1e-4, end_lr=10, epochs=2, batch_size=32)
        >>> len(result.lrs) <= 32, float(result.lrs[0])
        (True, 0.0001)

    Args:
        model: a compiled Keras model (its ``loss`` is used).
        x, y: training arrays; each epoch is a seeded shuffle cut into full batches.
        start_lr, end_lr: the sweep's ends (0 < start_lr < end_lr).
        epochs, steps: the length, in epochs of ``N // batch_size`` batches or in batches (give at
            most one; default one epoch).
        batch_size: batch size (1 <= batch_size <= N).
        beta: smoothing factor in [0, 1).
        stop_factor: stop when smoothed loss > stop_factor x best (> 1).
        seed: fixes the data order.
        progress: show a tqdm bar on standard error.
    """
    if getattr(model, "optimizer", None) is None:
        raise ValueError("Argument `model` must be compiled (model.compile(...)) before the range test.")
    if not 0 < start_lr < end_lr or not math.isfinite(end_lr):
        raise ValueError("Arguments `start_lr` and `end_lr` must satisfy 0 < start_lr < end_lr < inf. "
                         f"Received: start_lr={start_lr!r}, end_lr={end_lr!r}")
    if not 0 <= beta < 1:
        raise ValueError(f"Argument `beta` must be in [0, 1). Received: beta={beta!r}")
    if not stop_factor > 1:
        raise ValueError(f"Argument `stop_factor` must be > 1. Received: stop_factor={stop_factor!r}")
    x, y = np.asarray(x), np.asarray(y)
    n = len(x)
    if not 1 <= batch_size <= n:
        raise ValueError(f"Argument `batch_size` must be in [1, {n}] (the number of samples). "
                         f"Received: batch_size={batch_size!r}")
    if epochs is not None and steps is not None:
        raise ValueError("Pass at most one of `epochs` and `steps`. "
                         f"Received: epochs={epochs!r}, steps={steps!r}")
    per_epoch = n // batch_size
    if steps is None:
        if epochs is not None and epochs < 1:
            raise ValueError(f"Argument `epochs` must be >= 1. Received: epochs={epochs!r}")
        steps = per_epoch * (1 if epochs is None else int(epochs))
    if steps < 2:
        raise ValueError(f"Argument `steps` must be >= 2. Received: steps={steps!r}")

    clone = _clone_for_training(model, learning_rate=start_lr)
    factor = (end_lr / start_lr) ** (1.0 / (steps - 1))
    lrs, losses, smoothed = [], [], []
    avg, best, reason = 0.0, math.inf, "completed"
    bar = _progress(steps, progress, "LR range test")
    for i in range(steps):
        epoch, within = divmod(i, per_epoch)
        if within == 0:
            order = training.epoch_order(n, seed, epoch)
        batch = order[within * batch_size:(within + 1) * batch_size]
        lr = start_lr * factor**i
        clone.optimizer.learning_rate.assign(lr)
        loss = float(clone.train_on_batch(x[batch], y[batch], return_dict=True)["loss"])
        avg = beta * avg + (1 - beta) * loss
        smooth = avg / (1 - beta ** (i + 1))
        lrs.append(lr)
        losses.append(loss)
        smoothed.append(smooth)
        bar.update(1)
        if not (math.isfinite(loss) and math.isfinite(smooth)):
            reason = "non-finite"
            break
        if i > 0 and smooth > stop_factor * best:
            reason = "exploded"
            break
        best = min(best, smooth)
    bar.close()
    smoothed_arr = np.asarray(smoothed)
    finite = np.where(np.isfinite(smoothed_arr), smoothed_arr, np.inf)
    return LRRangeTestResult(lrs=np.asarray(lrs), losses=np.asarray(losses), smoothed=smoothed_arr,
                             stopped_early=reason != "completed", stop_reason=reason,
                             best_index=int(np.argmin(finite)), steps=int(steps), batch_size=int(batch_size),
                             start_lr=float(start_lr), end_lr=float(end_lr), beta=float(beta),
                             stop_factor=float(stop_factor))


def _clone_for_training(model, learning_rate: float):
    """A clone of ``model`` with its weights, compiled with a fresh copy of its optimizer and loss."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    config = dict(model.optimizer.get_config(), learning_rate=float(learning_rate))
    if "gradient_accumulation_steps" in config:
        config["gradient_accumulation_steps"] = None
    optimizer = model.optimizer.__class__.from_config(config)
    clone.compile(optimizer=optimizer, loss=model.loss)
    return clone


def _progress(total, enabled, desc):
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=desc, leave=False)


# --------------------------------------------------------------------------------- LR sweep


def _make_optimizer(optimizer, learning_rate: float):
    if callable(optimizer) and not isinstance(optimizer, keras.optimizers.Optimizer):
        return optimizer(learning_rate)
    if isinstance(optimizer, str):
        return keras.optimizers.get({"class_name": optimizer, "config": {"learning_rate": learning_rate}})
    raise ValueError("Argument `optimizer` must be an optimizer name ('sgd', 'adam', ...) or a callable "
                     f"learning_rate -> optimizer. Received: optimizer={optimizer!r}")


class _Runs:
    """One model and one optimizer, reset to the same initial state before every run.

    Rebuilding per run would recompile per run (tens of seconds under XLA); restoring every model
    variable (weights, batch-norm statistics, dropout seeds) and every optimizer variable instead
    reuses the compiled train step and makes runs differ only in what the caller changes.
    """

    def __init__(self, build_model, optimizer, learning_rate, loss, metrics, seed, micro_batch=None,
                 accumulation=None):
        keras.utils.set_random_seed(int(seed))
        self.model = build_model()
        opt = _make_optimizer(optimizer, learning_rate)
        if accumulation:
            opt = training.effective_batch_optimizer(opt, accumulation * micro_batch, micro_batch)
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
class LRSweepResult:
    """Per-epoch training loss of one short run per learning rate.

    Attributes:
        learning_rates: the learning rates (L,).
        losses: (L, epochs) training loss per epoch; NaN after a run diverged (the diverging epoch
            itself holds its non-finite value as NaN or inf).
        accuracy: (L, epochs) training accuracy (NaN where not run), if the model reports it.
        val_losses: (L, epochs) validation loss, or None.
        diverged: (L,) whether the run hit a non-finite loss.
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

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict) -> LRSweepResult:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


def lr_sweep(build_model: Callable[[], keras.Model], x, y, *, learning_rates=DEFAULT_SWEEP_LRS,
             epochs: int = 5, batch_size: int = 64, optimizer="sgd",
             loss="sparse_categorical_crossentropy", metrics=("accuracy",), seed: int = 0,
             validation_data=None, callbacks=None, progress: bool = False) -> LRSweepResult:
    """Train from the same initial weights for ``epochs`` epochs at each learning rate.

    Every run starts from the weights ``build_model()`` produced under ``seed``, with a fresh
    optimizer state and the same per-epoch data order (:func:`hw2.training.epoch_order`, full batches
    only). A run whose loss becomes non-finite stops there and is marked diverged; the sweep goes on.

    Example:
        >>> build = lambda: keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        >>> x, y = np.random.rand(256, 4).astype("float32"), np.random.randint(0, 3, 256)
        >>> sweep = lr_sweep(build, x, y, learning_rates=[1e-3, 1e-1, 1e6], epochs=2, batch_size=32)
        >>> sweep.losses.shape, sweep.diverged.tolist()  # doctest: +SKIP
        ((3, 2), [False, False, True])

    Args:
        build_model: returns an uncompiled Keras model (called once, under ``seed``).
        x, y: training arrays.
        learning_rates: increasing learning rates (default 10 log-spaced in [1e-9, 10]).
        epochs: epochs per run.
        batch_size: batch size of every run.
        optimizer: a Keras optimizer name or a callable ``learning_rate -> optimizer``; it is built
            once and its learning rate assigned per run, so its learning rate must be a float.
        loss, metrics: passed to ``compile``.
        seed: initial weights and data order.
        validation_data: optional ``(x_val, y_val)``.
        callbacks: extra Keras callbacks for every run (e.g. :class:`hw2.training.EpochLogger`).
        progress: a tqdm bar over the runs on standard error.
    """
    lrs = np.asarray(learning_rates, dtype=np.float64)
    if lrs.ndim != 1 or len(lrs) < 1 or not np.all(lrs > 0):
        raise ValueError(f"Argument `learning_rates` must be a non-empty list of positive numbers. "
                         f"Received: learning_rates={learning_rates!r}")
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"Argument `epochs` must be an integer >= 1. Received: epochs={epochs!r}")
    x, y = np.asarray(x), np.asarray(y)
    if not 1 <= batch_size <= len(x):
        raise ValueError(f"Argument `batch_size` must be in [1, {len(x)}]. "
                         f"Received: batch_size={batch_size!r}")
    runs = _Runs(build_model, optimizer, float(lrs[0]), loss, metrics, seed)
    initial_loss = _initial_loss(runs.model, x, y, batch_size)
    shape = (len(lrs), int(epochs))
    losses, accuracy = np.full(shape, np.nan), np.full(shape, np.nan)
    val_losses = np.full(shape, np.nan) if validation_data is not None else None
    diverged, diverged_epoch = np.zeros(len(lrs), bool), np.full(len(lrs), -1)
    seconds = np.zeros(len(lrs))
    bar = _progress(len(lrs), progress, "LR sweep")
    for i, lr in enumerate(lrs):
        model = runs.reset(learning_rate=lr)
        start = time.perf_counter()
        history = training.fit_with_batch_policy(model, x, y, policy=int(batch_size), epochs=int(epochs),
                                                 seed=seed, validation_data=validation_data,
                                                 callbacks=callbacks)
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

BATCH_FINDER_STEPS = (
    ("fix", "Fix the learning rate, the initial weights and the data order"),
    ("grid", "Batch sizes B = bmin_search, 2 bmin_search, ..., bmax_search"),
    ("train", "For each B: reset to the initial weights and train for the budget\n"
              "(same epochs or same updates; accumulate gradients above the micro-batch)"),
    ("record", "Record the training loss per epoch; non-finite loss: B diverged"),
    ("curve", "drop(B) = (initial loss - loss(B)) / (initial loss - best loss)"),
    ("suggest", "From the largest B down: b_max = first B with drop >= 0.1,\n"
                "b_min = first B with drop >= 0.9"),
    ("use", "Train with a cyclical batch size in [b_min, b_max]"),
)


def _dot_from_steps(steps) -> str:
    lines = ["digraph batch_finder {", '  rankdir=TB; node [shape=box, style="rounded,filled", '
             'fillcolor="#eef3fb", fontname="Helvetica", fontsize=11];']
    for name, text in steps:
        label = text.replace('"', r"\"").replace("\n", r"\n")
        lines.append(f'  {name} [label="{label}"];')
    lines.append("  " + " -> ".join(name for name, _ in steps) + ";")
    lines.append("}")
    return "\n".join(lines)


#: Graphviz source of the batch-size finder's block diagram (for ``sphinx.ext.graphviz``);
#: :func:`hw2.plotting.plot_batch_finder_diagram` draws the same steps with matplotlib.
BATCH_FINDER_DOT = _dot_from_steps(BATCH_FINDER_STEPS)


@dataclasses.dataclass
class BatchSweepResult:
    """Training loss of one run per batch size at a fixed learning rate.

    Attributes:
        batch_sizes: the batch sizes (K,).
        losses: (K, max epochs) training loss per epoch (NaN where not run / after divergence).
        accuracy: (K, max epochs) training accuracy.
        final_losses: (K,) last recorded epoch's loss (inf for diverged runs).
        diverged: (K,) whether the run hit a non-finite loss.
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

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict) -> BatchSweepResult:
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


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
        x, y: training arrays.
        lr: the fixed learning rate.
        batch_sizes: increasing batch sizes (default 64 ... 8192), each <= N.
        budget: ``"epochs"`` or ``"steps"``.
        epochs: epochs per run (``"epochs"``) or the default step count's base (``"steps"``).
        steps: optimizer updates per run for ``budget="steps"``.
        micro_batch: largest batch fed at once; larger batch sizes must be multiples of it.
        optimizer, loss, metrics: as in :func:`lr_sweep`.
        seed: initial weights and data order.
        callbacks: extra Keras callbacks for every run.
        progress: a tqdm bar over the runs on standard error.
    """
    sizes = np.asarray(batch_sizes, dtype=np.int64)
    x, y = np.asarray(x), np.asarray(y)
    n = len(x)
    if sizes.ndim != 1 or len(sizes) < 1 or not np.all(np.diff(sizes) > 0) or sizes[0] < 1 or sizes[-1] > n:
        raise ValueError(f"Argument `batch_sizes` must be increasing integers in [1, {n}]. "
                         f"Received: batch_sizes={tuple(batch_sizes)!r}")
    if budget not in BUDGETS:
        raise ValueError(f"Argument `budget` must be one of {', '.join(map(repr, BUDGETS))}. "
                         f"Received: budget={budget!r}")
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"Argument `epochs` must be an integer >= 1. Received: epochs={epochs!r}")
    if not lr > 0:
        raise ValueError(f"Argument `lr` must be > 0. Received: lr={lr!r}")
    if micro_batch is not None:
        bad = [int(b) for b in sizes if b > micro_batch and b % micro_batch]
        if micro_batch < 1 or bad:
            raise ValueError(f"Argument `micro_batch` must be >= 1 and divide every larger batch size. "
                             f"Received: micro_batch={micro_batch!r}, batch_sizes not divisible: {bad}")
    if budget == "steps":
        steps = int(steps) if steps is not None else int(epochs) * (n // int(sizes[-1]))
        if steps < 1:
            raise ValueError(f"Argument `steps` must be >= 1. Received: steps={steps!r}")
    elif steps is not None:
        raise ValueError("Argument `steps` is only used with budget='steps'. "
                         f"Received: budget={budget!r}, steps={steps!r}")

    def accumulation_for(b):
        return int(b // micro_batch) if micro_batch is not None and b > micro_batch else 1

    keras.utils.set_random_seed(int(seed))
    initial_state = None
    run_sets: dict[int, _Runs] = {}
    epochs_for = [int(epochs) if budget == "epochs" else math.ceil(steps / (n // int(b))) for b in sizes]
    shape = (len(sizes), max(epochs_for))
    losses, accuracy = np.full(shape, np.nan), np.full(shape, np.nan)
    diverged, diverged_epoch = np.zeros(len(sizes), bool), np.full(len(sizes), -1)
    final, n_steps, epochs_run = np.full(len(sizes), np.inf), np.zeros(len(sizes), int), np.zeros(len(sizes))
    seconds, throughput = np.zeros(len(sizes)), np.zeros(len(sizes))
    initial_loss = math.nan
    bar = _progress(len(sizes), progress, "batch-size sweep")
    for i, b in enumerate(int(s) for s in sizes):
        k = accumulation_for(b)
        if k not in run_sets:  # one compiled model per accumulation factor; all share initial weights
            run_sets[k] = _Runs(build_model, optimizer, lr, loss, metrics, seed,
                                micro_batch=micro_batch, accumulation=k if k > 1 else None)
            if initial_state is None:
                initial_state = run_sets[k].model_state
                initial_loss = _initial_loss(run_sets[k].model, x, y, min(int(sizes[0]), micro_batch or n))
        model = run_sets[k].reset(learning_rate=lr, model_state=initial_state)
        start = time.perf_counter()
        history = training.fit_with_batch_policy(
            model, x, y, policy=b, epochs=epochs_for[i], seed=seed, callbacks=callbacks,
            micro_batch=micro_batch if k > 1 else None, max_steps=steps if budget == "steps" else None)
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

    The steps are :data:`BATCH_FINDER_STEPS` (drawn by :data:`BATCH_FINDER_DOT` or
    :func:`hw2.plotting.plot_batch_finder_diagram`).

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
