"""Generate the files in example_data/ (seeded: the same command gives the same data).

Run from the repository root::

    python example_data/make_example_data.py

Writes ``mek_scrna.h5ad``, ``mek_bulk_counts.csv``, ``mek_bulk_samples.csv`` (simulated with
:mod:`mekscore.datasets._simulate`; planted effects in README.md), the multi-arm designs
``mek_four_arm.h5ad``, ``mek_cohort_counts.csv`` and ``mek_cohort_samples.csv`` (simulated with
:mod:`mekscore.datasets._designs`) and ``wu2020_tcells_cut.h5ad`` (a cut of real data from
``../shared/reference``; skipped with a message when that folder is absent). See
``example_data/README.md`` for what each file holds.
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc

from mekscore.datasets import (
    BULK_COUNTS_FILE,
    BULK_SAMPLES_FILE,
    COHORT_COUNTS_FILE,
    COHORT_SAMPLES_FILE,
    FOUR_ARM_FILE,
    SCRNA_FILE,
    WU2020_FILE,
    SimulatedDesign,
    SimulationSettings,
    simulate_design,
    simulate_study,
)
from mekscore.datasets._simulate import CELL_TYPES
from mekscore.genes import match_signatures
from mekscore.sig import load_library

HERE = Path(__file__).resolve().parent
SEED = 2024
SCRNA = {"n_samples_per_arm": 5, "n_cells_mean": 400, "n_genes": 2000, "sample_sd": 0.4}
BULK = {
    "n_samples_per_arm": 8,
    "n_cells_mean": 2000,
    "n_genes": 2000,
    "sample_sd": 0.4,
    "proportions": {"Tumor": 1.2},  # tumour-dominated biopsies (~65% tumour cells)
}
# four-arm mouse study: vehicle, cobimetinib, anti-PD-L1, combination (the Ebert 2016 design)
FOUR_ARM_DESIGN = SimulatedDesign(
    arms={"vehicle": [], "cobi": ["MEKi"], "aPDL1": ["ICI"], "combo": ["MEKi", "ICI"]},
    n_per_arm=4,
    batches=2,
    subject_prefix="M",
)
FOUR_ARM_EFFECTS = {
    # "MEKi" carries BIOLOGY_EFFECTS by default (the same six effects as mek_scrna.h5ad)
    "ICI": {"ifng_ayers6": 1.8, "cytolytic_rooney": (2.0, ("cd8_t", "nk"))},
    ("MEKi", "ICI"): {"tis_gep18": 1.6},  # on top of the product of the single agents
}
FOUR_ARM_COMPOSITION = {"MEKi": {"Myeloid": 0.6}, "ICI": {"CD8 T": 1.8}}
FOUR_ARM_SETTINGS = SimulationSettings(n_cells_mean=250, n_genes=1000, batch_sd=0.3)
# patient cohort: ICI alone vs ICI + MEKi, biopsies pre / on / at progression (Yarchoan 2021)
COHORT_DESIGN = SimulatedDesign(
    arms={"ICI": ["ICI"], "ICI+MEKi": ["ICI", "MEKi"]},
    n_per_arm=8,
    timepoints={"pre": False, "on": True, "progression": True},
    factors={"response": ["R", "NR"]},
    missing=[
        ("P01", "progression"),
        ("P03", "progression"),  # durable responders, ICI arm
        ("P09", "progression"),
        ("P11", "progression"),  # durable responders, ICI+MEKi arm
        ("P06", "on"),
        ("P14", "on"),  # on-treatment biopsy not taken
    ],
    subject_key="patient",
    subject_prefix="P",
)
COHORT_EFFECTS = {
    # the biopsies are ~65% tumour cells, which dilute effects planted only in T or NK
    # cells; the checkpoint effects are planted in programs read on all cells
    "ICI": {"ifng_ayers6": 1.25},
    ("ICI", "response=R"): {"ifng_ayers6": 1.6, "tis_gep18": 1.4},
    "response=R": {"tis_gep18": 1.3},  # responders start more inflamed
    # tumour MAPK output reactivated at progression although MEKi is still given: the
    # three tumour-cell MEKi effects are undone, the immune-cell ones stay
    ("MEKi", "timepoint=progression"): {
        "mapk_output_mpas": 2.0,
        "mhc1_apm": 1 / 1.5,
        "tumor_myeloid_secretome": 1 / 0.6,
    },
}
COHORT_COMPOSITION = {"ICI": {"CD8 T": 1.25}, ("ICI", "response=R"): {"CD8 T": 1.6}}
COHORT_SETTINGS = SimulationSettings(
    n_cells_mean=300, n_genes=2000, proportions={"Tumor": 1.2}, residual_sd=0.1
)
COHORT_COLUMNS = ["sample", "patient", "arm", "timepoint", "response"]
WU2020_SOURCE = HERE.parents[1] / "shared" / "reference" / "wu2020_tcells_200cells_scirpy.h5ad"
WU2020_OBS = ["patient", "sample", "source", "cluster_orig"]
N_HVG = 300
UNS_KEYS = ("planted", "planted_composition", "arms", "compartments")  # not scanpy's "log1p"


def log1p_cp10k(adata: ad.AnnData) -> ad.AnnData:
    """Counts kept in ``layers["counts"]``, ``X`` as float32 log1p(CP10k), in place.

    The numbers of ``mk.pp.log_normalize(adata, counts_layer="counts")``, computed on
    scanpy's float32 path, which is what made the committed files (float64 then float32
    differs in the last bit of some values). Returns ``adata`` for chaining.
    """
    adata.layers["counts"] = adata.X.copy()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    adata.X = adata.X.astype(np.float32)
    return adata


def example_scrna() -> ad.AnnData:
    """5 vehicle + 5 trametinib tumours, 8 cell types, log-normalised, with a seeded UMAP."""
    adata = simulate_study(cell_types=(*CELL_TYPES, "DC"), seed=SEED, **SCRNA)
    return with_umap(log1p_cp10k(adata))


def with_umap(adata: ad.AnnData) -> ad.AnnData:
    """A copy of ``adata`` with a seeded UMAP and without the intermediate results.

    The standard scanpy route: highly variable genes, PCA, neighbours, UMAP.
    """
    embedded = adata.copy()
    sc.pp.highly_variable_genes(embedded, n_top_genes=N_HVG)
    sc.pp.pca(embedded, n_comps=30, mask_var="highly_variable", random_state=SEED)
    sc.pp.neighbors(embedded, n_neighbors=15, random_state=SEED)
    sc.tl.umap(embedded, random_state=SEED)
    return ad.AnnData(
        X=adata.X,
        obs=adata.obs,
        var=adata.var[[]],
        obsm={"X_umap": embedded.obsm["X_umap"].astype(np.float32)},
        layers={"counts": adata.layers["counts"]},
        uns={key: adata.uns[key] for key in UNS_KEYS if key in adata.uns},
    )


def example_bulk() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Paired pre/on-treatment biopsies: integer counts (genes x samples) and the sample sheet."""
    bulk = simulate_study(paired=True, bulk=True, seed=SEED + 1, **BULK)
    counts = pd.DataFrame(
        bulk.X.T.astype(np.int64), index=bulk.var_names, columns=bulk.obs["sample"]
    )
    counts.index.name = "gene"
    sheet = pd.DataFrame(
        {
            "sample": bulk.obs["sample"].to_numpy(),
            "patient": bulk.obs["patient"].to_numpy(),
            "timepoint": np.where(bulk.obs["condition"] == "vehicle", "pre", "on"),
        }
    )
    return counts, sheet


