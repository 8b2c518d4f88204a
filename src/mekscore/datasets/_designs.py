"""Seeded simulator of multi-arm study designs, the generalisation of ``simulate_study``.

A design is stated as arms of agents (``{"vehicle": [], "combo": ["MEKi", "ICI"]}``),
with optional batches, between-subject factors (e.g. ``response``) and biopsy time
points per subject. For gene ``g`` in a cell of type ``t`` from sample ``s`` of subject
``p`` in batch ``b``::

    log mean = base[t, g] + subject[p, g] + residual[s, g] + batch[b, g]
               + sum of effect[term][t, g] over the terms that hold in s
    count ~ NegativeBinomial(size_factor * exp(log mean), dispersion)

``base``, the negative-binomial draw, the Dirichlet cell-type mix and bulk = summed cells
are those of :func:`~mekscore.datasets.simulate_study`. A **term** is what a sample has:

* an agent (``"MEKi"``): the sample's arm contains it and its time point gives the
  arm's agents (every sample, without time points);
* ``"<time_key>=<time point>"`` or ``"<factor>=<level>"`` (``"timepoint=progression"``,
  ``"response=R"``): the sample's time point, the subject's factor level;
* a tuple of these (``("MEKi", "ICI")``): all of them at once. Its effect comes on top
  of the product of the single-term effects, so it is the planted interaction.

Each term may carry planted effects (signature -> fold change, in the signature's
compartment or the given ones) and composition shifts (cell type -> fold change of its
mean share). An agent named ``"MEKi"`` without effects of its own gets
:data:`~mekscore.datasets._simulate.BIOLOGY_EFFECTS`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

from ..errors import InputError
from ..sig import load_library
from ._simulate import (
    CELL_TYPES,
    MARKERS,
    SIMULATED_COMPARTMENTS,
    SIMULATED_SIGNATURES,
    Effects,
    _cell_type_profiles,
    _draw_sample,
    _mean_proportions,
    _planted_record,
    _sample_offsets,
    _treatment,
    gene_universe,
    planted_effects,
)

Term = str | tuple[str, ...]

MEKI = "MEKi"
"""The agent name that defaults to :data:`~mekscore.datasets._simulate.BIOLOGY_EFFECTS`."""

_RESERVED = {"sample", "arm", "batch", "cell_type", "n_cells"}

# human marker genes that are not library genes -> MGI symbol (HCOP one-to-one unless
# noted); None: no mouse ortholog, the gene is left out of mouse data
MOUSE_MARKERS: dict[str, str | None] = {
    "CD14": "Cd14",
    "CD19": "Cd19",
    "CD1C": None,
    "CD2": "Cd2",
    "CD3D": "Cd3d",
    "CD3E": "Cd3e",
    "CD4": "Cd4",
    "CD68": "Cd68",
    "CD79A": "Cd79a",
    "CD79B": "Cd79b",
    "CD8B": "Cd8b1",
    "CDH1": "Cdh1",
    "CLEC9A": "Clec9a",
    "CSF1R": "Csf1r",
    "EPCAM": "Epcam",
    "FCER1G": "Fcer1g",
    "FLT3": "Flt3",
    "GNLY": None,
    "KLRD1": "Klrd1",
    "KLRF1": None,
    "KRT18": "Krt18",
    "KRT19": "Krt19",
    "KRT8": "Krt8",
    "LYZ": "Lyz2",  # lysozyme M, the myeloid lysozyme; HCOP also lists Lyz1
    "MKI67": "Mki67",
    "MS4A1": "Ms4a1",
    "NCAM1": "Ncam1",
    "XCR1": "Xcr1",
}
"""Mouse symbols of the cell-type markers that no library signature holds."""

MOUSE_MHC1: dict[str, str | None] = {"HLA-A": "H2-K1", "HLA-B": "H2-D1", "HLA-C": None}
"""The library maps each of HLA-A/B/C onto both H2-K1 and H2-D1; one gene each here."""


@dataclass(frozen=True, kw_only=True)
class SimulatedDesign:
    """Who is in a simulated study: arms, subjects, time points, factors and batches.

    Parameters
    ----------
    arms
        Arm -> the agents given in it, e.g. ``{"vehicle": [], "cobi": ["MEKi"]}``. The
        order is the category order of ``obs["arm"]``.
    n_per_arm
        Subjects per arm (mice, patients): one number, or arm -> number.
    timepoints
        ``None``: one sample per subject, every sample gets its arm's agents. Otherwise
        time point -> whether the arm's agents act in it, e.g. ``{"pre": False, "on":
        True}``; each subject gives one sample per time point.
    factors
        Between-subject factor -> its levels, given in turn to the subjects of each arm
        (``{"response": ["R", "NR"]}``), or factor -> {subject: level}.
    batches
        Number of batches: the subjects of each arm are spread over them in turn, so each
        batch holds every arm when ``n_per_arm >= batches``. Or subject -> batch.
    missing
        ``(subject, time point)`` pairs without a sample (unbalanced designs).
    subject_key, time_key
        ``obs`` columns of the subject and the time point (with ``timepoints`` only).
    subject_prefix
        Subjects are named prefix + number (``S01``, ``S02``...), numbered across arms.

    Examples
    --------
    >>> d = SimulatedDesign(arms={"ICI": ["ICI"], "ICI+MEKi": ["ICI", "MEKi"]}, n_per_arm=2,
    ...                     timepoints={"pre": False, "on": True}, subject_key="patient",
    ...                     subject_prefix="P", missing=[("P04", "on")])
    >>> d.samples()["sample"].tolist()
    ['P01_pre', 'P01_on', 'P02_pre', 'P02_on', 'P03_pre', 'P03_on', 'P04_pre']
    """

    arms: Mapping[str, Sequence[str]]
    n_per_arm: int | Mapping[str, int] = 4
    timepoints: Mapping[str, bool] | None = None
    factors: Mapping[str, Sequence[str] | Mapping[str, str]] = field(default_factory=dict)
    batches: int | Mapping[str, str] = 1
    missing: Collection[tuple[str, str]] = ()
    subject_key: str = "subject"
    time_key: str = "timepoint"
    subject_prefix: str = "S"

    def __post_init__(self) -> None:
        _check_arms(self.arms)
        _check_columns(self)
        self.samples()  # every other check needs the subjects

    @property
    def agents(self) -> tuple[str, ...]:
        """Every agent of some arm, in order of first appearance."""
        return tuple(dict.fromkeys(a for agents in self.arms.values() for a in agents))

    def subjects(self) -> pd.DataFrame:
        """One row per subject: ``subject_key``, ``arm``, ``batch`` (if several), factors.

        Examples
        --------
        >>> d = SimulatedDesign(arms={"a": [], "b": ["MEKi"]}, n_per_arm=2,
        ...                     factors={"response": ["R", "NR"]})
        >>> d.subjects()["response"].tolist()
        ['R', 'NR', 'R', 'NR']
        """
        counts = _per_arm(self.n_per_arm, self.arms)
        rows = [(arm, k) for arm in self.arms for k in range(counts[arm])]
        names = [f"{self.subject_prefix}{i + 1:02d}" for i in range(len(rows))]
        table = pd.DataFrame({self.subject_key: names, "arm": [arm for arm, _ in rows]})
        within = np.array([k for _, k in rows])
        batch = _assign("batches", self.batches, names, within, _batch_levels(self.batches))
        if batch is not None:
            table["batch"] = batch
        for factor, levels in self.factors.items():
            table[factor] = _assign(factor, levels, names, within, levels)
        return table

    def samples(self) -> pd.DataFrame:
        """The sample sheet: one row per sample, columns as in the simulated ``obs``.

        ``sample``, ``subject_key`` (with time points), ``arm``, ``time_key`` (with time
        points), ``batch`` (with several batches) and one column per factor; all
        categorical in the order given.

        Examples
        --------
        >>> d = SimulatedDesign(arms={"vehicle": [], "cobi": ["MEKi"]}, n_per_arm=2, batches=2)
        >>> d.samples().astype(str).agg(" ".join, axis=1).tolist()
        ['S01 vehicle B1', 'S02 vehicle B2', 'S03 cobi B1', 'S04 cobi B2']
        """
        subjects = self.subjects()
        if self.timepoints is None:
            if self.missing:
                raise InputError("missing names (subject, time point) pairs; give timepoints")
            table = subjects.rename(columns={self.subject_key: "sample"})
        else:
            table = _timecourse(self, subjects)
        return _categorical(self, table)

    def _given(self, samples: pd.DataFrame) -> pd.Series:
        """Whether each sample's arm agents act (its time point gives them)."""
        if self.timepoints is None:
            return pd.Series(data=True, index=samples.index)
        return samples[self.time_key].map(dict(self.timepoints)).astype(bool)

    def _atoms(self) -> set[str]:
        """The single terms effects may name: agents, ``time=point``, ``factor=level``."""
        atoms = set(self.agents)
        if self.timepoints is not None:
            atoms |= {f"{self.time_key}={t}" for t in self.timepoints}
        for factor in self.factors:
            levels = self.subjects()[factor].unique()
            atoms |= {f"{factor}={level}" for level in levels}
        return atoms

    def terms_of(self, samples: pd.DataFrame) -> list[frozenset[str]]:
        """The single terms that hold in each sample (agents given, time point, levels).

        Examples
        --------
        >>> d = SimulatedDesign(arms={"ICI+MEKi": ["ICI", "MEKi"]}, n_per_arm=1,
        ...                     timepoints={"pre": False, "on": True})
        >>> [sorted(t) for t in d.terms_of(d.samples())]
        [['timepoint=pre'], ['ICI', 'MEKi', 'timepoint=on']]
        """
        given = self._given(samples).to_numpy()
        out = []
        for i, row in enumerate(samples.to_dict("records")):
            terms = set(self.arms[row["arm"]]) if given[i] else set()
            if self.timepoints is not None:
                terms.add(f"{self.time_key}={row[self.time_key]}")
            terms |= {f"{f}={row[f]}" for f in self.factors}
            out.append(frozenset(terms))
        return out


