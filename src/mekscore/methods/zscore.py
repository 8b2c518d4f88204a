"""GSVA's combined z-score (Lee et al. 2008): ``sum(Z[set]) / sqrt(k)``.

Each gene is standardised across observations (mean, sd with ddof 1; GSVA's
``t(scale(t(X)))``) and a set's score is the sum of its genes' z-scores divided by
the square root of the number of genes. Genes that are constant across
observations (sd < 1e-10) are dropped first, as GSVA does, so ``k`` counts only
varying genes. Sparse input follows the *dense* definition (zeros are values and
are standardised too); GSVA >= 2.0 on a ``dgCMatrix`` scales only the non-zeros.
Per-gene moments are computed from the sparse matrix; only a set's own columns are
densified. Signatures with down genes score ``z(up) - z(down)``; weights are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from ._base import GeneSet, Method
from ._gsva_kernels import (
    CONSTANT_SD,
    gene_moments,
    keep_varying,
    require_two_observations,
    score_up_minus_down,
    set_columns_zscored,
)


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
    mu, sd = gene_moments(X)
    sets = keep_varying(index_sets, sd >= CONSTANT_SD)
    out = np.full((X.shape[0], len(sets)), np.nan)
    for s, cols in enumerate(sets):
        if len(cols):
            out[:, s] = set_columns_zscored(X, cols, mu, sd).sum(axis=1) / np.sqrt(len(cols))
    return out


METHOD = Method(
    name="zscore",
    func=zscore,
    defaults={},
    row_wise=False,
    data="log",
    reference="GSVA 1.46 method='zscore' (Lee et al. 2008)",
    signed="down genes scored as a separate set and subtracted: z(up) - z(down); weights ignored",
)
