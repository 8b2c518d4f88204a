"""scanpy's ``score_genes`` (Seurat's module score) for many signatures in one pass.

Reproduces ``sc.tl.score_genes(adata, genes, ctrl_size=..., n_bins=...,
random_state=..., use_raw=False)`` of scanpy 1.11.5 (``tools/_score_genes.py``):

1. each gene's mean over observations (float64 sums for sparse ``X``, the matrix's
   own dtype for dense ``X``, as scanpy does);
2. expression bins ``rank(mean, method="min") // round(n_genes / (n_bins - 1))``;
3. for every bin holding a signature gene (ascending), ``ctrl_size`` genes drawn
   without replacement from that bin (all of them if the bin is not larger) with
   the legacy global RNG seeded by ``random_state`` (pandas ``Series.sample``
   is ``np.random.choice(n, ctrl_size, replace=False)``); the signature's own
   genes are then removed from the draws;
4. ``score = mean(X[:, genes]) - mean(X[:, controls])``.

The RNG is reseeded for every signature, so each score equals a separate
``score_genes`` call. Duplicated genes count once (scanpy intersects the list with
``var_names``). The gene means are computed once and all scores come from a single
product ``X @ W`` (``W`` holds ``+1/|genes|`` and ``-1/|controls|``), so sparse ``X``
stays sparse.

scanpy has no down genes. Here a signature with down genes scores
``score(up) - score(down)``, each part with its own control genes drawn as a
separate ``score_genes`` call with the same ``random_state`` would. Gene weights
are ignored. When ``round(n_genes / (n_bins - 1))`` is 0 (fewer than about
``n_bins / 2`` genes) scanpy puts every gene in one bin; so does this kernel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.stats import rankdata

from .._geneset import GeneSet
from ..errors import InputError
from ._records import RECORDS
from .mean import project, weight_matrix

_DEFAULT = RECORDS["scanpy"].defaults


def scanpy_score(
    X: np.ndarray | sparse.csr_matrix,
    gene_sets: Sequence[GeneSet],
    *,
    ctrl_size: int = _DEFAULT["ctrl_size"],
    n_bins: int = _DEFAULT["n_bins"],
    random_state: int = _DEFAULT["random_state"],
) -> np.ndarray:
    """Seurat/scanpy module score of each gene set in each observation.

    Parameters
    ----------
    X
        Observations x genes (dense or CSR), log-normalised expression.
    gene_sets
        Signatures as column indices; weights are ignored.
    ctrl_size
        Control genes drawn from each expression bin that holds a signature gene.
    n_bins
        Number of expression bins.
    random_state
        Seed of the control-gene draws, reused for every signature (and part).

    Returns
    -------
    ``(n_obs, n_sets)`` float64 scores; NaN for a set with no genes.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.poisson(1.0, size=(5, 60)).astype(float)
    >>> s = scanpy_score(X, [GeneSet("s", up=np.array([0, 1, 2]))], ctrl_size=5, n_bins=5)
    >>> s.shape
    (5, 1)
    """
    W = scanpy_weights(gene_means(X), gene_sets, ctrl_size, n_bins, random_state)
    scores = project(X, W)
    scores[:, [gs.size == 0 for gs in gene_sets]] = np.nan
    return scores


def scanpy_weights(
    means: np.ndarray,
    gene_sets: Sequence[GeneSet],
    ctrl_size: int = _DEFAULT["ctrl_size"],
    n_bins: int = _DEFAULT["n_bins"],
    random_state: int = _DEFAULT["random_state"],
) -> sparse.csr_matrix:
    """Sparse ``(n_genes, n_sets)`` matrix ``W`` such that ``X @ W`` is the module score.

    Only the per-gene ``means`` are needed, so the score can be streamed: means in
    a first pass over the rows, ``X @ W`` in a second.

    Examples
    --------
    >>> W = scanpy_weights(np.arange(60.0), [GeneSet("s", up=np.array([0, 1, 2]))], 5, 5)
    >>> W.shape
    (60, 1)
    """
    given = {"ctrl_size": ctrl_size, "n_bins": n_bins, "random_state": random_state}
    p = RECORDS["scanpy"].params(given)
    ctrl_size, n_bins, random_state = p["ctrl_size"], p["n_bins"], p["random_state"]
    bins = ExpressionBins.from_means(means, n_bins)
    parts, signs, owners = [], [], []
    for s, gs in enumerate(gene_sets):
        for idx, sign in ((gs.up, 1.0), (gs.down, -1.0)):
            if len(idx):
                genes = np.unique(idx)
                controls = bins.controls(genes, ctrl_size, random_state)
                if len(controls) == 0:
                    raise InputError(
                        "signature {name!r}: no control genes left (its genes fill their "
                        "expression bins); use a smaller {n_bins=} or more genes in the data",
                        name=gs.name,
                        n_bins=n_bins,
                    )
                parts.append(GeneSet(gs.name, up=genes, down=controls))
                signs.append(sign)
                owners.append(s)
    combine = sparse.csr_matrix(
        (signs, (np.arange(len(parts)), owners)), shape=(len(parts), len(gene_sets))
    )
    return weight_matrix(parts, len(means)) @ combine


def _affine(moments, gene_sets: Sequence[GeneSet], params: dict):
    W = scanpy_weights(moments.mean, gene_sets, **params)
    offset = np.where([gs.size == 0 for gs in gene_sets], np.nan, 0.0)
    return W, offset


def gene_means(X: np.ndarray | sparse.csr_matrix) -> np.ndarray:
    """Per-gene mean over observations, computed as ``score_genes`` computes it.

    Examples
    --------
    >>> gene_means(sparse.csr_matrix(np.array([[1.0, 0.0], [3.0, 2.0]]))).tolist()
    [2.0, 1.0]
    """
    if sparse.issparse(X):
        return np.asarray(X.sum(axis=0, dtype=np.float64)).ravel() / X.shape[0]
    return np.asarray(X.mean(axis=0))


@dataclass(frozen=True)
class ExpressionBins:
    """Genes grouped by expression bin; each bin's genes in ascending column order."""

    code: np.ndarray  # bin of each gene (0 .. n_bins_used - 1)
    members: np.ndarray  # gene indices sorted by bin, then by column
    starts: np.ndarray  # bin b holds members[starts[b]:starts[b + 1]]

    @classmethod
    def from_means(cls, means: np.ndarray, n_bins: int) -> ExpressionBins:
        """Bin genes as ``score_genes`` does: ``rank(mean, "min") // n_items``.

        Examples
        --------
        >>> b = ExpressionBins.from_means(np.array([0.0, 5.0, 1.0, 0.0, 3.0]), n_bins=3)
        >>> b.code.tolist()
        [0, 2, 1, 0, 2]
        """
        n_items = int(np.round(len(means) / (n_bins - 1)))
        cut = rankdata(means, method="min") // n_items if n_items else np.zeros(len(means))
        _, code = np.unique(cut, return_inverse=True)
        members = np.argsort(code, kind="stable")
        starts = np.searchsorted(code[members], np.arange(code.max(initial=-1) + 2))
        return cls(code=code, members=members, starts=starts)

    def controls(self, genes: np.ndarray, ctrl_size: int, random_state: int) -> np.ndarray:
        """Control genes for ``genes`` (unique indices), drawn as ``score_genes`` draws them.

        Examples
        --------
        >>> b = ExpressionBins.from_means(np.arange(8.0), n_bins=3)
        >>> b.controls(np.array([0]), ctrl_size=10, random_state=0).tolist()
        [1, 2]
        """
        rng = np.random.RandomState(random_state)
        drawn = []
        for b in np.unique(self.code[genes]):
            pool = self.members[self.starts[b] : self.starts[b + 1]]
            if ctrl_size < len(pool):
                pool = pool[rng.choice(len(pool), size=ctrl_size, replace=False)]
            drawn.append(pool)
        return np.setdiff1d(np.concatenate(drawn), genes)


METHOD = RECORDS["scanpy"].bind(scanpy_score, affine=_affine)
