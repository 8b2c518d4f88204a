"""What a design can show before anything is fitted: its sample table and detectable effects.

**Detectable effect.** For each contrast, the smallest true standardised effect
``delta`` that its two-sided t-test at ``alpha`` detects with probability ``power``
(``beats_both``: each gap, one-sided; both must be detected, so the joint power at
that size is lower). With ``c`` the standard error of the contrast in units of the
standardiser and ``df`` its degrees of freedom, the statistic is noncentral t with
noncentrality ``delta / c``; ``delta = lambda * c`` where ``lambda`` solves
``P(|T_df(lambda)| > t_crit) = power``. The standardiser is that of the fit's effect
size (see :mod:`mekscore.tl._fits`), with equal variances assumed:

* arms: the SD within an arm, ``c = sqrt(sum w_a^2 / n_a)`` over the contrast's arm
  weights; an interaction ``AB - A - B + 0`` is thus in within-arm SDs, so at 4 per arm
  ``c = 1`` where a pairwise contrast has ``c = 0.71`` (about 3.1 against 2.2 SD with
  the 12 df of a pooled 2x2 model; 2.4 SD for a two-arm Welch test on 6 df);
  ``df`` is Welch-Satterthwaite's at equal variances;
* pairs and repeated biopsies: the SD of one subject's contrast score, over the
  subjects with every level the contrast needs;
* covariates or a formula: the residual SD, ``c = sqrt(L (X'X)^+ L')``, ``df = n - rank``.

A contrast reported as "no change detected" with a detectable effect of 3 SD has not
shown that the effect is small; this table says so before the fit.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ._layout import Factorised, factorise

COLUMNS = ("contrast", "words", "kind", "n", "df", "se_factor", "detectable", "standardiser")


def detectable_effect(
    se_factor: float, dof: float, alpha: float, power: float, *, sides: int = 2
) -> float:
    """``lambda * se_factor`` with ``lambda`` the noncentrality giving ``power``.

    Examples
    --------
    >>> round(detectable_effect(math.sqrt(2 / 4), 12, 0.05, 0.8), 2)  # 2x2, pairwise
    2.16
    >>> round(detectable_effect(1.0, 12, 0.05, 0.8), 2)  # 2x2, interaction
    3.05
    """
    crit = stats.t.ppf(1 - alpha / sides, dof)

    def shortfall(lam: float) -> float:
        # the lower tail as the upper tail at -lambda: scipy's nct.cdf fails far out
        reach = stats.nct.sf(crit, dof, lam)
        if sides == 2:
            reach += stats.nct.sf(crit, dof, -lam)
        return reach - power

    return optimize.brentq(shortfall, 0.0, crit + 20.0, xtol=1e-12) * se_factor


def detectable_effects(model, alpha: float, power: float) -> pd.DataFrame:
    """One row per contrast of ``model`` (columns :data:`COLUMNS`)."""
    rows = []
    for contrast in model.contrasts:
        parts = contrast.parts or (contrast.cells,)
        sides = 1 if contrast.parts else 2
        best = None
        for cells in parts:
            c, dof, n, basis = _precision(model, contrast, cells)
            delta = detectable_effect(c, dof, alpha, power, sides=sides) if dof > 0 else np.nan
            if best is None or delta > best[4]:
                best = (n, dof, c, basis, delta)
        n, dof, c, basis, delta = best
        rows.append((contrast.name, contrast.words, contrast.kind, n, dof, c, delta, basis))
    frame = pd.DataFrame(
        rows,
        columns=["contrast", "words", "kind", "n", "df", "se_factor", "detectable", "standardiser"],
    )
    return frame[list(COLUMNS)]


def _precision(model, contrast, cells):
    """``(c, df, n phrase, standardiser)`` of one contrast (or one gap)."""
    layout = model.layout
    adjusted = bool(model.design.covariates) or model.design.formula is not None
    if adjusted and layout.kind != "repeated":
        return _least_squares(model, contrast, cells)
    factor = factorise(dict(cells), layout)
    if layout.kind == "arms":
        n = [int((layout.subject_between == b).sum()) for b in factor.between]
        c, dof = _groups(factor.v, n)
        return c, dof, " vs ".join(map(str, n)), "SD within an arm"
    n = _complete_subjects(layout, factor)
    what = "pairs" if layout.kind == "paired" else "subjects"
    bound = ""
    if layout.kind == "repeated":  # the mixed model also uses subjects missing a time point
        bound = "; complete subjects only, an upper bound when some lack a time point"
    if len(n) == 1:
        c, dof = 1 / math.sqrt(n[0]) if n[0] else np.nan, n[0] - 1.0
        return c, dof, f"{n[0]} {what}", f"SD of the per-{what[:-1]} contrast score{bound}"
    c, dof = _groups(factor.v, n)
    basis = f"SD of the per-subject contrast score{bound}"
    return c, dof, " vs ".join(f"{k} {what}" for k in n), basis


def _groups(v: np.ndarray, n: list[int]) -> tuple[float, float]:
    """``c`` and the Welch-Satterthwaite df at equal variances of a contrast of groups."""
    n = np.asarray(n, dtype=float)
    if (n < 2).any():
        return np.nan, np.nan
    q = v**2 / n
    return math.sqrt(q.sum()), float(q.sum() ** 2 / np.sum(q**2 / (n - 1)))


def _complete_subjects(layout, factor: Factorised) -> list[int]:
    out = []
    for b in factor.between:
        positions = layout.positions[layout.subject_between == b][:, list(factor.within)]
        out.append(int((positions >= 0).all(axis=1).sum()))
    return out


def _least_squares(model, contrast, cells):
    from ._contrasts import NamedContrast

    linear = model.linear
    part = contrast if cells is contrast.cells else NamedContrast("", "", "part", cells=cells)
    L = linear.vector(part)
    pattern = linear.pattern(np.ones(len(linear.X), dtype=bool))
    c = math.sqrt(float(L @ pattern.pinv @ pattern.pinv.T @ L))
    dof = float(len(linear.X) - pattern.rank)
    counts = layout_counts(model, cells) if cells else f"{len(linear.X)} samples"
    basis = "residual SD" + (" (subject correlation ignored)" if linear.mixed else "")
    return c, dof, counts, basis


def layout_counts(model, cells) -> str:
    counts = model.layout.counts()
    return " vs ".join(str(int(counts.get(tuple(c), 0))) for c, w in cells.items() if w)


# --- the design table ---------------------------------------------------------------


def design_table(model) -> pd.DataFrame:
    """Samples per arm, per time point and per covariate level."""
    layout, sheet, design = model.layout, model.sheet, model.design
    if layout.kind == "formula":
        return _formula_table(sheet)
    if layout.kind == "repeated":
        return _repeated_table(model)
    arms = layout.within if layout.kind == "paired" else layout.between
    table = sheet.table
    frame = pd.DataFrame(index=pd.Index(arms, name=design.condition_key))
    frame["role"] = ["control" if a == design.control else "treated" for a in arms]
    frame["agents"] = [_agents_text(model, a) for a in arms]
    frame["samples"] = table["condition"].value_counts().reindex(arms).astype(int)
    if layout.kind == "paired":
        frame["pairs"] = table.groupby("condition")["pair"].nunique().reindex(arms).astype(int)
    return _with_levels(frame, table["condition"], sheet.variables[list(design.covariates)])


def _repeated_table(model) -> pd.DataFrame:
    layout, sheet, design = model.layout, model.sheet, model.design
    name = design.condition_key or design.between_key
    table = sheet.table
    between = table["condition"] if "condition" in table else table.get("group")
    between = pd.Series("", index=table.index) if between is None else between
    counts = pd.crosstab(between, table["time"]).reindex(
        index=list(layout.between), columns=list(layout.within), fill_value=0
    )
    counts.index.name, counts.columns.name = name, None
    subjects = table.groupby(between)["subject"].nunique().reindex(layout.between)
    counts["subjects"] = subjects.fillna(0).astype(int)
    full = layout.positions.min(axis=1) >= 0
    counts["every time point"] = [
        int(full[layout.subject_between == b].sum()) for b in range(len(layout.between))
    ]
    if design.condition_key:
        counts.insert(0, "agents", [_agents_text(model, a) for a in layout.between])
    return _with_levels(counts, between, sheet.variables[list(design.covariates)])


def _formula_table(sheet) -> pd.DataFrame:
    variables = sheet.variables
    labels = [c for c in variables.columns if not pd.api.types.is_numeric_dtype(variables[c])]
    if not labels:
        return pd.DataFrame({"samples": [len(variables)]}, index=pd.Index(["all"]))
    frame = variables.groupby(labels, observed=True).size().rename("samples").to_frame()
    if "subject" in sheet.table:
        subjects = sheet.table["subject"].groupby([variables[c] for c in labels]).nunique()
        frame["subjects"] = subjects
    return frame


def _with_levels(frame: pd.DataFrame, by: pd.Series, covariates: pd.DataFrame) -> pd.DataFrame:
    """Counts of each categorical covariate's levels per row of ``frame``."""
    for name in covariates.columns:
        column = covariates[name]
        if pd.api.types.is_numeric_dtype(column):
            continue
        counts = pd.crosstab(by, column).reindex(frame.index, fill_value=0)
        for level in counts.columns:
            frame[f"{name}={level}"] = counts[level].astype(int)
    return frame


def _agents_text(model, level: str) -> str:
    design = model.design
    if design.agents is None:
        return "" if level == design.control else "MEKi (implied)"
    return " + ".join(design.agents.get(level, ()))
