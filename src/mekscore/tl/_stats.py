"""Sample-level tests with effect sizes, each interval stated with how it relates to the test.

``welch`` (unpaired)
    Welch's t-test. Difference in means with the Welch t interval (the test's exact dual).
    Standardised effect ``hedges_g_av``: Delacre et al. (2021)'s g*_s,
    ``J(df*) * (mean_t - mean_c) / sqrt((s_c^2 + s_t^2) / 2)`` with Hedges' correction
    ``J`` on ``df* = (n_c-1)(n_t-1)(s_c^2+s_t^2)^2 / ((n_t-1) s_c^4 + (n_c-1) s_t^4)``,
    the degrees of freedom of the average variance. At equal n the standardiser is the
    pooled SD and ``df*`` equals the Welch df, which is at most ``2n - 2``: g*_s is then
    Cohen's d_s times a correction at most Hedges' (smaller than textbook Hedges' g, by up
    to 29% at 3 per arm and 17% at 4 when the variances differ). Its interval converts the
    noncentral-t interval of the Welch statistic (Welch df) with the sample variances: an
    approximation (the Welch statistic is not noncentral-t distributed), whose coverage
    is measured in ``benchmarks/statistics.py``. It excludes 0 exactly when the Welch
    p-value is ``<= 1 - confidence``.
``paired-t`` (paired)
    One-sample t-test of the pair differences; mean difference with its t interval;
    ``hedges_g_z = J(n - 1) * mean(d) / sd(d)`` with the exact noncentral-t interval.
``mannwhitney`` (unpaired) and ``wilcoxon`` (paired)
    Exact conditional permutation p-values with midranks for ties, Pratt's rule for zero
    differences, and twice the smaller one-sided p; the Hodges-Lehmann shift (median of
    pairwise differences, or of Walsh averages) with the set of shifts the same test does
    not reject (:mod:`._ranks`), and the rank-biserial correlation. The direction of a
    rank test is read from these rank statistics, never from the mean.

``J`` is Hedges' small-sample correction (exact gamma form); it is 0 at 1 degree of
freedom (two samples, one arm constant; or two pairs), where no correction can remove the
bias: there the uncorrected ``cohens_d_av`` / ``cohens_d_z`` is reported and named as such,
so a non-zero difference never becomes an effect of 0. The intervals are for the
population effect and are not multiplied by ``J``: doing so shrinks them towards 0 and,
at 3-6 samples per arm, covers the true effect in only 68-94% of simulated studies.

A test that cannot give evidence is refused with its reason (``Contrast.untestable``):
zero variance in the tested values, or a rank test whose smallest attainable p-value on
the observed values exceeds ``alpha``, with its cause: ``n`` (3 vs 3 samples for
Mann-Whitney, < 6 pairs for Wilcoxon), ``ties`` or ``zero differences``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

from ..errors import InputError
from . import _ranks

UNPAIRED_TESTS = ("welch", "mannwhitney")
PAIRED_TESTS = ("paired-t", "wilcoxon")
TESTS = UNPAIRED_TESTS + PAIRED_TESTS
EFFECT_MEASURES = {
    "adjusted": "adjusted_g",
    "welch": "hedges_g_av",
    "paired-t": "hedges_g_z",
    "mannwhitney": "hodges_lehmann",
    "wilcoxon": "hodges_lehmann",
}


@dataclass(frozen=True)
class Contrast:
    """One treated-vs-control comparison of sample-level values.

    ``difference`` (with ``difference_low``/``difference_high``) is in score units:
    the mean difference for t-tests, the Hodges-Lehmann shift for rank tests.
    ``effect_size`` (with ``ci_low``/``ci_high``) is the ``effect_measure``:
    Hedges' g_av (g*_s) / g_z for t-tests (Cohen's d_av / d_z at 1 degree of freedom),
    the Hodges-Lehmann shift for rank tests. ``test`` names the test and, where the data
    make one matter, its conventions (e.g. ``"wilcoxon (zeros: Pratt)"``).
    ``ci_low_open``/``ci_high_open`` say that an end of a rank test's interval is itself
    rejected (the interval then excludes that end); ``note`` says in words what a reader
    of ``p`` and the interval must know (an open end at 0). ``untestable`` is the reason
    a test was refused (then the numbers are NaN).
    """

    test: str
    effect_measure: str
    difference: float = np.nan
    difference_low: float = np.nan
    difference_high: float = np.nan
    effect_size: float = np.nan
    ci_low: float = np.nan
    ci_high: float = np.nan
    rank_biserial: float = np.nan
    p_value: float = np.nan
    untestable: str = field(default="")
    ci_low_open: bool = False
    ci_high_open: bool = False
    note: str = ""

    @property
    def observed(self) -> str:
        """``"up"``, ``"down"`` or ``"none"``: the sign of the effect (``""`` if untested)."""
        if self.untestable or np.isnan(self.effect_size):
            return ""
        return "up" if self.effect_size > 0 else "down" if self.effect_size < 0 else "none"

    @property
    def excludes_zero(self) -> bool:
        """Whether 0 lies outside the interval, counting open ends.

        Examples
        --------
        >>> Contrast("wilcoxon", "hodges_lehmann", ci_low=0.0, ci_high=2.0,
        ...          ci_low_open=True).excludes_zero
        True
        """
        low, high = self.ci_low, self.ci_high
        if low > 0 or high < 0:
            return True
        return bool((low == 0 and self.ci_low_open) or (high == 0 and self.ci_high_open))


def compare_unpaired(
    control: np.ndarray,
    treated: np.ndarray,
    test: str = "welch",
    confidence: float = 0.95,
    alpha: float = 0.05,
) -> Contrast:
    """Compare two independent groups of sample-level values.

    Examples
    --------
    >>> r = compare_unpaired(np.array([1.0, 2.0, 3.0]), np.array([3.0, 4.0, 5.0]))
    >>> r.difference, round(r.p_value, 4), r.effect_measure
    (2.0, 0.0705, 'hedges_g_av')
    >>> bool(r.ci_low < 0 < r.ci_high)  # p > 0.05, so the interval holds 0
    True
    """
    control, treated = np.asarray(control, float), np.asarray(treated, float)
    if test == "welch":
        return _welch(control, treated, confidence)
    if test == "mannwhitney":
        return _mann_whitney(control, treated, confidence, alpha)
    raise InputError(f"unknown unpaired test {test!r}; use one of {UNPAIRED_TESTS}")


def compare_paired(
    control: np.ndarray,
    treated: np.ndarray,
    test: str = "paired-t",
    confidence: float = 0.95,
    alpha: float = 0.05,
) -> Contrast:
    """Compare matched control/treated values (same order, one pair per position).

    Examples
    --------
    >>> r = compare_paired(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0]))
    >>> r.difference, round(r.p_value, 4), r.effect_measure
    (2.0, 0.0742, 'hedges_g_z')
    """
    d = np.asarray(treated, float) - np.asarray(control, float)
    if test == "paired-t":
        return _paired_t(d, confidence)
    if test == "wilcoxon":
        return _wilcoxon(d, confidence, alpha)
    raise InputError(f"unknown paired test {test!r}; use one of {PAIRED_TESTS}")


# --- t-tests ------------------------------------------------------------------------

_UNCORRECTED = {"hedges_g_av": "cohens_d_av", "hedges_g_z": "cohens_d_z"}  # at 1 df


def _welch(control: np.ndarray, treated: np.ndarray, confidence: float) -> Contrast:
    n1, n2 = len(control), len(treated)
    v1, v2 = control.var(ddof=1), treated.var(ddof=1)
    if v1 == 0 and v2 == 0:
        return Contrast("welch", "hedges_g_av", untestable="zero variance in both arms")
    se = math.sqrt(v1 / n1 + v2 / n2)
    dof = se**4 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1))
    return _t_contrast(
        float(treated.mean() - control.mean()),
        se,
        dof,
        test="welch",
        measure="hedges_g_av",
        scale=se / math.sqrt((v1 + v2) / 2),
        j_dof=average_variance_dof(v1, v2, n1, n2),
        confidence=confidence,
    )


def average_variance_dof(v1: float, v2: float, n1: int, n2: int) -> float:
    """Degrees of freedom of ``(s_1^2 + s_2^2) / 2`` (Delacre et al. 2021, for g*_s).

    ``(n1-1)(n2-1)(v1+v2)^2 / ((n2-1) v1^2 + (n1-1) v2^2)``: between ``min(n) - 1`` and
    ``n1 + n2 - 2``, and equal to the Welch df when ``n1 == n2``.

    Examples
    --------
    >>> average_variance_dof(1.0, 1.0, 5, 5), average_variance_dof(1.0, 0.0, 2, 6)
    (8.0, 1.0)
    """
    return (n1 - 1) * (n2 - 1) * (v1 + v2) ** 2 / ((n2 - 1) * v1**2 + (n1 - 1) * v2**2)


def _paired_t(d: np.ndarray, confidence: float) -> Contrast:
    n = len(d)
    sd = d.std(ddof=1)
    if sd == 0:
        reason = "zero variance of the pair differences"
        return Contrast("paired-t", "hedges_g_z", untestable=reason)
    return _t_contrast(
        float(d.mean()),
        sd / math.sqrt(n),
        n - 1,
        test="paired-t",
        measure="hedges_g_z",
        scale=1 / math.sqrt(n),
        j_dof=n - 1,
        confidence=confidence,
    )


def _t_contrast(diff, se, dof, *, test, measure, scale, j_dof, confidence) -> Contrast:
    """Difference, standardised effect and intervals from a difference and its SE.

    ``scale`` turns t units into the effect's units; ``j_dof`` is the df of Hedges'
    correction. At ``j_dof <= 1`` the correction is 0 and the uncorrected effect is
    reported under its own name.
    """
    t = diff / se
    crit = stats.t.ppf(0.5 + confidence / 2, dof)
    lam_low, lam_high = noncentral_t_interval(t, dof, confidence)
    degenerate = j_dof <= 1 + 1e-9
    return Contrast(
        test=test,
        effect_measure=_UNCORRECTED[measure] if degenerate else measure,
        difference=float(diff),
        difference_low=float(diff - crit * se),
        difference_high=float(diff + crit * se),
        effect_size=float((1 if degenerate else hedges_correction(j_dof)) * t * scale),
        ci_low=float(lam_low * scale),
        ci_high=float(lam_high * scale),
        p_value=float(2 * stats.t.sf(abs(t), dof)),
    )


def adjusted_contrast(
    y: np.ndarray, covariates: np.ndarray, treated: np.ndarray | None, confidence: float = 0.95
) -> Contrast:
    """Treatment effect adjusted for covariates by least squares, with exact intervals.

    Unpaired (``treated`` a boolean array): ``y ~ 1 + treated + covariates``. Paired
    (``treated=None``): ``y`` and ``covariates`` are within-pair differences (treated
    minus control) and the intercept of ``y ~ 1 + covariates`` is the effect. The
    coefficient's t statistic gives the p-value and its t interval; the effect size
    ``adjusted_g`` is the coefficient over the residual SD (with Hedges' correction)
    and its interval inverts the noncentral t, so it excludes 0 exactly when p is
    below ``1 - confidence``.

    Examples
    --------
    >>> y = np.array([1.0, 1.2, 0.9, 1.1, 2.0, 2.3, 1.9, 2.2])
    >>> z = np.array([[0.1], [0.3], [0.2], [0.0], [0.2], [0.4], [0.1], [0.3]])
    >>> r = adjusted_contrast(y, z, np.arange(8) >= 4)
    >>> round(r.difference, 3), r.effect_measure, r.p_value < 0.001
    (0.97, 'adjusted_g', True)
    """
    y = np.asarray(y, float)
    covariates = np.asarray(covariates, float).reshape(len(y), -1)
    columns = [np.ones(len(y))] if treated is None else [np.ones(len(y)), treated.astype(float)]
    design = np.column_stack([*columns, covariates])
    effect = 0 if treated is None else 1
    dof = len(y) - np.linalg.matrix_rank(design)
    if dof < 2 or np.linalg.matrix_rank(design) < design.shape[1]:
        return Contrast(
            "adjusted", "adjusted_g", untestable="too few samples to adjust for composition"
        )
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ beta
    sigma = math.sqrt(float(residual @ residual) / dof)
    if sigma == 0:
        return Contrast(
            "adjusted", "adjusted_g", untestable="zero residual variance after adjustment"
        )
    se = sigma * math.sqrt(float(np.linalg.inv(design.T @ design)[effect, effect]))
    return _t_contrast(
        float(beta[effect]),
        se,
        dof,
        test="adjusted",
        measure="adjusted_g",
        scale=se / sigma,
        j_dof=dof,
        confidence=confidence,
    )


def hedges_correction(dof: float) -> float:
    """Hedges' exact small-sample correction ``J(df) = G(df/2) / (sqrt(df/2) G((df-1)/2))``.

    Examples
    --------
    >>> round(hedges_correction(4), 4), round(1 - 3 / (4 * 4 - 1), 4)  # exact vs approximate
    (0.7979, 0.8)
    """
    return float(
        np.exp(special.gammaln(dof / 2) - 0.5 * np.log(dof / 2) - special.gammaln((dof - 1) / 2))
    )


def noncentral_t_interval(t: float, dof: float, confidence: float = 0.95) -> tuple[float, float]:
    """Interval for the noncentrality of an observed t statistic (exact inversion).

    The limits ``L, U`` solve ``P(T <= t | L) = (1 + confidence) / 2`` and
    ``P(T <= t | U) = (1 - confidence) / 2`` for ``T ~ nct(dof, .)``; 0 lies outside
    exactly when the two-sided t-test gives ``p < 1 - confidence``.

    Examples
    --------
    >>> low, high = noncentral_t_interval(2.776445, 4)  # t at p = 0.05 with 4 df
    >>> bool(abs(low) < 1e-5), round(high, 2)
    (True, 5.39)
    """
    half = (1 - confidence) / 2

    def excess(lam: float, target: float) -> float:
        value = stats.nct.cdf(t, dof, lam)
        if not np.isfinite(value):  # scipy fails far in the tails, where the cdf is 0 or 1
            value = 1.0 if t > lam else 0.0
        return value - target

    def solve(target: float) -> float:
        step = 1.0 + abs(t)
        low, high = t - step, t + step
        while excess(low, target) < 0:
            low -= step
        while excess(high, target) > 0:
            high += step
        return optimize.brentq(excess, low, high, args=(target,), xtol=1e-12, rtol=1e-12)

    return solve(1 - half), solve(half)


# --- rank tests ---------------------------------------------------------------------


def _mann_whitney(control, treated, confidence, alpha) -> Contrast:
    floor = 2 / math.comb(len(control) + len(treated), len(control))
    if floor > alpha:
        return _refused("mannwhitney", _too_small("mannwhitney", floor))
    if np.ptp(np.concatenate([control, treated])) == 0:
        return _refused("mannwhitney", "all values are equal")
    result = _ranks.mann_whitney(control, treated, confidence)
    name = _rank_name("mannwhitney", result)
    if result.floor > alpha:
        reason = (
            f"ties: mannwhitney cannot reach p <= {alpha:g} on these values (minimum p = "
            f"{result.floor:.3g}; {floor:.3g} without ties)"
        )
        return _refused(name, reason)
    tied = int((np.subtract.outer(treated, control) == 0).sum())
    cause = _count(tied, "treated-control tie")
    return _rank_contrast(name, result, cause, confidence)


def _wilcoxon(d, confidence, alpha) -> Contrast:
    n = len(d)
    floor = 2 / 2**n
    if floor > alpha:
        return _refused("wilcoxon", _too_small("wilcoxon", floor))
    if not d.any():
        return _refused("wilcoxon", "all pair differences are 0")
    result = _ranks.signed_rank(d, confidence)
    name = _rank_name("wilcoxon", result)
    if result.floor > alpha:
        reason = (
            f"zero differences: {result.zeros} of {n} pair differences are 0, so wilcoxon "
            f"cannot reach p <= {alpha:g} (minimum p = {result.floor:.3g}; {floor:.3g} "
            "without zeros)"
        )
        return _refused(name, reason)
    cause = (
        _count(result.zeros, "zero difference")
        if result.zeros
        else "differences of equal size and opposite sign"
    )
    return _rank_contrast(name, result, cause, confidence)


def _rank_name(test: str, result: _ranks.RankResult) -> str:
    """The test and the conventions that decide its numbers on these data."""
    parts = [] if result.exact else ["normal approximation"]
    if result.zeros:
        parts.append("zeros: Pratt")
    if result.ties:
        two_sided = test == "mannwhitney" and result.exact  # an asymmetric null
        parts.append("ties: midranks, 2 x smaller tail" if two_sided else "ties: midranks")
    return f"{test} ({'; '.join(parts)})" if parts else test


def _rank_contrast(test: str, result: _ranks.RankResult, cause: str, confidence) -> Contrast:
    """The Hodges-Lehmann shift with the shifts the test does not reject, and their note."""
    low, high = result.low, result.high
    return Contrast(
        test=test,
        effect_measure="hodges_lehmann",
        difference=result.estimate,
        difference_low=low,
        difference_high=high,
        effect_size=result.estimate,
        ci_low=low,
        ci_high=high,
        rank_biserial=result.rank_biserial,
        p_value=result.p_value,
        ci_low_open=result.low_open,
        ci_high_open=result.high_open,
        note=_interval_note(result, cause, confidence),
    )


def _interval_note(result: _ranks.RankResult, cause: str, confidence: float) -> str:
    shown = _bracket(result)
    if np.isnan(result.low):
        return f"no shift is consistent with these data at {confidence:.0%} confidence"
    if not result.connected:
        return f"the shifts not rejected form more than one interval; {shown} is their hull"
    at_zero = (result.low == 0 and result.low_open) or (result.high == 0 and result.high_open)
    if not at_zero:
        return ""
    side = "above" if result.low == 0 else "below"
    return (
        f"interval {shown} is open at 0: p = {result.p_value:.3g} rejects a shift of 0 but "
        f"not the shifts just {side} it ({cause})"
    )


def _bracket(result: _ranks.RankResult) -> str:
    left = "(" if result.low_open else "["
    right = ")" if result.high_open else "]"
    return f"{left}{result.low:.3g}, {result.high:.3g}{right}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _refused(test: str, reason: str) -> Contrast:
    return Contrast(test, "hodges_lehmann", untestable=reason)


def _too_small(test: str, floor: float) -> str:
    return f"n too small for {test} (minimum p = {floor:.3g})"


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values (``scipy.stats.false_discovery_control``); NaN stays NaN.

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.01, np.nan, 0.04, 0.03])).round(3).tolist()
    [0.03, nan, 0.04, 0.04]
    """
    p = np.asarray(p_values, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        q[ok] = stats.false_discovery_control(p[ok], method="bh")
    return q


def standardise(diff: float, sd: float) -> float:
    """``diff / sd``; with ``sd == 0`` it is 0 for ``diff == 0``, else signed infinity.

    Examples
    --------
    >>> standardise(1.0, 2.0), standardise(0.0, 0.0)
    (0.5, 0.0)
    """
    if sd > 0:
        return diff / sd
    return 0.0 if diff == 0 else float(np.sign(diff) * np.inf)
