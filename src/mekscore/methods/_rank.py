"""Rank statistics of a few genes per observation, shared by ucell, aucell and singscore.

All three methods need, for each observation and each signature gene, only where the
gene's value falls in that observation's ordering of *all* genes. That is fully given
by two counts: ``greater`` (genes with a strictly larger value) and ``equal`` (genes
with the same value, the gene itself included). From them:

* descending rank, ties averaged (UCell): ``greater + (equal + 1) / 2``;
* ascending rank, ties ``min`` (singscore): ``n_genes - greater - equal + 1``;
* descending ordinal ranks with ties broken at random occupy
  ``greater + 1 .. greater + equal`` with equal probability (AUCell).

:func:`tie_counts` computes the counts without ranking whole rows: per observation it
sorts only the ``k`` distinct values its signature genes take and tallies each of the
row's values against them (a branch-free count or binary search), so a CSR row costs
``O(nnz log k)`` and its implicit zeros are one tied block of ``n_genes - nnz`` values.
Rows are processed in parallel (numba ``prange``) and in blocks of rows, so the
temporary counts stay small and a CSR matrix is never densified.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numba
import numpy as np
from scipy import sparse

from .._geneset import GeneSet
from ..errors import InputError
from ._numba import njit

_BLOCK_ROWS = 8192  # observations per block of counts (bounds temporary memory)
_LINEAR_LEVELS = 32  # up to this many distinct values, locate a value by a linear count

PartStatistic = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def tie_counts(
    X: np.ndarray | sparse.csr_matrix, genes: np.ndarray, rows: slice = slice(None)
) -> tuple[np.ndarray, np.ndarray]:
    """Per observation, how many genes have a larger and an equal value than each of ``genes``.

    Parameters
    ----------
    X
        Observations x genes, dense or CSR (implicit zeros are values 0).
    genes
        Column indices.
    rows
        The observations to count (a contiguous slice; no copy of a CSR matrix is made
        unless it holds duplicate entries).

    Returns
    -------
    ``greater`` and ``equal``, int64 arrays of shape ``(n_rows, len(genes))``; ``equal``
    counts the gene itself, so it is at least 1.

    Examples
    --------
    >>> X = np.array([[3.0, 0.0, 3.0, 1.0, 0.0]])
    >>> greater, equal = tie_counts(X, np.array([0, 1, 3]))
    >>> greater.tolist(), equal.tolist()
    ([[0, 3, 2]], [[2, 2, 1]])
    >>> [a.tolist() for a in tie_counts(sparse.csr_matrix(X), np.array([0, 1, 3]))]
    [[[0, 3, 2]], [[2, 2, 1]]]
    """
    genes = np.ascontiguousarray(genes, dtype=np.int64)
    n_obs, n_genes = X.shape
    if len(genes) and (genes.min() < 0 or genes.max() >= n_genes):
        raise InputError(
            f"gene index out of range for a matrix with {n_genes} columns; "
            "pass column indices from gene matching"
        )
    start, stop, step = rows.indices(n_obs)
    if step != 1:
        raise ValueError(f"rows must be a contiguous slice, not {rows!r}")
    if not sparse.issparse(X):
        return _dense_counts(np.ascontiguousarray(X[start:stop]), genes)
    X = canonical_csr(X)
    slot = np.full(n_genes, -1, dtype=np.int64)
    slot[genes] = np.arange(len(genes))
    indptr = np.asarray(X.indptr[start : max(start, stop) + 1], dtype=np.int64)
    return _csr_counts(X.data, X.indices, indptr, n_genes, slot=slot, n_set=len(genes))


def canonical_csr(X: sparse.spmatrix | sparse.sparray) -> sparse.csr_matrix:
    """``X`` as CSR without duplicate entries (summed on a copy, only when needed).

    Examples
    --------
    >>> X = sparse.csr_matrix(([1.0, 2.0], [0, 0], [0, 2]), shape=(1, 2))
    >>> canonical_csr(X).toarray().tolist()
    [[3.0, 0.0]]
    """
    X = X if isinstance(X, sparse.csr_matrix) else sparse.csr_matrix(X)
    if X.has_canonical_format:
        return X
    X = X.copy()
    X.sum_duplicates()
    return X


def part_statistics(
    X: np.ndarray | sparse.csr_matrix,
    gene_sets: Sequence[GeneSet],
    statistic: PartStatistic,
    n_stats: int = 1,
) -> np.ndarray:
    """Apply ``statistic`` to the tie counts of every signature's up and down genes.

    Parameters
    ----------
    X
        Observations x genes, dense or CSR; processed in blocks of rows.
    gene_sets
        Signatures as column indices.
    statistic
        ``statistic(greater, equal, n_genes)`` maps the ``(rows, k)`` counts of one
        part (up or down genes) to a ``(rows, n_stats)`` array.
    n_stats
        Number of statistics ``statistic`` returns per row.

    Returns
    -------
    ``(n_obs, n_sets, 2, n_stats)`` float64: index 0 of the third axis holds the up
    genes' statistics, index 1 the down genes'; NaN where the part has no genes.

    Examples
    --------
    >>> X = np.array([[5.0, 1.0, 3.0]])
    >>> mean_greater = lambda g, e, n: g.mean(axis=1, keepdims=True)
    >>> gs = GeneSet("s", up=np.array([0, 2]), down=np.array([1]))
    >>> part_statistics(X, [gs], mean_greater)[0, 0].tolist()
    [[0.5], [2.0]]
    """
    n_obs, n_genes = X.shape
    parts = [part for gs in gene_sets for part in (gs.up, gs.down)]
    out = np.full((n_obs, len(parts), n_stats), np.nan)
    filled = [p for p, part in enumerate(parts) if len(part)]
    if filled:
        members = [np.asarray(parts[p], dtype=np.int64) for p in filled]
        genes, inverse = np.unique(np.concatenate(members), return_inverse=True)
        columns = np.split(inverse, np.cumsum([len(m) for m in members])[:-1])
        X = canonical_csr(X) if sparse.issparse(X) else X
        for start in range(0, n_obs, _BLOCK_ROWS):
            rows = slice(start, min(start + _BLOCK_ROWS, n_obs))
            greater, equal = tie_counts(X, genes, rows)
            for p, cols in zip(filled, columns, strict=True):
                out[rows, p] = statistic(greater[:, cols], equal[:, cols], n_genes)
    return out.reshape(n_obs, len(gene_sets), 2, n_stats)


def up_minus_down(up: np.ndarray, down: np.ndarray, w_down: float = 1.0) -> np.ndarray:
    """``up - w_down * down`` where a missing part (NaN) counts as 0 and two missing give NaN.

    Examples
    --------
    >>> up_minus_down(np.array([0.8, np.nan, np.nan]), np.array([0.3, 0.5, np.nan])).tolist()
    [0.5, -0.5, nan]
    """
    out = np.nan_to_num(up, nan=0.0) - w_down * np.nan_to_num(down, nan=0.0)
    out[np.isnan(up) & np.isnan(down)] = np.nan
    return out


@njit(parallel=True)
def _csr_counts(data, indices, indptr, n_genes, *, slot, n_set):  # pragma: no cover - compiled
    n_obs = len(indptr) - 1
    greater = np.empty((n_obs, n_set), dtype=np.int64)
    equal = np.empty((n_obs, n_set), dtype=np.int64)
    for r in numba.prange(n_obs):
        lo, hi = indptr[r], indptr[r + 1]
        values = np.zeros(n_set, dtype=data.dtype)  # genes not stored are zeros
        for j in range(lo, hi):
            s = slot[indices[j]]
            if s >= 0:
                values[s] = data[j]
        _row_counts(data[lo:hi], n_genes - (hi - lo), values, greater[r], equal[r])
    return greater, equal


@njit(parallel=True)
def _dense_counts(X, genes):  # pragma: no cover - compiled
    greater = np.empty((X.shape[0], len(genes)), dtype=np.int64)
    equal = np.empty((X.shape[0], len(genes)), dtype=np.int64)
    for r in numba.prange(X.shape[0]):
        _row_counts(X[r], 0, X[r][genes], greater[r], equal[r])
    return greater, equal


@njit()
def _row_counts(row, n_zeros, values, greater, equal):  # pragma: no cover - compiled
    """Counts for one observation: ``row`` holds its stored values, plus ``n_zeros`` zeros.

    ``levels`` are the distinct values of the signature genes, sorted. Every row value
    falls in one of ``2m + 1`` slots: below level 0, at level 0, between levels 0 and
    1, ..., at level ``m-1``, above it; slot ``2i + 1`` is "at level i". The genes above
    level ``i`` are then the sum of the slots after ``2i + 1``.
    """
    levels = _sorted_unique(values)
    m = len(levels)
    slots = np.zeros(2 * m + 1, dtype=np.int64)
    for x in row:
        slots[_slot(levels, x)] += 1
    if n_zeros > 0:
        slots[_slot(levels, 0.0)] += n_zeros
    above = np.empty(m, dtype=np.int64)
    running = slots[2 * m]
    for i in range(m - 1, -1, -1):
        above[i] = running
        running += slots[2 * i + 1] + slots[2 * i]
    for s in range(len(values)):
        i = _count_below(levels, values[s])
        greater[s] = above[i]
        equal[s] = slots[2 * i + 1]


@njit()
def _sorted_unique(values):  # pragma: no cover - compiled
    out = np.sort(values)
    m = 0
    for i in range(len(out)):
        if m == 0 or out[i] != out[m - 1]:
            out[m] = out[i]
            m += 1
    return out[:m]


@njit(inline="always")
def _slot(levels, x):  # pragma: no cover - compiled
    """``2 * (number of levels < x) + (x is a level)``, without data-dependent branches."""
    i = _count_below(levels, x)
    return 2 * i + ((i < len(levels)) & (levels[min(i, len(levels) - 1)] == x))


@njit(inline="always")
def _count_below(levels, x):  # pragma: no cover - compiled
    """Number of ``levels`` (sorted, non-empty) strictly below ``x``.

    A linear count for a few levels (vectorised, no branches), otherwise a
    branch-free binary search.
    """
    n = len(levels)
    if n <= _LINEAR_LEVELS:
        below = 0
        for level in levels:
            below += level < x
        return below
    base = 0
    while n > 1:
        half = n >> 1
        if levels[base + half - 1] < x:
            base += half
        n -= half
    return base + (levels[base] < x)
