"""tl.compare (and tl.competitive): designs, compartments, verdicts, edge cases, errors."""

from __future__ import annotations

import warnings

import anndata as ad
import gseapy
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mekscore import tl
from mekscore.datasets import simulate_study
from mekscore.errors import InputError
from mekscore.pp import log_normalize
from mekscore.sig import get
from mekscore.tl import _stats
from mekscore.tl._competitive import competitive, welch_ranking
from mekscore.tl._targets import FLAG_BULK

ARMS = {"condition_key": "condition", "control": "vehicle", "treated": "trametinib"}
SC = {**ARMS, "sample_key": "sample", "compartment_key": "cell_type"}
SIGS = ["mapk_output_mpas", "mhc1_apm", "tcr_erk_activation", "checkpoint_ligands"]


def _cells(shift=None, n_cells=30, seed=0, labels=("Tumor", "CD8 T"), n_samples=4):
    """Vehicle + trametinib samples; scores = sample effect + treatment shift + noise."""
    rng = np.random.default_rng(seed)
    shift = shift or {}
    obs, scores = [], []
    for arm, condition in enumerate(("vehicle", "trametinib")):
        for k in range(n_samples):
            sample = f"{condition[:3]}{k}"
            base = rng.normal(0, 1, len(SIGS))
            effect = np.array([shift.get(s, 0.0) * arm for s in SIGS])
            n = n_cells[sample] if isinstance(n_cells, dict) else n_cells
            for label in labels:
                obs += [(sample, condition, label, f"P{k}")] * n
                scores.append(base + effect + rng.normal(0, 1, (n, len(SIGS))))
    obs = pd.DataFrame(obs, columns=["sample", "condition", "cell_type", "patient"])
    obs.index = [f"c{i}" for i in range(len(obs))]
    adata = ad.AnnData(obs=obs)
    adata.obsm["mekscore_mean"] = pd.DataFrame(np.vstack(scores), index=obs.index, columns=SIGS)
    return adata


def _sample_means(adata, sig, labels):
    cells = adata.obs["cell_type"].isin(labels).to_numpy()
    frame = adata.obsm["mekscore_mean"].loc[cells, sig]
    means = frame.groupby(adata.obs["sample"][cells]).mean()
    condition = adata.obs.groupby("sample")["condition"].first()
    return means[condition[means.index] == "vehicle"], means[condition[means.index] == "trametinib"]


def _row(table, sig, compartment=None):
    rows = table[table["signature"] == sig]
    if compartment is not None:
        rows = rows[rows["compartment"] == compartment]
    assert len(rows) == 1
    return rows.iloc[0]


def test_unpaired_welch_on_sample_means():
    adata = _cells(shift={"mapk_output_mpas": -1.0})
    table = tl.compare(adata, **SC)
    ctrl, trt = _sample_means(adata, "mapk_output_mpas", ["Tumor"])
    row = _row(table, "mapk_output_mpas")
    assert row["tested_in"] == "Tumor" and row["compartment"] == "tumor"
    assert (row["n_control"], row["n_treated"], row["n_pairs"]) == (4, 4, 0)
    assert row["p_value"] == pytest.approx(stats.ttest_ind(trt, ctrl, equal_var=False).pvalue)
    assert row["difference"] == pytest.approx(trt.mean() - ctrl.mean())
    expected = _stats.compare_unpaired(ctrl.to_numpy(), trt.to_numpy(), "welch")
    assert row["effect_size"] == pytest.approx(expected.effect_size)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((expected.ci_low, expected.ci_high))
    assert row["ci_low"] < row["effect_size"] < row["ci_high"]
    assert row["observed"] == ("up" if row["difference"] > 0 else "down")
    assert row["effect_measure"] == "hedges_g_av" and row["test"] == "welch"
    assert adata.uns["mekscore_compare"]["parameters"]["effect_measure"] == "hedges_g_av"


def test_mann_whitney_option():
    adata = _cells(seed=1)
    table = tl.compare(adata, test="mannwhitney", **SC)
    ctrl, trt = _sample_means(adata, "tcr_erk_activation", ["CD8 T"])
    expected = stats.mannwhitneyu(trt, ctrl, alternative="two-sided", method="exact").pvalue
    row = _row(table, "tcr_erk_activation")
    assert row["p_value"] == pytest.approx(expected)
    assert row["effect_measure"] == "hodges_lehmann"
    assert row["effect_size"] == pytest.approx(
        np.median(np.subtract.outer(trt.to_numpy(), ctrl.to_numpy()))
    )


