"""singscore against the printed R vignette values and singscore's own unit-test toy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from mekscore.methods import GeneSet, get_method
from mekscore.methods.singscore import singscore

from .conftest import reference_path
from .test_methods_gsva import as_inputs, tgfb

EMPTY = np.empty(0, dtype=np.int64)
SCORE_ATOL = 5e-8  # vignette scores are printed with 8-9 significant digits
DISPERSION_ATOL = 5e-4  # dispersions are printed with 3 decimals


def vignette() -> pd.DataFrame:
    """simpleScore(rankGenes(tgfb_expr_10_se), tgfb_gs_up, tgfb_gs_dn) as printed."""
    path = reference_path("singscore", "singscore_vignette_expected_scores.tsv")
    return pd.read_csv(path, sep="\t", index_col=0)


@pytest.mark.contract
@pytest.mark.parametrize("as_sparse", [False, True])
def test_tgfb_matches_vignette(as_sparse):
    X, up, dn = tgfb()
    expected = vignette().loc[X.index]
    sets = [
        GeneSet("both", up=up.up, down=dn.up),
        GeneSet("up", up=up.up),
        GeneSet("down", up=EMPTY, down=dn.up),
    ]
    M = sparse.csr_matrix(X.to_numpy()) if as_sparse else X.to_numpy()
    out = singscore(M, sets)
    for key, column in [("score", "TotalScore"), ("up", "UpScore"), ("down", "DownScore")]:
        np.testing.assert_allclose(out[key][:, 0], expected[column], rtol=0, atol=SCORE_ATOL)
    dispersions = expected[["TotalDispersion", "UpDispersion", "DownDispersion"]]
    np.testing.assert_allclose(out["dispersion"], dispersions, rtol=0, atol=DISPERSION_ATOL)
    # one-part signatures: the other part is NaN and the total is the part's score
    np.testing.assert_array_equal(out["score"][:, 1], out["up"][:, 1])
    np.testing.assert_array_equal(out["score"][:, 2], out["down"][:, 2])
    assert np.isnan(out["down"][:, 1]).all() and np.isnan(out["up"][:, 2]).all()
    np.testing.assert_array_equal(out["up"][:, 1], out["up"][:, 0])


@pytest.mark.contract
def test_unit_toy_from_singscore_tests():
    """tests/testthat/test-scoring.R: values c(1, 2, 5, 5), upSet genes 3, 4, downSet gene 1."""
    X = np.array([[1.0, 2.0, 5.0, 5.0]])
    up = GeneSet("up", up=np.array([2, 3]))
    both = GeneSet("both", up=np.array([2, 3]), down=np.array([0]))
    for M in as_inputs(X):
        centred = singscore(M, [up])
        assert (centred["score"].item(), centred["dispersion"].item()) == (0.25, 0.0)
        plain = singscore(M, [up], center=False)
        assert (plain["score"].item(), plain["dispersion"].item()) == (0.75, 0.0)
        out = singscore(M, [both])
        got = [out[k].item() for k in ("score", "dispersion", "up", "down")]
        assert got == [0.75, 0.0, 0.25, 0.5]  # Total, TotalDispersion, Up, Down of R


def test_dense_and_csr_identical_with_ties_and_zeros():
    rng = np.random.default_rng(0)
    X = np.round(rng.gamma(0.3, 2.0, size=(40, 300)), 1)  # many zeros and tied values
    sets = [
        GeneSet("a", up=np.arange(0, 60, 3), down=np.arange(1, 90, 7)),
        GeneSet("b", up=np.arange(5)),
    ]
    dense, csr = singscore(X, sets), singscore(sparse.csr_matrix(X), sets)
    for key in dense:
        np.testing.assert_array_equal(dense[key], csr[key])


def test_all_zero_cell():
    """All genes of an all-zero cell rank 1 (ties min): Up = (1 - lo) / (hi - lo) - 0.5, MAD 0."""
    n_genes, k = 50, 4
    sets = [GeneSet("s", up=np.arange(k), down=np.arange(10, 10 + k))]
    lo, hi = (k + 1) / 2, (2 * n_genes - k + 1) / 2
    up = (1 - lo) / (hi - lo) - 0.5
    for M in (np.zeros((1, n_genes)), sparse.csr_matrix((1, n_genes))):
        out = singscore(M, sets)
        assert out["up"].item() == pytest.approx(up)
        assert out["down"].item() == pytest.approx(-up)
        assert out["score"].item() == pytest.approx(0.0)
        assert out["dispersion"].item() == 0.0


def test_constant_gene():
    X = np.random.default_rng(1).normal(size=(5, 30))
    X[:, 7] = 2.5
    out = singscore(X, [GeneSet("s", up=np.array([0, 7, 9]), down=np.array([7, 3]))])
    assert all(np.isfinite(v).all() for v in out.values())


def test_empty_signature_is_nan():
    out = singscore(np.arange(12.0).reshape(2, 6), [GeneSet("e", up=EMPTY)])
    assert all(np.isnan(v).all() for v in out.values())


def test_registered():
    method = get_method("singscore")
    assert method.func is singscore and method.row_wise and method.data == "any"
    assert method.params({}) == {"center": True}
