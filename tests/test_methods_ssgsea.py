"""ssGSEA against Bioconductor GSVA 1.46 outputs and gseapy.ssgsea on real data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse, stats

from mekscore.methods import GeneSet, get_method

from .test_methods_gsva import as_inputs, p53, p53_expected, tgfb, toy, toy_expected

METH = get_method("ssgsea")

# GSVA 1.46 ssgsea raw values printed in shared/METHODS.md (tgfb_expr_10_se, up / dn sets)
TGFB_SSGSEA_RAW = np.array(
    [
        [1051.29395653569, 1938.30458683476],
        [3142.09769673948, -197.082730863468],
        [1128.28347022203, 2147.0557927207],
        [3154.73406404473, -3.23571887414982],
        [1260.75618696558, 1156.6893890166],
        [2901.48665956548, 853.829708575626],
        [1354.04924752657, 1023.16372955769],
        [3025.08053434829, 810.849637218973],
        [1339.82224103363, 1896.20064196776],
        [1262.55585862649, 1823.45821607781],
    ]
)


def score(X, sets, *, normalize=True, **params):
    """Kernel then finalize, as tl.score runs them."""
    params = METH.params({"normalize": normalize, **params})
    return METH.finalize(METH.func(X, sets, **params), params)


@pytest.mark.contract
@pytest.mark.parametrize(
    ("reference", "transform", "normalize"),
    [
        ("ssgsea_nonorm", np.asarray, False),
        ("ssgsea_norm", np.asarray, True),
        ("ssgsea_nonorm_rounded_ties", np.round, False),
    ],
)
def test_toy_matches_gsva_146(reference, transform, normalize):
    X, sets = toy()
    expected = toy_expected(reference).to_numpy()
    for M in as_inputs(transform(X.to_numpy())):
        np.testing.assert_allclose(
            score(M, sets, normalize=normalize), expected, rtol=0, atol=1e-12
        )


@pytest.mark.contract
@pytest.mark.parametrize(
    ("reference", "normalize", "atol"),
    [("ssgsea_nonorm_rawinput", False, 1e-9), ("ssgsea_norm_rawinput", True, 1e-12)],
)
def test_p53_raw_matches_gsva_146(reference, normalize, atol):
    X, sets = p53()
    expected = p53_expected(reference, X, sets)
    np.testing.assert_allclose(
        score(X.to_numpy(), sets, normalize=normalize), expected, rtol=0, atol=atol
    )


@pytest.mark.contract
def test_matches_gseapy_without_ties():
    import gseapy

    X, up, dn = tgfb()
    gmt = {s.name: list(X.columns[s.up]) for s in (up, dn)}
    # gene ids as a first column: gseapy would not take numeric-looking names from the index
    res = gseapy.ssgsea(
        X.T.reset_index(), gmt, min_size=1, max_size=100_000, threads=1, outdir=None
    ).res2d
    es, nes = (
        res.pivot(index="Name", columns="Term", values=v).astype(float).loc[X.index, list(gmt)]
        for v in ("ES", "NES")
    )
    raw = score(X.to_numpy(), [up, dn], normalize=False)
    np.testing.assert_allclose(raw, es.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(score(X.to_numpy(), [up, dn]), nes.to_numpy(), rtol=0, atol=1e-12)


@pytest.mark.contract
def test_signed_signature_is_up_minus_down_on_tgfb():
    X, up, dn = tgfb()
    signed = GeneSet("tgfb", up=up.up, down=dn.up)
    got = score(X.to_numpy(), [up, dn, signed], normalize=False)
    np.testing.assert_allclose(got[:, :2], TGFB_SSGSEA_RAW, rtol=1e-12)
    expected = TGFB_SSGSEA_RAW[:, 0] - TGFB_SSGSEA_RAW[:, 1]
    np.testing.assert_allclose(got[:, 2], expected, rtol=1e-12)


def literal_ssgsea(x, members, alpha):
    """GSVA's .rndWalk (explicit cumulative walk) for one sample, transcribed."""
    ranks = stats.rankdata(x, method="average").astype(np.int64)  # mode(R) <- "integer"
    ranking = np.argsort(-ranks, kind="stable")  # order(R, decreasing=TRUE)
    inside = np.isin(ranking, members)
    weights = np.abs(ranks[ranking]) ** alpha * inside
    walk = np.cumsum(weights) / weights.sum() - np.cumsum(~inside) / np.sum(~inside)
    return walk.sum()


@pytest.mark.contract
def test_ties_zeros_negatives_and_a_constant_gene_match_the_literal_walk():
    X, sets = toy()
    x = np.round(X.to_numpy() - 2.5)  # ties, zeros and negative values
    x = np.column_stack([x, np.full(len(x), 1.0)])  # a gene constant across samples
    sets = [*sets, GeneSet("with_constant", up=np.array([0, 3, 20]))]
    expected = np.array([[literal_ssgsea(row, s.up, 0.4) for s in sets] for row in x])
    for M in as_inputs(x):
        np.testing.assert_allclose(
            score(M, sets, normalize=False, alpha=0.4), expected, rtol=0, atol=1e-12
        )


def test_one_sample_scores_like_in_a_batch():
    X, sets = p53()
    batch = score(X.to_numpy(), sets, normalize=False)
    single = score(X.to_numpy()[[3]], sets, normalize=False)
    np.testing.assert_array_equal(single, batch[[3]])
    normalized = score(X.to_numpy()[[3]], sets)
    np.testing.assert_allclose(normalized, single / np.ptp(single), rtol=1e-15)


def test_normalising_a_single_score_is_refused():
    X, sets = toy()
    with pytest.raises(ValueError, match="normalize=False"):
        score(X.to_numpy()[[0]], sets[:1])


def test_dense_and_sparse_agree_on_real_data():
    X, sets = p53()
    logx = np.log2(X.to_numpy())
    logx[logx < 4] = 0.0
    dense, csr = as_inputs(logx)
    np.testing.assert_array_equal(METH.func(dense, sets), METH.func(csr, sets))


def test_registered_method():
    assert METH.row_wise
    assert METH.data == "any"
    assert METH.params({}) == {"alpha": 0.25, "normalize": True}
    assert METH.finalize is not None


def test_non_canonical_csr_is_read_correctly():
    X, sets = toy()
    x = np.round(X.to_numpy() - 2.5)
    rows, cols = np.nonzero(x)
    rows, cols, half = rows[::-1], cols[::-1], x[np.nonzero(x)][::-1] / 2
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=len(x)))])
    order = np.argsort(rows, kind="stable")  # rows grouped, columns descending within a row
    indices = np.repeat(cols[order], 2)  # every entry stored twice, summing to the value
    data = np.repeat(half[order], 2)
    csr = sparse.csr_matrix((data, indices, 2 * indptr), shape=x.shape)
    assert not csr.has_canonical_format
    np.testing.assert_array_equal(METH.func(csr, sets), METH.func(x, sets))
