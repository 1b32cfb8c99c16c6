"""LR range test: one run, the learning rate growing exponentially per batch, loss smoothed.

Smith 2017; the pyimagesearch / fastai / Lightning "LR finder". The caller's model and optimizer
are untouched: the test trains a clone with a fresh optimizer of the same kind, in memory. Bounds
are read off its curve by :func:`hw2.suggest.suggest_lr` (:meth:`LRRangeTestResult.suggest`).
"""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np

from hw2 import training
from hw2._checks import check_range
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

    def suggest(self, rule: str = "default", **kwargs) -> Suggestion:
        """:func:`suggest_lr` on the smoothed curve (fastai's end trimming for valley/steep)."""
        if rule in ("valley", "steep"):
            kwargs.setdefault("skip_start", len(self.lrs) // 10 if len(self.lrs) >= 20 else 0)
            kwargs.setdefault("skip_end", 5 if len(self.lrs) >= 20 else 0)
        return suggest_lr(self.lrs, self.smoothed, rule, **kwargs)



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
        raise ValueError("Argument `model` must be compiled (model.compile(...)) before the range test.")
    if not 0 < start_lr < end_lr or not math.isfinite(end_lr):
        raise ValueError("Arguments `start_lr` and `end_lr` must satisfy 0 < start_lr < end_lr < inf. "
                         f"Received: start_lr={start_lr!r}, end_lr={end_lr!r}")
    check_range("beta", beta, 0, 1, inclusive="left")
    check_range("stop_factor", stop_factor, low=1, inclusive="neither")
    x, y = training.check_training_arrays(x, y, model=model)
    n = len(x)
    batch_size = training.check_batch_size(batch_size, n)
    if epochs is not None and steps is not None:
        raise ValueError("Pass at most one of `epochs` and `steps`. "
                         f"Received: epochs={epochs!r}, steps={steps!r}")
    per_epoch = n // batch_size
    if steps is None:
        if epochs is not None and not _is_int(epochs, 1):
            raise ValueError(f"Argument `epochs` must be an integer >= 1. Received: epochs={epochs!r}")
        steps = per_epoch * (1 if epochs is None else int(epochs))
    if not _is_int(steps, 2):
        raise ValueError(f"Argument `steps` must be an integer >= 2. Received: steps={steps!r}")
    if not training.weights_are_finite(model):
        raise ValueError("Argument `model` must have finite weights. Received: a model with NaN/inf weights")

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
    if isinstance(optimizer, training.GradientAccumulation):  # one update per batch: the test's batch is the batch
        optimizer = optimizer.inner_optimizer
    config = dict(optimizer.get_config(), learning_rate=float(learning_rate))
    if "gradient_accumulation_steps" in config:
        config["gradient_accumulation_steps"] = None
    optimizer = optimizer.__class__.from_config(config)
    clone.compile(optimizer=optimizer, loss=model.loss)
    return clone


def _is_int(value, minimum: int) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum
