"""GSVA's zscore and PLAGE against Bioconductor GSVA 1.46 outputs on real data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse

from mekscore.methods import GeneSet, get_method
from mekscore.methods._affine import GeneMoments
from mekscore.methods.plage import plage
from mekscore.methods.zscore import zscore

from .test_methods_gsva import (
    as_inputs,
    p53,
    p53_expected,
    p53_float32_with_constant_gene,
    toy,
    toy_expected,
)

KERNELS = {"zscore": zscore, "plage": plage}


def up_to_sign(got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """``got`` with each column's sign flipped to agree with ``expected`` (PLAGE's sign)."""
    return got * np.sign(np.sum(got * expected, axis=0))


def aligned(method: str, got: np.ndarray, expected: np.ndarray) -> np.ndarray:
    return up_to_sign(got, expected) if method == "plage" else got


@pytest.mark.contract
@pytest.mark.parametrize("method", ["zscore", "plage"])
def test_toy_matches_gsva_146(method):
    X, sets = toy()
    expected = toy_expected(method).to_numpy()
    for M in as_inputs(X.to_numpy()):
        got = aligned(method, KERNELS[method](M, sets), expected)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.contract
@pytest.mark.parametrize("method", ["zscore", "plage"])
def test_p53_log2_matches_gsva_146(method):
    X, sets = p53()
    expected = p53_expected(f"{method}_log2input", X, sets)
    got = aligned(method, KERNELS[method](np.log2(X.to_numpy()), sets), expected)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_plage_sign_follows_the_mean_z_score():
    X, sets = p53()
    logx = np.log2(X.to_numpy())
    z = (logx - logx.mean(axis=0)) / logx.std(axis=0, ddof=1)
    got = plage(logx, sets)
    for s, gs in enumerate(sets):
        assert got[:, s] @ z[:, gs.up].mean(axis=1) > 0


@pytest.mark.parametrize("method", ["zscore", "plage"])
def test_signed_signature_is_up_minus_down(method):
    X, sets = toy()
    signed = GeneSet("T1_vs_T2", up=sets[0].up, down=sets[1].up)
    expected = toy_expected(method).to_numpy()
    got = KERNELS[method](X.to_numpy(), [sets[0], sets[1], signed])
    got[:, :2] = aligned(method, got[:, :2], expected[:, :2])
    np.testing.assert_allclose(got[:, 2], got[:, 0] - got[:, 1], rtol=0, atol=1e-15)
    np.testing.assert_allclose(got[:, :2], expected[:, :2], rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["zscore", "plage"])
def test_constant_gene_is_dropped(method):
    X, sets = toy()
    with_constant = np.column_stack([X.to_numpy(), np.full(len(X), 7.0)])
    sets = [GeneSet(s.name, up=np.append(s.up, X.shape[1])) for s in sets]
    expected = toy_expected(method).to_numpy()
    for M in as_inputs(with_constant):
        got = KERNELS[method](M, [*sets, GeneSet("flat", up=np.array([X.shape[1]]))])
        np.testing.assert_allclose(aligned(method, got[:, :-1], expected), expected, atol=1e-12)
        assert np.isnan(got[:, -1]).all()


def test_sparse_moments_equal_dense_moments():
    X, _ = p53()
    logx = np.log2(X.to_numpy())
    logx[logx < 6] = 0.0
    dense, from_csr = GeneMoments.of(logx), GeneMoments.of(sparse.csr_matrix(logx))
    for field in ("mean", "sd", "lo", "hi"):
        got, expected = getattr(from_csr, field), getattr(dense, field)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", ["zscore", "plage"])
def test_dense_and_sparse_agree_on_real_data(method):
    X, sets = p53()
    logx = np.log2(X.to_numpy())
    logx[logx < 6] = 0.0
    dense, csr = as_inputs(logx)
    np.testing.assert_allclose(
        KERNELS[method](csr, sets), KERNELS[method](dense, sets), rtol=0, atol=1e-12
    )


@pytest.mark.parametrize("method", ["zscore", "plage"])
def test_one_sample_is_refused(method):
    with pytest.raises(ValueError, match="at least 2"):
        KERNELS[method](np.ones((1, 4)), [GeneSet("s", up=np.array([0, 1]))])


@pytest.mark.parametrize("method", ["zscore", "plage"])
def test_registered_method(method):
    meth = get_method(method)
    assert meth.func is KERNELS[method]
    assert not meth.row_wise
    assert meth.data == "log"


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("method", ["zscore", "plage"])
def test_float32_data_score_as_their_float64_copy(method, layout):
    (as32, as64), sets = p53_float32_with_constant_gene(layout)
    got, expected = KERNELS[method](as32, sets), KERNELS[method](as64, sets)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_float32_moments_streamed_in_chunks_equal_float64_moments(layout):
    (as32, as64), _ = p53_float32_with_constant_gene(layout)
    whole = GeneMoments.of(as64)
    streamed = GeneMoments.empty(as32.shape[1])
    for start in range(0, as32.shape[0], 4):
        streamed.update(as32[start : start + 4])
    np.testing.assert_allclose(streamed.mean, whole.mean, rtol=1e-13, atol=0)
    np.testing.assert_allclose(streamed.sd, whole.sd, rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(streamed.varying, whole.varying)
    assert not whole.varying[-1] and whole.varying[:-1].sum() == as32.shape[1] - 1


def test_large_constant_is_constant_whatever_the_rounding():
    X = np.column_stack([np.full(1000, 0.1 + 2.0**24), np.arange(1000.0)])
    moments = GeneMoments.of(X)
    assert moments.varying.tolist() == [False, True]