@pytest.mark.parametrize(
    ("test", "scipy_test"), [("paired-t", stats.ttest_rel), ("wilcoxon", stats.wilcoxon)]
)
def test_paired_design(test, scipy_test):
    adata = _cells(shift={"mhc1_apm": 0.8}, seed=2, n_samples=7)
    drop = (adata.obs["sample"] == "veh6").to_numpy()  # patient P6 loses its control
    adata = adata[~drop].copy()
    table, samples = tl.compare(adata, pair_key="patient", test=test, return_samples=True, **SC)
    ctrl, trt = _sample_means(adata, "mhc1_apm", ["Tumor"])
    ctrl, trt = ctrl.loc[[f"veh{k}" for k in range(6)]], trt.loc[[f"tra{k}" for k in range(6)]]
    d = trt.to_numpy() - ctrl.to_numpy()
    row = _row(table, "mhc1_apm")
    assert (row["n_control"], row["n_treated"], row["n_pairs"]) == (6, 6, 6)
    assert row["n_dropped"] == 1 and row["dropped"] == "tra6 (pair P6 has no control sample)"
    if test == "paired-t":
        j = _stats.hedges_correction(5)
        assert row["effect_size"] == pytest.approx(j * d.mean() / d.std(ddof=1))  # Hedges' g_z
    expected = (
        scipy_test(trt.to_numpy(), ctrl.to_numpy(), method="exact")
        if test == "wilcoxon"
        else scipy_test(trt.to_numpy(), ctrl.to_numpy())
    )
    assert row["p_value"] == pytest.approx(expected.pvalue)
    mhc1 = samples[samples["signature"] == "mhc1_apm"]
    assert len(mhc1) == 12 and set(mhc1["condition"]) == {"vehicle", "trametinib"}
    per_pair = mhc1[mhc1["change"].notna()].set_index("pair")
    assert per_pair["change"].to_numpy() == pytest.approx(d)
    assert per_pair["sample"].tolist() == [f"tra{k}" for k in range(6)]
    assert (per_pair["change_type"] == "paired difference").all()
    assert row["n_moved_expected"] == int((d > 0).sum()) and row["n_moved_total"] == 6


def test_compartment_mapping_and_case_insensitive_self_mapping():
    adata = _cells(labels=("Malignant", "Stroma", "cd8 t"), seed=3)
    table = tl.compare(adata, compartments={"tumor": ["Malignant"]}, **SC)
    ctrl, trt = _sample_means(adata, "mapk_output_mpas", ["Malignant"])
    mapk = _row(table, "mapk_output_mpas")
    assert mapk["tested_in"] == "Malignant"
    assert mapk["difference"] == pytest.approx(trt.mean() - ctrl.mean())
    tcr = _row(table, "tcr_erk_activation")
    assert tcr["tested_in"] == "cd8 t"
    ctrl, trt = _sample_means(adata, "tcr_erk_activation", ["cd8 t"])
    assert tcr["difference"] == pytest.approx(trt.mean() - ctrl.mean())


def test_in_all_cells_adds_rows_on_every_cell():
    adata = _cells(seed=4)
    table = tl.compare(adata, in_all_cells=True, composition=False, **SC)
    row = _row(table, "mapk_output_mpas", "any")
    ctrl, trt = _sample_means(adata, "mapk_output_mpas", ["Tumor", "CD8 T"])
    assert row["tested_in"] == "all cells"
    assert row["difference"] == pytest.approx(trt.mean() - ctrl.mean())
    assert len(table) == 2 * len(SIGS)


def test_samples_below_min_cells_are_dropped_and_reported():
    n_cells = {s: 30 for s in ["veh0", "veh1", "veh2", "veh3", "tra0", "tra1", "tra2", "tra3"]}
    n_cells["veh1"] = 4
    adata = _cells(n_cells=n_cells, seed=5)
    table = tl.compare(adata, min_cells=10, **SC)
    row = _row(table, "mapk_output_mpas")
    assert (row["n_control"], row["n_dropped"], row["dropped"]) == (3, 1, "veh1 (4 cells)")
    ctrl, trt = _sample_means(adata, "mapk_output_mpas", ["Tumor"])
    expected = stats.ttest_ind(trt, ctrl.drop("veh1"), equal_var=False).pvalue
    assert row["p_value"] == pytest.approx(expected)


