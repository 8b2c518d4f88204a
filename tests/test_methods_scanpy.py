"""The ``scanpy`` method against ``sc.tl.score_genes`` (scanpy 1.11.5) on real data."""

from __future__ import annotations

import inspect
import warnings

import anndata as ad
import numpy as np
import pytest
import scanpy as sc
from scanpy.tools._score_genes import _nan_means
from scipy import sparse

from mekscore.errors import InputError
from mekscore.methods import GeneSet, get_method
from mekscore.methods.scanpy_score import gene_means, scanpy_score

from .conftest import reference_path

PBMC_SETS = {
    "B_3": ["CD79A", "CD79B", "MS4A1"],
    "T_3": ["CD3D", "CD3E", "CD2"],
    "NK_9": ["GNLY", "NKG7", "PRF1", "GZMB", "GZMA", "GZMH", "KLRB1", "CTSW", "CCL5"],
    "myeloid_10": [
        *("LYZ", "CST3", "S100A8", "S100A9", "FCN1"),
        *("FCGR3A", "TYROBP", "FCER1G", "SPI1", "LGALS3"),
    ],
    "T_12": [
        *("CD3D", "CD3E", "CD2", "LCK", "IL7R", "CCR7"),
        *("CD8A", "CD8B", "CD247", "CD27", "CD28", "LTB"),
    ],
    "mixed_20": [
        *("HLA-DRA", "HLA-DRB1", "HLA-DPA1", "HLA-DPB1", "CD74", "IFITM1", "IFITM3"),
        *("IRF1", "FOS", "EGR1", "CD79A", "CD79B", "MS4A1", "LYZ", "CST3", "S100A8"),
        *("S100A9", "GNLY", "NKG7", "CCL5"),
    ],
}
WU_SETS = {
    "exhaustion": ["PDCD1", "HAVCR2", "TOX", "LAG3", "CXCL13", "ENTPD1", "TIGIT", "CTLA4"],
    "cytotoxic": ["GZMB", "GZMK", "PRF1", "NKG7", "GNLY", "CD8A", "CD8B"],
    "naive_memory": ["IL7R", "TCF7", "SELL", "CCR7", "LEF1"],
    "treg": ["FOXP3", "IL2RA", "CTLA4", "IKZF2"],
    "proliferation": ["MKI67", "TOP2A", "TYMS", "STMN1", "PCNA", "MCM2"],
}


def read_h5ad(name: str) -> ad.AnnData:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # old-format h5ad files (anndata warns on read)
        return ad.read_h5ad(reference_path(name))


@pytest.fixture(scope="module")
def pbmc() -> ad.AnnData:
    """Log-normalised PBMC 68k reduced (700 cells x 765 genes, CSR float32)."""
    return read_h5ad("pbmc68k_reduced_scanpy.h5ad").raw.to_adata()


@pytest.fixture(scope="module")
def wu2020() -> ad.AnnData:
    """Wu 2020 T cells (200 x 30,727), normalize_total + log1p, CSR float32."""
    adata = read_h5ad("wu2020_tcells_200cells_scirpy.h5ad")
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    return adata


def as_sets(adata: ad.AnnData, genes: dict[str, list[str]]) -> list[GeneSet]:
    index = adata.var_names
    for name, g in genes.items():
        assert index.get_indexer(g).min() >= 0, f"{name}: genes missing from the data"
    return [GeneSet(name, up=index.get_indexer(g)) for name, g in genes.items()]


def score_genes(adata: ad.AnnData, genes: list[str], **params) -> np.ndarray:
    """One ``sc.tl.score_genes`` call, exactly as a user would make it."""
    out = sc.tl.score_genes(adata, genes, use_raw=False, copy=True, **params)
    return out.obs["score"].to_numpy()


def reference_scores(adata: ad.AnnData, genes: dict[str, list[str]], **params) -> np.ndarray:
    return np.column_stack([score_genes(adata, g, **params) for g in genes.values()])


MATRIX_KINDS = {
    "csr32": lambda m: m,
    "csr64": lambda m: m.astype(np.float64),
    "dense32": lambda m: m.toarray(),
    "dense64": lambda m: m.toarray().astype(np.float64),
}


def with_matrix(adata: ad.AnnData, kind: str) -> ad.AnnData:
    return ad.AnnData(X=MATRIX_KINDS[kind](adata.X), obs=adata.obs[[]], var=adata.var[[]])


@pytest.mark.contract
@pytest.mark.parametrize("kind", list(MATRIX_KINDS))
@pytest.mark.parametrize(
    "params",
    [{}, {"ctrl_size": 10, "random_state": 3}, {"ctrl_size": 5, "n_bins": 10, "random_state": 11}],
)
def test_pbmc_matches_score_genes(pbmc, kind, params):
    adata = with_matrix(pbmc, kind)
    got = scanpy_score(adata.X, as_sets(adata, PBMC_SETS), **params)
    expected = reference_scores(adata, PBMC_SETS, **params)
    # scanpy sums the rows of a float32 CSR subset in float32 (scipy's row sum); we
    # accumulate in float64, so only that case differs, by float32 rounding (~5e-7)
    atol = 1e-6 if kind == "csr32" else 1e-12
    np.testing.assert_allclose(got, expected, rtol=0, atol=atol)


