"""``tl.compare``: test whether treated samples changed as the literature expects.

The data flow, one module per step:

1. the design (:mod:`._designspec`, :mod:`._sheet`, :mod:`._model`): samples, arms,
   pairs, subjects and time, covariates, and the named contrasts; validated before any
   scoring;
2. aggregation (:mod:`._sources`): one value per sample x compartment, from the
   summed counts of the sample's cells (pseudobulk) or the mean of its cell scores;
3. one row per target and contrast (:mod:`._rows`): sample-level tests with exact
   intervals (:mod:`._stats`, :mod:`._fits`), in bulk data read in its context
   (:mod:`._bulk_context`);
4. the verdict (:mod:`._verdict`): what each contrast should show, families within each
   contrast, a pharmacodynamic gate per contrast, verdict words;
5. the record (:mod:`._record`): verdicts, samples, composition, QC, the competitive
   view and every parameter, stored under one key for the report and the CLI.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from ..errors import InputError
from ..sig import load_library, resolve, yaml_text
from ..sig.gmt import SignatureSpec
from . import _stats
from ._bulk_context import BulkContext
from ._composition import composition_counts, composition_targets, logit_shares
from ._consensus import check_methods, consensus
from ._designspec import Design
from ._labels import describe_dropped
from ._layout import cell_label
from ._model import build_model, resolve_test
from ._qc import signature_qc
from ._record import Comparison
from ._rows import COLUMNS, COUNTS, Evaluated, RowContext, Testing, evaluate
from ._settings import ScoreSettings
from ._sheet import SampleSheet, build_sheet
from ._sources import SampleValues, Scoring, Setup, choose_aggregation, make_source, signature_meta
from ._targets import Compartments
from ._verdict import VERDICTS, add_verdicts

__all__ = ["COLUMNS", "VERDICTS", "compare"]

SAMPLE_COLUMNS = (
    "signature",
    "kind",
    "compartment",
    "contrast",
    "sample",
    "condition",
    "pair",
    "n_cells",
    "score",
    "change",
    "change_type",
    "moved",
    "moved_expected",
)


@dataclass(frozen=True)
class Levels:
    """The levels every test of a comparison uses, checked once."""

    alpha: float
    confidence: float
    min_cells: int


@dataclass(frozen=True, kw_only=True)
class Request:
    """Everything one comparison was asked to do, checked once."""

    design: Design
    sample_key: str | None
    bulk: bool
    compartment_key: str | None
    compartments: Mapping[str, str | Sequence[str]] | None
    scoring: Scoring
    scores: str | pd.DataFrame | None
    aggregate: str
    counts_layer: str | None
    test: str | None
    levels: Levels
    in_all_cells: bool
    composition: bool
    bulk_of: str
    purity_key: str | None
    qc: bool
    competitive: bool


def compare(  # noqa: PLR0913 - public keyword API, like scanpy.tl.rank_genes_groups
    adata: AnnData,
    design: Design | None = None,
    *,
    condition_key: str | None = None,
    control: str | None = None,
    treated: str | Sequence[str] | None = None,
    pair_key: str | None = None,
    sample_key: str | None = None,
    compartment_key: str | None = None,
    compartments: Mapping[str, str | Sequence[str]] | None = None,
    bulk: bool = False,
    scores: str | pd.DataFrame | None = None,
    method: str | Sequence[str] | None = None,
    signatures: SignatureSpec = "all",
    aggregate: str = "auto",
    counts_layer: str | None = "counts",
    score_kwargs: Mapping[str, Any] | None = None,
    test: str | None = None,
    alpha: float = 0.05,
    confidence: float | None = None,
    min_cells: int = 10,
    in_all_cells: bool = False,
    composition: bool = True,
    bulk_of: str = "auto",
    purity_key: str | None = None,
    pd_control: bool = True,
    qc: bool = True,
    competitive: bool = False,
    return_samples: bool = False,
    key_added: str = "mekscore_compare",
    inplace: bool = True,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Test treated against control samples, per signature x compartment, with verdicts.

    The sample (patient, mouse) is the replicate, never the cell. Two arms are stated
    with ``condition_key``, ``control`` and ``treated`` (``pair_key`` for pairs); any
    other study (several arms, arms declared by their agents, covariates, repeated
    biopsies, a formula) with a :class:`~mekscore.tl.Design`, and every contrast of it
    gets its own row per signature, its own families and its own verdict. See the module
    docs of :mod:`mekscore.tl._stats` (tests and intervals), :mod:`mekscore.tl._model`
    (designs) and :mod:`mekscore.tl._verdict` (what each contrast should show, families,
    gatekeeping, verdict words).

    Parameters
    ----------
    adata
        Cells x genes (single-cell) or samples x genes (bulk).
    design
        The study design (:class:`~mekscore.tl.Design`), instead of ``condition_key``,
        ``control``, ``treated`` and ``pair_key``.
    condition_key, control, treated
        ``obs`` column holding the condition and its control / treated labels; several
        treated labels compare each with control (a dose series, say).
    sample_key
        ``obs`` column naming each observation's sample. Required for single-cell
        data; a column with one observation per sample means bulk.
    compartment_key
        ``obs`` column of cell types. Each signature is tested on the cells of its
        compartment (``tumor``, ``cd8_t``, ... ; ``any`` = all cells). ``None``: every
        signature is tested on all observations and flagged as not isolated.
    compartments
        Compartment -> labels of ``compartment_key``, e.g. ``{"tumor": ["Malignant"]}``.
        Labels equal to a compartment name (case-insensitive, spaces as ``_``, e.g.
        ``"CD8 T"``) map to it by themselves. Labels absent from the data are refused.
    pair_key
        ``obs`` column identifying the pair (patient) of a paired design. Samples
        whose pair lacks the other arm are dropped and reported.
    bulk
        Each observation is one sample (no ``sample_key`` needed).
    scores
        ``obsm`` key (or a cells x signatures DataFrame) of stored cell scores from
        :func:`mekscore.tl.score`: the mean of these per sample is compared.
    method
        Scoring method when scoring here (pseudobulk profiles, bulk samples or cells).
        Default: ``mean`` (mean log-expression of the signature genes) for pseudobulk
        profiles and bulk samples, ``ucell`` for cells. Several methods (a rank-based
        and a standardised one, e.g. ``["singscore", "mean"]``) compare once per method:
        the record keeps the first method's verdicts and every method's verdict with
        their consensus under ``methods`` (see :func:`mekscore.tl.compare_methods`).
    signatures
        Signatures to test (default: the bundled library); also filters stored scores.
    aggregate
        ``"auto"`` (pseudobulk whenever raw counts exist, unless ``scores`` is given; else
        the mean of cell scores), ``"pseudobulk"`` (sum the counts of each sample's cells,
        normalise with :func:`mekscore.pp.log_normalize` and score) or ``"mean"`` (mean of
        cell scores: the stored ones when no ``method`` is given). What is stored in
        ``adata.obsm`` never changes ``"auto"``. Bulk data need none.
    counts_layer
        Layer of raw counts for pseudobulk (``X`` when it holds counts).
    score_kwargs
        Settings of :func:`mekscore.tl.score` applied in every scoring path, e.g.
        ``{"layer": "log", "gene_symbols": "symbol", "max_rank": 1000}``.
    test
        Unpaired: ``"welch"`` (default) or ``"mannwhitney"``. Paired: ``"paired-t"``
        (default) or ``"wilcoxon"``.
    alpha
        q-value threshold for ``consistent`` / ``opposite``, in (0, 1).
    confidence
        Level of the intervals; default ``1 - alpha``, so that an interval excludes 0
        exactly when the test's p-value is below ``alpha``.
    min_cells
        Samples with fewer cells in a compartment are dropped from that row and named.
    in_all_cells
        Also test each signature on all cells of each sample (family ``secondary``).
    composition
        Single-cell data with ``compartment_key``: also test each compartment's share
        of the sample's cells (rows with ``kind = "abundance"``, see
        :mod:`mekscore.tl._composition`).
    bulk_of
        Bulk data without cell labels: what the samples are. ``"auto"`` decides from
        marker genes (tumour cells only, leukocytes only, or mixed tissue; see
        :mod:`mekscore.tl._bulk_context`); ``"tumor"`` (a tumour-cell culture or sorted
        tumour cells), ``"tissue"``, or an immune population (``"cd8_t"``,
        ``"t_cells"``, ``"myeloid"``, ...) states it. A statement the markers
        contradict gets a warning.
    purity_key
        Bulk data: ``obs`` column of each sample's tumour content (fraction in (0, 1]);
        tumour programs in mixed tissue are adjusted for its log instead of a
        marker-gene estimate.
    pd_control
        Add the pharmacodynamic control (MAPK output, ``mapk_output_mpas``) to a selection
        of signatures that has none, so the gate is tested (``False``: leave it out; every
        other row is then flagged ``PD not confirmed``).
    qc
        Check how each signature holds together in these data
        (:func:`mekscore.tl.signature_qc`), shown in the report.
    competitive
        Also run the competitive view (:func:`mekscore.tl.competitive`, pre-ranked GSEA
        of per-gene Welch statistics; needs raw counts).
    return_samples
        Also return the per-sample table (each treated sample's or pair's change).
    key_added
        ``adata.uns`` key of the comparison record (:class:`mekscore.tl._record.Comparison`:
        ``parameters``, ``results``, ``samples``, ``genes`` and, when computed,
        ``composition``, ``qc``, ``competitive``, ``methods``); :func:`mekscore.report.write`
        renders it.
    inplace
        Store the record in ``adata.uns[key_added]``; ``False`` leaves ``adata``
        untouched. The verdict table is returned either way, since it is the answer.

    Returns
    -------
    The verdict table, one row per signature x compartment (columns
    :data:`COLUMNS`); with ``return_samples=True``, ``(verdicts, samples)``.

    Examples
    --------
    >>> import mekscore as mk
    >>> adata = mk.datasets.load_example_scrna()  # doctest: +SKIP
    >>> table = mk.tl.compare(adata, condition_key="condition", control="vehicle",
    ...     treated="trametinib", sample_key="sample",
    ...     compartment_key="cell_type")  # doctest: +SKIP
    """
    methods = [method] if method is None or isinstance(method, str) else check_methods(method)
    stated = {"condition_key": condition_key, "control": control, "treated": treated}
    request = Request(
        design=_design(design, pair_key=pair_key, **stated),
        sample_key=sample_key,
        bulk=bulk,
        compartment_key=compartment_key,
        compartments=compartments,
        scoring=Scoring(
            methods[0], signatures, ScoreSettings.from_keywords(score_kwargs), pd_control
        ),
        scores=scores,
        aggregate=aggregate,
        counts_layer=counts_layer,
        test=test,
        levels=check_levels(alpha, confidence, min_cells),
        in_all_cells=in_all_cells,
        composition=composition,
        bulk_of=bulk_of,
        purity_key=purity_key,
        qc=qc,
        competitive=competitive,
    )
    comparison = run(adata, request, methods=methods)
    if inplace:
        comparison.store(adata, key_added)
    table = comparison.results
    return (table, comparison.samples) if return_samples else table


