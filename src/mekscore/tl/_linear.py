"""Least squares and the random-intercept model on a design's model matrix.

The model matrix is built once by formulaic: cell means plus covariates
(``0 + C(cell) + batch + ...``) for designs stated by arms and times, or the user's
formula (with formulaic-contrasts turning ``("arm", "combo", "aPDL1")`` into weights).
A fit then needs only numpy: per set of samples present (NaN values leave samples
out) the pseudo-inverse or the mixed-model structure is computed once and reused by
every value vector with the same samples.

Estimability is checked against the rows present: a contrast ``L`` is estimable
when ``L`` lies in the row space of ``X`` (``L X^+ X = L``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd
from scipy import linalg

from ..errors import InputError
from . import _fits, _lmm
from ._contrasts import Agents, NamedContrast, change, phrase
from ._designspec import Design, contrast_form
from ._layout import Layout, cell_label, factorise
from ._sheet import SampleSheet

_TOL = 1e-9


@dataclass(frozen=True)
class Pattern:
    """The model on one set of samples present."""

    rows: np.ndarray  # positions of the samples present
    X: np.ndarray
    pinv: np.ndarray
    projector: np.ndarray  # X^+ X, onto the row space
    rank: int
    independent: np.ndarray  # columns of a full-rank basis of X
    subject: np.ndarray | None

    @cached_property
    def structure(self) -> _lmm.Structure | None:
        """The mixed-model structure, or ``None`` when no subject has two samples."""
        if self.subject is None or np.unique(self.subject).size == len(self.subject):
            return None
        return _lmm.Structure.of(self.X[:, self.independent], self.subject)

    def estimable(self, L: np.ndarray) -> bool:
        return bool(np.abs(L @ self.projector - L).max() <= _TOL * max(1.0, np.abs(L).max()))

    def reduced(self, L: np.ndarray) -> np.ndarray:
        """``L`` on the full-rank basis (for an estimable ``L``): ``X = X_r T``, ``L T^+``."""
        return L @ self._to_basis

    @cached_property
    def _to_basis(self) -> np.ndarray:
        return np.linalg.pinv(np.linalg.pinv(self.X[:, self.independent]) @ self.X)


class LinearModel:
    """A model matrix with its contrast vectors; :meth:`at` fits one value vector."""

    def __init__(self, X, columns, subject, layout: Layout, *, mixed: bool):
        self.X = np.asarray(X, dtype=float)
        self.columns = tuple(columns)
        self.subject = subject
        self.layout = layout
        self.mixed = mixed
        self._patterns: dict[bytes, Pattern] = {}

    def vector(self, contrast: NamedContrast) -> np.ndarray:
        """The contrast's weights on the model-matrix columns."""
        if contrast.vector:
            return np.asarray(contrast.vector, dtype=float)
        L = np.zeros(len(self.columns))
        for cell, weight in contrast.cells.items():
            L[self.columns.index(_cell_column(self.layout, cell))] += weight
        return L

    def pattern(self, present: np.ndarray) -> Pattern:
        key = present.tobytes()
        if key not in self._patterns:
            self._patterns[key] = _pattern(self.X, present, self.subject)
        return self._patterns[key]

    def at(self, y: np.ndarray) -> LinearFit:
        present = ~np.isnan(y)
        return LinearFit(self, self.pattern(present), y[present])


