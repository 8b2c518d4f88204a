"""Bulk context on real data: cultures, cell lines, sorted populations, real-cell mixtures.

Every dataset is vendored in ``tests/data`` (or ships with scanpy), so nothing here skips.
Each test asserts what a biologist expects of the study; the last one checks that no
verdict table contradicts itself, on every real dataset and on the bundled examples.
"""

from __future__ import annotations

import warnings
from functools import cache

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from scipy import sparse

import mekscore as mk
from mekscore import tl
from mekscore.sig.abundance import load_markers
from mekscore.tl._sample_kind import IMMUNE_COMPARTMENTS

from .conftest import reference_path

TUMOUR_PROGRAMS = ("mapk_output_mpas", "progeny_mapk", "mhc1_apm", "tumor_myeloid_secretome")
NCI60_BRAF_V600E = ("COLO 205", "SK-MEL-5", "UACC-257", "UACC-62")  # NCI-60 BRAF status
NOT_DETECTED = "compartment not detected"


def _compare(adata, control, treated, condition_key="condition", **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = tl.compare(
            adata,
            condition_key=condition_key,
            control=control,
            treated=treated,
            sample_key="sample",
            **kwargs,
        )
    return table.set_index("signature"), adata.uns["mekscore_compare"]["parameters"]


# --- the datasets ----------------------------------------------------------------------


@cache
def braf_culture() -> ad.AnnData:
    """Kavran et al. 2022: BRAF-V600E cells, vector / V600E / V600E + LGX818, 3 each."""
    folder = "real_braf_v600e_lgx818"
    adata = mk.io.read_input(reference_path(folder, "expr_counts_symbol.csv.gz"))
    sheet = pd.read_csv(reference_path(folder, "samples.csv"), index_col="sample")
    adata.obs = sheet.loc[adata.obs_names, ["condition", "replicate"]].assign(
        sample=adata.obs_names
    )
    return adata


@cache
def nci60() -> ad.AnnData:
    """NCI-60 P53 panel, 14 cell lines (microarray intensities); BRAF-V600E lines vs others."""
    adata = mk.io.read_input(
        reference_path("ssgsea_genepattern", "P53_14samples_collapsed_symbols.gct")
    )
    braf = np.isin(adata.obs_names, NCI60_BRAF_V600E)
    adata.obs = pd.DataFrame(
        {"sample": adata.obs_names, "braf": np.where(braf, "v600e", "other")},
        index=adata.obs_names,
    )
    return adata


@cache
def pbmc_sorted(population: str) -> ad.AnnData:
    """Six pseudobulk profiles of one sorted pbmc68k population (log data, 765 genes)."""
    pbmc = sc.read_h5ad(reference_path("pbmc68k_reduced_scanpy.h5ad"))
    raw = pbmc.raw.to_adata()
    cells = np.flatnonzero(pbmc.obs["bulk_labels"] == population)
    groups = np.array_split(np.random.default_rng(0).permutation(cells), 6)
    linear = np.expm1(raw.X.toarray() if sparse.issparse(raw.X) else raw.X)
    profiles = np.log1p(np.vstack([linear[g].mean(axis=0) for g in groups]))
    names = [f"s{i}" for i in range(6)]
    obs = pd.DataFrame({"sample": names, "condition": ["a"] * 3 + ["b"] * 3}, index=names)
    return ad.AnnData(profiles, obs=obs, var=pd.DataFrame(index=raw.var_names))


@cache
def wu2020_pseudobulk() -> ad.AnnData:
    """Wu et al. 2020 T cells summed per patient x tissue (tumour or adjacent normal)."""
    cells = sc.read_h5ad(reference_path("wu2020_tcells_200cells_scirpy.h5ad"))
    cells = cells[cells.obs["source"].isin(["Tumor", "NAT"])]
    sample = (cells.obs["patient"].astype(str) + "_" + cells.obs["source"].astype(str)).to_numpy()
    names, which = np.unique(sample, return_inverse=True)
    summing = sparse.csr_matrix((np.ones(len(which)), (which, np.arange(len(which)))))
    counts = np.asarray((summing @ cells.X).todense(), dtype=np.float32)
    obs = pd.DataFrame(
        {
            "sample": names,
            "patient": [n.split("_")[0] for n in names],
            "tissue": [n.split("_")[1] for n in names],
        },
        index=names,
    )
    return ad.AnnData(counts, obs=obs, var=pd.DataFrame(index=cells.var_names))


@cache
def _t_cells() -> ad.AnnData:
    cells = sc.read_h5ad(reference_path("wu2020_tcells_200cells_scirpy.h5ad"))
    return cells[cells.obs["source"].isin(["Tumor", "NAT"])].copy()


@cache
def airway() -> ad.AnnData:
    """PROGENy's test input: 121 genes x 8 airway smooth-muscle samples (4 dexamethasone).

    The samples are runs SRR1039508-21 of the airway study (Himes et al. 2014): four
    donors' cells untreated (even run numbers) and dexamethasone-treated (odd ones).
    """
    adata = mk.io.read_input(reference_path("progeny", "human_input.csv"))
    treated = [int(name[-2:]) % 2 == 1 for name in adata.obs_names]
    adata.obs = pd.DataFrame(
        {"sample": adata.obs_names, "condition": np.where(treated, "dexamethasone", "untreated")},
        index=adata.obs_names,
    )
    return adata


def real_mixture(tumour: dict[str, str], content: dict[str, tuple], seed: int) -> ad.AnnData:
    """Tissue built from real cells: BRAF culture profiles mixed with Wu 2020 T cells.

    ``tumour``: arm -> culture condition whose profiles are that arm's tumour cells;
    ``content``: arm -> uniform range of tumour content. Each culture sample is used in
    two tissue samples; each tissue sample's T cells are 80 cells drawn from the 180
    tumour and adjacent-normal T cells. Mixing is linear on the counts-per-million scale
    (equal mRNA per cell), then Poisson at 20 M reads.
    """
    rng = np.random.default_rng(seed)
    culture, cells = braf_culture(), _t_cells()
    genes = culture.var_names.intersection(cells.var_names)
    tumour_cpm = pd.DataFrame(culture[:, genes].X, index=culture.obs_names)
    tumour_cpm = tumour_cpm.div(tumour_cpm.sum(axis=1), axis=0)
    counts = cells[:, genes].X
    rows, obs = [], []
    for arm, condition in tumour.items():
        sources = culture.obs_names[culture.obs["condition"] == condition]
        for k, name in enumerate(np.repeat(sources, 2)):
            f = rng.uniform(*content[arm])
            t_cells = np.asarray(counts[rng.choice(counts.shape[0], 80, replace=False)].sum(0))
            mix = f * tumour_cpm.loc[name].to_numpy() + (1 - f) * t_cells.ravel() / t_cells.sum()
            rows.append(rng.poisson(mix * 2e7))
            obs.append({"sample": f"{arm}{k}", "condition": arm, "purity": f})
    obs = pd.DataFrame(obs).set_index("sample", drop=False).rename_axis(None)
    return ad.AnnData(np.array(rows, dtype=np.float32), obs=obs, var=pd.DataFrame(index=genes))


# --- tumour-cell cultures ----------------------------------------------------------------


def _no_immune_row_tested(table: pd.DataFrame) -> None:
    immune = table["compartment"].isin(IMMUNE_COMPARTMENTS) | (table["kind"] == "abundance")
    assert (table.loc[immune, "verdict"] == "not testable").all()
    assert table.loc[immune, "reason"].str.startswith(NOT_DETECTED).all()


@pytest.mark.parametrize("pair_key", [None, "replicate"])
def test_braf_inhibitor_lowers_mapk_output_in_a_culture_read_unadjusted(pair_key):
    """Unpaired, and paired by replicate (each replicate's V600E and V600E + LGX818 dishes)."""
    table, params = _compare(braf_culture(), "v600e", "v600e_lgx818", pair_key=pair_key)
    assert params["design"] == ("paired" if pair_key else "unpaired")
    assert params["bulk_context"]["kind"] == "tumor"
    assert params["bulk_context"]["description"].startswith("tumour cells only")
    for program in ("mapk_output_mpas", "progeny_mapk"):
        row = table.loc[program]
        assert (row["verdict"], row["observed"], row["adjusted_for"]) == ("consistent", "down", "")
    assert params["pd_status"].startswith("confirmed")
    if pair_key is None:  # 3 pairs leave the paired t 2 df: MHC-I's rise is called unpaired
        assert table.loc["mhc1_apm", "verdict"] == "consistent"
    _no_immune_row_tested(table)


def test_oncogenic_braf_raises_mapk_output_in_a_culture():
    table, params = _compare(braf_culture(), "vector", "v600e")
    assert params["bulk_context"]["kind"] == "tumor"
    assert table.loc["mapk_output_mpas", ["verdict", "observed"]].tolist() == ["opposite", "up"]
    _no_immune_row_tested(table)


def test_three_arm_culture_gets_a_verdict_and_pd_gate_per_contrast():
    """vector / V600E / V600E + LGX818 in one design stated by what each arm contains."""
    design = tl.Design(
        condition_key="condition",
        control="vector",
        agents={"v600e": ["BRAF-V600E"], "v600e_lgx818": ["BRAF-V600E", "LGX818"]},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = tl.compare(braf_culture(), design, sample_key="sample")
    params = braf_culture().uns["mekscore_compare"]["parameters"]
    assert params["bulk_context"]["kind"] == "tumor"
    mapk = table[table["signature"].isin(["mapk_output_mpas", "progeny_mapk"])]
    calls = mapk.set_index(["signature", "contrast"])[["expected", "verdict"]]
    for signature in ("mapk_output_mpas", "progeny_mapk"):
        by_contrast = calls.loc[signature]
        activation = by_contrast.loc[by_contrast.index.str.startswith("v600e vs vector")]
        inhibition = by_contrast.loc[by_contrast.index.str.startswith("v600e_lgx818 vs v600e")]
        assert activation.iloc[0].tolist() == ["up", "consistent"]
        assert inhibition.iloc[0].tolist() == ["down", "consistent"]
    statuses = sorted(s.split(" ")[0] for s in params["pd_status_by_contrast"].values())
    assert statuses == ["confirmed", "confirmed", "no"]  # activator + inhibitor: no gate
    tumour = table[table["compartment"] == "tumor"]
    assert not tumour["flag"].str.contains("not isolated").any()  # a culture is tumour cells
    everywhere = table[table["compartment"] == "any"]
    assert everywhere["flag"].str.contains("tumour-cell expression").all()
    _no_immune_row_tested(table)


def test_nci60_cell_lines_are_tumour_cells_and_braf_lines_are_compared():
    table, params = _compare(nci60(), "other", "v600e", condition_key="braf")
    context = params["bulk_context"]
    assert context["kind"] == "tumor" and context["sets"]["leukocytes"]["detected"] is False
    mapk = table.loc[["mapk_output_mpas", "progeny_mapk"]]
    assert mapk["p_value"].notna().all()
    assert (mapk["observed"] == "up").all()  # BRAF-mutant lines run higher MAPK output
    _no_immune_row_tested(table)


def test_stating_a_culture_is_tissue_is_flagged():
    with pytest.warns(UserWarning, match="no leukocyte marker is above background"):
        tl.compare(
            braf_culture(),
            condition_key="condition",
            control="v600e",
            treated="v600e_lgx818",
            sample_key="sample",
            bulk_of="tissue",
        )


# --- sorted immune populations -----------------------------------------------------------


@pytest.mark.parametrize(
    ("population", "own", "expected"),
    [("CD14+ Monocyte", "myeloid", "monocytes"), ("CD8+ Cytotoxic T", "cd8_t", "CD8 T cells")],
)
def test_sorted_blood_populations_are_read_as_that_population(population, own, expected):
    table, params = _compare(pbmc_sorted(population), "a", "b")
    context = params["bulk_context"]
    assert context["kind"] == "immune" and expected in context["description"]
    tumour = table[table["compartment"] == "tumor"]
    assert tumour["reason"].str.startswith(NOT_DETECTED).all()
    assert not table.loc[table["compartment"] == own, "reason"].str.startswith(NOT_DETECTED).any()


def test_tumour_infiltrating_t_cells_are_read_as_t_cells():
    table, params = _compare(
        wu2020_pseudobulk(), "NAT", "Tumor", condition_key="tissue", pair_key="patient"
    )
    assert params["bulk_context"]["kind"] == "immune"
    assert "T cells" in params["bulk_context"]["description"]
    assert table.loc[["cd8_stem_memory", "tcr_erk_activation"], "p_value"].notna().all()
    assert table.loc["mapk_output_mpas", "reason"].startswith(NOT_DETECTED)
    assert (table.loc[table["kind"] == "abundance", "verdict"] == "not testable").all()


# --- tissue made of real cells --------------------------------------------------------------


def test_real_cell_tissue_with_a_purity_column_reads_the_braf_inhibitor():
    tissue = real_mixture(
        {"ctl": "v600e", "trt": "v600e_lgx818"}, {"ctl": (0.3, 0.8), "trt": (0.3, 0.8)}, seed=1
    )
    table, params = _compare(tissue, "ctl", "trt", purity_key="purity")
    assert params["bulk_context"]["kind"] == "tissue"
    mpas = table.loc["mapk_output_mpas"]
    assert (mpas["verdict"], mpas["adjusted_for"]) == (
        "consistent",
        "tumour content (purity column)",
    )
    t_cells = table[table["compartment"] == "cd8_t"]
    assert not t_cells["reason"].str.startswith(NOT_DETECTED).any()  # T cells are there


def test_real_cell_tissue_where_only_tumour_content_halves_gets_no_tumour_call():
    calls = []
    for seed in range(3):
        tissue = real_mixture(
            {"ctl": "v600e", "trt": "v600e"}, {"ctl": (0.6, 0.8), "trt": (0.3, 0.4)}, seed=seed
        )
        unadjusted = tissue.copy()
        table, params = _compare(tissue, "ctl", "trt")
        assert params["bulk_context"]["kind"] == "tissue"
        tumour = table.loc[list(TUMOUR_PROGRAMS)]
        calls += tumour["verdict"].isin(["consistent", "opposite"]).tolist()
        bare, _ = _compare(unadjusted, "ctl", "trt", bulk_of="tumor")
        assert (bare.loc[list(TUMOUR_PROGRAMS), "p_value"] < 0.05).any()  # composition shows
    assert not any(calls)


# --- no table contradicts itself --------------------------------------------------------------


def _studies():
    yield "braf lgx818", braf_culture(), ("v600e", "v600e_lgx818"), {}
    yield "braf v600e", braf_culture(), ("vector", "v600e"), {}
    yield "nci60", nci60(), ("other", "v600e"), {"condition_key": "braf"}
    for population in ("CD14+ Monocyte", "CD8+ Cytotoxic T", "CD19+ B", "CD56+ NK"):
        yield population, pbmc_sorted(population), ("a", "b"), {}
    yield "airway (progeny input)", airway(), ("untreated", "dexamethasone"), {}
    wu = {"condition_key": "tissue", "pair_key": "patient"}
    yield "wu2020", wu2020_pseudobulk(), ("NAT", "Tumor"), wu
    mixture = real_mixture(
        {"c": "v600e", "t": "v600e_lgx818"}, {"c": (0.2, 0.9), "t": (0.2, 0.9)}, 0
    )
    yield "real mixture", mixture, ("c", "t"), {}
    example = mk.datasets.load_example_bulk()
    example.obs["sample"] = example.obs_names
    paired = {"condition_key": "timepoint", "pair_key": "patient"}
    yield "example bulk", example, ("pre", "on"), paired
    cells = mk.datasets.load_example_scrna()
    yield "example scrna as bulk", _as_bulk(cells), ("vehicle", "trametinib"), {}


def _as_bulk(cells: ad.AnnData) -> ad.AnnData:
    """Each sample's cells summed, without cell labels."""
    sample = cells.obs["sample"].astype(str).to_numpy()
    names, which = np.unique(sample, return_inverse=True)
    summing = sparse.csr_matrix((np.ones(len(which)), (which, np.arange(len(which)))))
    counts = np.asarray((summing @ cells.layers["counts"]).todense(), dtype=np.float32)
    obs = cells.obs.drop_duplicates("sample").set_index("sample", drop=False).loc[names]
    return ad.AnnData(counts, obs=obs[["sample", "condition"]].rename_axis(None), var=cells.var)


@pytest.mark.parametrize("study", list(_studies()), ids=lambda s: s[0])
def test_no_verdict_table_contradicts_itself(study):
    _, adata, (control, treated), options = study
    table, params = _compare(adata, control, treated, **options)
    absent = table["reason"].str.startswith(NOT_DETECTED)
    tested = table["verdict"] != "not testable"
    sets_of = load_markers().detected_by
    programs = table[table["kind"] == "program"]
    abundance = table[table["kind"] == "abundance"]
    for compartment, sets in sets_of.items():
        rows = [f"{s}_proxy" for s in sets if f"{s}_proxy" in abundance.index]
        gone = absent[programs.index[programs["compartment"] == compartment]]
        if gone.any():  # its programs say "not there": so does every abundance row of it
            assert absent[rows].all() and not tested[rows].any(), compartment
        if tested[rows].any():  # an abundance was read: its programs may not say "not there"
            assert not gone.any(), compartment
    if params["bulk_context"]["kind"] != "tissue":
        assert not tested[abundance.index].any()  # pure samples: no abundance is read
    if params["bulk_context"]["kind"] == "tumor":
        assert absent[abundance.index].all()
