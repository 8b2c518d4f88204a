"""Every method gives the same scores whatever the storage: float32 or float64, dense or sparse.

The float64 matrix holds exactly the float32 values, so any difference comes from how a
method computes, not from the data (single-cell scale: pbmc68k's log data, 700 cells).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scanpy as sc
from scipy import sparse

from mekscore import tl
from mekscore.methods import METHOD_NAMES

SIGNATURES = {
    "t_cells": ["CD3D", "CD3E", "CD2", "IL7R", "LCK"],
    "myeloid": {"up": ["LYZ", "CST3", "FCER1G", "TYROBP"], "down": ["CD3D", "CD3E"]},
    "b_cells": ["CD79A", "CD79B", "MS4A1", "CD74"],
}


@pytest.fixture(scope="module")
def log_data():
    adata = sc.datasets.pbmc68k_reduced().raw.to_adata()
    X = sparse.csr_matrix(adata.X, dtype=np.float32)
    return adata.var_names, X


def _score(var_names, X, method):
    adata = sc.AnnData(X)
    adata.var_names = var_names
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return tl.score(adata, SIGNATURES, method=method, inplace=False).to_numpy()


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_storage_does_not_change_scores(log_data, method):
    var_names, X32 = log_data
    reference = _score(var_names, X32.astype(np.float64), method)
    assert np.isfinite(reference).all()
    for X in (X32, X32.toarray(), X32.astype(np.float64).toarray()):
        got = _score(var_names, X, method)
        np.testing.assert_allclose(got, reference, rtol=1e-6, atol=1e-6, err_msg=str(type(X)))
