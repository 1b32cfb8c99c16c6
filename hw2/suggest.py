"""Suggestion rules: read ``(low, high)`` bounds off a finder curve, with the evidence to plot them.

Pure numpy, no Keras: every rule is a small function of two arrays, registered by name in
:data:`LR_RULES` (learning rate) or :data:`BATCH_RULES` (batch size), as fastai's
``callback/schedule.py`` has ``valley`` / ``steep`` / ``minimum`` / ``slide`` (``slide`` is not
here). fastai computes on float32 tensors, these rules on float64 arrays: a near-tie may resolve
differently.
:func:`suggest_lr` and :func:`suggest_batch_size` validate and cut the curve, call the rule and
say whether its point lies on a plateau.

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

Plateau check, on every suggestion's headline point ``x`` (the point of the curve nearest to it)::

    window = curve points within half a decade of x (at least its neighbours)
    on_plateau = max(loss[window]) - min(loss[window]) <= 1 % of |loss at x|

A rule on a plateau has found a point where the loss does not change with the learning rate (or
batch size): nothing distinguishes it from its neighbours.

Example:
    >>> lrs = np.logspace(-7, 0, 8)                  # a slow creep, then the real fall
    >>> s = suggest_lr(lrs, [2.300, 2.299, 2.298, 2.297, 2.296, 1.2, 0.9, 3.0], "valley")
    >>> float(s.value), s.on_plateau
    (0.0001, True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from hw2._checks import argument_error, check_choice, check_int
from hw2.store import jsonable

#: Relative tolerance of the plateau check (of the loss at the suggested point).
PLATEAU_RTOL = 0.01
#: Half-width of the plateau check's window, in decades of the learning rate or batch size.
PLATEAU_DECADES = 0.5
_NEVER_FELL = "the loss never fell measurably below the reference"


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
        on_plateau: the loss around ``value`` is flat (see the module docstring); ``note`` says
            by how much it varies there.
        note: a sentence on the plateau check (empty when it could not be made).
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
    on_plateau: bool = False
    note: str = ""
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
        """JSON values only (for the results store); ``nan`` and infinities stay floats."""
        return jsonable(self, nonfinite="keep")


# ------------------------------------------------------------------------------ curve helpers


def _curve(xs, losses, x_name):
    xs = np.asarray(xs, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    if xs.ndim != 1 or xs.shape != losses.shape or len(xs) < 2:
        raise argument_error((x_name, "losses"), "1-D of the same length >= 2",
                             received=f"{x_name}.shape={xs.shape}, losses.shape={losses.shape}")
    bad = np.flatnonzero(~(xs > 0) | np.concatenate([[False], ~(np.diff(xs) > 0)]))
    if bad.size:
        i = int(bad[0])
        raise argument_error(x_name, "positive and strictly increasing",
                             received=f"{x_name}[{i}]={float(xs[i])!r}" + (f" after {float(xs[i - 1])!r}" if i else ""))
    return xs, losses


def _check_fractions(fractions):
    lo, hi = (float(f) for f in fractions)
    if not 0 < lo < hi <= 1:
        raise argument_error("fractions", "(low, high) with 0 < low < high <= 1", tuple(fractions))
    return lo, hi


def _slopes(xs, losses):
    """d loss / d log10(x) at every point (central differences)."""
    return np.gradient(losses, np.log10(xs))


def _drop(losses, reference):
    """Fraction of the total drop ``reference - min(losses)`` reached at every point, or ``None``
    when the loss never fell measurably (by more than 0.1 % of the reference)."""
    total = reference - float(np.min(losses))
    if not total > 1e-3 * max(abs(reference), 1e-12):
        return None
    return (reference - losses) / total


def _plateau(xs, losses, index, rtol=PLATEAU_RTOL, decades=PLATEAU_DECADES):
    """Whether the loss is flat around ``xs[index]``: ``(on_plateau, relative spread, window)``.

    The window is every point within ``decades`` of ``xs[index]`` in log10, and at least its
    neighbours; the spread is ``max - min`` of the loss there, relative to ``|loss[index]|``.
    """
    log = np.log10(xs)
    near = np.flatnonzero(np.abs(log - log[index]) <= decades + 1e-12)
    lo, hi = min(int(near[0]), max(index - 1, 0)), max(int(near[-1]), min(index + 1, len(xs) - 1))
    window = losses[lo:hi + 1]
    spread = float(np.max(window) - np.min(window)) / max(abs(float(losses[index])), 1e-12)
    return spread <= rtol, spread, (lo, hi)


def _with_plateau(s: Suggestion, xs, losses, offset: int, unit: str) -> Suggestion:
    """``s`` (indices relative to ``xs``) with indices shifted by ``offset`` and the plateau check."""
    def shift(i):  # -1 and None mean "not a curve point"
        return i if i is None or i < 0 else i + offset

    if len(xs) < 2:
        return dataclasses.replace(s, index=shift(s.index), low_index=shift(s.low_index),
                                   high_index=shift(s.high_index))
    at = s.index if s.index >= 0 else int(np.argmin(np.abs(np.log(xs) - np.log(s.value))))
    flat, spread, (lo, hi) = _plateau(xs, losses, at)
    note = (f"from {unit}={xs[lo]:.3g} to {xs[hi]:.3g} the loss varies by {100 * spread:.2g} % of its "
            f"value at {unit}={xs[at]:.3g} ({'<=' if flat else '>'} {100 * PLATEAU_RTOL:g} %)"
            + (": a plateau" if flat else ""))
    evidence = dict(s.evidence, plateau={"index": at + offset, "window": [lo + offset, hi + offset],
                                         "relative_spread": spread, "rtol": PLATEAU_RTOL,
                                         "decades": PLATEAU_DECADES})
    return dataclasses.replace(s, index=shift(s.index), low_index=shift(s.low_index),
                               high_index=shift(s.high_index), on_plateau=bool(flat), note=note,
                               evidence=evidence)


# ------------------------------------------------------------------------------ learning-rate rules

#: Learning-rate rules by name. Each is ``rule(lrs, losses, *, reference, fractions) -> Suggestion``
#: on a finite curve of >= 2 points, indices relative to it (one signature for all, as in fastai;
#: a rule ignores what it does not use).
LR_RULES: dict[str, Callable[..., Suggestion]] = {}


def _register(registry: dict, name: str):
    def add(rule):
        registry[name] = rule
        return rule
    return add


def register_lr_rule(name: str):
    """Register a learning-rate rule under ``name`` (a decorator); :func:`suggest_lr` then accepts it."""
    return _register(LR_RULES, name)


@register_lr_rule("default")
def fraction_of_drop(lrs, losses, *, reference=None, fractions=(0.1, 0.9)) -> Suggestion:
    """``lr_min`` / ``lr_max``: the first rates reaching ``fractions`` of the total drop (module docstring)."""
    lo_frac, hi_frac = fractions
    i_min = int(np.argmin(losses))
    # a range test's first points are single noisy batches: take the median of the first 5 %
    ref = float(np.median(losses[: max(1, len(losses) // 20)])) if reference is None else float(reference)
    evidence: dict[str, Any] = {"reference_loss": ref, "min_loss": float(losses[i_min]), "min_index": i_min,
                                "fractions": [lo_frac, hi_frac]}
    drop = _drop(losses, ref)
    if drop is None:
        value = float(lrs[i_min])
        return Suggestion("default", value, i_min, value / 10, value, -1, i_min, reliable=False,
                          evidence=dict(evidence, reason=_NEVER_FELL))
    head = drop[: i_min + 1]
    i_hi = int(np.argmax(head >= hi_frac))
    i_lo = int(np.argmax(head >= lo_frac))
    if i_lo >= i_hi:
        i_lo = max(i_hi - 1, 0)
    low = float(lrs[i_lo]) if i_lo < i_hi else float(lrs[i_hi]) / 10
    slopes = _slopes(lrs, losses)
    evidence.update(drop=drop, slope_low=float(slopes[i_lo]), slope_high=float(slopes[i_hi]))
    return Suggestion("default", float(lrs[i_hi]), i_hi, low, float(lrs[i_hi]),
                      i_lo if i_lo < i_hi else -1, i_hi, evidence=evidence)


def valley_index(losses) -> int:
    """fastai's ``valley``: the index about halfway down the longest decreasing run.

    The longest decreasing subsequence ends at ``end`` and has ``length`` points, so it starts at
    ``end - length + 1`` (fastai writes ``end - length``, one point too early: for a valley at the
    very start the index becomes -1, the curve's last point; with no decreasing pair at all fastai
    never sets its start and both give 0)::

        start = end - length + 1
        index = start + int(length / 3) + int(length / 6)

    Example:
        >>> valley_index([2.3, 2.0]), valley_index([2.0, 1.0, 3.0, 4.0, 5.0, 6.0])
        (0, 0)
        >>> valley_index([3.0, 2.5, 2.0, 1.5, 1.0, 0.5, 2.0])
        3
    """
    losses = np.asarray(losses, dtype=np.float64)
    lds = np.ones(len(losses), dtype=np.int64)  # longest decreasing subsequence ending at i
    end = 0
    for i in range(1, len(losses)):
        higher = lds[:i][losses[:i] > losses[i]]
        if higher.size:
            lds[i] = higher.max() + 1
        if lds[i] > lds[end]:
            end = i
    length = int(lds[end])
    return end - length + 1 + int(length / 3) + int(length / 6)


@register_lr_rule("valley")
def valley(lrs, losses, *, reference=None, fractions=None) -> Suggestion:
    """fastai's ``valley``: about halfway down the longest valley (:func:`valley_index`)."""
    i = valley_index(losses)
    return Suggestion("valley", float(lrs[i]), i,
                      evidence={"slope": float(_slopes(lrs, losses)[i]), "loss": float(losses[i])})


