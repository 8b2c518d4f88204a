"""Generate the files in example_data/ (seeded: the same command gives the same data).

Run from the repository root::

    python example_data/make_example_data.py

Writes ``mek_scrna.h5ad``, ``mek_bulk_counts.csv``, ``mek_bulk_samples.csv`` (simulated with
:mod:`mekscore.datasets._simulate`; planted effects in README.md) and ``wu2020_tcells_cut.h5ad`` (a
cut of real data from ``../shared/reference``; skipped with a message when that folder is
absent). See ``example_data/README.md`` for what each file holds.
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
    SCRNA_FILE,
    WU2020_FILE,
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
WU2020_SOURCE = HERE.parents[1] / "shared" / "reference" / "wu2020_tcells_200cells_scirpy.h5ad"
WU2020_OBS = ["patient", "sample", "source", "cluster_orig"]
N_HVG = 300


def log1p_cp10k(adata: ad.AnnData) -> None:
    """Counts kept in ``layers["counts"]``, ``X`` as float32 log1p(CP10k), in place.

    The numbers of ``mk.pp.log_normalize(adata, counts_layer="counts")``, computed on
    scanpy's float32 path, which is what made the committed files (float64 then float32
    differs in the last bit of some values).
    """
    adata.layers["counts"] = adata.X.copy()
    sc.pp.normalize_total(adata, target_sum=1e4)
    sc.pp.log1p(adata)
    adata.X = adata.X.astype(np.float32)


def example_scrna() -> ad.AnnData:
    """5 vehicle + 5 trametinib tumours, 8 cell types, log-normalised, with a seeded UMAP.

    The UMAP is the standard scanpy route: highly variable genes, PCA, neighbours, UMAP.
    """
    adata = simulate_study(cell_types=(*CELL_TYPES, "DC"), seed=SEED, **SCRNA)
    log1p_cp10k(adata)
    sc.pp.highly_variable_genes(adata, n_top_genes=N_HVG)
    sc.pp.pca(adata, n_comps=30, mask_var="highly_variable", random_state=SEED)
    sc.pp.neighbors(adata, n_neighbors=15, random_state=SEED)
    sc.tl.umap(adata, random_state=SEED)
    embedding = adata.obsm["X_umap"].astype(np.float32)
    return ad.AnnData(
        X=adata.X,
        obs=adata.obs,
        var=adata.var[[]],
        obsm={"X_umap": embedding},
        layers={"counts": adata.layers["counts"]},
        uns={"planted": adata.uns["planted"], "compartments": adata.uns["compartments"]},
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
    if WU2020_SOURCE.is_file():
        write_h5ad(wu2020_cut(WU2020_SOURCE), WU2020_FILE)
    else:
        print(f"skipped {WU2020_FILE}: {WU2020_SOURCE} not found")


if __name__ == "__main__":
    main()
