"""Small statistics used to phrase verdicts: Wilson intervals, mean confidence intervals (normal for
many samples, Student t for a few seeds), paired differences. numpy only; 95 % throughout.

Example:
    >>> lo, hi = wilson_interval(90, 100)
    >>> round(lo, 3), round(hi, 3)
    (0.826, 0.945)
"""

from __future__ import annotations

import math

import numpy as np

from hw2._checks import argument_error, check_choice, check_int, check_positive, check_range

Z95 = 1.959963984540054


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (well behaved near 0 and 1)."""
    check_positive("n", n)
    check_range("successes", successes, 0, n)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
         2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086)


def t_quantile_975(df: int) -> float:
    """Two-sided 95 % quantile of Student's t with ``df`` degrees of freedom (table, then normal).

    Example:
        >>> t_quantile_975(4)
        2.776
    """
    check_range("df", df, low=1)
    return _T975[df - 1] if df <= len(_T975) else Z95 * (1 + 1 / (4 * df))


def mean_ci(values, z: float = Z95) -> tuple[float, float, float]:
    """``(mean, low, high)``: normal-approximation 95 % interval of the mean (many samples)."""
    values = np.asarray(values, dtype=np.float64)
    mean = float(values.mean())
    if values.size < 2:
        return mean, float("nan"), float("nan")
    half = z * float(values.std(ddof=1)) / math.sqrt(values.size)
    return mean, mean - half, mean + half


def t_interval(values) -> tuple[float, float, float]:
    """``(mean, low, high)``: Student-t 95 % interval of the mean, for a few seeds.

    The one helper for intervals over seeds (Problems 3 and 4): with 2 or 3 values the normal
    quantile 1.96 understates the interval by a factor 6.5 or 1.6.

    Example:
        >>> [round(v, 2) for v in t_interval([0.80, 0.82, 0.84])]
        [0.82, 0.77, 0.87]
        >>> t_interval([0.8])[1]
        nan
    """
    values = np.asarray(values, dtype=np.float64)
    mean = float(values.mean())
    if values.size < 2:
        return mean, float("nan"), float("nan")
    half = t_quantile_975(values.size - 1) * float(values.std(ddof=1)) / math.sqrt(values.size)
    return mean, mean - half, mean + half


INTERVALS = ("normal", "t")


def paired_difference(a, b, *, interval: str = "normal") -> dict:
    """Compare paired samples ``a`` and ``b`` (same seeds / training sets).

    Returns the mean difference ``a - b`` with its 95 % interval (``interval="normal"`` for many
    pairs, ``"t"``: Student t, :func:`t_interval`, for a few seeds), the sd of the differences, the
    fraction of pairs where a > b, a == b and a < b, and whether the interval excludes 0
    (``significant``; never with one pair). A t interval is marked ``interval: "t"``.

    Example:
        >>> out = paired_difference([0.90, 0.91], [0.88, 0.885], interval="t")
        >>> round(out["mean_diff"], 4), out["significant"], out["interval"]
        (0.0225, False, 't')
    """
    check_choice("interval", interval, INTERVALS)
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise argument_error(("a", "b"), "paired samples of the same shape",
                             received=f"a.shape={a.shape}, b.shape={b.shape}")
    diff = a - b
    mean, low, high = (t_interval if interval == "t" else mean_ci)(diff)
    out = {
        "mean_diff": mean, "ci_low": low, "ci_high": high,
        "sd_diff": float(diff.std(ddof=1)) if diff.size > 1 else float("nan"),
        "frac_a_better": float(np.mean(diff > 0)), "frac_tie": float(np.mean(diff == 0)),
        "frac_b_better": float(np.mean(diff < 0)),
        "significant": bool(np.isfinite(low) and (low > 0 or high < 0)),
        "n": int(diff.size),
    }
    if interval == "t" and diff.size > 1:
        out["interval"] = "t"
    return out


def mean_pairwise_disagreement(predictions) -> float:
    """Mean over all pairs of runs of the fraction of points on which two runs disagree.

    ``predictions`` has shape (runs, points) with values in {-1, +1} (or {0, 1}). Computed exactly
    in O(runs x points) from the per-point vote fractions.
    """
    predictions = np.asarray(predictions)
    runs = predictions.shape[0]
    if runs < 2:
        raise argument_error("predictions", "an array of shape (runs, points) with runs >= 2",
                             received=f"predictions.shape={predictions.shape}")
    positive = (predictions > 0).sum(axis=0).astype(np.float64)
    disagreeing_pairs = positive * (runs - positive)
    return float(disagreeing_pairs.sum() / (runs * (runs - 1) / 2) / predictions.shape[1])


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs of a paired comparison.

    ``only_a``: pairs where only ``a`` is right (or has the event), ``only_b``: only ``b``. Under the
    null hypothesis each discordant pair goes either way with probability 1/2, so the p-value is
    ``min(1, 2·P(X <= min(only_a, only_b)))`` for ``X ~ Binomial(only_a + only_b, 1/2)``; concordant
    pairs carry no information. Exact integer arithmetic, no normal approximation.

    Example:
        >>> f"{mcnemar_exact(26, 3):.3g}"
        '1.52e-05'
        >>> mcnemar_exact(4, 4)
        1.0
    """
    only_a, only_b = check_int("only_a", only_a, low=0), check_int("only_b", only_b, low=0)
    n = only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(only_a, only_b) + 1))
    return min(1.0, 2 * tail / 2**n)  # int / int is correctly rounded even for huge n


def mcnemar(correct_a, correct_b) -> dict:
    """Paired comparison of two classifiers on the same points: discordant counts and exact p.

    ``correct_a`` and ``correct_b`` are boolean arrays of the same shape (True = that classifier is
    right on that point). Returns ``only_a`` (a right, b wrong), ``only_b``, ``both``, ``neither``,
    ``n`` and the two-sided exact ``p_value`` (:func:`mcnemar_exact`).

    Example:
        >>> mcnemar([True, True, False, True], [True, False, False, False])["only_a"]
        2
    """
    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise argument_error(("correct_a", "correct_b"), "of the same shape",
                             received=f"correct_a.shape={a.shape}, correct_b.shape={b.shape}")
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    return {"only_a": only_a, "only_b": only_b, "both": int(np.sum(a & b)), "neither": int(np.sum(~a & ~b)),
            "n": int(a.size), "p_value": mcnemar_exact(only_a, only_b)}
