"""``tl.compare``: test whether treated samples changed as the literature expects.

The data flow, one module per step:

1. the design (:mod:`._design`): samples, arms, pairs; validated before any scoring;
2. aggregation (:mod:`._sources`): one value per sample x compartment, from the
   summed counts of the sample's cells (pseudobulk) or the mean of its cell scores;
3. one row per target (:mod:`._rows`): a sample-level test with exact intervals
   (:mod:`._stats`), in bulk data read in its context (:mod:`._bulk_context`);
4. the verdict (:mod:`._verdict`): families, the PD gatekeeper, verdict words;
5. the record (:mod:`._record`): verdicts, samples, composition, QC, the competitive
   view and every parameter, stored under one key for the report and the CLI.
"""

from __future__ import annotations

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
from ._bulk_context import bulk_context, proxy_targets, proxy_values
from ._composition import composition_counts, composition_targets, logit_shares
from ._consensus import check_methods, consensus
from ._design import Design, build_design, describe_dropped, resolve_test
from ._qc import signature_qc
from ._record import Comparison
from ._rows import COLUMNS, Evaluated, RowContext, Testing, evaluate
from ._settings import ScoreSettings
from ._sources import SampleValues, Scoring, Setup, choose_aggregation, make_source, signature_meta
from ._targets import Compartments
from ._verdict import VERDICTS, add_verdicts

__all__ = ["COLUMNS", "VERDICTS", "compare"]

