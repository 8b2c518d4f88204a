"""Composition covariates measured by marker genes, corrected for their noise.

A proxy is the mean of a few log-scale parts (marker genes, or population means)
per sample. Each part carries its own noise, so a proxy measures composition with
error, and a regression on a noisy covariate under-adjusts: part of the
composition effect stays in the condition coefficient (Fuller 1987, *Measurement
Error Models*). In simulated paired null studies whose tumour content fell (8 pairs),
adjusting for the raw mean of five epithelial genes left tumour rows at p < 0.05 in
10-13% of cases.

Regression calibration removes that bias: the covariate is replaced by its
expectation given the measurement and the arm, ``c = mean_arm + reliability *
(w - mean_arm)``, with ``reliability = 1 - noise / within-arm variance of w``
(in paired designs the same on the within-pair differences). The noise of a
proxy is the parts' interaction mean square (parts x units, two-way without
replication: each part moves with composition on the log scale, its scatter
around that shared movement is noise) over the number of parts; a one-part proxy
borrows the pooled mean square of the study's other marker sets.

The calibrated covariate also says whether composition and treatment can be told
apart: its variance inflation of the condition coefficient (:func:`inflation`) is
``1 / (1 - R^2)`` of the covariate on the arms, infinite when the covariate carries
no within-arm information.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Calibrated:
    """A regression-calibrated covariate.

    Attributes
    ----------
    values
        Per sample, the calibrated covariate (named).
    reliability
        Within-arm (or within-pair-difference) reliability of the raw proxy, 0-1.
    noise
        Measurement-error variance of one unit's raw proxy.
    shift
        Two-sided p-value of the raw proxy's difference between the arms (Welch
        t-test; paired: one-sample t-test of the within-pair differences).
    """

    values: pd.Series
    reliability: float
    noise: float
    shift: float = 1.0


def units(parts: pd.DataFrame, sheet: pd.DataFrame, *, paired: bool) -> pd.DataFrame:
    """The rows a model sees: samples, or (paired) treated minus control per pair.

    ``sheet`` has ``arm`` (``control``/``treated``) and ``pair`` per sample.

    Examples
    --------
    >>> sheet = pd.DataFrame({"arm": ["control", "treated"], "pair": ["p", "p"]}, index=["a", "b"])
    >>> units(pd.DataFrame({"g": [1.0, 3.0]}, index=["a", "b"]), sheet, paired=True).to_dict()
    {'g': {'p': 2.0}}
    """
    parts = parts.loc[sheet.index]
    if not paired:
        return parts
    pair = sheet["pair"]
    control = parts[sheet["arm"] == "control"].set_axis(pair[sheet["arm"] == "control"])
    treated = parts[sheet["arm"] == "treated"].set_axis(pair[sheet["arm"] == "treated"])
    common = control.index.intersection(treated.index).sort_values()
    return (treated.loc[common] - control.loc[common]).rename_axis(None)


def interaction(matrix: pd.DataFrame) -> tuple[float, int]:
    """Interaction mean square and degrees of freedom of a units x parts table.

    Examples
    --------
    >>> m = pd.DataFrame({"g1": [0.0, 1.0, 2.0], "g2": [1.0, 2.0, 3.0]})
    >>> interaction(m)  # both genes move together: no scatter
    (0.0, 2)
    """
    values = matrix.to_numpy(float)
    n, k = values.shape
    dof = (n - 1) * (k - 1)
    if dof < 1:
        return np.nan, 0
    centred = values - values.mean(axis=0) - values.mean(axis=1, keepdims=True) + values.mean()
    return float((centred**2).sum() / dof), dof


def pooled(squares: list[tuple[float, int]]) -> tuple[float, int]:
    """Degrees-of-freedom-weighted mean square of several tables."""
    usable = [(ms, dof) for ms, dof in squares if dof > 0 and np.isfinite(ms)]
    dof = sum(d for _, d in usable)
    return (sum(ms * d for ms, d in usable) / dof, dof) if dof else (np.nan, 0)


def calibrate(
    parts: pd.DataFrame,
    sheet: pd.DataFrame,
    *,
    paired: bool,
    fallback: tuple[float, int] = (np.nan, 0),
    name: str = "proxy",
) -> Calibrated:
    """The regression-calibrated mean of ``parts`` (samples x parts, log scale).

    ``fallback`` is the pooled interaction mean square used when ``parts`` has one
    column. Paired designs calibrate the within-pair differences and return
    per-sample values whose differences are the calibrated ones.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> truth = np.repeat([0.0, 1.0], 10) + rng.normal(0, 0.5, 20)
    >>> parts = pd.DataFrame(truth[:, None] + rng.normal(0, 0.5, (20, 4)))
    >>> sheet = pd.DataFrame({"arm": ["control"] * 10 + ["treated"] * 10, "pair": ""})
    >>> c = calibrate(parts, sheet, paired=False)
    >>> 0.3 < c.reliability < 0.9, round(c.noise, 2)
    (True, 0.07)
    """
    table = units(parts, sheet, paired=paired)
    square, dof = interaction(table) if table.shape[1] > 1 else fallback
    noise = square / table.shape[1] if dof else np.nan
    w = table.mean(axis=1)
    groups = pd.Series("", index=w.index) if paired else sheet.loc[w.index, "arm"]
    centre = w.groupby(groups).transform("mean")
    within = w - centre
    spread = float((within**2).sum()) / max(len(w) - groups.nunique(), 1)
    reliability = _reliability(noise, spread)
    calibrated = (centre + reliability * within).rename(name)
    if paired:
        calibrated = _per_sample(parts.mean(axis=1), calibrated, sheet).rename(name)
    return Calibrated(calibrated, reliability, float(noise), _shift(w, groups, paired=paired))


def _shift(w: pd.Series, groups: pd.Series, *, paired: bool) -> float:
    if paired:
        p = stats.ttest_1samp(w.to_numpy(), 0.0).pvalue
    else:
        treated = (groups == "treated").to_numpy()
        p = stats.ttest_ind(w[treated], w[~treated], equal_var=False).pvalue
    return float(p) if np.isfinite(p) else 1.0


def _reliability(noise: float, spread: float) -> float:
    if not np.isfinite(noise) or spread <= 0:
        return 0.0
    return float(np.clip(1 - noise / spread, 0.0, 1.0))


def _per_sample(raw: pd.Series, differences: pd.Series, sheet: pd.DataFrame) -> pd.Series:
    """Control samples keep their raw value; treated = control + calibrated difference."""
    out = pd.Series(np.nan, index=sheet.index)
    control = sheet[sheet["arm"] == "control"]
    treated = sheet[sheet["arm"] == "treated"]
    base = raw[control.index].set_axis(control["pair"])
    out[control.index] = raw[control.index]
    pairs = treated["pair"]
    known = pairs.isin(differences.index) & pairs.isin(base.index)
    out[treated.index[known]] = base[pairs[known]].to_numpy() + differences[pairs[known]].to_numpy()
    return out


def inflation(z: np.ndarray, treated: np.ndarray | None) -> float:
    """Variance inflation of the condition coefficient by the covariate ``z``.

    Unpaired (``treated`` a boolean array): ``1 / (1 - R^2)`` of ``z`` on the arm.
    Paired (``treated=None``, ``z`` the within-pair differences): the variance of
    the intercept of ``y ~ 1 + z`` over that of ``y ~ 1``, ``1 + n mean(z)^2 / SS(z)``.
    Both are ``1 + t^2 / dof`` of the covariate's own test between arms.

    Examples
    --------
    >>> round(inflation(np.array([0.0, 1.0, 2.0, 1.0, 2.0, 3.0]), np.arange(6) >= 3), 3)
    1.375
    >>> inflation(np.array([1.0, 1.0, 1.0]), None)
    inf
    """
    z = np.asarray(z, float)
    if treated is None:
        square = float(((z - z.mean()) ** 2).sum())
        return np.inf if square == 0 else 1 + len(z) * float(z.mean()) ** 2 / square
    treated = np.asarray(treated, bool)
    total = float(((z - z.mean()) ** 2).sum())
    residual = sum(float(((z[m] - z[m].mean()) ** 2).sum()) for m in (treated, ~treated))
    return np.inf if residual == 0 else total / residual
