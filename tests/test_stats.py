"""Sample-level statistics against scipy, hand computations and a published worked example."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mekscore.tl import _stats

RNG = np.random.default_rng(7)
CONTROL = RNG.normal(0.0, 1.0, 6)
TREATED = RNG.normal(0.8, 1.5, 5)
PAIRED_CONTROL = RNG.normal(0.0, 1.0, 7)
PAIRED_TREATED = PAIRED_CONTROL + RNG.normal(0.5, 0.7, 7)

# pingouin.compute_esci docstring, example 2: Cohen d of x vs y is 0.1538, 95% CI [-0.737, 1.045]
PG_X = np.array([3, 4, 6, 7, 5, 6, 7, 3, 5, 4, 2], dtype=float)
PG_Y = np.array([4, 6, 6, 7, 6, 5, 5, 2, 3, 4, 1], dtype=float)


def test_welch_p_value_equals_scipy():
    res = _stats.compare_unpaired(CONTROL, TREATED, "welch")
    assert res.p_value == pytest.approx(stats.ttest_ind(TREATED, CONTROL, equal_var=False).pvalue)
    assert res.difference == pytest.approx(TREATED.mean() - CONTROL.mean())


def test_mann_whitney_p_value_equals_scipy():
    res = _stats.compare_unpaired(CONTROL, TREATED, "mannwhitney")
    expected = stats.mannwhitneyu(TREATED, CONTROL, alternative="two-sided").pvalue
    assert res.p_value == pytest.approx(expected)


def test_paired_t_p_value_equals_scipy():
    res = _stats.compare_paired(PAIRED_CONTROL, PAIRED_TREATED, "ttest")
    assert res.p_value == pytest.approx(stats.ttest_rel(PAIRED_TREATED, PAIRED_CONTROL).pvalue)
    assert res.difference == pytest.approx(np.mean(PAIRED_TREATED - PAIRED_CONTROL))


def test_wilcoxon_p_value_equals_scipy():
    res = _stats.compare_paired(PAIRED_CONTROL, PAIRED_TREATED, "wilcoxon")
    assert res.p_value == pytest.approx(stats.wilcoxon(PAIRED_TREATED, PAIRED_CONTROL).pvalue)


def test_hedges_g_equals_hand_computation():
    n1, n2 = len(CONTROL), len(TREATED)
    m1, m2 = sum(CONTROL) / n1, sum(TREATED) / n2
    ss1 = sum((v - m1) ** 2 for v in CONTROL)
    ss2 = sum((v - m2) ** 2 for v in TREATED)
    pooled_sd = math.sqrt((ss1 + ss2) / (n1 + n2 - 2))
    correction = 1 - 3 / (4 * (n1 + n2) - 9)
    assert _stats.hedges_g(CONTROL, TREATED) == pytest.approx(correction * (m2 - m1) / pooled_sd)
    res = _stats.compare_unpaired(CONTROL, TREATED)
    assert res.effect_size == pytest.approx(correction * (m2 - m1) / pooled_sd)


def test_cohen_dz_equals_hand_computation():
    d = PAIRED_TREATED - PAIRED_CONTROL
    mean = sum(d) / len(d)
    sd = math.sqrt(sum((v - mean) ** 2 for v in d) / (len(d) - 1))
    assert _stats.compare_paired(PAIRED_CONTROL, PAIRED_TREATED).effect_size == pytest.approx(
        mean / sd
    )


def test_effect_size_ci_matches_pingouin_worked_example():
    # Cohen d = Hedges g / correction; x plays "treated", y "control"
    cohen_d = _stats.hedges_g(PG_Y, PG_X) / (1 - 3 / (4 * 20 - 1))
    assert round(cohen_d, 4) == 0.1538
    low, high = _stats.effect_size_ci(cohen_d, 11, 11)
    assert (round(low, 3), round(high, 3)) == (-0.737, 1.045)


def test_effect_size_ci_formulas():
    g, n1, n2 = 0.9, 5, 7
    se = math.sqrt((n1 + n2) / (n1 * n2) + g**2 / (2 * (n1 + n2)))
    crit = stats.t.ppf(0.975, n1 + n2 - 2)
    assert _stats.effect_size_ci(g, n1, n2) == pytest.approx((g - crit * se, g + crit * se))
    se1 = math.sqrt(1 / 6 + g**2 / 12)
    crit1 = stats.t.ppf(0.95, 5)
    expected = (g - crit1 * se1, g + crit1 * se1)
    assert _stats.effect_size_ci(g, 6, None, confidence=0.9) == pytest.approx(expected)


def test_ci_of_result_brackets_effect():
    res = _stats.compare_unpaired(CONTROL, TREATED)
    assert res.ci_low < res.effect_size < res.ci_high
    assert (res.ci_low, res.ci_high) == pytest.approx(
        _stats.effect_size_ci(res.effect_size, len(CONTROL), len(TREATED))
    )


def test_benjamini_hochberg_equals_scipy():
    p = RNG.uniform(0, 0.2, 40)
    assert np.allclose(_stats.benjamini_hochberg(p), stats.false_discovery_control(p))


def test_benjamini_hochberg_skips_nan():
    p = np.array([0.01, np.nan, 0.04, 0.03, np.nan, 0.5])
    q = _stats.benjamini_hochberg(p)
    ok = ~np.isnan(p)
    assert np.isnan(q[~ok]).all()
    assert np.allclose(q[ok], stats.false_discovery_control(p[ok]))


def test_zero_variance_equal_arms_is_no_difference():
    res = _stats.compare_unpaired(np.full(3, 2.0), np.full(4, 2.0))
    assert (res.difference, res.effect_size, res.p_value) == (0.0, 0.0, 1.0)
    paired = _stats.compare_paired(np.array([1.0, 2.0]), np.array([1.0, 2.0]), "wilcoxon")
    assert (paired.difference, paired.effect_size, paired.p_value) == (0.0, 0.0, 1.0)


def test_zero_variance_different_arms_is_infinite_effect():
    res = _stats.compare_unpaired(np.full(3, 1.0), np.full(3, 2.0))
    assert res.effect_size == np.inf and res.p_value == 0.0
    assert np.isnan(res.ci_low) and np.isnan(res.ci_high)


def test_unknown_test_names_are_refused():
    with pytest.raises(ValueError, match="unknown unpaired test"):
        _stats.compare_unpaired(CONTROL, TREATED, "ttest")
    with pytest.raises(ValueError, match="unknown paired test"):
        _stats.compare_paired(PAIRED_CONTROL, PAIRED_TREATED, "welch")
