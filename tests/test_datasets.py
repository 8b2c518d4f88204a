"""mekscore.datasets: the bundled example files load, have their documented shape and effects."""

from __future__ import annotations

import runpy

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from mekscore import datasets
from mekscore.sig import get

MAX_FILE_MB = 10


# the installed wheel's copy is checked in tests/test_project.py (it builds the wheel)
def test_example_data_dir_holds_the_example_files():
    assert (datasets.example_data_dir() / datasets.SCRNA_FILE).is_file()


@pytest.mark.parametrize(
    "name",
    [
        datasets.SCRNA_FILE,
        datasets.BULK_COUNTS_FILE,
        datasets.BULK_SAMPLES_FILE,
        datasets.WU2020_FILE,
        datasets.FOUR_ARM_FILE,
        datasets.COHORT_COUNTS_FILE,
        datasets.COHORT_SAMPLES_FILE,
    ],
)
def test_example_files_are_small(name):
    assert (datasets.example_data_dir() / name).stat().st_size < MAX_FILE_MB * 1e6


def test_missing_file_names_the_regeneration_command(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets, "example_data_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError, match="make_example_data.py"):
        datasets.load_example_scrna()


def test_bulk_sheet_and_counts_must_name_the_same_samples(monkeypatch, tmp_path):
    src = datasets.example_data_dir()
    counts = pd.read_csv(src / datasets.BULK_COUNTS_FILE, index_col=0)
    counts.iloc[:, :-1].to_csv(tmp_path / datasets.BULK_COUNTS_FILE)
    (tmp_path / datasets.BULK_SAMPLES_FILE).write_bytes(
        (src / datasets.BULK_SAMPLES_FILE).read_bytes()
    )
    monkeypatch.setattr(datasets, "example_data_dir", lambda: tmp_path)
    with pytest.raises(ValueError, match="different samples"):
        datasets.load_example_bulk()


def test_wu2020_cut_keeps_the_real_counts_and_their_normalisation(reference):
    cut = datasets.load_wu2020_tcells()
    full = ad.read_h5ad(reference("wu2020_tcells_200cells_scirpy.h5ad"))
    assert list(cut.obs_names) == list(full.obs_names)
    counts = full[:, cut.var_names].X.toarray()
    assert np.array_equal(cut.layers["counts"].toarray(), counts)
    totals = np.asarray(full.X.sum(axis=1))  # library size over all 30,727 genes
    expected = np.log1p(counts / totals * 1e4)
    np.testing.assert_allclose(cut.X.toarray(), expected, rtol=1e-6, atol=1e-6)
    for col in ("patient", "sample", "source", "cluster_orig"):
        assert (cut.obs[col].astype(str) == full.obs[col].astype(str)).all()


def test_wu2020_cut_keeps_the_library_genes_it_can():
    cut = datasets.load_wu2020_tcells()
    assert sparse.isspmatrix_csr(cut.X) and cut.X.dtype == np.float32
    for sig_id in ("cd8_tex_terminal", "cd8_stem_memory", "tcr_erk_activation"):
        assert set(get(sig_id).genes) <= set(cut.var_names)


@pytest.fixture(scope="module")
def scrna():
    return datasets.load_example_scrna()


@pytest.fixture(scope="module")
def bulk():
    return datasets.load_example_bulk()


def test_scrna_layout(scrna):
    assert sparse.isspmatrix_csr(scrna.X) and scrna.X.dtype == np.float32
    counts = scrna.layers["counts"]
    assert sparse.issparse(counts) and np.array_equal(counts.data, np.round(counts.data))
    rows = counts[:50].toarray()
    expected = np.log1p(rows / rows.sum(axis=1, keepdims=True) * 1e4)
    np.testing.assert_allclose(scrna.X[:50].toarray(), expected, rtol=1e-5, atol=1e-6)
    assert scrna.obsm["X_umap"].shape == (scrna.n_obs, 2)
    assert set(scrna.obs["cell_type"].cat.categories) == {
        "Tumor",
        "CD8 T",
        "CD4 T",
        "Treg",
        "Myeloid",
        "NK",
        "B",
        "DC",
    }
    samples = scrna.obs.groupby("sample", observed=True)["condition"].first()
    assert samples.value_counts().to_dict() == {"vehicle": 5, "trametinib": 5}
    sizes = scrna.obs["sample"].value_counts()
    assert sizes.max() > 2 * sizes.min(), "cell numbers per sample should be unequal"
    for sig_id in ("mapk_output_mpas", "mhc1_apm", "tcr_erk_activation", "cd8_stem_memory"):
        assert set(get(sig_id).genes) <= set(scrna.var_names)


def _log_fold_change(adata, sig_id, cell_types):
    """Mean over the signature's genes of the treated - vehicle mean log(CPM + 1).

    CPM of each sample's pseudobulk over the given cell types (the sample is the replicate).
    """
    keep = adata.obs["cell_type"].isin(cell_types).to_numpy()
    sub = adata[keep]
    membership = pd.get_dummies(sub.obs["sample"].astype(str)).astype(float)
    summed = sparse.csr_matrix(membership.to_numpy().T) @ sub.layers["counts"]
    sums = pd.DataFrame(summed.toarray(), index=membership.columns, columns=sub.var_names)
    log_cpm = np.log1p(sums.div(sums.sum(axis=1), axis=0) * 1e6)[list(get(sig_id).genes)]
    condition = sub.obs.groupby("sample", observed=True)["condition"].first()
    treated = log_cpm.loc[condition[condition == "trametinib"].index.astype(str)]
    control = log_cpm.loc[condition[condition == "vehicle"].index.astype(str)]
    return float((treated.mean() - control.mean()).mean())


@pytest.mark.parametrize(
    ("sig_id", "cell_types", "fold"),
    [
        ("mapk_output_mpas", ["Tumor"], 0.5),
        ("mhc1_apm", ["Tumor"], 1.5),
        ("tumor_myeloid_secretome", ["Tumor"], 0.6),
        ("tcr_erk_activation", ["CD8 T"], 0.6),
        ("mdsc_suppressive", ["Myeloid"], 0.6),
        ("cd8_stem_memory", ["CD8 T"], 1.5),
        ("mhc2_presentation", ["Tumor"], 1.0),
        ("tam_m2", ["Myeloid"], 1.0),
        ("cd8_tex_terminal", ["CD8 T"], 1.0),
    ],
)
def test_scrna_planted_effects_match_the_readme_table(scrna, sig_id, cell_types, fold):
    planted = scrna.uns["planted"]
    if fold != 1.0:
        assert planted[sig_id]["fold_change"] == fold
    else:
        assert sig_id not in planted
    assert _log_fold_change(scrna, sig_id, cell_types) == pytest.approx(np.log(fold), abs=0.15)


def test_bulk_is_a_paired_design_of_integer_counts(bulk):
    assert bulk.n_obs == 16 and bulk.n_vars >= 1500
    assert np.array_equal(bulk.X, np.round(bulk.X)) and bulk.X.min() >= 0
    per_patient = bulk.obs.groupby("patient", observed=True)["timepoint"].apply(sorted)
    assert all(tp == ["on", "pre"] for tp in per_patient)


@pytest.mark.parametrize(
    ("sig_id", "direction", "at_least"),
    [
        ("mapk_output_mpas", -1, 0.3),  # tumour programs: the biopsies are ~65% tumour
        ("mhc1_apm", 1, 0.3),
        ("tcr_erk_activation", -1, 0.1),  # T-cell program, diluted by the tumour
        ("mhc2_presentation", 0, None),
        ("tam_m2", 0, None),
    ],
)
def test_bulk_planted_effects_show_in_paired_log_cpm(bulk, sig_id, direction, at_least):
    log_cpm = pd.DataFrame(
        np.log1p(bulk.X / bulk.X.sum(axis=1, keepdims=True) * 1e6),
        index=pd.MultiIndex.from_frame(bulk.obs[["patient", "timepoint"]].astype(str)),
        columns=bulk.var_names,
    )[list(get(sig_id).genes)]
    change = (log_cpm.xs("on", level="timepoint") - log_cpm.xs("pre", level="timepoint")).mean()
    if direction:
        assert np.sign(change.mean()) == direction and abs(change.mean()) > at_least
    else:
        assert abs(change.mean()) < 0.1


def test_simulated_proportions_make_tumour_dominated_samples():
    common = {"n_samples_per_arm": 3, "n_cells_mean": 400, "n_genes": 500, "seed": 3}
    default = datasets.simulate_study(**common)
    tumour_rich = datasets.simulate_study(**common, proportions={"Tumor": 1.2})
    assert (default.obs["cell_type"] == "Tumor").mean() < 0.45
    assert (tumour_rich.obs["cell_type"] == "Tumor").mean() > 0.55
    with pytest.raises(ValueError, match="not simulated"):
        datasets.simulate_study(**common, proportions={"DC": 1.0})
    with pytest.raises(ValueError, match="> 0"):
        datasets.simulate_study(**common, proportions={"Tumor": 0})


def test_committed_bulk_files_are_what_the_generator_writes():
    script = datasets.example_data_dir() / "make_example_data.py"
    counts, sheet = runpy.run_path(str(script))["example_bulk"]()
    committed = pd.read_csv(datasets.example_data_dir() / datasets.BULK_COUNTS_FILE, index_col=0)
    pd.testing.assert_frame_equal(counts, committed, check_names=False)
    committed_sheet = pd.read_csv(datasets.example_data_dir() / datasets.BULK_SAMPLES_FILE)
    pd.testing.assert_frame_equal(sheet, committed_sheet)
