"""GSVA (method 'gsva') against Bioconductor GSVA 1.46 outputs on real data.

Also holds the loaders shared by the ssgsea and zscore/plage tests: the decoupler
toy matrix, the NCI-60 P53 GCT with the Hallmark GMT, and singscore's TGF-beta data.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from mekscore.io import InputError
from mekscore.methods import GeneSet, get_method
from mekscore.methods import gsva as gsva_module
from mekscore.methods.gsva import gene_cdfs, gsva
from mekscore.sig.gmt import read_gmt

from .conftest import reference_path

# GSVA 1.46 values printed in shared/METHODS.md (tgfb_expr_10_se, sets tgfb_gs_up / tgfb_gs_dn)
TGFB_GSVA = np.array(
    [
        [-0.574685921462651, 0.461067118952268],
        [0.635835448303312, -0.690259509634401],
        [-0.547229116861331, 0.622053317092688],
        [0.67355193006504, -0.614689103281813],
        [-0.488919890295745, -0.167325759197058],
        [0.53627011052707, -0.288905781717747],
        [-0.271332810089617, -0.140198076327682],
        [0.618911813011875, -0.238029918863655],
        [-0.495050780218942, 0.596651866324747],
        [-0.548411331650213, 0.513691313225912],
    ]
)


def gene_sets_for(genes: pd.Index, gmt: dict[str, list[str]]) -> list[GeneSet]:
    """GMT gene names -> column indices; genes absent from the data are dropped (min.sz=1)."""
    return [
        GeneSet(name, up=np.array([genes.get_loc(g) for g in members if g in genes]))
        for name, members in gmt.items()
    ]


def toy() -> tuple[pd.DataFrame, list[GeneSet]]:
    """decoupler's GSVA toy: 4 samples x 20 genes and 5 sets."""
    X = pd.read_csv(reference_path("gsva_toy", "toy_samples_x_genes.csv"), index_col=0)
    return X, gene_sets_for(X.columns, read_gmt(reference_path("gsva_toy", "toy_sets.gmt")))


def toy_expected(name: str) -> pd.DataFrame:
    """A GSVA 1.46 toy output (samples x sets)."""
    return pd.read_csv(reference_path("gsva_toy", f"{name}.csv"), index_col=0)


def p53() -> tuple[pd.DataFrame, list[GeneSet]]:
    """NCI-60 P53 raw intensities (14 samples x 9,096 genes) and the 50 Hallmark sets."""
    path = reference_path("ssgsea_genepattern", "P53_14samples_collapsed_symbols.gct")
    text = path.read_bytes().decode().replace("\r\n", "\n").replace("\r", "\n")
    genes_x_samples = pd.read_csv(io.StringIO(text), sep="\t", skiprows=2, index_col=0)
    X = genes_x_samples.drop(columns="DESCRIPTION").T
    return X, gene_sets_for(X.columns, read_gmt(reference_path("h.all.v7.0.symbols.gmt")))


def p53_expected(name: str, X: pd.DataFrame, sets: list[GeneSet]) -> np.ndarray:
    """A generated GSVA 1.46 output (stored sets x samples) as samples x sets."""
    ref = pd.read_csv(reference_path("gsva_reference_generated", f"{name}.tsv"), sep="\t")
    ref = ref.set_index("gene_set")
    assert list(ref.index) == [s.name for s in sets]
    assert list(ref.columns) == list(X.index)
    return ref.to_numpy().T


def tgfb() -> tuple[pd.DataFrame, GeneSet, GeneSet]:
    """singscore's TGF-beta EMT data (10 samples x 11,900 Entrez genes, log scale, no ties)."""
    X = pd.read_csv(reference_path("singscore", "singscore_tgfb_expr_10.csv"), index_col=0).T
    X.columns = X.columns.astype(str)
    up, dn = gene_sets_for(
        X.columns, read_gmt(reference_path("singscore", "singscore_tgfb_gs.gmt"))
    )
    return X, up, dn