@dataclass(frozen=True, kw_only=True)
class SimulationSettings:
    """How the simulated data look: cells, genes and noise (defaults of ``simulate_study``).

    Parameters
    ----------
    cell_types
        Cell types to simulate, from :data:`~mekscore.datasets._simulate.MARKERS`.
    n_cells_mean
        Mean cells per sample (log-normal around it, sd 0.5 on the log scale).
    n_genes
        Library and marker genes plus background genes up to this number (mouse data
        lose the genes without a mouse symbol).
    proportions
        Mean relative abundance of cell types, overriding the defaults for those given.
    concentration
        Dirichlet concentration of each sample's cell-type mix (lower: more variation).
    sample_sd
        SD of the per-subject, per-gene log offsets (subject-to-subject variation).
    residual_sd
        SD of the per-sample residual log offsets of a subject's samples (time points).
    batch_sd
        SD of the per-batch, per-gene log offsets (with several batches).
    dispersion
        Negative-binomial dispersion (variance = mean + dispersion * mean^2).

    Examples
    --------
    >>> SimulationSettings(n_genes=500, sample_sd=0.3).residual_sd
    0.1
    """

    cell_types: Sequence[str] = CELL_TYPES
    n_cells_mean: int = 400
    n_genes: int = 2000
    proportions: Mapping[str, float] | None = None
    concentration: float = 30.0
    sample_sd: float = 0.4
    residual_sd: float = 0.1
    batch_sd: float = 0.3
    dispersion: float = 0.3

    def __post_init__(self) -> None:
        unknown = [t for t in self.cell_types if t not in MARKERS]
        if unknown or not self.cell_types:
            raise InputError(f"unknown cell types {unknown}; choose from {list(MARKERS)}")
        if self.n_cells_mean < 1 or self.concentration <= 0 or self.dispersion <= 0:
            raise InputError("need n_cells_mean >= 1, concentration > 0 and dispersion > 0")
        if min(self.sample_sd, self.residual_sd, self.batch_sd) < 0:
            raise InputError("sample_sd, residual_sd and batch_sd must be >= 0")


