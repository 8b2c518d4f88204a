"""Run a scoring kernel over a matrix held in memory, on disk (backed) or in Dask."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

import numpy as np
from scipy import sparse

from ..errors import InputError
from ..io.checks import check_finite
from ..io.matrix import as_scorable, row_block, row_chunks
from ..methods import STREAMABLE, GeneSet, Method
from ..methods._affine import GeneMoments, affine_scores
from ..methods._numba import limit_threads


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
    transform: Callable | None = None,
) -> dict[str, np.ndarray]:
    """Score ``X`` with ``meth``; returns ``{"score": (n_obs, n_sets), ...extras}``.

    Row-wise methods walk row chunks, so a backed ``.h5ad`` matrix is streamed
    from disk and never loaded whole; a Dask array is scored with ``map_blocks``
    on the active scheduler. Methods with an ``affine`` form (z-score, scanpy) take
    two passes: gene moments first, then the chunks. Others need the data in memory.
    ``transform`` (a row-wise function such as :func:`mekscore.pp.log_normalize`) is
    applied to every row block before it is used, so streamed, Dask and in-memory
    data give the same numbers.
    """
    transform = transform or _identity
    if in_memory(X) and not meth.row_wise:
        out = _as_dict(meth.func(transform(X), gene_sets, **params))
    elif meth.row_wise or meth.affine is not None:
        if meth.row_wise:
            block_func = _row_wise_block(meth, gene_sets, params)
        else:
            moments = (
                _moments_dask(X, transform) if is_dask(X) else _moments(X, chunk_size, transform)
            )
            block_func = _affine_block(meth.affine(moments, gene_sets, params))
        if is_dask(X):
            out = _run_dask(block_func, X, transform)
        else:
            out = _run_chunks(block_func, X, chunk_size, progress, transform)
    else:
        raise InputError(
            "{method=} needs all observations in memory; load the data (adata.to_memory(), "
            "or .compute() a Dask array) or use a method that streams: {streamable}",
            method=meth.name,
            streamable=", ".join(STREAMABLE),
        )
    if meth.finalize is not None:
        out["score"] = meth.finalize(out["score"], params)
    return out


def _row_wise_block(meth: Method, gene_sets, params):
    def block_func(block) -> dict[str, np.ndarray]:
        return _as_dict(meth.func(block, gene_sets, **params))

    return block_func


def _affine_block(weights):
    W, offset = weights

    def block_func(block) -> dict[str, np.ndarray]:
        return {"score": affine_scores(block, W, offset)}

    return block_func


def _identity(X):
    return X


def _checked(block, transform: Callable):
    """A row block as CSR or float ndarray, refused if not finite, then transformed."""
    block = as_scorable(block)
    check_finite(block)
    return transform(block)


def _moments(X, chunk_size: int | None, transform: Callable) -> GeneMoments:
    moments = GeneMoments.empty(X.shape[1])
    for rows in row_chunks(X.shape[0], chunk_size):
        moments.update(_checked(X[rows], transform))
    return moments


def _moments_dask(X, transform: Callable) -> GeneMoments:
    import dask

    blocks = X.rechunk({1: -1}).to_delayed().ravel()
    parts = dask.compute(*[dask.delayed(_block_moments)(b, transform) for b in blocks])
    moments = GeneMoments.empty(X.shape[1])
    for part in parts:
        moments.merge(part)
    return moments


def _block_moments(block, transform: Callable) -> GeneMoments:
    return GeneMoments.of(_checked(block, transform))


def _run_chunks(block_func, X, chunk_size, progress, transform) -> dict[str, np.ndarray]:
    streamed = not in_memory(X)
    parts = []
    for rows in _track(list(row_chunks(X.shape[0], chunk_size)), progress=progress):
        block = as_scorable(row_block(X, rows))
        if streamed:
            check_finite(block)
        parts.append(block_func(transform(block)))
    return {key: np.vstack([p[key] for p in parts]) for key in parts[0]}


def _run_dask(block_func, X, transform) -> dict[str, np.ndarray]:
    X = X.rechunk({1: -1})
    probe = block_func(_checked(X[:1].compute(), transform))
    keys = list(probe)

    def stacked_block(block):
        _share_worker_threads()
        out = block_func(_checked(block, transform))
        return np.hstack([out[k] for k in keys])

    n_sets = probe[keys[0]].shape[1]
    stacked = X.map_blocks(
        stacked_block,
        dtype=np.float64,
        chunks=(X.chunks[0], (n_sets * len(keys),)),
        meta=np.empty((0, 0), dtype=np.float64),
    ).compute()
    return {k: stacked[:, i * n_sets : (i + 1) * n_sets] for i, k in enumerate(keys)}


def _share_worker_threads() -> None:
    """In a Dask worker, run numba kernels on at most the worker's threads, not every core."""
    distributed = sys.modules.get("distributed")  # never imported here if the user has not
    if distributed is None:
        return
    try:
        worker = distributed.get_worker()
    except ValueError:  # not inside a worker (local scheduler)
        return
    limit_threads(worker.state.nthreads)


def _track(chunks: list[slice], *, progress: bool):
    from ..io.backed import track

    return track(chunks, progress=progress, description="scoring")


def _as_dict(result) -> dict[str, np.ndarray]:
    if isinstance(result, dict):
        return {k: np.asarray(v, dtype=np.float64) for k, v in result.items()}
    return {"score": np.asarray(result, dtype=np.float64)}
