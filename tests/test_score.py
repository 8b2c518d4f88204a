"""The tl.score front door: inputs, storage, provenance, edge cases (method 'mean' as probe)."""

from __future__ import annotations

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
        res = mk.tl.score(adata, SIGS, method="mean")
    assert list(res.columns) == ["t_cell", "myeloid", "tiny"]
    assert res["tiny"].isna().all()
    np.testing.assert_allclose(res["t_cell"], _expected_mean(pbmc, SIGS["t_cell"]), atol=1e-6)
    np.testing.assert_allclose(
        res["myeloid"], _expected_mean(pbmc, SIGS["myeloid"]["up"], ["CD3D"]), atol=1e-6
    )
    assert adata.obsm["mekscore_mean"] is res
    prov = adata.uns["mekscore"]["mean"]
    assert prov["signatures"]["tiny"]["genes_missing"] == ["NOT_A_GENE"]
    assert prov["signatures"]["tiny"]["scored"] is False
    assert prov["version"] == mk.__version__


def test_results_survive_h5ad_round_trip(pbmc, tmp_path):
    adata = pbmc.copy()
    mk.tl.score(adata, {"t_cell": SIGS["t_cell"]}, method="mean")
    adata.write_h5ad(tmp_path / "scored.h5ad")
    back = ad.read_h5ad(tmp_path / "scored.h5ad")
    pd.testing.assert_frame_equal(back.obsm["mekscore_mean"], adata.obsm["mekscore_mean"])
    assert back.uns["mekscore"]["mean"]["signatures"]["t_cell"]["scored"]


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
        adata, {"t": SIGS["t_cell"]}, method="mean", gene_symbols="symbol", layer="logged"
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
        (lambda a: None, "layer 'missing' not found"),
    ],
)
def test_bad_values_are_refused(pbmc, change, message):
    adata = pbmc[:10].copy()
    change(adata)
    layer = "bad" if message == "NaN" else "missing"
    with pytest.raises(InputError, match=message):
        mk.tl.score(adata, {"t": SIGS["t_cell"]}, method="mean", layer=layer)


def test_unknown_method_and_parameter(pbmc):
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        mk.tl.score(pbmc, {"t": SIGS["t_cell"]}, method="nope")
    with pytest.raises(TypeError, match="has no parameter"):
        mk.tl.score(pbmc, {"t": SIGS["t_cell"]}, method="mean", alpha=2)


def test_raw_counts_warn_for_log_methods():
    counts = np.random.default_rng(0).poisson(100, size=(30, 6)).astype(float)
    adata = ad.AnnData(counts, var=pd.DataFrame(index=list("ABCDEF")))
    with pytest.warns(UserWarning, match="look like raw counts"):
        mk.tl.score(adata, {"s": ["A", "B", "C"]}, method="mean")


def test_empty_cells_and_single_sample():
    X = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 3.0, 4.0]])
    adata = ad.AnnData(X, var=pd.DataFrame(index=["A", "B", "C", "D"]))
    res = mk.tl.score(adata, {"s": ["A", "B", "C"]}, method="mean", inplace=False)
    np.testing.assert_allclose(res["s"], [0.0, 2.0])
    one = mk.tl.score(adata[1:].copy(), {"s": ["A", "B", "C"]}, method="mean", inplace=False)
    np.testing.assert_allclose(one["s"], [2.0])


def test_empty_matrix_is_refused():
    with pytest.raises(InputError, match="empty"):
        mk.tl.score(ad.AnnData(np.zeros((0, 3))), {"s": ["A", "B", "C"]}, method="mean")


@pytest.mark.parametrize(
    ("method", "log2", "reference", "atol"),
    [
        ("ssgsea", False, "ssgsea_norm_rawinput", 1e-12),
        ("gsva", True, "gsva_log2input_gaussian", 1e-9),
        ("zscore", True, "zscore_log2input", 1e-9),
    ],
)
def test_front_door_reproduces_gsva_with_exact_names(method, log2, reference, atol):
    """Through tl.score (GMT path, AnnData, exact name matching) on P53 x Hallmark."""
    from .test_methods_gsva import p53

    X, _ = p53()
    adata = ad.AnnData(np.log2(X) if log2 else X)
    gmt = str(reference_path("h.all.v7.0.symbols.gmt"))
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
    used = adata.uns["mekscore"]["mean"]["signatures"]["HALLMARK_HYPOXIA"]["genes_used"]
    assert "VEGF" in used  # the data's old symbol for VEGFA
    exact = mk.tl.score(adata, gmt, method="mean", aliases=False, min_genes=1, inplace=False)
    assert not np.allclose(
        exact["HALLMARK_HYPOXIA"], adata.obsm["mekscore_mean"]["HALLMARK_HYPOXIA"]
    )
