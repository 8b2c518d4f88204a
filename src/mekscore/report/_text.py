"""Plain-language text of the report: one sentence per program and the statistics note."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..pl._style import MEASURE_NAMES

TEST_NAMES = {
    "welch": "Welch's t-test",
    "mannwhitney": "the Mann-Whitney U test",
    "paired-t": "the paired t-test",
    "wilcoxon": "the Wilcoxon signed-rank test",
}
EFFECT_NAMES = {k: v.removesuffix(" (score units)") for k, v in MEASURE_NAMES.items()}


def number(value: float) -> str:
    """Two significant digits (``1.8``, ``0.012``, ``-13``); ``inf`` and ``nan`` as words."""
    return f"{value:.2g}" if np.isfinite(value) else str(value)


def aggregation_sentence(parameters: Mapping[str, Any]) -> str:
    """How each sample's value was made, in words (the first thing a reader must know).

    Examples
    --------
    >>> aggregation_sentence({"aggregate": "pseudobulk", "counts": "counts", "method": "mean"})
    "pseudobulk: each sample's raw counts (layer 'counts') summed per compartment, normalised to log1p CP10k and scored with mean"
    >>> aggregation_sentence({"aggregate": "mean", "scores": "mekscore_ucell", "method": "ucell"})
    "mean of the cells' stored ucell scores (adata.obsm['mekscore_ucell']) per sample and compartment"
    """  # noqa: E501
    method, aggregate = parameters.get("method") or "stored", parameters.get("aggregate")
    counts = parameters.get("counts", "X")
    where = "X" if counts == "X" else f"layer {counts!r}"
    if aggregate == "pseudobulk":
        return (
            f"pseudobulk: each sample's raw counts ({where}) summed per compartment, normalised "
            f"to log1p CP10k and scored with {method}"
        )
    stored = parameters.get("scores")
    if aggregate == "mean":
        if stored:
            return (
                f"mean of the cells' stored {method} scores (adata.obsm[{stored!r}]) per sample "
                "and compartment"
            )
        return f"mean of the cells' {method} scores (scored here) per sample and compartment"
    if stored:
        return f"each bulk sample's stored {method} score (adata.obsm[{stored!r}])"
    if parameters.get("normalization"):
        return f"each bulk sample's counts ({where}) as log1p CP10k, scored with {method}"
    return f"each bulk sample scored with {method} as given"


def summary_sentence(
    row: Mapping[str, Any], name: str, *, paired: bool, effect: str, reference: str = "control"
) -> str:
    """One sentence stating expectation, observation, statistics and verdict of a row.

    ``reference`` names what unpaired treated samples are placed against (``"control"``;
    ``"reference arm"`` in a contrast of two treated arms).

    Examples
    --------
    >>> row = dict(compartment="tumor", expected="up", observed="up", effect_size=1.83,
    ...     ci_low=0.41, ci_high=3.1, q_value=0.012, verdict="consistent",
    ...     n_moved_expected=4, n_moved_total=4, reason="", isolated=True, flag="")
    >>> summary_sentence(row, "MHC-I antigen presentation", paired=False, effect="hedges_g_av")
    "MHC-I antigen presentation (tumor): expected up; observed up, Hedges' g*_s 1.8 [0.41, 3.1], q = 0.012 → consistent; 4 of 4 treated samples above the control mean."
    """  # noqa: E501
    head = f"{name} ({row['compartment']}): expected {row['expected']}"
    if row["verdict"] == "not testable":
        return f"{head}; not testable: {row['reason']}." + _flag(row)
    stats = (
        f"observed {row['observed']}, {EFFECT_NAMES.get(effect, effect)} "
        f"{number(row['effect_size'])} [{number(row['ci_low'])}, {number(row['ci_high'])}], "
        f"q = {number(row['q_value'])} → {row['verdict']}"
    )
    if row["expected"] not in ("up", "down"):
        stats += f" (the literature direction is {row['expected']})"
    return f"{head}; {stats}{_moved(row, paired=paired, reference=reference)}." + _flag(row)


def _moved(row: Mapping[str, Any], *, paired: bool, reference: str) -> str:
    if pd.isna(row["n_moved_expected"]):
        return ""
    k, n, up = int(row["n_moved_expected"]), int(row["n_moved_total"]), row["expected"] == "up"
    if paired:
        return f"; {k} of {n} pairs {'increased' if up else 'decreased'}"
    return f"; {k} of {n} treated samples {'above' if up else 'below'} the {reference} mean"


def _flag(row: Mapping[str, Any]) -> str:
    flag = row.get("flag", "")
    return f" Caution: {flag}." if isinstance(flag, str) and flag else ""


def statistics_note(parameters: Mapping[str, Any], *, tests: str | None = None) -> list[str]:
    """Paragraphs explaining the replicate, the test, the effect size, its CI and q-values.

    ``tests`` replaces the two-arm test paragraph: a design's tests per contrast
    (:func:`design_tests`); q-values are then adjusted within each family and contrast.

    Examples
    --------
    >>> statistics_note({"design": "paired", "test": "wilcoxon"})[0][:26]
    'The replicate is the sampl'
    """
    test_key = str(parameters.get("test", "?"))
    test = TEST_NAMES.get(test_key, test_key)
    level = f"{100 * float(parameters.get('confidence', 0.95)):g}%"
    alpha = parameters.get("alpha", 0.05)
    effect = f"{test}; " + EFFECT_TEXT.get(test_key, "").format(level=level)
    within, reference = "within families, never across them", "control"
    if tests is not None:
        within, reference = "within each family and contrast, never across them", "reference arm"
    return [
        "The replicate is the sample (patient, mouse, culture), never the cell. Single-cell "
        f"scores are reduced to one value per sample and compartment (aggregate = "
        f"{parameters.get('aggregate', 'mean')}) before any test, so every n in this report "
        f"counts samples or pairs. Samples with fewer than {parameters.get('min_cells', '?')} "
        "cells in a compartment are dropped from that test and listed in its reason.",
        tests if tests is not None else f"Test: {effect}",
        f"Multiple testing: q-values are Benjamini-Hochberg adjusted {within}. The "
        "pharmacodynamic control (MAPK output in tumour cells, which MEK "
        f"inhibition must lower) is tested first, on its own, at {alpha}; programs with an "
        "expected direction form the main family; programs whose literature direction is "
        "mixed or unclear form their own family and are reported as 'no expected direction' "
        "(observed direction and q shown); extra all-cells rows form a secondary family. "
        "When the pharmacodynamic control is not confirmed, every other row carries the flag "
        "'PD not confirmed': without evidence that MEK was inhibited, read them as exploratory.",
        f"Verdicts: 'consistent' (or 'opposite') when q ≤ {alpha}, the interval excludes 0 and "
        "the observed direction matches (or opposes) the expected one; 'no change detected' "
        "otherwise; 'not testable' when the compartment is absent, a signature could not be "
        "scored, an arm has fewer than two samples (pairs), the values do not vary, or the "
        "test cannot reach the threshold at this n. 'No change detected' is absence of "
        "evidence, not evidence of no change.",
        "Per-sample view: in unpaired designs each treated sample is placed against the "
        f"{reference} samples (its distance from the {reference} mean, in {reference} SDs); "
        "in paired designs each pair's treated minus control difference is used. The count "
        "says how "
        "many of them moved in the expected direction.",
    ]


EFFECT_TEXT = {
    "welch": (
        "difference in means with its Welch t interval; effect size Hedges' g*_s (Delacre et "
        "al. 2021: the mean difference over sqrt((s_c² + s_t²)/2), times the small-sample "
        "correction on the degrees of freedom of that average variance) with a {level} "
        "interval from the noncentral t of the Welch statistic, an approximation whose "
        "coverage is measured in the README; it excludes 0 exactly when p < 1 - {level}."
    ),
    "paired-t": (
        "on the within-pair differences (treated minus control; incomplete pairs are "
        "dropped and named); mean difference with its t interval; effect size Hedges' g_z "
        "(mean over SD of the differences, times the small-sample correction) with an "
        "exact noncentral-t {level} interval, which excludes 0 exactly when p < 1 - {level}."
    ),
    "mannwhitney": (
        "exact permutation p-value given the observed values (midranks for ties, two-sided "
        "p twice the smaller tail); effect: the Hodges-Lehmann shift (median of all "
        "treated-minus-control differences, in score units) with the {level} interval of "
        "shifts the same test does not reject, and the rank-biserial correlation. Directions "
        "come from these rank statistics, never from the means."
    ),
    "wilcoxon": (
        "on the within-pair differences, exact permutation p-value given the observed values "
        "(Pratt's rule for zero differences, midranks for ties); effect: the Hodges-Lehmann "
        "shift (median of the Walsh averages) with the {level} interval of shifts the same "
        "test does not reject, and the matched-pairs rank-biserial correlation."
    ),
}

COMPETITIVE_NOTE = (
    "Two views answer two questions. The self-contained test (the verdict) asks: does the "
    "signature score change between treated and control samples? The competitive view asks: "
    "do the signature's genes change more than the other genes measured? A program can pass "
    "one and not the other, e.g. when treatment shifts most genes at once."
)


MODEL_TESTS = {
    "welch": "Welch's t-test (two arms)",
    "mannwhitney": "the Mann-Whitney U test (two arms)",
    "paired-t": "a paired t-test of each pair's (subject's) contrast score",
    "wilcoxon": "the Wilcoxon signed-rank test of each pair's contrast score",
    "welch-satterthwaite": "Welch-Satterthwaite with each arm's own variance",
    "ols": "least squares with the design's covariates, exact t on n - rank df",
    "lmm": "a random intercept per subject (REML), Satterthwaite df as lmerTest",
}


def design_tests(verdict: pd.DataFrame) -> str:
    """Which test each contrast of a design used, in words (tested rows only).

    Examples
    --------
    >>> table = pd.DataFrame({"contrast": ["b vs a", "c beats both"],
    ...     "test": ["ols", "intersection-union (ols)"], "p_value": [0.1, 0.2]})
    >>> print(design_tests(table))
    Tests: least squares with the design's covariates, exact t on n - rank df (b vs a); intersection-union of least squares with the design's covariates, exact t on n - rank df: p is the larger of the two one-sided p-values, the bound the smaller of the two one-sided bounds (c beats both). Every interval of a standardised effect inverts the noncentral t of its test, so it excludes 0 exactly when p < 1 - confidence.
    """  # noqa: E501
    tested = verdict[verdict["p_value"].notna()]
    parts = [
        f"{_test_words(test)} ({', '.join(dict.fromkeys(rows['contrast'].astype(str)))})"
        for test, rows in tested.groupby(tested["test"].astype(str), sort=False)
    ]
    return (
        f"Tests: {'; '.join(parts) or 'none could be run'}. Every interval of a "
        "standardised effect inverts the noncentral t of its test, so it excludes 0 exactly "
        "when p < 1 - confidence."
    )


def _test_words(test: str) -> str:
    inner = test.removeprefix("intersection-union (").removesuffix(")")
    if inner != test:
        return (
            f"intersection-union of {MODEL_TESTS.get(inner, inner)}: p is the larger of the two "
            "one-sided p-values, the bound the smaller of the two one-sided bounds"
        )
    return MODEL_TESTS.get(test, test)


def design_sentences(study: Mapping[str, Any], n_contrasts: int) -> list[str]:
    """The study design (``parameters["study_design"]`` of a comparison) in words.

    Examples
    --------
    >>> study = {"condition_key": "arm", "control": "vehicle", "treated": ["cobi", "combo"],
    ...     "agents": {"cobi": ["MEKi"], "combo": ["MEKi", "ICI"]}, "covariates": ["batch"]}
    >>> for line in design_sentences(study, 3):
    ...     print(line)
    Arms (obs['arm']): vehicle (control); cobi: MEKi; combo: MEKi + ICI.
    Every contrast is adjusted for batch.
    3 contrasts, each tested on its own, with its own families, q-values and verdicts.
    """
    lines = []
    if study.get("formula"):
        lines.append(f"Model: {study['formula']} (sample-level obs columns).")
    if study.get("condition_key"):
        lines.append(_arms_sentence(study))
    if study.get("covariates"):
        lines.append(f"Every contrast is adjusted for {', '.join(study['covariates'])}.")
    if study.get("pair_key"):
        lines.append(f"Arms are compared within pairs or blocks (obs[{study['pair_key']!r}]).")
    if study.get("time_key"):
        lines.append(_repeated_sentence(study))
    lines.append(
        f"{n_contrasts} contrasts, each tested on its own, with its own families, q-values and "
        "verdicts."
    )
    return lines


def _arms_sentence(study: Mapping[str, Any]) -> str:
    agents = study.get("agents") or {}
    arms = [f"{study.get('control')} (control)"] + [
        f"{arm}: {' + '.join(agents[arm])}" if arm in agents else f"{arm}: MEK inhibitor"
        for arm in study.get("treated") or []
    ]
    return f"Arms (obs[{study['condition_key']!r}]): {'; '.join(arms)}."


def _repeated_sentence(study: Mapping[str, Any]) -> str:
    text = (
        f"Repeated biopsies: subject obs[{study.get('subject_key')!r}], time point "
        f"obs[{study['time_key']!r}], baseline {study.get('baseline')!r}"
    )
    if study.get("between_key"):
        text += f", compared between the groups of obs[{study['between_key']!r}]"
    if not study.get("condition_key") and study.get("agents"):
        given = "; ".join(f"{t}: {' + '.join(a)}" for t, a in study["agents"].items())
        text += f" (agents by time point: {given})"
    return text + "."