@pytest.mark.contract
@pytest.mark.parametrize("params", [{}, {"random_state": 42}, {"ctrl_size": 100, "n_bins": 30}])
def test_wu2020_matches_score_genes(wu2020, params):
    got = scanpy_score(wu2020.X, as_sets(wu2020, WU_SETS), **params)
    np.testing.assert_allclose(got, reference_scores(wu2020, WU_SETS, **params), rtol=0, atol=1e-6)


def test_seed_changes_the_control_genes(wu2020):
    sets = as_sets(wu2020, WU_SETS)
    seed0, seed1 = (scanpy_score(wu2020.X, sets, random_state=r) for r in (0, 1))
    assert np.abs(seed0 - seed1).max() > 1e-3


@pytest.mark.contract
def test_gene_means_are_bitwise_scanpys(pbmc):
    for X in (pbmc.X, pbmc.X.toarray(), pbmc.X.toarray().astype(np.float64)):
        assert np.array_equal(gene_means(X), _nan_means(X, axis=0))


@pytest.mark.contract
def test_down_genes_score_up_minus_down_each_with_own_controls(wu2020):
    up, down = WU_SETS["exhaustion"], WU_SETS["naive_memory"]
    idx = wu2020.var_names.get_indexer
    signed = GeneSet("exh_vs_naive", up=idx(up), down=idx(down))
    for params in ({}, {"random_state": 5}):
        got = scanpy_score(wu2020.X, [signed], **params)[:, 0]
        expected = score_genes(wu2020, up, **params) - score_genes(wu2020, down, **params)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


@pytest.mark.contract
def test_duplicated_genes_count_once_as_in_scanpy(pbmc):
    genes = ["CD3D", "CD3E", "CD3D", "LCK", "CD3E"]
    got = scanpy_score(pbmc.X, [GeneSet("dup", up=pbmc.var_names.get_indexer(genes))])
    np.testing.assert_allclose(got[:, 0], score_genes(pbmc, genes), rtol=0, atol=1e-6)


def test_weights_are_ignored(pbmc):
    up = pbmc.var_names.get_indexer(PBMC_SETS["NK_9"])
    weighted = GeneSet("w", up=up, up_weights=np.arange(1.0, len(up) + 1))
    got = scanpy_score(pbmc.X, [weighted, GeneSet("u", up=up)])
    np.testing.assert_array_equal(got[:, 0], got[:, 1])


@pytest.mark.contract
def test_set_without_genes_is_nan(pbmc):
    sets = [GeneSet("empty", up=np.empty(0, dtype=np.int64)), *as_sets(pbmc, {"T": ["CD3D"]})]
    got = scanpy_score(pbmc.X, sets)
    assert np.isnan(got[:, 0]).all()
    np.testing.assert_allclose(got[:, 1], score_genes(pbmc, ["CD3D"]), rtol=0, atol=1e-6)


@pytest.mark.contract
def test_tl_score_front_door_matches_score_genes(pbmc):
    from mekscore.tl import score

    adata = pbmc.copy()
    got = score(
        adata, signatures=PBMC_SETS, method="scanpy", ctrl_size=10, random_state=2, inplace=False
    )
    expected = reference_scores(pbmc, PBMC_SETS, ctrl_size=10, random_state=2)
    np.testing.assert_allclose(got[list(PBMC_SETS)].to_numpy(), expected, rtol=0, atol=1e-6)


def test_no_control_genes_left_is_a_clear_error():
    # 8 genes, 3 bins of sizes 3, 4, 1: gene 7 is alone in its bin
    X = sparse.csr_matrix(np.tile(np.arange(8.0), (4, 1)))
    with pytest.raises(InputError, match="'lonely': no control genes left"):
        scanpy_score(X, [GeneSet("lonely", up=np.array([7]))], n_bins=3)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"ctrl_size": 0}, "ctrl_size=0 must be an integer >= 1"),
        ({"n_bins": 1}, "n_bins=1 must be an integer >= 2"),
        ({"random_state": None}, "random_state=None must be an integer in \\[0, 4294967295\\]"),
        ({"random_state": -1}, "random_state=-1 must be an integer in"),
    ],
)
def test_bad_parameters(pbmc, params, message):
    with pytest.raises(InputError, match=message):
        scanpy_score(pbmc.X, as_sets(pbmc, {"T": ["CD3D", "CD3E", "CD2"]}), **params)


def test_registered_with_scanpys_defaults():
    method = get_method("scanpy")
    sig = inspect.signature(sc.tl.score_genes).parameters
    assert method.func is scanpy_score and not method.row_wise
    assert method.defaults == {k: sig[k].default for k in ("ctrl_size", "n_bins", "random_state")}
