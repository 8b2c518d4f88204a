"""ssGSEA (Barbie et al. 2009) exactly as GSVA 1.46 computes it.

Per observation, genes get average ranks (ascending) that are then truncated to
integers (GSVA's ``mode(R) <- "integer"``); genes are ordered by decreasing rank,
ties kept in column order (R's stable ``order``). For a set at 1-based positions
``p_i`` (size ``k`` among ``n`` genes) with ``Ra = rank**alpha``, the summed random
walk has the closed form::

    ES = sum(Ra_i * (n - p_i + 1)) / sum(Ra_i) - (n(n+1)/2 - sum(n - p_i + 1)) / (n - k)

With ``normalize=True`` (``finalize``), all scores are divided by the range
``max - min`` over the whole observations x signatures matrix, so a score depends
on the other observations and signatures scored with it. Signatures with down genes
score ``ES(up) - ES(down)`` before normalisation; weights are ignored.

Sparse rows are never densified: only non-zero values are sorted, and the zeros
form one tie group placed between negative and positive values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numba
import numpy as np
from scipy import sparse

from .._geneset import GeneSet
from ..errors import InputError
from ._gsva_kernels import pack_sets, score_up_minus_down, stable_argsort
from ._numba import njit
from ._records import RECORDS

_DEFAULT = RECORDS["ssgsea"].defaults


def ssgsea(
    X: np.ndarray | sparse.csr_matrix,
    gene_sets: Sequence[GeneSet],
    alpha: float = _DEFAULT["alpha"],
    *,
    normalize: bool = _DEFAULT["normalize"],
) -> np.ndarray:
    """Raw ssGSEA enrichment scores (the normalisation is applied by ``finalize``).

    Parameters
    ----------
    X
        Observations x genes, dense or CSR; any scale (rank based).
    gene_sets
        Signatures as column indices.
    alpha
        Exponent of the rank weights (GSVA ``alpha``/``tau``, default 0.25).
    normalize
        Read by :func:`normalize_by_range` (``finalize``), not by this kernel.

    Returns
    -------
    ``(n_obs, n_sets)`` raw enrichment scores.

    Examples
    --------
    >>> X = np.array([[5.0, 1.0, 3.0, 2.0, 4.0]])
    >>> ssgsea(X, [GeneSet("s", up=np.array([0, 4]))]).round(4).tolist()
    [[2.5139]]
    """
    alpha = RECORDS["ssgsea"].params({"alpha": alpha})["alpha"]
    return score_up_minus_down(lambda M, parts: _ssgsea_parts(M, parts, alpha), X, gene_sets)


def normalize_by_range(scores: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Divide all scores by their range over observations x signatures (GSVA ``ssgsea.norm``).

    Examples
    --------
    >>> normalize_by_range(np.array([[1.0, -3.0]]), {"normalize": True}).tolist()
    [[0.25, -0.75]]
    """
    if not params["normalize"]:
        return scores
    span = np.nanmax(scores) - np.nanmin(scores)
    if not span > 0:
        raise InputError(
            "ssgsea normalisation divides by the range of all scores, which is 0 here "
            "({n_obs} observation(s) x {n_sets} signature(s)); score more observations or "
            "signatures together, or pass {normalize=}",
            n_obs=scores.shape[0],
            n_sets=scores.shape[1],
            normalize=False,
        )
    return scores / span


def _ssgsea_parts(X, index_sets: list[np.ndarray], alpha: float) -> np.ndarray:
    sets = pack_sets(index_sets)
    n_genes = X.shape[1]
    if sparse.issparse(X):
        X = _canonical(X)
        data = np.asarray(X.data, dtype=np.float64)
        indices = np.asarray(X.indices, dtype=np.int64)
        indptr = np.asarray(X.indptr, dtype=np.int64)
        return _csr_scores(data, indices, indptr, n_genes=n_genes, sets=sets, alpha=float(alpha))
    return _dense_scores(np.asarray(X, dtype=np.float64), sets, float(alpha))


def _canonical(X: sparse.csr_matrix) -> sparse.csr_matrix:
    """CSR with sorted, unique column indices per row (a copy only when needed)."""
    if X.has_canonical_format:
        return X
    X = X.copy()
    X.sum_duplicates()
    return X


@njit(parallel=True)
def _dense_scores(X, sets, alpha):  # pragma: no cover - compiled
    out = np.empty((X.shape[0], len(sets[1]) - 1))
    for r in numba.prange(X.shape[0]):
        idx = np.flatnonzero(X[r])
        out[r] = _row_scores(X[r][idx], idx, X.shape[1], sets, alpha)
    return out


@njit(parallel=True)
def _csr_scores(data, indices, indptr, *, n_genes, sets, alpha):  # pragma: no cover
    out = np.empty((len(indptr) - 1, len(sets[1]) - 1))
    for r in numba.prange(len(indptr) - 1):
        vals = data[indptr[r] : indptr[r + 1]]
        keep = vals != 0
        idx = indices[indptr[r] : indptr[r + 1]][keep]
        out[r] = _row_scores(vals[keep], idx, n_genes, sets, alpha)
    return out


@njit(error_model="numpy")
def _row_scores(vals, idx, n, sets, alpha):  # pragma: no cover - compiled
    """Scores of one observation given its non-zero values ``vals`` at sorted ``idx``.

    ``sets`` is ``(flat, offsets)`` from :func:`pack_sets`.

    In ascending value order the genes are: negatives, the zero group, positives.
    Each gene gets ``rank`` (truncated average rank) and ``q = n - p + 1`` where
    ``p`` is its 1-based position in decreasing order (ties in column order):
    ``q = end - offset`` with ``end`` the tie group's exclusive end in ascending
    order and ``offset`` the gene's place among its ties by column index.
    """
    flat, offsets = sets
    out = np.empty(len(offsets) - 1)
    nnz = len(vals)
    n_zero = n - nnz
    n_neg = np.sum(vals < 0)
    order = stable_argsort(vals)
    rank = np.empty(nnz, dtype=np.int64)  # per non-zero slot
    q = np.empty(nnz, dtype=np.int64)
    start = 0
    while start < nnz:
        stop = start + 1
        while stop < nnz and vals[order[stop]] == vals[order[start]]:
            stop += 1
        shift = 0 if start < n_neg else n_zero
        lo, hi = start + shift, stop + shift  # global ascending positions [lo, hi)
        for t in range(start, stop):
            rank[order[t]] = (lo + 1 + hi) // 2
            q[order[t]] = hi - (t - start)
        start = stop
    zero_rank = (2 * n_neg + 1 + n_zero) // 2
    zero_end = n_neg + n_zero
    total = n * (n + 1) / 2.0
    for s in range(len(offsets) - 1):
        k = offsets[s + 1] - offsets[s]
        sum_w = 0.0
        sum_wq = 0.0
        sum_q = 0.0
        for g in flat[offsets[s] : offsets[s + 1]]:
            slot = g if nnz == n else np.searchsorted(idx, g)
            if slot < nnz and idx[slot] == g:
                r_g, q_g = rank[slot], q[slot]
            else:  # a zero: offset among zeros = g - (non-zeros before g)
                r_g, q_g = zero_rank, zero_end - (g - slot)
            w = r_g**alpha
            sum_w += w
            sum_wq += w * q_g
            sum_q += q_g
        out[s] = sum_wq / sum_w - (total - sum_q) / (n - k)
    return out


METHOD = RECORDS["ssgsea"].bind(ssgsea, finalize=normalize_by_range)