def simulate_design(
    *,
    design: SimulatedDesign,
    effects: Mapping[Term, Effects] | None = None,
    composition: Mapping[Term, Mapping[str, float]] | None = None,
    settings: SimulationSettings | None = None,
    bulk: bool = False,
    species: str = "human",
    seed: int = 0,
) -> ad.AnnData:
    """Simulate a study of any design with negative-binomial counts and planted effects.

    Parameters
    ----------
    design
        Arms and their agents, subjects, time points, factors, batches, missing samples.
    effects
        Term -> planted effects, each ``"biology"``, ``"none"`` or a dict ``signature id
        -> fold change`` (in the signature's compartment) or ``-> (fold change,
        compartments)``. A term is an agent, ``"<time_key>=<point>"``,
        ``"<factor>=<level>"`` or a tuple of these (an interaction: its folds multiply
        the single-term ones where all its parts hold). ``"MEKi"`` defaults to
        ``"biology"``; other terms have no effect unless given.
    composition
        Term -> {cell type: fold change of its mean share in the samples the term
        holds in}.
    settings
        Cells, genes and noise (:class:`SimulationSettings`; its defaults if ``None``).
    bulk
        Return samples x genes, the summed counts of each sample's cells.
    species
        ``"human"`` (HGNC symbols, background ``GENE0001``...) or ``"mouse"``: curated MGI
        symbols (the library's, :data:`MOUSE_MARKERS`, :data:`MOUSE_MHC1`), background
        ``Gene0001``...; genes without a mouse symbol are left out.
    seed
        Seed of the random generator; equal arguments give equal data.

    Returns
    -------
    Single-cell: cells x genes, raw counts in ``X`` (CSR float32) and ``layers["counts"]``,
    ``obs`` = the design's sample sheet (:meth:`SimulatedDesign.samples`) per cell plus
    ``cell_type``. Bulk: samples x genes with the sample sheet and ``n_cells`` as ``obs``.
    ``uns["planted"]``: term label (``"MEKi"``, ``"MEKi:ICI"``) -> signature ->
    ``fold_change``, ``compartments``; ``uns["planted_composition"]``: term label -> cell
    type -> fold; ``uns["arms"]``: arm -> agents joined by ``+``; ``uns["compartments"]``.

    Examples
    --------
    >>> design = SimulatedDesign(
    ...     arms={"vehicle": [], "cobi": ["MEKi"], "aPDL1": ["ICI"], "combo": ["MEKi", "ICI"]},
    ...     n_per_arm=2, batches=2, subject_prefix="M")
    >>> adata = simulate_design(
    ...     design=design,
    ...     effects={"ICI": {"ifng_ayers6": 1.8}, ("MEKi", "ICI"): {"tis_gep18": 1.5}},
    ...     settings=SimulationSettings(n_cells_mean=60, n_genes=500), species="mouse", seed=1)
    >>> adata.obs.groupby("arm", observed=True)["sample"].nunique().to_dict()
    {'vehicle': 2, 'cobi': 2, 'aPDL1': 2, 'combo': 2}
    >>> sorted(adata.uns["planted"]), "Dusp6" in adata.var_names
    (['ICI', 'MEKi', 'MEKi:ICI'], True)
    """
    settings = settings or SimulationSettings()
    if species not in ("human", "mouse"):
        raise InputError(f"species={species!r}: use 'human' or 'mouse'")
    cell_types = tuple(settings.cell_types)
    planted = _planted_terms(design, effects)
    shifts = _composition_terms(design, composition, cell_types)
    samples = design.samples()
    terms = design.terms_of(samples)
    rng = np.random.default_rng(seed)
    genes = gene_universe(settings.n_genes)
    base = _cell_type_profiles(rng, genes, cell_types)
    effect = {t: _treatment(p, genes, cell_types) for t, p in planted.items()}
    offsets = _offsets(rng, design, samples, settings, len(genes))
    props = _mean_proportions(cell_types, settings.proportions)
    blocks, labels = [], []
    for i, held in enumerate(terms):
        log_mean = base + offsets[i] + sum(e for t, e in effect.items() if set(t) <= held)
        mix = props * np.prod([s for t, s in shifts.items() if set(t) <= held] or [1.0], axis=0)
        alpha = settings.concentration * mix / mix.sum()
        counts, types = _draw_sample(
            rng,
            log_mean,
            cell_types,
            alpha,
            n_cells_mean=settings.n_cells_mean,
            dispersion=settings.dispersion,
        )
        blocks.append(counts)
        labels.append(types)
    uns = _record(design, planted, composition)
    var = pd.DataFrame(index=pd.Index(genes, name="gene"))
    if bulk:
        adata = _bulk(blocks, samples, var, uns)
    else:
        adata = _cells(blocks, labels, samples, var, uns=uns, cell_types=cell_types)
    return to_mouse(adata) if species == "mouse" else adata


