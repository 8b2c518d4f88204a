"""The model of a design: its named contrasts, what it can show, and one fit per value vector.

:func:`build_model` reads the sheet and the design once, refuses what the design cannot
show (an arm with fewer than 2 samples, a covariate confounded with the arms, a named
contrast that is not estimable), and names each contrast in words. :meth:`Model.fit`
then tests every contrast on one value per sample (one signature x compartment); it
does no formula work, so thousands of fits cost little. How each contrast is fitted:

* **no covariates, no formula** (arms, pairs, complete repeated biopsies): each
  subject's contrast score, then a comparison of independent groups of scores
  (:mod:`mekscore.tl._scores`). Two arms, or two levels within pairs, go to
  :mod:`mekscore.tl._stats` unchanged (identical to a two-arm comparison, rank tests
  included); other contrasts are Welch-Satterthwaite with each arm's own variance
  (``welch-satterthwaite``) or a one-sample t of the pair scores (``paired-t``).
* **covariates or a formula**: least squares with exact t (``ols``), or with
  ``subject_key`` a random intercept per subject (``lmm``).
* **repeated biopsies where a subject lacks a time point the contrast needs**: a
  random intercept per subject by REML with Satterthwaite df (``lmm``,
  :mod:`mekscore.tl._lmm`) on all samples with a value.

Values missing for some samples (NaN) leave those samples out of that fit only; a
contrast that then lacks 2 samples on a side, or is no longer estimable, is returned
``untestable`` with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from ..errors import InputError
from . import _fits
from ._contrasts import Agents, NamedContrast, arm_contrasts, named_contrasts, repeated_contrasts
from ._designspec import Design
from ._layout import Factorised, Layout, cell_label, factorise
from ._linear import LinearFit, LinearModel, cell_model, formula_model
from ._scores import subject_scores
from ._sheet import SampleSheet

TESTS = {"arms": ("welch", "mannwhitney"), "paired": ("paired-t", "wilcoxon")}
"""Tests a design can run on its two-group contrasts (the first is the default); designs
with covariates, repeated biopsies or a formula are t-based only."""


class Model:
    """A design's contrasts and their fits. Build it with :func:`build_model`.

    Attributes
    ----------
    contrasts
        The :class:`~mekscore.tl._contrasts.NamedContrast` list, in design order.
    layout
        Each sample's cell (:class:`~mekscore.tl._layout.Layout`).
    linear
        The least-squares or mixed model (covariates, formula or repeated designs).
    test
        The test of two-group contrasts.
    notes
        What the model assumed (e.g. arms read as MEK-inhibitor arms).
    """

    def __init__(
        self,
        sheet: SampleSheet,
        design: Design,
        layout: Layout,
        contrasts: Sequence[NamedContrast],
        *,
        linear: LinearModel | None,
        notes: Sequence[str],
    ):
        self.sheet, self.design, self.layout = sheet, design, layout
        self.contrasts = tuple(contrasts)
        self.linear = linear
        self.notes = tuple(notes)
        self.test = allowed_tests(design)[0]
        self._t_test = "paired-t" if layout.kind == "paired" else "welch"
        self._adjusted = bool(design.covariates) or design.formula is not None
        self._factors = {c.name: factorise(c.cells, layout) for c in contrasts if c.cells}
        self._parts = {
            c.name: [factorise(p, layout) for p in c.parts] for c in contrasts if c.parts
        }

    @property
    def two_arm(self) -> bool:
        """Whether the design is one control and one treated arm (unpaired or paired) alone.

        Covariates or a formula make it a linear model, whatever its arms.
        """
        kind = self.layout.kind
        return len(self.contrasts) == 1 and kind in ("arms", "paired") and not self._adjusted

    def fit(
        self,
        values: pd.Series,
        *,
        confidence: float,
        alpha: float,
        test: str | None = None,
        direction: int | None = None,
    ) -> list[_fits.ContrastResult]:
        """Test every contrast on ``values`` (one per sample label; NaN = no value).

        ``direction`` (+1 or -1: the signature's expected direction) is the side of the
        ``beats_both`` tests; without it they are untestable.

        Examples
        --------
        >>> from mekscore.tl._sheet import build_sheet
        >>> obs = pd.DataFrame({"arm": ["v"] * 3 + ["lo"] * 3 + ["hi"] * 3},
        ...                    index=[f"s{i}" for i in range(9)])
        >>> design = Design(condition_key="arm", control="v", treated=["lo", "hi"])
        >>> model = build_model(build_sheet(obs, design, sample_key=None, bulk=True), design)
        >>> values = pd.Series([0.1, 0.3, 0.2, 0.5, 0.8, 0.6, 1.2, 1.0, 1.3], index=obs.index)
        >>> [(r.contrast, round(r.difference, 3), r.test) for r in model.fit(
        ...     values, confidence=0.95, alpha=0.05)]
        [('lo_vs_v', 0.433, 'welch'), ('hi_vs_v', 0.967, 'welch')]
        """
        test = self.check_test(test)
        y = values.set_axis(values.index.astype(str)).reindex(self.sheet.table.index)
        if y.isna().all() and len(values):
            raise InputError(
                f"values are indexed by {', '.join(map(str, values.index[:3]))}, ... and none is "
                "a sample of the design; index them by sample label"
            )
        y = y.to_numpy(dtype=float)
        linear = self.linear.at(y) if self.linear is not None else None
        settings = {"confidence": confidence, "alpha": alpha}
        results, t_based = {}, {}  # t-based results by their cells, reused as beats-both gaps
        for contrast in self.contrasts:
            if not contrast.parts:
                factor = self._factors.get(contrast.name)
                result = self._one(contrast, factor, y, linear, test=test, settings=settings)
                results[contrast.name] = result
                if test == self._t_test and contrast.cells:
                    t_based[_key(contrast.cells)] = result
        for contrast in self.contrasts:
            if contrast.parts:
                parts = [
                    t_based.get(_key(cells))
                    or self._one(
                        NamedContrast("", "", "part", cells=cells),
                        factor,
                        y,
                        linear,
                        test=self._t_test,
                        settings=settings,
                        delegate=False,
                    )
                    for cells, factor in zip(
                        contrast.parts, self._parts[contrast.name], strict=True
                    )
                ]
                results[contrast.name] = _fits.beats_both(parts, direction, confidence)
        return [replace(results[c.name], contrast=c.name) for c in self.contrasts]

    def _one(
        self,
        contrast,
        factor: Factorised | None,
        y,
        linear: LinearFit | None,
        *,
        test,
        settings,
        delegate: bool = True,
    ) -> _fits.ContrastResult:
        if factor is not None and not self._adjusted and self._complete(factor, y):
            return subject_scores(self.layout, factor, y, test, delegate=delegate, **settings)
        return linear.contrast(contrast, settings["confidence"])

    def _complete(self, factor: Factorised, y: np.ndarray) -> bool:
        """No subject of the contrast has some but not all of the values it needs."""
        if self.layout.kind != "repeated":
            return True
        rows = np.isin(self.layout.subject_between, factor.between)
        positions = self.layout.positions[rows][:, list(factor.within)]
        present = (positions >= 0) & ~np.isnan(y[np.maximum(positions, 0)])
        return bool(np.all(present.all(axis=1) | ~present.any(axis=1)))

    def check_test(self, test: str | None) -> str:
        """``test`` if this design can run it (``None``: the default), else an InputError."""
        return resolve_test(self.design, test)

    def design_table(self) -> pd.DataFrame:
        """Samples per arm (per time point in repeated designs, per covariate level).

        Examples
        --------
        >>> from mekscore.tl._sheet import build_sheet
        >>> obs = pd.DataFrame({"arm": ["v", "v", "m", "m", "m"], "sex": list("FMFMF")})
        >>> design = Design(condition_key="arm", control="v", covariates=["sex"])
        >>> sheet = build_sheet(obs, design, sample_key=None, bulk=True)
        >>> build_model(sheet, design).design_table()  # doctest: +NORMALIZE_WHITESPACE
                role          agents  samples  sex=F  sex=M
        arm
        v    control                        2      1      1
        m    treated  MEKi (implied)        3      2      1
        """
        from ._tables import design_table

        return design_table(self)

    def detectable_effects(self, alpha: float = 0.05, power: float = 0.8) -> pd.DataFrame:
        """The smallest standardised effect each contrast detects (see :mod:`._tables`)."""
        from ._tables import detectable_effects

        return detectable_effects(self, alpha, power)


def _key(cells) -> frozenset:
    return frozenset((cell, w) for cell, w in cells.items() if w)


def allowed_tests(design: Design) -> tuple[str, ...]:
    """The tests a design can run, default first.

    Examples
    --------
    >>> allowed_tests(Design(condition_key="c", control="v", pair_key="p"))
    ('paired-t', 'wilcoxon')
    """
    if design.covariates or design.formula is not None or design.time_key is not None:
        return ("welch",)
    return TESTS["paired" if design.pair_key is not None else "arms"]


def resolve_test(design: Design, test: str | None) -> str:
    """``test`` if ``design`` can run it (``None``: its default), else an InputError.

    Checked from the design alone, so a wrong test fails before the samples are read.

    Examples
    --------
    >>> resolve_test(Design(condition_key="c", control="v", pair_key="p"), None)
    'paired-t'
    """
    allowed = allowed_tests(design)
    if test is None:
        return allowed[0]
    if test not in allowed:
        raise InputError(
            f"test {test!r} is not for this design ({_described(design)}); "
            f"use one of {', '.join(allowed)}"
        )
    return test


def _described(design: Design) -> str:
    if design.covariates:
        return "with covariates: t-based only"
    if design.formula is not None or design.time_key is not None:
        return f"{design.kind}: t-based only"
    return "paired" if design.pair_key is not None else "unpaired"


# --- building -----------------------------------------------------------------------


def build_model(sheet: SampleSheet, design: Design, *, test: str | None = None) -> Model:
    """The model of ``design`` on the samples of ``sheet``; refuses what it cannot show.

    Examples
    --------
    >>> from mekscore.tl._sheet import build_sheet
    >>> obs = pd.DataFrame({"arm": ["v", "v", "m"]})
    >>> design = Design(condition_key="arm", control="v", treated="m")
    >>> build_model(build_sheet(obs, design, sample_key=None, bulk=True), design)
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mekscore.errors.InputError: arm 'm' has 1 sample; every arm needs >= 2 (add samples ...
    """
    layout = Layout.of(sheet, design)
    _check_cells(layout)
    agents, notes = _agents(sheet, design)
    if design.formula is not None:
        linear, contrasts = formula_model(sheet, design, layout, agents if sheet.arms else None)
    else:
        contrasts = _contrasts(sheet, design, layout, agents)
        needs_model = design.covariates or layout.kind == "repeated"
        linear = cell_model(sheet, design, layout, contrasts) if needs_model else None
    _check_names(contrasts)
    model = Model(sheet, design, layout, contrasts, linear=linear, notes=notes)
    model.test = model.check_test(test)
    return model


def _check_cells(layout: Layout) -> None:
    if layout.kind == "formula":
        return
    for cell, k in layout.counts().items():
        if k >= 2:
            continue
        if layout.kind == "paired":
            raise InputError(
                f"{k} complete pair(s) with arm {cell_label(cell)!r}: a paired test needs at "
                "least 2 pairs (add pairs, or drop the pair key)"
            )
        if layout.kind == "arms":
            raise InputError(
                f"arm {cell_label(cell)!r} has {k} sample; every arm needs >= 2 (add samples or "
                "leave it out of treated=)"
            )
        raise InputError(
            f"{cell_label(cell)!r} has {k} sample; every arm (or group) x time point needs >= 2 "
            "(leave that time point or arm out of the data)"
        )
    if layout.kind == "repeated":
        for b, label in enumerate(layout.between):
            k = int((layout.subject_between == b).sum())
            if k < 2:
                raise InputError(f"{label or 'the design'!r} has {k} subject; needs >= 2")


def _agents(sheet: SampleSheet, design: Design) -> tuple[Agents, list[str]]:
    if sheet.arms:
        agents = Agents.of(design, sheet.arms, sheet.arms[0])
        what = "treated arm"
    else:
        agents = Agents.of(design, sheet.times or ("",), design.baseline)
        what = "time point after baseline"
    notes = []
    if agents.implied and design.kind != "two-arm" and (design.formula is None or sheet.arms):
        notes.append(f"no agents given: every {what} is read as containing a MEK inhibitor")
    return agents, notes


def _contrasts(sheet, design: Design, layout: Layout, agents: Agents) -> list[NamedContrast]:
    if design.contrasts is not None:
        return _user_contrasts(sheet, design, layout, agents)
    if layout.kind == "repeated":
        by = "arm" if design.condition_key else "group" if design.between_key else ""
        return repeated_contrasts(layout.within, layout.between, by, agents, layout.cell)
    arms = layout.within if layout.kind == "paired" else layout.between
    return arm_contrasts(arms, agents, layout.arm_cell)


def _user_contrasts(sheet, design: Design, layout: Layout, agents: Agents):
    factors = {
        key: levels
        for key, levels in (
            (design.condition_key, sheet.arms),
            (design.time_key, sheet.times),
            (design.between_key, sheet.groups),
        )
        if key is not None
    }
    reference = {key: levels[0] for key, levels in factors.items()}

    def cell_of(condition):
        levels = {**reference, **condition}
        if layout.kind != "repeated":
            return layout.arm_cell(levels[design.condition_key])
        between = design.condition_key or design.between_key
        return (levels[between] if between else "", levels[design.time_key])

    key = design.condition_key or design.time_key
    return named_contrasts(design.contrasts, factors, cell_of, (key, agents))


def _check_names(contrasts: Sequence[NamedContrast]) -> None:
    names = [c.name for c in contrasts]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InputError(
            f"contrast name(s) {', '.join(map(repr, repeated))} occur twice; rename the arms or "
            "pass contrasts= with distinct names"
        )
