"""``tl.compare``: test whether treated samples changed as the literature expects.

The data flow, one module per step:

1. the design (:mod:`._design`): samples, arms, pairs; validated before any scoring;
2. aggregation (:mod:`._sources`): one value per sample x compartment, from the
   summed counts of the sample's cells (pseudobulk) or the mean of its cell scores;
3. statistics (:mod:`._stats`): a sample-level test with exact intervals;
4. the verdict (:mod:`._verdict`): families, the PD gatekeeper, verdict words.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from ..errors import InputError
from ..sig.gmt import SignatureSpec
from . import _stats
from ._bulk_context import BulkContext
from ._composition import composition_counts, composition_targets, logit_shares
from ._design import Design, build_design, check_keys, describe_dropped
from ._sources import Scoring, choose_aggregation, make_source, signature_meta
from ._targets import (
    Target,
    absent_reason,
    by_cells,
    cell_mask,
    compartment_map,
    make_targets,
    tested_in,
)
from ._verdict import VERDICTS, add_verdicts, family

__all__ = ["COLUMNS", "VERDICTS", "compare"]

COLUMNS = (
    "signature", "kind", "compartment", "tested_in", "family", "expected", "observed", "test",
    "n_control", "n_treated", "n_pairs", "difference", "difference_low", "difference_high",
    "effect_measure", "effect_size", "ci_low", "ci_high", "rank_biserial", "p_value",
    "q_value", "verdict", "reason", "adjusted_for", "p_value_unadjusted",
    "effect_size_unadjusted", "n_moved_expected", "n_moved_total", "isolated", "flag",
    "n_dropped", "dropped",
)  # fmt: skip


@dataclass(frozen=True)
class Testing:
    """How rows are tested: the test, its levels, and the cells a sample needs."""

    test: str
    alpha: float
    confidence: float
    min_cells: int


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
    method: str | None = None,
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
        :func:`mekscore.tl.score`; used with ``aggregate="mean"``.
    method
        Scoring method when scoring here (cells, pseudobulk profiles or bulk
        samples). Default: ``mean`` (mean log-expression of the signature genes) for pseudobulk
        profiles and bulk samples, ``ucell`` for cells.
    signatures
        Signatures to test (default: the bundled library); also filters stored scores.
    aggregate
        ``"auto"`` (pseudobulk when raw counts are available and no stored cell
        scores are given, else the mean of cell scores), ``"pseudobulk"`` (sum the
        counts of each sample's cells, normalise with :func:`mekscore.pp.log_normalize`
        and score) or ``"mean"`` (mean of cell scores). Bulk data need none.
    counts_layer
        Layer of raw counts for pseudobulk (``X`` when it holds counts).
    score_kwargs
        Scoring settings passed to :func:`mekscore.tl.score` in every path, e.g.
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
        :mod:`mekscore.tl._composition`); the shares are stored in
        ``adata.uns[key_added]["composition"]``.
    bulk_of
        Bulk data without cell labels: what the samples are. ``"auto"`` decides from
        marker genes (tumour cells only, leukocytes only, or mixed tissue; see
        :mod:`mekscore.tl._bulk_context`); ``"tumor"`` (a tumour-cell culture or
        sorted tumour cells), ``"tissue"``, or an immune population (``"cd8_t"``,
        ``"t_cells"``, ``"myeloid"``, ...) states it. A statement the markers
        contradict gets a warning.
    purity_key
        Bulk data: ``obs`` column of each sample's tumour content (fraction in (0, 1]);
        tumour programs are adjusted for its log instead of a marker-gene estimate.
    return_samples
        Also return the per-sample table (each treated sample's or pair's change).
    key_added
        ``adata.uns`` key storing ``parameters``, ``results``, ``samples``, ``genes``
        (per signature, the genes used and missing, as :func:`mekscore.tl.score`
        records them; absent for scores passed as a DataFrame) and (single-cell with
        ``compartment_key``) ``composition``; :func:`mekscore.report.write` reads it.
    inplace
        Store the comparison in ``adata.uns[key_added]``; ``False`` leaves ``adata``
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
    testing = _testing(test, alpha, confidence, min_cells, pair_key is not None)
    design = build_design(
        adata.obs, condition_key=condition_key, control=control, treated=treated,
        sample_key=sample_key, pair_key=pair_key, test=testing.test, bulk=bulk,
    )  # fmt: skip
    check_keys(adata.obs, compartment_key)
    labels = compartment_map(adata.obs, compartment_key, compartments)
    scoring = Scoring.make(method, signatures, score_kwargs)
    aggregation = choose_aggregation(adata, aggregate, design, scores, scoring, counts_layer)
    cell_types = adata.obs[compartment_key] if compartment_key is not None else None
    source = make_source(
        adata, aggregation, design, scores, scoring, counts_layer, min_cells, groups=cell_types
    )
    meta = signature_meta(source.signature_ids, signatures)
    targets = make_targets(meta, labels, in_all_cells, design.bulk)
    context = None
    if _bulk(design, labels):
        context = BulkContext.build(
            adata, design, scoring.kwargs, bulk_of=bulk_of, purity_key=purity_key
        )
        for message in context.warnings if context is not None else ():
            warnings.warn(message, UserWarning, stacklevel=2)
    results = {}
    for group in by_cells(targets):
        mask = cell_mask(group[0], adata.obs, compartment_key)
        aggregated = source.values(mask, [t.signature for t in group]) if mask.any() else None
        for target in group:
            genes = source.genes.get(target.signature, {}).get("genes_used", ())
            results[target] = _evaluate(
                target, aggregated, design, compartment_key, testing, context, genes
            )
    shares, abundance = None, {}
    if composition:
        shares, abundance = _abundance(adata.obs, design, compartment_key, labels, testing, context)
    targets += list(abundance)
    results.update(abundance)
    rows, changes = zip(*(results[t] for t in targets), strict=True)
    table, status = add_verdicts(pd.DataFrame(list(rows)), testing.alpha)
    table["n_moved_expected"] = table["n_moved_expected"].astype("Int64")
    table = table[list(COLUMNS)]
    samples = _sample_table(changes, control, treated)
    params = _parameters(
        locals_=dict(
            condition_key=condition_key, control=str(control), treated=str(treated),
            sample_key=sample_key, compartment_key=compartment_key, pair_key=pair_key,
        ),
        design=design, testing=testing, aggregation=aggregation, scoring=scoring,
        source=source, compartments=compartments, in_all_cells=in_all_cells, pd_status=status,
    )  # fmt: skip
    if context is not None:
        params["bulk_context"] = context.evidence()
    if inplace:
        stored = {"parameters": params, "results": table, "samples": samples}
        stored |= {} if shares is None else {"composition": shares}
        adata.uns[key_added] = stored | ({"genes": source.genes} if source.genes else {})
    return (table, samples) if return_samples else table


# --- settings -----------------------------------------------------------------------


def _testing(test, alpha, confidence, min_cells, paired) -> Testing:
    from ._design import resolve_test

    if not 0 < alpha < 1:
        raise InputError(f"alpha={alpha} is not a probability; pass a value in (0, 1), e.g. 0.05")
    confidence = 1 - alpha if confidence is None else confidence
    if not 0 < confidence < 1:
        raise InputError(f"confidence={confidence} must be in (0, 1), e.g. 0.95")
    if min_cells < 1:
        raise InputError(f"min_cells={min_cells} must be at least 1")
    return Testing(resolve_test(test, paired), float(alpha), float(confidence), int(min_cells))


def _bulk(design: Design, labels) -> bool:
    """Bulk samples without cell labels: the case for marker-gene context."""
    return design.bulk and labels is None


def _abundance(obs, design: Design, compartment_key, labels, testing: Testing, context):
    """Abundance rows: cell shares (single-cell) or marker proxies (bulk); and the shares."""
    if labels is not None and not design.bulk:
        return _composition(obs, design, compartment_key, labels, testing)
    if context is None:
        return None, {}
    proxies = context.abundance_values()
    targets = context.abundance_targets()
    return None, {t: _evaluate(t, proxies, design, None, testing, context) for t in targets}


def _composition(obs, design: Design, compartment_key: str, labels, testing: Testing):
    """Per-sample shares (samples x compartments, with ``condition``) and abundance rows."""
    counts, totals = composition_counts(obs, design, compartment_key, labels)
    targets = composition_targets(labels)
    logits = logit_shares(counts, totals).rename(
        columns={t.compartment: t.signature for t in targets}
    )
    results = {t: _evaluate(t, (logits, totals), design, compartment_key, testing) for t in targets}
    shares = counts[[t.compartment for t in targets]].div(totals.replace(0, np.nan), axis=0)
    arms = design.sheet.drop_duplicates("arm").set_index("arm")["condition"]
    order = [arms.get("control"), arms.get("treated")]  # control first, in tables and plots
    condition = design.sheet["condition"].reindex(shares.index)
    shares.insert(0, "condition", pd.Categorical(condition, categories=order))
    shares.insert(1, "n_cells", totals)
    return shares, results


# --- one row ------------------------------------------------------------------------


def _evaluate(
    target: Target,
    aggregated,
    design: Design,
    compartment_key,
    testing: Testing,
    context=None,
    genes=(),
):
    """The verdict-table row (before BH) and per-sample changes of one target.

    ``aggregated`` is ``(samples x signatures values, cells per sample)`` of the
    target's compartment, or ``None`` when the compartment has no cells. ``context``
    (bulk data) decides whether the compartment is there and what to adjust for;
    ``genes`` (the signature's genes) are left out of what it is adjusted for.
    """
    row = _blank_row(target, compartment_key, design)
    if aggregated is None:
        return _untestable(row, absent_reason(target, compartment_key)), pd.DataFrame()
    absent = context.not_detected(target.primary) if context is not None else ""
    if absent:
        return _untestable(row, absent), pd.DataFrame()
    sample_values, n_cells = aggregated
    column = sample_values[target.signature].astype(float)
    if column.isna().all():
        return _untestable(row, "signature not scored (too few of its genes)"), pd.DataFrame()
    kept, dropped = _kept_samples(column, n_cells, design, testing.min_cells)
    _record_dropped(row, design, dropped)
    sheet = design.sheet.loc[kept.index]
    ctrl, trt = kept[sheet["arm"] == "control"], kept[sheet["arm"] == "treated"]
    row["n_control"], row["n_treated"] = len(ctrl), len(trt)
    if design.paired:
        ctrl, trt = _matched(ctrl, trt, sheet)
        row["n_pairs"] = len(ctrl)
    shortage = _shortage(row, design.paired)
    if shortage:
        return _untestable(row, shortage), pd.DataFrame()
    if kept.nunique() == 1 and target.kind == "program":
        reason = (
            f"signature not expressed (or saturated): its score is {kept.iloc[0]:.3g} "
            "in every sample"
        )
        return _untestable(row, reason), pd.DataFrame()
    run = _stats.compare_paired if design.paired else _stats.compare_unpaired
    result = run(ctrl.to_numpy(), trt.to_numpy(), design.test, testing.confidence, testing.alpha)
    if result.untestable:
        return _untestable(row, result.untestable), pd.DataFrame()
    covariate = None
    if context is not None and target.kind == "program":
        covariate = context.covariate(target.compartment, exclude=genes)
    if covariate is not None and design.test in ("welch", "paired-t"):
        result = _adjusted(
            row, result, kept, covariate.reindex(kept.index), design, testing, context
        )
        if result.untestable:
            return _untestable(row, result.untestable), pd.DataFrame()
    row.update(
        observed=result.observed, difference=result.difference,
        difference_low=result.difference_low, difference_high=result.difference_high,
        effect_size=result.effect_size, ci_low=result.ci_low, ci_high=result.ci_high,
        rank_biserial=result.rank_biserial, p_value=result.p_value,
    )  # fmt: skip
    change = _changes(kept, ctrl, trt, n_cells, design, target)
    if target.expected in ("up", "down"):
        row["n_moved_expected"] = int(change["moved_expected"].sum())
    row["n_moved_total"] = int((change["moved"] != "").sum())
    return row, change


def _adjusted(row: dict, result, kept: pd.Series, covariate: pd.Series, design, testing, context):
    """The composition-adjusted contrast (the unadjusted one recorded beside it)."""
    sheet = design.sheet.loc[kept.index]
    row["p_value_unadjusted"], row["effect_size_unadjusted"] = result.p_value, result.effect_size
    if design.paired:
        y, z = (
            _pair_differences(kept, sheet).to_numpy(),
            _pair_differences(covariate, sheet).to_numpy(),
        )
        treated = None
    else:
        y, z = kept.to_numpy(), covariate.to_numpy()
        treated = (sheet["arm"] == "treated").to_numpy()
    inseparable = context.separability(covariate, z, treated)
    adjusted = _stats.adjusted_contrast(y, z, treated, testing.confidence)
    if inseparable:
        row["adjusted_for"] = str(covariate.name)
        return _stats.Contrast(adjusted.test, adjusted.effect_measure, untestable=inseparable)
    if adjusted.untestable:
        row["flag"] = "; ".join(
            f for f in (row["flag"], f"not adjusted: {adjusted.untestable}") if f
        )
        return result
    row["adjusted_for"] = str(covariate.name)
    row["test"], row["effect_measure"] = f"{design.test}, adjusted", adjusted.effect_measure
    return adjusted


def _blank_row(target: Target, compartment_key: str | None, design: Design) -> dict:
    return {
        "signature": target.signature,
        "compartment": target.compartment,
        "tested_in": tested_in(target, compartment_key),
        "kind": target.kind,
        "family": family(
            target.signature, target.compartment, target.primary, target.expected, target.kind
        ),
        "expected": target.expected,
        "observed": "",
        "test": design.test,
        "n_control": 0, "n_treated": 0, "n_pairs": 0,
        "difference": np.nan, "difference_low": np.nan, "difference_high": np.nan,
        "effect_measure": _stats.EFFECT_MEASURES[design.test],
        "effect_size": np.nan, "ci_low": np.nan, "ci_high": np.nan, "rank_biserial": np.nan,
        "p_value": np.nan, "verdict": "", "reason": "",
        "adjusted_for": "", "p_value_unadjusted": np.nan, "effect_size_unadjusted": np.nan,
        "n_moved_expected": pd.NA, "n_moved_total": 0,
        "isolated": not target.flag, "flag": target.flag,
        "n_dropped": 0, "dropped": "",
    }  # fmt: skip


def _untestable(row: dict, reason: str) -> dict:
    note = f"; {row['n_dropped']} sample(s) dropped (see dropped)" if row["n_dropped"] else ""
    row["reason"] = reason + note
    row["verdict"] = "not testable"
    return row


def _kept_samples(column: pd.Series, n_cells: pd.Series, design: Design, min_cells: int):
    """Values of the design's samples with enough cells, and ``sample -> reason`` dropped.

    In a paired design a sample whose partner was dropped is dropped too.
    """
    in_design = design.sheet.index.intersection(n_cells.index)
    dropped = {}
    if not design.bulk:
        dropped = {s: f"{n_cells[s]} cells" for s in in_design if n_cells[s] < min_cells}
    kept = column.reindex(in_design.difference(list(dropped))).dropna()
    absent = design.sheet.index.difference(n_cells.index)
    dropped.update({s: "no cells in this compartment" for s in absent})
    if design.paired:
        sheet = design.sheet.loc[kept.index]
        complete = sheet.groupby("pair")["arm"].transform("nunique") == 2
        for sample in sheet.index[~complete]:
            dropped[sample] = "its pair partner was dropped"
        kept = kept[complete.to_numpy()]
    return kept, dropped


def _record_dropped(row: dict, design: Design, dropped: dict[str, str]) -> None:
    everything = {**design.dropped, **dropped}
    row["n_dropped"] = len(everything)
    row["dropped"] = ", ".join(f"{s} ({why})" for s, why in everything.items())


def _matched(ctrl: pd.Series, trt: pd.Series, sheet: pd.DataFrame):
    """Control and treated values indexed by pair (complete pairs only, sorted)."""
    c = ctrl.set_axis(sheet.loc[ctrl.index, "pair"].to_numpy())
    t = trt.set_axis(sheet.loc[trt.index, "pair"].to_numpy())
    pairs = c.index.intersection(t.index).sort_values()
    return c[pairs], t[pairs]


def _pair_differences(values: pd.Series, sheet: pd.DataFrame) -> pd.Series:
    """Treated minus control value per pair (complete pairs, sorted), as the tests use."""
    arm = sheet.loc[values.index, "arm"]
    control, treated = _matched(values[arm == "control"], values[arm == "treated"], sheet)
    return treated - control


def _shortage(row: dict, paired: bool) -> str:
    if paired and row["n_pairs"] < 2:
        return f"too few pairs (n_pairs={row['n_pairs']}; need >= 2)"
    if not paired and min(row["n_control"], row["n_treated"]) < 2:
        return (
            f"too few samples per arm (n_control={row['n_control']}, "
            f"n_treated={row['n_treated']}; need >= 2)"
        )
    return ""


def _direction(value: float) -> str:
    return "up" if value > 0 else "down" if value < 0 else "none"


def _changes(kept, ctrl, trt, n_cells, design: Design, target: Target) -> pd.DataFrame:
    """Per-sample view: each sample's score; treated samples' change and direction.

    The change is the paired difference (paired designs) or the standardised
    distance from the control samples, ``(x - mean_control) / sd_control``.
    """
    sheet = design.sheet.loc[kept.index]
    change = pd.Series(np.nan, index=kept.index)
    if design.paired:
        treated = sheet[sheet["arm"] == "treated"]
        names = pd.Series(treated.index, index=treated["pair"])[trt.index]
        change[names.to_numpy()] = trt.to_numpy() - ctrl.to_numpy()
        kind = "paired difference"
    else:
        sd = float(ctrl.std(ddof=1))
        change[trt.index] = [_stats.standardise(v - ctrl.mean(), sd) for v in trt]
        kind = "standardised distance from control"
    moved = ["" if np.isnan(v) else _direction(v) for v in change]
    directional = target.expected in ("up", "down")
    frame = pd.DataFrame(
        {
            "signature": target.signature,
            "compartment": target.compartment,
            "sample": kept.index.astype(str),
            "condition": sheet["condition"].to_numpy(),
            "pair": sheet["pair"].to_numpy(),
            "n_cells": n_cells.reindex(kept.index).to_numpy(dtype=np.int64),
            "score": kept.to_numpy(dtype=float),
            "change": change.to_numpy(),
            "change_type": np.where(change.notna(), kind, ""),
            "moved": moved,
        }
    )
    frame["moved_expected"] = pd.array(
        [m == target.expected if m and directional else pd.NA for m in moved], dtype="boolean"
    )
    return frame


SAMPLE_COLUMNS = (
    "signature", "kind", "compartment", "sample", "condition", "pair", "n_cells", "score", "change",
    "change_type", "moved", "moved_expected",
)  # fmt: skip


def _sample_table(changes, control, treated) -> pd.DataFrame:
    empty = pd.DataFrame(columns=list(SAMPLE_COLUMNS))
    samples = pd.concat([c for c in changes if len(c)] or [empty], ignore_index=True)
    order = [str(control), str(treated)]  # control first, in tables and plots
    samples["condition"] = pd.Categorical(samples["condition"].astype(str), categories=order)
    return samples


def _parameters(
    locals_, design, testing, aggregation, scoring, source, compartments, in_all_cells, pd_status
) -> dict:
    out: dict[str, Any] = {k: ("" if v is None else v) for k, v in locals_.items()}
    out.update(
        design="paired" if design.paired else "unpaired",
        bulk=design.bulk,
        test=testing.test,
        effect_measure=_stats.EFFECT_MEASURES[testing.test],
        alpha=testing.alpha,
        confidence=testing.confidence,
        min_cells=testing.min_cells,
        aggregate=aggregation,
        in_all_cells=in_all_cells,
        pd_status=pd_status,
        dropped=describe_dropped(design),
        notes=list(design.notes),
        **source.provenance,
    )
    out["compartments"] = {
        k: [v] if isinstance(v, str) else list(map(str, v)) for k, v in (compartments or {}).items()
    }
    return out
