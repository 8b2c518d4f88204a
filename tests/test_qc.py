"""``tl.signature_qc``, ``mekscore qc`` and the report's QC section."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import sparse, stats

import mekscore as mk
from mekscore.cli import main
from mekscore.datasets import simulate_study
from mekscore.errors import InputError
from mekscore.report._qc import qc_section
from mekscore.tl._qc import QC_COLUMNS, RankedColumns, gene_means, matched_random_sets

from .conftest import reference_path


@pytest.fixture(scope="module")
def wu() -> ad.AnnData:
    return ad.read_h5ad(reference_path("wu2020_tcells_200cells_scirpy.h5ad"))


def _random_signature(adata: ad.AnnData, like: str, seed: int) -> mk.sig.Signature:
    """A gene set matched to signature ``like`` in size and expression level."""
    (match,), _ = mk.genes.match_signatures([mk.sig.get(like)], adata.var_names)
    (cols,) = matched_random_sets(gene_means(adata.X), match.gene_set.up, 1, seed=seed)
    return mk.sig.Signature.custom("random", up=list(adata.var_names[cols]))


@pytest.mark.contract
def test_treg_core_is_coherent_in_wu2020_t_cells_and_a_matched_random_set_is_not(wu):
    qc = mk.tl.signature_qc(wu, ["treg_core", _random_signature(wu, "treg_core", seed=1)])
    assert qc.columns.tolist() == QC_COLUMNS
    treg, random = qc.loc["treg_core"], qc.loc["random"]
    assert treg["n_found"] == 7 and treg["missing"] == ""
    assert treg["status"] == "coherent" and treg["coherence_p"] < 0.02
    assert treg["coherence"] > 3 * treg["coherence_random_median"]  # 0.34 vs 0.09 measured
    assert random["status"] == "weak" and random["coherence_p"] > 0.1  # 0.15 measured


@pytest.mark.contract
def test_mhc2_is_coherent_in_pbmc68k_and_absent_programs_are_not_expressed():
    pbmc = ad.read_h5ad(reference_path("pbmc68k_reduced_scanpy.h5ad"))
    qc = mk.tl.signature_qc(pbmc, "mhc2_presentation,tam_m2", use_raw=True, n_random=50)
    assert qc.loc["mhc2_presentation", "status"] == "coherent"
    assert qc.loc["mhc2_presentation", "coherence"] > 0.8  # 0.84 measured; random ~0.01
    assert qc.loc["tam_m2", "n_found"] == 0
    assert qc.loc["tam_m2", "status"] == "not expressed"
    assert qc.loc["tam_m2", "missing"].startswith("CD163, MRC1")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_program_is_coherent_and_the_null_is_not(seed):
    kwargs = dict(n_samples_per_arm=2, n_cells_mean=150, n_genes=800, seed=seed)
    planted = simulate_study(effects={"mapk_output_mpas": 0.2}, cell_types=("Tumor",), **kwargs)
    null = simulate_study(effects="none", cell_types=("Tumor",), **kwargs)
    on = mk.tl.signature_qc(planted, "mapk_output_mpas", n_random=50).iloc[0]
    off = mk.tl.signature_qc(null, "mapk_output_mpas", n_random=50).iloc[0]
    assert on["status"] == "coherent" and on["coherence"] > 0.25
    assert off["status"] == "weak"


def test_sparse_and_dense_give_the_same_table(wu):
    small = wu[:, :3000].copy()
    dense = ad.AnnData(small.X.toarray(), obs=small.obs, var=small.var)
    a = mk.tl.signature_qc(small, "all", n_random=20, seed=3)
    b = mk.tl.signature_qc(dense, "all", n_random=20, seed=3)
    assert sparse.issparse(small.X)
    pd.testing.assert_frame_equal(a, b)


def test_max_obs_uses_evenly_spaced_observations(wu):
    qc = mk.tl.signature_qc(wu, "treg_core", n_random=20, max_obs=100)
    assert qc.loc["treg_core", "n_found"] == 7
    assert np.isfinite(qc.loc["treg_core", "coherence"])


def test_detection_rate_is_the_mean_fraction_of_nonzero_observations():
    X = np.array([[1.0, 0, 2, 1], [0, 0, 3, 1], [2, 1, 0, 1], [1, 1, 1, 1]])
    adata = ad.AnnData(X, var=pd.DataFrame(index=["A", "B", "C", "D"]))
    adata = ad.concat([adata] * 10, index_unique="-")
    qc = mk.tl.signature_qc(adata, {"s": ["A", "B", "Z"]}, method="mean", n_random=20)
    assert qc.loc["s", "detection_rate"] == pytest.approx((0.75 + 0.5) / 2)
    assert (qc.loc["s", "n_found"], qc.loc["s", "missing"]) == (2, "Z")


def test_coherence_is_the_mean_pairwise_spearman_correlation():
    x = np.arange(20.0)

    def coherence(block):
        return RankedColumns(block).coherence(range(block.shape[1]))

    assert coherence(np.column_stack([x, np.exp(x)])) == pytest.approx(1.0)
    assert coherence(np.column_stack([x, -x, x])) == pytest.approx(-1 / 3)
    assert np.isnan(coherence(np.column_stack([x, np.ones(20)])))
    assert np.isnan(coherence(np.column_stack([x, np.zeros(20)])))


@pytest.mark.parametrize("negative", [False, True])
def test_ranked_columns_equal_scipy_spearman_with_zeros_ties_and_negatives(negative):
    rng = np.random.default_rng(0)
    dense = rng.poisson(0.7, (300, 8)).astype(float)  # many zeros, many tied counts
    if negative:
        dense -= rng.poisson(0.5, dense.shape)  # scaled-like: values below zero too
    dense[:, 3] = 0.0  # constant: left out
    dense[:, 5] = 2.0  # constant and non-zero: left out
    varying = [0, 1, 2, 4, 6, 7]
    rho = stats.spearmanr(dense[:, varying]).statistic
    expected = rho[np.triu_indices_from(rho, k=1)].mean()
    score = rng.normal(size=300)
    with_score = [stats.spearmanr(score, dense[:, c]).statistic for c in varying]
    for X in (dense, sparse.csc_matrix(dense)):
        ranked = RankedColumns(X)
        assert ranked.coherence(range(8)) == pytest.approx(expected, abs=1e-12)
        got = ranked.correlations(score, range(8))
        np.testing.assert_allclose(got, with_score, rtol=0, atol=1e-12)


def test_matched_random_sets_match_expression_bins_and_skip_members():
    means = np.linspace(0, 10, 500)
    members = [10, 250, 490]
    sets = matched_random_sets(means, members, 50, seed=0, n_bins=10)
    assert sets.shape == (50, 3) and not np.isin(sets, members).any()
    bins = (np.argsort(np.argsort(means)) * 10) // 500
    assert (np.sort(bins[sets], axis=1) == np.sort(bins[members])).all()
    again = matched_random_sets(means, members, 50, seed=0, n_bins=10)
    assert (sets == again).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(n_random=5), "n_random=5 is too few"),
        (dict(use_raw=True), "the data have no .raw"),
        (dict(layer="counts"), "layer='counts' is not a layer of the data"),
        (dict(alpha=1.5), "alpha=1.5 must be in"),
        (dict(min_detection=1.0), "min_detection=1.0 must be in"),
    ],
)
def test_bad_options_raise_input_errors(kwargs, message):
    adata = ad.AnnData(np.ones((20, 5)), var=pd.DataFrame(index=list("ABCDE")))
    with pytest.raises(InputError, match=message):
        mk.tl.signature_qc(adata, {"s": ["A", "B"]}, **kwargs)


def test_garbage_inputs_raise_input_errors():
    empty = ad.AnnData(np.zeros((0, 5)), var=pd.DataFrame(index=list("ABCDE")))
    with pytest.raises(InputError, match="empty"):
        mk.tl.signature_qc(empty, {"s": ["A", "B"]})
    nan = ad.AnnData(np.full((20, 5), np.nan), var=pd.DataFrame(index=list("ABCDE")))
    with pytest.raises(InputError, match="NaN"):
        mk.tl.signature_qc(nan, {"s": ["A", "B"]})
    tiny = ad.AnnData(np.random.default_rng(0).random((20, 3)), var=pd.DataFrame(index=list("ABC")))
    with pytest.raises(InputError, match="too few to draw random sets"):
        mk.tl.signature_qc(tiny, {"s": ["A", "B"]}, n_random=20)


def test_unknown_method_is_refused_before_any_work(wu):
    with pytest.raises(ValueError, match="method='nope' is unknown"):
        mk.tl.signature_qc(wu, "treg_core", method="nope")


def test_cli_qc_writes_the_table(wu, tmp_path):
    src = tmp_path / "wu.h5ad"
    wu.write_h5ad(src)
    out = tmp_path / "qc.csv"
    args = ["qc", str(src), "-o", str(out), "-s", "treg_core,tam_m2", "--n-random", "30"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, index_col="id")
    assert table.columns.tolist() == QC_COLUMNS
    assert table.loc["treg_core", "status"] == "coherent"
    assert table.loc["tam_m2", "status"] == "not expressed"
    assert "2 signatures, 1 coherent, 0 weak, 1 not expressed" in result.output
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "--force" in again.output
    assert CliRunner().invoke(main, [*args, "--force", "-q"]).exit_code == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--n-random", "5"], "5 is not in the range x>=20"),
        (["--method", "nope"], "'nope' is not one of 'ucell'"),
        (["--layer", "x", "--use-raw"], "give only one"),
    ],
)
def test_cli_qc_errors_are_one_line(wu, tmp_path, extra, message):
    src = tmp_path / "wu.h5ad"
    wu[:50].copy().write_h5ad(src)
    result = CliRunner().invoke(main, ["qc", str(src), "-o", str(tmp_path / "q.csv"), *extra])
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "q.csv").exists()


def test_cli_qc_refuses_h5ad_output(tmp_path, wu):
    src = tmp_path / "wu.h5ad"
    wu[:50].copy().write_h5ad(src)
    result = CliRunner().invoke(main, ["qc", str(src), "-o", str(tmp_path / "q.h5ad")])
    assert result.exit_code == 2 and "write the QC table as .csv" in result.output


def test_report_section_shows_each_signature_with_its_status(wu):
    qc = mk.tl.signature_qc(wu, "treg_core,tam_m2", n_random=20)
    html = qc_section(qc)
    assert html.count("<tr>") == 3 and "treg_core" in html and "not expressed" in html
    assert "How" not in html and "Coherence is the mean pairwise" in html
    with pytest.raises(ValueError, match="lacks column"):
        qc_section(qc.drop(columns="coherence"))


def test_a_program_detected_in_under_one_percent_of_cells_is_not_expressed():
    cells = mk.datasets.load_wu2020_tcells()  # T cells: myeloid genes are almost never detected
    qc = mk.tl.signature_qc(cells, ["mdsc_suppressive", "treg_core"], n_random=50)
    mdsc = qc.loc["mdsc_suppressive"]
    assert mdsc["detection_rate"] < 0.01 and mdsc["n_expressed"] >= 2  # a few cells co-express
    assert mdsc["coherence_p"] <= 0.05 and mdsc["status"] == "not expressed"
    assert qc.loc["treg_core", "status"] == "coherent"


def test_detection_on_scaled_data_is_detection_before_scaling():
    adata = ad.read_h5ad(reference_path("pbmc68k_reduced_scanpy.h5ad"))  # X scaled, raw log
    scaled = mk.tl.signature_qc(adata, "all", n_random=20)
    raw = mk.tl.signature_qc(adata, "all", use_raw=True, n_random=20)
    assert (scaled["detection_rate"] < 1).all()  # not every gene "detected" everywhere
    pd.testing.assert_series_equal(scaled["detection_rate"], raw["detection_rate"])
    pd.testing.assert_series_equal(scaled["n_expressed"], raw["n_expressed"])


def test_cli_qc_refuses_an_unwritable_output_before_reading(tmp_path):
    missing_input = tmp_path / "not_read.h5ad"  # never opened: the output is checked first
    result = CliRunner().invoke(main, ["qc", str(missing_input), "-o", "/sys/qc.csv"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: cannot write to folder /sys")
