"""tl._lmm and tl._linear: REML with a random intercept, its boundary, missing cells, estimability.

Agreement with lmerTest on real designs is in test_model_reference.py; these tests pin the
properties that hold whatever the data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mekscore.tl._designspec import Design
from mekscore.tl._lmm import Structure, _state, fit_reml
from mekscore.tl._model import build_model
from mekscore.tl._sheet import build_sheet


def _data(seed, subject_sd=1.0, n=6):
    rng = np.random.default_rng(seed)
    subject = np.repeat(np.arange(n), 2)
    time = np.tile([0.0, 1.0], n)
    keep = np.ones(2 * n, bool)
    keep[[1, 4]] = False  # two subjects miss a sample
    y = rng.normal(0, subject_sd, n)[subject] + 0.5 * time + rng.normal(0, 0.5, 2 * n)
    X = np.column_stack([np.ones(2 * n), time])
    return y[keep], X[keep], subject[keep]


def test_the_reml_slope_is_zero_at_an_interior_optimum():
    y, X, subject = _data(0)
    structure = Structure.of(X, subject)
    fit = fit_reml(y, structure)
    assert fit.theta > 0
    Zty = np.bincount(structure.subject, weights=y)
    state = _state(fit.theta**2, structure, Zty, X.T @ y, float(y @ y))
    assert abs(state.slope(structure.dof)) < 1e-9
    for u in (0.5 * fit.theta**2, 2 * fit.theta**2):  # and a minimum
        other = _state(u, structure, Zty, X.T @ y, float(y @ y))
        assert other.deviance(structure.dof) > state.deviance(structure.dof)


def test_at_the_boundary_the_mixed_model_is_least_squares():
    for seed in range(40):
        y, X, subject = _data(seed, subject_sd=0.0)
        fit = fit_reml(y, Structure.of(X, subject))
        if fit.theta == 0:
            break
    else:
        pytest.fail("no boundary fit in 40 simulations")
    estimate, se, dof = fit.contrast(np.array([0.0, 1.0]))
    beta, rss = np.linalg.lstsq(X, y, rcond=None)[:2]
    ols_se = np.sqrt(rss[0] / (len(y) - 2) * np.linalg.inv(X.T @ X)[1, 1])
    assert (estimate, se, dof) == pytest.approx((beta[1], ols_se, len(y) - 2), rel=1e-12)


def test_within_subject_residuals_of_zero_are_refused():
    subject = np.repeat(np.arange(4), 2)
    y = np.repeat([1.0, 2.0, 4.0, 3.0], 2)  # every subject's two values are equal
    X = np.ones((8, 1))
    assert fit_reml(y, Structure.of(X, subject)).startswith("within-subject residual variance")


def _biopsies(missing):
    rows = [
        (a, f"{a}{k}", t)
        for a in ("ICI", "combo")
        for k in range(4)
        for t in ("pre", "on")
        if (f"{a}{k}", t) not in missing
    ]
    obs = pd.DataFrame(rows, columns=["arm", "subject", "time"])
    obs.index = [f"{s}_{t}" for _, s, t in rows]
    return obs


DESIGN = Design(
    condition_key="arm",
    control="ICI",
    subject_key="subject",
    time_key="time",
    baseline="pre",
    covariates=["sex"],
)


def test_a_cell_emptied_by_missing_values_leaves_the_other_contrasts_testable():
    obs = _biopsies(set())
    obs["sex"] = np.resize(["F", "M", "M"], len(obs))
    obs["sex"] = obs.groupby("subject")["sex"].transform("first")
    model = build_model(build_sheet(obs, DESIGN, sample_key=None, bulk=True), DESIGN)
    values = pd.Series(np.random.default_rng(1).normal(size=len(obs)), index=obs.index)
    values[[i for i in obs.index if i.startswith("combo") and i.endswith("_on")]] = np.nan
    results = {r.contrast: r for r in model.fit(values, confidence=0.95, alpha=0.05)}
    assert results["on_vs_pre_in_ICI"].test == "lmm" and not results["on_vs_pre_in_ICI"].untestable
    assert (
        results["on_vs_pre_in_combo"].untestable == "too few samples in combo/on (n=0); need >= 2"
    )


def test_subjects_without_repeats_fall_back_to_least_squares():
    obs = _biopsies(
        {
            (f"{a}{k}", t)
            for a in ("ICI", "combo")
            for k in range(4)
            for t in ("pre", "on")
            if (k + (t == "on")) % 2
        }
    )
    obs["sex"] = "F"
    obs.loc[obs.index[::2], "sex"] = "M"
    design = Design(
        condition_key="arm", control="ICI", subject_key="subject", time_key="time", baseline="pre"
    )
    model = build_model(build_sheet(obs, design, sample_key=None, bulk=True), design)
    values = pd.Series(np.random.default_rng(2).normal(size=len(obs)), index=obs.index)
    result = model.fit(values, confidence=0.95, alpha=0.05)[0]
    assert result.test == "ols" and result.effect_measure == "hedges_g_model"
