"""Sample-level tests with effect sizes whose intervals agree with the test.

Four tests, each with the interval that is its exact dual, so that "the interval
excludes 0" and "p < 1 - confidence" are the same statement:

``welch`` (unpaired)
    Welch's t-test. Difference in means with the Welch t interval; standardised
    effect Hedges' g_av = J * (mean_t - mean_c) / sqrt((s_c^2 + s_t^2) / 2), whose
    interval inverts the noncentral t distribution of the Welch statistic on the
    Welch-Satterthwaite degrees of freedom (Delacre et al. 2021, g*_s). With equal
    arm sizes the standardiser is the pooled SD, so g_av is the familiar Hedges' g.
``paired-t`` (paired)
    One-sample t-test of the pair differences; mean difference with its t interval;
    Hedges' g_z = J * mean(d) / sd(d) with the exact noncentral-t interval.
``mannwhitney`` (unpaired) and ``wilcoxon`` (paired)
    Exact permutation p-values (all splits or sign flips are enumerated up to
    100,000; ties handled exactly), the Hodges-Lehmann shift (median of pairwise
    differences, or of Walsh averages) with its exact order-statistic interval
    (Hollander & Wolfe), and the rank-biserial correlation. The direction of a
    rank test is read from these rank statistics, never from the mean.

``J`` is Hedges' small-sample correction (exact gamma form). The intervals are for
the population effect and are not multiplied by ``J``: doing so shrinks them
towards 0 and, at 3-6 samples per arm, covers the true effect in only 68-94% of
simulated studies (the uncorrected exact interval covers 94-97%).

A test that cannot give evidence is refused with its reason (``Contrast.untestable``):
zero variance in the tested values, or a rank test whose smallest attainable p-value
exceeds ``alpha`` (3 vs 3 samples for Mann-Whitney, < 6 pairs for Wilcoxon).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

import numpy as np
from scipy import optimize, special, stats

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
_EXACT_LIMIT = 100_000  # enumerate permutation nulls up to this many arrangements


@dataclass(frozen=True)
class Contrast:
    """One treated-vs-control comparison of sample-level values.

    ``difference`` (with ``difference_low``/``difference_high``) is in score units:
    the mean difference for t-tests, the Hodges-Lehmann shift for rank tests.
    ``effect_size`` (with ``ci_low``/``ci_high``) is the ``effect_measure``:
    Hedges' g_av / g_z for t-tests, the Hodges-Lehmann shift for rank tests.
    ``untestable`` is the reason a test was refused (then the numbers are NaN).
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

    @property
    def observed(self) -> str:
        """``"up"``, ``"down"`` or ``"none"``: the sign of the effect (``""`` if untested)."""
        if self.untestable or np.isnan(self.effect_size):
            return ""
        return "up" if self.effect_size > 0 else "down" if self.effect_size < 0 else "none"


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
    raise ValueError(f"unknown unpaired test {test!r}; use one of {UNPAIRED_TESTS}")


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
    raise ValueError(f"unknown paired test {test!r}; use one of {PAIRED_TESTS}")


# --- t-tests ------------------------------------------------------------------------


def _welch(control: np.ndarray, treated: np.ndarray, confidence: float) -> Contrast:
    n1, n2 = len(control), len(treated)
    v1, v2 = control.var(ddof=1), treated.var(ddof=1)
    if v1 == 0 and v2 == 0:
        return Contrast("welch", "hedges_g_av", untestable="zero variance in both arms")
    diff = float(treated.mean() - control.mean())
    se = math.sqrt(v1 / n1 + v2 / n2)
    dof = se**4 / ((v1 / n1) ** 2 / (n1 - 1) + (v2 / n2) ** 2 / (n2 - 1))
    scale = se / math.sqrt((v1 + v2) / 2)  # t units -> standardised units
    return _t_contrast("welch", "hedges_g_av", diff, dof, se, scale, confidence)


def _paired_t(d: np.ndarray, confidence: float) -> Contrast:
    n = len(d)
    sd = d.std(ddof=1)
    if sd == 0:
        reason = "zero variance of the pair differences"
        return Contrast("paired-t", "hedges_g_z", untestable=reason)
    se = sd / math.sqrt(n)
    return _t_contrast(
        "paired-t", "hedges_g_z", float(d.mean()), n - 1, se, 1 / math.sqrt(n), confidence
    )


