"""AUCell against R AUCell values (decoupler's test toy) and decoupler.mt.aucell on real data."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse, stats

from mekscore.methods import GeneSet, get_method
from mekscore.methods.aucell import auc_threshold, aucell

from .conftest import reference_path
from .test_methods_gsva import as_inputs, tgfb, toy

# R: AUCell_calcAUC(gs, AUCell_buildRankings(t(mat)), aucMaxRank=3) on decoupler's toy
# (saezlab/decoupler-py tests/mt/test_aucell.py); rows S01, S02, S29, S30, sets T1..T5
R_TOY_AUC = np.array(
    [
        [0.6666667, 0.3333333, 0, 0, 0],
        [1.0000000, 0.0000000, 0, 0, 0],
        [0.0000000, 1.0000000, 1, 0, 0],
        [0.0000000, 1.0000000, 1, 0, 0],
    ]
)


def r_aucell_ordinal(x: np.ndarray, members: np.ndarray, thr: int) -> float:
    """Transcription of R's ``.AUC.geneSet_norm`` for one ranking without ties."""
    ranks = stats.rankdata(-x, method="ordinal")[members]
    below = np.sort(ranks[ranks < thr])
    auc = np.sum(np.diff(np.append(below, thr)) * np.arange(1, len(below) + 1))
    ideal = np.arange(1, len(members) + 1)
    ideal = ideal[ideal < thr]
    return auc / np.sum(np.diff(np.append(ideal, thr)) * np.arange(1, len(ideal) + 1))


def decoupler_aucell(X: pd.DataFrame, sets: dict[str, list[str]]) -> np.ndarray:
    dc = pytest.importorskip("decoupler")
    import anndata as ad

    adata = ad.AnnData(X.set_axis(X.index.astype(str)))
    net = pd.DataFrame(
        [(s, g) for s, genes in sets.items() for g in genes], columns=["source", "target"]
    )
    dc.mt.aucell(adata, net, tmin=1, verbose=False)
    return adata.obsm["score_aucell"][list(sets)].to_numpy()


@pytest.mark.contract
def test_toy_matches_r_aucell():
    X, sets = toy()
    for M in as_inputs(X.to_numpy()):
        np.testing.assert_allclose(aucell(M, sets, max_rank=3), R_TOY_AUC, rtol=0, atol=5e-8)


@pytest.mark.contract
def test_tgfb_matches_decoupler_default_threshold():
    """Real bulk data without ties: thr = ceil(0.05 * 11,900) = 595, as R and decoupler."""
    X, up, dn = tgfb()
    sets = {"up": list(X.columns[up.up]), "dn": list(X.columns[dn.up])}
    expected = decoupler_aucell(X, sets)
    for M in as_inputs(X.to_numpy()):
        np.testing.assert_allclose(aucell(M, [up, dn]), expected, rtol=0, atol=1e-12)


@pytest.mark.contract
def test_pbmc68k_matches_decoupler_without_ties():
    """700 real PBMCs (log-normalised, 765 genes) made tie-free by a tiny jitter."""
    import anndata as ad

    with warnings.catch_warnings():  # the file predates current anndata encodings
        warnings.simplefilter("ignore")
        raw = ad.read_h5ad(reference_path("pbmc68k_reduced_scanpy.h5ad")).raw
    values = raw.X.toarray() if sparse.issparse(raw.X) else np.asarray(raw.X)
    jitter = np.random.default_rng(0).uniform(0, 1e-6, size=values.shape)
    X = pd.DataFrame(values + jitter, columns=raw.var_names)
    sets = {
        "t_cell": ["CD3D", "CD3E", "CD2", "IL7R", "LCK", "CD8A", "GZMK"],
        "myeloid": ["LYZ", "S100A8", "S100A9", "FCN1", "CST3", "TYROBP", "FCER1G", "CD14"],
        "b_cell": ["CD79A", "CD79B", "MS4A1", "CD19", "HLA-DQA1", "CD74"],
    }
    sets = {name: [g for g in genes if g in X.columns] for name, genes in sets.items()}
    assert all(len(genes) >= 3 for genes in sets.values())
    expected = decoupler_aucell(X, sets)
    gene_sets = [GeneSet(s, up=X.columns.get_indexer(g)) for s, g in sets.items()]
    got = aucell(sparse.csr_matrix(X.to_numpy()), gene_sets)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert got.max() > 0.2  # the sets do reach the top ranks


@pytest.mark.contract
def test_ties_give_the_expected_score_over_random_tie_breaking():
    """With ties, the score is R's score averaged over every order of the tied genes."""
    X = np.array(
        [
            [5.0, 2.0, 2.0, 0.0, 2.0, 0.0, 7.0],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [1.0, 1.0, 3.0, 1.0, 0.0, 1.0, 1.0],
        ]
    )
    members = [np.array([1, 3]), np.array([0, 2, 4, 5])]
    thr = 4
    expected = np.zeros((3, 2))
    permutations = list(itertools.permutations(range(X.shape[1])))
    for order in permutations:  # ordinal ranks after reordering = one random tie-breaking
        order = np.array(order)
        position = np.argsort(order)
        for r, s in itertools.product(range(3), range(2)):
            expected[r, s] += r_aucell_ordinal(X[r, order], position[members[s]], thr)
    expected /= len(permutations)
    sets = [GeneSet(str(s), up=m) for s, m in enumerate(members)]
    for M in as_inputs(X):
        np.testing.assert_allclose(aucell(M, sets, max_rank=thr), expected, rtol=0, atol=1e-12)


def test_all_zero_cell_and_constant_gene():
    """An all-zero cell scores the chance level: each gene's expected AUC over thr-1 ranks."""
    n_genes, thr = 200, 10
    X = np.zeros((2, n_genes))
    X[1] = np.arange(n_genes, 0, -1.0)
    X[:, 5] = 3.0  # constant gene
    sets = [GeneSet("s", up=np.array([0, 1, 2])), GeneSet("c", up=np.array([5]))]
    got = aucell(sparse.csr_matrix(X), sets, max_rank=thr)
    # row 0, set s: the 199 zeros tie below gene 5, each gene's expected AUC is
    # sum_{p=2}^{9} (10 - p) / 199 = 36 / 199; maxAUC = 3*10 - 6 = 24
    np.testing.assert_allclose(got[0], [3 * 36 / 199 / 24, 1.0])
    np.testing.assert_allclose(got[1], [1.0, 0.0])
    np.testing.assert_array_equal(got, aucell(X, sets, max_rank=thr))


def test_signed_is_up_minus_down():
    X, up, dn = tgfb()
    signed = GeneSet("s", up=up.up, down=dn.up)
    got = aucell(X.to_numpy(), [up, dn, signed])
    np.testing.assert_allclose(got[:, 2], got[:, 0] - got[:, 1], rtol=0, atol=1e-15)
    assert np.isnan(aucell(X.to_numpy(), [GeneSet("e", up=np.empty(0, np.int64))])).all()


def test_threshold_rule():
    assert auc_threshold(0.05, 20_000) == 1000
    assert auc_threshold(0.05, 20_001) == 1001  # rounded up, like R's ceiling(0.05 * nGenes)
    assert auc_threshold(300, 20_000) == auc_threshold(300.0, 20_000) == 300
    for bad in (0, -1, 2.5, 1, 30_000, True):
        with pytest.raises(ValueError, match="max_rank"):
            auc_threshold(bad, 20_000)


def test_registered():
    method = get_method("aucell")
    assert method.func is aucell and method.row_wise and method.data == "any"
    assert method.params({}) == {"max_rank": 0.05}
