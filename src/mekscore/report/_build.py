"""Assemble the self-contained HTML report from the verdict and per-sample tables."""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..pl._style import VERDICT_COLORS, contrasts_of, measure_names, plain
from ..sig import load_library, signatures_from_text
from ..sig.abundance import load_abundance
from ..tl._record import Comparison
from . import _html as h
from ._contrasts import anchor, design_section, forest, overview_section
from ._figures import composition_figure, effect_figure, heatmap_figure, sample_figure
from ._qc import qc_section
from ._text import (
    COMPETITIVE_NOTE,
    aggregation_sentence,
    design_tests,
    statistics_note,
    summary_sentence,
)

VERSIONED = ("mekscore", "scanpy", "anndata", "numpy", "scipy", "pandas", "matplotlib")
_VERDICT_COLUMNS = (
    "signature",
    "compartment",
    "verdict",
    "reason",
    "expected",
    "observed",
    "effect_measure",
    "effect_size",
    "ci_low",
    "ci_high",
    "q_value",
    "p_value",
    "n_control",
    "n_treated",
    "n_pairs",
    "difference",
    "family",
    "tested_in",
    "flag",
    "dropped",
)
_COMPETITIVE_COLUMNS = {"nes": "competitive NES", "fdr": "competitive FDR"}


def render_report(comparison: Comparison, *, title: str | None = None) -> str:
    """The report of a comparison record as one HTML string (see :func:`mekscore.report.write`).

    The names and evidence of signatures that are not in the bundled library (a YAML
    file of the user's own, say) come from the record's ``signatures``. A record of a
    design with several contrasts is laid out by contrast: the design, every contrast
    side by side, then one section per contrast. ``title`` defaults to "mekscore:
    treated vs control" (two arms) or "mekscore: study design comparison".

    Examples
    --------
    >>> import mekscore as mk
    >>> from mekscore.tl._record import Comparison
    >>> adata = mk.datasets.load_example_scrna()
    >>> _ = mk.tl.compare(adata, condition_key="condition", control="vehicle",
    ...     treated="trametinib", sample_key="sample", compartment_key="cell_type",
    ...     method="mean", qc=False)
    >>> html = render_report(Comparison.load(adata))
    >>> "data:image/png;base64," in html
    True
    """
    verdict, samples, parameters = comparison.results, comparison.samples, comparison.parameters
    competitive, composition, qc = comparison.competitive, comparison.composition, comparison.qc
    match_report = comparison.genes
    missing = [c for c in _VERDICT_COLUMNS if c not in verdict.columns]
    if missing:
        raise InputError(
            f"verdict lacks column(s) {', '.join(missing)}; pass the table of mekscore.tl.compare"
        )
    entries = _entries(comparison.signatures)
    names = {s: getattr(entries.get(s), "name", s) for s in map(str, verdict["signature"])}
    contrasts = contrasts_of(verdict)
    tail = [
        _sample_plots(verdict, samples, names, several=len(contrasts) > 1),
        _genes(match_report),
        _statistics(verdict, parameters, several=len(contrasts) > 1),
        _provenance(parameters),
    ]
    if len(contrasts) > 1:
        title = title or "mekscore: study design comparison"
        subtitle = _design_subtitle(parameters, len(contrasts))
        body = [
            design_section(
                parameters,
                comparison.design,
                comparison.detectable,
                _sample_kind(parameters) + _run_notes(parameters),
            ),
            overview_section(verdict, parameters),
            *(
                _contrast_section(verdict, words, names, comparison, anchor=anchor(i))
                for i, words in enumerate(contrasts)
            ),
            _composition(composition),
            _evidence(verdict, names, entries, several=True),
            qc_section(qc) if qc is not None else "",
            *tail,
        ]
        return h.page(title, subtitle, [part for part in body if part])
    title = title or "mekscore: treated vs control"
    paired = parameters.get("design") == "paired"
    subtitle = (
        f"{parameters.get('treated', 'treated')} vs {parameters.get('control', 'control')} "
        f"({'paired' if paired else 'unpaired'} design); {_generated()}"
    )
    body = [
        _summary(verdict, names, parameters),
        h.section(
            "Expected vs observed effect sizes",
            h.figure(
                effect_figure(verdict, _axis_label(verdict, parameters)),
                "forest plot of effect sizes",
                "Effect size with confidence interval per program and compartment, "
                "coloured by verdict; the right-hand column is the expected direction.",
            ),
            h.figure(
                heatmap_figure(verdict),
                "grid of verdicts",
                "Verdict per signature and compartment; numbers are effect sizes "
                "(n/t: not testable).",
            ),
        ),
        _composition(composition),
        _verdict_table(verdict, competitive),
        _evidence(verdict, names, entries, several=False),
        qc_section(qc) if qc is not None else "",
        _per_sample(verdict, names, paired=paired),
        *tail,
    ]
    return h.page(title, subtitle, [part for part in body if part])


