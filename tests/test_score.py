"""The tl.score front door: inputs, storage, provenance, edge cases (method 'mean' as probe)."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import mekscore as mk
from mekscore.io import InputError

from .conftest import reference_path

SIGS = {
    "t_cell": ["CD3D", "CD3E", "CD2", "IL7R"],
    "myeloid": {"up": ["LYZ", "S100A8", "S100A9", "FCER1G"], "down": ["CD3D"]},
    "tiny": ["CD79A", "NOT_A_GENE"],
}


@pytest.fixture(scope="module")
def pbmc() -> ad.AnnData:
    adata = ad.read_h5ad(reference_path("pbmc68k_reduced_scanpy.h5ad"))
    return adata.raw.to_adata()


def _expected_mean(adata, up, down=()):
    X = adata.X.toarray() if sparse.issparse(adata.X) else adata.X
    idx = adata.var_names.get_indexer
    out = X[:, idx(list(up))].mean(axis=1)
    if down:
        out = out - X[:, idx(list(down))].mean(axis=1)
    return out


def test_scores_are_stored_with_provenance(pbmc):
    adata = pbmc.copy()
    with pytest.warns(UserWarning, match="'tiny' skipped: 1 of 2 genes found"):
        assert mk.tl.score(adata, SIGS, method="mean") is None
    res = adata.obsm["mekscore_mean"]
    assert list(res.columns) == ["t_cell", "myeloid", "tiny"]
    assert res["tiny"].isna().all()
    np.testing.assert_allclose(res["t_cell"], _expected_mean(pbmc, SIGS["t_cell"]), atol=1e-6)
    np.testing.assert_allclose(
        res["myeloid"], _expected_mean(pbmc, SIGS["myeloid"]["up"], ["CD3D"]), atol=1e-6
    )
    prov = adata.uns["mekscore"]["mekscore_mean"]
    assert prov["method"] == "mean"
    assert prov["signatures"]["tiny"]["genes_missing"] == ["NOT_A_GENE"]
    assert prov["signatures"]["tiny"]["scored"] is False
    assert prov["version"] == mk.__version__


def test_results_survive_h5ad_round_trip(pbmc, tmp_path):
    adata = pbmc.copy()
    mk.tl.score(adata, {"t_cell": SIGS["t_cell"]}, method="mean")
    adata.write_h5ad(tmp_path / "scored.h5ad")
    back = ad.read_h5ad(tmp_path / "scored.h5ad")
    pd.testing.assert_frame_equal(back.obsm["mekscore_mean"], adata.obsm["mekscore_mean"])
    assert back.uns["mekscore"]["mekscore_mean"]["signatures"]["t_cell"]["scored"]


def test_inplace_false_leaves_adata_untouched(pbmc):
    adata = pbmc.copy()
    mk.tl.score(adata, {"t_cell": SIGS["t_cell"]}, method="mean", inplace=False)
    assert "mekscore_mean" not in adata.obsm and "mekscore" not in adata.uns


@pytest.mark.parametrize("fmt", ["csr", "csc", "dense"])
def test_matrix_formats_and_chunks_agree(pbmc, fmt):
    adata = pbmc.copy()
    X = adata.X.toarray() if sparse.issparse(adata.X) else np.asarray(adata.X)
    adata.X = X if fmt == "dense" else sparse.csr_matrix(X).asformat(fmt)
    whole = mk.tl.score(adata, {"t_cell": SIGS["t_cell"]}, method="mean", inplace=False)
    chunked = mk.tl.score(
        adata, {"t_cell": SIGS["t_cell"]}, method="mean", inplace=False, chunk_size=64
    )
    np.testing.assert_allclose(whole, chunked, atol=1e-12)
    np.testing.assert_allclose(whole["t_cell"], _expected_mean(pbmc, SIGS["t_cell"]), atol=1e-6)


def test_gene_symbols_and_layer(pbmc):
    adata = pbmc.copy()
    adata.var["symbol"] = adata.var_names
    adata.var_names = [f"ID{i}" for i in range(adata.n_vars)]
    adata.layers["logged"] = adata.X.copy()
    adata.X = np.zeros(adata.shape)
    res = mk.tl.score(
        adata,
        {"t": SIGS["t_cell"]},
        method="mean",
        gene_symbols="symbol",
        layer="logged",
        inplace=False,
    )
    np.testing.assert_allclose(res["t"], _expected_mean(pbmc, SIGS["t_cell"]), atol=1e-6)


def test_no_overlap_is_a_clear_error(pbmc):
    adata = pbmc.copy()
    adata.var_names = [f"ENSG{i:011d}" for i in range(adata.n_vars)]
    with pytest.raises(InputError, match="no signature has at least 3 of its genes.*gene_symbols"):
        mk.tl.score(adata, {"t": SIGS["t_cell"]}, method="mean")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.layers.__setitem__("bad", np.full(a.shape, np.nan)), "NaN"),
        (lambda a: None, "layer='missing' is not a layer of the data"),
    ],
)
def test_bad_values_are_refused(pbmc, change, message):
    adata = pbmc[:10].copy()
    change(adata)
    layer = "bad" if message == "NaN" else "missing"
    with pytest.raises(InputError, match=message):
        mk.tl.score(adata, {"t": SIGS["t_cell"]}, method="mean", layer=layer)


def test_unknown_method_and_parameter(pbmc):
    with pytest.raises(ValueError, match="method='nope' is unknown; choose one of: ucell"):
        mk.tl.score(pbmc, {"t": SIGS["t_cell"]}, method="nope")
    with pytest.raises(ValueError, match="has no parameter"):
        mk.tl.score(pbmc, {"t": SIGS["t_cell"]}, method="mean", alpha=2)


@pytest.fixture(scope="module")
def counts() -> ad.AnnData:
    """Real 10x counts: 200 T cells x 30,727 genes."""
    return ad.read_h5ad(reference_path("wu2020_tcells_200cells_scirpy.h5ad"))


COUNT_SIGS = ["cd8_tex_terminal", "treg_core", "mhc1_apm"]


def _scanpy_normalised(adata: ad.AnnData) -> ad.AnnData:
    import scanpy as sc

    out = ad.AnnData(adata.X.astype(np.float64), obs=adata.obs[[]], var=adata.var)
    sc.pp.normalize_total(out, target_sum=1e4)
    sc.pp.log1p(out)
    return out


@pytest.mark.parametrize("method", ["mean", "zscore", "scanpy"])
def test_raw_counts_are_log_normalised_for_log_methods(counts, method):
    adata = counts.copy()
    with pytest.warns(UserWarning, match=r"X matrix looks like raw counts .* log1p\(CP10k\)"):
        mk.tl.score(adata, COUNT_SIGS, method=method, chunk_size=64)
    res = adata.obsm[f"mekscore_{method}"]
    expected = mk.tl.score(_scanpy_normalised(counts), COUNT_SIGS, method, inplace=False)
    pd.testing.assert_frame_equal(res, expected, check_exact=False, rtol=1e-12, atol=1e-12)
    assert adata.uns["mekscore"][f"mekscore_{method}"]["normalization"] == "log1p(CP10k)"
    assert (adata.X != counts.X).nnz == 0  # the data are not changed
    as_given = mk.tl.score(adata, COUNT_SIGS, method=method, log_normalize=False, inplace=False)
    assert not np.allclose(as_given, res)


def test_backed_and_dask_counts_equal_in_memory(counts, tmp_path):
    da = pytest.importorskip("dask.array")
    counts.write_h5ad(tmp_path / "counts.h5ad")
    backed = ad.read_h5ad(tmp_path / "counts.h5ad", backed="r")
    lazy = ad.AnnData(da.from_array(counts.X.toarray(), chunks=(50, -1)), var=counts.var)
    lazy.obs_names = counts.obs_names
    for method in ("mean", "zscore", "ucell"):
        loaded = mk.tl.score(counts, COUNT_SIGS, method, inplace=False)
        streamed = mk.tl.score(backed, COUNT_SIGS, method, chunk_size=64, inplace=False)
        in_dask = mk.tl.score(lazy, COUNT_SIGS, method, inplace=False)
        pd.testing.assert_frame_equal(streamed, loaded, check_exact=False, rtol=1e-12)
        pd.testing.assert_frame_equal(in_dask, loaded, check_exact=False, rtol=1e-12)
    expected = mk.tl.score(_scanpy_normalised(counts), COUNT_SIGS, "mean", inplace=False)
    pd.testing.assert_frame_equal(streamed, loaded)
    np.testing.assert_allclose(
        mk.tl.score(backed, COUNT_SIGS, "mean", inplace=False), expected, rtol=1e-12
    )


def test_scaled_x_is_flagged_and_use_raw_scores_raw():
    adata = ad.read_h5ad(reference_path("pbmc68k_reduced_scanpy.h5ad"))
    sigs = {"t_cell": SIGS["t_cell"]}
    with pytest.warns(UserWarning, match=r"X matrix looks scaled .* pass use_raw=True"):
        mk.tl.score(adata, sigs, method="ucell", inplace=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # z-scores do not depend on per-gene scaling
        mk.tl.score(adata, sigs, method="zscore", inplace=False)
        mk.tl.score(adata, sigs, method="ucell", use_raw=True)
    expected = mk.tl.score(adata.raw.to_adata(), sigs, method="ucell", inplace=False)
    pd.testing.assert_frame_equal(adata.obsm["mekscore_ucell"], expected)
    assert adata.uns["mekscore"]["mekscore_ucell"]["matrix"] == "raw.X"
    with pytest.raises(InputError, match="use_raw=True but the data have no .raw; drop use_raw"):
        mk.tl.score(adata.raw.to_adata(), sigs, method="ucell", use_raw=True)
    with pytest.raises(InputError, match="layer and use_raw both choose"):
        mk.tl.score(adata, sigs, method="ucell", use_raw=True, layer="x")


def test_unlogged_bulk_is_flagged_for_log_methods():
    from .test_methods_gsva import p53

    X, _ = p53()  # MAS5 microarray values, 0.37 to 35,535.42
    adata = ad.AnnData(X)
    gmt = str(reference_path("h.all.v7.0.symbols.gmt"))
    with pytest.warns(UserWarning, match=r"looks unlogged \(values up to 35,535 .* TPM/FPKM"):
        mk.tl.score(adata, gmt, method="mean", min_genes=1, inplace=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mk.tl.score(adata, gmt, method="ssgsea", min_genes=1, inplace=False)
        mk.tl.score(ad.AnnData(np.log2(X)), gmt, method="mean", min_genes=1, inplace=False)


def test_log_normalize_must_be_auto_or_a_bool(pbmc):
    with pytest.raises(InputError, match="log_normalize='yes' must be 'auto', True or False"):
        mk.tl.score(pbmc, {"t": SIGS["t_cell"]}, method="mean", log_normalize="yes")


def test_empty_cells_and_single_sample():
    X = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]])
    adata = ad.AnnData(X, var=pd.DataFrame(index=["A", "B", "C", "D"]))
    with pytest.warns(UserWarning, match=r"1 of 2 observations are all zero .*filter_cells"):
        res = mk.tl.score(adata, {"s": ["A", "B", "C"]}, method="mean", inplace=False)
    np.testing.assert_allclose(res["s"], [0.0, 2.0])
    one = mk.tl.score(adata[1:].copy(), {"s": ["A", "B", "C"]}, method="mean", inplace=False)
    np.testing.assert_allclose(one["s"], [2.0])


def test_empty_matrix_is_refused():
    with pytest.raises(InputError, match="empty"):
        mk.tl.score(ad.AnnData(np.zeros((0, 3))), {"s": ["A", "B", "C"]}, method="mean")


@pytest.mark.contract
@pytest.mark.parametrize(
    ("method", "log2", "reference", "atol"),
    [
        ("ssgsea", False, "ssgsea_norm_rawinput", 1e-12),
        ("gsva", True, "gsva_log2input_gaussian", 1e-9),
        ("zscore", True, "zscore_log2input", 1e-9),
    ],
)
def test_front_door_reproduces_gsva_with_exact_names(method, log2, reference, atol):
    """Through tl.score (AnnData, exact name matching) on P53 x Hallmark.

    The GMT's sets are passed as read, each unsigned, as GSVA scores them (a GMT path
    would pair ``..._UP``/``..._DN`` sets into signed signatures).
    """
    from .test_methods_gsva import p53

    X, _ = p53()
    adata = ad.AnnData(np.log2(X) if log2 else X)
    gmt = mk.sig.read_gmt(reference_path("h.all.v7.0.symbols.gmt"))
    res = mk.tl.score(adata, gmt, method=method, aliases=False, min_genes=1, inplace=False)
    ref = pd.read_csv(
        reference_path("gsva_reference_generated", f"{reference}.tsv"), sep="\t", index_col=0
    )
    np.testing.assert_allclose(res[ref.index].to_numpy(), ref.T.to_numpy(), atol=atol, rtol=0)


def test_alias_matching_recovers_renamed_genes():
    from .test_methods_gsva import p53

    X, _ = p53()
    adata = ad.AnnData(X)
    gmt = str(reference_path("h.all.v7.0.symbols.gmt"))
    mk.tl.score(adata, gmt, method="mean", min_genes=1)
    used = adata.uns["mekscore"]["mekscore_mean"]["signatures"]["HALLMARK_HYPOXIA"]["genes_used"]
    assert "VEGF" in used  # the data's old symbol for VEGFA
    exact = mk.tl.score(adata, gmt, method="mean", aliases=False, min_genes=1, inplace=False)
    assert not np.allclose(
        exact["HALLMARK_HYPOXIA"], adata.obsm["mekscore_mean"]["HALLMARK_HYPOXIA"]
    )
