"""Counts to log expression: the one normalisation mekscore applies."""

from __future__ import annotations

import numpy as np
from anndata import AnnData
from scipy import sparse

from ..errors import InputError
from ..io.checks import has_negative
from ..io.matrix import as_scorable, get_matrix

#: How :func:`log_normalize` with its default ``target_sum`` is named in provenance.
LOG_CP10K = "log1p(CP10k)"


def log_normalize(
    data, target_sum: float = 1e4, *, layer: str | None = None, counts_layer: str | None = None
) -> np.ndarray | sparse.csr_matrix | None:
    """Scale each row to ``target_sum`` counts, then take the natural ``log1p``.

    The same numbers as ``sc.pp.normalize_total(target_sum=...)`` followed by
    ``sc.pp.log1p``. Rows are independent, so normalising row chunks one at a time
    gives exactly the result of normalising the whole matrix. Rows whose total is 0
    stay 0. Sparse input gives a new CSR matrix (never densified); the output is
    float64.

    Parameters
    ----------
    data
        Observations x genes counts: a numpy array, a scipy sparse matrix (cells, or a
        small samples x genes pseudobulk), or an AnnData.
    target_sum
        Counts each row is scaled to (``1e4``: "CP10k"; ``1e6``: CPM).
    layer
        For an AnnData: normalise ``adata.layers[layer]`` instead of ``adata.X``.
    counts_layer
        For an AnnData: first keep a copy of the counts in ``adata.layers[counts_layer]``
        (e.g. ``"counts"``, where pseudobulk looks for them).

    Returns
    -------
    The normalised matrix for a matrix input. For an AnnData, ``None``: the matrix
    (``X`` or ``layer``) is replaced in place and ``adata.uns["log1p"]`` is set, as
    scanpy does.

    Examples
    --------
    >>> import numpy as np, anndata as ad
    >>> log_normalize(np.array([[1.0, 3.0], [0.0, 0.0]]), target_sum=4).round(4).tolist()
    [[0.6931, 1.3863], [0.0, 0.0]]
    >>> adata = ad.AnnData(np.array([[1.0, 3.0]]))
    >>> log_normalize(adata, target_sum=4, counts_layer="counts")
    >>> adata.layers["counts"].tolist(), adata.X.round(4).tolist()
    ([[1.0, 3.0]], [[0.6931, 1.3863]])
    """
    if isinstance(data, AnnData):
        counts = get_matrix(data, layer)
        normalised = log_normalize(counts, target_sum)
        if counts_layer is not None:
            data.layers[counts_layer] = counts.copy()
        if layer is None:
            data.X = normalised
        else:
            data.layers[layer] = normalised
        data.uns["log1p"] = {"base": None}
        return None
    if not target_sum > 0:
        raise InputError(f"target_sum must be positive, got {target_sum}")
    X = as_scorable(data)
    if has_negative(X):
        raise InputError(
            "cannot log-normalise a matrix with negative values (scaled or already "
            "log-transformed data?); normalise raw counts instead"
        )
    factors = _row_factors(X, target_sum)
    if sparse.issparse(X):
        values = X.data.astype(np.float64) / np.repeat(factors, np.diff(X.indptr))
        return sparse.csr_matrix(
            (np.log1p(values, out=values), X.indices.copy(), X.indptr.copy()), shape=X.shape
        )
    values = X.astype(np.float64) / factors[:, None]
    return np.log1p(values, out=values)


def _row_factors(X, target_sum: float) -> np.ndarray:
    """Each row's total divided by ``target_sum``; 1 for empty rows (which stay 0)."""
    totals = np.asarray(X.sum(axis=1, dtype=np.float64)).ravel()
    factors = totals / target_sum
    factors[totals == 0] = 1.0
    return factors