def mouse_symbols(genes: Sequence[str]) -> dict[str, str]:
    """Human simulated gene -> its mouse symbol, for the genes that have one.

    Library genes take the signature's curated MGI symbol, markers :data:`MOUSE_MARKERS`,
    HLA-A/B/C :data:`MOUSE_MHC1`; background ``GENE0001`` becomes ``Gene0001``.

    Examples
    --------
    >>> mouse_symbols(["DUSP6", "HLA-A", "HLA-C", "CD8B", "GNLY", "GENE0007"])
    {'DUSP6': 'Dusp6', 'HLA-A': 'H2-K1', 'CD8B': 'Cd8b1', 'GENE0007': 'Gene0007'}
    """
    known = {**_library_mouse(), **MOUSE_MARKERS, **MOUSE_MHC1}
    out = {}
    for gene in genes:
        symbol = f"Gene{gene[4:]}" if gene.startswith("GENE") else known.get(gene)
        if symbol is not None:
            out[gene] = symbol
    return out


def to_mouse(adata: ad.AnnData) -> ad.AnnData:
    """Simulated human data with mouse symbols; genes without one are left out.

    Examples
    --------
    >>> from mekscore.datasets import simulate_study
    >>> mouse = to_mouse(simulate_study(n_samples_per_arm=1, n_cells_mean=20, n_genes=400))
    >>> mouse.n_vars, "H2-K1" in mouse.var_names, "ERAP2" in mouse.var_names
    (389, True, False)
    """
    symbols = mouse_symbols(list(adata.var_names))
    out = adata[:, list(symbols)].copy()
    out.var_names = pd.Index([symbols[g] for g in symbols], name=adata.var_names.name)
    return out


