"""One contrast's test, interval and standardised effect, for each kind of fit.

Every t-based result carries the estimate (score units) with its t interval, the
standard error, the degrees of freedom and the statistic, and a standardised effect
``J * estimate / sd`` whose interval inverts the noncentral t of the statistic (so it
excludes 0 exactly when p < 1 - confidence). ``sd`` is the standardiser:

``hedges_g_av``
    (``welch``, ``welch-satterthwaite``) the root mean of the variances of the arms in
    the contrast; two arms: today's Welch standardiser. ``J`` on the
    Welch-Satterthwaite df of that average variance (Delacre's g*_s).
``hedges_g_z``
    (``paired-t``) the SD of the per-pair (per-subject) contrast scores.
``hedges_g_model``
    (``ols``) the residual SD of the least-squares model (after covariates).
``hedges_g_lmm``
    (``lmm``) the model SD of one subject's contrast score,
    ``sqrt(s^2 sum(w^2) + s_b^2 (sum w)^2)`` over the contrast's time weights ``w``
    (what ``hedges_g_z`` and ``hedges_g_av`` estimate in complete data).

Rank tests (``mannwhitney``, ``wilcoxon``) come from :mod:`mekscore.tl._stats`
unchanged, for contrasts of two groups or of pairs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from scipy import stats

from . import _stats
from ._stats import Contrast, hedges_correction, noncentral_t_interval


@dataclass(frozen=True)
class ContrastResult(Contrast):
    """A :class:`~mekscore.tl._stats.Contrast` of one named contrast, with its t machinery.

    ``difference`` (``difference_low``/``difference_high``) is the estimate in score
    units; ``se``, ``dof`` and ``statistic`` are those of the t statistic (NaN for rank
    tests); ``sd`` is the standardiser of ``effect_size``; ``n`` counts the samples
    per level used; ``n_subjects`` the pairs or subjects; ``left_out`` names samples
    with a value that this contrast could not use. ``one_sided`` is the direction of a
    one-sided (intersection-union) test, 0 for two-sided.
    """

    contrast: str = ""
    se: float = np.nan
    dof: float = np.nan
    statistic: float = np.nan
    sd: float = np.nan
    n: Mapping[str, int] = field(default_factory=dict)
    n_subjects: int = 0
    left_out: Mapping[str, str] = field(default_factory=dict)
    one_sided: int = 0


def untestable(test: str, measure: str, reason: str, **extra) -> ContrastResult:
    """A result without numbers, with the reason."""
    return ContrastResult(test, measure, untestable=reason, **extra)


def t_result(
    test: str,
    measure: str,
    estimate: float,
    se: float,
    dof: float,
    *,
    sd: float,
    j_dof: float,
    confidence: float,
) -> ContrastResult:
    """Estimate, interval, p-value and standardised effect from an estimate and its SE.

    Examples
    --------
    >>> r = t_result("ols", "hedges_g_model", 1.0, 0.4, 10.0, sd=0.8, j_dof=10.0, confidence=0.95)
    >>> round(r.p_value, 4), round(r.difference_low, 4), bool(r.ci_low > 0)
    (0.0314, 0.1087, True)
    """
    t = estimate / se
    crit = stats.t.ppf(0.5 + confidence / 2, dof)
    scale = se / sd
    lam_low, lam_high = noncentral_t_interval(t, dof, confidence)
    return ContrastResult(
        test=test,
        effect_measure=measure,
        difference=float(estimate),
        difference_low=float(estimate - crit * se),
        difference_high=float(estimate + crit * se),
        effect_size=float(hedges_correction(j_dof) * t * scale),
        ci_low=float(lam_low * scale),
        ci_high=float(lam_high * scale),
        p_value=float(2 * stats.t.sf(abs(t), dof)),
        se=float(se),
        dof=float(dof),
        statistic=float(t),
        sd=float(sd),
    )


# --- groups of independent values ---------------------------------------------------


def groups_contrast(
    groups: Sequence[np.ndarray],
    weights: Sequence[float],
    test: str,
    *,
    confidence: float,
    alpha: float,
) -> ContrastResult:
    """``sum(w * mean)`` over independent groups.

    Two groups weighted ``(-1, +1)`` go to :func:`mekscore.tl._stats.compare_unpaired`
    (identical to a two-arm comparison, rank tests included); any other contrast is
    Welch-Satterthwaite with each group's own variance.

    Examples
    --------
    >>> g = [np.array([1.0, 2.0, 3.0]), np.array([3.0, 4.0, 5.0]), np.array([2.0, 2.5, 4.0])]
    >>> r = groups_contrast(g, [-1, 0.5, 0.5], "welch", confidence=0.95, alpha=0.05)
    >>> r.test, round(r.difference, 4), round(r.dof, 3)
    ('welch-satterthwaite', 1.4167, 4.073)
    """
    if len(groups) == 2 and list(weights) == [-1, 1]:
        return _two_groups(groups[0], groups[1], test, confidence, alpha)
    if test != "welch":
        reason = f"{test} compares two arms only; this contrast needs test='welch'"
        return untestable(test, _stats.EFFECT_MEASURES[test], reason)
    return welch_satterthwaite(groups, weights, confidence)


def welch_satterthwaite(
    groups: Sequence[np.ndarray], weights: Sequence[float], confidence: float
) -> ContrastResult:
    """Welch-Satterthwaite t for a contrast of group means (variances not pooled)."""
    moments = _welch_moments(groups, weights)
    if moments is None:
        return untestable("welch-satterthwaite", "hedges_g_av", "zero variance in every arm")
    estimate, se, dof, sd, j_dof = moments
    return t_result(
        "welch-satterthwaite",
        "hedges_g_av",
        estimate,
        se,
        dof,
        sd=sd,
        j_dof=j_dof,
        confidence=confidence,
    )


def _welch_moments(groups, weights) -> tuple[float, float, float, float, float] | None:
    """Estimate, SE, Welch-Satterthwaite df, root mean variance and its df (None: SE 0)."""
    n = np.array([len(g) for g in groups], float)
    w = np.asarray(weights, float)
    means = np.array([g.mean() for g in groups])
    var = np.array([g.var(ddof=1) for g in groups])
    q = w**2 * var / n
    if not q.sum() > 0:
        return None
    dof = q.sum() ** 2 / np.sum(q**2 / (n - 1))
    j_dof = var.sum() ** 2 / np.sum(var**2 / (n - 1))
    return float(w @ means), math.sqrt(q.sum()), float(dof), math.sqrt(var.mean()), float(j_dof)


def _two_groups(control, treated, test, confidence, alpha) -> ContrastResult:
    result = _stats.compare_unpaired(control, treated, test, confidence, alpha)
    if test != "welch" or result.untestable:
        return ContrastResult(**asdict(result))
    estimate, se, dof, sd, _ = _welch_moments([control, treated], [-1.0, 1.0])
    return ContrastResult(**asdict(result), se=se, dof=dof, statistic=estimate / se, sd=sd)


def paired_contrast(
    minus: np.ndarray, plus: np.ndarray, test: str, *, confidence: float, alpha: float
) -> ContrastResult:
    """One-sample test of ``plus - minus`` via :func:`mekscore.tl._stats.compare_paired`.

    Pairs of two time points or arms are a two-arm paired comparison; other per-subject
    contrast scores ``d`` are passed as ``minus = 0, plus = d`` (``d - 0 == d`` exactly).

    Examples
    --------
    >>> r = paired_contrast(np.zeros(4), np.array([0.5, 1.0, 0.2, 0.9]), "paired-t",
    ...                     confidence=0.95, alpha=0.05)
    >>> r.test, r.dof, round(r.statistic, 3)
    ('paired-t', 3.0, 3.517)
    """
    result = _stats.compare_paired(minus, plus, test, confidence, alpha)
    if test != "paired-t" or result.untestable:
        return ContrastResult(**asdict(result))
    d = plus - minus
    sd = float(d.std(ddof=1))
    se = sd / math.sqrt(len(d))
    return ContrastResult(
        **asdict(result), se=se, dof=len(d) - 1.0, statistic=float(d.mean() / se), sd=sd
    )


# --- intersection-union: "the combination beats both" -------------------------------


def beats_both(
    parts: Sequence[ContrastResult], direction: int | None, confidence: float
) -> ContrastResult:
    """Both gaps in ``direction`` (+1 up, -1 down): p = the larger one-sided p-value.

    The interval is the one-sided bound for the smaller gap at level ``confidence``:
    ``min(bound_a, bound_b)`` of the two gaps' one-sided t bounds (in the direction), so
    it excludes 0 exactly when both one-sided p-values are below ``1 - confidence``.
    The estimate is the smaller gap; the effect size and its bound are built the same
    way from the standardised gaps.

    Examples
    --------
    >>> a = t_result("welch-satterthwaite", "hedges_g_av", 2.0, 0.5, 6.0, sd=1.0, j_dof=6.0,
    ...              confidence=0.95)
    >>> b = t_result("welch-satterthwaite", "hedges_g_av", 1.0, 0.5, 6.0, sd=1.0, j_dof=6.0,
    ...              confidence=0.95)
    >>> r = beats_both([a, b], +1, 0.95)
    >>> r.difference, round(r.p_value, 4), round(r.difference_low, 4), r.difference_high
    (1.0, 0.0462, 0.0284, inf)
    """
    measure, test = parts[0].effect_measure, f"intersection-union ({parts[0].test})"
    if direction not in (1, -1):
        return untestable(
            test,
            measure,
            (
                "'beats both' is one-sided, and this signature states no direction (with the "
                "combination or under MEK inhibition) to test it in"
            ),
        )
    for part in parts:
        if part.untestable:
            return untestable(test, measure, part.untestable)
        if np.isnan(part.dof):
            return untestable(test, measure, f"{part.test} has no one-sided t; use test='welch'")
    s = direction
    p = [float(stats.t.sf(s * r.statistic, r.dof)) for r in parts]
    bound = [s * r.difference - stats.t.ppf(confidence, r.dof) * r.se for r in parts]
    effect_bound = [
        noncentral_t_interval(s * r.statistic, r.dof, 2 * confidence - 1)[0] * r.se / r.sd
        for r in parts
    ]
    binding = parts[int(np.argmax(p))]
    low, high = (min(bound), np.inf) if s > 0 else (-np.inf, -min(bound))
    e_low, e_high = (min(effect_bound), np.inf) if s > 0 else (-np.inf, -min(effect_bound))
    return replace(
        binding,
        test=test,
        difference=s * min(s * r.difference for r in parts),
        difference_low=float(low),
        difference_high=float(high),
        effect_size=s * min(s * r.effect_size for r in parts),
        ci_low=float(e_low),
        ci_high=float(e_high),
        p_value=max(p),
        n={k: v for r in parts for k, v in r.n.items()},
        one_sided=s,
    )