@register_lr_rule("steep")
def steep(lrs, losses, *, reference=None, fractions=None) -> Suggestion:
    """fastai's ``steep``: the steepest fall, ``argmin(diff(loss) / diff(ln lr))``."""
    grads = np.diff(losses) / np.diff(np.log(lrs))
    i = int(np.argmin(grads))
    return Suggestion("steep", float(lrs[i]), i,
                      evidence={"slope": float(_slopes(lrs, losses)[i]), "loss": float(losses[i]),
                                "slope_per_ln_lr": float(grads[i])})


@register_lr_rule("minimum")
def minimum(lrs, losses, *, reference=None, fractions=None) -> Suggestion:
    """fastai's ``minimum``: a tenth of the learning rate at the minimum loss (not a curve point)."""
    i = int(np.argmin(losses))
    return Suggestion("minimum", float(lrs[i] / 10), -1,
                      evidence={"min_index": i, "min_lr": float(lrs[i]), "min_loss": float(losses[i])})


def suggest_lr(lrs, losses, rule: str = "default", *, reference: float | None = None,
               fractions=(0.1, 0.9), skip_start: int = 0, skip_end: int = 0) -> Suggestion:
    """Suggest learning-rate bounds from a loss-vs-learning-rate curve (range test or sweep).

    The curve less its first ``skip_start`` and last ``skip_end`` points is cut at its first
    non-finite loss (divergence), then the rule ``LR_RULES[rule]`` reads it (see the module
    docstring): ``"default"`` gives ``lr_min`` and ``lr_max`` from the fraction of the total loss
    drop reached; ``"valley"`` and ``"steep"`` are fastai's (longest valley, one point later than
    fastai's index: :func:`valley_index`; steepest negative slope in ln-lr); ``"minimum"`` is fastai's
    tenth of the minimum-loss learning rate. Every suggestion says whether its point lies on a plateau.

    Example:
        >>> lrs = np.logspace(-5, 0, 6)               # 1e-5 ... 1
        >>> losses = [2.30, 2.29, 2.0, 0.9, 0.6, np.nan]
        >>> s = suggest_lr(lrs, losses)
        >>> float(s.lr_min), float(s.lr_max), s.evidence["min_index"], s.on_plateau
        (0.001, 0.1, 4, False)
        >>> float(suggest_lr(lrs, losses, "steep").value)
        0.001

    Args:
        lrs: learning rates, increasing.
        losses: the loss at each (smoothed for a range test; the last epoch's for a sweep).
        rule: a name in :data:`LR_RULES`: ``"default"``, ``"valley"``, ``"steep"``, ``"minimum"``.
        reference: the "nothing learned" loss for ``"default"``; default the median of the first
            5 % of the curve (at least its first point).
        fractions: ``(low, high)`` fractions of the total drop for ``"default"``.
        skip_start, skip_end: points dropped from the start and the end before the cut at the first
            non-finite loss: integers >= 0 that leave the two points every rule needs,
            ``skip_start + skip_end <= len(lrs) - 2``. fastai's ``lr_find`` slices its recorded curve
            ``[num_it // 10 : -5]`` (``num_it``: the planned iterations, not the recorded points),
            then drops from its first NaN (NaN only: an infinite loss stays), before every suggestion
            function; :meth:`hw2.range_test.LRRangeTestResult.suggest` passes those skips for fastai's
            rules. With both skips 0 this is the whole curve cut at its first non-finite loss.

    Returns:
        :class:`Suggestion`; indices refer to the full curve as passed in.
    """
    check_choice("rule", rule, LR_RULES)
    lrs, losses = _curve(lrs, losses, "lrs")
    fractions = _check_fractions(fractions)
    # every rule reads a slope, so at least two points must remain; a negative skip would count from the end
    skip_start = check_int("skip_start", skip_start, low=0, high=len(lrs) - 2)
    stop = len(lrs) - check_int("skip_end", skip_end, low=0, high=len(lrs) - 2 - skip_start)
    # fastai's order: slice first, then cut the slice at its first non-finite loss
    finite = np.isfinite(losses[skip_start:stop])
    start = skip_start
    cut = start + (int(np.argmin(finite)) if not finite.all() else len(finite))
    xs, ls = lrs[start:cut], losses[start:cut]
    where = {"curve_start": start, "curve_end": cut}
    if len(xs) < 2:
        value = float(lrs[max(cut - 1, 0)])
        return Suggestion(rule, value, max(cut - 1, 0), value / 10 if rule == "default" else None,
                          value if rule == "default" else None, reliable=False,
                          evidence=dict(where, reason="fewer than two finite points"))
    s = LR_RULES[rule](xs, ls, reference=reference, fractions=fractions)
    if "min_index" in s.evidence:
        s = dataclasses.replace(s, evidence=dict(s.evidence, min_index=start + s.evidence["min_index"]))
    s = dataclasses.replace(s, rule=rule, evidence=dict(where, **s.evidence))
    return _with_plateau(s, xs, ls, start, "lr")


