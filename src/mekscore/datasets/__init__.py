"""Example datasets shipped with mekscore (see ``example_data/README.md``).

The files live in the repository's ``example_data/`` folder; the wheel ships them as
``mekscore/_example_data``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from ..errors import InputError
from ._designs import SimulatedDesign, SimulationSettings, simulate_design
from ._simulate import SIMULATED_COMPARTMENTS, simulate_study

SCRNA_FILE = "mek_scrna.h5ad"
BULK_COUNTS_FILE = "mek_bulk_counts.csv"
BULK_SAMPLES_FILE = "mek_bulk_samples.csv"
WU2020_FILE = "wu2020_tcells_cut.h5ad"
FOUR_ARM_FILE = "mek_four_arm.h5ad"
COHORT_COUNTS_FILE = "mek_cohort_counts.csv"
COHORT_SAMPLES_FILE = "mek_cohort_samples.csv"


def example_data_dir() -> Path:
    """Folder holding the bundled example files.

    An installed wheel has them in ``mekscore/_example_data``; a source checkout
    reads the repository's top-level ``example_data/``.

    Examples
    --------
    >>> (example_data_dir() / "mek_scrna.h5ad").is_file()
    True
    """
    packaged = Path(str(resources.files("mekscore"))) / "_example_data"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "example_data"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("mekscore's example data are missing; reinstall the package")


def _path(name: str) -> Path:
    path = example_data_dir() / name
    if not path.is_file():
        raise FileNotFoundError(
            f"example file {name} is missing from {path.parent}; "
            "regenerate it with `python example_data/make_example_data.py`"
        )
    return path


def load_example_scrna() -> ad.AnnData:
    """Simulated single-cell study: 10 tumours, 5 vehicle- and 5 trametinib-treated.

    About 3,000 cells x 2,000 genes (human symbols), 8 cell types. Sparse
    log-normalised ``X``, raw counts in ``layers["counts"]``, ``obs`` columns
    ``sample``, ``condition`` and ``cell_type``, a UMAP in ``obsm["X_umap"]``. The
    planted treatment effects are in ``uns["planted"]`` and ``example_data/README.md``.

    Examples
    --------
    >>> adata = load_example_scrna()
    >>> adata.obs["condition"].cat.categories.tolist()
    ['vehicle', 'trametinib']
    """
    return ad.read_h5ad(_path(SCRNA_FILE))


def load_example_bulk() -> ad.AnnData:
    """Simulated bulk RNA-seq of paired tumour biopsies, before and on trametinib.

    Returns 16 samples (8 patients x ``pre``/``on``) x 2,000 genes of integer counts
    (``X``, float64, dense) with the sample sheet as ``obs`` (``patient``,
    ``timepoint``). Normalise before
    scoring, e.g. ``sc.pp.normalize_total(adata, target_sum=1e6); sc.pp.log1p(adata)``.

    Examples
    --------
    >>> bulk = load_example_bulk()
    >>> bulk.obs["timepoint"].cat.categories.tolist()
    ['pre', 'on']
    """
    return _bulk_table(BULK_COUNTS_FILE, BULK_SAMPLES_FILE, {"timepoint": ["pre", "on"]})


def load_example_four_arm() -> ad.AnnData:
    """Simulated four-arm mouse study: vehicle, cobimetinib, anti-PD-L1 and the combination.

    16 mice (4 per arm) in 2 batches (2 mice of every arm in each), 3,820 cells x 989
    genes with **mouse** symbols, 7 cell types. Sparse log-normalised ``X``, raw
    counts in ``layers["counts"]``, ``obs`` columns ``sample``, ``arm``, ``batch`` and
    ``cell_type``, a UMAP in ``obsm["X_umap"]``. The planted effects of each agent, their
    interaction and the composition shifts are in ``uns["planted"]``,
    ``uns["planted_composition"]`` and ``example_data/README.md``.

    Examples
    --------
    >>> adata = load_example_four_arm()
    >>> adata.obs["arm"].cat.categories.tolist()
    ['vehicle', 'cobi', 'aPDL1', 'combo']
    >>> dict(adata.uns["arms"])["combo"]
    'MEKi+ICI'
    """
    return ad.read_h5ad(_path(FOUR_ARM_FILE))


def load_example_cohort() -> ad.AnnData:
    """Simulated randomised patient cohort: ICI alone vs ICI + MEKi, biopsies over time.

    16 patients (8 per arm), biopsied before treatment (``pre``), on treatment (``on``)
    and at progression (``progression``); not every patient has every biopsy (42
    samples). Integer counts (``X``, float64, dense) of 2,000 genes (human symbols) with
    the sample sheet as ``obs``: ``patient``, ``arm`` (``ICI``/``ICI+MEKi``),
    ``timepoint`` and ``response`` (``R``/``NR``). Normalise before scoring.

    Examples
    --------
    >>> cohort = load_example_cohort()
    >>> cohort.obs.groupby("timepoint", observed=True).size().to_dict()
    {'pre': 16, 'on': 14, 'progression': 12}
    """
    categories = {
        "arm": ["ICI", "ICI+MEKi"],
        "timepoint": ["pre", "on", "progression"],
        "response": ["R", "NR"],
    }
    return _bulk_table(COHORT_COUNTS_FILE, COHORT_SAMPLES_FILE, categories)


def _bulk_table(counts_file: str, sheet_file: str, categories: dict[str, list[str]]) -> ad.AnnData:
    """Counts (genes x samples CSV) and the sample sheet as one samples x genes AnnData."""
    counts = pd.read_csv(_path(counts_file), index_col=0)
    sheet = pd.read_csv(_path(sheet_file), dtype=str).set_index("sample")
    sheet.index.name = None
    if set(sheet.index) != set(counts.columns):
        raise InputError(
            f"{sheet_file} and {counts_file} name different samples; "
            "regenerate them with `python example_data/make_example_data.py`"
        )
    for column, levels in categories.items():
        sheet[column] = pd.Categorical(sheet[column], categories=levels)
    counts = counts[sheet.index]
    return ad.AnnData(
        X=counts.T.to_numpy(dtype=np.float64),
        obs=sheet,
        var=pd.DataFrame(index=counts.index.astype(str)),
    )


def load_wu2020_tcells() -> ad.AnnData:
    """Real T cells from Wu et al. 2020 (Nature 579:274; GEO GSE139555), 200 cells.

    A cut of the scirpy test file (BSD-3-Clause): library genes plus highly
    variable genes; log-normalised ``X``, counts in ``layers["counts"]``, ``obs``
    columns ``patient``, ``sample``, ``source`` (Tumor/NAT/Blood), ``cluster_orig``.
    No MEK inhibitor was given: use it to see real-data scores, not treatment effects.

    Examples
    --------
    >>> load_wu2020_tcells().obs["source"].cat.categories.tolist()
    ['Blood', 'NAT', 'Tumor']
    """
    return ad.read_h5ad(_path(WU2020_FILE))


__all__ = [
    "SIMULATED_COMPARTMENTS",
    "SimulatedDesign",
    "SimulationSettings",
    "example_data_dir",
    "load_example_bulk",
    "load_example_cohort",
    "load_example_four_arm",
    "load_example_scrna",
    "load_wu2020_tcells",
    "simulate_design",
    "simulate_study",
]
