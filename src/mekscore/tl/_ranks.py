"""Rank tests whose shift interval is the exact dual of their p-value, ties and zeros included.

For a shift ``delta``, the test is run on the shifted data (``treated - delta`` against
``control`` for Mann-Whitney; ``d - delta`` for the signed-rank test) with one rule for ties
and zeros, and its p-value ``p(delta)`` comes from the permutation distribution of the rank
statistic given the shifted values (all splits, or all sign flips). The reported p-value is
``p(0)`` and the interval is the set ``{delta : p(delta) > 1 - confidence}``, so the
interval excludes 0 exactly when ``p <= 1 - confidence``. ``p(delta)`` only changes where
two shifted values tie: at the pairwise differences ``treated_i - control_j`` (Walsh
averages ``(d_i + d_j) / 2`` for the signed-rank test). It is evaluated at each of these
points and once in each gap between them, exactly: comparisons are made on the stored
differences, never on re-subtracted floats.

Rules, chosen so that each one-sided p-value is monotone in ``delta`` and the set is an
interval:

* ties get midranks; the permutation distribution is conditional on them;
* zero differences follow Pratt (1959): they are ranked with the others and carry no sign.
  Wilcoxon's rule (drop the zeros, then rank) is not monotone in the data (Pratt 1959)
  and can make the set of accepted shifts fall in two pieces; with Pratt's rule it was
  one interval on every tied and zero-difference sample of ``tests/test_stats_ranks.py``;
  a set with holes would still be reported (its hull, ``connected=False``);
* two-sided p is twice the smaller one-sided p (capped at 1), so the interval is
  equal-tailed: each end misses the true shift with probability at most
  ``(1 - confidence) / 2``, the guarantee a directional call needs. With ties the
  Mann-Whitney null is asymmetric and this differs from ``P(|S - E S| >= |s - E S|)``
  (coin's convention); the signed-rank null is always symmetric, so the two agree.

An end of the interval is open when ``p`` rejects the shift at that end but not the shifts
just inside it (this happens when values tie at that shift). Distributions are counted
exactly (dynamic programming over the scores) up to :data:`EXACT_LIMIT` arrangements;
beyond, the same statistic is referred to its normal approximation with the conditional
(tie-corrected) variance and a continuity correction of 1/2, as R's ``wilcox.test`` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import stats

EXACT_LIMIT = 2**20
"""Count permutation distributions exactly up to this many splits or sign patterns."""


@dataclass(frozen=True)
class RankResult:
    """A rank test at shift 0 and the set of shifts it does not reject.

    ``low``/``high`` are the ends of that set (``low_open``/``high_open`` say whether the
    end itself is rejected); ``connected`` is False if the set has holes (the ends are then
    those of its hull). ``floor`` is the smallest p-value any arrangement of these values
    could give. ``ties``/``zeros`` describe the data at shift 0.
    """

    p_value: float
    estimate: float
    low: float
    high: float
    low_open: bool
    high_open: bool
    connected: bool
    floor: float
    rank_biserial: float
    exact: bool
    ties: bool
    zeros: int = 0


def mann_whitney(control: np.ndarray, treated: np.ndarray, confidence: float) -> RankResult:
    """Mann-Whitney test of ``treated`` against ``control`` and its Hodges-Lehmann interval.

    Examples
    --------
    >>> r = mann_whitney(np.array([3.0, 1, 1, 1]), np.array([3.0, 2, 2, 2, 2, 2, 4]), 0.95)
    >>> round(r.p_value, 4), (r.low, r.high), r.low_open  # p < 0.05: 0 is an open end
    (0.0424, (0.0, 2.0), True)
    """
    differences = np.subtract.outer(treated, control)  # rows: treated, columns: control
    shifts, points = _candidates(differences.ravel())
    scores, statistic = _two_sample_scores(control, treated, differences, shifts, points)
    exact = math.comb(len(control) + len(treated), len(control)) <= EXACT_LIMIT
    tails = _subset_tails if exact else _subset_tails_normal
    lo, hi, floor = tails(scores, statistic, len(treated))
    p, zero = _two_sided(lo, hi), _at_zero(shifts, points)
    pooled = np.concatenate([control, treated])
    u = (differences > 0).sum() + 0.5 * (differences == 0).sum()
    return RankResult(
        p_value=float(p[zero]),
        estimate=float(np.median(differences)),
        **_accepted(p, shifts, points, confidence),
        floor=float(floor[zero]),
        rank_biserial=float(2 * u / differences.size - 1),
        exact=exact,
        ties=len(np.unique(pooled)) < len(pooled),
    )


def signed_rank(d: np.ndarray, confidence: float) -> RankResult:
    """Wilcoxon signed-rank test of the differences ``d`` (Pratt's zeros) and its interval.

    Examples
    --------
    >>> r = signed_rank(np.array([1.0, 2, -2, 3, 4, 2, 2, 4]), 0.95)
    >>> round(r.p_value, 4), (r.low, r.high), r.low_open
    (0.0469, (0.0, 3.5), True)
    """
    walsh = (d[:, None] + d[None, :]) / 2  # (d_i + d_i) / 2 == d_i exactly
    averages = walsh[np.triu_indices(len(d))]
    shifts, points = _candidates(averages)
    scores, statistic, active = _signed_scores(d, walsh, shifts, points)
    exact = 2 ** len(d) <= EXACT_LIMIT
    tails = _sign_tails if exact else _sign_tails_normal
    lo, hi, floor = tails(scores, statistic, active)
    p, zero = _two_sided(lo, hi), _at_zero(shifts, points)
    plus, minus = scores[zero][d > 0].sum(), scores[zero][d < 0].sum()
    nonzero = np.abs(d[d != 0])
    return RankResult(
        p_value=float(p[zero]),
        estimate=float(np.median(averages)),
        **_accepted(p, shifts, points, confidence),
        floor=float(floor[zero]),
        rank_biserial=float((plus - minus) / max(plus + minus, 1)),
        exact=exact,
        ties=len(np.unique(nonzero)) < len(nonzero),
        zeros=int((d == 0).sum()),
    )


# --- candidate shifts -----------------------------------------------------------------


def _candidates(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shifts at which to evaluate ``p``, in increasing order, and whether each is a point.

    Candidate ``(v, True)`` is the shift ``v`` itself; ``(v, False)`` is any shift in the
    gap just above ``v`` (up to the next distinct value); ``(-inf, False)`` is below all.
    """
    u = np.unique(values)
    shifts = np.concatenate([[-np.inf], np.repeat(u, 2)])
    points = np.concatenate([[False], np.tile([True, False], len(u))])
    return shifts, points


def _position(values: np.ndarray, shifts: np.ndarray, points: np.ndarray):
    """How many entries of each row of ``values`` lie above, at and below each candidate.

    Arrays of shape ``(candidates, rows)``. Comparisons are exact: a candidate is one of
    the stored values (or the gap just above it), never a re-computed float.
    """
    rows = np.sort(values, axis=1)
    left = np.stack([np.searchsorted(row, shifts, "left") for row in rows], axis=1)
    right = np.stack([np.searchsorted(row, shifts, "right") for row in rows], axis=1)
    point = points[:, None]
    return values.shape[1] - right, np.where(point, right - left, 0), np.where(point, left, right)


def _two_sample_scores(control, treated, differences, shifts, points):
    """Doubled midranks of the pooled shifted data per candidate, and the treated sum.

    ``treated_i - delta`` is above ``control_j`` exactly when ``differences[i, j] > delta``.
    """
    above, tied, _ = _position(differences, shifts, points)
    r_t = _own_midranks(treated) + 2 * above + tied
    _, tied, below = _position(differences.T, shifts, points)
    r_c = _own_midranks(control) + 2 * below + tied
    return np.concatenate([r_c, r_t], axis=1), r_t.sum(1)


def _signed_scores(d, walsh, shifts, points):
    """Doubled midranks of ``|d - delta|`` per candidate, the positive sum, the signed ones.

    For ``d_j > d_i``, ``|d_j - delta| < |d_i - delta|`` exactly when the Walsh average
    ``(d_i + d_j) / 2 < delta``; for ``d_j < d_i`` when it is ``> delta``; equal values of
    ``d`` always tie, and any pair ties when its Walsh average is ``delta``.
    """
    larger = d[None, :] > d[:, None]
    _, tied_up, below = _position(np.where(larger, walsh, np.inf), shifts, points)
    smaller = d[None, :] < d[:, None]
    above, tied_down, _ = _position(np.where(smaller, walsh, -np.inf), shifts, points)
    same = (d[None, :] == d[:, None]).sum(1)
    scores = 2 * (below + above) + same + tied_up + tied_down + 1
    positive, _, negative = _position(d[:, None], shifts, points)
    return scores, (scores * positive).sum(1), (positive + negative) > 0


def _own_midranks(x: np.ndarray) -> np.ndarray:
    """Doubled midrank contribution of each value's own arm: ``2 #less + #equal + 1``."""
    compare = np.sign(np.subtract.outer(x, x))
    return 2 * (compare > 0).sum(1) + (compare == 0).sum(1) + 1


def _at_zero(shifts: np.ndarray, points: np.ndarray) -> int:
    """Index of the candidate that holds the shift 0."""
    values = shifts[points]
    below = int(np.searchsorted(values, 0.0, side="left"))
    if below < len(values) and values[below] == 0:
        return 2 * below + 1
    return 2 * below


# --- null distributions ---------------------------------------------------------------


def _subset_tails(scores, statistic, k):
    """``P(S <= s)``, ``P(S >= s)`` and the floor, ``S`` the sum of ``k`` random scores."""
    if 2 * k > scores.shape[1]:  # count the smaller arm: S = total - (its sum)
        lo, hi, floor = _subset_tails(scores, scores.sum(1) - statistic, scores.shape[1] - k)
        return hi, lo, floor
    out = np.empty((3, len(statistic)))
    for i, (row, s) in enumerate(zip(scores, statistic, strict=True)):
        out[:, i] = _tails(_subset_sum_counts(tuple(sorted(row.tolist())), k), int(s))
    return out


def _sign_tails(scores, statistic, active):
    """The same for ``S`` the sum of the ``active`` scores given random signs (Pratt)."""
    out = np.empty((3, len(statistic)))
    for i, (row, s, keep) in enumerate(zip(scores, statistic, active, strict=True)):
        out[:, i] = _tails(_signed_sum_counts(tuple(sorted(row[keep].tolist()))), int(s))
    return out


def _tails(counts: np.ndarray, s: int) -> tuple[float, float, float]:
    total = counts.sum()
    attained = np.flatnonzero(counts)
    floor = 2 * min(counts[attained[0]], counts[attained[-1]]) / total
    return counts[: s + 1].sum() / total, counts[s:].sum() / total, min(1.0, floor)


@lru_cache(maxsize=1024)
def _subset_sum_counts(scores: tuple[int, ...], k: int) -> np.ndarray:
    """Number of ``k``-subsets of the sorted ``scores`` with each sum 0..(largest k)."""
    total = sum(scores[len(scores) - k :])
    table = np.zeros((k + 1, total + 1))
    table[0, 0] = 1
    for a in scores:  # a >= 2: doubled midranks; numpy copies the overlapping operand
        table[1:, a:] += table[:-1, : total + 1 - a]
    return table[k]


@lru_cache(maxsize=1024)
def _signed_sum_counts(scores: tuple[int, ...]) -> np.ndarray:
    """Number of sign patterns giving each sum 0..sum(scores) of the positive scores."""
    counts = np.zeros(sum(scores) + 1)
    counts[0] = 1
    for a in scores:
        counts[a:] += counts[: len(counts) - a].copy()
    return counts


def _subset_tails_normal(scores, statistic, k):
    n = scores.shape[1]
    mean = k * scores.mean(1)
    var = k * (n - k) / (n * (n - 1)) * ((scores - scores.mean(1, keepdims=True)) ** 2).sum(1)
    low_end = np.sort(scores, 1)[:, :k].sum(1)
    high_end = np.sort(scores, 1)[:, n - k :].sum(1)
    return _normal_tails(statistic, mean, var, low_end, high_end)


def _sign_tails_normal(scores, statistic, active):
    kept = scores * active
    return _normal_tails(statistic, kept.sum(1) / 2, (kept**2).sum(1) / 4, 0, kept.sum(1))


def _normal_tails(statistic, mean, var, low_end, high_end):
    """Normal tails with a continuity correction of 1 (1/2 in undoubled rank units)."""
    sd = np.sqrt(var)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = stats.norm.cdf((statistic - mean + 1) / sd)
        hi = stats.norm.sf((statistic - mean - 1) / sd)
        floor = 2 * np.minimum(
            stats.norm.cdf((low_end - mean + 1) / sd), stats.norm.sf((high_end - mean - 1) / sd)
        )
    constant = sd == 0
    lo[constant], hi[constant] = 1.0, 1.0
    return lo, hi, np.where(constant, 1.0, np.minimum(floor, 1.0))


# --- the interval -----------------------------------------------------------------------


def _two_sided(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.minimum(1.0, 2 * np.minimum(lo, hi))


def _accepted(p: np.ndarray, shifts: np.ndarray, points: np.ndarray, confidence: float) -> dict:
    """Ends of the set of candidate shifts with ``p > 1 - confidence``."""
    kept = np.flatnonzero(p > 1 - confidence)
    if kept.size == 0:
        return dict(low=np.nan, high=np.nan, low_open=False, high_open=False, connected=True)
    first, last = kept[0], kept[-1]
    upper = shifts[last + 1] if last + 1 < len(shifts) else np.inf
    return dict(
        low=float(shifts[first]),
        high=float(shifts[last] if points[last] else upper),
        low_open=bool(not points[first] and np.isfinite(shifts[first])),
        high_open=bool(not points[last] and np.isfinite(upper)),
        connected=bool(len(kept) == last - first + 1),
    )