def _library_mouse() -> dict[str, str | None]:
    """Library gene -> its one curated MGI symbol (None: none, or several)."""
    library = load_library()
    out: dict[str, str | None] = {}
    for sid in SIMULATED_SIGNATURES:
        for gene, mouse in library[sid].mouse.items():
            out[gene] = mouse[0] if len(mouse) == 1 else None
    return out


def _check_arms(arms: Mapping[str, Sequence[str]]) -> None:
    if not isinstance(arms, Mapping) or not arms:
        raise InputError(
            'arms must be a dict arm -> agents, e.g. {"vehicle": [], "cobi": ["MEKi"]}'
        )
    for arm, agents in arms.items():
        if isinstance(agents, str):
            raise InputError(f"arms[{arm!r}] is a string; give a list of agents, e.g. [{agents!r}]")
        bad = [a for a in agents if not isinstance(a, str) or "=" in a or not a]
        if bad:
            raise InputError(
                f"arms[{arm!r}] has agent names {bad}; use non-empty names without '='"
            )


def _check_columns(design: SimulatedDesign) -> None:
    names = [design.subject_key, design.time_key, *design.factors]
    clash = [n for n in names if n in _RESERVED] + [n for n in set(names) if names.count(n) > 1]
    if clash:
        raise InputError(
            f"column name(s) {sorted(set(clash))} clash with the simulated obs columns "
            f"{sorted(_RESERVED)} or each other; rename the subject key, time key or factor"
        )