def run(adata: AnnData, request: Request, *, methods: Sequence[str | None] = (None,)) -> Comparison:
    """The :class:`Comparison` of ``request``; several ``methods`` add their consensus."""
    if len(methods) == 1:
        return _comparison(adata, request)
    if request.scores is not None:
        raise InputError(
            "several methods score the data themselves; drop {scores!p}", scores=request.scores
        )
    runs = {
        m: _comparison(adata, replace(request, scoring=replace(request.scoring, method=m)))
        for m in methods
    }
    first = runs[methods[0]]
    table = consensus({m: r.results for m, r in runs.items()})
    parameters = dict(first.parameters, methods=list(methods))
    return replace(first, parameters=parameters, methods=table)


def _design(design: Design | None, **stated) -> Design:
    """The design: given, or the two-arm (or several-arm) one stated by keywords."""
    given = {k: v for k, v in stated.items() if v is not None}
    if design is not None:
        if given:
            raise InputError(
                "design= states the study; drop {keys} (or drop design=)",
                keys=", ".join(given),
            )
        return design
    missing = [k for k in ("condition_key", "control") if k not in given]
    if missing:
        raise InputError(
            "state the study: {condition_key!p}, {control!p} and {treated!p} (two or more "
            "arms), or design=mekscore.tl.Design(...)",
            condition_key=None,
            control=None,
            treated=None,
        )
    return Design(**given)


