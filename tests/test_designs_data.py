"""The bundled multi-arm examples: the design the README states, its planted effects, and
that the generator writes the committed files."""

from __future__ import annotations

import runpy

import numpy as np
import pandas as pd
import pytest
from scipy import sparse, stats

from mekscore import datasets
from mekscore.genes.match import detect_species
from mekscore.sig import get

MIN_CELLS = 10  # tl.compare's default: smaller compartments of a sample are left out
ARMS = ["vehicle", "cobi", "aPDL1", "combo"]
ALL_CELLS = ["Tumor", "CD8 T", "CD4 T", "Treg", "Myeloid", "NK", "B"]


@pytest.fixture(scope="module")
def four_arm():
    return datasets.load_example_four_arm()


@pytest.fixture(scope="module")
def cohort():
    return datasets.load_example_cohort()


@pytest.fixture(scope="module")
def generator():
    return runpy.run_path(str(datasets.example_data_dir() / "make_example_data.py"))


def _program(adata, sig_id: str, cell_types: list[str], species: str = "mouse") -> pd.Series:
    """Per sample: mean log(CPM + 1) of the signature's up genes in the pseudobulk of the
    sample's ``cell_types`` cells (NaN below ``MIN_CELLS`` cells)."""
    cells = adata.obs["cell_type"].isin(cell_types).to_numpy()
    samples = adata.obs["sample"].astype(str).to_numpy()[cells]
    membership = pd.get_dummies(samples).astype(float)
    summed = sparse.csr_matrix(membership.to_numpy().T) @ adata.layers["counts"][cells]
    sums = pd.DataFrame(summed.toarray(), index=membership.columns, columns=adata.var_names)
    sums = sums[membership.sum().to_numpy() >= MIN_CELLS]
    log_cpm = np.log1p(sums.div(sums.sum(axis=1), axis=0) * 1e6)
    up = list(get(sig_id).for_species(species)[0])
    return log_cpm[up].mean(axis=1)


def _sheet(adata) -> pd.DataFrame:
    sheet = adata.obs.groupby("sample", observed=True)[["arm", "batch"]].first()
    sheet.index = sheet.index.astype(str)
    return sheet.astype(str)


def _two_way(values: pd.Series, sheet: pd.DataFrame) -> pd.DataFrame:
    """OLS ``value ~ MEKi * ICI + batch`` on the samples with a value: estimate and p."""
    sheet = sheet.loc[values.dropna().index]
    meki = sheet["arm"].isin(["cobi", "combo"]).to_numpy(float)
    ici = sheet["arm"].isin(["aPDL1", "combo"]).to_numpy(float)
    X = np.column_stack([np.ones(len(sheet)), meki, ici, meki * ici, sheet["batch"] == "B2"])
    y = values.loc[sheet.index].to_numpy()
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    df = len(y) - X.shape[1]
    sigma2 = np.sum((y - X @ beta) ** 2) / df
    se = np.sqrt(np.diag(sigma2 * np.linalg.inv(X.T @ X)))
    p = 2 * stats.t.sf(np.abs(beta / se), df)
    return pd.DataFrame({"est": beta, "p": p}, index=["icpt", "MEKi", "ICI", "MEKi:ICI", "B2"])


# --- four-arm mouse study ------------------------------------------------------------------


def test_four_arm_file_is_small(four_arm):
    assert (datasets.example_data_dir() / datasets.FOUR_ARM_FILE).stat().st_size < 6e6


def test_four_arm_layout(four_arm):
    assert sparse.isspmatrix_csr(four_arm.X) and four_arm.X.dtype == np.float32
    counts = four_arm.layers["counts"]
    assert np.array_equal(counts.data, np.round(counts.data))
    rows = counts[:50].toarray()
    expected = np.log1p(rows / rows.sum(axis=1, keepdims=True) * 1e4)
    np.testing.assert_allclose(four_arm.X[:50].toarray(), expected, rtol=1e-5, atol=1e-6)
    assert list(four_arm.obs.columns) == ["sample", "arm", "batch", "cell_type"]
    assert four_arm.obsm["X_umap"].shape == (four_arm.n_obs, 2)
    assert detect_species(four_arm.var_names) == "mouse"
    assert {"Dusp6", "H2-K1", "Gzma", "Cd8b1"} <= set(four_arm.var_names)


