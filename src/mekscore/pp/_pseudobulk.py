"""Summed counts per sample (x group), from in-memory, backed or Dask matrices.

The sums are accumulated one row chunk at a time (backed ``.h5ad``) or as per-block
partial sums combined in a Dask reduction, so the cells x genes matrix is never
held in memory: only groups x genes sums are.
"""

from __future__ import annotations

import operator

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ..errors import InputError, warn
from ..io.backed import track
from ..io.checks import values_of
from ..io.matrix import as_scorable, get_matrix, row_block, row_chunks

#: Rows per chunk when summing a backed matrix.
SUM_CHUNK = 20_000


def pseudobulk(
    adata: AnnData,
    sample_key: str,
    groupby: str | None = None,
    *,
    layer: str | None = None,
    min_cells: int = 1,
    chunk_size: int | None = None,
    progress: bool = False,
) -> AnnData:
    """Sum the counts of each sample's cells (per sample x ``groupby`` label).

    In the spirit of decoupler's ``get_pseudobulk`` and ``sc.get.aggregate``. Works on
    an in-memory matrix, a backed ``.h5ad`` (read in row chunks, never whole) and a
    Dask array (per-block sums combined on the active scheduler; only the sums travel
    between workers). Cells whose sample or group is missing are left out.

    Parameters
    ----------
    adata
        Cells x genes with raw counts in ``X`` or ``layer``.
    sample_key
        ``obs`` column naming each cell's sample.
    groupby
        Optional ``obs`` column (e.g. cell type): one profile per sample x label.
    layer
        Sum ``adata.layers[layer]`` instead of ``X``.
    min_cells
        Profiles of fewer cells are left out.
    chunk_size
        Rows read at a time from a backed matrix.
    progress
        Show a progress bar over the row chunks on stderr (backed matrices).

    Returns
    -------
    Profiles x genes AnnData of summed counts (float64; CSR when the input is
    sparse), sorted by sample then label, named ``sample`` or ``sample_label``;
    ``obs`` has the ``sample_key`` column, the ``groupby`` column (if given) and
    ``n_cells``.

    Examples
    --------
    >>> import anndata as ad, numpy as np, pandas as pd
    >>> cells = ad.AnnData(
    ...     np.array([[1.0, 0.0], [2.0, 1.0], [0.0, 4.0]]),
    ...     obs=pd.DataFrame({"sample": ["b", "a", "b"]}, index=["c1", "c2", "c3"]))
    >>> bulk = pseudobulk(cells, "sample")
    >>> bulk.obs_names.tolist(), bulk.X.tolist(), bulk.obs["n_cells"].tolist()
    (['a', 'b'], [[2.0, 1.0], [1.0, 4.0]], [1, 2])
    """
    if min_cells < 1:
        raise InputError(f"min_cells={min_cells} must be at least 1")
    keys = [sample_key] if groupby is None else [sample_key, groupby]
    missing = [k for k in keys if k not in adata.obs.columns]
    if missing:
        raise InputError(
            f"column(s) {', '.join(map(repr, missing))} not in adata.obs "
            f"(columns: {', '.join(map(str, adata.obs.columns)) or 'none'}); pass obs columns"
        )
    codes, groups = group_codes([adata.obs[k] for k in keys], keys)
    X = get_matrix(adata, layer)
    sums = group_sums(X, codes, len(groups), chunk_size=chunk_size, progress=progress)
    groups["n_cells"] = np.bincount(codes[codes >= 0], minlength=len(groups))
    keep = (groups["n_cells"] >= min_cells).to_numpy()
    groups = groups[keep]
    groups.index = pd.Index(
        ["_".join(map(str, row)) for row in groups[keys].itertuples(index=False)]
    )
    return AnnData(sums[np.flatnonzero(keep)], obs=groups, var=adata.var.copy())


