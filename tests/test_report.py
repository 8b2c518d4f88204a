"""The HTML report: self-contained, escaped, one sentence per program, real figures."""

from __future__ import annotations

import base64
import io
import re

import anndata as ad
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

import mekscore as mk
from mekscore.errors import InputError
from mekscore.genes import match_report, match_signatures
from mekscore.report import genes_used_table, render_report
from mekscore.report._text import summary_sentence
from mekscore.sig import get
from mekscore.tl._record import Comparison

PARAMS = {
    "design": "unpaired",
    "test": "welch",
    "control": "vehicle",
    "treated": "trametinib",
    "alpha": 0.05,
    "min_cells": 10,
    "confidence": 0.95,
    "effect_measure": "hedges_g_av",
    "pd_status": "confirmed (mapk_output_mpas in tumor down, q = 0.001)",
}


def _row(**kw) -> dict:
    row = dict(
        signature="mhc1_apm",
        compartment="tumor",
        tested_in="Tumor",
        expected="up",
        observed="up",
        n_control=4,
        n_treated=4,
        n_pairs=0,
        difference=0.9,
        effect_size=1.83,
        ci_low=0.41,
        ci_high=3.1,
        p_value=0.002,
        q_value=0.012,
        verdict="consistent",
        effect_measure="hedges_g_av",
        family="directional",
        dropped="",
        reason="q = 0.012 <= 0.05",
        n_moved_expected=4,
        n_moved_total=4,
        isolated=True,
        flag="",
    )
    row.update(kw)
    return row


def _tables():
    verdict = pd.DataFrame(
        [
            _row(),
            _row(
                signature="mapk_output_mpas",
                expected="down",
                observed="down",
                effect_size=-2.5,
                ci_low=-4.0,
                ci_high=-1.0,
                n_moved_expected=3,
            ),
            _row(
                signature="nk_activation",
                compartment="nk",
                tested_in="NK",
                expected="mixed",
                observed="",
                effect_size=np.nan,
                ci_low=np.nan,
                ci_high=np.nan,
                p_value=np.nan,
                q_value=np.nan,
                verdict="not testable",
                reason="too few samples per arm <n_control=1>",
                n_moved_expected=pd.NA,
                n_moved_total=0,
            ),
        ]
    )
    verdict["n_moved_expected"] = verdict["n_moved_expected"].astype("Int64")
    rows = []
    for sig in ("mhc1_apm", "mapk_output_mpas"):
        for i in range(4):
            rows.append((sig, "tumor", f"veh{i}", "vehicle", 0.1 * i))
            rows.append((sig, "tumor", f"tram{i}", "trametinib", 1 + 0.1 * i))
    samples = pd.DataFrame(
        rows, columns=["signature", "compartment", "sample", "condition", "score"]
    )
    samples["pair"] = ""
    return verdict, samples


def _images(html: str) -> list[np.ndarray]:
    found = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    return [mpimg.imread(io.BytesIO(base64.b64decode(b)), format="png") for b in found]


def test_summary_sentence_unpaired_and_paired():
    assert summary_sentence(
        _row(), "MHC-I antigen presentation", paired=False, effect="hedges_g_av"
    ) == (
        "MHC-I antigen presentation (tumor): expected up; observed up, "
        "Hedges' g*_s 1.8 [0.41, 3.1], q = 0.012 → consistent; "
        "4 of 4 treated samples above the control mean."
    )
    paired = _row(
        expected="down",
        observed="down",
        effect_size=-2.0,
        ci_low=-3.0,
        ci_high=-1.0,
        n_moved_expected=3,
        n_moved_total=4,
        flag="compartment not isolated (bulk)",
    )
    assert summary_sentence(paired, "MPAS", paired=True, effect="hedges_g_z") == (
        "MPAS (tumor): expected down; observed down, Hedges' g_z -2 [-3, -1], q = 0.012 → "
        "consistent; 3 of 4 pairs decreased. Caution: compartment not isolated (bulk)."
    )


def _record(verdict, samples, **parts) -> Comparison:
    return Comparison(
        parameters=parts.pop("parameters", PARAMS), results=verdict, samples=samples, **parts
    )


def test_summary_sentence_not_testable_gives_the_reason():
    row = _tables()[0].iloc[2].to_dict()
    assert summary_sentence(row, "NK", paired=False, effect="hedges_g") == (
        "NK (nk): expected mixed; not testable: too few samples per arm <n_control=1>."
    )


def test_report_is_self_contained_and_escaped():
    verdict, samples = _tables()
    verdict.loc[0, "reason"] = '<script>alert("x")</script>'
    html = render_report(_record(verdict, samples))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert not re.search(r'src="(https?:)?//', html)  # links to DOIs, but no external resources
    assert "<link" not in html
    images = _images(html)
    assert len(images) == 2 + 2  # forest plot, verdict grid, one per tested signature
    assert all(img.ndim == 3 and min(img.shape[:2]) > 100 for img in images)
    assert "4 of 4 treated samples above the control mean" in html
    assert "3 of 4 treated samples below the control mean" in html
    assert "The replicate is the sample" in html
    assert "Welch&#x27;s t-test" in html
    for package in ("mekscore", "scanpy", "anndata", "numpy"):
        assert f"<td>{package}</td>" in html
    summary = html.split("<h2>Summary</h2>")[1].split("</section>")[0]
    assert summary.count("<li>") == len(verdict)
    groups = re.findall(r'<h3 class="group"><span[^>]*>([^<]+)</span> (\d+)</h3>', summary)
    assert groups == [("consistent", "2"), ("not testable", "1")]  # grouped, calls first


