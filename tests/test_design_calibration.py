"""Calibration of the design models by simulation: interval coverage and null call rates.

Each scenario is a design type at ``n`` samples (or subjects) per arm with normal data:

* ``2x2 factorial``: vehicle / MEKi / ICI / combination, unequal arm SDs (Welch and
  Welch-Satterthwaite, the intersection-union test);
* ``2x2 factorial + batch``: equal SDs, a batch effect (least squares);
* ``3 arms + covariates``: a dose series adjusted for age and sex (least squares);
* ``repeated, balanced`` / ``unbalanced``: one arm, pre / on / progression, a subject
  effect; unbalanced: three subjects each miss one time point (REML, Satterthwaite);
* ``arm x time, balanced`` / ``unbalanced``: two arms, pre / on; unbalanced: two
  subjects per arm miss one biopsy.

Coverage: the share of studies whose 95% interval (score units, and the standardised
effect's) holds the true contrast, cell means drawn from U(-1.5, 1.5). Null: the share
of p < 0.05 with all cell means equal; for "beats both", at the boundary of its null
(combination equal to one single agent, far above the other), where it is largest.
``benchmarks/designs.py`` runs the full tables of the README; the tests below run a
quick subset.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mekscore.tl._designspec import Design
from mekscore.tl._model import Model, build_model
from mekscore.tl._sheet import build_sheet

ALPHA = 0.05
FACTORIAL = {"cobi": ["MEKi"], "aPDL1": ["ICI"], "combo": ["MEKi", "ICI"]}
ARM_SD = {"veh": 0.6, "cobi": 1.0, "aPDL1": 1.0, "combo": 1.4}
SUBJECT_SD, RESIDUAL_SD = 1.0, 0.6


@dataclass(frozen=True)
class Scenario:
    """A design type: its layout at ``n`` per arm and how a study's values are drawn."""

    name: str
    design: Design
    layout: Callable[[int], pd.DataFrame]
    noise: Callable[[pd.DataFrame, np.random.Generator], np.ndarray]
    cell: Callable[[pd.DataFrame], pd.Series]  # each sample's cell key (as in contrast.cells)

    def model(self, n: int) -> tuple[Model, pd.DataFrame]:
        obs = self.layout(n)
        return build_model(
            build_sheet(obs, self.design, sample_key=None, bulk=True), self.design
        ), obs


def _arms(arms, n, **extra) -> pd.DataFrame:
    labels = [a for a in arms for _ in range(n)]
    frame = pd.DataFrame({"arm": labels, **{k: v(len(labels)) for k, v in extra.items()}})
    frame.index = [f"s{i}" for i in range(len(frame))]
    return frame


def _repeated(between, times, n, missing) -> pd.DataFrame:
    rows = []
    for b in between:
        for k in range(n):
            for t in times:
                if (k, t) not in missing:
                    rows.append({"arm": b, "subject": f"{b}{k}", "time": t})
    frame = pd.DataFrame(rows)
    frame.index = [f"{r.subject}_{r.time}" for r in frame.itertuples()]
    return frame


def _subject_noise(obs, rng):
    subjects = obs["subject"].unique()
    effect = pd.Series(rng.normal(0, SUBJECT_SD, len(subjects)), index=subjects)
    return effect[obs["subject"]].to_numpy() + rng.normal(0, RESIDUAL_SD, len(obs))


def _arm_cell(obs):
    return pd.Series(list(zip(obs["arm"], [""] * len(obs), strict=True)), index=obs.index)


def _time_cell(by):
    def cell(obs):
        between = obs["arm"] if by else [""] * len(obs)
        return pd.Series(list(zip(between, obs["time"], strict=True)), index=obs.index)

    return cell


