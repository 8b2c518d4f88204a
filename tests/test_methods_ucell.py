"""UCell against R UCell outputs on its own sample matrix, and against pyUCell 0.8."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from mekscore.genes import match_signatures
from mekscore.io import InputError
from mekscore.methods import GeneSet, get_method
from mekscore.methods.ucell import ucell
from mekscore.sig import Signature
from mekscore.tl import score

from .conftest import reference_path

N_GENES_SAMPLE_MATRIX = 20_729  # rows of UCell's data/sample.matrix (SOURCES.md)
TCELL = ["CD2", "CD3E", "CD3D"]
MYELOID = ["SPI1", "FCER1G", "CSF1R"]
# first six Tcell_signature values printed in the UCell vignette (SOURCES.md)
VIGNETTE_TCELL = [0.8991989, 0.6900312, 0.5932354, 0.6090343, 0.8506898, 0.6557632]
EXHAUSTED = ["PDCD1", "HAVCR2", "TOX", "LAG3", "CXCL13", "ENTPD1"]
CYTOTOXIC = ["GZMB", "PRF1", "NKG7", "GNLY", "GZMA"]
NAIVE = ["CCR7", "SELL", "TCF7", "IL7R", "LEF1"]


def sample_matrix() -> tuple[sparse.csr_matrix, pd.Index, pd.Index]:
    """UCell's sample.matrix as cells x genes CSR (30 x 20,729).

    The long export omits zeros, so genes that are zero in all 30 cells are absent:
    they become all-zero columns (the signature genes among them keep their names).
    """
    long = pd.read_csv(reference_path("ucell", "ucell_sample_matrix_long.csv.gz"))
    seen = list(long["gene"].unique())
    unseen = [g for g in TCELL + MYELOID if g not in set(seen)]
    padding = [f"zero_{i}" for i in range(N_GENES_SAMPLE_MATRIX - len(seen) - len(unseen))]
    genes = pd.Index(seen + unseen + padding)
    cells = pd.Index(long["cell"].unique())
    X = sparse.csr_matrix(
        (
            long["value"].to_numpy(),
            (cells.get_indexer(long["cell"]), genes.get_indexer(long["gene"])),
        ),
        shape=(len(cells), len(genes)),
    )
    return X, cells, genes


def sets_for(genes: pd.Index, **parts: tuple[list[str], list[str]]) -> list[GeneSet]:
    """GeneSets from (up, down) symbol lists."""
    return [
        GeneSet(name, up=genes.get_indexer(up), down=genes.get_indexer(down))
        for name, (up, down) in parts.items()
    ]


def wu2020():
    """200 real tumour/blood T cells, raw UMI counts (CSR float32, 30,727 genes)."""
    import anndata as ad

    return ad.read_h5ad(reference_path("wu2020_tcells_200cells_scirpy.h5ad"))


@pytest.mark.contract
@pytest.mark.parametrize("max_rank", [1500, 200])
@pytest.mark.parametrize("dense", [False, True])
def test_sample_matrix_matches_r_ucell(max_rank, dense):
    X, cells, genes = sample_matrix()
    expected = pd.read_csv(
        reference_path("ucell", f"ucell_sample_matrix_expected_maxrank{max_rank}.csv"),
        index_col=0,
    )
    X = X[cells.get_indexer(expected.index)]
    sets = sets_for(genes, T=(TCELL, []), M=(MYELOID, []), TvM=(TCELL, MYELOID))
    got = ucell(X.toarray() if dense else X, sets, max_rank=max_rank)
    np.testing.assert_allclose(got, expected.to_numpy(), rtol=0, atol=1e-12)
    if max_rank == 1500:
        np.testing.assert_allclose(got[:6, 0], VIGNETTE_TCELL, rtol=0, atol=5e-8)


@pytest.mark.contract
def test_matches_pyucell_when_zeros_rank_beyond_max_rank():
    pyucell = pytest.importorskip("pyucell")
    adata = wu2020()
    nnz = adata.X.getnnz(axis=1)
    assert (nnz + (adata.n_vars - nnz + 1) / 2).min() >= 1500  # zeros' average rank
    signatures = {
        "exhausted": EXHAUSTED,
        "cytotoxic": CYTOTOXIC,
        "naive": NAIVE,
        "exhausted_vs_naive": EXHAUSTED + [f"{g}-" for g in NAIVE],
    }
    pyucell.compute_ucell_scores(adata, signatures, max_rank=1500, n_jobs=1)
    expected = adata.obs[[f"{name}_UCell" for name in signatures]].to_numpy()
    sets = sets_for(
        adata.var_names,
        exhausted=(EXHAUSTED, []),
        cytotoxic=(CYTOTOXIC, []),
        naive=(NAIVE, []),
        exhausted_vs_naive=(EXHAUSTED, NAIVE),
    )
    got = ucell(adata.X, sets)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    assert got[:, 3].max() > 0 and (got[:, 3] == 0).any()  # the clip at 0 is exercised


def test_dense_and_csr_identical_on_counts_with_ties():
    X = wu2020().X
    sets = sets_for(wu2020().var_names, c=(CYTOTOXIC, []), e=(EXHAUSTED, NAIVE))
    for max_rank in (1500, 30):
        np.testing.assert_array_equal(
            ucell(X, sets, max_rank=max_rank), ucell(X.toarray(), sets, max_rank=max_rank)
        )


def test_all_zero_cell_and_constant_gene():
    """An all-zero cell ties every gene at rank (N+1)/2 (capped at max_rank): defined, no NaN."""
    X = np.array([[0.0] * 6, [4.0, 3.0, 2.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]])
    X[:, 4] = 1.0  # gene 4 is constant across cells (the first row stays all zero elsewhere)
    X[0, 4] = 0.0
    up = GeneSet("s", up=np.array([0, 4]))
    got = ucell(X, [up], max_rank=4).ravel()
    # denominator n*max_rank - n(n+1)/2 = 8 - 3 = 5
    # row 0: all six genes rank 3.5 -> U = 7 - 3 = 4
    # row 1: ranks 1 and (4+5)/2 = 4.5, capped to 4 -> U = 5 - 3 = 2
    # row 2: gene 4 ranks 1, the five zeros rank 1 + (5+1)/2 = 4 -> U = 5 - 3 = 2
    np.testing.assert_allclose(got, [1 - 4 / 5, 1 - 2 / 5, 1 - 2 / 5])
    for M in (np.zeros((1, 5000)), sparse.csr_matrix((1, 5000))):
        assert ucell(M, [up], max_rank=1500).item() == 0.0  # rank 2500.5 capped


def test_signed_parts_and_empty_sets():
    X, _, genes = sample_matrix()
    both = sets_for(genes, t=(TCELL, []), m=(MYELOID, []), tvm=(TCELL, MYELOID), tvt=(TCELL, TCELL))
    t, m, tvm, tvt = ucell(X, both).T
    assert m.max() > 0  # a non-trivial down part
    np.testing.assert_allclose(tvm, np.maximum(t - m, 0))
    assert (tvt == 0).all()
    np.testing.assert_allclose(ucell(X, both[3:], w_neg=0.5).ravel(), 0.5 * t)
    down_only = GeneSet("d", up=np.empty(0, dtype=np.int64), down=genes.get_indexer(TCELL))
    empty = GeneSet("e", up=np.empty(0, dtype=np.int64))
    got = ucell(X, [down_only, empty])
    assert (got[:, 0] == 0).all() and np.isnan(got[:, 1]).all()


def test_bad_max_rank():
    X = np.arange(10.0).reshape(1, 10)
    with pytest.raises(InputError, match="5 genes, more than max_rank=4; raise max_rank"):
        ucell(X, [GeneSet("s", up=np.arange(5))], max_rank=4)
    with pytest.raises(ValueError, match="integer >= 2"):
        ucell(X, [GeneSet("s", up=np.arange(2))], max_rank=2.5)


def test_registered():
    method = get_method("ucell")
    assert method.func is ucell and method.row_wise and method.data == "any"
    assert method.params({}) == {"max_rank": 1500, "w_neg": 1.0, "missing_genes": "skip"}


def without_gene(X: sparse.csr_matrix, genes: pd.Index, gene: str):
    """The matrix and gene names with ``gene`` removed."""
    keep = genes != gene
    return X[:, np.flatnonzero(keep)], genes[keep]


def with_last_ranked(X: sparse.csr_matrix, genes: pd.Index, gene: str):
    """``gene``'s column replaced by values below every observed value (it ranks last)."""
    col = genes.get_loc(gene)
    X = X.tolil(copy=True)
    X[:, col] = -1.0
    return X.tocsr(), genes


