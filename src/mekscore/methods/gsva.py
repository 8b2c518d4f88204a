"""GSVA (Hänzelmann et al. 2013) exactly as Bioconductor GSVA 1.46 computes it.

1. Genes constant across observations (sd < 1e-10, moments in float64 whatever
   the data's dtype, or max == min) are dropped.
2. Each gene's CDF is estimated across observations and evaluated at every
   observation: a Gaussian kernel (``bw = sd / 4``; the normal CDF read from GSVA's
   10,001-point ``pnorm`` table on [0, 10]), a Poisson kernel
   (``mean_i ppois(y, x_i + 0.5)``, for counts) or the plain ECDF (``kcdf="none"``);
   kernel CDFs go through ``-log((1 - F) / F)``.
3. Per observation, genes are ordered by decreasing CDF value (ties in column order)
   and the gene at 0-based position ``i`` gets the rank statistic ``|n/2 - i|``.
4. A Kolmogorov-Smirnov-like walk (in-set steps ``rankstat**tau / sum``, out-of-set
   steps ``1/(n - k)``) gives ``max(0, max walk) + min(0, min walk)`` when
   ``max_diff`` (``max - min`` with ``abs_ranking``), else the larger-magnitude extreme.

Step 2 costs ``n_genes * n_obs**2 / 2`` Gaussian kernel evaluations
(``n_genes * n_obs**2`` Poisson ones) with ``O(n_obs)`` memory per gene, and the
CDF matrix is dense (``n_obs x n_genes``): this method is meant for bulk data
(samples x genes, up to a few thousand samples), not for single cells. Kernel
CDFs that would take more than about an hour are refused up front
(:data:`MAX_KERNEL_EVALUATIONS`); the largest size tested is 10,000 observations x
200 genes (Gaussian, 48 s on 2 cores). Sparse input is densified one
block of genes at a time. Signatures with down genes score ``ES(up) - ES(down)``;
weights are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
from scipy import sparse, special

from .._geneset import GeneSet
from ..errors import InputError, Setting
from ._affine import GeneMoments
from ._gsva_kernels import (
    keep_varying,
    pack_sets,
    require_two_observations,
    score_up_minus_down,
    stable_argsort,
)
from ._numba import njit
from ._records import RECORDS

_DEFAULT = RECORDS["gsva"].defaults
# Kernel evaluations accepted per call (under about an hour on 2 cores). Gaussian:
# n_genes * n_obs**2 / 2 table lookups, 200 genes x 2k / 5k / 10k obs took 2 / 14 / 48 s
# (~5 ns per lookup). Poisson: n_genes * n_obs**2 scipy pdtr calls, 200 genes x 1k obs
# took 21 s (~100 ns each). Measured with 2 numba threads on a shared 2-core machine.
MAX_KERNEL_EVALUATIONS = {"gaussian": 5e11, "poisson": 2e10}
GENE_BLOCK_CELLS = 2_000_000  # values densified at once (n_obs x genes in a block)

# GSVA's table: pnorm(10 * i / 10000) for i = 0..10000
PNORM_TABLE = special.ndtr(10.0 * np.arange(10_001) / 10_000.0)


def gsva(
    X: np.ndarray | sparse.csr_matrix,
    gene_sets: Sequence[GeneSet],
    kcdf: str = _DEFAULT["kcdf"],
    *,
    max_diff: bool = _DEFAULT["max_diff"],
    abs_ranking: bool = _DEFAULT["abs_ranking"],
    tau: float = _DEFAULT["tau"],
) -> np.ndarray:
    """GSVA enrichment scores of each gene set in each observation (bulk-size data).

    Tested up to 10,000 observations x 200 genes with the Gaussian kernel; kernel
    CDFs expected to take over an hour raise :class:`~mekscore.errors.InputError`.

    Parameters
    ----------
    X
        Observations x genes (dense or CSR); at least 2 rows. Log-scale expression for
        ``kcdf="gaussian"``, non-negative counts for ``"poisson"``.
    gene_sets
        Signatures as column indices.
    kcdf
        ``"gaussian"``, ``"poisson"`` or ``"none"`` (empirical CDF).
    max_diff
        Score ``max + min`` of the walk (True) or its larger-magnitude extreme (False).
    abs_ranking
        With ``max_diff``, score ``max - min`` instead.
    tau
        Exponent of the in-set step weights.

    Returns
    -------
    ``(n_obs, n_sets)`` scores; NaN for a set whose genes are all constant.

    Examples
    --------
    >>> X = np.array([[1.0, 2.0, 3.0, 0.5], [3.0, 2.5, 1.0, 0.7], [2.0, 4.0, 0.2, 0.1]])
    >>> gsva(X, [GeneSet("s", up=np.array([0, 1]))]).round(4).ravel().tolist()
    [-1.0, 0.3333, 1.0]
    """
    given = {"kcdf": kcdf, "max_diff": max_diff, "abs_ranking": abs_ranking, "tau": tau}
    p = RECORDS["gsva"].params(given)
    require_two_observations(X, "gsva")
    if p["kcdf"] == "poisson" and _min_value(X) < 0:
        raise InputError(
            "{kcdf=} needs non-negative counts but the data have negative values; score raw "
            "counts, or log-expression with {gaussian}",
            kcdf="poisson",
            gaussian=Setting("kcdf", "gaussian"),
        )

    def score_parts(M, parts):
        return _gsva_parts(
            M, parts, p["kcdf"], max_diff=p["max_diff"], abs_ranking=p["abs_ranking"], tau=p["tau"]
        )

    return score_up_minus_down(score_parts, X, gene_sets)


def _gsva_parts(X, index_sets, kcdf, *, max_diff, abs_ranking, tau) -> np.ndarray:
    is_varying = GeneMoments.of(X).varying
    varying = np.flatnonzero(is_varying)
    check_kernel_size(X.shape[0], len(varying), kcdf)
    new_col = np.full(X.shape[1], -1, dtype=np.int64)
    new_col[varying] = np.arange(len(varying))
    sets = [new_col[s] for s in keep_varying(index_sets, is_varying)]
    cdf = gene_cdfs(X, varying, kcdf)
    flat, offsets = pack_sets(sets)
    out = _walk_scores(
        cdf, flat, offsets, float(tau), max_diff=bool(max_diff), abs_ranking=bool(abs_ranking)
    )
    out[:, offsets[1:] == offsets[:-1]] = np.nan
    return out


def check_kernel_size(n_obs: int, n_genes: int, kcdf: str) -> None:
    """Refuse a kernel CDF that would take hours (its cost grows with ``n_obs**2``).

    Examples
    --------
    >>> check_kernel_size(10_000, 200, "gaussian")
    >>> check_kernel_size(50_000, 20_000, "gaussian")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mekscore.errors.InputError: gsva with kcdf='gaussian' on 50,000 observations x ...
    """
    if kcdf not in MAX_KERNEL_EVALUATIONS:
        return
    pairs = n_obs * n_obs / (2.0 if kcdf == "gaussian" else 1.0)
    if n_genes * pairs > MAX_KERNEL_EVALUATIONS[kcdf]:
        raise InputError(
            "gsva with {kcdf=} on {n_obs:,} observations x {n_genes:,} varying genes needs "
            "{evaluations:.1e} kernel evaluations, more than the {limit:.0e} that finish in "
            "about an hour; use {empirical} (the empirical CDF, GSVA's choice from 200 "
            "observations), fewer genes, or a single-cell method such as ucell",
            kcdf=kcdf,
            n_obs=n_obs,
            n_genes=n_genes,
            evaluations=n_genes * pairs,
            limit=MAX_KERNEL_EVALUATIONS[kcdf],
            empirical=Setting("kcdf", "none"),
        )


def gene_cdfs(X: np.ndarray | sparse.csr_matrix, genes: np.ndarray, kcdf: str) -> np.ndarray:
    """``(n_obs, len(genes))`` CDF values of each gene at each observation (step 2).

    Examples
    --------
    >>> gene_cdfs(np.array([[1.0], [2.0], [4.0]]), np.array([0]), "none").ravel().tolist()
    [0.3333333333333333, 0.6666666666666666, 1.0]
    """
    n_obs = X.shape[0]
    if sparse.issparse(X):
        X = X.tocsc()
    out = np.empty((n_obs, len(genes)))
    step = max(1, GENE_BLOCK_CELLS // n_obs)
    for start in range(0, len(genes), step):
        cols = genes[start : start + step]
        block = X[:, cols]
        block = block.toarray() if sparse.issparse(block) else block
        genes_x_obs = np.ascontiguousarray(block.T, dtype=np.float64)
        out[:, start : start + step] = _CDF[kcdf](genes_x_obs).T
    return out


@njit(parallel=True)
def _gaussian_cdf(G):  # pragma: no cover - compiled
    """Logit of the Gaussian-kernel CDF, GSVA's ``row_d`` (genes x obs).

    The kernel is antisymmetric (``c(j, i) = 1 - c(i, j)`` exactly, also with the
    table), so each pair is looked up once: row ``j`` adds its pairs with later
    observations to its own sum and their complements to theirs. Every sum still
    runs over observations in order, as GSVA's do, and only ``O(n_obs)`` memory is
    used per gene. Beyond +-10 bandwidths the table's last entry
    (``pnorm(10) == 1.0``) gives GSVA's 0 and 1. A constant gene (bandwidth 0;
    :func:`gsva` drops those first) has every kernel value 0.5 and scores 0.
    """
    n_genes, m = G.shape
    out = np.empty((n_genes, m))
    for g in numba.prange(n_genes):
        x = G[g]
        bw = _sd_r(x) / 4.0
        if not bw > 0.0:
            out[g] = 0.0
            continue
        left = np.zeros(m)
        for j in range(m):
            acc = left[j] + 0.5
            for i in range(j + 1, m):
                v = (x[j] - x[i]) / bw
                c = PNORM_TABLE[int(min(abs(v) / 10.0 * 10000.0, 10000.0))]
                c = 1.0 - c if v < 0 else c
                acc += c
                left[i] += 1.0 - c
            acc = acc / m
            out[g, j] = -1.0 * np.log((1.0 - acc) / acc)
    return out


@njit()
def _sd_r(x):  # pragma: no cover - compiled
    """Standard deviation (ddof 1) with R's two-pass mean correction (``src/utils.c``)."""
    n = len(x)
    mean = x.sum() / n
    mean = mean + (x - mean).sum() / n
    return np.sqrt(((x - mean) ** 2).sum() / (n - 1))


