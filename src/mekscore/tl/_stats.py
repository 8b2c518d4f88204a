"""Sample-level tests, standardised effect sizes with confidence intervals, and BH.

Unpaired designs compare treated with control samples (Welch's t-test or the
Mann-Whitney U test) and report Hedges' g; paired designs test the within-pair
differences (paired t-test or the Wilcoxon signed-rank test) and report Cohen's
d_z. Effect-size intervals follow Hedges & Olkin (1985, p. 86), as in pingouin's
``compute_esci``: ``SE = sqrt((n1 + n2) / (n1 n2) + g^2 / (2 (n1 + n2)))`` with a
t critical value on ``n1 + n2 - 2`` degrees of freedom (unpaired), and
``SE = sqrt(1 / n + d^2 / (2 n))`` on ``n - 1`` degrees of freedom (paired).

Zero variance is defined rather than NaN: equal constant arms (or all-zero pair
differences) give difference 0, effect 0 and p = 1; constant arms that differ give
an infinite effect (no interval) and scipy's t-test p-value of 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

UNPAIRED_TESTS = ("welch", "mannwhitney")
PAIRED_TESTS = ("ttest", "wilcoxon")


@dataclass(frozen=True)
class Contrast:
    """One treated-vs-control comparison.

    ``difference`` is mean(treated) - mean(control) (unpaired) or the mean of the
    treated - control pair differences (paired).
    """

    difference: float
    effect_size: float
    ci_low: float
    ci_high: float
    p_value: float


def hedges_g(control: np.ndarray, treated: np.ndarray) -> float:
    """Hedges' g of treated minus control: Cohen's d (pooled SD) times ``1 - 3 / (4 df - 1)``.

    Examples
    --------
    >>> round(hedges_g(np.array([1.0, 2.0, 3.0]), np.array([3.0, 4.0, 5.0])), 4)
    1.6
    """
    n1, n2 = len(control), len(treated)
    diff = float(np.mean(treated) - np.mean(control))
    pooled = np.sqrt(
        ((n1 - 1) * np.var(control, ddof=1) + (n2 - 1) * np.var(treated, ddof=1)) / (n1 + n2 - 2)
    )
    return _correction(n1 + n2 - 2) * standardise(diff, float(pooled))


def cohen_dz(differences: np.ndarray) -> float:
    """Cohen's d_z: mean of the pair differences over their standard deviation.

    Examples
    --------
    >>> round(cohen_dz(np.array([1.0, 2.0, 3.0])), 4)
    2.0
    """
    return standardise(float(np.mean(differences)), float(np.std(differences, ddof=1)))


def effect_size_ci(
    effect: float, n1: int, n2: int | None = None, confidence: float = 0.95
) -> tuple[float, float]:
    """Hedges & Olkin normal-approximation interval with a t critical value.

    ``n2=None`` is the paired (one-sample) case: ``n1`` is the number of pairs.

    Examples
    --------
    >>> [round(v, 3) for v in effect_size_ci(0.1538, 11, 11)]  # pingouin's worked example
    [-0.737, 1.045]
    """
    if not np.isfinite(effect):
        return np.nan, np.nan
    if n2 is None:
        se, dof = np.sqrt(1 / n1 + effect**2 / (2 * n1)), n1 - 1
    else:
        se = np.sqrt((n1 + n2) / (n1 * n2) + effect**2 / (2 * (n1 + n2)))
        dof = n1 + n2 - 2
    crit = abs(stats.t.ppf((1 - confidence) / 2, dof))
    return float(effect - crit * se), float(effect + crit * se)


def compare_unpaired(
    control: np.ndarray, treated: np.ndarray, test: str = "welch", confidence: float = 0.95
) -> Contrast:
    """Compare two independent groups of sample-level values (each needs >= 2 values).

    Examples
    --------
    >>> r = compare_unpaired(np.array([1.0, 2.0, 3.0]), np.array([3.0, 4.0, 5.0]))
    >>> r.difference, round(r.p_value, 4)
    (2.0, 0.0705)
    """
    control, treated = np.asarray(control, float), np.asarray(treated, float)
    diff = float(treated.mean() - control.mean())
    g = hedges_g(control, treated)
    if test == "welch" and _constant(control) and _constant(treated):
        p = 1.0 if diff == 0 else 0.0  # scipy's limit, without its precision warning
    elif _constant(control) and _constant(treated) and diff == 0:
        p = 1.0
    elif test == "welch":
        p = stats.ttest_ind(treated, control, equal_var=False).pvalue
    elif test == "mannwhitney":
        p = stats.mannwhitneyu(treated, control, alternative="two-sided").pvalue
    else:
        raise ValueError(f"unknown unpaired test {test!r}; use one of {UNPAIRED_TESTS}")
    low, high = effect_size_ci(g, len(control), len(treated), confidence)
    return Contrast(diff, g, low, high, float(p))


def compare_paired(
    control: np.ndarray, treated: np.ndarray, test: str = "ttest", confidence: float = 0.95
) -> Contrast:
    """Compare matched control/treated values (same order; >= 2 pairs).

    Examples
    --------
    >>> r = compare_paired(np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0]))
    >>> r.difference, r.effect_size
    (2.0, 2.0)
    """
    d = np.asarray(treated, float) - np.asarray(control, float)
    diff = float(d.mean())
    dz = cohen_dz(d)
    if not d.any():
        p = 1.0
    elif test == "ttest" and _constant(d):
        p = 0.0  # constant non-zero differences: scipy's limit, without its warning
    elif test == "ttest":
        p = stats.ttest_1samp(d, 0.0).pvalue
    elif test == "wilcoxon":
        p = stats.wilcoxon(d).pvalue
    else:
        raise ValueError(f"unknown paired test {test!r}; use one of {PAIRED_TESTS}")
    low, high = effect_size_ci(dz, len(d), None, confidence)
    return Contrast(diff, dz, low, high, float(p))


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values; NaN entries stay NaN and are not counted.

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.01, np.nan, 0.04, 0.03])).round(3).tolist()
    [0.03, nan, 0.04, 0.04]
    """
    p = np.asarray(p_values, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return q
    order = np.argsort(p[ok])
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    q[ok] = out
    return q


def _correction(dof: int) -> float:
    return 1.0 - 3.0 / (4.0 * dof - 1.0)


def standardise(diff: float, sd: float) -> float:
    """``diff / sd``; with ``sd == 0`` it is 0 for ``diff == 0``, else signed infinity."""
    if sd > 0:
        return diff / sd
    return 0.0 if diff == 0 else float(np.sign(diff) * np.inf)


def _constant(values: np.ndarray) -> bool:
    return bool(np.ptp(values) == 0)
