"""Weighted mean (or weighted sum) of a signature's genes: one product ``X @ W``.

A signature's score is the weighted mean of its up genes minus the weighted mean of
its down genes, ``sum(w_up x_up) / sum(w_up) - sum(w_dn x_dn) / sum(w_dn)``, with
weights 1 when the signature has none. ``normalize="sum"`` drops the divisions:
``sum(w_up x_up) - sum(w_dn x_dn)``, which is exactly a linear footprint model such as
PROGENy's ``t(X) %*% W`` (put positive-weight genes in ``up`` and negative-weight
genes in ``down`` with ``|w|``). A missing part contributes 0; a set with no genes
scores NaN.

All sets are scored at once: the weights are folded into one ``(n_genes, n_sets)``
matrix ``W`` and the scores are ``X @ W`` (sparse ``X`` stays sparse).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import sparse

from .._geneset import GeneSet
from ..errors import InputError
from ._records import RECORDS

Normalize = Literal["mean", "sum"]
_DENSE_BLOCK = 4096  # rows per float64 block when multiplying a dense matrix


def mean(
    X: np.ndarray | sparse.csr_matrix,
    gene_sets: Sequence[GeneSet],
    *,
    normalize: Normalize = RECORDS["mean"].defaults["normalize"],
) -> np.ndarray:
    """Weighted mean of up genes minus weighted mean of down genes, per observation.

    Parameters
    ----------
    X
        Observations x genes (dense or CSR), log-scale expression.
    gene_sets
        Signatures as column indices, with optional positive weights.
    normalize
        ``"mean"`` divides each part by the sum of its weights; ``"sum"`` returns the
        weighted sums (a linear model such as PROGENy).

    Returns
    -------
    ``(n_obs, n_sets)`` float64 scores; NaN for a set with no genes.

    Examples
    --------
    >>> X = np.array([[1.0, 2.0, 5.0], [3.0, 4.0, 1.0]])
    >>> gs = GeneSet("s", up=np.array([0, 1]), down=np.array([2]))
    >>> mean(X, [gs]).ravel().tolist()
    [-3.5, 2.5]
    >>> w = GeneSet("w", up=np.array([0, 1]), up_weights=np.array([3.0, 1.0]))
    >>> mean(X, [w], normalize="sum").ravel().tolist()
    [5.0, 13.0]
    """
    W = weight_matrix(gene_sets, X.shape[1], normalize=normalize)
    scores = project(X, W)
    scores[:, [gs.size == 0 for gs in gene_sets]] = np.nan
    return scores


def weight_matrix(
    gene_sets: Sequence[GeneSet],
    n_genes: int,
    *,
    normalize: Normalize = RECORDS["mean"].defaults["normalize"],
) -> sparse.csr_matrix:
    """Sparse ``(n_genes, n_sets)`` matrix such that ``X @ W`` is :func:`mean`'s score.

    Up genes get ``+w`` and down genes ``-w`` (divided by the part's weight sum when
    ``normalize="mean"``); a gene listed twice adds up.

    Examples
    --------
    >>> gs = GeneSet("s", up=np.array([0, 2]), down=np.array([1]))
    >>> weight_matrix([gs], 3).toarray().ravel().tolist()
    [0.5, -1.0, 0.5]
    """
    normalize = RECORDS["mean"].params({"normalize": normalize})["normalize"]
    rows, cols, vals = [], [], []
    for s, gs in enumerate(gene_sets):
        for idx, weights, sign in ((gs.up, gs.up_weights, 1.0), (gs.down, gs.down_weights, -1.0)):
            if len(idx):
                w = _part_weights(gs.name, idx, weights)
                rows.append(idx)
                cols.append(np.full(len(idx), s))
                vals.append(sign * (w / w.sum() if normalize == "mean" else w))
    if not rows:
        return sparse.csr_matrix((n_genes, len(gene_sets)))
    coo = sparse.coo_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_genes, len(gene_sets)),
    )
    return coo.tocsr()  # sums duplicate entries


def project(X: np.ndarray | sparse.csr_matrix, W: sparse.csr_matrix) -> np.ndarray:
    """``X @ W`` as a dense float64 ``(n_obs, n_sets)`` array, keeping sparse ``X`` sparse.

    Dense ``X`` is multiplied in row blocks so that a float32 matrix is upcast a
    block at a time rather than copied whole.

    Examples
    --------
    >>> W = sparse.csr_matrix(np.array([[0.5], [0.5]]))
    >>> project(sparse.csr_matrix(np.array([[1.0, 3.0], [0.0, 2.0]])), W).ravel().tolist()
    [2.0, 1.0]
    """
    if sparse.issparse(X):
        return np.asarray((X @ W).toarray(), dtype=np.float64)
    Wd = W.toarray()
    out = np.empty((X.shape[0], W.shape[1]))
    for start in range(0, X.shape[0], _DENSE_BLOCK):
        block = X[start : start + _DENSE_BLOCK]
        out[start : start + _DENSE_BLOCK] = block.astype(np.float64, copy=False) @ Wd
    return out


def _part_weights(name: str, idx: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    if weights is None:
        return np.ones(len(idx))
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != idx.shape:
        raise InputError(
            f"signature {name!r}: {len(w)} weights for {len(idx)} genes; give one weight per gene"
        )
    if not np.all(np.isfinite(w) & (w > 0)):
        raise InputError(
            f"signature {name!r}: weights must be finite and positive; "
            "put negatively weighted genes in 'down' with |weight|"
        )
    return w


METHOD = RECORDS["mean"].bind(mean)