@pytest.mark.contract
@pytest.mark.parametrize("max_rank", [1500, 200])
def test_impute_equals_r_ucell_missing_gene_at_max_rank(max_rank):
    """R UCell's default ``missing_genes="impute"`` ranks a missing gene at ``maxRank``.

    Derived case (no R output with a missing gene is available): scoring data that lack
    CD3D (up) and CSF1R (down) with ``impute`` equals scoring the full gene set on data
    where those genes rank last (rank N >= max_rank, capped to max_rank).
    """
    X, _, genes = sample_matrix()
    signatures = [
        Signature.custom("T", up=TCELL),
        Signature.custom("TvM", up=TCELL, down=MYELOID),
        Signature.custom("M", up=MYELOID),
    ]
    X_lacking, genes_lacking = X, genes
    X_last, genes_last = X, genes
    for gene in ("CD3D", "CSF1R"):
        X_lacking, genes_lacking = without_gene(X_lacking, genes_lacking, gene)
        X_last, genes_last = with_last_ranked(X_last, genes_last, gene)
    matches, _ = match_signatures(signatures, genes_lacking, species="human")
    assert [(m.gene_set.n_missing_up, m.gene_set.n_missing_down) for m in matches] == [
        (1, 0),
        (1, 1),
        (1, 0),
    ]
    lacking = [m.gene_set for m in matches]
    full = [m.gene_set for m in match_signatures(signatures, genes_last, species="human")[0]]
    imputed = ucell(X_lacking, lacking, max_rank=max_rank, missing_genes="impute")
    expected = ucell(X_last, full, max_rank=max_rank)
    np.testing.assert_allclose(imputed, expected, rtol=0, atol=1e-12)
    skipped = ucell(X_lacking, lacking, max_rank=max_rank)
    scored = skipped[:, 0] > 0  # the missing gene counts: it lowers every non-zero score
    assert scored.sum() > 10 and (imputed[scored, 0] < skipped[scored, 0]).all()
    np.testing.assert_array_equal(
        ucell(X_lacking.toarray(), lacking, max_rank=max_rank, missing_genes="impute"), imputed
    )


