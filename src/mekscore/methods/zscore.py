"""GSVA's combined z-score (Lee et al. 2008): ``sum(Z[set]) / sqrt(k)``.

Each gene is standardised across observations (mean, sd with ddof 1; GSVA's
``t(scale(t(X)))``) and a set's score is the sum of its genes' z-scores divided by
the square root of the number of genes. Genes that are constant across
observations (sd < 1e-10, as GSVA does, or max == min) are dropped first, so ``k``
counts only varying genes. Moments are accumulated in float64 whatever the
data's dtype, so float32 data score as their float64 copy would. Sparse input
follows the *dense* definition (zeros are values and are standardised too); GSVA
>= 2.0 on a ``dgCMatrix`` scales only the non-zeros. Per-gene moments are computed
from the sparse matrix; only a set's own columns are densified. Signatures with
down genes score ``z(up) - z(down)``; weights are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from .._geneset import GeneSet
from ._affine import GeneMoments
from ._gsva_kernels import (
    keep_varying,
    require_two_observations,
    score_up_minus_down,
    zscored_set_scores,
)
from ._records import RECORDS


def zscore(X: np.ndarray | sparse.csr_matrix, gene_sets: Sequence[GeneSet]) -> np.ndarray:
    """Combined z-score of each gene set in each observation.

    Parameters
    ----------
    X
        Observations x genes (dense or CSR), log-scale expression; at least 2 rows.
    gene_sets
        Signatures as column indices.

    Returns
    -------
    ``(n_obs, n_sets)`` scores; NaN for a set whose genes are all constant.

    Examples
    --------
    >>> X = np.array([[1.0, 2.0], [3.0, 2.5], [2.0, 4.0]])
    >>> zscore(X, [GeneSet("s", up=np.array([0, 1]))]).round(4).ravel().tolist()
    [-1.2732, 0.4807, 0.7926]
    """
    require_two_observations(X, "zscore")
    return score_up_minus_down(_zscore_parts, X, gene_sets)


def _zscore_parts(X, index_sets: list[np.ndarray]) -> np.ndarray:
    return zscored_set_scores(X, index_sets, lambda Z: Z.sum(axis=1) / np.sqrt(Z.shape[1]))


def zscore_affine(
    moments: GeneMoments, gene_sets: Sequence[GeneSet]
) -> tuple[sparse.csr_matrix, np.ndarray]:
    """``W`` and ``offset`` such that ``X @ W + offset`` is :func:`zscore`'s score.

    ``sum((x - mu) / sd) / sqrt(k)`` is linear in ``x``: each varying set gene gets
    weight ``±1 / (sd * sqrt(k))`` and the offset collects ``∓sum(mu / sd) / sqrt(k)``.
    A part with no varying gene makes its signature NaN, as in :func:`zscore`.

    Examples
    --------
    >>> from mekscore.methods._affine import GeneMoments, affine_scores
    >>> X = np.array([[1.0, 2.0], [3.0, 2.5], [2.0, 4.0]])
    >>> gs = [GeneSet("s", up=np.array([0, 1]))]
    >>> W, off = zscore_affine(GeneMoments.of(X), gs)
    >>> np.allclose(affine_scores(X, W, off), zscore(X, gs))
    True
    """
    require_two_observations(np.empty((moments.n, 0)), "zscore")
    mu, sd, varying = moments.mean, moments.sd, moments.varying
    rows, cols, vals = [], [], []
    offset = np.zeros(len(gene_sets))
    for s, gs in enumerate(gene_sets):
        for part, sign in ((gs.up, 1.0), (gs.down, -1.0)):
            if not len(part):
                continue
            (kept,) = keep_varying([part], varying)
            if not len(kept):
                offset[s] = np.nan
                continue
            scale = sign / (sd[kept] * np.sqrt(len(kept)))
            rows.append(kept)
            cols.append(np.full(len(kept), s))
            vals.append(scale)
            offset[s] -= float(np.sum(mu[kept] * scale))
        if gs.size == 0:
            offset[s] = np.nan
    shape = (len(mu), len(gene_sets))
    if not rows:
        return sparse.csr_matrix(shape), offset
    W = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=shape
    )
    return W, offset


METHOD = RECORDS["zscore"].bind(
    zscore, affine=lambda moments, gene_sets, params: zscore_affine(moments, gene_sets)
)