def _poisson_cdf(G: np.ndarray) -> np.ndarray:
    """Logit of the Poisson-kernel CDF: ``mean_i ppois(y_j, x_i + 0.5)`` (genes x obs)."""
    y = np.floor(G + 1e-7)  # R's ppois() floors its quantile with a 1e-7 fuzz
    left = np.zeros_like(G)
    for i in range(G.shape[1]):  # summed in observation order, as GSVA does
        left += special.pdtr(y, G[:, i : i + 1] + 0.5)
    left /= G.shape[1]
    return -1.0 * np.log((1.0 - left) / left)


def _empirical_cdf(G: np.ndarray) -> np.ndarray:
    """Plain ECDF ``#{x_i <= y_j} / m`` (genes x obs); GSVA's logit would not change ranks."""
    srt = np.sort(G, axis=1)
    counts = np.stack([np.searchsorted(srt[g], G[g], side="right") for g in range(len(G))])
    return counts / G.shape[1]


_CDF = {"gaussian": _gaussian_cdf, "poisson": _poisson_cdf, "none": _empirical_cdf}


@njit(parallel=True, error_model="numpy")
def _walk_scores(cdf, flat, offsets, tau, *, max_diff, abs_ranking):  # pragma: no cover
    """Steps 3-4 for every observation (row of ``cdf``) and set."""
    n_obs, n = cdf.shape
    n_sets = len(offsets) - 1
    out = np.empty((n_obs, n_sets))
    for r in numba.prange(n_obs):
        order = stable_argsort(-cdf[r])
        pos = np.empty(n, dtype=np.int64)
        pos[order] = np.arange(n)
        for s in range(n_sets):
            members = flat[offsets[s] : offsets[s + 1]]
            out[r, s] = _walk_extremes(pos[members], n, tau, max_diff, abs_ranking)
    return out


