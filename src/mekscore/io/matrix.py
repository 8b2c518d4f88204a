"""Access an AnnData's expression matrix and walk it in row chunks."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from anndata import AnnData
from scipy import sparse

from ..errors import InputError

DEFAULT_CHUNK = 20_000


def get_matrix(adata: AnnData, layer: str | None = None):
    """The matrix to score: ``adata.X`` or ``adata.layers[layer]``.

    Examples
    --------
    >>> import anndata as ad
    >>> get_matrix(ad.AnnData(np.ones((2, 3)))).shape
    (2, 3)
    """
    if layer is None:
        if adata.X is None:
            raise InputError(
                "the data have no X matrix; name the layer to score with {layer!p} "
                "(layers: {known})",
                layer=layer,
                known=", ".join(adata.layers.keys()) or "none",
            )
        return adata.X
    if layer not in adata.layers:
        raise InputError(
            "{layer=} is not a layer of the data (layers: {known}); name one of them or leave "
            "{layer!p} out to use X",
            layer=layer,
            known=", ".join(adata.layers.keys()) or "none",
        )
    return adata.layers[layer]


def as_scorable(X):
    """A CSR matrix or a float ndarray; other sparse formats become CSR once."""
    if sparse.issparse(X):
        X = X if X.format == "csr" else X.tocsr()
        if not np.issubdtype(X.dtype, np.floating):
            X = X.astype(np.float64)
        return X
    X = np.asarray(X)
    if not np.issubdtype(X.dtype, np.floating):
        X = X.astype(np.float64)
    return X


def row_block(X, rows: slice):
    """Rows ``rows`` of ``X``; for an in-memory CSR matrix a view (no copy of the data).

    Examples
    --------
    >>> X = sparse.csr_matrix(np.eye(3))
    >>> row_block(X, slice(1, 3)).toarray().tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    if not (sparse.issparse(X) and X.format == "csr"):
        return X[rows]
    start, stop, _ = rows.indices(X.shape[0])
    lo, hi = X.indptr[start], X.indptr[stop]
    indptr = X.indptr[start : stop + 1] - lo
    return sparse.csr_matrix(
        (X.data[lo:hi], X.indices[lo:hi], indptr), shape=(stop - start, X.shape[1]), copy=False
    )


def row_chunks(n_obs: int, chunk_size: int | None) -> Iterator[slice]:
    """Consecutive row slices of at most ``chunk_size`` rows.

    Examples
    --------
    >>> list(row_chunks(5, 2))
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    """
    size = DEFAULT_CHUNK if chunk_size is None else int(chunk_size)
    if size < 1:
        raise InputError(f"chunk_size must be a positive number of rows, got {chunk_size}")
    for start in range(0, n_obs, size):
        yield slice(start, min(start + size, n_obs))
