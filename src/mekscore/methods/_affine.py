"""Methods whose score is affine in ``X`` once per-gene moments are known.

z-score and scanpy's module score need statistics across all observations (gene
means and standard deviations), but given those they are ``X @ W + offset``. That
makes them streamable: one pass over row chunks accumulates :class:`GeneMoments`,
a second pass scores each chunk with the same ``W`` — on a backed ``.h5ad`` or a
Dask array, with memory bounded by the chunk.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse


@dataclass
class GeneMoments:
    """Running per-gene count, mean and sum of squared deviations (Chan et al. 1979).

    Examples
    --------
    >>> X = np.array([[1.0, 0.0], [3.0, 2.0], [2.0, 4.0]])
    >>> m = GeneMoments.empty(2)
    >>> m.update(X[:1]); m.update(X[1:])
    >>> m.mean.tolist(), m.sd.tolist()
    ([2.0, 2.0], [1.0, 2.0])
    """

    n: int
    mean: np.ndarray
    m2: np.ndarray

    @classmethod
    def empty(cls, n_genes: int) -> GeneMoments:
        """Moments of no observations."""
        return cls(0, np.zeros(n_genes), np.zeros(n_genes))

    @classmethod
    def of(cls, X: np.ndarray | sparse.csr_matrix) -> GeneMoments:
        """Moments of one block of rows; sparse blocks are not densified."""
        n, n_genes = X.shape
        if not sparse.issparse(X):
            mean = X.mean(axis=0, dtype=np.float64)
            return cls(n, mean, ((X - mean) ** 2).sum(axis=0, dtype=np.float64))
        X = X.tocsr()
        mean = np.bincount(X.indices, weights=X.data, minlength=n_genes) / n
        nnz = np.bincount(X.indices, minlength=n_genes)
        dev = np.bincount(X.indices, weights=(X.data - mean[X.indices]) ** 2, minlength=n_genes)
        return cls(n, mean, dev + (n - nnz) * mean**2)

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
        self.n = total

    @property
    def sd(self) -> np.ndarray:
        """Standard deviation with ddof 1."""
        return np.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else np.full_like(self.mean, np.nan)


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
