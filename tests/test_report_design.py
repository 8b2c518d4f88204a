"""The report of a design with several contrasts: the design first, then each contrast alone."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import mekscore as mk
from mekscore.report import render_report
from mekscore.report._html import esc
from mekscore.tl._record import Comparison

SIGNATURES = ["mapk_output_mpas", "mhc1_apm", "tis_gep18"]


@pytest.fixture(scope="module")
def four_arm() -> Comparison:
    adata = mk.datasets.load_example_four_arm()
    design = mk.tl.Design(
        condition_key="arm",
        control="vehicle",
        agents={"cobi": ["MEKi"], "aPDL1": ["ICI"], "combo": ["MEKi", "ICI"]},
        covariates=["batch"],
    )
    mk.tl.compare(
        adata,
        design,
        sample_key="sample",
        compartment_key="cell_type",
        method="mean",
        aggregate="mean",
        signatures=SIGNATURES,
        qc=False,
    )
    return Comparison.load(adata)


@pytest.fixture(scope="module")
def html(four_arm) -> str:
    return render_report(four_arm)


def _sections(html: str) -> dict[str, str]:
    found = re.findall(r"<section[^>]*><h2>(.*?)</h2>(.*?)</section>", html, flags=re.S)
    return dict(found)


def _words(record: Comparison) -> list[str]:
    return [c["words"] for c in record.parameters["contrasts"].values()]


def test_design_first_then_overview_then_one_section_per_contrast(four_arm, html):
    words = _words(four_arm)
    titles = list(_sections(html))
    assert len(words) == 7
    assert titles[:2] == ["Study design", "Contrasts at a glance"]
    assert titles[2:9] == [esc(w) for w in words]
    assert "Summary" not in titles and "Verdict table" not in titles  # nothing mixes contrasts
    design = _sections(html)["Study design"]
    assert "Arms (obs[&#x27;arm&#x27;]): vehicle (control); cobi: MEKi; aPDL1: ICI" in design
    assert "Every contrast is adjusted for batch." in design
    assert "Samples per arm" in design and "<td>combo</td>" in design
    assert "Smallest effect each contrast can detect" in design
    detectable = four_arm.detectable
    assert design.count('<td class="num">') >= len(detectable)
    assert "<td>3.08</td>" in design or '<td class="num">3.08</td>' in design  # interaction


def test_overview_has_a_line_per_contrast_and_the_grid_as_figure_and_table(four_arm, html):
    overview = _sections(html)["Contrasts at a glance"]
    words = _words(four_arm)
    links = re.findall(r'<a href="#(contrast-\d+)">([^<]+)</a>', overview)
    assert [w for _, w in links] == [esc(w) for w in words]
    for anchor, _ in links:
        assert f'<section id="{anchor}">' in html
    status = four_arm.parameters["pd_status_by_contrast"]
    assert esc(status[words[0]]) in overview
    assert overview.count("data:image/png;base64,") == 1
    grid = overview.split("The grid as a table")[1]
    results = four_arm.results
    n_rows = len(results[["signature", "compartment"]].drop_duplicates())
    assert grid.count("<tr>") == 1 + n_rows
    assert grid.count('<span class="verdict"') == len(results)


def test_each_contrast_section_has_its_own_status_counts_forest_and_table(four_arm, html):
    sections = _sections(html)
    results = four_arm.results
    for words in _words(four_arm):
        part = sections[esc(words)]
        rows = results[results["contrast"] == words]
        status = four_arm.parameters["pd_status_by_contrast"][words]
        assert f"Pharmacodynamic control: {esc(status)}." in part
        assert f"{len(rows)} rows (programs and compartment abundances)" in part
        assert part.count("data:image/png;base64,") == 1  # its forest plot
        assert part.count("<li>") == len(rows)  # one sentence per row of this contrast only
        table = part.split("Verdict table of this contrast")[1].split("</details>")[0]
        assert table.count("<tr>") == 1 + len(rows)


def test_sample_plots_show_each_program_once_with_every_arm(four_arm, html):
    plots = _sections(html)["Sample-level scores"]
    present = four_arm.samples[["signature", "compartment"]].drop_duplicates()
    assert plots.count("<figure>") == len(present)
    assert "every arm" in plots


def test_contrast_words_and_labels_are_escaped(four_arm):
    nasty = '<b>combo</b> $x$ vs "vehicle"'
    first = _words(four_arm)[0]
    results = four_arm.results.replace({"contrast": {first: nasty}})
    status = dict(four_arm.parameters["pd_status_by_contrast"])
    status[nasty] = status.pop(first)
    record = replace(
        four_arm,
        results=results[results["signature"] == "mhc1_apm"],
        samples=four_arm.samples.iloc[:0],
        parameters={**four_arm.parameters, "pd_status_by_contrast": status},
    )
    html = render_report(record)
    assert "<b>combo" not in html
    assert "<h2>&lt;b&gt;combo&lt;/b&gt; $x$ vs &quot;vehicle&quot;</h2>" in html
    assert "holds no per-sample values" in html


def test_a_two_arm_record_with_a_contrast_column_keeps_the_two_arm_layout():
    adata = mk.datasets.load_example_scrna()
    verdict = mk.tl.compare(
        adata,
        condition_key="condition",
        control="vehicle",
        treated="trametinib",
        sample_key="sample",
        compartment_key="cell_type",
        method="mean",
        aggregate="mean",
        signatures=SIGNATURES[:2],
        qc=False,
        composition=False,
    )
    titles = list(_sections(render_report(Comparison.load(adata))))
    assert titles[:3] == ["Summary", "Expected vs observed effect sizes", "Verdict table"]
    assert "Study design" not in titles and "Contrasts at a glance" not in titles
    assert verdict.get("contrast", pd.Series(["one"])).nunique() == 1
    assert np.isfinite(verdict["effect_size"]).any()