def test_four_arm_design_is_the_readme_table(four_arm):
    sheet = _sheet(four_arm)
    assert four_arm.obs["arm"].cat.categories.tolist() == ARMS
    assert sheet.groupby(["arm", "batch"]).size().to_dict() == {
        (arm, batch): 2 for arm in ARMS for batch in ("B1", "B2")
    }
    assert sheet.index.tolist() == [f"M{i:02d}" for i in range(1, 17)]
    assert dict(four_arm.uns["arms"]) == {
        "vehicle": "",
        "cobi": "MEKi",
        "aPDL1": "ICI",
        "combo": "MEKi+ICI",
    }
    assert set(four_arm.uns["planted"]) == {"MEKi", "ICI", "MEKi:ICI"}


@pytest.mark.parametrize(
    ("sig_id", "cell_types", "term", "planted"),
    [
        ("mapk_output_mpas", ["Tumor"], "MEKi", np.log(0.5)),
        ("mhc1_apm", ["Tumor"], "MEKi", np.log(1.5)),
        ("tumor_myeloid_secretome", ["Tumor"], "MEKi", np.log(0.6)),
        ("tcr_erk_activation", ["CD8 T"], "MEKi", np.log(0.6)),
        ("cd8_stem_memory", ["CD8 T"], "MEKi", np.log(1.5)),
        ("mdsc_suppressive", ["Myeloid"], "MEKi", np.log(0.6)),
        ("ifng_ayers6", ALL_CELLS, "ICI", np.log(1.8)),
        ("cytolytic_rooney", ["CD8 T"], "ICI", np.log(2.0)),
        ("tis_gep18", ALL_CELLS, "MEKi:ICI", np.log(1.6)),
    ],
)
def test_four_arm_planted_effects_are_found_in_per_sample_pseudobulk(
    four_arm, sig_id, cell_types, term, planted
):
    fit = _two_way(_program(four_arm, sig_id, cell_types), _sheet(four_arm))
    assert fit.loc[term, "p"] < 0.05
    assert np.sign(fit.loc[term, "est"]) == np.sign(planted)
    assert fit.loc[term, "est"] == pytest.approx(planted, abs=0.35)


def test_four_arm_checkpoint_alone_leaves_mapk_output_unchanged(four_arm):
    mapk = _program(four_arm, "mapk_output_mpas", ["Tumor"])
    arm = _sheet(four_arm)["arm"]
    checkpoint, vehicle = mapk[arm == "aPDL1"], mapk[arm == "vehicle"]
    assert stats.ttest_ind(checkpoint, vehicle, equal_var=False).pvalue > 0.05
    assert abs(checkpoint.mean() - vehicle.mean()) < 0.2
    assert abs(_two_way(mapk, _sheet(four_arm)).loc["ICI", "est"]) < 0.2


@pytest.mark.parametrize(
    ("sig_id", "cell_types"),
    [("mhc2_presentation", ["Tumor"]), ("tam_m2", ["Myeloid"]), ("cd8_tex_terminal", ["CD8 T"])],
)
def test_four_arm_unplanted_programs_do_not_move(four_arm, sig_id, cell_types):
    fit = _two_way(_program(four_arm, sig_id, cell_types), _sheet(four_arm))
    assert (fit.loc[["MEKi", "ICI", "MEKi:ICI"], "est"].abs() < 0.3).all()


def test_committed_four_arm_counts_are_what_the_generator_simulates(four_arm, generator):
    fresh = generator["four_arm_counts"]()
    assert list(fresh.var_names) == list(four_arm.var_names)
    assert (fresh.layers["counts"] != four_arm.layers["counts"]).nnz == 0
    pd.testing.assert_frame_equal(fresh.obs, four_arm.obs)


# --- patient cohort ------------------------------------------------------------------------


