"""Sample-level tests: p-values equal scipy's, intervals are the exact duals of the tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mekscore.tl import _stats

RNG = np.random.default_rng(7)
CTRL = np.array([0.41, 0.52, 0.38, 0.47, 0.50])
TRT = np.array([0.58, 0.66, 0.49, 0.71, 0.62, 0.55])


def test_welch_p_value_and_difference_interval_equal_scipy():
    r = _stats.compare_unpaired(CTRL, TRT, "welch")
    ref = stats.ttest_ind(TRT, CTRL, equal_var=False)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    ci = ref.confidence_interval(0.95)
    assert (r.difference_low, r.difference_high) == pytest.approx((ci.low, ci.high), rel=1e-12)
    assert r.difference == pytest.approx(TRT.mean() - CTRL.mean())


def test_paired_t_p_value_and_difference_interval_equal_scipy():
    ctrl, trt = CTRL, CTRL + np.array([0.1, 0.3, -0.05, 0.2, 0.12])
    r = _stats.compare_paired(ctrl, trt, "paired-t")
    ref = stats.ttest_rel(trt, ctrl)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    ci = ref.confidence_interval(0.95)
    assert (r.difference_low, r.difference_high) == pytest.approx((ci.low, ci.high), rel=1e-12)


def test_rank_p_values_are_scipy_exact():
    r = _stats.compare_unpaired(CTRL, TRT, "mannwhitney")
    assert r.p_value == pytest.approx(stats.mannwhitneyu(TRT, CTRL, method="exact").pvalue)
    d = np.array([0.3, 0.1, -0.05, 0.4, 0.22, 0.15, 0.31])
    w = _stats.compare_paired(np.zeros(7), d, "wilcoxon")
    assert w.p_value == pytest.approx(stats.wilcoxon(d, method="exact").pvalue)


def test_hedges_g_av_is_delacre_g_star_s():
    """J on the df of the average variance (Delacre et al. 2021), not on the Welch df."""
    r = _stats.compare_unpaired(CTRL, TRT, "welch")
    v1, v2 = CTRL.var(ddof=1), TRT.var(ddof=1)
    n1, n2 = len(CTRL), len(TRT)
    dof = (n1 - 1) * (n2 - 1) * (v1 + v2) ** 2 / ((n2 - 1) * v1**2 + (n1 - 1) * v2**2)
    j = math.gamma(dof / 2) / (math.sqrt(dof / 2) * math.gamma((dof - 1) / 2))
    assert r.effect_size == pytest.approx(j * (TRT.mean() - CTRL.mean()) / math.sqrt((v1 + v2) / 2))
    assert _stats.hedges_correction(20) == pytest.approx(1 - 3 / (4 * 20 - 1), abs=2e-4)


def test_equal_arms_standardiser_is_the_pooled_sd():
    c, t = RNG.normal(0, 1, 5), RNG.normal(1, 2, 5)
    r = _stats.compare_unpaired(c, t, "welch")
    pooled = math.sqrt((c.var(ddof=1) + t.var(ddof=1)) / 2)
    j = _stats.hedges_correction(_welch_dof(c, t))
    assert r.effect_size == pytest.approx(j * (t.mean() - c.mean()) / pooled)


def _welch_dof(c, t):
    a, b = c.var(ddof=1) / len(c), t.var(ddof=1) / len(t)
    return (a + b) ** 2 / (a**2 / (len(c) - 1) + b**2 / (len(t) - 1))


def test_noncentral_interval_solves_its_defining_equations():
    t, dof = 2.3, 6
    low, high = _stats.noncentral_t_interval(t, dof, 0.9)
    assert stats.nct.cdf(t, dof, low) == pytest.approx(0.95, abs=1e-9)
    assert stats.nct.cdf(t, dof, high) == pytest.approx(0.05, abs=1e-9)


def test_noncentral_interval_survives_extreme_statistics():
    low, high = _stats.noncentral_t_interval(45.0, 2)
    assert 0 < low < 45 < high and np.isfinite(high)


@pytest.mark.parametrize("n1,n2", [(3, 3), (4, 4), (4, 6), (6, 6), (8, 3)])
@pytest.mark.parametrize("test", ["welch", "mannwhitney"])
def test_unpaired_interval_excludes_zero_exactly_when_p_is_below_level(n1, n2, test):
    for _ in range(150):
        c, t = RNG.normal(0, 1, n1), RNG.normal(RNG.uniform(0, 2.5), RNG.uniform(0.5, 2), n2)
        r = _stats.compare_unpaired(c, t, test, confidence=0.95, alpha=0.05)
        if r.untestable:
            assert test == "mannwhitney" and 2 / math.comb(n1 + n2, n1) > 0.05
            continue
        excludes = r.ci_low > 0 or r.ci_high < 0
        assert excludes == (r.p_value <= 0.05), (r, c, t)
        assert r.ci_low <= r.effect_size <= r.ci_high or test == "welch"


@pytest.mark.parametrize("n", [3, 4, 6, 8])
@pytest.mark.parametrize("test", ["paired-t", "wilcoxon"])
def test_paired_interval_excludes_zero_exactly_when_p_is_below_level(n, test):
    for _ in range(150):
        d = RNG.normal(RNG.uniform(0, 2), 1, n)
        r = _stats.compare_paired(np.zeros(n), d, test, confidence=0.95, alpha=0.05)
        if r.untestable:
            assert test == "wilcoxon" and 2 / 2**n > 0.05
            continue
        assert (r.ci_low > 0 or r.ci_high < 0) == (r.p_value <= 0.05), (r, d)


def test_hodges_lehmann_interval_inverts_the_permutation_test():
    """Shifts inside the interval are exactly those the exact test does not reject."""
    c, t = np.array([1.1, 2.3, 0.7, 1.9, 1.4, 2.0]), np.array([2.9, 3.4, 2.2, 4.1, 3.0, 2.6])
    r = _stats.compare_unpaired(c, t, "mannwhitney")
    differences = np.subtract.outer(t, c).ravel()
    assert r.effect_size == pytest.approx(np.median(differences))
    for shift in np.linspace(r.ci_low - 1, r.ci_high + 1, 97):
        if np.isclose(differences, shift).any():
            continue  # a tie at the boundary
        p = stats.mannwhitneyu(t - shift, c, method="exact").pvalue
        assert (p > 0.05) == (r.ci_low < shift < r.ci_high), shift


def test_rank_direction_comes_from_ranks_not_the_mean():
    """7 of 8 treated above every control plus one low outlier: up, although the mean fell."""
    ctrl = np.array([1.0, 1.1, 0.9, 1.2, 1.05, 0.95, 1.15, 1.0])
    trt = np.array([1.4, 1.5, 1.35, 1.6, 1.45, 1.55, 1.5, -9.0])
    assert trt.mean() < ctrl.mean()
    r = _stats.compare_unpaired(ctrl, trt, "mannwhitney")
    assert r.p_value < 0.05 and r.observed == "up" and r.ci_low > 0
    assert r.effect_measure == "hodges_lehmann" and r.rank_biserial == pytest.approx(0.75)


def test_rank_tests_too_small_to_reach_alpha_are_refused():
    r = _stats.compare_unpaired(np.arange(3.0), np.arange(3.0) + 10, "mannwhitney")
    assert r.untestable == "n too small for mannwhitney (minimum p = 0.1)" and np.isnan(r.p_value)
    w = _stats.compare_paired(np.zeros(5), np.arange(1.0, 6.0), "wilcoxon")
    assert w.untestable == "n too small for wilcoxon (minimum p = 0.0625)"
    assert _stats.compare_paired(np.zeros(6), np.arange(1.0, 7.0), "wilcoxon").p_value < 0.05


def test_zero_variance_is_not_testable():
    r = _stats.compare_unpaired(np.ones(3), np.full(3, 2.0), "welch")
    assert r.untestable == "zero variance in both arms" and r.observed == ""
    p = _stats.compare_paired(np.zeros(4), np.ones(4), "paired-t")
    assert p.untestable == "zero variance of the pair differences"


def test_one_constant_arm_is_still_tested():
    r = _stats.compare_unpaired(np.ones(4), np.array([1.5, 2.0, 2.5, 1.8]), "welch")
    assert not r.untestable and np.isfinite(r.effect_size) and r.p_value < 0.05


def test_benjamini_hochberg_equals_scipy_and_skips_nan():
    p = RNG.uniform(size=20)
    assert _stats.benjamini_hochberg(p) == pytest.approx(stats.false_discovery_control(p))
    q = _stats.benjamini_hochberg(np.array([0.01, np.nan, 0.04, 0.03]))
    assert np.isnan(q[1]) and q[[0, 2, 3]] == pytest.approx([0.03, 0.04, 0.04])


def test_unknown_test_names_are_refused():
    with pytest.raises(ValueError, match="unknown unpaired test 'ttest'"):
        _stats.compare_unpaired(CTRL, TRT, "ttest")
    with pytest.raises(ValueError, match="unknown paired test 'welch'"):
        _stats.compare_paired(CTRL, CTRL + 1, "welch")