class LinearFit:
    """One value vector on a :class:`LinearModel`; the fit is made on first use."""

    def __init__(self, model: LinearModel, pattern: Pattern, y: np.ndarray):
        self.model, self.pattern, self.y = model, pattern, y

    @cached_property
    def reml(self) -> _lmm.RemlFit | str | None:
        structure = self.pattern.structure if self.model.mixed else None
        return None if structure is None else _lmm.fit_reml(self.y, structure)

    @cached_property
    def ols(self) -> tuple[np.ndarray, float, int]:
        beta = self.pattern.pinv @ self.y
        residual = self.y - self.pattern.X @ beta
        dof = len(self.y) - self.pattern.rank
        return beta, float(residual @ residual) / dof if dof > 0 else np.nan, dof

    def contrast(self, contrast: NamedContrast, confidence: float) -> _fits.ContrastResult:
        """The contrast's t test on this fit (REML when mixed and identifiable, else OLS)."""
        L = self.model.vector(contrast)
        n = self._counts(contrast)
        test = "lmm" if isinstance(self.reml, _lmm.RemlFit) else "ols"
        measure = "hedges_g_lmm" if test == "lmm" else "hedges_g_model"
        small = {label: k for label, k in n.items() if k < 2}
        if small:
            shown = ", ".join(f"{label} (n={k})" for label, k in small.items())
            return _fits.untestable(test, measure, f"too few samples in {shown}; need >= 2", n=n)
        if not self.pattern.estimable(L):
            reason = "not estimable from the samples with a value"
            return _fits.untestable(test, measure, reason, n=n)
        if isinstance(self.reml, str):
            return _fits.untestable("lmm", "hedges_g_lmm", self.reml, n=n)
        if test == "lmm":
            result = self._lmm(contrast, L, confidence, n)
            return replace(result, n_subjects=self.complete_subjects(contrast))
        return self._ols(L, confidence, n)

    def _ols(self, L, confidence, n) -> _fits.ContrastResult:
        beta, sigma2, dof = self.ols
        if dof < 2:
            reason = f"too few residual degrees of freedom (df = {dof}; need >= 2)"
            return _fits.untestable("ols", "hedges_g_model", reason, n=n)
        if not sigma2 > 0:
            return _fits.untestable("ols", "hedges_g_model", "zero residual variance", n=n)
        sigma = math.sqrt(sigma2)
        se = sigma * math.sqrt(float(L @ self.pattern.pinv @ self.pattern.pinv.T @ L))
        result = _fits.t_result(
            "ols",
            "hedges_g_model",
            float(L @ beta),
            se,
            dof,
            sd=sigma,
            j_dof=dof,
            confidence=confidence,
        )
        return _with_n(result, n)

    def _lmm(self, contrast, L, confidence, n) -> _fits.ContrastResult:
        fit = self.reml
        estimate, se, dof = fit.contrast(self.pattern.reduced(L))
        if not np.isfinite(dof):
            reason = "the Satterthwaite df cannot be computed (variance parameters not estimable)"
            return _fits.untestable("lmm", "hedges_g_lmm", reason, n=n)
        if not dof >= 1:
            reason = f"Satterthwaite df below 1 ({dof:.3g}): too little data for this contrast"
            return _fits.untestable("lmm", "hedges_g_lmm", reason, n=n)
        factor = factorise(dict(contrast.cells), self.model.layout) if contrast.cells else None
        w = factor.w if factor is not None else np.ones(1)
        sd = math.sqrt(fit.sigma**2 * float(w @ w) + fit.subject_sd**2 * float(w.sum()) ** 2)
        result = _fits.t_result(
            "lmm", "hedges_g_lmm", estimate, se, dof, sd=sd, j_dof=dof, confidence=confidence
        )
        return _with_n(result, n)

    def _counts(self, contrast: NamedContrast) -> dict[str, int]:
        if not contrast.cells:
            return {}
        present = pd.Series(self._cells()).value_counts()
        return {cell_label(c): int(present.get(c, 0)) for c, w in contrast.cells.items() if w}

    def _cells(self) -> list[tuple]:
        """The cell of each sample present."""
        cells = np.asarray(self.model.layout.cell_of_sample, dtype=object)[self.pattern.rows]
        return [tuple(c) for c in cells]

    def complete_subjects(self, contrast: NamedContrast) -> int:
        """Subjects with a sample in both cells of a two-cell contrast (else 0).

        The mixed model uses every sample; this says how many within-subject pairs it has.
        """
        used = [c for c, w in contrast.cells.items() if w]
        if self.pattern.subject is None or len(used) != 2:
            return 0
        cells = self._cells()
        first, second = (
            {s for s, cell in zip(self.pattern.subject, cells, strict=True) if cell == c}
            for c in used
        )
        return len(first & second)


def _with_n(result, n):
    return replace(result, n=n)


def _pattern(X: np.ndarray, present: np.ndarray, subject) -> Pattern:
    rows = np.flatnonzero(present)
    Xm = X[rows]
    pinv = np.linalg.pinv(Xm)
    projector = pinv @ Xm
    rank = int(np.linalg.matrix_rank(Xm))
    _, _, pivots = linalg.qr(Xm, pivoting=True, mode="economic")
    independent = np.sort(pivots[:rank])
    sub = None if subject is None else np.asarray(subject)[rows]
    return Pattern(rows, Xm, pinv, projector, rank, independent, sub)


def _cell_column(layout: Layout, cell) -> str:
    return f"cell[c{layout.cells.index(tuple(cell))}]"


# --- building -----------------------------------------------------------------------


def cell_model(
    sheet: SampleSheet, design: Design, layout: Layout, contrasts: Sequence[NamedContrast]
) -> LinearModel:
    """Cell means plus covariates; refuses covariates confounded with the cells."""
    from formulaic import model_matrix

    frame = sheet.variables.copy()
    codes = {cell: f"c{k}" for k, cell in enumerate(layout.cells)}
    frame["cell"] = [codes[tuple(c)] for c in layout.cell_of_sample]
    levels = ", ".join(repr(code) for code in codes.values())
    terms = [f"C(cell, levels=[{levels}])"] + [_quoted(c) for c in design.covariates]
    X = model_matrix("0 + " + " + ".join(terms), frame.reset_index(drop=True))
    columns = [_rename(c, levels) for c in X.columns]
    X = X.to_numpy(dtype=float)
    _check_aliasing(X, len(codes), design, frame)
    subject = sheet.table["subject"].to_numpy() if layout.kind == "repeated" else None
    model = LinearModel(X, columns, subject, layout, mixed=subject is not None)
    _check_estimable(model, contrasts)
    _check_dof(model, design)
    return model


def _rename(column: str, levels: str) -> str:
    return column.replace(f"C(cell, levels=[{levels}])", "cell")