def _of_contrast(table: pd.DataFrame | None, words: str) -> pd.DataFrame | None:
    """The rows of one contrast of a table that has a ``contrast`` column, else the table."""
    if table is None or "contrast" not in table.columns:
        return table
    return table[table["contrast"].astype(str) == words]


def _generated() -> str:
    return f"generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by mekscore {_version('mekscore')}"


def _design_subtitle(parameters: Mapping[str, Any], n_contrasts: int) -> str:
    return f"{parameters.get('design', 'study')} design, {n_contrasts} contrasts; {_generated()}"


def _contrast_section(
    verdict: pd.DataFrame,
    words: str,
    names: dict[str, str],
    comparison: Comparison,
    *,
    anchor: str,
) -> str:
    """One contrast: its PD control, verdict counts and sentences, forest plot and table."""
    parameters = comparison.parameters
    rows = verdict[verdict["contrast"].astype(str) == words]
    status = parameters.get("pd_status_by_contrast", {}).get(words, "")
    per_sample = _moved_table(rows, names, "treated samples")
    return h.section(
        words,
        f"<p><strong>Pharmacodynamic control: {h.esc(status)}.</strong></p>" if status else "",
        *_verdict_groups(rows, names, parameters, fold=True),
        forest(rows, words, _axis_label(rows, parameters, words)),
        "<details><summary>Verdict table of this contrast</summary>",
        _table_parts(rows, _of_contrast(comparison.competitive, words)),
        "</details>",
        f"<h3>Per-sample view</h3>{per_sample}" if per_sample else "",
        anchor=anchor,
    )


def _axis_label(
    verdict: pd.DataFrame, parameters: Mapping[str, Any], contrast: str = "treated vs control"
) -> str:
    """The forest plot's axis: the effect measure, the contrast, the interval and the scores."""
    level = f"{100 * float(parameters.get('confidence', 0.95)):g}%"
    method = parameters.get("method") or "stored scores"
    return plain(
        f"{measure_names(verdict)}, {contrast}, {level} interval; "
        f"{parameters.get('aggregate', '')} {method} scores"
    )


def _entries(custom: str) -> dict[str, Any]:
    """Row id -> its signature or abundance entry: the library's, then the record's own."""
    entries: dict[str, Any] = dict(load_library())
    entries.update({entry.id: entry for entry in load_abundance().values()})
    entries.update({s.id: s for s in signatures_from_text(custom, "the comparison record")})
    return entries


def _composition(shares: pd.DataFrame | None) -> str:
    if shares is None or shares.empty:
        return ""
    return h.section(
        "Composition",
        h.figure(
            composition_figure(shares),
            "stacked bars of compartment shares per sample",
            "Share of each sample's cells per compartment. Each compartment's share is tested "
            "between arms like a program (logit of (k + 0.5) / (n + 1), rows with kind "
            "'abundance' in the tables): a score change in a compartment whose share also "
            "changed may reflect who is there as much as what each cell does.",
        ),
    )


def _summary(verdict: pd.DataFrame, names: dict[str, str], parameters) -> str:
    status = parameters.get("pd_status", "")
    return h.section(
        "Summary",
        _sample_kind(parameters),
        f"<p><strong>Pharmacodynamic control: {h.esc(status)}.</strong></p>" if status else "",
        _run_notes(parameters),
        *_verdict_groups(verdict, names, parameters, fold=False),
    )