@njit(error_model="numpy")
def _walk_extremes(positions, n, tau, max_diff, abs_ranking):  # pragma: no cover - compiled
    """Score of one walk from the 0-based positions of the set's genes.

    The walk peaks right after an in-set step and dips right before one (or at
    the end), so only those points are evaluated: ``O(k log k)`` instead of ``O(n)``.
    """
    k = len(positions)
    weights = np.abs(n / 2.0 - positions.astype(np.float64)) ** tau
    total = weights.sum()
    dec = 1.0 / (n - k)
    srt = np.argsort(positions)
    cum_in = 0.0
    mx_pos = 0.0
    mx_neg = 0.0
    for t in range(k):
        p = positions[srt[t]]
        n_out = p - t  # out-of-set genes before this position
        mx_neg = min(mx_neg, cum_in - n_out * dec)
        cum_in += weights[srt[t]] / total
        mx_pos = max(mx_pos, cum_in - n_out * dec)
    mx_neg = min(mx_neg, cum_in - (n - k) * dec)
    if max_diff:
        return mx_pos - mx_neg if abs_ranking else mx_pos + mx_neg
    return mx_pos if mx_pos > abs(mx_neg) else mx_neg


def _min_value(X) -> float:
    vals = X.data if sparse.issparse(X) else np.asarray(X)
    return float(vals.min()) if vals.size else 0.0


METHOD = RECORDS["gsva"].bind(gsva)
