"""Where each sample sits in a design: its between-subject level, within-subject level, subject.

Every design is read as subjects observed at within-subject levels and grouped by a
between-subject level:

========== ================== ================== ==================
design     between            within             subject
========== ================== ================== ==================
arms       the arm            (one level)        the sample
paired     (one level)        the arm            the pair or block
repeated   arm, group or none the time point     the subject
========== ================== ================== ==================

A contrast is a set of weights on cells ``(between, within)``. When those weights are
a product ``v_b * w_t`` (every contrast mekscore builds), each subject gets one score
``d = sum_t w_t y_t`` and the contrast becomes a comparison of independent groups of
scores (or a one-sample test of them): within-subject differences, exact t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._contrasts import Cell
from ._designspec import Design
from ._sheet import SampleSheet


@dataclass(frozen=True)
class Layout:
    """The cells of a design and each sample's place in them."""

    kind: str  # "arms", "paired", "repeated" or "formula"
    samples: pd.Index
    between: tuple[str, ...]
    within: tuple[str, ...]
    cell_of_sample: tuple[Cell, ...]
    subjects: pd.Index
    positions: np.ndarray  # subjects x within levels: sample position, -1 if none
    subject_between: np.ndarray  # between level (index into ``between``) of each subject

    @classmethod
    def of(cls, sheet: SampleSheet, design: Design) -> Layout:
        table = sheet.table
        n = len(table)
        if design.formula is not None:
            kind, between, within = "formula", [""] * n, [""] * n
            subject = table["subject"] if "subject" in table else table.index
        elif design.time_key is not None:
            kind, within, subject = "repeated", table["time"], table["subject"]
            between = table["condition"] if "condition" in table else table.get("group")
            between = [""] * n if between is None else between
        elif design.pair_key is not None:
            kind, between, within, subject = "paired", [""] * n, table["condition"], table["pair"]
        else:
            kind, between, within, subject = "arms", table["condition"], [""] * n, table.index
        between_levels = _levels(sheet.arms or sheet.groups, between)
        within_levels = _levels(sheet.times or (sheet.arms if kind == "paired" else ()), within)
        return cls._build(
            kind,
            table.index,
            between_levels=between_levels,
            within_levels=within_levels,
            between=between,
            within=within,
            subject=subject,
        )

    @classmethod
    def _build(cls, kind, samples, *, between_levels, within_levels, between, within, subject):
        between, within = np.asarray(between, dtype=object), np.asarray(within, dtype=object)
        subjects, codes = np.unique(np.asarray(subject, dtype=str), return_inverse=True)
        column = {t: k for k, t in enumerate(within_levels)}
        positions = np.full((len(subjects), len(within_levels)), -1)
        positions[codes, [column[t] for t in within]] = np.arange(len(within))
        row = {b: k for k, b in enumerate(between_levels)}
        subject_between = np.zeros(len(subjects), dtype=int)
        subject_between[codes] = [row[b] for b in between]
        cells = tuple(zip(between, within, strict=True))
        return cls(
            kind,
            pd.Index(samples),
            between_levels,
            within_levels,
            cells,
            pd.Index(subjects),
            positions,
            subject_between,
        )

    def cell(self, between: str = "", within: str = "") -> Cell:
        return (between, within)

    def arm_cell(self, arm: str) -> Cell:
        """The cell of an arm: between in arm designs, within in paired designs."""
        return ("", arm) if self.kind == "paired" else (arm, "")

    @property
    def cells(self) -> tuple[Cell, ...]:
        """Cells with samples, in design order."""
        present = set(self.cell_of_sample)
        return tuple((b, t) for b in self.between for t in self.within if (b, t) in present)

    def counts(self) -> pd.Series:
        """Samples per cell."""
        return pd.Series(self.cell_of_sample).value_counts().reindex(self.cells, fill_value=0)


def cell_label(cell: Cell) -> str:
    """``"combo/on"``, ``"combo"`` or ``"on"``.

    Examples
    --------
    >>> cell_label(("combo", "on")), cell_label(("", "on"))
    ('combo/on', 'on')
    """
    return "/".join(x for x in cell if x)


def _levels(declared: tuple[str, ...], values) -> tuple[str, ...]:
    present = list(dict.fromkeys(sorted(map(str, values))))
    ordered = [x for x in declared if x in present]
    return tuple(ordered + [x for x in present if x not in ordered])


@dataclass(frozen=True)
class Factorised:
    """A contrast as ``v_b * w_t``: between weights and within weights (``plus`` first)."""

    between: tuple[int, ...]  # indices into Layout.between, the "plus" group first
    v: np.ndarray
    within: tuple[int, ...]  # indices into Layout.within
    w: np.ndarray


def factorise(cells: dict[Cell, float], layout: Layout) -> Factorised | None:
    """The product form of a contrast, or ``None`` when its weights are not a product.

    Examples
    --------
    >>> lay = Layout._build("repeated", list("abcd"), between_levels=("A", "B"),
    ...                     within_levels=("pre", "on"), between=["A", "A", "B", "B"],
    ...                     within=["pre", "on", "pre", "on"], subject=list("1122"))
    >>> f = factorise({("B", "on"): 1, ("B", "pre"): -1, ("A", "on"): -1, ("A", "pre"): 1}, lay)
    >>> f.between, f.v.tolist(), f.within, f.w.tolist()
    ((1, 0), [1.0, -1.0], (1, 0), [1.0, -1.0])
    """
    weights = {c: w for c, w in cells.items() if w != 0}
    order_b = list(dict.fromkeys(b for b, _ in weights))
    order_t = list(dict.fromkeys(t for _, t in weights))
    matrix = np.array([[weights.get((b, t), 0.0) for t in order_t] for b in order_b], float)
    w = matrix[0]
    v = matrix @ w / (w @ w)
    if not np.allclose(np.outer(v, w), matrix, rtol=0, atol=1e-12):
        return None
    between = tuple(layout.between.index(b) for b in order_b)
    within = tuple(layout.within.index(t) for t in order_t)
    return Factorised(between, v, within, w)