ARMS_TIME = {
    "condition_key": "arm",
    "control": "ICI",
    "agents": {"ICI": ["ICI"], "combo": ["ICI", "MEKi"]},
    "subject_key": "subject",
    "time_key": "time",
    "baseline": "pre",
}
SINGLE = {"subject_key": "subject", "time_key": "time", "baseline": "pre"}
FOUR = ("veh", "cobi", "aPDL1", "combo")
THREE_TIMES = ("pre", "on", "prog")
UNBALANCED_SINGLE = {(0, "on"), (1, "prog"), (2, "pre")}
UNBALANCED_ARMS = {(0, "on"), (1, "pre")}

SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "2x2 factorial",
            Design(condition_key="arm", control="veh", agents=FACTORIAL),
            lambda n: _arms(FOUR, n),
            lambda obs, rng: rng.normal(0, obs["arm"].map(ARM_SD).to_numpy()),
            _arm_cell,
        ),
        Scenario(
            "2x2 factorial + batch",
            Design(condition_key="arm", control="veh", agents=FACTORIAL, covariates=["batch"]),
            lambda n: _arms(FOUR, n, batch=lambda k: np.resize(["a", "b"], k)),
            lambda obs, rng: (obs["batch"] == "b").to_numpy() * 0.8 + rng.normal(0, 1, len(obs)),
            _arm_cell,
        ),
        Scenario(
            "3 arms + covariates",
            Design(
                condition_key="arm",
                control="veh",
                treated=["low", "high"],
                covariates=["age", "sex"],
            ),
            lambda n: _arms(
                ("veh", "low", "high"),
                n,
                age=lambda k: 40 + (np.arange(k) * 37) % 41,
                sex=lambda k: np.resize(["F", "M", "M"], k),
            ),
            lambda obs, rng: (
                (0.03 * (obs["age"] - 60) + 0.5 * (obs["sex"] == "M")).to_numpy()
                + rng.normal(0, 1, len(obs))
            ),
            _arm_cell,
        ),
        Scenario(
            "repeated, balanced",
            Design(**SINGLE),
            lambda n: _repeated(("",), THREE_TIMES, n, set()).drop(columns="arm"),
            _subject_noise,
            _time_cell(by=False),
        ),
        Scenario(
            "repeated, unbalanced",
            Design(**SINGLE),
            lambda n: _repeated(("",), THREE_TIMES, n, UNBALANCED_SINGLE).drop(columns="arm"),
            _subject_noise,
            _time_cell(by=False),
        ),
        Scenario(
            "arm x time, balanced",
            Design(**ARMS_TIME),
            lambda n: _repeated(("ICI", "combo"), ("pre", "on"), n, set()),
            _subject_noise,
            _time_cell(by=True),
        ),
        Scenario(
            "arm x time, unbalanced",
            Design(**ARMS_TIME),
            lambda n: _repeated(("ICI", "combo"), ("pre", "on"), n, UNBALANCED_ARMS),
            _subject_noise,
            _time_cell(by=True),
        ),
    )
}


@dataclass
class Tally:
    """Per contrast: studies, intervals holding the truth (difference, effect), p < alpha."""

    studies: int = 0
    untestable: int = 0
    covered: int = 0
    effect_covered: int = 0
    significant: int = 0

    @property
    def coverage(self) -> float:
        return self.covered / self.studies if self.studies else np.nan

    @property
    def effect_coverage(self) -> float:
        return self.effect_covered / self.studies if self.studies else np.nan

    @property
    def rate(self) -> float:
        return self.significant / self.studies if self.studies else np.nan


def _true_sd(scenario: Scenario, contrast, measure: str, cells) -> float:
    """The population value of the result's standardiser (see tl._fits)."""
    if scenario.name == "2x2 factorial":
        return math.sqrt(np.mean([ARM_SD[b] ** 2 for (b, _), w in cells.items() if w]))
    if measure in ("hedges_g_model",):
        return 1.0
    times: dict[str, float] = {}
    for (_, t), w in cells.items():  # the per-subject weights (same in every arm)
        times[t] = w
    w = np.array(list(times.values()))
    return math.sqrt(RESIDUAL_SD**2 * float(w @ w) + SUBJECT_SD**2 * float(w.sum()) ** 2)


