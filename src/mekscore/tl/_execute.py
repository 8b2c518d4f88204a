"""Run a scoring kernel over a matrix held in memory, on disk (backed) or in Dask."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse

from ..io.checks import InputError, check_finite
from ..io.matrix import as_scorable, row_chunks
from ..methods import GeneSet, Method


def is_dask(X) -> bool:
    """Whether ``X`` is a Dask array (without importing dask when it is not)."""
    return type(X).__module__.startswith("dask")


def in_memory(X) -> bool:
    """Whether ``X`` is a numpy array or scipy sparse matrix (not backed, not Dask)."""
    return isinstance(X, np.ndarray) or sparse.issparse(X)


def run_method(
    meth: Method,
    X,
    gene_sets: Sequence[GeneSet],
    params: dict,
    *,
    chunk_size: int | None = None,
    progress: bool = False,
) -> dict[str, np.ndarray]:
    """Score ``X`` with ``meth``; returns ``{"score": (n_obs, n_sets), ...extras}``.

    Row-wise methods walk row chunks, so a backed ``.h5ad`` matrix is streamed
    from disk and never loaded whole; a Dask array is scored with ``map_blocks``
    on the active scheduler. Other methods need the matrix in memory.
    """
    if is_dask(X):
        out = _run_dask(meth, X, gene_sets, params)
    elif not meth.row_wise:
        if not in_memory(X):
            raise InputError(
                f"method {meth.name!r} needs statistics across all observations and the data "
                "are on disk; load them (adata.to_memory()) or use a row-wise method such as "
                "ucell, aucell, singscore, ssgsea or mean"
            )
        out = _as_dict(meth.func(X, gene_sets, **params))
    else:
        out = _run_chunks(meth, X, gene_sets, params, chunk_size, progress)
    if meth.finalize is not None:
        out["score"] = meth.finalize(out["score"], params)
    return out


def _run_chunks(meth, X, gene_sets, params, chunk_size, progress) -> dict[str, np.ndarray]:
    streamed = not in_memory(X)
    parts = []
    for rows in _track(list(row_chunks(X.shape[0], chunk_size)), progress):
        block = as_scorable(X[rows])
        if streamed:
            check_finite(block)
        parts.append(_as_dict(meth.func(block, gene_sets, **params)))
    return {key: np.vstack([p[key] for p in parts]) for key in parts[0]}


def _run_dask(meth, X, gene_sets, params) -> dict[str, np.ndarray]:
    if not meth.row_wise:
        raise InputError(
            f"method {meth.name!r} needs statistics across all observations; Dask input "
            "supports the row-wise methods ucell, aucell, singscore, ssgsea and mean"
        )
    X = X.rechunk({1: -1})
    probe = _as_dict(meth.func(as_scorable(X[:1].compute()), gene_sets, **params))
    keys = list(probe)
    n_sets = len(gene_sets)

    def block_scores(block):
        block = as_scorable(block)
        check_finite(block)
        out = _as_dict(meth.func(block, gene_sets, **params))
        return np.hstack([out[k] for k in keys])

    stacked = X.map_blocks(
        block_scores,
        dtype=np.float64,
        chunks=(X.chunks[0], (n_sets * len(keys),)),
        meta=np.empty((0, 0), dtype=np.float64),
    ).compute()
    return {k: stacked[:, i * n_sets : (i + 1) * n_sets] for i, k in enumerate(keys)}


def _track(chunks: list[slice], progress: bool):
    if not progress or len(chunks) < 2:
        return chunks
    from rich.progress import track

    return track(chunks, description="scoring", transient=True)


def _as_dict(result) -> dict[str, np.ndarray]:
    if isinstance(result, dict):
        return {k: np.asarray(v, dtype=np.float64) for k, v in result.items()}
    return {"score": np.asarray(result, dtype=np.float64)}
