"""PLAGE (Tomfohr et al. 2005): first right singular vector of a set's z-scores.

Genes are standardised across observations as in :mod:`.zscore` (float64 moments
for any dtype, constant genes dropped, dense definition for sparse input, only the
set's columns densified). The score of a set is the first right singular vector of
``Z[set, ]`` (unit norm over observations). Its sign is arbitrary in GSVA 1.46;
here it is chosen so that the score correlates positively with the mean z-score of
the set's genes, so a higher score means higher expression of the set. Signatures
with down genes score ``plage(up) - plage(down)``; weights are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from .._geneset import GeneSet
from ._gsva_kernels import require_two_observations, score_up_minus_down, zscored_set_scores
from ._records import RECORDS


def plage(X: np.ndarray | sparse.csr_matrix, gene_sets: Sequence[GeneSet]) -> np.ndarray:
    """PLAGE activity of each gene set in each observation.

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
    >>> plage(X, [GeneSet("s", up=np.array([0, 1]))]).round(4).ravel().tolist()
    [-0.8084, 0.3052, 0.5033]
    """
    require_two_observations(X, "plage")
    return score_up_minus_down(_plage_parts, X, gene_sets)


def _plage_parts(X, index_sets: list[np.ndarray]) -> np.ndarray:
    return zscored_set_scores(X, index_sets, first_right_singular_vector)


def first_right_singular_vector(Z: np.ndarray) -> np.ndarray:
    """First right singular vector of ``Z.T`` (genes x obs), oriented with the row means.

    ``Z`` is observations x genes; the returned vector (one value per observation)
    has unit norm and a non-negative dot product with ``Z.mean(axis=1)``.

    Examples
    --------
    >>> first_right_singular_vector(np.array([[-1.0], [0.0], [1.0]])).round(4).tolist()
    [-0.7071, 0.0, 0.7071]
    """
    u, _, _ = np.linalg.svd(Z, full_matrices=False)
    v = u[:, 0]
    return -v if v @ Z.mean(axis=1) < 0 else v


METHOD = RECORDS["plage"].bind(plage)