def check_levels(alpha: float, confidence: float | None, min_cells: int) -> Levels:
    """The checked levels (``confidence`` defaults to ``1 - alpha``).

    Examples
    --------
    >>> check_levels(0.1, None, 10)
    Levels(alpha=0.1, confidence=0.9, min_cells=10)
    """
    if not 0 < alpha < 1:
        raise InputError(
            "{alpha=} is not a probability; pass a value in (0, 1), e.g. 0.05", alpha=alpha
        )
    confidence = 1 - alpha if confidence is None else confidence
    if not 0 < confidence < 1:
        raise InputError("{confidence=} must be in (0, 1), e.g. 0.95", confidence=confidence)
    if min_cells < 1:
        raise InputError("{min_cells=} must be at least 1", min_cells=min_cells)
    return Levels(float(alpha), float(confidence), int(min_cells))


def _comparison(adata: AnnData, request: Request) -> Comparison:
    resolve_test(request.design, request.test)  # a wrong test fails before the samples are read
    sheet = build_sheet(adata.obs, request.design, sample_key=request.sample_key, bulk=request.bulk)
    model = build_model(sheet, request.design, test=request.test)
    levels = request.levels
    testing = Testing(model.test, levels.alpha, levels.confidence, levels.min_cells)
    compartments = Compartments.from_obs(adata.obs, request.compartment_key, request.compartments)
    setup = Setup(request.scoring, levels.min_cells, request.counts_layer, compartments.column)
    with recorded_warnings() as notes:
        aggregation = choose_aggregation(
            adata, request.aggregate, bulk=sheet.bulk, scores=request.scores, setup=setup
        )
        source = make_source(
            adata, sheet.samples, aggregation=aggregation, scores=request.scores, setup=setup
        )
        context = _bulk_context(adata, request, sheet, compartments, model)
        ctx = RowContext(sheet, model, testing, compartments, source.genes, context)
        meta = signature_meta(source.signature_ids, request.scoring.signatures)
        targets = compartments.targets(meta, in_all_cells=request.in_all_cells, bulk=sheet.bulk)
        evaluated = _programs(source, targets, ctx)
        shares, abundance = _abundance(adata.obs, ctx, composition=request.composition)
        evaluated += abundance
        qc = _qc(adata, request) if request.qc else None
        view = _competitive(adata, request, levels.min_cells) if request.competitive else None
    table, statuses = add_verdicts(
        pd.DataFrame([e.row for e in evaluated]), levels.alpha, confidence=levels.confidence
    )
    for count in COUNTS:
        table[count] = table[count].astype("Int64")
    parameters = _parameters(request, ctx, aggregation, source, statuses)
    if not ctx.two_arm:  # each contrast's test follows its data (ols, lmm, paired-t...)
        tested = table[table["verdict"] != "not testable"]
        for column in ("test", "effect_measure"):
            parameters[column] = ", ".join(dict.fromkeys(tested[column].astype(str)))
    parameters["notes"] = [*sheet.notes, *model.notes, *notes]
    if ctx.bulk is not None:
        parameters["bulk_context"] = ctx.bulk.evidence()
    return Comparison(
        parameters=parameters,
        results=table[list(COLUMNS)],
        samples=_sample_table([e.changes for e in evaluated], _sides(model)),
        genes=source.genes,
        composition=shares,
        qc=qc,
        competitive=view,
        signatures=_custom_signatures(request.scoring.to_score),
        design=model.design_table().reset_index(),
        detectable=model.detectable_effects(alpha=levels.alpha),
    )


