"""``mekscore compare`` end to end on simulated single-cell and bulk studies."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from mekscore.cli import main
from mekscore.cli.compare import parse_compartment_map
from mekscore.datasets._simulate import simulate_study
from mekscore.errors import InputError
from mekscore.tl._compare import COLUMNS

BASE = [
    "--condition-key",
    "condition",
    "--control",
    "vehicle",
    "--treated",
    "trametinib",
    "--sample-key",
    "sample",
]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mekscore", "compare", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    adata = simulate_study(
        seed=0, n_genes=600, n_cells_mean=120, n_samples_per_arm=5, sample_sd=0.25
    )
    adata.write_h5ad(folder / "sc.h5ad")
    bulk = simulate_study(seed=1, n_genes=600, n_cells_mean=120, paired=True, bulk=True)
    bulk.to_df().T.to_csv(folder / "bulk.csv")
    bulk.obs.to_csv(folder / "sheet.csv", index=False)
    return folder


def _check_outputs(out, *, paired: bool) -> dict:
    assert sorted(p.name for p in out.iterdir()) == [
        "report.html",
        "samples.csv",
        "verdict.csv",
        "verdict.json",
    ]
    payload = json.loads((out / "verdict.json").read_text())
    assert set(payload) == {"parameters", "results"}
    assert payload["parameters"]["design"] == ("paired" if paired else "unpaired")
    assert payload["results"] and all(set(COLUMNS) <= set(row) for row in payload["results"])
    table = pd.read_csv(out / "verdict.csv")
    assert list(table.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert len(table) == len(payload["results"])
    samples = pd.read_csv(out / "samples.csv")
    assert {"signature", "compartment", "sample", "condition", "score"} <= set(samples.columns)
    assert set(samples["condition"]) == {"vehicle", "trametinib"}
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    assert 'src="http' not in html and "<link" not in html and "<script" not in html
    return payload


def test_single_cell_h5ad(study, tmp_path):
    out = tmp_path / "out"
    result = run(
        study / "sc.h5ad",
        "-o",
        out,
        *BASE,
        "--compartment-key",
        "cell_type",
        "--compartment-map",
        "cd4_t=CD4 T,Treg",
        "--method",
        "mean",
    )
    assert result.returncode == 0, result.stderr
    payload = _check_outputs(out, paired=False)
    rows = {(r["signature"], r["compartment"]): r for r in payload["results"]}
    assert rows[("mhc1_apm", "tumor")]["verdict"] == "consistent"  # planted 1.5-fold up
    assert rows[("treg_core", "cd4_t")]["tested_in"] == "CD4 T, Treg"
    # refuses to write into the now non-empty folder without --force
    again = run(study / "sc.h5ad", "-o", out, *BASE, "--method", "mean")
    assert again.returncode == 2 and again.stderr.strip().splitlines()[-1].startswith("error:")
    assert "--force" in again.stderr


def test_single_cell_pseudobulk(study, tmp_path):
    out = tmp_path / "out"
    result = run(
        study / "sc.h5ad",
        "-o",
        out,
        *BASE,
        "--compartment-key",
        "cell_type",
        "--aggregate",
        "pseudobulk",
        "--method",
        "mean",
    )
    assert result.returncode == 0, result.stderr
    payload = _check_outputs(out, paired=False)
    assert payload["parameters"]["aggregate"] == "pseudobulk"
    rows = {(r["signature"], r["compartment"]): r for r in payload["results"]}
    assert rows[("mapk_output_mpas", "tumor")]["verdict"] == "consistent"  # planted 0.5-fold


def test_bulk_table_with_sample_sheet_paired(study, tmp_path):
    out = tmp_path / "out"
    result = run(
        study / "bulk.csv",
        "--samples",
        study / "sheet.csv",
        "-o",
        out,
        *BASE,
        "--pair-key",
        "patient",
        "--method",
        "mean",
        "--test",
        "paired-t",
    )
    assert result.returncode == 0, result.stderr
    payload = _check_outputs(out, paired=True)
    assert payload["parameters"]["test"] == "paired-t"
    assert all(r["n_pairs"] == 4 for r in payload["results"] if r["verdict"] != "not testable")
    assert any(line.startswith("pharmacodynamic control: ") for line in result.stderr.splitlines())
    rank = tmp_path / "rank"
    result = run(
        study / "bulk.csv",
        "--samples",
        study / "sheet.csv",
        "-o",
        rank,
        *BASE,
        "--pair-key",
        "patient",
        "--method",
        "mean",
        "--test",
        "wilcoxon",
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads((rank / "verdict.json").read_text())["results"]
    assert {r["reason"] for r in rows} == {"n too small for wilcoxon (minimum p = 0.125)"}
    assert pd.read_csv(rank / "samples.csv").empty  # a header, no rows
    assert "compartment not isolated" in (out / "report.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--control", "placebo"], "label 'placebo' not found"),
        (["--sample-key", "donor"], "'donor'"),
        (["--compartment-key", "cell_type", "--compartment-map", "tumor"], "COMPARTMENT=label"),
        (
            ["--compartment-key", "cell_type", "--compartment-map", "lung=Tumor"],
            "unknown compartment",
        ),
        (["--compartment-map", "tumor=Tumor"], "needs --compartment-key"),
        (
            ["--compartment-key", "cell_type", "--compartment-map", "tumor=Tumour"],
            "label(s) 'Tumour' not found in the cell-type column (labels: B, CD4 T",
        ),
        (["--pair-key", "sample", "--test", "welch"], "use one of paired-t, wilcoxon"),
    ],
)
def test_bad_options_exit_2_with_one_line(study, tmp_path, extra, message):
    args = [str(study / "sc.h5ad"), "-o", str(tmp_path / "out"), *BASE, *extra, "--method", "mean"]
    result = CliRunner().invoke(main, ["compare", *args])
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert not (tmp_path / "out").exists()


def test_table_without_sample_sheet_is_refused(study, tmp_path):
    args = [str(study / "bulk.csv"), "-o", str(tmp_path / "out"), *BASE]
    result = CliRunner().invoke(main, ["compare", *args])
    assert result.exit_code == 2 and "needs --samples" in result.stderr


def test_parse_compartment_map():
    assert parse_compartment_map("tumor=Malignant, Epithelial;cd8_t=CD8 T;", "ct") == {
        "tumor": ["Malignant", "Epithelial"],
        "cd8_t": ["CD8 T"],
    }
    assert parse_compartment_map(None, None) is None
    for bad, message in [
        ("tumor=", "COMPARTMENT=label"),
        ("=A", "COMPARTMENT=label"),
        ("tumor=A;tumor=B", "twice"),
        (" ; ", "empty"),
    ]:
        with pytest.raises(InputError, match=message):
            parse_compartment_map(bad, "ct")


def test_alpha_outside_zero_one_is_a_usage_error(study, tmp_path):
    args = [str(study / "sc.h5ad"), "-o", str(tmp_path / "out"), *BASE, "--alpha", "5"]
    result = CliRunner().invoke(main, ["compare", *args])
    assert result.exit_code == 2 and "--alpha" in result.stderr
    assert not (tmp_path / "out").exists()


def test_sample_sheet_may_list_a_subset_of_the_table(study, tmp_path):
    sheet = pd.read_csv(study / "sheet.csv")
    subset = sheet[sheet["patient"] != "P04"]
    subset.to_csv(tmp_path / "subset.csv", index=False)
    out = tmp_path / "out"
    result = run(
        study / "bulk.csv",
        "--samples",
        tmp_path / "subset.csv",
        "-o",
        out,
        *BASE,
        "--pair-key",
        "patient",
        "--method",
        "mean",
    )
    assert result.returncode == 0, result.stderr
    assert "note: 2 table column(s) not in subset.csv were left out" in result.stderr
    rows = json.loads((out / "verdict.json").read_text())["results"]
    assert {r["n_pairs"] for r in rows if r["verdict"] != "not testable"} == {3}


def test_methods_writes_each_methods_verdict_and_the_consensus(study, tmp_path):
    out = tmp_path / "out"
    result = run(
        study / "bulk.csv",
        "--samples",
        study / "sheet.csv",
        "-o",
        out,
        *BASE,
        "--pair-key",
        "patient",
        "--methods",
        "singscore,zscore",
    )
    assert result.returncode == 0, result.stderr
    assert "note: methods singscore, zscore:" in result.stderr
    table = pd.read_csv(out / "methods.csv")
    assert {"verdict_singscore", "verdict_zscore", "consensus"} <= set(table.columns)
    agree = table["verdict_singscore"] == table["verdict_zscore"]
    assert (table.loc[agree, "consensus"] == table.loc[agree, "verdict_singscore"]).all()
    assert (table.loc[~agree, "consensus"] == "method-dependent").all()
    both = run(
        study / "bulk.csv",
        "--samples",
        study / "sheet.csv",
        "-o",
        tmp_path / "x",
        *BASE,
        "--method",
        "mean",
        "--methods",
        "singscore,zscore",
    )
    assert both.returncode == 2 and "exclude each other" in both.stderr
