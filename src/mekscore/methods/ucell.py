"""UCell (Andreatta & Carmona 2021) exactly as R UCell >= 2.7.6 computes it.

Per observation, genes are ranked by decreasing value with ties averaged, zeros
included (all zeros of an observation share one average rank). For the ``n``
signature genes with ranks capped at ``max_rank``, ``r_i = min(rank_i, max_rank)``::

    U = sum(r_i) - n(n+1)/2
    UCell = 1 - U / (n * max_rank - n(n+1)/2)

so 1 means the genes are the top-ranked ones, 0 that none is within ``max_rank``.
Signed signatures score their up and down genes separately and return
``max(0, UCell(up) - w_neg * UCell(down))``; a signature with only down genes
therefore scores 0. Genes absent from the data are dropped by the caller (R UCell
would impute them at ``max_rank``).

Unlike pyUCell (<= 0.8), which treats every zero as ranked ``max_rank``, zeros get
their average rank ``nnz + (n_genes - nnz + 1)/2``; the two agree whenever that rank
is at least ``max_rank`` (typical single-cell data with thousands of genes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from ._base import GeneSet, Method
from ._rank import part_statistics, up_minus_down


def ucell(
    X: np.ndarray | sparse.csr_matrix,
    gene_sets: Sequence[GeneSet],
    max_rank: int = 1500,
    w_neg: float = 1.0,
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

    Returns
    -------
    ``(n_obs, n_sets)`` scores; NaN for a signature with no genes.

    Examples
    --------
    >>> X = np.array([[5.0, 0.0, 3.0, 2.0, 4.0], [0.0, 5.0, 1.0, 2.0, 0.0]])
    >>> ucell(X, [GeneSet("s", up=np.array([0, 4]))], max_rank=3).round(4).ravel().tolist()
    [1.0, 0.0]
    """
    max_rank = _check_max_rank(max_rank, gene_sets)

    def part_score(greater: np.ndarray, equal: np.ndarray, n_genes: int) -> np.ndarray:
        ranks = np.minimum(greater + (equal + 1) / 2.0, max_rank)
        n = ranks.shape[1]
        u = ranks.sum(axis=1, keepdims=True) - n * (n + 1) / 2.0
        return 1.0 - u / (n * max_rank - n * (n + 1) / 2.0)

    parts = part_statistics(X, gene_sets, part_score)[..., 0]
    scores = up_minus_down(parts[..., 0], parts[..., 1], w_neg)
    has_down = np.array([len(gs.down) > 0 for gs in gene_sets], dtype=bool)
    scores[:, has_down] = np.maximum(scores[:, has_down], 0.0)
    return scores


def _check_max_rank(max_rank: int, gene_sets: Sequence[GeneSet]) -> int:
    if isinstance(max_rank, bool) or not float(max_rank).is_integer() or max_rank < 2:
        raise ValueError(f"max_rank must be an integer >= 2, not {max_rank!r}")
    longest = max((max(len(gs.up), len(gs.down)) for gs in gene_sets), default=0)
    if longest > max_rank:
        raise ValueError(
            f"a signature part has {longest} genes, more than max_rank={max_rank}; "
            "increase max_rank or use shorter signatures"
        )
    return int(max_rank)


METHOD = Method(
    name="ucell",
    func=ucell,
    defaults={"max_rank": 1500, "w_neg": 1.0},
    row_wise=True,
    data="any",
    reference="R UCell >= 2.7.6 (Andreatta & Carmona 2021); pyUCell 0.8 if zeros rank >= max_rank",
    signed="up and down genes scored separately: max(0, UCell(up) - w_neg * UCell(down))",
)
