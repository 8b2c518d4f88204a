"""Plain-language text of the report: one sentence per program and the statistics note."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

TEST_NAMES = {
    "welch": "Welch's t-test",
    "mannwhitney": "the Mann-Whitney U test",
    "ttest": "the paired t-test",
    "wilcoxon": "the Wilcoxon signed-rank test",
}
EFFECT_NAMES = {"hedges_g": "Hedges' g", "cohen_dz": "Cohen's d_z"}


def number(value: float) -> str:
    """Two significant digits (``1.8``, ``0.012``, ``-13``); ``inf`` and ``nan`` as words."""
    return f"{value:.2g}" if np.isfinite(value) else str(value)


def summary_sentence(row: Mapping[str, Any], name: str, paired: bool, effect: str) -> str:
    """One sentence stating expectation, observation, statistics and verdict of a row.

    Examples
    --------
    >>> row = dict(compartment="tumor", expected="up", observed="up", effect_size=1.83,
    ...     ci_low=0.41, ci_high=3.1, q_value=0.012, verdict="consistent",
    ...     n_moved_expected=4, n_moved_total=4, reason="", isolated=True, flag="")
    >>> summary_sentence(row, "MHC-I antigen presentation", False, "hedges_g")
    "MHC-I antigen presentation (tumor): expected up; observed up, Hedges' g 1.8 [0.41, 3.1], q = 0.012 → consistent; 4 of 4 treated samples above the control mean."
    """  # noqa: E501
    head = f"{name} ({row['compartment']}): expected {row['expected']}"
    if pd.isna(row["effect_size"]):
        return f"{head}; not testable: {row['reason']}." + _flag(row)
    stats = (
        f"observed {row['observed']}, {EFFECT_NAMES.get(effect, effect)} "
        f"{number(row['effect_size'])} [{number(row['ci_low'])}, {number(row['ci_high'])}], "
        f"q = {number(row['q_value'])} → {row['verdict']}"
    )
    if row["expected"] not in ("up", "down"):
        stats += f" (no single expected direction: {row['expected']})"
    return f"{head}; {stats}{_moved(row, paired)}." + _flag(row)


def _moved(row: Mapping[str, Any], paired: bool) -> str:
    if pd.isna(row["n_moved_expected"]):
        return ""
    k, n, up = int(row["n_moved_expected"]), int(row["n_moved_total"]), row["expected"] == "up"
    if paired:
        return f"; {k} of {n} pairs {'increased' if up else 'decreased'}"
    return f"; {k} of {n} treated samples {'above' if up else 'below'} the control mean"


def _flag(row: Mapping[str, Any]) -> str:
    flag = row.get("flag", "")
    return f" Caution: {flag}." if isinstance(flag, str) and flag else ""


def statistics_note(parameters: Mapping[str, Any]) -> list[str]:
    """Paragraphs explaining the replicate, the test, the effect size, its CI and q-values.

    Examples
    --------
    >>> statistics_note({"design": "paired", "test": "wilcoxon"})[0][:26]
    'The replicate is the sampl'
    """
    paired = parameters.get("design") == "paired"
    test = TEST_NAMES.get(str(parameters.get("test")), str(parameters.get("test", "?")))
    level = f"{100 * float(parameters.get('confidence', 0.95)):g}%"
    alpha = parameters.get("alpha", 0.05)
    if paired:
        effect = (
            f"{test} on the within-pair differences (treated minus control); effect size "
            f"Cohen's d_z (mean difference over the SD of the differences) with a {level} "
            "interval from SE = sqrt(1/n + d_z²/(2n)) and a t critical value on n - 1 "
            "degrees of freedom (n pairs; incomplete pairs are left out)."
        )
    else:
        effect = (
            f"{test} comparing treated with control samples; effect size Hedges' g (mean "
            "difference over the pooled SD, times the small-sample correction "
            f"1 - 3/(4 df - 1)) with a {level} interval from the Hedges & Olkin "
            "approximation SE = sqrt((n1 + n2)/(n1 n2) + g²/(2 (n1 + n2))) and a t critical "
            "value on n1 + n2 - 2 degrees of freedom."
        )
    return [
        "The replicate is the sample (patient, mouse, culture), never the cell. Single-cell "
        f"scores are reduced to one value per sample and compartment (aggregate = "
        f"{parameters.get('aggregate', 'mean')}) before any test, so every n in this report "
        f"counts samples or pairs. Samples with fewer than {parameters.get('min_cells', '?')} "
        "cells in a compartment are dropped from that test and listed in its reason.",
        f"Test: {effect}",
        "q-values are Benjamini-Hochberg adjusted over all tested rows of the table. A row is "
        f"'consistent' (or 'opposite') when q ≤ {alpha} and the observed direction matches "
        "(or opposes) the expected one, 'no change detected' when q > "
        f"{alpha}, and 'not testable' when the expected direction is mixed or unclear, the "
        "compartment is absent, a signature could not be scored or there are fewer than two "
        "samples (pairs) per arm. 'No change detected' is absence of evidence, not evidence "
        "of no change.",
        "Per-sample view: in unpaired designs each treated sample is placed against the "
        "control samples (its distance from the control mean, in control SDs); in paired "
        "designs each pair's treated minus control difference is used. The count says how "
        "many of them moved in the expected direction.",
    ]


COMPETITIVE_NOTE = (
    "Two views answer two questions. The self-contained test (the verdict) asks: does the "
    "signature score change between treated and control samples? The competitive view asks: "
    "do the signature's genes change more than the other genes measured? A program can pass "
    "one and not the other, e.g. when treatment shifts most genes at once."
)
