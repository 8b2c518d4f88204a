"""Report parts of a design with several contrasts: the design, the overview, one section each.

A record of a :class:`~mekscore.tl.Design` with several arms, combinations or time
points holds one verdict row per program x compartment *per contrast*. These parts
say the design first, then show every contrast side by side, then each contrast on
its own (PD control, counts, sentences, forest plot, table), so no plot or list mixes
rows that answer different questions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from ..pl._style import VERDICT_COLORS, contrasts_of
from . import _html as h
from ._figures import effect_figure, overview_figure
from ._text import design_sentences, number

_DETECTABLE = {
    "words": "contrast",
    "kind": "kind",
    "n": "samples (subjects)",
    "df": "df",
    "detectable": "detectable effect (80% power)",
    "standardiser": "in units of",
}


def anchor(position: int) -> str:
    """The HTML id of the section of the contrast at ``position`` (0-based).

    Numbered rather than spelled from the words, so ids stay unique whatever they say.

    Examples
    --------
    >>> anchor(0)
    'contrast-1'
    """
    return f"contrast-{position + 1}"


def design_section(
    parameters: Mapping[str, Any],
    design: pd.DataFrame | None,
    detectable: pd.DataFrame | None,
    notes: str = "",
) -> str:
    """The study design in words, its samples per arm and what each contrast can detect.

    ``notes`` (HTML: how the sample values were made, the run's warnings) follow the
    design's sentences.
    """
    study = json.loads(parameters.get("study_design") or "{}")
    parts = [h.paragraphs(design_sentences(study, len(parameters.get("contrasts", {})))), notes]
    if design is not None and not design.empty:
        parts += ["<h3>Samples per arm</h3>", h.scrolling(h.table(design))]
    if detectable is not None and not detectable.empty:
        shown = detectable[[c for c in _DETECTABLE if c in detectable.columns]]
        parts += [
            "<h3>Smallest effect each contrast can detect</h3>",
            "<p>The standardised effect each contrast detects with 80% power at these sample "
            "sizes (two-sided, alpha 0.05): a 'no change detected' smaller than this is "
            "absence of evidence, not evidence of no change.</p>",
            h.scrolling(h.table(shown.rename(columns=_DETECTABLE), prose=("contrast",))),
        ]
    return h.section("Study design", *parts)


def overview_section(verdict: pd.DataFrame, parameters: Mapping[str, Any]) -> str:
    """Every contrast at a glance: counts and PD control per contrast, then the grid."""
    contrasts = contrasts_of(verdict)
    return h.section(
        "Contrasts at a glance",
        h.scrolling(_contrast_table(verdict, contrasts, parameters)),
        h.figure(
            overview_figure(verdict),
            "grid of verdicts, programs by contrasts",
            "Verdict per program and compartment (rows) in each contrast (columns); numbers "
            "are effect sizes (n/t: not testable). The same grid as a table follows.",
        ),
        "<details><summary>The grid as a table</summary>",
        h.scrolling(_grid_table(verdict, contrasts)),
        "</details>",
    )


def _contrast_table(verdict: pd.DataFrame, contrasts: list[str], parameters) -> str:
    """One line per contrast: its PD control and how many rows reached each verdict."""
    status = parameters.get("pd_status_by_contrast", {})
    verdicts = [v for v in VERDICT_COLORS if v in set(verdict["verdict"])]
    head = "".join(f"<th>{h.verdict_badge(v)}</th>" for v in verdicts)
    rows = []
    for position, words in enumerate(contrasts):
        counts = verdict.loc[verdict["contrast"] == words, "verdict"].value_counts()
        cells = "".join(f'<td class="num">{int(counts.get(v, 0))}</td>' for v in verdicts)
        link = f'<a href="#{anchor(position)}">{h.esc(words)}</a>'
        pd_cell = f'<td class="prose">{h.esc(status.get(words, ""))}</td>'
        rows.append(f"<tr><td>{link}</td>{pd_cell}{cells}</tr>")
    return (
        f'<table><thead><tr><th>contrast</th><th class="prose">pharmacodynamic control</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _grid_table(verdict: pd.DataFrame, contrasts: list[str]) -> str:
    """The overview grid as an accessible table: verdict and effect size in each cell."""
    rows = verdict.assign(
        row=verdict["signature"].astype(str) + " (" + verdict["compartment"] + ")"
    )
    head = "".join(f"<th>{h.esc(c)}</th>" for c in contrasts)
    body = []
    for label, group in rows.groupby("row", sort=False):
        cells = {str(r["contrast"]): r for _, r in group.iterrows()}
        tds = "".join(_grid_cell(cells.get(c)) for c in contrasts)
        body.append(f"<tr><td>{h.esc(label)}</td>{tds}</tr>")
    return (
        f"<table><thead><tr><th>program (compartment)</th>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _grid_cell(row: pd.Series | None) -> str:
    if row is None:
        return "<td></td>"
    effect = "" if pd.isna(row["effect_size"]) else f" {h.esc(number(row['effect_size']))}"
    return f"<td>{h.verdict_badge(row['verdict'])}{effect}</td>"


def forest(rows: pd.DataFrame, words: str, xlabel: str) -> str:
    """One contrast's forest plot, headed and captioned with the contrast's words."""
    return h.figure(
        effect_figure(rows, xlabel),
        f"forest plot of effect sizes, {words}",
        f"{words}: effect size with its interval per program and compartment, coloured by "
        "verdict; the right-hand column is the direction expected in this contrast.",
    )
