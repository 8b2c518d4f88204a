"""``mekscore demo``: the whole pipeline on the bundled example data, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from mekscore.cli import main
from mekscore.cli.compare import OUTPUTS
from mekscore.cli.demo import BULK_FOLDER

PLANTED = {  # example_data/README.md: planted effects, all in the expected direction
    "single-cell": [
        ("mapk_output_mpas", "tumor"),
        ("mhc1_apm", "tumor"),
        ("tumor_myeloid_secretome", "tumor"),
        ("tcr_erk_activation", "cd8_t"),
        ("mdsc_suppressive", "myeloid"),
        ("cd8_stem_memory", "cd8_t"),
    ],
    "bulk": [("mapk_output_mpas", "tumor"), ("mhc1_apm", "tumor")],
}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "demo_output"
    result = subprocess.run(
        [sys.executable, "-m", "mekscore", "demo", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return out, result


@pytest.mark.slow
@pytest.mark.parametrize("design", ["single-cell", "bulk"])
def test_demo_writes_every_output(demo_run, design):
    out, _ = demo_run
    folder = out if design == "single-cell" else out / BULK_FOLDER
    for name in OUTPUTS:
        assert (folder / name).stat().st_size > 0, name
    table = pd.read_csv(folder / "verdict.csv")
    payload = json.loads((folder / "verdict.json").read_text())
    assert len(payload["results"]) == len(table) > 0
    assert payload["parameters"]["design"] == ("unpaired" if design == "single-cell" else "paired")
    assert (folder / "report.html").read_text().lstrip().lower().startswith("<!doctype html")


@pytest.mark.slow
@pytest.mark.parametrize("design", ["single-cell", "bulk"])
def test_demo_finds_the_planted_effects(demo_run, design):
    out, _ = demo_run
    folder = out if design == "single-cell" else out / BULK_FOLDER
    table = pd.read_csv(folder / "verdict.csv").set_index(["signature", "compartment"])
    for key in PLANTED[design]:
        assert table.loc[key, "verdict"] == "consistent", key


@pytest.mark.slow
def test_demo_prints_where_the_reports_are(demo_run):
    out, result = demo_run
    assert str(out / "report.html") in result.stdout
    assert str(out / BULK_FOLDER / "report.html") in result.stdout
    assert "mapk_output_mpas" in result.stdout


def test_demo_refuses_a_non_empty_output_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = CliRunner().invoke(main, ["demo", "-o", str(tmp_path)])
    assert result.exit_code == 2
    assert "--force" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_demo_refuses_an_unwritable_output_before_any_work():
    result = CliRunner().invoke(main, ["demo", "-o", "/sys/mekscore-demo"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: cannot write to folder /sys (Permission denied); choose another output location\n"
    )
