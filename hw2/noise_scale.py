"""The gradient-noise scale as a batch-size finder (McCandlish, Kaplan, Amodei et al. 2018).

The *simple noise scale* ``B_simple = tr(Sigma) / |G|^2`` compares the variance of one sample's
gradient (``tr(Sigma)``, summed over parameters) with the squared norm of the true gradient ``G``.
Below it, a larger batch buys an almost proportionally better step (noise dominates); above it,
more samples per step are mostly wasted. McCandlish et al. find the critical batch size
``B_crit ~ B_simple`` and that it grows as training proceeds (the gradient shrinks faster than its
noise).

Neither quantity is observable, but the squared norm of a batch-``B`` gradient estimate has
expectation ``|G|^2 + tr(Sigma) / B``, so two batch sizes ``b < B`` give unbiased estimates::

    G2 = (B |G_B|^2 - b |G_b|^2) / (B - b)                 # |G|^2
    S  = (|G_b|^2 - |G_B|^2) / (1 / b - 1 / B)              # tr(Sigma)
    B_simple = mean(S) / mean(G2)                           # numerator, denominator averaged apart

Each update of a :class:`hw2.accumulation.GradientAccumulation` optimizer provides both batch sizes for
free: ``b`` is the micro-batch (the mean over the group of ``|g_i|^2``) and ``B`` the effective batch
(``|mean g|^2``). :class:`GradientNoiseScale` reads those sums once per epoch; :func:`suggest_bounds`
turns the measured ``B_simple`` along training into ``(b_min, b_max)`` for a cyclical batch size.

With batch normalization each micro-batch is normalized with its own statistics, so ``g_i`` is a
*ghost-batch* gradient and ``|G_B|^2`` the norm of a mean of ghost-batch gradients, not of a true
batch-``B`` gradient: the estimate is the noise scale of the ghost-batch training that
:func:`hw2.training.fit_with_batch_policy` runs, which is the one the policy will use.

Example:
    >>> estimate = noise_scale(small_sq=[10.0, 12.0], big_sq=[2.0, 2.4], b_small=8, b_big=64)
    >>> round(estimate["b_simple"], 2), round(estimate["gradient_sq"], 3), round(estimate["trace_sigma"], 2)
    (85.33, 0.943, 80.46)
"""

from __future__ import annotations

import math

import keras
import numpy as np

from hw2 import accumulation
from hw2._checks import argument_error, check_int

# The finder's steps, in order: ``(name, text)`` actions and ``(name, text, {"yes": name, "no": name})``
# decisions (the loops over updates and epochs); the one source for its block diagram
# (``plotting.plot_block_diagram``).
NOISE_FINDER_STEPS = (
    ("train", "Train at a fixed learning rate, micro-batch b, effective batch B = k b\n"
              "(GradientAccumulation averages k micro-batch gradients per update)"),
    ("record", "Per update: |G_b|^2 = mean over the k micro-batches of |g_i|^2,\n|G_B|^2 = |mean g_i|^2"),
    ("epoch_end", "End of\nthe epoch?", {"no": "train", "yes": "estimate"}),
    ("estimate", "Per epoch, numerator and denominator averaged apart:\n"
                 "|G|^2 = (B|G_B|^2 - b|G_b|^2)/(B - b),  tr(S) = (|G_b|^2 - |G_B|^2)/(1/b - 1/B)"),
    ("noise", "B_simple(epoch) = tr(S) / |G|^2   (McCandlish et al. find it grows during training)"),
    ("more", "Another\nepoch left?", {"yes": "train", "no": "suggest"}),
    ("suggest", "b_min = largest power of two <= min B_simple,\n"
                "b_max = smallest power of two >= max B_simple  (clipped to [b_low, b_high])"),
    ("use", "Train with a cyclical batch size in [b_min, b_max]"),
)


def noise_scale(small_sq, big_sq, b_small: int, b_big: int) -> dict:
    """The two-batch estimates of ``|G|^2``, ``tr(Sigma)`` and ``B_simple`` from squared gradient norms.

    ``small_sq`` and ``big_sq`` are per-update (or per-epoch mean) values of ``|G_b|^2`` and
    ``|G_B|^2``; each estimator is averaged over them before the ratio is taken (the ratio of
    means, as McCandlish et al. recommend: a mean of ratios is dominated by updates whose ``|G|^2``
    estimate is near zero). ``b_simple`` is ``inf`` when the ``|G|^2`` estimate is not positive.

    Args:
        small_sq, big_sq: squared norms at the small and the big batch size (same length).
        b_small, b_big: the two batch sizes, ``b_small < b_big``.

    Returns:
        ``{"gradient_sq", "trace_sigma", "b_simple"}``.
    """
    b_small, b_big = check_int("b_small", b_small, low=1), check_int("b_big", b_big, low=1)
    if not b_big > b_small:
        raise argument_error("b_big", "> `b_small`", received=f"b_small={b_small}, b_big={b_big}")
    small, big = np.asarray(small_sq, np.float64), np.asarray(big_sq, np.float64)
    if small.shape != big.shape or small.size == 0 or not (np.isfinite(small).all() and np.isfinite(big).all()):
        nonfinite = int((~np.isfinite(small)).sum() + (~np.isfinite(big)).sum())
        raise argument_error(("small_sq", "big_sq"), "non-empty finite arrays of one shape",
                             received=f"small_sq.shape={small.shape}, big_sq.shape={big.shape}, "
                                      f"{nonfinite} NaN/inf value(s)")
    gradient_sq = float(np.mean((b_big * big - b_small * small) / (b_big - b_small)))
    trace_sigma = float(np.mean((small - big) / (1.0 / b_small - 1.0 / b_big)))
    b_simple = trace_sigma / gradient_sq if gradient_sq > 0 else math.inf
    return {"gradient_sq": gradient_sq, "trace_sigma": trace_sigma, "b_simple": float(b_simple)}