def test_too_few_samples_per_arm():
    n_cells = {s: 30 for s in ["veh0", "veh1", "veh2", "veh3", "tra0", "tra1", "tra2", "tra3"]}
    n_cells.update(veh0=3, veh1=3, veh2=3, tra0=3)
    table = tl.compare(_cells(n_cells=n_cells, seed=6), min_cells=5, **SC)
    row = _row(table, "mapk_output_mpas")
    assert row["verdict"] == "not testable"
    assert row["reason"].startswith("too few samples per arm (n_control=1, n_treated=3; need >= 2)")
    assert row["reason"].endswith("; 4 sample(s) dropped (see dropped)")
    assert row["dropped"] == "tra0 (3 cells), veh0 (3 cells), veh1 (3 cells), veh2 (3 cells)"
    assert np.isnan(row["p_value"]) and np.isnan(row["q_value"])


def test_not_testable_reasons():
    adata = _cells(labels=("Tumor", "B"), seed=7)
    adata.obsm["mekscore_mean"]["mhc1_apm"] = np.nan  # skipped at scoring
    adata.obsm["mekscore_mean"]["mdsc_suppressive"] = 0.0
    table = tl.compare(adata, **SC)
    assert (
        "no label of obs['cell_type'] maps to 'cd8_t'"
        in _row(table, "tcr_erk_activation")["reason"]
    )
    assert (
        "no label of obs['cell_type'] maps to 'myeloid'"
        in _row(table, "mdsc_suppressive")["reason"]
    )
    assert _row(table, "mhc1_apm")["reason"].startswith("signature not scored")
    mixed = _row(table, "checkpoint_ligands")
    assert (
        mixed["verdict"] == "no expected direction" and mixed["family"] == "no expected direction"
    )
    assert mixed["reason"].startswith(f"observed {mixed['observed']}, q = ")
    assert not np.isnan(mixed["p_value"]) and not np.isnan(mixed["q_value"])
    assert mixed["observed"] in ("up", "down") and pd.isna(mixed["n_moved_expected"])
    assert set(table["verdict"]) <= set(tl.compare.__globals__["VERDICTS"])


def test_verdicts_consistent_opposite_no_change():
    adata = _cells(shift={"mapk_output_mpas": -6.0, "mhc1_apm": -6.0}, seed=8)
    table = tl.compare(adata, **SC).set_index("signature")
    assert table.loc["mapk_output_mpas", "verdict"] == "consistent"  # expected down, went down
    assert table.loc["mhc1_apm", "verdict"] == "opposite"  # expected up, went down
    assert table.loc["tcr_erk_activation", "verdict"] == "no change detected"
    assert table.loc["mapk_output_mpas", "n_moved_expected"] == 4
    assert table.loc["mhc1_apm", "n_moved_expected"] == 0


def test_q_values_are_bh_within_each_family():
    table = tl.compare(_cells(seed=9), in_all_cells=True, composition=False, **SC)
    assert table["p_value"].notna().sum() == 8
    for _, rows in table.groupby("family"):
        p = rows["p_value"].to_numpy()
        assert rows["q_value"].to_numpy() == pytest.approx(stats.false_discovery_control(p))
    assert set(table["family"]) == {
        "pharmacodynamic",
        "directional",
        "no expected direction",
        "secondary",
    }


def test_per_sample_table_and_uns_storage(tmp_path):
    adata = _cells(shift={"mapk_output_mpas": -1.0}, seed=10)
    table, samples = tl.compare(adata, return_samples=True, **SC)
    ctrl, trt = _sample_means(adata, "mapk_output_mpas", ["Tumor"])
    mapk = samples[samples["signature"] == "mapk_output_mpas"].set_index("sample")
    assert mapk["score"].to_dict() == pytest.approx({**ctrl.to_dict(), **trt.to_dict()})
    assert (mapk["n_cells"] == 30).all()
    assert mapk.loc[ctrl.index, "change"].isna().all()
    assert mapk.loc[ctrl.index, "moved_expected"].isna().all()
    expected = (trt - ctrl.mean()) / ctrl.std(ddof=1)
    assert mapk.loc[trt.index, "change"].to_numpy() == pytest.approx(expected.to_numpy())
    assert mapk.loc[trt.index, "moved_expected"].tolist() == (expected < 0).tolist()
    assert _row(table, "mapk_output_mpas")["n_moved_expected"] == int((expected < 0).sum())
    stored = adata.uns["mekscore_compare"]
    assert stored["results"].equals(table) and stored["samples"].equals(samples)
    adata.write_h5ad(tmp_path / "compared.h5ad")
    back = ad.read_h5ad(tmp_path / "compared.h5ad").uns["mekscore_compare"]
    assert back["results"]["verdict"].tolist() == table["verdict"].tolist()
    assert back["parameters"]["test"] == "welch"


