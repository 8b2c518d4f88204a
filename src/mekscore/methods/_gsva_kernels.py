"""Helpers shared by the GSVA-family methods (ssgsea, gsva, zscore, plage).

GSVA scores unsigned gene sets only. For a signature with down genes these
methods score the up part and the down part as two separate sets and return
``score(up) - score(down)`` (:func:`score_up_minus_down`); gene weights are not used.

GSVA's ``gsva``, ``zscore`` and ``plage`` first drop genes whose standard
deviation across observations is below ``1e-10`` (``.filterFeatures`` in GSVA
1.46); :attr:`GeneMoments.varying <mekscore.methods._affine.GeneMoments.varying>`
(float64 moments, plus an exact ``max > min`` test) and :func:`keep_varying`
implement that filter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse

from .._geneset import GeneSet
from ..errors import InputError
from ._affine import GeneMoments
from ._numba import njit

PartScorer = Callable[[np.ndarray | sparse.csr_matrix, list[np.ndarray]], np.ndarray]


def score_up_minus_down(
    score_parts: PartScorer, X: np.ndarray | sparse.csr_matrix, gene_sets: Sequence[GeneSet]
) -> np.ndarray:
    """Score each set's up and down genes as separate sets and return ``up - down``.

    Parameters
    ----------
    score_parts
        ``score_parts(X, index_sets)`` scores plain column-index sets and returns
        ``(n_obs, len(index_sets))``.
    X
        Observations x genes.
    gene_sets
        Signatures as column indices; a missing part contributes 0, a set with no
        genes at all scores NaN.

    Returns
    -------
    ``(n_obs, n_sets)`` float64 scores.

    Examples
    --------
    >>> mean = lambda X, parts: np.column_stack([X[:, p].mean(axis=1) for p in parts])
    >>> X = np.array([[1.0, 2.0, 5.0], [3.0, 4.0, 1.0]])
    >>> gs = GeneSet("s", up=np.array([0, 1]), down=np.array([2]))
    >>> score_up_minus_down(mean, X, [gs]).ravel().tolist()
    [-3.5, 2.5]
    """
    parts = [p for gs in gene_sets for p in (gs.up, gs.down) if len(p)]
    flat = score_parts(X, parts) if parts else np.empty((X.shape[0], 0))
    out = np.full((X.shape[0], len(gene_sets)), np.nan)
    col = 0
    for s, gs in enumerate(gene_sets):
        if gs.size == 0:
            continue
        total = np.zeros(X.shape[0])
        for part, sign in ((gs.up, 1.0), (gs.down, -1.0)):
            if len(part):
                total += sign * flat[:, col]
                col += 1
        out[:, s] = total
    return out


def pack_sets(index_sets: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated int64 indices and offsets (set ``s`` is ``flat[off[s]:off[s+1]]``).

    Examples
    --------
    >>> flat, off = pack_sets([np.array([3, 1]), np.array([0])])
    >>> flat.tolist(), off.tolist()
    ([3, 1, 0], [0, 2, 3])
    """
    sizes = np.array([len(s) for s in index_sets], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    flat = np.concatenate([np.asarray(s, dtype=np.int64) for s in index_sets]) if len(sizes) else []
    return np.ascontiguousarray(flat, dtype=np.int64), offsets


def require_two_observations(X, method: str) -> None:
    """Refuse fewer than two observations for methods that compare observations."""
    if X.shape[0] < 2:
        raise InputError(
            f"method {method!r} compares each gene across observations and needs at least 2 "
            f"(got {X.shape[0]}); score more samples together or use a single-sample method "
            "such as singscore, ucell or mean"
        )


def zscored_set_scores(
    X: np.ndarray | sparse.csr_matrix,
    index_sets: list[np.ndarray],
    reduce: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray:
    """``reduce(Z[:, set])`` per set, ``Z`` the genes standardised across observations.

    Constant genes are dropped first (GSVA's filter); a set left without genes is NaN.

    Examples
    --------
    >>> X = np.array([[1.0, 2.0], [3.0, 2.0]])
    >>> zscored_set_scores(X, [np.array([0, 1])], lambda Z: Z.sum(axis=1)).tolist()
    [[-0.7071067811865475], [0.7071067811865475]]
    """
    moments = GeneMoments.of(X)
    sets = keep_varying(index_sets, moments.varying)
    out = np.full((X.shape[0], len(sets)), np.nan)
    for s, cols in enumerate(sets):
        if len(cols):
            out[:, s] = reduce(set_columns_zscored(X, cols, moments.mean, moments.sd))
    return out


def keep_varying(index_sets: Sequence[np.ndarray], varying: np.ndarray) -> list[np.ndarray]:
    """Each set restricted to the genes flagged in the boolean mask ``varying``.

    Examples
    --------
    >>> keep_varying([np.array([0, 2, 3])], np.array([True, True, False, True]))
    [array([0, 3])]
    """
    return [s[varying[s]] for s in index_sets]


def set_columns_zscored(
    X: np.ndarray | sparse.csr_matrix, cols: np.ndarray, mu: np.ndarray, sd: np.ndarray
) -> np.ndarray:
    """Dense ``(n_obs, len(cols))`` block of z-scores ``(X[:, cols] - mu) / sd``.

    Only the set's columns are densified, never the whole matrix.
    """
    block = X[:, cols]
    block = block.toarray() if sparse.issparse(block) else np.asarray(block, dtype=np.float64)
    return (block - mu[cols]) / sd[cols]


@njit()
def stable_argsort(vals):  # pragma: no cover - compiled
    """Stable ascending argsort of a float64 vector (ties in index order).

    An LSD radix sort over six 11-bit digits of an order-preserving integer key
    (``-0.0`` counts as ``0.0``); several times faster than a comparison sort.
    Digits shared by all keys are skipped.
    """
    n = len(vals)
    keys = (vals + 0.0).view(np.uint64)
    sign = np.uint64(1) << np.uint64(63)
    mask = np.uint64(2047)
    hist = np.zeros((6, 2048), dtype=np.int64)
    for i in range(n):
        keys[i] = ~keys[i] if keys[i] & sign else keys[i] | sign
        for d in range(6):
            hist[d, (keys[i] >> np.uint64(11 * d)) & mask] += 1
    order = np.arange(n)
    spare = np.empty(n, dtype=np.int64)
    for d in range(6):
        bucket_start = hist[d]
        if bucket_start.max() == n:
            continue
        total = 0
        for b in range(2048):
            count = bucket_start[b]
            bucket_start[b] = total
            total += count
        shift = np.uint64(11 * d)
        for i in range(n):
            b = (keys[order[i]] >> shift) & mask
            spare[bucket_start[b]] = order[i]
            bucket_start[b] += 1
        order, spare = spare, order
    return order