def four_arm_counts() -> ad.AnnData:
    """The four-arm mouse study as simulated: raw counts in ``X`` and ``layers["counts"]``."""
    return simulate_design(
        design=FOUR_ARM_DESIGN,
        effects=FOUR_ARM_EFFECTS,
        composition=FOUR_ARM_COMPOSITION,
        settings=FOUR_ARM_SETTINGS,
        species="mouse",
        seed=SEED + 2,
    )


def example_four_arm() -> ad.AnnData:
    """The four-arm study log-normalised, with a seeded UMAP (as :func:`example_scrna`)."""
    return with_umap(log1p_cp10k(four_arm_counts()))


def example_cohort() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The patient cohort: integer counts (genes x samples) and the sample sheet."""
    bulk = simulate_design(
        design=COHORT_DESIGN,
        effects=COHORT_EFFECTS,
        composition=COHORT_COMPOSITION,
        settings=COHORT_SETTINGS,
        bulk=True,
        seed=SEED + 3,
    )
    counts = pd.DataFrame(
        bulk.X.T.astype(np.int64), index=bulk.var_names, columns=bulk.obs["sample"].astype(str)
    )
    counts.index.name = "gene"
    counts.columns.name = None
    sheet = bulk.obs[COHORT_COLUMNS].astype(str).reset_index(drop=True)
    return counts, sheet


def library_genes_in(var_names) -> set[str]:
    """Names in ``var_names`` that some bundled signature uses."""
    matches, _ = match_signatures(list(load_library().values()), var_names)
    return {name for m in matches for name in m.found.values()}


def wu2020_cut(source: Path) -> ad.AnnData:
    """Wu et al. 2020 T cells: library genes + the most variable genes, four obs columns."""
    raw = ad.read_h5ad(source)
    adata = ad.AnnData(X=raw.X.tocsr(), obs=raw.obs[WU2020_OBS].copy(), var=raw.var[["gene_ids"]])
    log1p_cp10k(adata)
    hvg = sc.pp.highly_variable_genes(adata, n_top_genes=N_HVG, flavor="seurat", inplace=False)
    keep = set(adata.var_names[hvg["highly_variable"].to_numpy()])
    keep |= library_genes_in(adata.var_names)
    adata = adata[:, adata.var_names.isin(keep)].copy()
    for col in WU2020_OBS:
        adata.obs[col] = adata.obs[col].astype(str).astype("category")
    return adata


def write_h5ad(adata: ad.AnnData, name: str) -> None:
    """Write compressed and report the size."""
    path = HERE / name
    adata.write_h5ad(path, compression="gzip")
    print(f"wrote {path.name}: {adata.n_obs} x {adata.n_vars}, {path.stat().st_size / 1e6:.2f} MB")


def main() -> None:
    """Write every example file."""
    write_h5ad(example_scrna(), SCRNA_FILE)
    counts, sheet = example_bulk()
    counts.to_csv(HERE / BULK_COUNTS_FILE)
    sheet.to_csv(HERE / BULK_SAMPLES_FILE, index=False)
    print(f"wrote {BULK_COUNTS_FILE}: {counts.shape[0]} genes x {counts.shape[1]} samples")
    write_h5ad(example_four_arm(), FOUR_ARM_FILE)
    counts, sheet = example_cohort()
    counts.to_csv(HERE / COHORT_COUNTS_FILE)
    sheet.to_csv(HERE / COHORT_SAMPLES_FILE, index=False)
    print(f"wrote {COHORT_COUNTS_FILE}: {counts.shape[0]} genes x {counts.shape[1]} samples")
    if WU2020_SOURCE.is_file():
        write_h5ad(wu2020_cut(WU2020_SOURCE), WU2020_FILE)
    else:
        print(f"skipped {WU2020_FILE}: {WU2020_SOURCE} not found")


if __name__ == "__main__":
    main()