def _sample_kind(parameters: Mapping[str, Any]) -> str:
    """What bulk samples are (a culture, sorted cells, tissue), first in the report (HTML)."""
    context = parameters.get("bulk_context") or {}
    return f"<p><strong>Samples: {h.esc(context['description'])}.</strong></p>" if context else ""


def _run_notes(parameters: Mapping[str, Any]) -> str:
    """How the sample values were made and the run's warnings (HTML)."""
    notes = "".join(f"<li>{h.esc(note)}</li>" for note in parameters.get("notes", []))
    return f"<p>Sample values: {h.esc(aggregation_sentence(parameters))}.</p>" + (
        f"<p>Notes from this run:</p><ul>{notes}</ul>" if notes else ""
    )


def _verdict_groups(
    verdict: pd.DataFrame, names: dict[str, str], parameters, *, fold: bool
) -> list[str]:
    """Verdict counts, the common caution, then one sentence per row grouped by verdict.

    With ``fold``, only the calls (consistent, opposite) are open; the other groups
    are folded under their heading, so a design's many contrasts stay readable.
    """
    counts = verdict["verdict"].value_counts()
    overview = ", ".join(f"{n} {v}" for v, n in counts.items())
    common = _common_flags(verdict["flag"])
    reference = "reference arm" if fold else "control"
    parts = [
        f"<p>{len(verdict)} rows (programs and compartment abundances): {h.esc(overview)}.</p>",
        f"<p>Caution for most rows: {h.esc('; '.join(common))}.</p>" if common else "",
    ]
    for name in _verdict_order(verdict["verdict"]):
        rows = verdict[verdict["verdict"] == name]
        items = "".join(
            f"<li>{h.esc(_sentence(_without(row, common), names, parameters, reference))}</li>"
            for _, row in rows.iterrows()
        )
        heading = f"{h.verdict_badge(name)} {len(rows)}"
        listed = f'<ul class="summary">{items}</ul>'
        if fold and name not in ("consistent", "opposite"):
            parts.append(f'<details><summary class="group">{heading}</summary>{listed}</details>')
        else:
            parts.append(f'<h3 class="group">{heading}</h3>{listed}')
    return parts


def _sentence(row: pd.Series, names: dict[str, str], parameters, reference: str) -> str:
    """A row's summary sentence, in the row's own effect measure."""
    paired = parameters.get("design") == "paired" or bool(row.get("n_pairs") or 0)
    effect = row.get("effect_measure") or parameters.get("effect_measure", "")
    name = names[row["signature"]]
    return summary_sentence(row, name, paired=paired, effect=effect, reference=reference)


def _verdict_order(verdicts: pd.Series) -> list[str]:
    """The verdicts present, calls first (the order of :data:`VERDICT_COLORS`), then others."""
    present = list(dict.fromkeys(verdicts.astype(str)))
    return [v for v in VERDICT_COLORS if v in present] + [
        v for v in present if v not in VERDICT_COLORS
    ]


def _common_flags(flags: pd.Series) -> list[str]:
    """Flag parts carried by more than half of the rows (said once, not on every row)."""
    parts = [p for text in flags.fillna("") for p in str(text).split("; ") if p]
    counts = pd.Series(parts, dtype=object).value_counts()
    return [flag for flag, n in counts.items() if n > len(flags) / 2]


def _without(row: pd.Series, common: list[str]) -> pd.Series:
    """``row`` with the common flag parts removed from its ``flag``."""
    kept = [p for p in str(row["flag"] or "").split("; ") if p and p not in common]
    row = row.copy()
    row["flag"] = "; ".join(kept)
    return row


def _verdict_table(verdict: pd.DataFrame, competitive: pd.DataFrame | None) -> str:
    return h.section("Verdict table", _table_parts(verdict, competitive))