class GradientNoiseScale(keras.callbacks.Callback):
    """Estimate ``B_simple`` once per epoch from a :class:`hw2.accumulation.GradientAccumulation` optimizer.

    At the start of every epoch it zeroes the optimizer's sums of squared norms; at its end it turns
    the epoch's means into :func:`noise_scale` with ``b = micro_batch`` and ``B = k * micro_batch``
    (``k`` the optimizer's current ``accumulation_steps``, >= 2) and records the estimates in
    ``history`` and in the epoch logs (``noise_scale``). Reading a few scalars once per epoch costs
    nothing measurable; no per-step synchronization. The estimator needs one ``B`` per epoch: an
    epoch whose updates do not all hold ``k`` of its micro-batches (a batch size changed within it,
    or a group spans its boundary) gets no estimate and is listed in ``skipped_epochs``.

    Example:
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer=accumulation.GradientAccumulation("sgd", steps=4), loss="mse")
        >>> probe = GradientNoiseScale(micro_batch=8)
        >>> x = np.random.default_rng(0).normal(size=(256, 2)).astype("float32")
        >>> _ = model.fit(x, x.sum(axis=1), batch_size=8, epochs=2, verbose=0, callbacks=[probe])
        >>> len(probe.history["b_simple"]), probe.history["b_big"]
        (2, [32, 32])
    """

    def __init__(self, micro_batch: int):
        super().__init__()
        self.micro_batch = check_int("micro_batch", micro_batch, low=1)
        self.history: dict[str, list] = {"epoch": [], "b_big": [], "updates": [], "small_sq": [], "big_sq": [],
                                         "gradient_sq": [], "trace_sigma": [], "b_simple": []}
        self.skipped_epochs: list[int] = []
        self._micro_batches = 0

    def _optimizer(self):
        optimizer = self.model.optimizer
        if not isinstance(optimizer, accumulation.GradientAccumulation):
            raise ValueError("GradientNoiseScale needs a model compiled with a hw2.accumulation.GradientAccumulation "
                             f"optimizer. Received: {type(optimizer).__name__}")
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        return optimizer

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self._optimizer()
        for variable in (optimizer.noise_small_sq, optimizer.noise_big_sq, optimizer.noise_updates):
            variable.assign(0.0)
        self._micro_batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self._micro_batches += 1  # Python only: no device read per step

    def on_epoch_end(self, epoch, logs=None):
        optimizer = self._optimizer()
        updates = float(optimizer.noise_updates)
        steps = int(optimizer.accumulation_steps)
        if updates < 1 or steps < 2:
            return  # one batch size only: nothing to compare
        if int(updates) * steps != self._micro_batches:  # groups of another size were summed in: no single B
            self.skipped_epochs.append(epoch)
            if logs is not None:
                logs["noise_scale"] = math.nan
            return
        small, big = float(optimizer.noise_small_sq) / updates, float(optimizer.noise_big_sq) / updates
        estimate = noise_scale([small], [big], self.micro_batch, steps * self.micro_batch)
        for key, value in (("epoch", epoch), ("b_big", steps * self.micro_batch), ("updates", int(updates)),
                           ("small_sq", small), ("big_sq", big), *estimate.items()):
            self.history[key].append(value)
        if logs is not None:
            logs["noise_scale"] = estimate["b_simple"]


def suggest_bounds(b_simple, b_low: int = 64, b_high: int = 8192) -> dict:
    """``(b_min, b_max)`` of a cyclical batch size from ``B_simple`` measured along training.

    The rule (:data:`NOISE_FINDER_STEPS`): ``b_min`` is the largest power of two at or below the
    smallest finite estimate (early training, where the noise scale is smallest), ``b_max`` the
    smallest power of two at or above the largest; both are clipped to ``[b_low, b_high]``, and if
    they meet, ``b_max = 2 * b_min`` (or ``b_min = b_max / 2`` at the top).

    Example:
        >>> suggest_bounds([150.0, 400.0, 900.0])
        {'b_min': 128, 'b_max': 1024, 'clipped': False, 'reliable': True, 'note': ''}
        >>> suggest_bounds([20.0, 30.0])["b_min"], suggest_bounds([20.0, 30.0])["clipped"]
        (64, True)
    """
    b_low, b_high = check_int("b_low", b_low, low=1), check_int("b_high", b_high, low=2)
    if not b_high >= 2 * b_low:
        raise argument_error("b_high", "at least 2 * `b_low` (room for two bounds)",
                             received=f"b_low={b_low}, b_high={b_high}")
    values = np.asarray(b_simple, np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return {"b_min": b_low, "b_max": b_high, "clipped": True, "reliable": False,
                "note": "no finite positive noise-scale estimate: the whole range is returned"}
    raw_min = 2 ** math.floor(math.log2(values.min()))
    raw_max = 2 ** math.ceil(math.log2(values.max()))
    b_min, b_max = int(min(max(raw_min, b_low), b_high)), int(min(max(raw_max, b_low), b_high))
    if b_max <= b_min:
        b_max, b_min = (b_min * 2, b_min) if b_min * 2 <= b_high else (b_max, b_max // 2)
    clipped = raw_min < b_low or raw_max > b_high
    note = (f"the estimates span {values.min():.0f}..{values.max():.0f}, beyond [{b_low}, {b_high}]: clipped"
            if clipped else "")
    return {"b_min": b_min, "b_max": b_max, "clipped": bool(clipped), "reliable": True, "note": note}