# ------------------------------------------------------------------------------ batch-size rules

#: Batch-size rules by name: ``rule(batch_sizes, losses, *, reference, fractions) -> Suggestion``
#: on the non-diverged part of the curve, indices relative to it.
BATCH_RULES: dict[str, Callable[..., Suggestion]] = {}


def register_batch_rule(name: str):
    """Register a batch-size rule under ``name`` (a decorator); :func:`suggest_batch_size` then accepts it."""
    return _register(BATCH_RULES, name)


@register_batch_rule("default")
def batch_fraction_of_drop(sizes, losses, *, reference=None, fractions=(0.1, 0.9)) -> Suggestion:
    """``b_min`` / ``b_max``: from the largest batch down, the last to reach ``fractions`` of the drop."""
    lo_frac, hi_frac = fractions
    i_min = int(np.argmin(losses))
    ref = float(np.max(losses)) if reference is None else float(reference)
    evidence: dict[str, Any] = {"reference_loss": ref, "min_loss": float(losses[i_min]), "min_index": i_min,
                                "fractions": [lo_frac, hi_frac]}
    drop = _drop(losses, ref)
    if drop is None or len(sizes) < 2:
        up = min(i_min + 1, len(sizes) - 1)
        return Suggestion("default", float(sizes[i_min]), i_min, float(sizes[i_min]), float(sizes[up]),
                          i_min, up, reliable=False,
                          evidence=dict(evidence, reason=_NEVER_FELL if len(sizes) >= 2
                                        else "only one batch size did not diverge"))
    tail = np.arange(i_min, len(sizes))  # batch sizes from the best one upwards
    i_bmin = int(tail[drop[tail] >= hi_frac].max())
    i_bmax = int(tail[drop[tail] >= lo_frac].max())
    if i_bmin == i_bmax:
        if i_bmax + 1 < len(sizes):
            i_bmax += 1
        elif i_bmin > 0:
            i_bmin -= 1
    slopes = _slopes(sizes, losses)
    evidence.update(drop=drop, slope_low=float(slopes[i_bmin]), slope_high=float(slopes[i_bmax]))
    return Suggestion("default", float(sizes[i_bmin]), i_bmin, float(sizes[i_bmin]), float(sizes[i_bmax]),
                      i_bmin, i_bmax, evidence=evidence)


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
        >>> s.b_min, s.b_max, s.on_plateau
        (256, 1024, False)

    Args:
        batch_sizes: increasing batch sizes.
        losses: final training loss of each run (non-finite: diverged).
        rule: a name in :data:`BATCH_RULES` (``"default"``).
        reference: the "nothing learned" loss, e.g. the initial loss; default the worst finite loss.
        fractions: ``(low, high)`` fractions of the total drop.

    Returns:
        :class:`Suggestion` with ``value = b_min``, ``low = b_min``, ``high = b_max``; indices refer
        to the full curve as passed in.
    """
    check_choice("rule", rule, BATCH_RULES)
    sizes, losses = _curve(batch_sizes, losses, "batch_sizes")
    fractions = _check_fractions(fractions)
    finite = np.isfinite(losses)
    first = int(np.flatnonzero(~finite).max()) + 1 if not finite.all() else 0
    where = {"curve_start": first, "curve_end": len(sizes)}
    if first == len(sizes):
        last = len(sizes) - 1
        return Suggestion(rule, float(sizes[-1]), last, float(sizes[-1]), float(sizes[-1]), last, last,
                          reliable=False, evidence=dict(where, reason="every batch size diverged"))
    xs, ls = sizes[first:], losses[first:]
    s = BATCH_RULES[rule](xs, ls, reference=reference, fractions=fractions)
    evidence = dict(where, **s.evidence)
    if "min_index" in evidence:
        evidence["min_index"] += first
    s = dataclasses.replace(s, rule=rule, evidence=evidence)
    return _with_plateau(s, xs, ls, first, "batch size")