def as_inputs(X: np.ndarray) -> list:
    """The same matrix dense and as CSR."""
    return [np.asarray(X, dtype=np.float64), sparse.csr_matrix(np.asarray(X, dtype=np.float64))]


def p53_float32_with_constant_gene(layout: str) -> tuple[list, list[GeneSet]]:
    """P53 log2 data as float32 (dense or CSR) with a constant gene (7.3) appended,
    the same data cast back to float64, and sets with and without the constant gene."""
    X, sets = p53()
    logx = np.log2(X.to_numpy())
    n_genes = logx.shape[1]
    as32 = np.column_stack([logx, np.full(len(logx), 7.3)]).astype(np.float32)
    pair = [as32, as32.astype(np.float64)]
    if layout == "csr":
        pair = [sparse.csr_matrix(M) for M in pair]
    with_constant = [GeneSet(s.name, up=np.append(s.up, n_genes)) for s in sets[:3]]
    return pair, with_constant + sets[3:8]


@pytest.mark.contract
@pytest.mark.parametrize(
    ("reference", "transform", "params"),
    [
        ("gsva_gaussian", np.asarray, {}),
        ("gsva_gaussian_maxdiff_false", np.asarray, {"max_diff": False}),
        ("gsva_poisson_rounded", np.round, {"kcdf": "poisson"}),
    ],
)
def test_toy_matches_gsva_146(reference, transform, params):
    X, sets = toy()
    expected = toy_expected(reference).to_numpy()
    for M in as_inputs(transform(X.to_numpy())):
        np.testing.assert_allclose(gsva(M, sets, **params), expected, rtol=0, atol=1e-12)


@pytest.mark.contract
def test_p53_log2_gaussian_matches_gsva_146():
    X, sets = p53()
    expected = p53_expected("gsva_log2input_gaussian", X, sets)
    got = gsva(np.log2(X.to_numpy()), sets)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


@pytest.mark.contract
def test_signed_signature_is_up_minus_down_on_tgfb():
    X, up, dn = tgfb()
    signed = GeneSet("tgfb", up=up.up, down=dn.up)
    got = gsva(X.to_numpy(), [up, dn, signed])
    np.testing.assert_allclose(got[:, :2], TGFB_GSVA, rtol=0, atol=1e-12)
    np.testing.assert_allclose(got[:, 2], TGFB_GSVA[:, 0] - TGFB_GSVA[:, 1], rtol=0, atol=1e-12)


def literal_walk(cdf_row, members, tau, max_diff, abs_ranking):
    """GSVA's ks_sample() transcribed step by step (the kernel evaluates extremes only)."""
    n, k = len(cdf_row), len(members)
    order = np.argsort(-cdf_row, kind="stable")
    rankstat = np.empty(n)
    rankstat[order] = np.abs(n / 2 - np.arange(n))
    in_set = np.zeros(n, dtype=bool)
    in_set[members] = True
    total = np.sum(rankstat[members] ** tau)
    steps = np.where(in_set[order], rankstat[order] ** tau / total, -1.0 / (n - k))
    walk = np.cumsum(steps)
    mx_pos, mx_neg = max(0.0, walk.max()), min(0.0, walk.min())
    if max_diff:
        return mx_pos - mx_neg if abs_ranking else mx_pos + mx_neg
    return mx_pos if mx_pos > abs(mx_neg) else mx_neg


@pytest.mark.contract
@pytest.mark.parametrize("kcdf", ["gaussian", "none"])
@pytest.mark.parametrize(
    "params",
    [
        {"tau": 0.5, "max_diff": True, "abs_ranking": True},
        {"tau": 2.0, "max_diff": False, "abs_ranking": False},
        {"tau": 1.0, "max_diff": True, "abs_ranking": False},
    ],
)
def test_walk_matches_literal_transcription(kcdf, params):
    X, sets = p53()
    logx = np.log2(X.to_numpy()[:, :3000])
    sets = [GeneSet(s.name, up=s.up[s.up < 3000]) for s in sets[:8]]
    cdf = gene_cdfs(logx, np.arange(logx.shape[1]), kcdf)
    expected = np.array(
        [[literal_walk(cdf[r], s.up, **params) for s in sets] for r in range(len(logx))]
    )
    got = gsva(logx, sets, kcdf=kcdf, **params)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_empirical_cdf_counts_values_at_or_below():
    X, _ = p53()
    x = X.to_numpy()[:, :500]
    expected = (x[None, :, :] <= x[:, None, :]).mean(axis=1)
    np.testing.assert_array_equal(gene_cdfs(x, np.arange(500), "none"), expected)