def _per_arm(n_per_arm: int | Mapping[str, int], arms: Mapping) -> dict[str, int]:
    counts = dict(n_per_arm) if isinstance(n_per_arm, Mapping) else dict.fromkeys(arms, n_per_arm)
    if set(counts) != set(arms) or not all(int(n) >= 1 for n in counts.values()):
        raise InputError(f"n_per_arm must be >= 1 for each arm of {list(arms)}, got {n_per_arm}")
    return {arm: int(n) for arm, n in counts.items()}


def _batch_levels(batches: int | Mapping[str, str]) -> list[str] | None:
    if isinstance(batches, Mapping):
        return None
    if int(batches) < 1:
        raise InputError(f"batches must be >= 1 or a dict subject -> batch, got {batches}")
    return [f"B{b + 1}" for b in range(int(batches))] if int(batches) > 1 else None


def _assign(name: str, spec, subjects: list[str], within: np.ndarray, levels) -> list | None:
    """Per subject: ``levels`` in turn within each arm, or the subject -> level dict."""
    if isinstance(spec, Mapping):
        missing = [s for s in subjects if s not in spec]
        unknown = sorted(set(spec) - set(subjects))
        if missing or unknown:
            raise InputError(
                f"{name} must give a level for every subject {subjects[0]}..{subjects[-1]}; "
                f"missing {missing}, unknown {unknown}"
            )
        return [str(spec[s]) for s in subjects]
    if levels is None:
        return None
    if isinstance(levels, str) or not len(levels):
        raise InputError(f"{name} needs a list of levels, e.g. ['R', 'NR'], got {levels!r}")
    return [str(levels[k % len(levels)]) for k in within]


def _timecourse(design: SimulatedDesign, subjects: pd.DataFrame) -> pd.DataFrame:
    """Subjects x time points, without the ``missing`` pairs."""
    if not design.timepoints:
        raise InputError('timepoints must name at least one time point, e.g. {"pre": False}')
    key, points = design.subject_key, list(design.timepoints)
    missing = {(str(s), str(t)) for s, t in design.missing}
    unknown = [p for p in missing if p[0] not in set(subjects[key]) or p[1] not in points]
    if unknown:
        raise InputError(
            f"missing names unknown (subject, time point) pairs {sorted(unknown)}; subjects "
            f"are {subjects[key].iloc[0]}..{subjects[key].iloc[-1]}, time points {points}"
        )
    rows = subjects.loc[subjects.index.repeat(len(points))].reset_index(drop=True)
    rows.insert(2, design.time_key, points * len(subjects))
    keep = [(s, t) not in missing for s, t in zip(rows[key], rows[design.time_key], strict=True)]
    rows = rows[keep].reset_index(drop=True)
    lost = sorted(set(subjects[key]) - set(rows[key]))
    if lost:
        raise InputError(f"missing removes every sample of {lost}; lower n_per_arm instead")
    rows.insert(
        0, "sample", [f"{s}_{t}" for s, t in zip(rows[key], rows[design.time_key], strict=True)]
    )
    return rows


def _categorical(design: SimulatedDesign, table: pd.DataFrame) -> pd.DataFrame:
    orders = {"sample": list(table["sample"]), "arm": list(design.arms)}
    if design.timepoints is not None:
        orders[design.subject_key] = list(dict.fromkeys(table[design.subject_key]))
        orders[design.time_key] = list(design.timepoints)
    for factor, levels in design.factors.items():
        if not isinstance(levels, Mapping):
            orders[factor] = list(dict.fromkeys(str(v) for v in levels))
    out = table.copy()
    for col in out.columns:
        order = orders.get(col, sorted(out[col].unique()))
        out[col] = pd.Categorical(out[col], categories=[c for c in order if c in set(out[col])])
    return out


