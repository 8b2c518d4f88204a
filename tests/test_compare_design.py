"""tl.compare: replicates enforced, labels validated before scoring, honest small-n rows,
families and the PD gatekeeper, signature filtering and scoring settings in every path."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from mekscore import tl
from mekscore.datasets import simulate_study
from mekscore.errors import InputError
from mekscore.sig import Signature
from mekscore.tl._verdict import add_verdicts

ARMS = {"condition_key": "condition", "control": "vehicle", "treated": "trametinib"}
SC = {**ARMS, "sample_key": "sample", "compartment_key": "cell_type"}
SIGS = ["mapk_output_mpas", "mhc1_apm", "tcr_erk_activation", "checkpoint_ligands"]


def _scored(values: dict[str, list[float]], n_cells: int = 12) -> ad.AnnData:
    """Cells whose per-sample mean equals ``values[sample]`` (one list entry per signature)."""
    obs, rows = [], []
    for sample, scores in values.items():
        condition = "vehicle" if sample.startswith("v") else "trametinib"
        for label in ("Tumor", "CD8 T"):
            obs += [(sample, condition, label, sample[1:])] * n_cells
            rows += [scores] * n_cells
    frame = pd.DataFrame(obs, columns=["sample", "condition", "cell_type", "patient"])
    frame.index = [f"c{i}" for i in range(len(frame))]
    adata = ad.AnnData(obs=frame)
    adata.obsm["mekscore_mean"] = pd.DataFrame(
        np.array(rows, float), index=frame.index, columns=SIGS[: len(rows[0])]
    )
    return adata


def _random(n_per_arm=4, seed=0) -> ad.AnnData:
    rng = np.random.default_rng(seed)
    samples = {f"v{k}": list(rng.normal(size=4)) for k in range(n_per_arm)}
    samples.update({f"t{k}": list(rng.normal(size=4)) for k in range(n_per_arm)})
    return _scored(samples)


def _row(table, sig):
    return table.set_index("signature").loc[sig]


# --- replicates -----------------------------------------------------------------------


def test_single_cell_without_sample_key_is_refused_naming_likely_columns():
    adata = _random()
    adata.obs["donor_id"] = adata.obs["sample"]
    with pytest.raises(
        InputError, match="replicate is the sample.*likely columns: sample, patient, donor_id"
    ):
        tl.compare(adata, **ARMS, compartment_key="cell_type")


def test_bulk_is_explicit():
    adata = _random()
    bulk = adata[~adata.obs_names.duplicated()].copy()
    bulk = bulk[bulk.obs.drop_duplicates("sample").index].copy()
    table = tl.compare(bulk, **ARMS, bulk=True)
    with_key = tl.compare(bulk, **ARMS, sample_key="sample")
    assert table["p_value"].equals(with_key["p_value"])
    assert bulk.uns["mekscore_compare"]["parameters"]["bulk"]


# --- labels ---------------------------------------------------------------------------


def test_missing_sample_and_condition_labels_are_dropped_and_named():
    adata = _random(n_per_arm=4)
    adata.obs["sample"] = adata.obs["sample"].astype(object)
    adata.obs.loc[adata.obs_names[:3], "sample"] = np.nan  # 3 cells of v0 lose their sample
    adata.obs["condition"] = adata.obs["condition"].astype(object)
    adata.obs.loc[adata.obs["sample"] == "v3", "condition"] = ""  # a sample without condition
    table = tl.compare(adata, **SC, min_cells=5, qc=False)
    row = _row(table, "mhc1_apm")
    assert row["n_control"] == 3 and row["dropped"] == "v3 (no condition)"
    assert "nan" not in set(adata.uns["mekscore_compare"]["samples"]["sample"])
    params = adata.uns["mekscore_compare"]["parameters"]
    assert params["notes"] == ["3 observation(s) without a 'sample' label left out"]
    assert params["dropped"] == "v3 (no condition)"


def test_incomplete_pair_is_dropped_and_counted():
    adata = _random(n_per_arm=4)
    adata = adata[adata.obs["sample"] != "v2"].copy()
    table = tl.compare(adata, **SC, pair_key="patient")
    row = _row(table, "mhc1_apm")
    assert row["n_pairs"] == 3 and row["n_dropped"] == 1
    assert row["dropped"] == "t2 (pair 2 has no control sample)"


def test_misspelt_labels_fail_before_any_scoring():
    adata = simulate_study(seed=0, n_cells_mean=40, n_genes=400)
    before = set(adata.obsm)
    with pytest.raises(InputError, match="'DMSO' not found.*available: trametinib, vehicle"):
        tl.compare(adata, **{**SC, "control": "DMSO"}, method="ucell", aggregate="mean")
    with pytest.raises(InputError, match="label\\(s\\) 'Malignant' not found.*labels: B, CD4 T"):
        tl.compare(adata, **SC, compartments={"tumor": ["Malignant"]}, method="ucell")
    assert set(adata.obsm) == before  # nothing was scored


@pytest.mark.parametrize("alpha", [5, 0, 1, -0.1])
def test_alpha_must_be_a_probability(alpha):
    with pytest.raises(InputError, match="not a probability"):
        tl.compare(_random(), **SC, alpha=alpha)


def test_test_names_are_the_same_everywhere():
    with pytest.raises(InputError, match="use one of paired-t, wilcoxon"):
        tl.compare(_random(), **SC, pair_key="patient", test="ttest")


# --- small n and degenerate data ------------------------------------------------------


def test_zero_variance_arms_are_not_testable():
    constant = {f"v{k}": [1.0, 1.0] for k in range(2)} | {f"t{k}": [2.0, 2.0] for k in range(2)}
    table = tl.compare(_scored(constant), **SC)
    row = _row(table, "mapk_output_mpas")
    assert row["verdict"] == "not testable" and row["reason"] == "zero variance in both arms"
    assert np.isnan(row["p_value"]) and np.isnan(row["effect_size"])


def test_rank_test_that_cannot_reach_alpha_is_not_testable():
    table = tl.compare(_random(n_per_arm=3), **SC, test="mannwhitney")
    row = _row(table, "mhc1_apm")
    assert row["verdict"] == "not testable"
    assert row["reason"] == "n too small for mannwhitney (minimum p = 0.1)"


def test_rank_test_direction_comes_from_ranks():
    """7 of 8 treated above every control plus one low outlier: consistent for an up program."""
    ctrl = [1.0, 1.1, 0.9, 1.2, 1.05, 0.95, 1.15, 1.0]
    trt = [1.4, 1.5, 1.35, 1.6, 1.45, 1.55, 1.5, -9.0]
    values = {f"v{k}": [0.0, c] for k, c in enumerate(ctrl)}
    values |= {f"t{k}": [0.0, t] for k, t in enumerate(trt)}
    adata = _scored(values)
    adata.obsm["mekscore_mean"]["mapk_output_mpas"] = np.random.default_rng(0).normal(
        size=adata.n_obs
    )
    row = _row(tl.compare(adata, **SC, test="mannwhitney"), "mhc1_apm")
    assert row["observed"] == "up" and row["verdict"] == "consistent"
    assert row["effect_measure"] == "hodges_lehmann" and row["ci_low"] > 0
    assert row["rank_biserial"] == pytest.approx(0.75)


def test_nan_q_never_makes_a_call():
    table = pd.DataFrame(
        {
            "family": ["directional"],
            "p_value": [np.nan],
            "observed": ["up"],
            "expected": ["up"],
            "ci_low": [0.5],
            "ci_high": [1.0],
            "verdict": [""],
            "reason": [""],
            "flag": [""],
            "signature": ["x"],
            "compartment": ["tumor"],
        }
    )
    out, _ = add_verdicts(table, 0.05)
    assert out.loc[0, "verdict"] == "no change detected" and out.loc[0, "reason"].startswith(
        "q = nan"
    )


def test_four_pairs_call_has_an_interval_excluding_zero():
    rng = np.random.default_rng(3)
    values = {}
    for k in range(4):
        base = rng.normal(size=2)
        values[f"v{k}"] = list(base)
        values[f"t{k}"] = list(base + np.array([-2.0, 2.0]) + rng.normal(0, 0.3, 2))
    row = _row(tl.compare(_scored(values), **SC, pair_key="patient"), "mhc1_apm")
    assert row["verdict"] == "consistent" and row["ci_low"] > 0
    assert row["difference_low"] > 0 and row["effect_measure"] == "hedges_g_z"


# --- families and the gatekeeper --------------------------------------------------------


def test_an_unclear_signature_does_not_change_directional_q_values():
    adata = _random(seed=4)
    base = tl.compare(adata, **SC, signatures=SIGS[:3], composition=False)
    adata.obsm["mekscore_mean"]["extra"] = np.random.default_rng(1).normal(size=adata.n_obs)
    custom = Signature.custom("extra", up=["CD8A"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        more = tl.compare(adata, **SC, signatures=[*SIGS, custom], composition=False)
    shared = more[more["signature"].isin(SIGS[:3])].reset_index(drop=True)
    assert shared["q_value"].to_numpy() == pytest.approx(base["q_value"].to_numpy())
    assert _row(more, "checkpoint_ligands")["verdict"] == "no expected direction"


def test_pd_not_confirmed_flags_every_other_row():
    rng = np.random.default_rng(5)
    values = {f"v{k}": [rng.normal(), rng.normal() - 3] for k in range(4)}
    values |= {f"t{k}": [rng.normal(), rng.normal() + 3] for k in range(4)}
    adata = _scored(values)
    table = tl.compare(adata, **SC)
    status = adata.uns["mekscore_compare"]["parameters"]["pd_status"]
    assert status.startswith("not confirmed: mapk_output_mpas in tumor no change detected")
    mhc1 = _row(table, "mhc1_apm")
    assert mhc1["verdict"] == "consistent" and "PD not confirmed" in mhc1["flag"]
    assert _row(table, "mapk_output_mpas")["family"] == "pharmacodynamic"


def test_pd_confirmed_leaves_rows_unflagged():
    rng = np.random.default_rng(6)
    values = {f"v{k}": [rng.normal() + 3, rng.normal()] for k in range(4)}
    values |= {f"t{k}": [rng.normal() - 3, rng.normal()] for k in range(4)}
    adata = _scored(values)
    table = tl.compare(adata, **SC)
    assert adata.uns["mekscore_compare"]["parameters"]["pd_status"].startswith("confirmed")
    assert _row(table, "mhc1_apm")["flag"] == ""


# --- signatures and scoring settings ----------------------------------------------------


def test_signatures_filter_stored_scores_and_unknown_ids_are_refused():
    adata = _random()
    table = tl.compare(adata, **SC, signatures="mhc1_apm,tcr_erk_activation", composition=False)
    assert table["signature"].tolist() == ["mhc1_apm", "tcr_erk_activation", "mapk_output_mpas"]
    alone = tl.compare(
        adata, **SC, signatures="mhc1_apm,tcr_erk_activation", composition=False, pd_control=False
    )
    assert alone["signature"].tolist() == ["mhc1_apm", "tcr_erk_activation"]
    with pytest.raises(InputError, match="nk_activation not in the stored scores"):
        tl.compare(adata, **SC, signatures=["nk_activation"])


def test_score_settings_reach_the_pseudobulk_path_and_are_recorded():
    adata = simulate_study(seed=2, n_cells_mean=120, n_genes=600)
    adata.var["symbol"] = adata.var_names
    adata.var_names = [f"ID{i}" for i in range(adata.n_vars)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = tl.compare(
            adata,
            **SC,
            method="ucell",
            signatures=["mhc1_apm"],
            score_kwargs={"gene_symbols": "symbol", "max_rank": 50},
        )
        default = tl.compare(
            adata,
            **SC,
            method="ucell",
            signatures=["mhc1_apm"],
            score_kwargs={"gene_symbols": "symbol"},
        )
    params = adata.uns["mekscore_compare"]["parameters"]
    assert params["aggregate"] == "pseudobulk" and params["normalization"] == "log1p(CP10k)"
    assert params["score_settings"] == {"gene_symbols": "symbol"}
    assert table["difference"].iloc[0] != pytest.approx(default["difference"].iloc[0])
    with pytest.raises(InputError, match="score settings cannot set method"):
        tl.compare(adata, **SC, score_kwargs={"method": "mean"})


def test_mpas_gates_when_both_pharmacodynamic_readouts_are_present():
    base = {
        "family": "pharmacodynamic",
        "expected": "down",
        "ci_high": -0.5,
        "ci_low": -2.0,
        "verdict": "",
        "reason": "",
        "flag": "",
        "compartment": "tumor",
    }
    table = pd.DataFrame(
        [
            {**base, "signature": "progeny_mapk", "p_value": 0.001, "observed": "down"},
            {
                **base,
                "signature": "mapk_output_mpas",
                "p_value": 0.4,
                "observed": "down",
                "ci_low": -1.0,
                "ci_high": 0.4,
            },
        ]
    )
    out, statuses = add_verdicts(table, 0.05)
    assert statuses[""].startswith("not confirmed: mapk_output_mpas in tumor")
    assert out.loc[0, "verdict"] == "consistent" and out.loc[0, "family"] == "pharmacodynamic"


def test_inplace_false_leaves_adata_untouched():
    adata = _random()
    before = set(adata.uns)
    table = tl.compare(adata, **SC, inplace=False, key_added="x")
    assert set(adata.uns) == before and len(table)
    tl.compare(adata, **SC, key_added="x")
    assert set(adata.uns["x"]) >= {"parameters", "results", "samples", "composition"}


def test_one_sample_per_arm_is_refused_before_any_scoring():
    adata = _random(n_per_arm=3)
    one = adata[adata.obs["sample"].isin(["v0", "t0", "t1"])].copy()
    with pytest.raises(InputError, match=r"arm 'vehicle' has 1 sample; every arm needs >= 2"):
        tl.compare(one, **SC)
    paired = adata[adata.obs["sample"].isin(["v0", "t0", "v1"])].copy()
    with pytest.raises(InputError, match=r"1 complete pair\(s\) with arm .*at least 2 pairs"):
        tl.compare(paired, **SC, pair_key="patient")


def test_cells_without_a_condition_are_left_out_and_noted():
    adata = _random(n_per_arm=4)
    adata.obs["condition"] = adata.obs["condition"].astype(object)
    adata.obs.loc[adata.obs_names[adata.obs["sample"] == "v0"][:1], "condition"] = np.nan
    table = tl.compare(adata, **SC, min_cells=1, qc=False)
    notes = adata.uns["mekscore_compare"]["parameters"]["notes"]
    assert any(n.startswith("1 observation(s) without a 'condition' label left out") for n in notes)
    assert _row(table, "mhc1_apm")["n_control"] == 4


def test_every_warning_of_a_run_is_a_note_in_the_record():
    adata = simulate_study(seed=4, n_genes=300, n_cells_mean=30)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        tl.compare(adata, **SC, method="mean", aggregate="mean", qc=False)
    notes = adata.uns["mekscore_compare"]["parameters"]["notes"]
    raw_counts = [n for n in notes if "looks like raw counts" in n]
    assert raw_counts, notes
    assert any("looks like raw counts" in str(w.message) for w in shown)  # still warned
