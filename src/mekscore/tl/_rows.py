"""The rows of a verdict table: a target's sample values tested in every contrast of a design.

:func:`evaluate` takes a target (signature x compartment, or an abundance) and its
sample-level values and returns one typed :class:`Row` per contrast (before multiple
testing) with the per-sample view. The model of the design (:mod:`mekscore.tl._model`)
runs every contrast's test; nothing here mutates a row: each step returns a new one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

import numpy as np
import pandas as pd

from . import _stats
from ._bulk_context import BulkContext
from ._contrasts import NamedContrast
from ._fits import ContrastResult
from ._layout import cell_label
from ._model import Model
from ._sheet import SampleSheet
from ._sources import SampleValues
from ._targets import Compartments, Target
from ._verdict import PD_CONTROLS, co_agents, expectation, family


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
    contrast: str
    tested_in: str
    family: str
    expected: str
    observed: str = ""
    test: str = ""
    n_control: int | None = None
    n_treated: int | None = None
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
    n_moved_total: int | None = None
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
        """The row carrying the numbers of a test, its name and any note on its interval."""
        return replace(
            self,
            observed=result.observed,
            test=result.test,
            effect_measure=result.effect_measure,
            difference=result.difference,
            difference_low=result.difference_low,
            difference_high=result.difference_high,
            effect_size=result.effect_size,
            ci_low=result.ci_low,
            ci_high=result.ci_high,
            rank_biserial=result.rank_biserial,
            p_value=result.p_value,
            flag=_joined(self.flag, result.note),
        )


COLUMNS = tuple(f.name for f in fields(Row))
"""Columns of the verdict table, in order."""
COUNTS = ("n_control", "n_treated", "n_moved_expected", "n_moved_total", "n_genes_used", "n_genes")
"""Integer columns that may be missing (nullable in the table)."""


@dataclass(frozen=True)
class Evaluated:
    """A tested row and its per-sample view (empty when the row was not testable)."""

    row: Row
    changes: pd.DataFrame


@dataclass(frozen=True)
class RowContext:
    """What every row of one comparison shares: the design and its model, the test, cells.

    ``genes`` is the gene matching of the scores (signature -> ``genes_used``,
    ``genes_missing``), empty when unknown (scores given as a DataFrame); ``bulk`` the
    context of bulk samples (who is in them), ``None`` for single-cell data.
    """

    sheet: SampleSheet
    model: Model
    testing: Testing
    compartments: Compartments
    genes: Mapping[str, Mapping] = field(default_factory=dict)
    bulk: BulkContext | None = None

    @property
    def two_arm(self) -> bool:
        """Whether the design is one control and one treated arm (unpaired or paired)."""
        return self.model.two_arm


def evaluate(target: Target, values: SampleValues | None, ctx: RowContext) -> list[Evaluated]:
    """Test one target's sample values in every contrast of the design.

    ``values`` is ``None`` when the target's compartment has no cells at all.
    """
    rows = [blank_row(target, contrast, ctx) for contrast in ctx.model.contrasts]
    if values is None:
        return _skip(rows, ctx.compartments.absent_reason(target))
    absent = ctx.bulk.not_detected(target.primary) if ctx.bulk is not None else ""
    if absent:
        return _skip(rows, absent)
    column = values.values[target.signature].astype(float)
    if column.isna().all():
        return _skip(rows, "signature not scored (too few of its genes)")
    kept, dropped = _kept_samples(column, values.n_cells, ctx)
    rows = [_with_dropped(row, ctx.sheet, dropped) for row in rows]
    present = kept.dropna()
    if present.empty:
        hint = _min_cells_hint(dropped, ctx.testing.min_cells)
        return _skip(rows, "no sample has a value in this compartment" + hint)
    if present.nunique() == 1 and target.kind == "program" and len(present) > 1:
        reason = (
            f"signature not expressed (or saturated): its score is {present.iloc[0]:.3g} "
            "in every sample"
        )
        return _skip(rows, reason)
    results = ctx.model.fit(
        kept,
        confidence=ctx.testing.confidence,
        alpha=ctx.testing.alpha,
        test=ctx.testing.test,
        direction=_beats_both_side(target, rows, ctx.model.contrasts),
    )
    hint = _min_cells_hint(dropped, ctx.testing.min_cells)
    per_contrast = zip(rows, ctx.model.contrasts, results, strict=True)
    return [
        _tested(row, (target, contrast), result, ctx, values=(kept, values.n_cells), hint=hint)
        for row, contrast, result in per_contrast
    ]


def blank_row(target: Target, contrast: NamedContrast, ctx: RowContext) -> Row:
    """The row of ``target`` in ``contrast`` before any test."""
    used, total, low = coverage(target, ctx.genes)
    flag, caveat = target.flag, ""
    if ctx.bulk is not None:
        flag = "" if ctx.bulk.isolates(target.compartment) else flag
        caveat = ctx.bulk.caveat(target.compartment)
    pd_control = target.kind == "program" and PD_CONTROLS.get(target.signature) == (
        target.compartment
    )
    expected = expectation(target.expected, target.combination, contrast, pd_control=pd_control)
    return Row(
        signature=target.signature,
        kind=target.kind,
        compartment=target.compartment,
        contrast=contrast.words,
        tested_in=ctx.compartments.tested_in(target),
        family=family(target.signature, target.compartment, target.primary, expected, target.kind),
        expected=expected,
        test=ctx.testing.test if ctx.two_arm else "",  # a design's test depends on the data
        effect_measure=_stats.EFFECT_MEASURES.get(ctx.testing.test, "") if ctx.two_arm else "",
        n_genes_used=used,
        n_genes=total,
        isolated=not flag,
        flag=_joined(flag, low, caveat, "" if pd_control else co_agents(contrast)),
    )


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


def shortage_reason(n_control: int, n_treated: int, n_pairs: int, *, paired: bool) -> str:
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


def _skip(rows: list[Row], reason: str) -> list[Evaluated]:
    return [Evaluated(row.untestable(reason), pd.DataFrame()) for row in rows]


def _beats_both_side(target: Target, rows: list[Row], contrasts) -> int | None:
    """The side (+1/-1) of a "combination beats both" test.

    The row's expected direction (the signature's combination expectation), else the
    direction of the MEK inhibitor's effect: whether the combination goes further than
    either agent that way. Such a row has no expectation of its own, so it is reported
    with its numbers as ``no expected direction``.
    """
    expected = [r.expected for r, c in zip(rows, contrasts, strict=True) if c.kind == "beats_both"]
    sides = {"up": 1, "down": -1}
    if not expected:
        return None
    return sides.get(expected[0], sides.get(target.expected))


def _tested(row: Row, what, result: ContrastResult, ctx: RowContext, *, values, hint) -> Evaluated:
    """The row of one contrast from its test result, with the per-sample view.

    ``what`` is ``(target, contrast)``; ``values`` is ``(each sample's value, its cells)``.
    """
    target, contrast = what
    kept, n_cells = values
    levels = [str(level) for level in contrast.levels]
    treated, control = _arm_sizes(contrast, dict(result.n), levels)
    row = replace(row, n_treated=treated, n_control=control)
    row = replace(row, n_pairs=int(result.n_subjects), dropped=_dropped_text(row, result))
    if result.test:
        row = replace(row, test=result.test, effect_measure=result.effect_measure)
    if result.untestable:
        return Evaluated(row.untestable(result.untestable + hint), pd.DataFrame())
    row = row.with_result(result)
    if ctx.two_arm and ctx.bulk is not None and target.kind == "program":
        present = kept.dropna()
        genes = ctx.genes.get(target.signature, {}).get("genes_used", ())
        covariate = ctx.bulk.covariate(target.compartment, exclude=genes)
        row, result = _adjusted(row, result, present, covariate, ctx)
        if result.untestable:
            return Evaluated(row.untestable(result.untestable), pd.DataFrame())
    change = _changes(kept.dropna(), n_cells, ctx, row, contrast)
    if len(change):
        moved = change["moved"] != ""
        row = replace(row, n_moved_total=int(moved.sum()))
        if row.expected in ("up", "down"):
            row = replace(row, n_moved_expected=int(change["moved_expected"].sum()))
    return Evaluated(row, change)


def _arm_sizes(contrast: NamedContrast, n: dict[str, int], levels: list[str]):
    """``(n_treated, n_control)`` of a contrast of two sides, else ``(None, None)``.

    The sides are the contrast's two cells (weights +1 and -1: "on vs pre in R") or
    its two levels; an interaction or "beats both" has no two sides.
    """
    if contrast.kind in ("interaction", "beats_both"):
        return None, None
    cells = [(cell_label(c), w) for c, w in contrast.cells.items() if w]
    if len(cells) == 2 and {w for _, w in cells} == {1.0, -1.0}:
        treated, control = sorted(cells, key=lambda cw: -cw[1])
        if treated[0] in n and control[0] in n:
            return n[treated[0]], n[control[0]]
    if len(levels) >= 2:
        return n.get(levels[0]), n.get(levels[1])
    return None, None


def _dropped_text(row: Row, result: ContrastResult) -> str:
    """The row's dropped samples with those this contrast could not use (``left_out``)."""
    extra = ", ".join(f"{s} ({why})" for s, why in result.left_out.items())
    return ", ".join(part for part in (row.dropped, extra) if part)


def _adjusted(row: Row, result, values: pd.Series, covariate, ctx: RowContext):
    """The composition-adjusted contrast of a two-arm bulk design (unadjusted kept beside).

    ``values`` are the row's sample values and ``covariate`` the calibrated composition
    covariate of the row's compartment (``None``: nothing to adjust for). The adjusted
    test is refused when the covariate and the arms are too confounded to separate
    (:meth:`BulkContext.separability`).
    """
    if covariate is None or ctx.testing.test not in ("welch", "paired-t"):
        return row, result
    covariate = covariate.reindex(values.index)
    table = ctx.sheet.table.loc[values.index]
    row = replace(row, p_value_unadjusted=result.p_value, effect_size_unadjusted=result.effect_size)
    if ctx.model.layout.kind == "paired":
        y = _pair_differences(values, table).to_numpy()
        z, treated = _pair_differences(covariate, table).to_numpy(), None
    else:
        y, z = values.to_numpy(), covariate.to_numpy()
        treated = (table["arm"] == "treated").to_numpy()
    adjusted = _stats.adjusted_contrast(y, z, treated, ctx.testing.confidence)
    row = replace(row, adjusted_for=str(covariate.name))
    inseparable = ctx.bulk.separability(covariate, z, treated)
    if inseparable:
        refused = _stats.Contrast(adjusted.test, adjusted.effect_measure, untestable=inseparable)
        return row, refused
    if adjusted.untestable:
        flag = _joined(row.flag, f"not adjusted: {adjusted.untestable}")
        return replace(row, flag=flag, adjusted_for=""), result
    test = f"{ctx.testing.test}, adjusted"
    return replace(row.with_result(adjusted), test=test), adjusted


def _kept_samples(column: pd.Series, n_cells: pd.Series, ctx: RowContext):
    """Each sample's value (NaN where it has too few cells), and ``sample -> reason`` dropped."""
    index = ctx.sheet.table.index
    in_design = index.intersection(n_cells.index)
    dropped = {}
    if not ctx.sheet.bulk:
        minimum = ctx.testing.min_cells
        dropped = {s: f"{n_cells[s]} cells" for s in in_design if n_cells[s] < minimum}
    kept = column.reindex(index)
    kept[list(dropped)] = np.nan
    dropped.update({s: "no cells in this compartment" for s in index.difference(n_cells.index)})
    return kept, dropped


def _min_cells_hint(dropped: Mapping[str, str], min_cells: int) -> str:
    few = sum(why.endswith(" cells") for why in dropped.values())
    if not few:
        return ""
    return (
        f"; {few} sample(s) had fewer than min_cells={min_cells} cells here: lower min_cells "
        "to keep them"
    )


def _with_dropped(row: Row, sheet: SampleSheet, dropped: dict[str, str]) -> Row:
    everything = {**sheet.dropped, **dropped}
    described = ", ".join(f"{s} ({why})" for s, why in everything.items())
    return replace(row, n_dropped=len(everything), dropped=described)


def matched(ctrl: pd.Series, trt: pd.Series, table: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Control and treated values indexed by pair (complete pairs only, sorted)."""
    c = ctrl.set_axis(table.loc[ctrl.index, "pair"].to_numpy())
    t = trt.set_axis(table.loc[trt.index, "pair"].to_numpy())
    pairs = c.index.intersection(t.index).sort_values()
    return c[pairs], t[pairs]


def _pair_differences(values: pd.Series, table: pd.DataFrame) -> pd.Series:
    """Treated minus control value per pair (complete pairs, sorted), as the tests use."""
    arm = table.loc[values.index, "arm"]
    control, treated = matched(values[arm == "control"], values[arm == "treated"], table)
    return treated - control


def _direction(value: float) -> str:
    return "up" if value > 0 else "down" if value < 0 else "none"


@dataclass(frozen=True)
class _Changes:
    """The samples one contrast compares, each one's side label, block and change."""

    used: pd.Index
    side: pd.Series  # the sample's arm (or arm/time) label
    block: pd.Series  # its pair or subject ("" unpaired)
    change: pd.Series  # NaN for reference samples and unmatched ones
    kind: str


def _changes(kept: pd.Series, n_cells, ctx: RowContext, row: Row, contrast) -> pd.DataFrame:
    """Per-sample view of a contrast of two sides: each sample's score and change.

    The change of a test-side sample is its paired difference (pairs; subjects seen at
    both time points of a repeated design) or its standardised distance from the
    reference samples, ``(x - mean_ref) / sd_ref``. Contrasts of more than two sides
    (interactions, "beats both", formula vectors) have no per-sample change.
    """
    layout = ctx.model.layout.kind
    if layout == "repeated":
        changes = _subject_changes(kept, ctx, contrast)
    elif layout in ("arms", "paired") and len(contrast.levels) == 2:
        changes = _arm_changes(kept, ctx, [str(level) for level in contrast.levels])
    else:
        changes = None
    if changes is None:
        return pd.DataFrame()
    used, change = changes.used, changes.change.reindex(changes.used)
    moved = ["" if np.isnan(v) else _direction(v) for v in change]
    directional = row.expected in ("up", "down")
    frame = pd.DataFrame(
        {
            "signature": row.signature,
            "kind": row.kind,
            "compartment": row.compartment,
            "contrast": row.contrast,
            "sample": used.astype(str),
            "condition": changes.side[used].to_numpy(),
            "pair": changes.block[used].to_numpy(),
            "n_cells": n_cells.reindex(used).fillna(0).to_numpy(dtype=np.int64),
            "score": kept[used].to_numpy(dtype=float),
            "change": change.to_numpy(),
            "change_type": np.where(change.notna(), changes.kind, ""),
            "moved": moved,
        }
    )
    frame["moved_expected"] = pd.array(
        [m == row.expected if m and directional else pd.NA for m in moved], dtype="boolean"
    )
    return frame


def _arm_changes(kept: pd.Series, ctx: RowContext, levels: list[str]) -> _Changes | None:
    table = ctx.sheet.table.loc[kept.index]
    condition = table["condition"].astype(str)
    side, values = condition.to_numpy(), kept.to_numpy(dtype=float)
    test, reference = levels
    on_test, on_ref = side == test, side == reference
    if not on_test.any() or not on_ref.any():
        return None
    change = pd.Series(np.nan, index=kept.index)
    if ctx.model.layout.kind == "paired":
        ref, tst = matched(kept[on_ref], kept[on_test], table)
        names = pd.Series(kept.index[on_test], index=table["pair"].to_numpy()[on_test])
        change[names[tst.index].to_numpy()] = (tst - ref).to_numpy()
        kind = "paired difference"
    else:
        ref = values[on_ref]
        mean, sd = ref.mean(), ref.std(ddof=1) if len(ref) > 1 else np.nan
        change[on_test] = [_stats.standardise(v - mean, sd) for v in values[on_test]]
        kind = "standardised distance from the reference arm"
    used = kept.index[on_test | on_ref]
    return _Changes(used, condition, table["pair"].astype(str), change, kind)


def _subject_changes(kept: pd.Series, ctx: RowContext, contrast) -> _Changes | None:
    """Later minus earlier value of each subject, for a contrast of two cells (+1, -1)."""
    sides = sorted(((c, w) for c, w in contrast.cells.items() if w), key=lambda cw: -cw[1])
    if len(sides) != 2 or [w for _, w in sides] != [1.0, -1.0]:
        return None
    layout = ctx.model.layout
    cell = pd.Series(list(layout.cell_of_sample), index=layout.samples).reindex(kept.index)
    subject = ctx.sheet.table.loc[kept.index, "subject"].astype(str)
    on_side = [kept.index[(cell == c).to_numpy()] for c, _ in sides]
    if not all(len(s) for s in on_side):
        return None
    test, reference = (kept[s].set_axis(subject[s].to_numpy()) for s in on_side)
    change = pd.Series(np.nan, index=kept.index)
    change[on_side[0]] = (test - reference.reindex(test.index)).to_numpy()
    used = on_side[0].append(on_side[1])
    side = cell.map(lambda c: "/".join(x for x in c if x))
    return _Changes(used, side, subject, change, "within-subject difference")


def _joined(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
