"""The multi-arm design simulator: sample sheets, terms, planted effects, offsets, species."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mekscore.datasets import SimulatedDesign, SimulationSettings, simulate_design
from mekscore.datasets._designs import MOUSE_MARKERS, mouse_symbols
from mekscore.datasets._simulate import BIOLOGY_EFFECTS, MARKERS, SIMULATED_SIGNATURES
from mekscore.errors import InputError
from mekscore.genes.match import detect_species
from mekscore.sig import load_library

FOUR_ARMS = {"vehicle": [], "cobi": ["MEKi"], "aPDL1": ["ICI"], "combo": ["MEKi", "ICI"]}
SMALL = SimulationSettings(n_cells_mean=60, n_genes=500)
QUIET = SimulationSettings(n_cells_mean=300, n_genes=500, sample_sd=0.0, concentration=1e4)


def _four_arm(**kwargs) -> SimulatedDesign:
    return SimulatedDesign(arms=FOUR_ARMS, **{"n_per_arm": 2, **kwargs})


def _cohort(**kwargs) -> SimulatedDesign:
    return SimulatedDesign(
        arms={"ICI": ["ICI"], "ICI+MEKi": ["ICI", "MEKi"]},
        timepoints={"pre": False, "on": True, "progression": True},
        factors={"response": ["R", "NR"]},
        subject_key="patient",
        subject_prefix="P",
        **{"n_per_arm": 2, **kwargs},
    )


def _log_ratio(adata, genes, cell_type) -> pd.Series:
    """Per sample: log of the summed counts of ``genes`` in ``cell_type`` over those of the
    background genes (never planted, so library-size shifts cancel)."""
    cells = (adata.obs["cell_type"] == cell_type).to_numpy()
    X = adata.layers["counts"][cells]
    background = adata.var_names.str.startswith("GENE")
    frame = pd.DataFrame(
        {
            "g": np.asarray(X[:, adata.var_names.get_indexer(genes)].sum(axis=1)).ravel(),
            "background": np.asarray(X[:, background].sum(axis=1)).ravel(),
        },
        index=adata.obs["sample"].astype(str).to_numpy()[cells],
    )
    summed = frame.groupby(level=0).sum()
    return np.log(summed["g"] / summed["background"])


def _by_arm(adata, values: pd.Series) -> pd.Series:
    arm = adata.obs.groupby("sample", observed=True)["arm"].first().astype(str)
    return values.groupby(arm.loc[values.index].to_numpy()).mean()


# --- the design: sample sheet, batches, factors, time points -----------------------------


def test_subjects_are_numbered_across_arms_and_batches_hold_every_arm():
    sheet = SimulatedDesign(arms=FOUR_ARMS, n_per_arm=4, batches=2, subject_prefix="M").samples()
    assert sheet["sample"].tolist()[:5] == ["M01", "M02", "M03", "M04", "M05"]
    assert sheet["arm"].cat.categories.tolist() == list(FOUR_ARMS)
    per_batch = sheet.groupby(["batch", "arm"], observed=True).size().unstack()
    assert (per_batch == 2).all().all() and per_batch.index.tolist() == ["B1", "B2"]


def test_timecourse_sheet_with_factor_and_missing_cells():
    design = _cohort(missing=[("P01", "progression"), ("P04", "on")])
    sheet = design.samples()
    assert list(sheet.columns) == ["sample", "patient", "arm", "timepoint", "response"]
    assert len(sheet) == 4 * 3 - 2 and "P01_progression" not in set(sheet["sample"])
    assert sheet["timepoint"].cat.categories.tolist() == ["pre", "on", "progression"]
    response = sheet.groupby("patient", observed=True)["response"].first().astype(str)
    assert response.to_dict() == {"P01": "R", "P02": "NR", "P03": "R", "P04": "NR"}


def test_factor_levels_and_batches_as_given_per_subject():
    levels = {"S01": "R", "S02": "R", "S03": "NR", "S04": "NR"}
    design = SimulatedDesign(
        arms={"a": [], "b": ["MEKi"]},
        n_per_arm=2,
        factors={"response": levels},
        batches={"S01": "x", "S02": "y", "S03": "x", "S04": "y"},
    )
    sheet = design.samples().set_index("sample")
    assert sheet["response"].astype(str).to_dict() == levels
    assert sheet["batch"].astype(str).tolist() == ["x", "y", "x", "y"]


def test_terms_hold_where_the_time_point_gives_the_agents():
    design = _cohort(n_per_arm=1)
    terms = dict(zip(design.samples()["sample"], design.terms_of(design.samples()), strict=True))
    assert terms["P02_pre"] == {"timepoint=pre", "response=R"}
    assert terms["P02_on"] == {"ICI", "MEKi", "timepoint=on", "response=R"}
    assert terms["P01_progression"] == {"ICI", "timepoint=progression", "response=R"}


# --- simulation: determinism, effects, offsets ---------------------------------------------


def test_same_seed_same_data_other_seed_differs():
    design = _four_arm(batches=2)
    a, b = (simulate_design(design=design, settings=SMALL, seed=3) for _ in range(2))
    c = simulate_design(design=design, settings=SMALL, seed=4)
    assert (a.X != b.X).nnz == 0 and a.obs.equals(b.obs)
    assert a.shape != c.shape or (a.X != c.X).nnz > 0


def test_meki_defaults_to_the_biology_and_uns_records_every_term():
    adata = simulate_design(
        design=_four_arm(),
        effects={"ICI": {"ifng_ayers6": 1.8}, ("MEKi", "ICI"): {"tis_gep18": 1.5}},
        composition={"ICI": {"CD8 T": 1.8}},
        settings=SMALL,
    )
    planted = adata.uns["planted"]
    assert set(planted) == {"MEKi", "ICI", "MEKi:ICI"}
    assert set(planted["MEKi"]) == set(BIOLOGY_EFFECTS)
    assert planted["MEKi:ICI"]["tis_gep18"] == {"fold_change": 1.5, "compartments": ["any"]}
    assert adata.uns["planted_composition"] == {"ICI": {"CD8 T": 1.8}}
    assert adata.uns["arms"] == {"vehicle": "", "cobi": "MEKi", "aPDL1": "ICI", "combo": "MEKi+ICI"}
    none = simulate_design(design=_four_arm(), effects={"MEKi": "none"}, settings=SMALL)
    assert none.uns["planted"] == {"MEKi": {}}


def test_agent_effects_multiply_and_the_interaction_holds_only_where_both_do():
    mapk = list(load_library()["mapk_output_mpas"].up)
    stat = [f"GENE{i:04d}" for i in range(1, 101)]  # unplanted genes
    effects = {
        "MEKi": {"mapk_output_mpas": 0.5},
        "ICI": {"mapk_output_mpas": 0.8},
        ("MEKi", "ICI"): {"mapk_output_mpas": 0.6},
    }
    adata = simulate_design(design=_four_arm(n_per_arm=3), effects=effects, settings=QUIET, seed=2)
    change = _by_arm(adata, _log_ratio(adata, mapk, "Tumor"))
    change -= change["vehicle"]
    assert change["cobi"] == pytest.approx(np.log(0.5), abs=0.12)
    assert change["aPDL1"] == pytest.approx(np.log(0.8), abs=0.12)
    assert change["combo"] == pytest.approx(np.log(0.5 * 0.8 * 0.6), abs=0.12)
    null = _by_arm(adata, _log_ratio(adata, stat, "Tumor"))
    assert (null - null["vehicle"]).abs().max() < 0.12


def test_time_points_without_agents_carry_no_agent_effect():
    mapk = list(load_library()["mapk_output_mpas"].up)
    design = _cohort(n_per_arm=3)
    effects = {("MEKi", "timepoint=progression"): {"mapk_output_mpas": 2.0}}
    adata = simulate_design(design=design, effects=effects, settings=QUIET, seed=1)
    share = _log_ratio(adata, mapk, "Tumor")
    sheet = design.samples().set_index("sample")
    sheet.index = sheet.index.astype(str)
    table = sheet.assign(v=share).pivot(index="patient", columns="timepoint", values="v")
    arm = sheet.groupby("patient", observed=True)["arm"].first().astype(str)
    on = (table["on"] - table["pre"]).groupby(arm).mean()
    late = (table["progression"] - table["pre"]).groupby(arm).mean()
    assert on["ICI+MEKi"] == pytest.approx(np.log(0.5), abs=0.12)  # MEKi biology when given
    assert abs(on["ICI"]) < 0.12 and abs(late["ICI"]) < 0.12
    assert abs(late["ICI+MEKi"]) < 0.12  # x0.5 undone by the x2 at progression


def test_composition_shifts_hold_in_the_arms_with_the_agent():
    design = _four_arm(n_per_arm=3)
    settings = SimulationSettings(n_cells_mean=400, n_genes=500, concentration=1e3)
    adata = simulate_design(
        design=design, composition={"ICI": {"CD8 T": 3.0}}, settings=settings, seed=0
    )
    share = adata.obs.groupby("sample", observed=True)["cell_type"].apply(
        lambda t: (t == "CD8 T").mean()
    )
    by_arm = _by_arm(adata, share)
    assert by_arm["aPDL1"] > 2 * by_arm["vehicle"] and by_arm["combo"] > 2 * by_arm["cobi"]


def _centred_log_cpm(bulk) -> np.ndarray:
    log_cpm = np.log1p(bulk.X / bulk.X.sum(axis=1, keepdims=True) * 1e6)
    return np.corrcoef(log_cpm - log_cpm.mean(axis=0))


def test_samples_of_a_subject_share_offsets_and_batches_have_their_own():
    settings = SimulationSettings(n_cells_mean=300, n_genes=600, batch_sd=0.0)
    bulk = simulate_design(design=_cohort(), effects={"MEKi": "none"}, settings=settings, bulk=True)
    corr = _centred_log_cpm(bulk)
    same = bulk.obs["patient"].to_numpy()[:, None] == bulk.obs["patient"].to_numpy()[None, :]
    assert corr[same & ~np.eye(len(same), dtype=bool)].mean() > corr[~same].mean() + 0.3
    batched = SimulationSettings(n_cells_mean=300, n_genes=600, sample_sd=0.1, batch_sd=0.4)
    bulk = simulate_design(
        design=_four_arm(batches=2), effects={"MEKi": "none"}, settings=batched, bulk=True
    )
    corr = _centred_log_cpm(bulk)
    same = bulk.obs["batch"].to_numpy()[:, None] == bulk.obs["batch"].to_numpy()[None, :]
    assert corr[same & ~np.eye(len(same), dtype=bool)].mean() > corr[~same].mean() + 0.3


def test_bulk_is_the_pseudobulk_of_the_single_cell_study():
    design = _cohort(missing=[("P02", "on")])
    cells = simulate_design(design=design, settings=SMALL, seed=4)
    bulk = simulate_design(design=design, settings=SMALL, seed=4, bulk=True)
    assert list(bulk.obs_names) == bulk.obs["sample"].astype(str).tolist()
    summed = pd.DataFrame(cells.X.toarray(), columns=cells.var_names)
    summed = summed.groupby(cells.obs["sample"].astype(str).to_numpy()).sum()
    assert np.array_equal(summed.loc[bulk.obs_names].to_numpy(), bulk.X)
    sizes = cells.obs["sample"].astype(str).value_counts()[bulk.obs_names]
    assert bulk.obs["n_cells"].tolist() == sizes.tolist()


# --- mouse symbols ------------------------------------------------------------------------


def test_mouse_data_have_every_mouse_signature_gene_and_read_as_mouse():
    adata = simulate_design(design=_four_arm(), settings=SMALL, species="mouse")
    assert adata.var_names.is_unique and detect_species(adata.var_names) == "mouse"
    library = load_library()
    for sid in SIMULATED_SIGNATURES:
        up, down, _ = library[sid].for_species("mouse")
        assert set(up) | set(down) <= set(adata.var_names), sid
    assert {"H2-K1", "H2-D1", "Cd8b1", "Lyz2", "Gene0001"} <= set(adata.var_names)
    assert not {"HLA-C", "ERAP2", "GNLY", "KLRF1", "CD1C"} & set(adata.var_names)


def test_mouse_markers_cover_exactly_the_markers_outside_the_library():
    library = load_library()
    library_genes = {g for sid in SIMULATED_SIGNATURES for g in library[sid].genes}
    markers = {g for genes in MARKERS.values() for g in genes}
    assert set(MOUSE_MARKERS) == markers - library_genes
    symbols = mouse_symbols(sorted(markers | library_genes))
    assert len(set(symbols.values())) == len(symbols)  # no two human genes share a mouse gene


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"arms": {}}, "arms must be a dict"),
        ({"arms": {"a": "MEKi"}}, "is a string; give a list"),
        ({"arms": {"a": ["x=y"]}}, "without '='"),
        ({"arms": FOUR_ARMS, "n_per_arm": 0}, "n_per_arm must be >= 1"),
        ({"arms": FOUR_ARMS, "n_per_arm": {"vehicle": 2}}, "for each arm"),
        ({"arms": FOUR_ARMS, "batches": 0}, "batches must be >= 1"),
        ({"arms": FOUR_ARMS, "missing": [("S01", "on")]}, "give timepoints"),
        ({"arms": FOUR_ARMS, "timepoints": {}}, "at least one time point"),
        (
            {"arms": FOUR_ARMS, "timepoints": {"pre": False}, "missing": [("S99", "pre")]},
            "unknown \\(subject, time point\\)",
        ),
        (
            {
                "arms": FOUR_ARMS,
                "n_per_arm": 1,
                "timepoints": {"pre": False},
                "missing": [("S01", "pre")],
            },
            "removes every sample of",
        ),
        ({"arms": FOUR_ARMS, "factors": {"response": {"S01": "R"}}}, "level for every subject"),
        ({"arms": FOUR_ARMS, "factors": {"response": "R"}}, "needs a list of levels"),
        ({"arms": FOUR_ARMS, "factors": {"batch": ["a"]}}, "clash"),
    ],
)
def test_bad_designs(kwargs, message):
    with pytest.raises(InputError, match=message):
        SimulatedDesign(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"effects": {"PD1": {"ifng_ayers6": 2.0}}}, "'PD1', which is no agent"),
        ({"effects": {("MEKi", "timepoint=on"): {"ifng_ayers6": 2.0}}}, "'timepoint=on'"),
        ({"composition": {"ICI": {"Astrocyte": 2.0}}}, "simulated cell types"),
        ({"composition": {"ICI": {"CD8 T": 0.0}}}, "folds > 0"),
        ({"species": "rat"}, "use 'human' or 'mouse'"),
    ],
)
def test_bad_simulation_arguments(kwargs, message):
    with pytest.raises(InputError, match=message):
        simulate_design(design=_four_arm(), settings=SMALL, **kwargs)


def test_bad_effects_name_the_signatures_the_simulator_models():
    with pytest.raises(ValueError, match="does not model"):
        simulate_design(design=_four_arm(), effects={"ICI": {"no_such_program": 2.0}})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cell_types": ("Tumor", "Astrocyte")}, "unknown cell types"),
        ({"dispersion": 0.0}, "dispersion > 0"),
        ({"batch_sd": -0.1}, "must be >= 0"),
    ],
)
def test_bad_settings(kwargs, message):
    with pytest.raises(InputError, match=message):
        SimulationSettings(**kwargs)
