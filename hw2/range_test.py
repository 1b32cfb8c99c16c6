"""LR range test: one run, the learning rate growing exponentially per batch, loss smoothed.

Smith 2017; the idea of pyimagesearch's, fastai's and Lightning's "LR finder", not a copy of any:
their schedules' end points, stop rules and reading windows differ (fastai's window is what
:meth:`LRRangeTestResult.suggest` applies to fastai's rules). The caller's model and optimizer
are untouched: the test trains a clone with a fresh optimizer of the same kind, in memory. Bounds
are read off its curve by :func:`hw2.suggest.suggest_lr` (:meth:`LRRangeTestResult.suggest`).
"""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np

from hw2 import accumulation, training
from hw2._checks import argument_error, check_int, check_range
from hw2.progress import progress_bar
from hw2.store import StoredFields
from hw2.suggest import Suggestion, suggest_lr

#: The weights are checked for non-finite values every this many batches (and after the last):
#: a check is a device synchronisation, too costly after every batch.
WEIGHT_CHECK_EVERY = 16


@dataclasses.dataclass
class LRRangeTestResult(StoredFields):
    """The curve of an LR range test.

    Attributes:
        lrs: learning rate of every batch trained.
        losses: that batch's loss.
        smoothed: bias-corrected exponential moving average of ``losses`` (``beta``).
        stopped_early: whether the test stopped before ``steps`` batches.
        stop_reason: ``"completed"``, ``"exploded"`` (smoothed > ``stop_factor`` x best) or
            ``"non-finite"`` (a loss, or the weights: then the losses since the last weight check
            that passed are NaN, since they came from weights that may already have been broken).
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

    def step_indices(self) -> np.ndarray:
        """The batch (step) index of every stored point, read back from its rate.

        Step ``i`` trained at ``start_lr * (end_lr / start_lr) ** (i / (steps - 1))``, so this is
        ``0, 1, ..., len(lrs) - 1`` for a curve kept whole, and the kept steps for one stored thinned
        (evenly spaced steps, the first and the last always kept). ``lrs`` must be the rates
        :func:`lr_range_test` recorded.
        """
        lrs = np.asarray(self.lrs, dtype=np.float64)
        position = np.log(lrs / self.start_lr) / math.log(self.end_lr / self.start_lr)
        return np.rint(position * (self.steps - 1)).astype(np.int64)

    def fastai_skips(self) -> tuple[int, int]:
        """``(skip_start, skip_end)``: the stored points outside the window fastai's ``lr_find`` reads.

        fastai (``fastai/callback/schedule.py``, ``Learner.lr_find``) reads its recorded curve
        ``[num_it // 10 : -5]``: the steps before a tenth (floored) of the *planned* steps ``num_it``
        (here :attr:`steps`, also when the test stopped early), and the last 5 *recorded* steps. fastai's
        ``LRFinder`` stops like this test on an exploding loss (``smooth_loss > 4 * best_loss``; here
        ``stop_factor``) but not on a NaN (``NaN > 4 * best`` is false): it records NaN up to ``num_it``
        steps, so after a NaN stop (the last smoothed loss NaN) the 5 are counted from :attr:`steps`, not
        from the steps recorded here. Steps are read by :meth:`step_indices`, so a thinned stored curve
        is cut at the same steps as the whole one.

        Example:
            >>> lrs = 1e-4 * 1e4 ** (np.arange(30) / 99)          # 30 of 100 planned steps, then exploded
            >>> test = LRRangeTestResult(lrs, lrs, lrs, True, "exploded", 0, 100, 32, 1e-4, 1.0, 0.98, 4.0)
            >>> test.fastai_skips()                               # steps 0-9 and 25-29 are not read
            (10, 5)
        """
        first, end = self._fastai_steps()
        steps = self.step_indices()
        return int(np.sum(steps < first)), int(np.sum(steps >= end))

    def _fastai_steps(self) -> tuple[int, int]:
        """fastai's window in steps, ``[num_it // 10, recorded - 5)`` (:meth:`fastai_skips`)."""
        smoothed = np.asarray(self.smoothed, dtype=np.float64)
        recorded = int(self.steps) if np.isnan(smoothed[-1]) else int(self.step_indices()[-1]) + 1
        return int(self.steps) // 10, recorded - 5

    def suggest(self, rule: str = "default", **kwargs) -> Suggestion:
        """:func:`suggest_lr` on the smoothed curve; fastai's rules on the window fastai's ``lr_find`` reads.

        For ``"valley"``, ``"steep"`` and ``"minimum"`` the default ``skip_start`` / ``skip_end`` are
        :meth:`fastai_skips` (fastai trims before every suggestion function, at every length), then
        :func:`suggest_lr` cuts at the first non-finite loss (fastai: the first NaN; an infinite
        smoothed loss can only be the last step, which the 5 already drop). Where fastai's window
        holds fewer than two points fastai's functions fail (an empty slice) or read a single point;
        this returns an unreliable suggestion (``reliable=False``, ``evidence["reason"]``) instead.
        ``"default"`` (not fastai's) reads the whole curve unless skips are passed.
        """
        if rule in FASTAI_RULES:
            fastai = dict(zip(("skip_start", "skip_end"), self.fastai_skips()))
            kwargs = {**fastai, **kwargs}
            n = len(self.lrs)
            if kwargs["skip_start"] + kwargs["skip_end"] > n - 2 and all(kwargs[k] == v for k, v in fastai.items()):
                finite = np.flatnonzero(np.isfinite(np.asarray(self.smoothed, dtype=np.float64)))
                last = int(finite[-1]) if finite.size else 0
                start = min(fastai["skip_start"], n)
                return Suggestion(rule, float(self.lrs[last]), last, reliable=False, evidence={
                    "curve_start": start, "curve_end": max(start, n - fastai["skip_end"]),
                    "reason": "fewer than two points in fastai's lr_find window, steps [{}, {})".format(
                        *self._fastai_steps())})
        return suggest_lr(self.lrs, self.smoothed, rule, **kwargs)


#: The rules of :data:`hw2.suggest.LR_RULES` that are fastai's (its ``slide`` is not there):
#: :meth:`LRRangeTestResult.suggest` reads them on the window fastai's ``lr_find`` reads.
FASTAI_RULES = ("valley", "steep", "minimum")


def lr_range_test(model, x, y, *, start_lr: float = 1e-9, end_lr: float = 10.0, epochs: int | None = None,
                  steps: int | None = None, batch_size: int = 64, beta: float = 0.98,
                  stop_factor: float = 4.0, seed: int = 0, progress: bool = False) -> LRRangeTestResult:
    """LR range test: grow the learning rate exponentially per batch and record the loss.

    Batch ``i`` of ``steps`` trains at ``start_lr * (end_lr / start_lr) ** (i / (steps - 1))``. The
    loss is smoothed as ``avg = beta * avg + (1 - beta) * loss``, ``smoothed = avg / (1 - beta ** (i + 1))``
    and the test stops once the smoothed loss exceeds ``stop_factor`` times its best or any loss
    is not finite. Weights that are no longer finite are a divergence too, even if the loss stays
    finite (one NaN through a ReLU leaves it at about ``ln(classes)``); they are checked every
    :data:`WEIGHT_CHECK_EVERY` batches, since each check waits for the device.

    The test trains a clone of ``model`` (same weights) compiled with a fresh optimizer of the same
    class and settings (only the learning rate replaced, no gradient accumulation), all in memory.
    ``model``'s weights and its optimizer's state (iterations, slots, learning rate) are therefore
    exactly what they were, and nothing is written to disk.

    Example:
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        >>> model.compile(optimizer=keras.optimizers.SGD(momentum=0.9),
        ...               loss="sparse_categorical_crossentropy")
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.random((512, 4), dtype="float32"), rng.integers(0, 3, 512)
        >>> result = lr_range_test(model, x, y, start_lr=1e-4, end_lr=10, epochs=2, batch_size=32)
        >>> len(result.lrs) <= 32, float(result.lrs[0])
        (True, 0.0001)

    Args:
        model: a compiled Keras model with finite weights (its ``loss`` is used).
        x, y: training arrays of the same length, finite (class labels in ``[0, model.output_shape[-1])``
            for a sparse categorical cross-entropy loss); each epoch is a seeded shuffle cut into full batches.
        start_lr, end_lr: the sweep's ends (0 < start_lr < end_lr).
        epochs, steps: the length, in epochs of ``N // batch_size`` batches or in batches (give at
            most one; default one epoch).
        batch_size: batch size, an integer (1 <= batch_size <= N).
        beta: smoothing factor in [0, 1).
        stop_factor: stop when smoothed loss > stop_factor x best (> 1).
        seed: fixes the data order.
        progress: show a tqdm bar on standard error.
    """
    if getattr(model, "optimizer", None) is None:
        raise argument_error("model", "compiled (model.compile(...)) before the range test",
                             received="a model without an optimizer")
    if not 0 < start_lr < end_lr or not math.isfinite(end_lr):
        raise argument_error(("start_lr", "end_lr"), "such that 0 < start_lr < end_lr < inf",
                             received=f"start_lr={start_lr!r}, end_lr={end_lr!r}")
    check_range("beta", beta, 0, 1, inclusive="left")
    check_range("stop_factor", stop_factor, low=1, inclusive="neither")
    x, y = training.check_training_arrays(x, y, model=model)
    n = len(x)
    batch_size = training.check_batch_size(batch_size, n)
    if epochs is not None and steps is not None:
        raise argument_error(("epochs", "steps"), "exclusive (pass at most one)",
                             received=f"epochs={epochs!r}, steps={steps!r}")
    per_epoch = n // batch_size
    if steps is None:
        steps = per_epoch * (1 if epochs is None else check_int("epochs", epochs, low=1))
    steps = check_int("steps", steps, low=2)
    if not training.weights_are_finite(model):
        raise argument_error("model", "a model with finite weights", received="a model with NaN/inf weights")

    clone = _clone_for_training(model, learning_rate=start_lr)
    factor = (end_lr / start_lr) ** (1.0 / (steps - 1))
    lrs, losses, smoothed = [], [], []
    avg, best, reason = 0.0, math.inf, "completed"
    checked = -1  # the weights after this step were checked finite (-1: the caller's, checked above)
    bar = progress_bar(steps, progress, "LR range test")
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
        exploded = i > 0 and smooth > stop_factor * best
        if (i + 1) % WEIGHT_CHECK_EVERY == 0 or i == steps - 1 or exploded:
            if not training.weights_are_finite(clone):
                # point checked + 1 came from weights known to be finite; later ones may not have
                losses[checked + 2:] = [math.nan] * len(losses[checked + 2:])
                smoothed[checked + 2:] = [math.nan] * len(smoothed[checked + 2:])
                reason = "non-finite"
                break
            checked = i
        if exploded:
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
    optimizer = model.optimizer
    if isinstance(optimizer, accumulation.GradientAccumulation):  # one update per batch: the test's batch is the batch
        optimizer = optimizer.inner_optimizer
    config = dict(optimizer.get_config(), learning_rate=float(learning_rate))
    if "gradient_accumulation_steps" in config:
        config["gradient_accumulation_steps"] = None
    optimizer = optimizer.__class__.from_config(config)
    clone.compile(optimizer=optimizer, loss=model.loss)
    return clone
