"""Atlas scale: backed .h5ad streaming and Dask arrays give the in-memory scores."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import mekscore as mk
from mekscore.io import InputError

from .conftest import dask_adata, two_worker_cluster

STREAMABLE = ["mean", "ucell", "aucell", "singscore", "ssgsea", "zscore", "scanpy"]


@pytest.fixture(scope="module")
def h5ad_file(tmp_path_factory):
    rng = np.random.default_rng(7)
    n_obs, n_vars = 3000, 400
    X = sparse.random(n_obs, n_vars, density=0.1, format="csr", random_state=rng)
    X.data = np.log1p(rng.gamma(2.0, 3.0, size=X.nnz)).astype(np.float32)
    var = pd.DataFrame(index=[f"G{i}" for i in range(n_vars)])
    path = tmp_path_factory.mktemp("scale") / "cells.h5ad"
    ad.AnnData(X.astype(np.float32), var=var).write_h5ad(path)
    return path


SIGS = {
    "a": [f"G{i}" for i in range(0, 40, 3)],
    "b": {"up": [f"G{i}" for i in range(100, 130)], "down": [f"G{i}" for i in range(200, 210)]},
}


def _in_memory(path, method):
    return mk.tl.score(ad.read_h5ad(path), SIGS, method=method, inplace=False)


@pytest.mark.parametrize("method", STREAMABLE)
def test_backed_equals_in_memory(h5ad_file, method):
    backed = ad.read_h5ad(h5ad_file, backed="r")
    streamed = mk.tl.score(backed, SIGS, method=method, inplace=False, chunk_size=700)
    backed.file.close()
    pd.testing.assert_frame_equal(streamed, _in_memory(h5ad_file, method), atol=1e-9, rtol=0)


def test_backed_refuses_methods_that_need_all_rows(h5ad_file):
    backed = ad.read_h5ad(h5ad_file, backed="r")
    with pytest.raises(InputError, match="adata.to_memory"):
        mk.tl.score(backed, SIGS, method="plage", inplace=False)
    backed.file.close()


@pytest.mark.parametrize("method", ["mean", "ucell", "singscore", "zscore", "scanpy"])
def test_dask_equals_in_memory(h5ad_file, method):
    lazy = dask_adata(h5ad_file, 800)
    res = mk.tl.score(lazy, SIGS, method=method, inplace=False)
    pd.testing.assert_frame_equal(res, _in_memory(h5ad_file, method), atol=1e-9, rtol=0)


def test_dask_on_a_local_cluster_with_two_workers(h5ad_file):
    with two_worker_cluster():
        lazy = dask_adata(h5ad_file, 500)
        res = mk.tl.score(lazy, SIGS, method="ucell", inplace=False)
    pd.testing.assert_frame_equal(res, _in_memory(h5ad_file, "ucell"), atol=1e-9, rtol=0)


@pytest.fixture(scope="module")
def dense_float32_file(tmp_path_factory):
    """3000 cells x 400 genes, dense float32, with G3 (in signature "a") constant."""
    rng = np.random.default_rng(11)
    X = np.log1p(rng.gamma(2.0, 3.0, size=(3000, 400))).astype(np.float32)
    X[:, 3] = 7.3
    var = pd.DataFrame(index=[f"G{i}" for i in range(400)])
    path = tmp_path_factory.mktemp("dense32") / "cells.h5ad"
    ad.AnnData(X, var=var).write_h5ad(path)
    return path


def test_dense_float32_backed_equals_in_memory_and_float64(dense_float32_file):
    backed = ad.read_h5ad(dense_float32_file, backed="r")
    streamed = mk.tl.score(backed, SIGS, method="zscore", inplace=False, chunk_size=700)
    backed.file.close()
    loaded = ad.read_h5ad(dense_float32_file)
    in_memory = mk.tl.score(loaded, SIGS, method="zscore", inplace=False)
    loaded.X = loaded.X.astype(np.float64)
    as64 = mk.tl.score(loaded, SIGS, method="zscore", inplace=False)
    pd.testing.assert_frame_equal(streamed, in_memory, atol=1e-9, rtol=0)
    pd.testing.assert_frame_equal(in_memory, as64, atol=1e-9, rtol=0)
