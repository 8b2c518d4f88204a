"""``mekscore signatures list/show/export`` through the real command (``python -m mekscore``)."""

from __future__ import annotations

import io
import subprocess
import sys

import pandas as pd
from click.testing import CliRunner

from mekscore.cli import main
from mekscore.sig import from_gmt, get, gmt_lines, load_library, read_yaml


def mekscore(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mekscore", *args], capture_output=True, text=True, cwd=cwd
    )


def test_help_lists_the_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "signatures" in result.stdout and "score" in result.stdout


def test_list_tsv_has_one_row_per_library_signature():
    run = mekscore("signatures", "list", "--tsv")
    assert run.returncode == 0, run.stderr
    table = pd.read_csv(io.StringIO(run.stdout), sep="\t")
    lib = load_library()
    assert sorted(table["id"]) == sorted(lib)
    row = table.set_index("id").loc["mhc1_apm"]
    sig = lib["mhc1_apm"]
    assert (row["compartment"], row["expected"], row["n_up"], row["n_down"]) == (
        sig.compartment,
        sig.expected,
        len(sig.up),
        len(sig.down),
    )
    assert row["source"] == sig.source["type"]


def test_show_prints_genes_mouse_genes_and_evidence():
    run = mekscore("signatures", "show", "mhc1_apm")
    assert run.returncode == 0, run.stderr
    sig = get("mhc1_apm")
    assert " ".join(sig.up) in run.stdout
    assert "HLA-A->H2-K1,H2-D1" in run.stdout and "ERAP2->none" in run.stdout
    assert sig.mouse_notes["ERAP2"] in run.stdout
    for ev in sig.evidence:
        assert ev.citation in run.stdout
        assert (ev.pmid or ev.doi) in run.stdout


def test_export_stdout_is_the_library_as_gmt(tmp_path):
    run = mekscore("signatures", "export")
    assert run.returncode == 0, run.stderr
    sigs = sorted(load_library().values(), key=lambda s: s.id)
    assert run.stdout.splitlines() == gmt_lines(sigs)
    path = tmp_path / "lib.gmt"
    path.write_text(run.stdout)
    back = {s.id: (s.up, s.down) for s in from_gmt(path)}
    assert back == {s.id: (s.up, s.down) for s in sigs}


def test_export_mouse_to_file_is_atomic_and_refuses_overwrite(tmp_path):
    out = tmp_path / "mouse.gmt"
    run = mekscore(
        "signatures", "export", "mhc1_apm", "treg_core", "--species", "mouse", "-o", str(out)
    )
    assert run.returncode == 0, run.stderr
    assert out.read_text().splitlines() == gmt_lines(
        [get("mhc1_apm"), get("treg_core")], species="mouse"
    )
    assert "H2-K1" in out.read_text()
    again = CliRunner().invoke(main, ["signatures", "export", "-o", str(out)])
    assert again.exit_code == 2
    assert again.stderr == f"error: output {out} exists; pass --force to overwrite\n"
    assert [p.name for p in tmp_path.iterdir()] == ["mouse.gmt"]
    forced = CliRunner().invoke(main, ["signatures", "export", "-o", str(out), "--force", "-q"])
    assert forced.exit_code == 0 and forced.stderr == ""
    assert len(out.read_text().splitlines()) == len(gmt_lines(load_library().values()))


def test_unknown_id_is_one_line_exit_2():
    run = mekscore("signatures", "show", "no_such_sig")
    assert run.returncode == 2
    assert run.stderr.startswith("error: unknown signature id 'no_such_sig'; run `mekscore")
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    export = CliRunner().invoke(main, ["signatures", "export", "mhc1_apm", "no_such_sig"])
    assert export.exit_code == 2 and export.stdout == ""
    assert export.stderr.startswith("error: unknown signature id 'no_such_sig'")


def test_export_by_extension_keeps_weights_in_yaml_and_warns_in_gmt(tmp_path):
    yaml_out, gmt_out = tmp_path / "lib.yaml", tmp_path / "two.gmt"
    assert CliRunner().invoke(main, ["signatures", "export", "-o", str(yaml_out)]).exit_code == 0
    back = read_yaml(yaml_out)
    assert {s.id: s for s in back} == load_library()  # weights, compartment, evidence kept
    gmt = CliRunner().invoke(main, ["signatures", "export", "tis_gep18", "-o", str(gmt_out)])
    assert gmt.exit_code == 0
    assert "warning: GMT has no gene weights, so those of tis_gep18 are left out" in gmt.stderr
    for args, message in (
        (["-o", str(tmp_path / "x.txt")], "cannot tell the format of x.txt"),
        (["--species", "mouse", "-o", str(tmp_path / "m.yml")], "--species mouse writes GMT"),
        (["-o", "/sys/lib.gmt"], "cannot write to folder /sys"),
    ):
        bad = CliRunner().invoke(main, ["signatures", "export", *args])
        assert bad.exit_code == 2 and bad.stderr.count("\n") == 1, bad.stderr
        assert bad.stderr.startswith("error: ") and message in bad.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.yaml", "two.gmt"]
