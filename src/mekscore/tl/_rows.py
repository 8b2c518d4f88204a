"""One row of a verdict table: a target's sample values tested between the arms.

:func:`evaluate` takes a target (signature x compartment, or an abundance) and its
sample-level values and returns a typed :class:`Row` (before multiple testing) and the
per-sample view of that row. Nothing here mutates a row: each step returns a new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

import numpy as np
import pandas as pd

from . import _stats
from ._bulk_context import BulkContext, adjustment, not_detected
from ._design import Design
from ._sources import SampleValues
from ._targets import Compartments, Target
from ._verdict import family


@dataclass(frozen=True)
class Testing:
    """How rows are tested: the test, its levels, and the cells a sample needs."""

    test: str
    alpha: float
    confidence: float
    min_cells: int


@dataclass(frozen=True)
class Row:
    """One row of the verdict table (see the README for what each column means)."""

    signature: str
    kind: str
    compartment: str
    tested_in: str
    family: str
    expected: str
    observed: str = ""
    test: str = ""
    n_control: int = 0
    n_treated: int = 0
    n_pairs: int = 0
    difference: float = np.nan
    difference_low: float = np.nan
    difference_high: float = np.nan
    effect_measure: str = ""
    effect_size: float = np.nan
    ci_low: float = np.nan
    ci_high: float = np.nan
    rank_biserial: float = np.nan
    p_value: float = np.nan
    q_value: float = np.nan
    verdict: str = ""
    reason: str = ""
    adjusted_for: str = ""
    p_value_unadjusted: float = np.nan
    effect_size_unadjusted: float = np.nan
    n_moved_expected: int | None = None
    n_moved_total: int = 0
    n_genes_used: int | None = None
    n_genes: int | None = None
    isolated: bool = True
    flag: str = ""
    n_dropped: int = 0
    dropped: str = ""

    def untestable(self, reason: str) -> Row:
        """The row as ``not testable`` for ``reason`` (naming dropped samples, if any)."""
        note = f"; {self.n_dropped} sample(s) dropped (see dropped)" if self.n_dropped else ""
        return replace(self, verdict="not testable", reason=reason + note)

    def with_result(self, result: _stats.Contrast) -> Row:
        """The row carrying the numbers of a test."""
        return replace(
            self,
            observed=result.observed,
            difference=result.difference,
            difference_low=result.difference_low,
            difference_high=result.difference_high,
            effect_size=result.effect_size,
            ci_low=result.ci_low,
            ci_high=result.ci_high,
            rank_biserial=result.rank_biserial,
            p_value=result.p_value,
        )


COLUMNS = tuple(f.name for f in fields(Row))
"""Columns of the verdict table, in order."""


@dataclass(frozen=True)
class Evaluated:
    """A tested row and its per-sample view (empty when the row was not testable)."""

    row: Row
    changes: pd.DataFrame


@dataclass(frozen=True)
class RowContext:
    """What every row of one comparison shares: the design, the test, cells, genes, context.

    ``genes`` is the gene matching of the scores (signature -> ``genes_used``,
    ``genes_missing``), empty when unknown (scores given as a DataFrame).
    """

    design: Design
    testing: Testing
    compartments: Compartments
    genes: Mapping[str, Mapping] = field(default_factory=dict)
    bulk: BulkContext | None = None


def evaluate(target: Target, values: SampleValues | None, ctx: RowContext) -> Evaluated:
    """Test one target's sample values between the arms.

    ``values`` is ``None`` when the target's compartment has no cells at all.
    """
    row = blank_row(target, ctx)
    if values is None:
        return _skip(row.untestable(ctx.compartments.absent_reason(target)))
    absent = not_detected(ctx.bulk, target.compartment) if ctx.bulk is not None else ""
    if absent and target.kind == "program":
        return _skip(row.untestable(absent))
    column = values.values[target.signature].astype(float)
    if column.isna().all():
        return _skip(row.untestable("signature not scored (too few of its genes)"))
    kept, dropped = _kept_samples(column, values.n_cells, ctx.design, ctx.testing.min_cells)
    row = _with_dropped(row, ctx.design, dropped)
    sheet = ctx.design.sheet.loc[kept.index]
    ctrl, trt = kept[sheet["arm"] == "control"], kept[sheet["arm"] == "treated"]
    row = replace(row, n_control=len(ctrl), n_treated=len(trt))
    if ctx.design.paired:
        ctrl, trt = matched(ctrl, trt, sheet)
        row = replace(row, n_pairs=len(ctrl))
    shortage = shortage_reason(row.n_control, row.n_treated, row.n_pairs, ctx.design.paired)
    if shortage:
        few = sum(why.endswith(" cells") for why in dropped.values())
        hint = (
            f"; {few} sample(s) had fewer than min_cells={ctx.testing.min_cells} cells here: "
            "lower min_cells to keep them"
            if few
            else ""
        )
        return _skip(row.untestable(shortage + hint))
    if kept.nunique() == 1 and target.kind == "program":
        reason = (
            f"signature not expressed (or saturated): its score is {kept.iloc[0]:.3g} "
            "in every sample"
        )
        return _skip(row.untestable(reason))
    run = _stats.compare_paired if ctx.design.paired else _stats.compare_unpaired
    testing = ctx.testing
    result = run(ctrl.to_numpy(), trt.to_numpy(), testing.test, testing.confidence, testing.alpha)
    if result.untestable:
        return _skip(row.untestable(result.untestable))
    row = replace(
        row,
        test=result.test,
        effect_measure=result.effect_measure,
        flag="; ".join(f for f in (row.flag, result.note) if f),
    )
    covariate = adjustment(ctx.bulk, target, kept.index) if ctx.bulk is not None else None
    if covariate is not None and testing.test in ("welch", "paired-t"):
        row, result = _adjusted(row, result, kept, covariate, ctx)
        if result.untestable:
            return _skip(row.untestable(result.untestable))
    row = row.with_result(result)
    change = _changes(kept, ctrl, trt, values.n_cells, ctx.design, target)
    if target.expected in ("up", "down"):
        row = replace(row, n_moved_expected=int(change["moved_expected"].sum()))
    return Evaluated(replace(row, n_moved_total=int((change["moved"] != "").sum())), change)


COVERAGE_FLOOR = 0.5
"""Share of a signature's genes a verdict may rest on before the row is flagged: below half,
most of the published gene set is absent, so what was validated is not what was measured."""


def coverage(target: Target, genes: Mapping[str, Mapping]) -> tuple[int | None, int | None, str]:
    """``(genes used, genes in the signature, flag)`` of a program row (``None`` if unknown).

    Examples
    --------
    >>> t = Target("x", "tumor", "tumor", "up", (), "")
    >>> coverage(t, {"x": {"genes_used": ["A"], "genes_missing": ["B", "C"]}})
    (1, 3, 'rests on 1 of 3 signature genes (fewer than half)')
    """
    match = genes.get(target.signature)
    if target.kind != "program" or not match:
        return None, None, ""
    used, total = len(match["genes_used"]), len(match["genes_used"]) + len(match["genes_missing"])
    low = total and used / total < COVERAGE_FLOOR
    return (
        used,
        total,
        f"rests on {used} of {total} signature genes (fewer than half)" if low else "",
    )


def blank_row(target: Target, ctx: RowContext) -> Row:
    """The row of ``target`` before any test."""
    used, total, low = coverage(target, ctx.genes)
    return Row(
        signature=target.signature,
        kind=target.kind,
        compartment=target.compartment,
        tested_in=ctx.compartments.tested_in(target),
        family=family(
            target.signature, target.compartment, target.primary, target.expected, target.kind
        ),
        expected=target.expected,
        test=ctx.testing.test,
        effect_measure=_stats.EFFECT_MEASURES[ctx.testing.test],
        n_genes_used=used,
        n_genes=total,
        isolated=not target.flag,
        flag="; ".join(f for f in (target.flag, low) if f),
    )


def shortage_reason(n_control: int, n_treated: int, n_pairs: int, paired: bool) -> str:
    """Why too few samples or pairs are left to test, or ``""``.

    Examples
    --------
    >>> shortage_reason(3, 1, 0, paired=False)
    'too few samples per arm (n_control=3, n_treated=1; need >= 2)'
    """
    if paired and n_pairs < 2:
        return f"too few pairs (n_pairs={n_pairs}; need >= 2)"
    if not paired and min(n_control, n_treated) < 2:
        return f"too few samples per arm (n_control={n_control}, n_treated={n_treated}; need >= 2)"
    return ""


def matched(ctrl: pd.Series, trt: pd.Series, sheet: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Control and treated values indexed by pair (complete pairs only, sorted)."""
    c = ctrl.set_axis(sheet.loc[ctrl.index, "pair"].to_numpy())
    t = trt.set_axis(sheet.loc[trt.index, "pair"].to_numpy())
    pairs = c.index.intersection(t.index).sort_values()
    return c[pairs], t[pairs]


