"""``mk.pp.log_normalize``: the one counts -> log normalisation, checked against scanpy."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from scipy import sparse

import mekscore as mk
from mekscore.io import InputError
from mekscore.io.backed import open_backed
from mekscore.io.matrix import row_block, row_chunks
from mekscore.pp import LOG_CP10K, log_normalize
from mekscore.pp._pseudobulk import group_sums

from .conftest import reference_path


@pytest.fixture(scope="module")
def counts() -> sparse.csr_matrix:
    """Real 10x counts: 200 T cells x 30,727 genes (float32 CSR)."""
    return ad.read_h5ad(reference_path("wu2020_tcells_200cells_scirpy.h5ad")).X


def _scanpy(X, target_sum=1e4):
    adata = ad.AnnData(X.copy())
    sc.pp.normalize_total(adata, target_sum=target_sum)
    sc.pp.log1p(adata)
    return adata.X


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fmt", ["csr", "dense"])
def test_equals_scanpy_normalize_total_and_log1p(counts, dtype, fmt):
    X = counts.astype(dtype)
    X = X if fmt == "csr" else X.toarray()
    got = log_normalize(X)
    expected = _scanpy(X)
    assert got.dtype == np.float64
    assert sparse.issparse(got) == (fmt == "csr")
    as_dense = got.toarray() if fmt == "csr" else got
    expected = expected.toarray() if sparse.issparse(expected) else expected
    rtol = 1e-12 if dtype == np.float64 else 1e-6  # scanpy keeps float32 in float32
    np.testing.assert_allclose(as_dense, expected, rtol=rtol, atol=0)


def test_sparse_stays_sparse_and_input_is_untouched(counts):
    before = counts.copy()
    got = log_normalize(counts.tocsc())
    assert got.format == "csr" and got.nnz == counts.nnz
    assert (counts != before).nnz == 0
    got.data[:] = 0.0  # the output owns its arrays
    assert (counts != before).nnz == 0


def test_row_chunks_give_the_whole_result_exactly(counts):
    whole = log_normalize(counts)
    parts = [log_normalize(row_block(counts, rows)) for rows in row_chunks(counts.shape[0], 37)]
    assert (sparse.vstack(parts).tocsr() != whole).nnz == 0
    dense = counts.toarray()
    chunks = [log_normalize(dense[rows]) for rows in row_chunks(dense.shape[0], 37)]
    np.testing.assert_array_equal(np.vstack(chunks), log_normalize(dense))


def test_empty_rows_stay_zero_and_pseudobulk_cpm():
    sums = np.array([[10, 30, 60], [0, 0, 0], [1, 0, 3]])  # samples x genes, integers
    got = log_normalize(sums, target_sum=1e6)
    expected = np.log1p(sums / np.maximum(sums.sum(1, keepdims=True), 1) * 1e6)
    np.testing.assert_allclose(got, expected, rtol=1e-15)
    assert got[1].tolist() == [0.0, 0.0, 0.0]
    assert not np.isnan(log_normalize(sparse.csr_matrix(sums)).toarray()).any()


def test_anndata_is_normalised_in_place_like_scanpy(counts):
    adata = ad.AnnData(counts.astype(np.float64), layers={"counts": counts.copy()})
    assert mk.pp.log_normalize(adata, layer="counts") is None
    np.testing.assert_allclose(
        adata.layers["counts"].toarray(), _scanpy(counts).toarray(), rtol=1e-6
    )
    mk.pp.log_normalize(adata)
    assert (adata.X != log_normalize(counts)).nnz == 0
    assert adata.uns["log1p"] == {"base": None}
    assert LOG_CP10K == "log1p(CP10k)"


@pytest.mark.parametrize(
    ("X", "target_sum", "message"),
    [
        (np.array([[1.0, -0.5]]), 1e4, "negative values"),
        (np.array([[1.0, 2.0]]), 0, "target_sum must be positive"),
    ],
)
def test_bad_input_is_refused(X, target_sum, message):
    with pytest.raises(InputError, match=message):
        log_normalize(X, target_sum=target_sum)


# --- mk.pp.pseudobulk ---------------------------------------------------------------


def _cells_with_groups(counts):
    rng = np.random.default_rng(3)
    obs = pd.DataFrame(
        {
            "sample": rng.choice(["s2", "s1", "s3"], counts.shape[0]),
            "cell_type": rng.choice(["T", "B"], counts.shape[0]),
        },
        index=[f"c{i}" for i in range(counts.shape[0])],
    )
    obs.loc["c0", "sample"] = None  # cells without a sample are left out
    return ad.AnnData(counts, obs=obs)


@pytest.mark.parametrize("groupby", [None, "cell_type"])
def test_pseudobulk_equals_a_dense_groupby_sum(counts, groupby):
    adata = _cells_with_groups(counts)
    keys = ["sample"] if groupby is None else ["sample", groupby]
    dense = pd.DataFrame(counts.toarray(), index=adata.obs.index)
    expected = dense.groupby([adata.obs[k] for k in keys]).sum()
    bulk = mk.pp.pseudobulk(adata, "sample", groupby)
    assert sparse.issparse(bulk.X) and bulk.X.dtype == np.float64
    np.testing.assert_array_equal(bulk.X.toarray(), expected.to_numpy())
    assert bulk.obs[keys].apply(tuple, axis=1).tolist() == [
        k if isinstance(k, tuple) else (k,) for k in expected.index
    ]
    sizes = adata.obs.groupby(keys).size()
    assert bulk.obs["n_cells"].tolist() == sizes.tolist()
    assert bulk.var_names.equals(adata.var_names)


def test_pseudobulk_min_cells_layer_and_backed_file(counts, tmp_path):
    adata = _cells_with_groups(counts)
    adata.layers["counts"] = counts
    adata.X = None
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    whole = mk.pp.pseudobulk(adata, "sample", "cell_type", layer="counts")
    min_cells = int(np.median(whole.obs["n_cells"])) + 1
    kept = mk.pp.pseudobulk(adata, "sample", "cell_type", layer="counts", min_cells=min_cells)
    assert (kept.obs["n_cells"] >= min_cells).all() and 0 < kept.n_obs < whole.n_obs
    backed = open_backed(path)
    streamed = mk.pp.pseudobulk(backed, "sample", "cell_type", layer="counts", chunk_size=37)
    assert (streamed.X != whole.X).nnz == 0
    pd.testing.assert_frame_equal(streamed.obs, whole.obs)


def test_pseudobulk_refuses_unknown_columns(counts):
    with pytest.raises(InputError, match="'donor' not in adata.obs"):
        mk.pp.pseudobulk(_cells_with_groups(counts), "donor")


@pytest.mark.parametrize("storage", ["dense", "sparse", "dask"])
def test_negative_counts_are_summed_with_a_warning(storage):
    X = np.array([[1.0, -2.0], [3.0, 4.0], [0.0, -1.0]])
    if storage == "sparse":
        X = sparse.csr_matrix(X)
    elif storage == "dask":
        X = pytest.importorskip("dask.array").from_array(X, chunks=(2, 2))
    with pytest.warns(UserWarning, match="hold 2 negative values, which counts never have"):
        sums = group_sums(X, np.array([0, 0, 1]), 2)
    sums = sums.toarray() if sparse.issparse(sums) else sums
    assert sums.tolist() == [[4.0, 2.0], [0.0, -1.0]]