def _table_parts(verdict: pd.DataFrame, competitive: pd.DataFrame | None) -> str:
    """The verdict table (scrolling), with the competitive view beside each row if computed."""
    table = verdict[list(_VERDICT_COLUMNS)]
    note = ""
    if competitive is not None:
        keep = competitive[["signature", "compartment", *_COMPETITIVE_COLUMNS]]
        table = table.merge(keep, on=["signature", "compartment"], how="left")
        table = table.rename(columns=_COMPETITIVE_COLUMNS)
        note = h.paragraphs([COMPETITIVE_NOTE], "note")
    prose = ("reason", "flag", "dropped", "tested_in")
    return h.scrolling(h.table(table, {"verdict": h.verdict_badge}, prose=prose)) + note


def _evidence(
    verdict: pd.DataFrame, names: dict[str, str], entries: dict[str, Any], *, several: bool
) -> str:
    """Each tested row's expected direction with the studies behind it (linked).

    With several contrasts, the combination expectation (MEK inhibitor with checkpoint
    blockade, beyond either agent) is given too where a signature states one.
    """
    items = []
    for sid in dict.fromkeys(verdict["signature"].astype(str)):
        entry = entries.get(sid)
        if entry is None:
            continue
        combined = getattr(entry, "combination", "unclear")
        extra = (
            f"; with checkpoint blockade, beyond either agent: {h.esc(combined)}"
            f"<ul>{_studies(entry.combination_evidence)}</ul>"
            if several and combined != "unclear"
            else ""
        )
        items.append(
            f"<li><strong>{h.esc(names[sid])}</strong> ({h.esc(entry.compartment)}): expected "
            f"{h.esc(entry.expected)}<ul>{_studies(entry.evidence)}</ul>{extra}</li>"
        )
    if not items:
        return ""
    note = (
        "<p>The directions are those under MEK inhibition, read in every contrast that adds a "
        "MEK inhibitor; a contrast adding only a checkpoint inhibitor expects no change in MAPK "
        "output (a specificity check); the interaction and 'beats both' contrasts read the "
        "combination expectation where a signature states one.</p>"
        if several
        else ""
    )
    return h.section("Evidence for the expected directions", note, f"<ul>{''.join(items)}</ul>")


def _studies(evidence) -> str:
    """The studies behind an expectation as HTML list items (linked)."""
    return "".join(
        f"<li>{h.esc(e.citation)} ({_identifier(e)}; {h.esc(e.species)}, "
        f"{h.esc(e.model)}): {h.esc(e.direction)}. {h.esc(e.finding)}</li>"
        for e in evidence
    )


def _identifier(evidence) -> str:
    """The study's DOI and PubMed id as links (HTML)."""
    parts = [
        h.link(f"https://doi.org/{evidence.doi}", f"doi:{evidence.doi}") if evidence.doi else "",
        h.link(f"https://pubmed.ncbi.nlm.nih.gov/{evidence.pmid}/", f"PMID {evidence.pmid}")
        if evidence.pmid
        else "",
    ]
    return ", ".join(p for p in parts if p)


def _per_sample(verdict: pd.DataFrame, names: dict[str, str], *, paired: bool) -> str:
    """How many treated samples (pairs) moved in the expected direction, per row."""
    unit = "pairs" if paired else "treated samples"
    table = _moved_table(verdict, names, unit)
    if not table:
        return h.section("Per-sample view", "<p>No row with an expected direction was tested.</p>")
    return h.section(
        "Per-sample view",
        f"<p>Per program and compartment: how many {unit} moved in the expected direction.</p>",
        table,
    )