def test_bulk_mode_flags_mixed_compartments():
    bulk = _cells(labels=("bulk",), n_cells=1, seed=11)
    bulk.obs_names = bulk.obs["sample"].astype(str).to_numpy()
    bulk.obsm["mekscore_mean"]["ifng_ayers6"] = np.random.default_rng(0).normal(size=8)
    table = tl.compare(bulk, **ARMS, bulk=True, min_cells=10)
    mapk, ifng = _row(table, "mapk_output_mpas"), _row(table, "ifng_ayers6")
    assert mapk["flag"] == FLAG_BULK and not mapk["isolated"]
    assert ifng["flag"] == "PD not confirmed" and ifng["isolated"]  # 8 random samples
    assert mapk["tested_in"] == "all observations"
    assert (mapk["n_control"], mapk["n_treated"], mapk["n_dropped"]) == (4, 4, 0)
    with_key = tl.compare(bulk, sample_key="sample", **ARMS)
    assert with_key["p_value"].equals(table["p_value"])


def _simulated(**kwargs):
    adata = simulate_study(seed=3, n_cells_mean=200, n_genes=700, **kwargs)
    log_normalize(adata, counts_layer="counts")
    return adata


def test_method_scores_here_when_scores_are_missing():
    adata = _simulated()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = tl.compare(adata, method="mean", aggregate="mean", **SC)
        tl.score(adata, method="mean")
        again = tl.compare(adata, aggregate="mean", **SC)  # finds the stored scores
    assert adata.uns["mekscore_compare"]["parameters"]["aggregate"] == "mean"
    assert adata.uns["mekscore_compare"]["parameters"]["scores"] == "mekscore_mean"
    pd.testing.assert_frame_equal(table, again)
    assert _row(table, "mapk_output_mpas")["verdict"] == "consistent"


def test_stored_scores_never_change_the_auto_aggregation():
    """Scoring first (or not) gives the same verdicts unless stored scores are asked for."""
    adata = _simulated()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        before = tl.compare(adata, qc=False, **SC)
        tl.score(adata, method="ucell")
        tl.score(adata, method="mean")  # two stored sets: auto must not care
        after = tl.compare(adata, qc=False, **SC)
    assert adata.uns["mekscore_compare"]["parameters"]["aggregate"] == "pseudobulk"
    pd.testing.assert_frame_equal(before, after)
    with pytest.raises(InputError, match="several score sets.*name one with scores.*pass method"):
        tl.compare(adata, aggregate="mean", **SC)


def test_pseudobulk_aggregation_scores_summed_counts():
    adata = _simulated()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = tl.compare(adata, aggregate="pseudobulk", method="mean", **SC)
    tumour = (adata.obs["cell_type"] == "Tumor").to_numpy()
    counts = pd.DataFrame(
        adata.layers["counts"][tumour].toarray().astype(float), columns=adata.var_names
    )
    summed = counts.groupby(adata.obs["sample"].to_numpy()[tumour]).sum()
    log_cpm = np.log1p(summed.div(summed.sum(axis=1), axis=0) * 1e4)
    value = log_cpm[list(get("mapk_output_mpas").up)].mean(axis=1)
    arm = adata.obs.groupby("sample", observed=True)["condition"].first()[value.index]
    ctrl, trt = value[arm == "vehicle"], value[arm == "trametinib"]
    row = _row(table, "mapk_output_mpas")
    assert row["difference"] == pytest.approx(trt.mean() - ctrl.mean())
    assert row["p_value"] == pytest.approx(stats.ttest_ind(trt, ctrl, equal_var=False).pvalue)


def test_errors_name_the_fix():
    adata = _cells()
    with pytest.raises(InputError, match="'donor'.*not in adata.obs"):
        tl.compare(adata, **{**SC, "sample_key": "donor"})
    with pytest.raises(InputError, match="'DMSO' not found.*available: trametinib, vehicle"):
        tl.compare(adata, **{**SC, "control": "DMSO"})
    with pytest.raises(InputError, match="the data have no X matrix"):  # scores here
        tl.compare(ad.AnnData(obs=adata.obs.copy()), **SC)
    with pytest.raises(InputError, match="no scores in adata.obsm\\['mekscore_ucell'\\]"):
        tl.compare(adata, scores="mekscore_ucell", **SC)
    with pytest.raises(InputError, match="'wilcoxon' is not for this design \\(unpaired\\)"):
        tl.compare(adata, test="wilcoxon", **SC)
    with pytest.raises(InputError, match="unknown keys \\['tumour'\\]"):
        tl.compare(adata, compartments={"tumour": ["Tumor"]}, **SC)
    with pytest.raises(InputError, match="pseudobulk needs raw counts.*counts_layer="):
        tl.compare(adata, aggregate="pseudobulk", **SC)
    shared = adata.copy()
    shared.obs["sample"] = shared.obs["patient"]  # each sample now spans both conditions
    with pytest.raises(InputError, match="span several conditions"):
        tl.compare(shared, **SC)
    twice = adata.copy()
    twice.obs["patient"] = "P0"
    with pytest.raises(InputError, match="pair 'P0' has 4 (control|treated) samples"):
        tl.compare(twice, pair_key="patient", **SC)


