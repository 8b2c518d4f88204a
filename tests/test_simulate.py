"""The seeded study simulator: structure, determinism, planted effects, bulk = pseudobulk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from mekscore.datasets import simulate_study
from mekscore.datasets._simulate import (
    BIOLOGY_EFFECTS,
    MARKERS,
    SIMULATED_SIGNATURES,
    gene_universe,
)
from mekscore.pp import log_normalize
from mekscore.sig import load_library

SMALL = {"n_samples_per_arm": 3, "n_cells_mean": 150, "n_genes": 600}


def _tumour_pseudobulk(adata, genes) -> pd.DataFrame:
    """Summed counts of ``genes`` over tumour cells per sample, as a share of all counts."""
    tumour = (adata.obs["cell_type"] == "Tumor").to_numpy()
    X = adata.layers["counts"][tumour]
    cols = adata.var_names.get_indexer(genes)
    share = np.asarray(X[:, cols].sum(axis=1)).ravel() / np.asarray(X.sum(axis=1)).ravel()
    frame = pd.DataFrame({"share": share, "sample": adata.obs["sample"].to_numpy()[tumour]})
    frame["condition"] = adata.obs["condition"].to_numpy()[tumour]
    return frame.groupby("condition", observed=True)["share"].mean()


def test_structure():
    adata = simulate_study(seed=3, **SMALL)
    assert sparse.isspmatrix_csr(adata.X) and adata.X.dtype == np.float32
    assert (adata.X != adata.layers["counts"]).nnz == 0
    assert {"sample", "condition", "cell_type"} <= set(adata.obs.columns)
    assert adata.obs["condition"].cat.categories.tolist() == ["vehicle", "trametinib"]
    assert adata.obs["sample"].nunique() == 6
    assert adata.var_names.is_unique and adata.n_vars == 600
    library = load_library()
    library_genes = {g for sid in SIMULATED_SIGNATURES for g in library[sid].genes}
    assert library_genes <= set(adata.var_names)
    assert np.array_equal(adata.X.data, np.round(adata.X.data))
    sizes = adata.obs.groupby("sample", observed=True).size()
    assert sizes.nunique() > 1  # unequal cells per sample
    assert set(adata.uns["planted"]) == set(BIOLOGY_EFFECTS)


def test_same_seed_same_data_other_seed_differs():
    a, b = simulate_study(seed=5, **SMALL), simulate_study(seed=5, **SMALL)
    c = simulate_study(seed=6, **SMALL)
    assert (a.X != b.X).nnz == 0 and a.obs.equals(b.obs)
    assert a.shape != c.shape or (a.X != c.X).nnz > 0


def test_markers_mark_their_cell_type():
    adata = simulate_study(seed=1, effects="none", **SMALL)
    log_normalize(adata, counts_layer="counts")
    assert (adata.layers["counts"] != adata.X).nnz > 0  # X is now log-normalised
    cd8 = (adata.obs["cell_type"] == "CD8 T").to_numpy()
    col = adata.var_names.get_loc("CD8B")
    counts = adata.layers["counts"][:, col].toarray().ravel()
    assert counts[cd8].mean() > 4 * counts[~cd8].mean()


def test_planted_fold_changes_are_recovered():
    mapk = list(load_library()["mapk_output_mpas"].up)
    kwargs = {"n_samples_per_arm": 3, "n_cells_mean": 400, "n_genes": 600, "sample_sd": 0.0}
    planted = _tumour_pseudobulk(simulate_study(seed=2, **kwargs), mapk)
    assert planted["trametinib"] / planted["vehicle"] == pytest.approx(0.5, rel=0.12)
    null = _tumour_pseudobulk(simulate_study(seed=2, effects="none", **kwargs), mapk)
    assert null["trametinib"] / null["vehicle"] == pytest.approx(1.0, rel=0.12)


def test_custom_effects_in_own_compartment():
    adata = simulate_study(seed=0, effects={"mhc1_apm": 3.0}, **SMALL)
    assert adata.uns["planted"] == {"mhc1_apm": {"fold_change": 3.0, "compartments": ["tumor"]}}


def test_bulk_is_the_pseudobulk_of_the_single_cell_study():
    cells = simulate_study(seed=4, **SMALL)
    bulk = simulate_study(seed=4, bulk=True, **SMALL)
    assert bulk.n_obs == 6 and list(bulk.obs_names) == list(bulk.obs["sample"])
    summed = pd.DataFrame(cells.X.toarray(), columns=cells.var_names)
    summed = summed.groupby(cells.obs["sample"].to_numpy()).sum().loc[bulk.obs_names]
    assert np.array_equal(summed.to_numpy(), bulk.X)
    assert (
        bulk.obs["n_cells"].tolist() == cells.obs["sample"].value_counts()[bulk.obs_names].tolist()
    )


def test_paired_design_has_one_pre_and_one_on_sample_per_patient():
    bulk = simulate_study(seed=0, paired=True, bulk=True, **SMALL)
    per_patient = bulk.obs.groupby("patient", observed=True)["condition"].agg(sorted)
    assert all(v == ["trametinib", "vehicle"] for v in per_patient)
    cells = simulate_study(seed=0, paired=True, **SMALL)
    assert "patient" in cells.obs and cells.obs["patient"].nunique() == 3


def test_paired_samples_share_patient_offsets():
    """Within-patient correlation of gene-level log expression beats between-patient."""
    bulk = simulate_study(
        seed=8, paired=True, bulk=True, effects="none", n_samples_per_arm=4, n_genes=600
    )
    logcpm = np.log1p(bulk.X / bulk.X.sum(axis=1, keepdims=True) * 1e6)
    centred = logcpm - logcpm.mean(axis=0)
    corr = np.corrcoef(centred)
    patients = bulk.obs["patient"].to_numpy()
    same = patients[:, None] == patients[None, :]
    off_diagonal = ~np.eye(len(patients), dtype=bool)
    assert corr[same & off_diagonal].mean() > corr[~same].mean() + 0.3


def test_extra_cell_types_and_markers():
    adata = simulate_study(seed=0, cell_types=("Tumor", "DC"), **SMALL)
    assert set(adata.obs["cell_type"].cat.categories) == {"Tumor", "DC"}
    assert set(MARKERS["DC"]) <= set(adata.var_names)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_genes": 50}, "n_genes=50 is smaller"),
        ({"cell_types": ("Tumor", "Astrocyte")}, "unknown cell types"),
        ({"effects": {"not_a_signature": 2.0}}, "does not model"),
        ({"effects": {"mhc1_apm": 0.0}}, "fold change must be > 0"),
        ({"effects": "strong"}, "use 'biology', 'none' or a dict"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        simulate_study(**{**SMALL, **kwargs})


def test_gene_universe_names():
    genes = gene_universe(500)
    assert len(genes) == len(set(genes)) == 500
    assert genes[-1] == f"GENE{500 - sum(not g.startswith('GENE') for g in genes):04d}"
