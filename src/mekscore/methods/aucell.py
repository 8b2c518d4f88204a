"""AUCell (Aibar et al. 2017) with R AUCell's normalised AUC (``normAUC=TRUE``).

Per observation, genes are ranked by decreasing value (1 = highest). With the
threshold ``thr`` and the sorted ranks ``x`` of the signature's ``k`` genes that are
below ``thr``, R computes ``AUC = sum(diff(c(x, thr)) * seq_along(x))``, which equals
``sum(thr - x)``; the score is ``AUC / maxAUC`` where ``maxAUC`` is the same sum for
the ideal ranks ``1..k`` (``R/02_calcAUC.R``).

Threshold: ``max_rank`` given as a fraction in (0, 1) means
``thr = ceil(max_rank * n_genes)``, R's default ``aucMaxRank = ceiling(0.05 * nGenes)``
(decoupler uses the same); an integer is used as is.

Ties: R AUCell breaks ties at random when building rankings. Here a gene tied with
``equal - 1`` others below ``greater`` larger genes takes each rank
``greater + 1 .. greater + equal`` with probability ``1/equal``, and the score is the
exact *expected value* of R's score over that random tie-breaking (the AUC is a sum
over genes, so the expectation is the sum of each gene's expected ``thr - rank``
over the ranks below ``thr``). This is deterministic, does not depend on the order of
the genes, and equals R (and decoupler) whenever no ties reach the top ``thr`` ranks.
In sparse data every zero is tied, so a gene that is zero in an observation counts
only if fewer than ``thr`` genes are non-zero there.

Signed signatures score ``AUC(up) - AUC(down)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from .._geneset import GeneSet
from ..errors import InputError
from ._rank import part_statistics, up_minus_down
from ._records import RECORDS


def aucell(
    X: np.ndarray | sparse.csr_matrix,
    gene_sets: Sequence[GeneSet],
    max_rank: float = RECORDS["aucell"].defaults["max_rank"],
) -> np.ndarray:
    """Normalised AUCell scores in [0, 1] (expected value over random tie-breaking).

    Parameters
    ----------
    X
        Observations x genes, dense or CSR; any scale (rank based).
    gene_sets
        Signatures as column indices; weights are ignored.
    max_rank
        AUC threshold (R ``aucMaxRank``): a fraction in (0, 1) of the number of genes
        (rounded up) or an integer number of ranks >= 2.

    Returns
    -------
    ``(n_obs, n_sets)`` scores; NaN for a signature with no genes.

    Examples
    --------
    >>> X = np.array([[9.0, 8.0, 1.0, 7.0, 2.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    >>> aucell(X, [GeneSet("s", up=np.array([0, 1]))], max_rank=3).ravel().tolist()
    [1.0, 0.0]
    """
    thr = auc_threshold(max_rank, X.shape[1])

    def part_auc(greater: np.ndarray, equal: np.ndarray, n_genes: int) -> np.ndarray:
        first = greater + 1  # the ranks a gene may take: first .. first + equal - 1
        last = np.minimum(greater + equal, thr - 1)
        count = np.maximum(last - first + 1, 0)
        expected = count * (thr - (first + last) / 2.0) / equal
        ideal = min(greater.shape[1], thr - 1)
        max_auc = ideal * thr - ideal * (ideal + 1) / 2.0
        return expected.sum(axis=1, keepdims=True) / max_auc

    parts = part_statistics(X, gene_sets, part_auc)[..., 0]
    return up_minus_down(parts[..., 0], parts[..., 1])


def auc_threshold(max_rank: float, n_genes: int) -> int:
    """The rank threshold ``thr``: ``ceil(max_rank * n_genes)`` for a fraction, else ``max_rank``.

    Examples
    --------
    >>> auc_threshold(0.05, 20_000), auc_threshold(0.05, 11_900), auc_threshold(3, 20)
    (1000, 595, 3)
    """
    max_rank = RECORDS["aucell"].params({"max_rank": max_rank})["max_rank"]
    thr = math.ceil(max_rank * n_genes) if max_rank < 1 else max_rank
    if not 2 <= thr <= n_genes:
        raise InputError(
            "the AUCell threshold is {thr} ranks ({max_rank=}) but it must be between 2 and "
            "the number of genes ({n_genes}); choose another {max_rank!p}",
            thr=thr,
            max_rank=max_rank,
            n_genes=n_genes,
        )
    return thr


METHOD = RECORDS["aucell"].bind(aucell)