def test_competitive_view_is_shown_next_to_the_verdict():
    verdict, samples = _tables()
    competitive = pd.DataFrame(
        {"signature": ["mhc1_apm"], "compartment": ["tumor"], "nes": [1.91], "fdr": [0.004]}
    )
    html = render_report(_record(verdict, samples, competitive=competitive))
    assert "<th>competitive NES</th>" in html and ">1.91<" in html
    assert "do the signature&#x27;s genes change more than the other genes" in html


def test_genes_used_table_from_provenance_and_from_match_report():
    provenance = {"mhc1_apm": {"genes_used": np.array(["B2M", "HLA-A"]), "genes_missing": ["TAP1"]}}
    assert genes_used_table(provenance).to_dict("list") == {
        "signature": ["mhc1_apm"],
        "found": ["2 of 3"],
        "missing": ["TAP1"],
    }
    sig = get("mhc1_apm")
    present = list(sig.up[:-2])
    matches, _ = match_signatures([sig], present, "human")
    table = genes_used_table(match_report(matches))
    assert table.loc[0, "found"] == f"{len(present)} of {len(sig.up)}"
    assert table.loc[0, "missing"] == ", ".join(sig.up[-2:])


def test_write_is_atomic_and_refuses_to_overwrite(tmp_path):
    verdict, samples = _tables()
    adata = ad.AnnData(np.zeros((2, 2)))
    _record(verdict, samples).store(adata, "mekscore_compare")
    out = tmp_path / "report.html"
    assert mk.report.write(adata, out) == out
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    with pytest.raises(InputError, match="exists; pass force=True"):
        mk.report.write(adata, out)
    _record(verdict, samples, parameters=dict(PARAMS, test="mannwhitney")).store(adata, "other")
    mk.report.write(adata, out, "other", force=True)
    assert "Mann-Whitney" in out.read_text(encoding="utf-8")


def test_bad_verdict_table_is_refused():
    verdict, samples = _tables()
    with pytest.raises(InputError, match="lacks column.*q_value"):
        render_report(_record(verdict.drop(columns="q_value"), samples))


def test_report_shows_evidence_scrolls_wide_tables_and_says_a_common_caution_once():
    verdict, samples = _tables()
    verdict["flag"] = "PD not confirmed"
    verdict.loc[0, "flag"] = "PD not confirmed; compartment not isolated (bulk)"
    html = render_report(_record(verdict, samples))
    assert "Evidence for the expected directions" in html
    assert (
        '<a href="https://doi.org/10.1158/2326-6066.CIR-16-0177" target="_blank" '
        'rel="noopener">doi:10.1158/2326-6066.CIR-16-0177</a>'
    ) in html  # mhc1_apm's evidence, linked
    assert 'class="scroll"' in html and "position: sticky" in html
    assert html.count("Caution for most rows: PD not confirmed") == 1
    assert "Caution: compartment not isolated (bulk)." in html  # the row's own flag stays
    assert html.count("Caution: PD not confirmed") == 0


def test_labels_with_mathtext_are_drawn_literally():
    verdict, samples = _tables()
    verdict.loc[0, "signature"] = "A$_{$B"
    samples.loc[samples["signature"] == "mhc1_apm", "signature"] = "A$_{$B"
    samples["sample"] = samples["sample"].str.replace("veh1", "veh1$_{$")
    samples["condition"] = samples["condition"].str.replace("vehicle", "veh$_{$")
    html = render_report(_record(verdict, samples))
    assert len(_images(html)) == 4 and "A$_{$B (tumor)" in html


def test_long_gene_lists_fold_and_sentences_keep_their_width():
    verdict, samples = _tables()
    missing = [f"GENE{i}" for i in range(90)]
    genes = {"progeny_mapk": {"genes_used": ["EGR1"] * 10, "genes_missing": missing}}
    html = render_report(_record(verdict, samples, genes=genes))
    assert "<details><summary>90 genes: GENE0, GENE1" in html
    assert '<th class="prose">reason</th>' in html and "td.prose" in html


def test_a_users_yaml_signature_brings_its_name_and_evidence(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "id: my_mapk\nname: My MAPK output\ngenes: {up: [DUSP6, SPRY4, ETV5]}\n"
        "compartment: tumor\nexpected:\n  direction: down\n  evidence:\n"
        "    - {citation: Pratilas 2009, doi: 10.1073/pnas.0900780106, species: human,\n"
        "       model: cell lines, direction: down, finding: MEK output genes fall}\n"
    )
    verdict, samples = _tables()
    verdict.loc[0, "signature"] = "my_mapk"
    custom = mk.sig.yaml_text(mk.sig.read_yaml(path))
    html = render_report(_record(verdict, samples, signatures=custom))
    assert "My MAPK output (tumor)" in html and "Pratilas 2009" in html
    assert 'href="https://doi.org/10.1073/pnas.0900780106"' in html