def _skip(row: Row) -> Evaluated:
    return Evaluated(row, pd.DataFrame())


def _adjusted(row: Row, result, kept: pd.Series, covariate: pd.Series, ctx: RowContext):
    """The composition-adjusted contrast, with the unadjusted numbers kept beside it."""
    design, confidence = ctx.design, ctx.testing.confidence
    sheet = design.sheet.loc[kept.index]
    row = replace(row, p_value_unadjusted=result.p_value, effect_size_unadjusted=result.effect_size)
    if design.paired:
        y, z = _pair_differences(kept, sheet), _pair_differences(covariate, sheet)
        separable = z.min() <= 0 <= z.max()  # some pairs without a composition change
        adjusted = _stats.adjusted_contrast(y.to_numpy(), z.to_numpy(), None, confidence)
    else:
        treated = (sheet["arm"] == "treated").to_numpy()
        arms = (covariate[~treated], covariate[treated])
        separable = arms[0].max() >= arms[1].min() and arms[1].max() >= arms[0].min()
        adjusted = _stats.adjusted_contrast(
            kept.to_numpy(), covariate.to_numpy(), treated, confidence
        )
    proxy = f"{covariate.name} proxy"
    if not separable:
        untestable = _stats.Contrast(
            adjusted.test, adjusted.effect_measure, untestable=_inseparable(covariate.name)
        )
        return replace(row, adjusted_for=proxy), untestable
    if adjusted.untestable:
        flag = "; ".join(f for f in (row.flag, f"not adjusted: {adjusted.untestable}") if f)
        return replace(row, flag=flag), result
    test = f"{design.test}, adjusted"
    return replace(row, adjusted_for=proxy, test=test, effect_measure=adjusted.effect_measure), (
        adjusted
    )


def _inseparable(proxy: str) -> str:
    return (
        f"composition and regulation cannot be told apart: the {proxy} proxy does not overlap "
        "between the arms (or changed in every pair), so a composition-adjusted test would "
        "extrapolate"
    )


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


def _with_dropped(row: Row, design: Design, dropped: dict[str, str]) -> Row:
    everything = {**design.dropped, **dropped}
    described = ", ".join(f"{s} ({why})" for s, why in everything.items())
    return replace(row, n_dropped=len(everything), dropped=described)


def _pair_differences(values: pd.Series, sheet: pd.DataFrame) -> pd.Series:
    """Treated minus control value per pair (complete pairs, sorted), as the tests use."""
    arm = sheet.loc[values.index, "arm"]
    control, treated = matched(values[arm == "control"], values[arm == "treated"], sheet)
    return treated - control


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
            "kind": target.kind,
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