def _bulk_context(
    adata: AnnData, request: Request, sheet: SampleSheet, compartments: Compartments, model
) -> BulkContext | None:
    """What bulk samples without cell labels are, and what to adjust for (else ``None``)."""
    if not sheet.bulk or compartments.labelled:
        return None
    context = BulkContext.build(
        adata,
        sheet,
        request.scoring.settings,
        bulk_of=request.bulk_of,
        purity_key=request.purity_key,
        adjust=model.two_arm,
    )
    for message in context.warnings if context is not None else ():
        warnings.warn(message, UserWarning, stacklevel=3)
    return context


def _programs(source, targets, ctx: RowContext) -> list[Evaluated]:
    """Every program row, the cells of each compartment aggregated once."""
    evaluated = {}
    for group, mask in ctx.compartments.groups(targets):
        values = source.values(mask, [t.signature for t in group]) if mask.any() else None
        for target in group:
            evaluated[target] = evaluate(target, values, ctx)
    return [row for t in targets for row in evaluated[t]]


def _abundance(obs: pd.DataFrame, ctx: RowContext, *, composition: bool):
    """Abundance rows (cell shares, or bulk marker proxies) and the per-sample shares."""
    if not composition:
        return None, []
    if ctx.compartments.labelled and not ctx.sheet.bulk:
        return _composition(obs, ctx)
    if ctx.bulk is None:
        return None, []
    proxies = SampleValues(*ctx.bulk.abundance_values())
    targets = ctx.bulk.abundance_targets()
    return None, [row for t in targets for row in evaluate(t, proxies, ctx)]


