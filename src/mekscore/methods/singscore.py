"""singscore (Foroutan et al. 2018) exactly as R singscore's ``simpleScore`` computes it.

Per observation, all genes are ranked by increasing value with ties ``min``
(``rankGenes(tiesMethod="min")``; zeros included). For a part of ``k`` genes among
``N``, with ``lo = (k+1)/2`` and ``hi = (2N-k+1)/2`` the smallest and largest
possible mean rank::

    S = (mean(ranks) - lo) / (hi - lo)
    Up = S_up - 0.5        Down = (1 - S_down) - 0.5        Total = Up + Down

(without the ``- 0.5`` when ``center=False``). The dispersion of a part is R's
``mad`` of its ranks, ``1.4826 * median(|r - median(r)|)``; a signed signature's
dispersion is the mean of its two parts' dispersions. A signature with only up
(down) genes has ``score == up`` (``down``) and NaN for the other part.

In an observation where every gene is zero all ranks are 1, so ``S = (1 - lo)/(hi - lo)``
(``Up`` is about -0.5 for large ``N``) and the dispersion is 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from .._geneset import GeneSet
from ._rank import part_statistics, up_minus_down
from ._records import RECORDS

MAD_SCALE = 1.4826  # R mad(constant = 1.4826)


def singscore(
    X: np.ndarray | sparse.csr_matrix,
    gene_sets: Sequence[GeneSet],
    *,
    center: bool = RECORDS["singscore"].defaults["center"],
) -> dict[str, np.ndarray]:
    """Total, up and down singscores and their dispersions.

    Parameters
    ----------
    X
        Observations x genes, dense or CSR; any scale (rank based).
    gene_sets
        Signatures as column indices; weights are ignored.
    center
        Subtract 0.5 from the up and down scores (R ``centerScore``).

    Returns
    -------
    Dict of ``(n_obs, n_sets)`` arrays: ``"score"`` (TotalScore), ``"up"``, ``"down"``
    (NaN when the part has no genes) and ``"dispersion"`` (TotalDispersion).

    Examples
    --------
    >>> X = np.array([[1.0, 2.0, 5.0, 5.0]])  # singscore's unit-test toy
    >>> out = singscore(X, [GeneSet("s", up=np.array([2, 3]), down=np.array([0]))])
    >>> {key: value.item() for key, value in out.items()}
    {'score': 0.75, 'up': 0.25, 'down': 0.5, 'dispersion': 0.0}
    """
    shift = 0.5 if center else 0.0

    def part_score(greater: np.ndarray, equal: np.ndarray, n_genes: int) -> np.ndarray:
        ranks = n_genes - greater - equal + 1.0
        k = ranks.shape[1]
        lo, hi = (k + 1) / 2.0, (2 * n_genes - k + 1) / 2.0
        score = (ranks.mean(axis=1) - lo) / (hi - lo)
        return np.column_stack([score, r_mad(ranks)])

    parts = part_statistics(X, gene_sets, part_score, n_stats=2)
    up = parts[:, :, 0, 0] - shift
    down = 1.0 - parts[:, :, 1, 0] - shift
    n_parts = np.array([(len(gs.up) > 0) + (len(gs.down) > 0) for gs in gene_sets])
    dispersion = up_minus_down(parts[:, :, 0, 1], parts[:, :, 1, 1], w_down=-1.0)
    return {
        "score": up_minus_down(up, down, w_down=-1.0),
        "up": up,
        "down": down,
        "dispersion": dispersion / np.maximum(n_parts, 1),
    }


def r_mad(values: np.ndarray) -> np.ndarray:
    """R's ``mad`` of each row: ``1.4826 * median(|x - median(x)|)``.

    Examples
    --------
    >>> r_mad(np.array([[1.0, 2.0, 4.0, 8.0]])).round(4).tolist()
    [2.2239]
    """
    centre = np.median(values, axis=1, keepdims=True)
    return MAD_SCALE * np.median(np.abs(values - centre), axis=1)


METHOD = RECORDS["singscore"].bind(singscore)