def _t_contrast(test, measure, diff, dof, se, scale, confidence) -> Contrast:
    """Difference, standardised effect and exact intervals from a difference and its SE."""
    t = diff / se
    crit = stats.t.ppf(0.5 + confidence / 2, dof)
    lam_low, lam_high = noncentral_t_interval(t, dof, confidence)
    return Contrast(
        test=test,
        effect_measure=measure,
        difference=float(diff),
        difference_low=float(diff - crit * se),
        difference_high=float(diff + crit * se),
        effect_size=float(hedges_correction(dof) * t * scale),
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
        "adjusted", "adjusted_g", float(beta[effect]), dof, se, se / sigma, confidence
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
    n1, n2 = len(control), len(treated)
    floor = 2 / math.comb(n1 + n2, n1)
    if floor > alpha:
        reason = _too_small("mannwhitney", floor)
        return Contrast("mannwhitney", "hodges_lehmann", untestable=reason)
    if np.ptp(np.concatenate([control, treated])) == 0:
        return Contrast("mannwhitney", "hodges_lehmann", untestable="all values are equal")
    exact = math.comb(n1 + n2, n1) <= _EXACT_LIMIT
    null = _mann_whitney_null(n1, n2) if exact else None
    differences = np.sort(np.subtract.outer(treated, control).ravel())
    u = float((differences > 0).sum() + 0.5 * (differences == 0).sum())
    if (
        exact
        and not (differences == 0).any()
        and len(np.unique(np.r_[control, treated])) == n1 + n2
    ):
        p = _exact_two_sided(null, int(u))
    else:  # ties: scipy enumerates the permutations (or approximates for large n)
        method = stats.PermutationMethod(n_resamples=np.inf) if exact else "asymptotic"
        p = stats.mannwhitneyu(treated, control, alternative="two-sided", method=method).pvalue
    cut = _rank_cut(null, n1 * n2, confidence, (n1, n2))
    return _rank_contrast("mannwhitney", differences, cut, 2 * u / (n1 * n2) - 1, p)


def _wilcoxon(d, confidence, alpha) -> Contrast:
    n = len(d)
    floor = 2 / 2**n
    if floor > alpha:
        return Contrast("wilcoxon", "hodges_lehmann", untestable=_too_small("wilcoxon", floor))
    if not d.any():
        return Contrast("wilcoxon", "hodges_lehmann", untestable="all pair differences are 0")
    exact = 2**n <= _EXACT_LIMIT
    null = _signed_rank_null(n) if exact else None
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2)
    nonzero = d[d != 0]
    ranks = stats.rankdata(np.abs(nonzero))
    plus, minus = ranks[nonzero > 0].sum(), ranks[nonzero < 0].sum()
    if exact and len(nonzero) == n and len(np.unique(np.abs(d))) == n:
        p = _exact_two_sided(null, int(plus))
    else:  # zeros or ties: scipy enumerates the sign flips (or approximates for large n)
        method = stats.PermutationMethod(n_resamples=np.inf) if exact else "asymptotic"
        p = stats.wilcoxon(d, method=method).pvalue
    cut = _rank_cut(null, len(walsh), confidence, (n,))
    return _rank_contrast("wilcoxon", walsh, cut, (plus - minus) / (plus + minus), p)


def _rank_contrast(test, values, cut, rank_biserial, p_value) -> Contrast:
    """Hodges-Lehmann shift (median of ``values``) and the order-statistic interval."""
    shift = float(np.median(values))
    low, high = (values[cut], values[len(values) - 1 - cut]) if cut >= 0 else (-np.inf, np.inf)
    return Contrast(
        test=test,
        effect_measure="hodges_lehmann",
        difference=shift,
        difference_low=float(low),
        difference_high=float(high),
        effect_size=shift,
        ci_low=float(low),
        ci_high=float(high),
        rank_biserial=float(rank_biserial),
        p_value=float(p_value),
    )


def _rank_cut(null_counts, total: int, confidence: float, sizes: tuple[int, ...]) -> int:
    """Largest ``c`` with ``P(S <= c) <= (1 - confidence) / 2`` under the null (-1 if none).

    The interval is then the ``c+1``-th smallest to the ``c+1``-th largest of the
    pairwise differences (Walsh averages). ``null_counts=None``: normal approximation.
    """
    half = (1 - confidence) / 2
    if null_counts is not None:
        cdf = np.cumsum(null_counts) / null_counts.sum()
        below = np.flatnonzero(cdf <= half + 1e-12)
        return int(below[-1]) if below.size else -1
    if len(sizes) == 2:
        n1, n2 = sizes
        sd = math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12)
    else:
        (n,) = sizes
        sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    return max(int(math.floor(total / 2 - stats.norm.ppf(1 - half) * sd - 0.5)), -1)


def _exact_two_sided(null_counts: np.ndarray, statistic: int) -> float:
    """Two-sided exact p of an untied statistic under a symmetric null (scipy's convention)."""
    total = null_counts.sum()
    low = null_counts[: statistic + 1].sum() / total
    high = null_counts[statistic:].sum() / total
    return float(min(1.0, 2 * min(low, high)))


@cache
def _mann_whitney_null(n1: int, n2: int) -> np.ndarray:
    """Number of arrangements giving each U = 0..n1*n2 (no ties), by recursion on sizes."""
    table = {(0, n): np.ones(1) for n in range(n2 + 1)}
    table.update({(m, 0): np.ones(1) for m in range(n1 + 1)})
    for m in range(1, n1 + 1):
        for n in range(1, n2 + 1):
            counts = np.zeros(m * n + 1)
            take = table[(m - 1, n)]  # largest value is treated: it beats all n controls
            counts[n : n + len(take)] += take
            skip = table[(m, n - 1)]
            counts[: len(skip)] += skip
            table[(m, n)] = counts
    return table[(n1, n2)]


@cache
def _signed_rank_null(n: int) -> np.ndarray:
    """Number of sign patterns giving each T+ = 0..n(n+1)/2 (no ties or zeros)."""
    counts = np.ones(1)
    for rank in range(1, n + 1):
        grown = np.zeros(len(counts) + rank)
        grown[: len(counts)] += counts
        grown[rank:] += counts
        counts = grown
    return counts


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