@pytest.mark.contract
def test_constant_gene_is_dropped():
    X, sets = toy()
    with_constant = np.column_stack([X.to_numpy(), np.full(len(X), 3.0)])
    sets = [GeneSet(s.name, up=np.append(s.up, X.shape[1])) for s in sets]
    only_constant = GeneSet("flat", up=np.array([X.shape[1]]))
    for M in as_inputs(with_constant):
        got = gsva(M, [*sets, only_constant])
        np.testing.assert_allclose(got[:, :-1], toy_expected("gsva_gaussian"), atol=1e-12)
        assert np.isnan(got[:, -1]).all()


def test_dense_and_sparse_agree_on_real_data(monkeypatch):
    monkeypatch.setattr(gsva_module, "GENE_BLOCK_CELLS", 14 * 1000)  # several gene blocks
    X, sets = p53()
    logx = np.log2(X.to_numpy())
    logx[logx < 4] = 0.0  # a realistic share of zeros
    dense, csr = as_inputs(logx)
    np.testing.assert_array_equal(gsva(dense, sets), gsva(csr, sets))


@pytest.mark.parametrize(
    ("data", "params", "message"),
    [
        (np.ones((1, 5)), {}, "at least 2"),
        (np.arange(10.0).reshape(2, 5), {"kcdf": "Gaussian"}, "kcdf='Gaussian' must be one of"),
        (np.arange(10.0).reshape(2, 5) - 3, {"kcdf": "poisson"}, "non-negative counts"),
    ],
)
def test_bad_input_is_refused(data, params, message):
    with pytest.raises(InputError, match=message):
        gsva(data, [GeneSet("s", up=np.array([0, 1]))], **params)


def test_registered_method():
    meth = get_method("gsva")
    assert meth.func is gsva
    assert not meth.row_wise
    assert meth.params({"kcdf": "poisson"})["max_diff"] is True


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_float32_data_score_as_their_float64_copy(layout):
    (as32, as64), sets = p53_float32_with_constant_gene(layout)
    np.testing.assert_allclose(gsva(as32, sets), gsva(as64, sets), rtol=0, atol=1e-10)


def test_constant_gene_cdf_is_one_half_not_nan():
    X = np.column_stack([np.full(5, 3.0), np.arange(5.0)])
    cdf = gene_cdfs(X, np.array([0, 1]), "gaussian")
    np.testing.assert_array_equal(cdf[:, 0], 0.0)  # logit(0.5): every pair ties
    assert np.all(np.diff(cdf[:, 1]) > 0)


def test_kernel_cdf_memory_does_not_grow_with_obs_squared():
    n_obs = 5000
    script = f"""
import resource
import numpy as np
from mekscore.methods.gsva import gene_cdfs
gene_cdfs(np.random.default_rng(0).normal(size=(50, 2)), np.arange(2), "gaussian")
X = np.random.default_rng(1).normal(size=({n_obs}, 2))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
gene_cdfs(X, np.arange(2), "gaussian")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    grown_bytes = int(run.stdout.strip()) * 1024  # ru_maxrss is in KiB on Linux
    assert grown_bytes < n_obs * n_obs * 8 / 10  # an n x n float64 buffer would be 200 MB


def test_single_cell_size_is_refused_up_front():
    rng = np.random.default_rng(0)
    X = sparse.random(50_000, 2_000, density=0.002, format="csr", random_state=rng)
    with pytest.raises(InputError, match=r"50,000 observations x 2,000 varying genes.*ucell"):
        gsva(X, [GeneSet("s", up=np.arange(20))])