def _composition(obs: pd.DataFrame, ctx: RowContext):
    """Per-sample shares (samples x compartments, with ``condition``) and abundance rows."""
    sheet, labels = ctx.sheet, dict(ctx.compartments.labels)
    counts, totals = composition_counts(obs, sheet, ctx.compartments.key, labels)
    targets = composition_targets(labels)
    logits = logit_shares(counts, totals).rename(
        columns={t.compartment: t.signature for t in targets}
    )
    values = SampleValues(logits, totals)
    rows = [row for t in targets for row in evaluate(t, values, ctx)]
    shares = counts[[t.compartment for t in targets]].div(totals.replace(0, np.nan), axis=0)
    condition = sheet.condition().reindex(shares.index)
    shares.insert(0, "condition", condition)
    shares.insert(1, "n_cells", totals)
    return shares, rows


def _qc(adata: AnnData, request: Request) -> pd.DataFrame | None:
    """The signature QC on the matrix the cells are scored on (``None`` without one)."""
    settings = request.scoring.settings
    if adata.X is None and settings.matrix.layer is None and not settings.matrix.use_raw:
        warnings.warn(
            "signature QC skipped: adata has no expression matrix (X is empty)",
            UserWarning,
            stacklevel=2,
        )
        return None
    return signature_qc(
        adata,
        request.scoring.signatures,
        layer=settings.matrix.layer,
        use_raw=settings.matrix.use_raw,
        species=settings.matching.species,
    )


def _competitive(adata: AnnData, request: Request, min_cells: int) -> pd.DataFrame:
    from ._competitive import competitive

    design = request.design
    if design.kind != "two-arm" or design.pair_key is not None:
        raise InputError(
            "the competitive view compares two unpaired arms; drop {competitive!p} for this design",
            competitive=True,
        )
    return competitive(
        adata,
        condition_key=design.condition_key,
        control=design.control,
        treated=design.treated[0],
        sample_key=request.sample_key,
        compartment_key=request.compartment_key,
        compartments=request.compartments,
        signatures=request.scoring.signatures,
        counts_layer=request.counts_layer,
        min_cells=min_cells,
        bulk=request.bulk,
    )