SAMPLE_COLUMNS = (
    "signature",
    "kind",
    "compartment",
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


@dataclass(frozen=True, kw_only=True)
class Request:
    """Everything one comparison was asked to do, checked once."""

    condition_key: str
    control: str
    treated: str
    sample_key: str | None
    pair_key: str | None
    bulk: bool
    compartment_key: str | None
    compartments: Mapping[str, str | Sequence[str]] | None
    scoring: Scoring
    scores: str | pd.DataFrame | None
    aggregate: str
    counts_layer: str | None
    testing: Testing
    in_all_cells: bool
    composition: bool
    qc: bool
    competitive: bool


def compare(
    adata: AnnData,
    *,
    condition_key: str,
    control: str,
    treated: str,
    sample_key: str | None = None,
    compartment_key: str | None = None,
    compartments: Mapping[str, str | Sequence[str]] | None = None,
    pair_key: str | None = None,
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
    pd_control: bool = True,
    qc: bool = True,
    competitive: bool = False,
    return_samples: bool = False,
    key_added: str = "mekscore_compare",
    inplace: bool = True,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Test treated against control samples, per signature x compartment, with verdicts.

    The sample (patient, mouse) is the replicate, never the cell. See the module
    docs of :mod:`mekscore.tl._stats` (tests and intervals) and
    :mod:`mekscore.tl._verdict` (families, gatekeeping, verdict words).

    Parameters
    ----------
    adata
        Cells x genes (single-cell) or samples x genes (bulk).
    condition_key, control, treated
        ``obs`` column holding the condition and its control / treated labels.
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
    request = Request(
        condition_key=condition_key,
        control=control,
        treated=treated,
        sample_key=sample_key,
        pair_key=pair_key,
        bulk=bulk,
        compartment_key=compartment_key,
        compartments=compartments,
        scoring=Scoring(
            methods[0], signatures, ScoreSettings.from_keywords(score_kwargs), pd_control
        ),
        scores=scores,
        aggregate=aggregate,
        counts_layer=counts_layer,
        testing=make_testing(test, alpha, confidence, min_cells, paired=pair_key is not None),
        in_all_cells=in_all_cells,
        composition=composition,
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


def make_testing(test, alpha, confidence, min_cells, *, paired: bool) -> Testing:
    """The checked test settings (``confidence`` defaults to ``1 - alpha``).

    Examples
    --------
    >>> make_testing(None, 0.1, None, 10, paired=True)
    Testing(test='paired-t', alpha=0.1, confidence=0.9, min_cells=10)
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
    return Testing(resolve_test(test, paired), float(alpha), float(confidence), int(min_cells))


def _comparison(adata: AnnData, request: Request) -> Comparison:
    design = build_design(
        adata.obs,
        condition_key=request.condition_key,
        control=request.control,
        treated=request.treated,
        sample_key=request.sample_key,
        pair_key=request.pair_key,
        test=request.testing.test,
        bulk=request.bulk,
    )
    compartments = Compartments.from_obs(adata.obs, request.compartment_key, request.compartments)
    setup = Setup(
        request.scoring, request.testing.min_cells, request.counts_layer, compartments.column
    )
    with recorded_warnings() as notes:
        aggregation = choose_aggregation(
            adata, request.aggregate, bulk=design.bulk, scores=request.scores, setup=setup
        )
        source = make_source(
            adata, design.samples, aggregation=aggregation, scores=request.scores, setup=setup
        )
        context = None
        if design.bulk and not compartments.labelled:
            context = bulk_context(adata, design, request.scoring.settings)
        ctx = RowContext(design, request.testing, compartments, source.genes, context)
        meta = signature_meta(source.signature_ids, request.scoring.signatures)
        targets = compartments.targets(meta, in_all_cells=request.in_all_cells, bulk=design.bulk)
        evaluated = _programs(source, targets, ctx)
        shares, abundance = _abundance(adata.obs, ctx, composition=request.composition)
        evaluated += abundance
        qc = _qc(adata, request) if request.qc else None
        view = _competitive(adata, request) if request.competitive else None
    table, status = add_verdicts(
        pd.DataFrame([e.row for e in evaluated]),
        request.testing.alpha,
        confidence=request.testing.confidence,
    )
    for count in ("n_moved_expected", "n_genes_used", "n_genes"):
        table[count] = table[count].astype("Int64")
    parameters = _parameters(request, design, aggregation, source, status, list(design.notes))
    parameters["notes"] = [*design.notes, *notes]
    return Comparison(
        parameters=parameters,
        results=table[list(COLUMNS)],
        samples=_sample_table([e.changes for e in evaluated], request.control, request.treated),
        genes=source.genes,
        composition=shares,
        qc=qc,
        competitive=view,
        signatures=_custom_signatures(request.scoring.to_score),
    )


def _programs(source, targets, ctx: RowContext) -> list[Evaluated]:
    """Every program row, the cells of each compartment aggregated once."""
    evaluated = {}
    for group, mask in ctx.compartments.groups(targets):
        values = source.values(mask, [t.signature for t in group]) if mask.any() else None
        for target in group:
            evaluated[target] = evaluate(target, values, ctx)
    return [evaluated[t] for t in targets]


def _abundance(obs: pd.DataFrame, ctx: RowContext, *, composition: bool):
    """Abundance rows (cell shares, or bulk marker proxies) and the per-sample shares."""
    if not composition:
        return None, []
    if ctx.compartments.labelled and not ctx.design.bulk:
        return _composition(obs, ctx)
    if ctx.bulk is None:
        return None, []
    proxies = SampleValues(*proxy_values(ctx.bulk))
    return None, [evaluate(t, proxies, ctx) for t in proxy_targets(ctx.bulk)]


def _composition(obs: pd.DataFrame, ctx: RowContext):
    """Per-sample shares (samples x compartments, with ``condition``) and abundance rows."""
    design, labels = ctx.design, dict(ctx.compartments.labels)
    counts, totals = composition_counts(obs, design, ctx.compartments.key, labels)
    targets = composition_targets(labels)
    logits = logit_shares(counts, totals).rename(
        columns={t.compartment: t.signature for t in targets}
    )
    rows = [evaluate(t, SampleValues(logits, totals), ctx) for t in targets]
    shares = counts[[t.compartment for t in targets]].div(totals.replace(0, np.nan), axis=0)
    arms = design.sheet.drop_duplicates("arm").set_index("arm")["condition"]
    order = [arms.get("control"), arms.get("treated")]  # control first, in tables and plots
    condition = design.sheet["condition"].reindex(shares.index)
    shares.insert(0, "condition", pd.Categorical(condition, categories=order))
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


def _competitive(adata: AnnData, request: Request) -> pd.DataFrame:
    from ._competitive import competitive

    return competitive(
        adata,
        condition_key=request.condition_key,
        control=request.control,
        treated=request.treated,
        sample_key=request.sample_key,
        compartment_key=request.compartment_key,
        compartments=request.compartments,
        signatures=request.scoring.signatures,
        counts_layer=request.counts_layer,
        min_cells=request.testing.min_cells,
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


def _sample_table(changes, control, treated) -> pd.DataFrame:
    empty = pd.DataFrame(columns=list(SAMPLE_COLUMNS))
    samples = pd.concat([c for c in changes if len(c)] or [empty], ignore_index=True)
    order = [str(control), str(treated)]  # control first, in tables and plots
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


def _parameters(request: Request, design: Design, aggregation: str, source, status, notes):
    testing = request.testing
    keys = {
        "condition_key": request.condition_key,
        "control": str(request.control),
        "treated": str(request.treated),
        "sample_key": request.sample_key,
        "compartment_key": request.compartment_key,
        "pair_key": request.pair_key,
        "signatures": _described(request.scoring.signatures),
    }
    out: dict[str, Any] = {k: ("" if v is None else v) for k, v in keys.items()}
    out.update(
        design="paired" if design.paired else "unpaired",
        bulk=design.bulk,
        test=testing.test,
        effect_measure=_stats.EFFECT_MEASURES[testing.test],
        alpha=testing.alpha,
        confidence=testing.confidence,
        min_cells=testing.min_cells,
        aggregate=aggregation,
        in_all_cells=request.in_all_cells,
        pd_status=status,
        dropped=describe_dropped(design),
        notes=list(notes),
        **source.provenance,
    )
    out["compartments"] = {
        k: [v] if isinstance(v, str) else list(map(str, v))
        for k, v in (request.compartments or {}).items()
    }
    return out