def _boundary_means(rng) -> dict:
    """Least favourable null of "combination beats both": combo = cobi, aPDL1 far below."""
    level = rng.uniform(-1, 1)
    return {"veh": rng.uniform(-1, 1), "cobi": level, "aPDL1": level - 4, "combo": level}


def simulate(name: str, n: int, n_sims: int, seed: int, *, null: bool) -> dict[str, Tally]:
    """Run ``n_sims`` studies of one scenario; a :class:`Tally` per contrast."""
    scenario = SCENARIOS[name]
    model, obs = scenario.model(n)
    cells = scenario.cell(obs)
    keys = list(dict.fromkeys(cells))
    rng = np.random.default_rng(seed)
    tallies = {c.name: Tally() for c in model.contrasts}
    plain = _only(model, parts=False) if null else model
    iut = _only(model, parts=True) if null else None
    for _ in range(n_sims):
        means = (
            dict.fromkeys(keys, 0.0)
            if null
            else dict(zip(keys, rng.uniform(-1.5, 1.5, len(keys)), strict=True))
        )
        studies = [(plain, means)]
        if iut is not None and iut.contrasts:
            studies.append((iut, {(a, ""): v for a, v in _boundary_means(rng).items()}))
        for fitted, truth in studies:
            y = pd.Series(cells.map(truth).to_numpy() + scenario.noise(obs, rng), index=obs.index)
            results = fitted.fit(y, confidence=1 - ALPHA, alpha=ALPHA, direction=1)
            for contrast, result in zip(fitted.contrasts, results, strict=True):
                _count(tallies[contrast.name], scenario, contrast, result, truth)
    return tallies


def _only(model: Model, *, parts: bool) -> Model:
    """The model with only its beats-both contrasts (``parts``) or only the others."""
    chosen = [c for c in model.contrasts if bool(c.parts) == parts]
    return Model(
        model.sheet, model.design, model.layout, chosen, linear=model.linear, notes=model.notes
    )


def _count(tally: Tally, scenario, contrast, result, means) -> None:
    if result.untestable:  # e.g. a Satterthwaite df below 1 (lmerTest reports the same df)
        tally.untestable += 1
        return
    parts = contrast.parts or (contrast.cells,)
    truths = [sum(w * means[c] for c, w in cells.items()) for cells in parts]
    truth = min(truths) if contrast.parts else truths[0]  # direction +1
    sds = [_true_sd(scenario, contrast, result.effect_measure, cells) for cells in parts]
    effect = min(t / s for t, s in zip(truths, sds, strict=True))
    tally.studies += 1
    tally.covered += int(result.difference_low <= truth <= result.difference_high)
    tally.effect_covered += int(result.ci_low <= effect <= result.ci_high)
    tally.significant += int(result.p_value < ALPHA)


def _assert_not_above_alpha(k: int, n: int, what: str) -> None:
    upper = stats.binomtest(k, n, ALPHA, alternative="greater").pvalue
    assert upper > 0.01, f"{what}: {k}/{n} = {k / n:.3f} exceeds alpha={ALPHA} (p={upper:.2g})"


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_intervals_cover_the_truth(name):
    for contrast, tally in simulate(name, 4, 200, seed=1, null=False).items():
        assert tally.untestable <= 0.02 * (tally.studies + tally.untestable)
        assert 0.90 <= tally.coverage <= 0.99, (contrast, tally.coverage)
        assert 0.90 <= tally.effect_coverage <= 0.99, (contrast, tally.effect_coverage)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_null_rate_is_at_most_alpha(name):
    for contrast, tally in simulate(name, 4, 200, seed=2, null=True).items():
        _assert_not_above_alpha(tally.significant, tally.studies, f"{name}: {contrast}")
