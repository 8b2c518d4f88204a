"""Seeded simulator of MEK-inhibitor studies: single-cell counts or bulk pseudobulk.

The model, for gene ``g`` in a cell of type ``t`` from sample ``s``::

    mean = size_factor(cell) * exp(base[t, g] + sample_offset[s, g] + treatment[t, g])
    count ~ NegativeBinomial(mean, dispersion)       (Gamma-Poisson)

* ``base``: each gene has a log-normal baseline, a random cell-type modulation, marker
  genes are ~12x higher in their cell type and each library signature's genes ~3x
  higher in the cell types of its compartment.
* ``sample_offset``: per-sample, per-gene Normal(0, ``sample_sd``) on the log scale, a
  strong log-normal multiplicative sample effect shared by all cell types of the
  sample (in paired designs a per-patient offset plus a small per-sample residual).
* Cell numbers per sample are log-normal and the cell-type mix per sample is
  Dirichlet, so samples differ in size and composition.
* ``treatment``: zero in vehicle samples; in trametinib samples the planted effects,
  each ``signature -> fold change`` applied to the signature's ``up`` genes (and the
  inverse to its ``down`` genes) in the cell types of its compartment. Genes shared
  by two planted signatures get both effects.

Genes are the human symbols of the bundled library and the cell-type markers, plus
background genes ``GENE0001``, ``GENE0002``, ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

from ..errors import InputError
from ..sig import load_library

CONTROL = "vehicle"
TREATED = "trametinib"

CELL_TYPES = ("Tumor", "CD8 T", "CD4 T", "Treg", "Myeloid", "NK", "B")
"""Default cell types (``obs["cell_type"]`` labels)."""

SIMULATED_COMPARTMENTS: dict[str, list[str]] = {
    "tumor": ["Tumor"],
    "cd8_t": ["CD8 T"],
    "cd4_t": ["CD4 T", "Treg"],
    "treg": ["Treg"],
    "myeloid": ["Myeloid"],
    "dc": ["DC"],
    "nk": ["NK"],
    "b": ["B"],
}
"""Library compartment -> simulated cell-type labels; pass as ``tl.compare(compartments=...)``."""

MARKERS: dict[str, tuple[str, ...]] = {
    "Tumor": ("EPCAM", "KRT8", "KRT18", "KRT19", "CDH1", "MKI67"),
    "CD8 T": ("CD3D", "CD3E", "CD8A", "CD8B", "CD2"),
    "CD4 T": ("CD3D", "CD3E", "CD4", "IL7R", "CD2"),
    "Treg": ("CD3D", "CD4", "FOXP3", "IL2RA", "CTLA4"),
    "Myeloid": ("LYZ", "CD14", "CD68", "CSF1R", "FCER1G"),
    "NK": ("NKG7", "GNLY", "KLRD1", "NCAM1", "KLRF1"),
    "B": ("CD79A", "CD79B", "MS4A1", "CD19"),
    "DC": ("CLEC9A", "XCR1", "FLT3", "CD1C"),
}
"""Marker genes per cell type (expressed ~12x higher in that type)."""

_PROPORTIONS = {
    "Tumor": 0.35,
    "CD8 T": 0.15,
    "CD4 T": 0.12,
    "Treg": 0.05,
    "Myeloid": 0.2,
    "NK": 0.07,
    "B": 0.06,
    "DC": 0.03,
}

SIMULATED_SIGNATURES = (
    "cd8_stem_memory",
    "cd8_tex_terminal",
    "checkpoint_ligands",
    "cytolytic_rooney",
    "dc_maturation",
    "ifng_ayers6",
    "mapk_output_mpas",
    "mdsc_suppressive",
    "mhc1_apm",
    "mhc2_presentation",
    "nk_activation",
    "tam_m2",
    "tcr_erk_activation",
    "tis_gep18",
    "treg_core",
    "tumor_myeloid_secretome",
)
"""Library signatures whose genes the simulator models (fixed, so that adding a signature to
the library does not change simulated data; the example data depend on it)."""

BIOLOGY_EFFECTS: dict[str, tuple[float, tuple[str, ...]]] = {
    "mapk_output_mpas": (0.5, ("tumor",)),
    "mhc1_apm": (1.5, ("tumor",)),
    "tumor_myeloid_secretome": (0.6, ("tumor",)),
    "tcr_erk_activation": (0.6, ("cd8_t", "cd4_t")),
    "mdsc_suppressive": (0.6, ("myeloid",)),
    "cd8_stem_memory": (1.5, ("cd8_t",)),
}
"""``effects="biology"``: fold changes under MEK inhibition following BIOLOGY.md."""

Effects = str | Mapping[str, float | tuple[float, Sequence[str]]]


def simulate_study(  # noqa: PLR0913 - public keyword API, one keyword per simulated knob
    *,
    n_samples_per_arm: int = 4,
    cell_types: Sequence[str] = CELL_TYPES,
    n_cells_mean: int = 400,
    effects: Effects = "biology",
    sample_sd: float = 0.4,
    seed: int = 0,
    n_genes: int = 2000,
    paired: bool = False,
    bulk: bool = False,
    dispersion: float = 0.3,
    pair_sd: float = 0.1,
    proportions: Mapping[str, float] | None = None,
    composition: Mapping[str, float] | None = None,
    concentration: float = 30.0,
) -> ad.AnnData:
    """Simulate a vehicle vs trametinib study with negative-binomial counts.

    Parameters
    ----------
    n_samples_per_arm
        Samples per condition (patients, for ``paired=True``).
    cell_types
        Cell types to simulate, from :data:`MARKERS` (``"DC"`` is available too).
    n_cells_mean
        Mean cells per sample; actual numbers are log-normal around it (sd 0.5 on log).
    effects
        ``"biology"`` (:data:`BIOLOGY_EFFECTS`), ``"none"`` (a null study), or a dict
        ``signature id -> fold change`` (applied in the signature's own compartment)
        or ``signature id -> (fold change, compartments)``.
    sample_sd
        SD of the per-sample, per-gene log offsets (sample-to-sample variation).
    seed
        Seed of the random generator; equal arguments give equal data.
    n_genes
        Total genes: library and marker genes plus background genes up to this number.
    paired
        Each patient gives one vehicle and one trametinib sample (pre/on treatment);
        the two share the patient's offsets, plus a residual of SD ``pair_sd``.
    bulk
        Return samples x genes: the counts of each sample's cells summed (pseudobulk).
    dispersion
        Negative-binomial dispersion (variance = mean + dispersion * mean^2).
    pair_sd
        SD of the per-sample residual log offsets in paired designs.
    proportions
        Mean relative abundance of cell types, overriding the defaults for the types
        given, e.g. ``{"Tumor": 1.2}`` for tumour-dominated samples (Tumor 0.35 by
        default; the values are normalised to sum to 1).
    composition
        Planted abundance shifts: cell type -> fold change of its mean relative
        abundance in trametinib samples, e.g. ``{"CD8 T": 1.8, "Myeloid": 0.5}``.
    concentration
        Dirichlet concentration of each sample's cell-type mix around the mean
        abundances: lower is more sample-to-sample variation in composition (30: a
        cell type at 15% has an SD of 6 percentage points; 100: 3.5 points).

    Returns
    -------
    Single-cell: cells x genes, raw counts in ``X`` (CSR float32) and
    ``layers["counts"]``; ``obs`` columns ``sample``, ``condition``
    (``vehicle``/``trametinib``), ``cell_type`` and, when paired, ``patient``. Bulk:
    samples x genes with ``obs`` ``sample``, ``condition``, ``n_cells`` (and
    ``patient``). ``uns["planted"]`` lists the planted effects; ``uns["compartments"]``
    the compartment map (:data:`SIMULATED_COMPARTMENTS`). Normalise with
    ``mk.pp.log_normalize(adata, counts_layer="counts")`` before scoring.

    Examples
    --------
    >>> adata = simulate_study(n_samples_per_arm=2, n_cells_mean=50, n_genes=500, seed=1)
    >>> adata.obs["condition"].cat.categories.tolist()
    ['vehicle', 'trametinib']
    >>> simulate_study(n_samples_per_arm=2, n_genes=500, bulk=True).shape
    (4, 500)
    """
    _check_arguments(n_samples_per_arm, cell_types, n_cells_mean, sample_sd, dispersion)
    rng = np.random.default_rng(seed)
    genes = gene_universe(n_genes)
    cell_types = tuple(cell_types)
    props = _mean_proportions(cell_types, proportions)
    treated_props = props * _mean_proportions(cell_types, composition, default=1.0)
    planted = planted_effects(effects)
    base = _cell_type_profiles(rng, genes, cell_types)
    treatment = _treatment(planted, genes, cell_types)
    design = _design(n_samples_per_arm, paired=paired)
    offsets = _sample_offsets(rng, design, len(genes), sample_sd, pair_sd if paired else None)
    blocks, labels, n_cells = [], [], []
    for i, condition in enumerate(design["condition"]):
        log_mean = base + offsets[i] + (treatment if condition == TREATED else 0.0)
        mix = treated_props if condition == TREATED else props
        counts, types = _draw_sample(
            rng,
            log_mean,
            cell_types,
            concentration * mix / mix.sum(),
            n_cells_mean=n_cells_mean,
            dispersion=dispersion,
        )
        blocks.append(counts)
        labels.append(types)
        n_cells.append(counts.shape[0])
    var = pd.DataFrame(index=pd.Index(genes, name="gene"))
    uns = {"planted": _planted_record(planted), "compartments": SIMULATED_COMPARTMENTS}
    if composition:
        uns["planted_composition"] = {str(k): float(v) for k, v in composition.items()}
    if bulk:
        return _bulk(blocks, design, n_cells, var, uns)
    return _single_cell(blocks, labels, design, n_cells, var, uns=uns, cell_types=cell_types)


def gene_universe(n_genes: int) -> list[str]:
    """Marker and library genes (sorted), then background ``GENE0001``... up to ``n_genes``.

    Examples
    --------
    >>> genes = gene_universe(400)
    >>> len(genes), "DUSP6" in genes, genes[-1].startswith("GENE")
    (400, True, True)
    """
    named = sorted({g for m in MARKERS.values() for g in m} | _library_genes())
    if n_genes < len(named):
        raise InputError(
            "{n_genes=} is smaller than the {n} library and marker genes; pass {n_genes!p} >= {n}",
            n_genes=n_genes,
            n=len(named),
        )
    return named + [f"GENE{i:04d}" for i in range(1, n_genes - len(named) + 1)]


def planted_effects(effects: Effects) -> dict[str, tuple[float, tuple[str, ...]]]:
    """Normalise ``effects`` to ``signature id -> (fold change, compartments)``.

    Examples
    --------
    >>> planted_effects({"mhc1_apm": 2.0})
    {'mhc1_apm': (2.0, ('tumor',))}
    """
    if isinstance(effects, str):
        if effects not in ("biology", "none"):
            raise InputError("{effects=}: use 'biology', 'none' or a dict", effects=effects)
        return dict(BIOLOGY_EFFECTS) if effects == "biology" else {}
    library = load_library()
    out = {}
    for sig_id, spec in effects.items():
        if sig_id not in SIMULATED_SIGNATURES:
            raise InputError(
                f"effects names {sig_id!r}, which the simulator does not model; use one of "
                f"{', '.join(SIMULATED_SIGNATURES)}"
            )
        fold, where = spec if isinstance(spec, tuple) else (spec, (library[sig_id].compartment,))
        if not fold > 0:
            raise InputError(f"effects[{sig_id!r}]: the fold change must be > 0, got {fold}")
        out[sig_id] = (float(fold), tuple(where))
    return out


def _simulated_signatures() -> list:
    library = load_library()
    return [library[sid] for sid in SIMULATED_SIGNATURES]


def _library_genes() -> set[str]:
    return {g for sig in _simulated_signatures() for g in sig.genes}


def _check_arguments(n_per_arm, cell_types, n_cells_mean, sample_sd, dispersion) -> None:
    if n_per_arm < 1:
        raise InputError("{n_samples_per_arm=} must be at least 1", n_samples_per_arm=n_per_arm)
    unknown = [t for t in cell_types if t not in MARKERS]
    if unknown or not cell_types:
        raise InputError(f"unknown cell types {unknown}; choose from {list(MARKERS)}")
    if n_cells_mean < 1 or sample_sd < 0 or dispersion <= 0:
        raise InputError(
            "{n_cells_mean=}, {sample_sd=} and {dispersion=}: need n_cells_mean >= 1, "
            "sample_sd >= 0 and dispersion > 0",
            n_cells_mean=n_cells_mean,
            sample_sd=sample_sd,
            dispersion=dispersion,
        )


def _types_of(compartment: str, cell_types: tuple[str, ...]) -> list[int]:
    if compartment == "any":
        return list(range(len(cell_types)))
    labels = SIMULATED_COMPARTMENTS[compartment]
    return [i for i, t in enumerate(cell_types) if t in labels]


def _cell_type_profiles(rng, genes: list[str], cell_types: tuple[str, ...]) -> np.ndarray:
    """Log mean expression per cell type (types x genes) at size factor 1."""
    index = {g: j for j, g in enumerate(genes)}
    n_named = sum(not g.startswith("GENE") for g in genes)
    baseline = rng.normal(-1.2, 1.2, len(genes))
    baseline[:n_named] = rng.normal(0.0, 0.6, n_named)
    base = baseline + rng.normal(0.0, 0.4, (len(cell_types), len(genes)))
    for i, t in enumerate(cell_types):
        base[i, [index[g] for g in MARKERS[t]]] += np.log(12.0)
    for sig in _simulated_signatures():
        cols = [index[g] for g in sig.genes]
        for i in _types_of(sig.compartment, cell_types):
            base[np.ix_([i], cols)] += np.log(3.0)
    return base


def _treatment(planted, genes: list[str], cell_types: tuple[str, ...]) -> np.ndarray:
    """Log fold changes of treated vs vehicle (types x genes)."""
    index = {g: j for j, g in enumerate(genes)}
    library = load_library()
    effect = np.zeros((len(cell_types), len(genes)))
    for sig_id, (fold, compartments) in planted.items():
        sig = library[sig_id]
        rows = sorted({i for c in compartments for i in _types_of(c, cell_types)})
        for genes_, sign in ((sig.up, 1.0), (sig.down, -1.0)):
            cols = [index[g] for g in genes_]
            effect[np.ix_(rows, cols)] += sign * np.log(fold)
    return effect


def _design(n_per_arm: int, *, paired: bool) -> pd.DataFrame:
    conditions = [CONTROL] * n_per_arm + [TREATED] * n_per_arm
    numbers = list(range(1, n_per_arm + 1)) * 2
    if paired:
        patients = [f"P{k:02d}" for k in numbers]
        samples = [
            f"{p}_{'pre' if c == CONTROL else 'on'}"
            for p, c in zip(patients, conditions, strict=True)
        ]
        return pd.DataFrame({"sample": samples, "condition": conditions, "patient": patients})
    prefix = {CONTROL: "veh", TREATED: "tram"}
    samples = [f"{prefix[c]}{k}" for c, k in zip(conditions, numbers, strict=True)]
    return pd.DataFrame({"sample": samples, "condition": conditions})


def _sample_offsets(rng, design: pd.DataFrame, n_genes: int, sd: float, pair_sd) -> np.ndarray:
    """Per-sample log offsets (samples x genes)."""
    if pair_sd is None:
        return rng.normal(0.0, sd, (len(design), n_genes))
    patients, which = np.unique(design["patient"], return_inverse=True)
    shared = rng.normal(0.0, sd, (len(patients), n_genes))
    return shared[which] + rng.normal(0.0, pair_sd, (len(design), n_genes))


def _mean_proportions(cell_types: tuple[str, ...], proportions, default=None) -> np.ndarray:
    """Per cell type: ``proportions`` where given, else ``default`` (the default shares)."""
    given = dict(proportions or {})
    unknown = sorted(set(given) - set(cell_types))
    if unknown:
        raise InputError(
            f"proportions names cell types that are not simulated: {unknown}; "
            f"use some of {list(cell_types)}"
        )
    if not all(value > 0 for value in given.values()):
        raise InputError(f"proportions must be > 0, got {given}")
    fallback = _PROPORTIONS if default is None else dict.fromkeys(cell_types, default)
    return np.array([given.get(t, fallback[t]) for t in cell_types], dtype=float)


def _draw_sample(rng, log_mean, cell_types, alpha, *, n_cells_mean, dispersion):
    """Counts (CSR float32) and cell-type labels for one sample's cells (Dirichlet ``alpha``)."""
    n_cells = max(int(round(n_cells_mean * rng.lognormal(-0.125, 0.5))), len(cell_types))
    mix = rng.dirichlet(alpha)
    types = rng.choice(len(cell_types), size=n_cells, p=mix)
    types.sort()
    size = rng.lognormal(0.0, 0.3, n_cells)[:, None]
    mean = np.exp(log_mean)[types] * size
    noise = rng.gamma(1.0 / dispersion, dispersion, mean.shape)
    counts = rng.poisson(mean * noise).astype(np.float32)
    return sparse.csr_matrix(counts), np.asarray(cell_types)[types]


def _planted_record(planted) -> dict:
    return {
        sig: {"fold_change": fold, "compartments": list(where)}
        for sig, (fold, where) in planted.items()
    }


def _sample_obs(design: pd.DataFrame, n_cells: list[int]) -> pd.DataFrame:
    obs = design.copy()
    obs["condition"] = pd.Categorical(obs["condition"], categories=[CONTROL, TREATED])
    obs["n_cells"] = n_cells
    return obs


def _single_cell(blocks, labels, design, n_cells, var, *, uns, cell_types) -> ad.AnnData:
    samples = _sample_obs(design, n_cells).drop(columns="n_cells")
    obs = samples.loc[np.repeat(np.arange(len(design)), n_cells)].reset_index(drop=True)
    obs["sample"] = pd.Categorical(obs["sample"], categories=design["sample"])
    obs["cell_type"] = pd.Categorical(np.concatenate(labels), categories=list(cell_types))
    if "patient" in obs:
        obs["patient"] = obs["patient"].astype("category")
    obs.index = pd.Index([f"cell{i:06d}" for i in range(len(obs))])
    X = sparse.vstack(blocks, format="csr")
    adata = ad.AnnData(X=X, obs=obs, var=var, uns=uns)
    adata.layers["counts"] = X.copy()
    return adata


def _bulk(blocks, design, n_cells, var, uns) -> ad.AnnData:
    X = np.vstack([np.asarray(b.sum(axis=0)) for b in blocks]).astype(np.float32)
    obs = _sample_obs(design, n_cells).set_index("sample", drop=False)
    obs.index.name = None
    adata = ad.AnnData(X=X, obs=obs, var=var, uns=uns)
    adata.layers["counts"] = X.copy()
    return adata