def test_welch_ranking_equals_scipy_per_gene():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 30))
    treated = np.arange(8) >= 4
    ranking = welch_ranking(x, [f"g{i}" for i in range(30)], treated)
    for gene, t in ranking.items():
        j = int(gene[1:])
        assert t == pytest.approx(
            stats.ttest_ind(x[treated, j], x[~treated, j], equal_var=False)[0]
        )
    assert ranking.is_monotonic_decreasing


def test_competitive_view_finds_planted_programs():
    adata = simulate_study(seed=3, n_cells_mean=300, n_genes=700)
    table = competitive(adata, permutation_num=100, **SC).set_index("signature")
    assert table.loc["mapk_output_mpas", "nes"] < 0 and table.loc["mapk_output_mpas", "fdr"] < 0.05
    assert table.loc["mhc1_apm", "nes"] > 0
    assert table.loc["dc_maturation", "reason"].startswith("compartment absent")
    # the same ranking handed to gseapy directly gives the same NES
    tumour = (adata.obs["cell_type"] == "Tumor").to_numpy()
    summed = pd.DataFrame(adata.X[tumour].toarray(), columns=adata.var_names)
    summed = summed.groupby(adata.obs["sample"].to_numpy()[tumour]).sum()
    log_cpm = np.log1p(summed.div(summed.sum(axis=1), axis=0) * 1e4)  # mk.pp.log_normalize
    arm = adata.obs.groupby("sample", observed=True)["condition"].first()[summed.index]
    t = stats.ttest_ind(
        log_cpm[(arm == "trametinib").to_numpy()],
        log_cpm[(arm == "vehicle").to_numpy()],
        equal_var=False,
    ).statistic
    ranking = pd.Series(t, index=log_cpm.columns).dropna().sort_values(ascending=False)
    sets = {s: list(get(s).up) for s in ["mapk_output_mpas", "mhc1_apm", "mhc2_presentation"]}
    sets["tumor_myeloid_secretome"] = list(get("tumor_myeloid_secretome").up)
    direct = gseapy.prerank(
        rnk=ranking,
        gene_sets=sets,
        min_size=3,
        max_size=12,
        permutation_num=100,
        seed=0,
        threads=1,
        outdir=None,
        no_plot=True,
        verbose=False,
    ).res2d.set_index("Term")
    assert table.loc["mapk_output_mpas", "es"] == pytest.approx(
        direct.loc["mapk_output_mpas", "ES"]
    )
    assert table.loc["mhc1_apm", "nes"] == pytest.approx(direct.loc["mhc1_apm", "NES"], rel=0.05)


@pytest.mark.parametrize("aggregate", ["mean", "pseudobulk"])
def test_genes_scored_here_are_stored_and_reported(aggregate, tmp_path):
    from mekscore import report

    adata = _simulated()
    mhc1 = get("mhc1_apm")
    adata = adata[:, [g for g in adata.var_names if g != mhc1.up[0]]].copy()  # one gene missing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tl.compare(adata, aggregate=aggregate, method="mean", **SC)
        tl.score(adata, method="mean")
    genes = adata.uns["mekscore_compare"]["genes"]
    assert genes == adata.uns["mekscore"]["mekscore_mean"]["signatures"]  # what score records
    assert mhc1.up[0] in genes["mhc1_apm"]["genes_missing"]
    html = report.write(adata, tmp_path / "r.html").read_text()
    assert "Genes found and missing" in html and mhc1.up[0] in html
    adata.write_h5ad(tmp_path / "a.h5ad")  # the stored matching is h5ad-writable


def test_stored_scores_bring_their_genes_and_a_dataframe_none():
    adata = _simulated()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tl.score(adata, SIGS, method="mean")
        tl.compare(adata, signatures=SIGS[:2], **SC)
        assert list(adata.uns["mekscore_compare"]["genes"]) == SIGS[:2]
        tl.compare(adata, scores=adata.obsm["mekscore_mean"], **SC)
    assert "genes" not in adata.uns["mekscore_compare"]
