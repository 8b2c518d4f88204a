"""UCell (Andreatta & Carmona 2021) exactly as R UCell >= 2.7.6 computes it.

Per observation, genes are ranked by decreasing value with ties averaged, zeros
included (all zeros of an observation share one average rank). For the ``n``
signature genes with ranks capped at ``max_rank``, ``r_i = min(rank_i, max_rank)``::

    U = sum(r_i) - n(n+1)/2
    UCell = 1 - U / (n * max_rank - n(n+1)/2)

so 1 means the genes are the top-ranked ones, 0 that none is within ``max_rank``.
Signed signatures score their up and down genes separately and return
``max(0, UCell(up) - w_neg * UCell(down))``; a signature with only down genes
therefore scores 0.

Genes absent from the data are dropped by default (``missing_genes="skip"``, R's
``missing_genes="skip"``). ``missing_genes="impute"`` reproduces R UCell's default
instead: each missing gene counts in ``n`` with rank ``max_rank``, so it lowers the
score without adding information (a part whose genes are all missing scores 0).

Unlike pyUCell (<= 0.8), which treats every zero as ranked ``max_rank``, zeros get
their average rank ``nnz + (n_genes - nnz + 1)/2``; the two agree whenever that rank
is at least ``max_rank`` (typical single-cell data with thousands of genes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy import sparse

from .._geneset import GeneSet
from ..errors import InputError
from ._rank import part_statistics, up_minus_down
from ._records import RECORDS

_DEFAULT = RECORDS["ucell"].defaults


def ucell(
    X: np.ndarray | sparse.csr_matrix,
    gene_sets: Sequence[GeneSet],
    max_rank: int = _DEFAULT["max_rank"],
    w_neg: float = _DEFAULT["w_neg"],
    missing_genes: Literal["skip", "impute"] = _DEFAULT["missing_genes"],
) -> np.ndarray:
    """UCell scores in [0, 1].

    Parameters
    ----------
    X
        Observations x genes, dense or CSR; any scale (rank based).
    gene_sets
        Signatures as column indices; weights are ignored.
    max_rank
        Ranks above this are capped (R ``maxRank``); must be at least the size of
        every signature part.
    w_neg
        Weight of the down genes' score (R ``w_neg``).
    missing_genes
        ``"skip"``: score only the genes found. ``"impute"``: as R UCell's default,
        count each gene missing from the data (``GeneSet.n_missing_up`` and
        ``n_missing_down``) at rank ``max_rank``.

    Returns
    -------
    ``(n_obs, n_sets)`` scores; NaN for a signature with no genes (with
    ``"impute"``: no genes found or missing).

    Examples
    --------
    >>> X = np.array([[5.0, 0.0, 3.0, 2.0, 4.0], [0.0, 5.0, 1.0, 2.0, 0.0]])
    >>> ucell(X, [GeneSet("s", up=np.array([0, 4]))], max_rank=3).round(4).ravel().tolist()
    [1.0, 0.0]
    >>> gs = GeneSet("s", up=np.array([0, 4]), n_missing_up=1)
    >>> [ucell(X, [gs], max_rank=4, missing_genes=m).round(4).ravel().tolist()
    ...  for m in ("skip", "impute")]
    [[1.0, 0.0], [0.8333, 0.0]]
    """
    checked = RECORDS["ucell"].params(
        {"max_rank": max_rank, "w_neg": w_neg, "missing_genes": missing_genes}
    )
    impute = checked["missing_genes"] == "impute"
    max_rank = _check_max_rank(checked["max_rank"], gene_sets, impute=impute)

    def capped_rank_sum(greater: np.ndarray, equal: np.ndarray, n_genes: int) -> np.ndarray:
        ranks = np.minimum(greater + (equal + 1) / 2.0, max_rank)
        return ranks.sum(axis=1, keepdims=True)

    rank_sums = part_statistics(X, gene_sets, capped_rank_sum)[..., 0]  # (obs, sets, 2)
    n = _part_sizes(gene_sets, impute=impute)
    n_missing = n - _part_sizes(gene_sets, impute=False)
    # a part with no gene found has a NaN rank sum: 0, plus max_rank per imputed gene
    rank_sums = np.where(n_missing == n, 0.0, rank_sums) + n_missing * max_rank
    with np.errstate(invalid="ignore", divide="ignore"):
        parts = 1.0 - (rank_sums - n * (n + 1) / 2.0) / (n * max_rank - n * (n + 1) / 2.0)
    scores = up_minus_down(parts[..., 0], parts[..., 1], w_neg)
    has_down = n[:, 1] > 0
    scores[:, has_down] = np.maximum(scores[:, has_down], 0.0)
    return scores


def _part_sizes(gene_sets: Sequence[GeneSet], *, impute: bool) -> np.ndarray:
    """``(n_sets, 2)`` genes per up and down part, missing ones included if ``impute``."""
    return np.array(
        [
            (
                len(gs.up) + impute * gs.n_missing_up,
                len(gs.down) + impute * gs.n_missing_down,
            )
            for gs in gene_sets
        ],
        dtype=np.float64,
    ).reshape(len(gene_sets), 2)


def _check_max_rank(max_rank: int, gene_sets: Sequence[GeneSet], *, impute: bool) -> int:
    """``max_rank``, refused when a signature part is longer (its score would be undefined)."""
    longest = int(_part_sizes(gene_sets, impute=impute).max(initial=0))
    if longest > max_rank:
        raise InputError(
            "a signature part has {longest} genes, more than {max_rank=}; raise {max_rank!p} "
            "to at least {longest} or use shorter signatures",
            longest=longest,
            max_rank=max_rank,
        )
    return max_rank


METHOD = RECORDS["ucell"].bind(ucell)
