import itertools

import numpy as np
import pytest

from hw2 import stats


def test_wilson_interval_known_values_and_edges():
    low, high = stats.wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = stats.wilson_interval(50, 100)
    assert (low, high) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    with pytest.raises(ValueError, match="successes"):
        stats.wilson_interval(11, 10)
    with pytest.raises(ValueError, match="`n` must be > 0"):
        stats.wilson_interval(0, 0)


def test_paired_difference_detects_a_real_shift_and_not_noise():
    rng = np.random.default_rng(0)
    a = rng.normal(size=400)
    shifted = stats.paired_difference(a + 0.5 + rng.normal(scale=0.1, size=400), a)
    assert shifted["significant"] and shifted["ci_low"] > 0.4
    noise = stats.paired_difference(a + rng.normal(scale=0.1, size=400), a)
    assert noise["ci_low"] < 0 < noise["ci_high"]


def test_mean_pairwise_disagreement_matches_brute_force():
    preds = np.random.default_rng(1).choice([-1, 1], size=(9, 13))
    brute = np.mean([np.mean(preds[i] != preds[j]) for i, j in itertools.combinations(range(9), 2)])
    assert stats.mean_pairwise_disagreement(preds) == pytest.approx(brute)


def test_mcnemar_exact_known_values():
    # Hand-computed: 2 * (C(29,0) + C(29,1) + C(29,2) + C(29,3)) / 2**29 = 2 * 4090 / 2**29.
    assert stats.mcnemar_exact(26, 3) == pytest.approx(2 * 4090 / 2**29, rel=1e-12)
    assert stats.mcnemar_exact(3, 26) == stats.mcnemar_exact(26, 3)
    # 1 vs 5 discordant pairs: 2 * (1 + 6) / 64 (the textbook small-sample example).
    assert stats.mcnemar_exact(1, 5) == pytest.approx(0.21875)
    assert stats.mcnemar_exact(0, 0) == 1.0 and stats.mcnemar_exact(7, 7) == 1.0
    # Large n does not overflow, and an even split is far from significant.
    assert 0.9 < stats.mcnemar_exact(5000, 5001) <= 1.0
    with pytest.raises(ValueError, match="`only_b` must be an integer >= 0"):
        stats.mcnemar_exact(3, -1)


def test_mcnemar_counts_the_discordant_pairs():
    a = np.array([1, 1, 1, 0, 0, 1], dtype=bool)
    b = np.array([1, 0, 0, 0, 1, 1], dtype=bool)
    out = stats.mcnemar(a, b)
    assert (out["only_a"], out["only_b"], out["both"], out["neither"], out["n"]) == (2, 1, 2, 1, 6)
    assert out["p_value"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same shape"):
        stats.mcnemar(a, b[:3])