def _as_term(key: Term) -> tuple[str, ...]:
    return tuple(key) if isinstance(key, tuple) else (key,)


def _label(term: tuple[str, ...]) -> str:
    return ":".join(term)


def _check_terms(keys, design: SimulatedDesign, what: str) -> None:
    atoms = design._atoms()
    for key in keys:
        unknown = [a for a in _as_term(key) if a not in atoms]
        if unknown:
            raise InputError(
                f"{what} names {unknown[0]!r}, which is no agent, time point or factor level "
                f"of the design; use one of {sorted(atoms)} or a tuple of them"
            )


def _planted_terms(design: SimulatedDesign, effects) -> dict[tuple[str, ...], dict]:
    """Term -> normalised planted effects; ``MEKi`` defaults to the biology."""
    given = dict(effects or {})
    _check_terms(given, design, "effects")
    if MEKI in design.agents and not any(_as_term(k) == (MEKI,) for k in given):
        given[MEKI] = "biology"
    return {_as_term(k): planted_effects(v) for k, v in given.items()}


def _composition_terms(design, composition, cell_types) -> dict[tuple[str, ...], np.ndarray]:
    """Term -> fold change of each cell type's mean share (1 where not given)."""
    given = dict(composition or {})
    _check_terms(given, design, "composition")
    out = {}
    for key, folds in given.items():
        unknown = sorted(set(folds) - set(cell_types))
        if unknown or not all(f > 0 for f in folds.values()):
            raise InputError(
                f"composition[{key!r}] needs folds > 0 for simulated cell types "
                f"{list(cell_types)}; got {dict(folds)}"
            )
        out[_as_term(key)] = np.array([folds.get(t, 1.0) for t in cell_types], dtype=float)
    return out


def _offsets(rng, design, samples, settings, n_genes: int) -> np.ndarray:
    """Per-sample log offsets: subject (+ residual with time points) + batch."""
    subject = samples[design.subject_key if design.timepoints is not None else "sample"]
    pair_sd = settings.residual_sd if design.timepoints is not None else None
    shared = _sample_offsets(
        rng, pd.DataFrame({"patient": subject.astype(str)}), n_genes, settings.sample_sd, pair_sd
    )
    if "batch" not in samples:
        return shared
    levels, which = np.unique(samples["batch"].astype(str), return_inverse=True)
    return shared + rng.normal(0.0, settings.batch_sd, (len(levels), n_genes))[which]


def _record(design, planted, composition) -> dict:
    uns = {
        "planted": {_label(t): _planted_record(p) for t, p in planted.items()},
        "arms": {arm: "+".join(agents) for arm, agents in design.arms.items()},
        "compartments": SIMULATED_COMPARTMENTS,
    }
    if composition:
        uns["planted_composition"] = {
            _label(_as_term(k)): {str(t): float(f) for t, f in v.items()}
            for k, v in composition.items()
        }
    return uns


def _cells(blocks, labels, samples, var, *, uns, cell_types) -> ad.AnnData:
    sizes = [b.shape[0] for b in blocks]
    obs = samples.loc[np.repeat(samples.index.to_numpy(), sizes)].reset_index(drop=True)
    obs["cell_type"] = pd.Categorical(np.concatenate(labels), categories=list(cell_types))
    obs.index = pd.Index([f"cell{i:06d}" for i in range(len(obs))])
    X = sparse.vstack(blocks, format="csr")
    adata = ad.AnnData(X=X, obs=obs, var=var, uns=uns)
    adata.layers["counts"] = X.copy()
    return adata


def _bulk(blocks, samples, var, uns) -> ad.AnnData:
    X = np.vstack([np.asarray(b.sum(axis=0)) for b in blocks]).astype(np.float32)
    obs = samples.assign(n_cells=[b.shape[0] for b in blocks])
    obs.index = pd.Index(obs["sample"].astype(str))
    adata = ad.AnnData(X=X, obs=obs, var=var, uns=uns)
    adata.layers["counts"] = X.copy()
    return adata