@contextmanager
def recorded_warnings() -> Iterator[list[str]]:
    """Collect the messages of every warning raised inside, then raise them again.

    The messages become the comparison's ``notes``, so a warning printed while it
    ran is also in the record, the JSON and the report.
    """
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield notes
    for item in caught:
        text = " ".join(str(item.message).split())
        if issubclass(item.category, UserWarning) and text not in notes:
            notes.append(text)
        warnings.warn_explicit(item.message, item.category, item.filename, item.lineno)


def _sides(model) -> list[str]:
    """The sides samples are labelled by in the per-sample table: arms, or arm/time cells."""
    layout = model.layout
    if layout.kind == "repeated":
        return [cell_label(c) for c in layout.cells]
    return list(model.sheet.arms)


def _sample_table(changes, sides: Sequence[str]) -> pd.DataFrame:
    empty = pd.DataFrame(columns=list(SAMPLE_COLUMNS))
    samples = pd.concat([c for c in changes if len(c)] or [empty], ignore_index=True)
    order = list(sides) or None  # control (baseline) first, in tables and plots
    samples["condition"] = pd.Categorical(samples["condition"].astype(str), categories=order)
    return samples[list(SAMPLE_COLUMNS)]


def _custom_signatures(signatures: SignatureSpec) -> str:
    """The signatures that are not the bundled library's, as library-schema YAML (or "")."""
    if isinstance(signatures, str) and signatures == "all":
        return ""
    library = load_library()
    custom = [s for s in resolve(signatures) if library.get(s.id) != s]
    return yaml_text(custom) if custom else ""


def _described(signatures: SignatureSpec) -> str:
    """The signatures as given (``"all"``, ids, a GMT path) or the ids of the ones passed."""
    if isinstance(signatures, str):
        return signatures
    return ",".join(s.id for s in resolve(signatures))


def _parameters(request: Request, ctx: RowContext, aggregation: str, source, statuses):
    design, testing, sheet = request.design, ctx.testing, ctx.sheet
    keys = {
        "condition_key": design.condition_key,
        "control": design.control,
        "treated": ", ".join(design.treated or sheet.arms[1:]),
        "sample_key": request.sample_key,
        "compartment_key": request.compartment_key,
        "pair_key": design.pair_key,
        "signatures": _described(request.scoring.signatures),
    }
    out: dict[str, Any] = {k: ("" if v is None else v) for k, v in keys.items()}
    out.update(
        design=_design_word(ctx),
        study_design=json.dumps(design.to_dict()),  # text: any design stays h5ad-writable
        contrasts={c.name: {"words": c.words, "kind": c.kind} for c in ctx.model.contrasts},
        bulk=sheet.bulk,
        test=testing.test,
        effect_measure=_stats.EFFECT_MEASURES.get(testing.test, ""),
        alpha=testing.alpha,
        confidence=testing.confidence,
        min_cells=testing.min_cells,
        aggregate=aggregation,
        in_all_cells=request.in_all_cells,
        pd_status=_pd_summary(statuses),
        pd_status_by_contrast=dict(statuses),
        dropped=describe_dropped(sheet.dropped),
        **source.provenance,
    )
    out["compartments"] = {
        k: [v] if isinstance(v, str) else list(map(str, v))
        for k, v in (request.compartments or {}).items()
    }
    return out


def _design_word(ctx: RowContext) -> str:
    """``paired``/``unpaired`` for two arms, else the layout (``arms``, ``repeated``...)."""
    kind = ctx.model.layout.kind
    if ctx.two_arm:
        return "paired" if kind == "paired" else "unpaired"
    return kind


def _pd_summary(statuses: Mapping[str, str]) -> str:
    """One line: the gate's status, per gated contrast when there are several."""
    if len(statuses) == 1:
        return next(iter(statuses.values()))
    gated = {c: s for c, s in statuses.items() if not s.startswith("no gate")}
    if not gated:
        return "not tested: no contrast of this design should move MAPK output"
    return "; ".join(f"{contrast}: {status}" for contrast, status in gated.items())