def _changes(cohort, sig_id: str, later: str, earlier: str) -> pd.DataFrame:
    """Per patient with both biopsies: the change of the program, with arm and response."""
    log_cpm = np.log1p(cohort.X / cohort.X.sum(axis=1, keepdims=True) * 1e6)
    columns = cohort.var_names.get_indexer(list(get(sig_id).up))
    obs = cohort.obs.astype(str).assign(value=log_cpm[:, columns].mean(axis=1))
    wide = obs.pivot(index="patient", columns="timepoint", values="value")
    patients = obs.groupby("patient")[["arm", "response"]].first()
    return patients.assign(change=wide[later] - wide[earlier]).dropna()


def test_cohort_design_is_the_readme_table(cohort):
    obs = cohort.obs
    assert list(obs.columns) == ["patient", "arm", "timepoint", "response"]
    assert obs["timepoint"].cat.categories.tolist() == ["pre", "on", "progression"]
    patients = obs.groupby("patient", observed=True)[["arm", "response"]].first().astype(str)
    assert patients.value_counts().to_dict() == {
        (arm, response): 4 for arm in ("ICI", "ICI+MEKi") for response in ("R", "NR")
    }
    taken = set(zip(obs["patient"].astype(str), obs["timepoint"].astype(str), strict=True))
    every = {(f"P{i:02d}", t) for i in range(1, 17) for t in ("pre", "on", "progression")}
    assert every - taken == {
        ("P01", "progression"),
        ("P03", "progression"),
        ("P09", "progression"),
        ("P11", "progression"),
        ("P06", "on"),
        ("P14", "on"),
    }
    assert np.array_equal(cohort.X, np.round(cohort.X)) and cohort.X.min() >= 0


def test_cohort_meki_lowers_mapk_output_on_treatment_only_in_its_arm(cohort):
    changes = _changes(cohort, "mapk_output_mpas", "on", "pre")
    meki, ici = (changes.loc[changes["arm"] == a, "change"] for a in ("ICI+MEKi", "ICI"))
    assert meki.mean() - ici.mean() < -0.3  # the difference of the on-treatment changes
    assert stats.ttest_ind(meki, ici, equal_var=False).pvalue < 0.01
    assert abs(ici.mean()) < 0.15


def test_cohort_mapk_output_rebounds_at_progression_in_the_meki_arm(cohort):
    rebound = _changes(cohort, "mapk_output_mpas", "progression", "on")
    overall = _changes(cohort, "mapk_output_mpas", "progression", "pre")
    in_meki = rebound["arm"] == "ICI+MEKi"
    assert rebound.loc[in_meki, "change"].mean() > 0.3
    assert stats.ttest_1samp(rebound.loc[in_meki, "change"], 0.0).pvalue < 0.05
    assert abs(overall.loc[overall["arm"] == "ICI+MEKi", "change"].mean()) < 0.15


def test_cohort_checkpoint_effects_are_stronger_in_responders_in_both_arms(cohort):
    changes = _changes(cohort, "ifng_ayers6", "on", "pre")
    means = changes.groupby(["arm", "response"])["change"].mean()
    for arm in ("ICI", "ICI+MEKi"):
        assert means[(arm, "R")] > means[(arm, "NR")] + 0.3
        assert means[(arm, "NR")] > 0
    arms = changes.groupby("arm")["change"].mean()
    assert abs(arms["ICI+MEKi"] - arms["ICI"]) < 0.15  # the same agent in both arms


def test_cohort_responders_start_more_inflamed(cohort):
    pre = cohort[cohort.obs["timepoint"] == "pre"]
    log_cpm = np.log1p(pre.X / pre.X.sum(axis=1, keepdims=True) * 1e6)
    tis = log_cpm[:, pre.var_names.get_indexer(list(get("tis_gep18").up))].mean(axis=1)
    responder = (pre.obs["response"] == "R").to_numpy()
    assert tis[responder].mean() - tis[~responder].mean() > 0.15


def test_committed_cohort_files_are_what_the_generator_writes(generator):
    counts, sheet = generator["example_cohort"]()
    folder = datasets.example_data_dir()
    committed = pd.read_csv(folder / datasets.COHORT_COUNTS_FILE, index_col=0)
    pd.testing.assert_frame_equal(counts, committed, check_names=False)
    pd.testing.assert_frame_equal(sheet, pd.read_csv(folder / datasets.COHORT_SAMPLES_FILE))
