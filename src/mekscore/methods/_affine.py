"""Methods whose score is affine in ``X`` once per-gene moments are known.

z-score and scanpy's module score need statistics across all observations (gene
means and standard deviations), but given those they are ``X @ W + offset``. That
makes them streamable: one pass over row chunks accumulates :class:`GeneMoments`,
a second pass scores each chunk with the same ``W`` — on a backed ``.h5ad`` or a
Dask array, with memory bounded by the chunk. :class:`GeneMoments` is also the
one moments implementation that zscore, PLAGE and GSVA use on in-memory data, so
every path standardises and filters genes identically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from ._numba import njit

CONSTANT_SD = 1e-10  # GSVA 1.46 (.filterFeatures): genes with sd < 1e-10 count as constant
DENSE_BLOCK_VALUES = 2_000_000  # dense values converted to float64 at once


@dataclass
class GeneMoments:
    """Per-gene count, mean, sum of squared deviations and range, in float64.

    Blocks of rows are summarised with a two-pass float64 mean and sum of squared
    deviations (float32 data included) and merged with Chan et al.'s (1979) update,
    so in-memory, backed and Dask data get the same moments. Sparse blocks are not
    densified; dense blocks are converted to float64 a bounded slice at a time.

    Examples
    --------
    >>> X = np.array([[1.0, 0.0, 5.0], [3.0, 2.0, 5.0], [2.0, 4.0, 5.0]])
    >>> m = GeneMoments.empty(3)
    >>> m.update(X[:1]); m.update(X[1:])
    >>> m.mean.tolist(), m.sd.tolist(), m.varying.tolist()
    ([2.0, 2.0, 5.0], [1.0, 2.0, 0.0], [True, True, False])
    """

    n: int
    mean: np.ndarray
    m2: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def empty(cls, n_genes: int) -> GeneMoments:
        """Moments of no observations."""
        inf = np.full(n_genes, np.inf)
        return cls(0, np.zeros(n_genes), np.zeros(n_genes), inf, -inf)

    @classmethod
    def of(cls, X: np.ndarray | sparse.csr_matrix) -> GeneMoments:
        """Moments of a matrix's rows; dense rows are taken a bounded block at a time."""
        if sparse.issparse(X):
            return cls._of_sparse(X.tocsr())
        step = max(1, DENSE_BLOCK_VALUES // max(1, X.shape[1]))
        moments = cls.empty(X.shape[1])
        for start in range(0, X.shape[0], step):
            moments.merge(cls._of_dense(np.asarray(X[start : start + step], dtype=np.float64)))
        return moments

    @classmethod
    def _of_dense(cls, X: np.ndarray) -> GeneMoments:
        mean = X.mean(axis=0)
        return cls(len(X), mean, ((X - mean) ** 2).sum(axis=0), X.min(axis=0), X.max(axis=0))

    @classmethod
    def _of_sparse(cls, X: sparse.csr_matrix) -> GeneMoments:
        n, n_genes = X.shape
        data = X.data.astype(np.float64, copy=False)
        mean = np.bincount(X.indices, weights=data, minlength=n_genes) / n
        nnz = np.bincount(X.indices, minlength=n_genes)
        dev = np.bincount(X.indices, weights=(data - mean[X.indices]) ** 2, minlength=n_genes)
        lo, hi = _stored_range(X.indices, data, n_genes)
        has_zero = nnz < n
        lo[has_zero] = np.minimum(lo[has_zero], 0.0)
        hi[has_zero] = np.maximum(hi[has_zero], 0.0)
        return cls(n, mean, dev + (n - nnz) * mean**2, lo, hi)

    def update(self, X: np.ndarray | sparse.csr_matrix) -> None:
        """Add a block of rows."""
        self.merge(GeneMoments.of(X))

    def merge(self, other: GeneMoments) -> None:
        """Add the moments of other observations."""
        if other.n == 0:
            return
        total = self.n + other.n
        delta = other.mean - self.mean
        self.mean = self.mean + delta * (other.n / total)
        self.m2 = self.m2 + other.m2 + delta**2 * (self.n * other.n / total)
        self.lo = np.minimum(self.lo, other.lo)
        self.hi = np.maximum(self.hi, other.hi)
        self.n = total

    @property
    def sd(self) -> np.ndarray:
        """Standard deviation with ddof 1."""
        return np.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else np.full_like(self.mean, np.nan)

    @property
    def varying(self) -> np.ndarray:
        """Genes that are not constant: ``max > min`` and ``sd >= 1e-10`` (GSVA's filter).

        ``max > min`` is exact in any dtype, so rounding can never make a constant
        gene look varying; the sd threshold is GSVA 1.46's.
        """
        return (self.hi > self.lo) & (self.sd >= CONSTANT_SD)


@njit()
def _stored_range(indices, data, n_genes):  # pragma: no cover - compiled
    """Per-column min and max of a CSR matrix's stored values (+-inf where none)."""
    lo = np.full(n_genes, np.inf)
    hi = np.full(n_genes, -np.inf)
    for k in range(len(indices)):
        g = indices[k]
        lo[g] = min(lo[g], data[k])
        hi[g] = max(hi[g], data[k])
    return lo, hi


def affine_scores(
    X: np.ndarray | sparse.csr_matrix, W: sparse.csr_matrix, offset: np.ndarray
) -> np.ndarray:
    """``X @ W + offset`` as dense float64 ``(n_obs, n_sets)``; sparse ``X`` stays sparse.

    Examples
    --------
    >>> W = sparse.csr_matrix(np.array([[1.0], [1.0]]))
    >>> affine_scores(np.array([[1.0, 2.0]]), W, np.array([-3.0])).tolist()
    [[0.0]]
    """
    out = X @ W
    out = out.toarray() if sparse.issparse(out) else np.asarray(out)
    return out.astype(np.float64, copy=False) + offset