def group_codes(columns: list[pd.Series], names: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Each cell's group number (``-1`` if a label is missing) and the sorted groups.

    Examples
    --------
    >>> codes, groups = group_codes([pd.Series(["b", "a", None, "b"])], ["sample"])
    >>> codes.tolist(), groups["sample"].tolist()
    ([1, 0, -1, 1], ['a', 'b'])
    """
    pairs = zip(names, columns, strict=True)
    frame = pd.DataFrame({n: np.asarray(c, dtype=object) for n, c in pairs})
    present = frame.notna().all(axis=1).to_numpy()
    codes = np.full(len(frame), -1, dtype=np.int64)
    if not present.any():
        return codes, pd.DataFrame(columns=names)
    index = pd.MultiIndex.from_frame(frame[present].astype(str))
    found, groups = pd.factorize(index, sort=True)
    codes[present] = found
    groups = groups.to_frame(index=False)
    groups.columns = names
    return codes, groups


def group_sums(
    X, codes: np.ndarray, n_groups: int, *, chunk_size: int | None = None, progress: bool = False
):
    """Rows of ``X`` summed per group: row ``i`` goes to group ``codes[i]`` (``-1``: none).

    Returns groups x genes float64 sums: CSR for sparse input (in memory, backed or
    Dask), else an ndarray. In-memory matrices take one sparse product; backed
    matrices are read ``chunk_size`` rows at a time; Dask arrays are reduced on the
    active scheduler from per-block sums. Counts are never negative: negative values
    (scaled or log data given as counts) are summed as given, with a warning.

    Examples
    --------
    >>> X = sparse.csr_matrix(np.array([[1.0, 0.0], [2.0, 1.0], [0.0, 4.0]]))
    >>> group_sums(X, np.array([1, -1, 1]), 2).toarray().tolist()
    [[0.0, 0.0], [1.0, 4.0]]
    """
    codes = np.asarray(codes, dtype=np.int64)
    if len(codes) != X.shape[0]:
        raise InputError(f"{len(codes)} group codes for {X.shape[0]} rows; give one per row")
    if type(X).__module__.startswith("dask"):
        total, negative = _dask_sums(X, codes, n_groups)
    elif isinstance(X, np.ndarray) or sparse.issparse(X):
        total, negative = _block_sums(X, codes, n_groups)
    else:
        total, negative = _chunk_sums(X, codes, n_groups, chunk_size, progress=progress)
    if negative:
        warn(
            "the counts summed per sample hold {negative:,} negative values, which counts "
            "never have (scaled or log data?); they were summed as given: sum the raw "
            "counts instead",
            stacklevel=2,
            negative=negative,
        )
    return total


def _chunk_sums(X, codes: np.ndarray, n_groups: int, chunk_size, *, progress: bool):
    """A backed matrix summed ``chunk_size`` rows at a time."""
    total, negative = None, 0
    size = SUM_CHUNK if chunk_size is None else chunk_size
    chunks = list(row_chunks(X.shape[0], size))
    for rows in track(chunks, progress=progress, description="summing counts"):
        part, below = _block_sums(row_block(X, rows), codes[rows], n_groups)
        total, negative = (part if total is None else total + part), negative + below
    return (_empty_sums(X, n_groups) if total is None else total), negative  # no rows


def _block_sums(block, codes: np.ndarray, n_groups: int) -> tuple[object, int]:
    """One block's per-group sums (a group indicator times the block), and its negatives."""
    block = as_scorable(block)
    rows = np.flatnonzero(codes >= 0)
    indicator = sparse.csr_matrix(
        (np.ones(len(rows)), (codes[rows], rows)), shape=(n_groups, block.shape[0])
    )
    sums = indicator @ block
    negative = int(np.count_nonzero(values_of(block) < 0))
    return (sums.tocsr() if sparse.issparse(sums) else np.asarray(sums, dtype=np.float64)), negative


def _add_parts(a: tuple[object, int], b: tuple[object, int]) -> tuple[object, int]:
    return operator.add(a[0], b[0]), a[1] + b[1]


def _dask_sums(X, codes: np.ndarray, n_groups: int) -> tuple[object, int]:
    """Per-block sums computed where the blocks live, added pairwise in a tree."""
    import dask

    X = X.rechunk({1: -1})
    bounds = np.cumsum((0, *X.chunks[0]))
    parts = [
        dask.delayed(_block_sums)(block, codes[lo:hi], n_groups)
        for block, lo, hi in zip(X.to_delayed().ravel(), bounds[:-1], bounds[1:], strict=True)
    ]
    while len(parts) > 1:
        odd = parts[-1:] if len(parts) % 2 else []
        pairs = zip(parts[0:-1:2], parts[1::2], strict=True)
        parts = [dask.delayed(_add_parts)(a, b) for a, b in pairs] + odd
    total, negative = dask.compute(parts[0])[0]
    return _as_sums(total), negative


def _as_sums(total):
    return total.tocsr() if sparse.issparse(total) else np.asarray(total, dtype=np.float64)


def _empty_sums(X, n_groups: int):
    shape = (n_groups, X.shape[1])
    dense = hasattr(X, "dtype") and not hasattr(X, "format")  # h5py dataset or ndarray
    return np.zeros(shape) if dense else sparse.csr_matrix(shape, dtype=np.float64)