@pytest.mark.contract
def test_impute_without_missing_genes_matches_r_ucell():
    X, cells, genes = sample_matrix()
    expected = pd.read_csv(
        reference_path("ucell", "ucell_sample_matrix_expected_maxrank1500.csv"), index_col=0
    )
    sets = sets_for(genes, T=(TCELL, []), M=(MYELOID, []), TvM=(TCELL, MYELOID))
    got = ucell(X[cells.get_indexer(expected.index)], sets, missing_genes="impute")
    np.testing.assert_allclose(got, expected.to_numpy(), rtol=0, atol=1e-12)


def test_impute_part_with_every_gene_missing_scores_zero():
    X = np.array([[5.0, 0.0, 3.0, 2.0, 4.0]])
    up = np.array([0, 4])
    sets = [
        GeneSet("all_missing", up=np.empty(0, dtype=np.int64), n_missing_up=2),
        GeneSet("down_missing", up=up, n_missing_down=3),
        GeneSet("empty", up=np.empty(0, dtype=np.int64)),
    ]
    got = ucell(X, sets, max_rank=4, missing_genes="impute").ravel()
    assert got[0] == 0.0 and got[1] == 1.0 and np.isnan(got[2])
    assert np.isnan(ucell(X, sets[:1], max_rank=4)).all()  # skip: nothing to score


def test_missing_genes_counts_toward_max_rank_check_and_bad_value():
    X = np.arange(10.0).reshape(1, 10)
    gs = GeneSet("s", up=np.arange(3), n_missing_up=2)
    assert ucell(X, [gs], max_rank=4).shape == (1, 1)
    with pytest.raises(InputError, match="5 genes, more than max_rank=4; raise max_rank"):
        ucell(X, [gs], max_rank=4, missing_genes="impute")
    with pytest.raises(InputError, match="missing_genes='drop' must be one of 'skip', 'impute'"):
        ucell(X, [gs], missing_genes="drop")


def test_front_door_passes_missing_genes():
    import anndata as ad

    X, _, genes = sample_matrix()
    X, genes = without_gene(X, genes, "CD3D")
    adata = ad.AnnData(X, var=pd.DataFrame(index=genes))
    kwargs = {"signatures": {"T": TCELL}, "min_genes": 2, "inplace": False}
    skipped = score(adata, **kwargs)
    imputed = score(adata, missing_genes="impute", **kwargs)
    sets = [match_signatures([Signature.custom("T", up=TCELL)], genes)[0][0].gene_set]
    np.testing.assert_array_equal(imputed["T"], ucell(X, sets, missing_genes="impute")[:, 0])
    assert (imputed["T"] < skipped["T"]).all()