def _moved_table(verdict: pd.DataFrame, names: dict[str, str], unit: str) -> str:
    """Per row with an expected direction: how many of ``unit`` moved that way (or "")."""
    rows = verdict[verdict["n_moved_expected"].notna() & (verdict["n_moved_total"] > 0)]
    if rows.empty:
        return ""
    lines = []
    for _, row in rows.iterrows():
        k, n = int(row["n_moved_expected"]), int(row["n_moved_total"])
        bar = (
            f'<div style="background:#eee;width:160px"><div style="background:#0072B2;'
            f'height:0.8em;width:{100 * k / n:.0f}%"></div></div>'
        )
        lines.append(
            f"<tr><td>{h.esc(names[row['signature']])}</td><td>{h.esc(row['compartment'])}</td>"
            f"<td>{h.esc(row['expected'])}</td><td>{k} of {n} {unit}</td><td>{bar}</td>"
            f"<td>{h.verdict_badge(row['verdict'])}</td></tr>"
        )
    head = "".join(
        f"<th>{c}</th>"
        for c in ("program", "compartment", "expected", "moved as expected", "", "verdict")
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _sample_plots(
    verdict: pd.DataFrame, samples: pd.DataFrame, names: dict[str, str], *, several: bool
) -> str:
    """One box plot per program x compartment; with several contrasts, every arm in one plot."""
    if samples.empty:
        why = (
            "This comparison record holds no per-sample values for its design."
            if several
            else "No signature could be tested."
        )
        return h.section("Sample-level scores", f"<p>{why}</p>")
    present = set(zip(samples["signature"], samples["compartment"], strict=True))
    rows = verdict.drop_duplicates(["signature", "compartment"])
    figures = [
        h.figure(
            sample_figure(samples, sig, comp),
            f"{sig} ({comp}) per-sample scores",
            f"{names[sig]} ({comp})" + ("" if several else f": {verdict_}"),
        )
        for sig, comp, verdict_ in rows[["signature", "compartment", "verdict"]].itertuples(
            index=False
        )
        if (sig, comp) in present
    ]
    how = (
        "One point per sample, every arm (a sample's value is the same in each contrast; the "
        "verdicts are in the contrast sections)"
        if several
        else "One point per sample"
    )
    return h.section(
        "Sample-level scores",
        f"<p>{how}; boxes show the spread per condition (pairs joined by lines).</p>",
        f'<div class="grid">{"".join(figures)}</div>',
    )


def _statistics(verdict: pd.DataFrame, parameters: Mapping[str, Any], *, several: bool) -> str:
    tests = design_tests(verdict) if several else None
    return h.section("Statistics", h.paragraphs(statistics_note(parameters, tests=tests), "note"))


def _genes(match_report) -> str:
    if match_report is None:
        return ""
    return h.section(
        "Genes found and missing",
        h.table(genes_used_table(match_report), {"missing": h.folded_list}, prose=("missing",)),
    )


def genes_used_table(match_report: pd.DataFrame | Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """Signature, genes found of total and the missing genes.

    Accepts :func:`mekscore.genes.match_report`'s table or the ``signatures`` entry
    of the provenance that :func:`mekscore.tl.score` stores in
    ``adata.uns["mekscore"][key_added]``.

    Examples
    --------
    >>> provenance = {"s": {"genes_used": ["A", "B"], "genes_missing": ["C"]}}
    >>> genes_used_table(provenance)["found"].tolist()
    ['2 of 3']
    """
    if isinstance(match_report, pd.DataFrame):
        frame = match_report.reset_index()
        found = frame["n_found"].astype(int)
        total = frame["n_genes"].astype(int)
        missing = frame["missing"].fillna("").astype(str).str.replace(",", ", ")
        ids = frame["signature"].astype(str)
    else:
        ids = pd.Series(list(match_report), dtype=str)
        used = [list(v.get("genes_used", [])) for v in match_report.values()]
        lost = [list(v.get("genes_missing", [])) for v in match_report.values()]
        found = pd.Series([len(u) for u in used])
        total = found + pd.Series([len(m) for m in lost])
        missing = pd.Series([", ".join(map(str, m)) for m in lost], dtype=str)
    return pd.DataFrame(
        {
            "signature": ids.to_numpy(),
            "found": [f"{f} of {t}" for f, t in zip(found, total, strict=True)],
            "missing": missing.to_numpy(),
        }
    )


def _provenance(parameters: Mapping[str, Any]) -> str:
    params = pd.DataFrame(
        {"parameter": list(parameters), "value": [_plain(v) for v in parameters.values()]}
    )
    versions = pd.DataFrame(
        {
            "package": ["python", *VERSIONED],
            "version": [platform.python_version(), *map(_version, VERSIONED)],
        }
    )
    return h.section(
        "Parameters and versions",
        "<h3>Parameters</h3>",
        h.table(params),
        "<h3>Versions</h3>",
        h.table(versions),
    )


def _plain(value: Any) -> str:
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"