def _quoted(name: str) -> str:
    if "`" in name:
        raise InputError(f"covariate {name!r} contains a backtick; rename the obs column")
    return f"`{name}`"


def _check_aliasing(X, n_cells: int, design: Design, frame: pd.DataFrame) -> None:
    if np.linalg.matrix_rank(X) == X.shape[1]:
        return
    cells = X[:, :n_cells]
    for covariate in design.covariates:
        from formulaic import model_matrix

        own = model_matrix(f"0 + {_quoted(covariate)}", frame.reset_index(drop=True))
        own = own.to_numpy(dtype=float)
        if _is_categorical(frame[covariate]):
            own = own[:, 1:]  # one level is absorbed by the cell means
        joined = np.column_stack([cells, own])
        if np.linalg.matrix_rank(joined) < joined.shape[1]:
            raise InputError(
                f"covariate {covariate!r} is confounded with the arms (some of its levels or "
                "values occur in one arm only, or follow the arms exactly), so its effect "
                "cannot be told from the treatment's; drop it from covariates= or add samples"
            )
    raise InputError(
        f"covariates {', '.join(map(repr, design.covariates))} are collinear with each other "
        "or with the arms; drop one of them from covariates="
    )


def _is_categorical(column: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(column)


def _check_estimable(model: LinearModel, contrasts: Sequence[NamedContrast]) -> None:
    pattern = model.pattern(np.ones(len(model.X), dtype=bool))
    for contrast in contrasts:
        for cells in contrast.parts or (None,):
            part = contrast if cells is None else NamedContrast("", "", "part", cells=cells)
            if not pattern.estimable(model.vector(part)):
                raise InputError(
                    f"contrast {contrast.name!r} ({contrast.words}) is not estimable from this "
                    "design: no combination of the samples' groups gives it; change the "
                    "contrast or the formula"
                )


def _check_dof(model: LinearModel, design: Design) -> None:
    pattern = model.pattern(np.ones(len(model.X), dtype=bool))
    dof = len(model.X) - pattern.rank
    if dof < 2 and not model.mixed:
        raise InputError(
            f"the model has {pattern.rank} parameters for {len(model.X)} samples (residual df = "
            f"{dof}); it needs >= 2 residual df: use fewer covariates or more samples"
        )


def formula_model(
    sheet: SampleSheet, design: Design, layout: Layout, agents: Agents | None
) -> tuple[LinearModel, list[NamedContrast]]:
    """The user's formula and named contrasts (formulaic-contrasts for levels)."""
    from formulaic_contrasts import FormulaicContrasts

    data = sheet.variables.reset_index(drop=True)
    builder = FormulaicContrasts(data, design.formula)
    X = builder.design_matrix
    subject = sheet.table["subject"].to_numpy() if "subject" in sheet.table else None
    model = LinearModel(
        X.to_numpy(dtype=float), list(X.columns), subject, layout, mixed=subject is not None
    )
    contrasts = [
        _formula_contrast(name, spec, builder, model.columns, design=design, agents=agents)
        for name, spec in design.contrasts.items()
    ]
    _check_estimable(model, contrasts)
    _check_dof(model, design)
    return model, contrasts


def _formula_contrast(name, spec, builder, columns, *, design: Design, agents) -> NamedContrast:
    form = contrast_form(spec)
    fields, words = {}, ""
    try:
        if form == "levels":
            column, num, den = spec
            vector = builder.contrast(column, den, num).to_numpy(dtype=float)
            words = f"{column} {num} vs {den}"
            if agents is not None and column == design.condition_key:
                fields = change(agents, num, den)
                words += phrase(agents, num, den)
        elif form == "conditions":
            vector = sum(w * builder.cond(**dict(c)).to_numpy(dtype=float) for w, c in spec)
            words = " ".join(
                f"{w:+g} ({', '.join(f'{k}={v}' for k, v in c.items())})" for w, c in spec
            )
        else:
            vector = _column_weights(name, spec, columns)
    except ValueError as error:
        raise InputError(f"contrasts[{name!r}]: {error}; fix the contrast") from None
    if not words:
        words = " ".join(f"{w:+g} {c}" for c, w in zip(columns, vector, strict=True) if w)
    words = f"{name}: {words.removeprefix('+')}"
    return NamedContrast(name, words, "custom", vector=tuple(vector), **fields)


def _column_weights(name, spec, columns) -> np.ndarray:
    if isinstance(spec, Mapping):
        unknown = [c for c in spec if c not in columns]
        if unknown:
            raise InputError(
                f"contrasts[{name!r}] names model column(s) {', '.join(map(repr, unknown))}; "
                f"the columns are {', '.join(columns)}"
            )
        return np.array([float(spec.get(c, 0.0)) for c in columns])
    if len(spec) != len(columns):
        raise InputError(
            f"contrasts[{name!r}] has {len(spec)} weights for {len(columns)} model columns "
            f"({', '.join(columns)}); give one weight per column"
        )
    return np.asarray(spec, dtype=float)
