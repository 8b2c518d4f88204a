"""``mekscore score``: real subprocess runs on the reference files, plus in-process edge cases."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from click.testing import CliRunner

import mekscore as mk
from mekscore.cli import main
from mekscore.errors import InputError
from mekscore.genes import match_signatures
from mekscore.io import read_input
from mekscore.methods import METHOD_NAMES, default_method, method_info
from mekscore.sig import resolve

from .conftest import reference_path

COMMAND = [sys.executable, "-m", "mekscore", "score"]


def mekscore_score(*args) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *map(str, args)], capture_output=True, text=True)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_clean_success(run: subprocess.CompletedProcess) -> None:
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    assert "Scored " in run.stderr and "Wrote " in run.stderr


# --- happy paths (subprocess) ------------------------------------------------------------


def test_h5ad_to_h5ad_scores_raw_and_leaves_input_untouched(tmp_path):
    src = reference_path("pbmc68k_reduced_scanpy.h5ad")
    before = digest(src)
    out = tmp_path / "scored.h5ad"
    run = mekscore_score(src, "-o", out, "--method", "mean", "--use-raw")
    assert_clean_success(run)
    assert "warning: signature 'checkpoint_ligands' skipped" in run.stderr
    assert digest(src) == before
    scored = ad.read_h5ad(out)
    original = ad.read_h5ad(src)
    np.testing.assert_array_equal(scored.X, original.X)  # the scaled X is kept
    assert {"X_pca", "X_umap", "mekscore_mean"} <= set(scored.obsm)
    raw = original.raw.to_adata()
    expected = mk.tl.score(raw, "all", "mean", inplace=False)
    pd.testing.assert_frame_equal(scored.obsm["mekscore_mean"], expected)
    prov = scored.uns["mekscore"]["mekscore_mean"]
    assert prov["cli"]["matrix"] == "raw.X" and prov["cli"]["preprocessing"] == "none"
    assert bool(prov["signatures"]["mhc2_presentation"]["scored"]) is True
    assert [p.name for p in tmp_path.iterdir()] == ["scored.h5ad"]


def test_raw_counts_are_normalised_with_a_warning(tmp_path):
    src = reference_path("wu2020_tcells_200cells_scirpy.h5ad")
    out = tmp_path / "scores.csv"
    run = mekscore_score(src, "-o", out, "--method", "mean", "-s", "cd8_tex_terminal,treg_core")
    assert_clean_success(run)
    assert (
        "warning: the X matrix looks like raw counts and method 'mean' expects log data: "
        "scoring log1p(CP10k) of it"
    ) in " ".join(run.stderr.split())
    assert "--log-normalize never" in run.stderr and "log_normalize=False" not in run.stderr
    counts = ad.read_h5ad(src)
    sigs = ["cd8_tex_terminal", "treg_core"]
    got = pd.read_csv(out, index_col=0)
    same_api = mk.tl.score(counts.copy(), sigs, "mean", inplace=False)  # the same front door
    np.testing.assert_allclose(got.to_numpy(), same_api.to_numpy(), rtol=1e-12, atol=1e-12)
    sc.pp.normalize_total(counts, target_sum=1e4)  # float32, as scanpy keeps it
    sc.pp.log1p(counts)
    expected = mk.tl.score(counts, sigs, "mean", inplace=False)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-6)
    assert got.index.tolist() == counts.obs_names.tolist()


@pytest.mark.contract
def test_gct_to_tsv_matches_gsva_ssgsea(tmp_path):
    """P53 GCT x Hallmark GMT through the command vs Bioconductor GSVA 1.46 ssGSEA."""
    gct = reference_path("ssgsea_genepattern", "P53_14samples_collapsed_symbols.gct")
    gmt = reference_path("h.all.v7.0.symbols.gmt")
    ref_file = reference_path("gsva_reference_generated", "ssgsea_nonorm_rawinput.tsv")
    out = tmp_path / "scores.tsv"
    run = mekscore_score(
        gct, "-o", out, "-m", "ssgsea", "--no-normalize", "-s", gmt, "--min-genes", 1
    )
    assert_clean_success(run)
    got = pd.read_csv(out, sep="\t", index_col=0)
    reference = pd.read_csv(ref_file, sep="\t", index_col=0).T
    # the two _UP/_DN pairs (KRAS signalling, UV response) are read as signed signatures
    assert got.shape == (14, 48) and got.index.tolist() == reference.index.tolist()
    assert {"HALLMARK_KRAS_SIGNALING", "HALLMARK_UV_RESPONSE"} <= set(got.columns)
    # GSVA matches symbols exactly; mekscore also rescues old symbols (VEGF -> VEGFA), so
    # only the sets found without an alias must equal the reference.
    genes = read_input(gct).var_names
    matches, _ = match_signatures(resolve(str(gmt)), genes)
    exact = [m.signature.id for m in matches if set(m.how.values()) == {"symbol"}]
    # every approved symbol's old names are known, so one set needs none (all 50 sets
    # are compared literally, with aliases=False, in tests/test_score.py)
    assert exact == ["HALLMARK_TGF_BETA_SIGNALING"]
    err = np.abs(got[exact].to_numpy() - reference[exact].to_numpy()).max()
    assert err < 1e-9, err


def test_table_to_parquet_with_a_method_parameter(tmp_path):
    csv = reference_path("singscore", "singscore_tgfb_expr_10.csv")
    gmt = reference_path("singscore", "singscore_tgfb_gs.gmt")
    out = tmp_path / "scores.parquet"
    run = mekscore_score(csv, "-o", out, "--method", "ucell", "--max-rank", 500, "-s", gmt)
    assert_clean_success(run)
    got = pd.read_parquet(out)
    expected = mk.tl.score(read_input(csv), str(gmt), "ucell", max_rank=500, inplace=False)
    pd.testing.assert_frame_equal(got, expected.rename_axis("obs"), check_exact=False, rtol=1e-12)


# --- bad inputs (subprocess, run concurrently) -------------------------------------------

GOOD_TABLE = "gene,s1,s2,s3\n" + "".join(
    f"{g},{i + 1.5},{i * 2.0},{i + 0.25}\n"
    for i, g in enumerate(["CD8A", "GZMB", "PRF1", "NKG7", "GZMA", "HLA-A", "B2M", "TAP1"])
)


def _write_inputs(folder: Path) -> dict[str, Path]:
    files = {
        "table": folder / "expr.csv",
        "fake_h5ad": folder / "fake.h5ad",
        "binary_gmt": folder / "sets.gmt",
        "no_overlap": folder / "genes.csv",
        "nan": folder / "nan.csv",
        "empty": folder / "empty.csv",
        "somefile": folder / "somefile.txt",
    }
    files["table"].write_text(GOOD_TABLE)
    files["fake_h5ad"].write_text(GOOD_TABLE)
    files["binary_gmt"].write_bytes(b"\x89HDF\r\n\x1a\n\x00\xff\xfe" * 20)
    files["no_overlap"].write_text("gene,s1,s2\nGENE1,1,2\nGENE2,3,4\nGENE3,5,6\n")
    files["nan"].write_text(GOOD_TABLE.replace("GZMB,2.5,", "GZMB,,"))
    files["empty"].write_text("")
    files["somefile"].write_text("not a folder")
    return files


ERROR_CASES = {
    # name: (arguments given the input files and the output folder, expected message part)
    "missing_file": (lambda f, o: [o / "absent.h5ad", "-o", o / "x.csv"], "input file not found:"),
    "text_named_h5ad": (
        lambda f, o: [f["fake_h5ad"], "-o", o / "x.csv"],
        "fake.h5ad is not a valid .h5ad file (not an HDF5 file)",
    ),
    "unknown_method": (
        lambda f, o: [f["table"], "-o", o / "x.csv", "-m", "magic"],
        "Invalid value for '-m' / '--method': 'magic' is not one of 'ucell', 'aucell'",
    ),
    "unknown_signature": (
        lambda f, o: [f["table"], "-o", o / "x.csv", "-s", "mhc1_apm,no_such_sig"],
        "unknown signature id 'no_such_sig'; run `mekscore signatures list`",
    ),
    "unreadable_gmt": (
        lambda f, o: [f["table"], "-o", o / "x.csv", "-s", f["binary_gmt"]],
        "sets.gmt is not a text GMT file (not UTF-8)",
    ),
    "no_overlapping_genes": (
        lambda f, o: [f["no_overlap"], "-o", o / "x.csv", "-m", "ssgsea"],
        "no signature has at least 3 of its genes in the data (3 genes, e.g. GENE1, GENE2, GENE3); "
        "if the gene names are IDs name the column of symbols with --gene-symbols, or set "
        "--species (human or mouse)",
    ),
    "nan_values": (
        lambda f, o: [f["nan"], "-o", o / "x.csv", "-m", "ssgsea"],
        "missing or infinite values (first: gene 'GZMB', sample 's1')",
    ),
    "empty_table": (
        lambda f, o: [f["empty"], "-o", o / "x.csv", "-m", "ssgsea"],
        "empty.csv is empty",
    ),
    "output_exists": (
        lambda f, o: [f["table"], "-o", o / "previous.csv", "-m", "ssgsea"],
        "previous.csv exists; pass --force to overwrite",
    ),
    "output_parent_is_a_file": (
        lambda f, o: [f["table"], "-o", f["somefile"] / "out.csv", "-m", "ssgsea"],
        "somefile.txt is a file, not a folder",
    ),
    "output_unwritable": (
        lambda f, o: [f["table"], "-o", "/sys/scores.csv", "-m", "ssgsea"],
        "cannot write to folder /sys (Permission denied); choose another output location",
    ),
    "unknown_method_param": (
        lambda f, o: [f["table"], "-o", o / "x.csv", "-m", "mean", "--max-rank", "10"],
        "--max-rank does not apply to method 'mean' (its options: none)",
    ),
}


@pytest.fixture(scope="module")
def error_runs(tmp_path_factory):
    """Run every bad-input case as a real subprocess, concurrently; keep what they left."""
    results = {}
    procs = {}
    for name, (make_args, _) in ERROR_CASES.items():
        folder = tmp_path_factory.mktemp(name)
        outdir = folder / "out"
        outdir.mkdir()
        (outdir / "previous.csv").write_text("previous output\n")
        files = _write_inputs(folder)
        hashes = {k: digest(p) for k, p in files.items()}
        args = [*COMMAND, *map(str, make_args(files, outdir))]
        procs[name] = (
            subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
            files,
            hashes,
            folder,
        )
    for name, (proc, files, hashes, folder) in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        results[name] = {
            "code": proc.returncode,
            "stdout": stdout,
            "stderr": stderr,
            "unchanged": all(digest(files[k]) == h for k, h in hashes.items()),
            "left": sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")),
            "previous": (folder / "out" / "previous.csv").read_text(),
        }
    return results


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_bad_input_is_one_line_exit_2_and_leaves_nothing(error_runs, case):
    run = error_runs[case]
    expected = ERROR_CASES[case][1]
    assert run["code"] == 2, run["stderr"]
    assert run["stderr"].startswith("error: "), run["stderr"]
    assert run["stderr"].count("\n") == 1, run["stderr"]
    assert expected in run["stderr"]
    assert "Traceback" not in run["stderr"]
    assert run["unchanged"]
    assert run["previous"] == "previous output\n"
    inputs = sorted(["binary_gmt", "empty", "fake_h5ad", "nan", "no_overlap", "somefile", "table"])
    assert len(run["left"]) == len(inputs) + 2  # inputs, out/ and out/previous.csv only


# --- in-process edge cases (click's CliRunner) -------------------------------------------


@pytest.fixture
def table(tmp_path) -> Path:
    path = tmp_path / "expr.csv"
    path.write_text(GOOD_TABLE)
    return path


def invoke(*args):
    return CliRunner().invoke(main, ["score", *map(str, args)])


def test_interrupted_write_keeps_previous_output(table, monkeypatch):
    out = table.parent / "scores.csv"
    out.write_text("previous output\n")

    def interrupted(self, path, *args, **kwargs):
        Path(path).write_text("partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)
    result = invoke(table, "-o", out, "-m", "ssgsea", "--force")
    assert result.exit_code == 130
    assert result.stderr.endswith("error: interrupted\n")
    assert out.read_text() == "previous output\n"
    assert sorted(p.name for p in table.parent.iterdir()) == ["expr.csv", "scores.csv"]


def test_parameters_must_belong_to_the_method(table):
    result = invoke(table, "-o", table.parent / "x.csv", "-m", "ucell", "--no-normalize")
    assert result.exit_code == 2
    assert result.stderr == (
        "error: --normalize/--no-normalize does not apply to method 'ucell' "
        "(its options: --max-rank, --w-neg, --missing-genes)\n"
    )
    ok = invoke(table, "-o", table.parent / "y.csv", "-m", "ssgsea", "--no-normalize", "--alpha", 1)
    assert ok.exit_code == 0, ok.stderr


def test_duplicates_flag_aggregates_a_table(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text(GOOD_TABLE + "CD8A,100,100,100\n")
    refused = invoke(path, "-o", tmp_path / "a.csv", "-m", "ssgsea")
    assert refused.exit_code == 2 and "--duplicates sum|mean|first" in refused.stderr
    ok = invoke(path, "-o", tmp_path / "b.csv", "-m", "mean", "--duplicates", "sum", "-q")
    assert ok.exit_code == 0 and ok.stderr == ""
    got = pd.read_csv(tmp_path / "b.csv", index_col=0)
    summed = read_input(path, duplicates="sum")
    assert summed.X[0, 0] == 101.5
    expected = mk.tl.score(summed, "all", "mean", inplace=False)
    pd.testing.assert_frame_equal(got, expected.rename_axis("obs"), check_exact=False, rtol=1e-12)


def test_output_may_not_be_the_input(table):
    before = digest(table)
    result = invoke(table, "-o", table, "--force", "-m", "ssgsea")
    assert result.exit_code == 2
    assert result.stderr == f"error: output {table} is the input file; choose another output path\n"
    assert digest(table) == before


def test_streamed_h5ad_equals_in_memory(tmp_path):
    src = reference_path("wu2020_tcells_200cells_scirpy.h5ad")
    before = digest(src)
    streamed, loaded = tmp_path / "streamed.h5ad", tmp_path / "loaded.h5ad"
    args = ["-m", "ucell", "-s", "cd8_tex_terminal,treg_core,mhc1_apm", "-q"]
    assert (
        invoke(src, "-o", streamed, "--stream", "always", "--chunk-size", 64, *args).exit_code == 0
    )
    assert invoke(src, "-o", loaded, "--stream", "never", *args).exit_code == 0
    a, b = ad.read_h5ad(streamed), ad.read_h5ad(loaded)
    pd.testing.assert_frame_equal(a.obsm["mekscore_ucell"], b.obsm["mekscore_ucell"])
    assert (a.X != b.X).nnz == 0
    assert digest(src) == before
    old = invoke(
        reference_path("pbmc68k_reduced_scanpy.h5ad"),
        "-o",
        tmp_path / "x.h5ad",
        "--stream",
        "always",
        "-m",
        "ucell",
    )
    assert old.exit_code == 2 and "old .h5ad layout" in old.stderr


@pytest.mark.parametrize("method", ["mean", "zscore", "ucell"])
def test_streamed_counts_equal_in_memory_for_every_kind_of_method(tmp_path, method):
    src = reference_path("wu2020_tcells_200cells_scirpy.h5ad")
    args = ["-m", method, "-s", "cd8_tex_terminal,treg_core,mhc1_apm", "-q"]
    for stream in ("always", "never"):
        result = invoke(
            src, "-o", tmp_path / f"{stream}.csv", "--stream", stream, "--chunk-size", 64, *args
        )
        assert result.exit_code == 0, result.stderr
    streamed, loaded = (
        pd.read_csv(tmp_path / f"{s}.csv", index_col=0) for s in ("always", "never")
    )
    pd.testing.assert_frame_equal(streamed, loaded, check_exact=False, rtol=1e-12, atol=1e-12)
    counts = ad.read_h5ad(src)
    same_api = mk.tl.score(counts, args[3].split(","), method, inplace=False)
    np.testing.assert_allclose(streamed.to_numpy(), same_api.to_numpy(), rtol=1e-12, atol=1e-12)


def test_log_normalize_never_scores_counts_as_given(tmp_path):
    src = reference_path("wu2020_tcells_200cells_scirpy.h5ad")
    out = tmp_path / "raw.csv"
    result = invoke(src, "-o", out, "-m", "mean", "-s", "treg_core", "--log-normalize", "never")
    assert result.exit_code == 0, result.stderr
    assert "raw counts" not in result.stderr
    expected = mk.tl.score(
        ad.read_h5ad(src), ["treg_core"], "mean", log_normalize=False, inplace=False
    )
    np.testing.assert_allclose(pd.read_csv(out, index_col=0).to_numpy(), expected.to_numpy())


def test_scaled_x_is_flagged_with_the_use_raw_fix(tmp_path):
    src = reference_path("pbmc68k_reduced_scanpy.h5ad")
    gmt = tmp_path / "t.gmt"
    gmt.write_text("t_cell\tT cells\tCD3D\tCD3E\tCD2\tIL7R\n")
    result = invoke(src, "-o", tmp_path / "x.csv", "-m", "ucell", "-s", gmt)
    assert result.exit_code == 0, result.stderr
    stderr = " ".join(result.stderr.split())
    assert "warning: the X matrix looks scaled (negative values, genes centred on 0" in stderr
    assert "pass --use-raw (the data have .raw)" in stderr
    raw = invoke(src, "-o", tmp_path / "raw.csv", "-m", "ucell", "-s", gmt, "--use-raw")
    assert raw.exit_code == 0 and "warning" not in raw.stderr
    expected = mk.tl.score(ad.read_h5ad(src).raw.to_adata(), str(gmt), "ucell", inplace=False)
    got = pd.read_csv(tmp_path / "raw.csv", index_col=0)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-12)


def test_unlogged_bulk_table_is_flagged_for_a_log_method(tmp_path):
    gct = reference_path("ssgsea_genepattern", "P53_14samples_collapsed_symbols.gct")
    result = invoke(gct, "-o", tmp_path / "x.csv", "-m", "mean")
    assert result.exit_code == 0, result.stderr
    assert "warning: the X matrix looks unlogged (values up to 35,535" in result.stderr
    advice = " ".join(result.stderr.split())
    assert "pass --log-normalize always (log1p of CP10k)" in advice  # fixes a table can take
    assert "use a rank method such as --method singscore" in advice and "--layer" not in advice


def test_verbose_adds_the_traceback(table):
    result = invoke(table, "-o", table.parent / "x.csv", "-s", "nope", "--verbose")
    assert result.exit_code == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: unknown signature id 'nope'")


def test_bulk_default_method_is_compares_default_for_samples(table):
    out = table.parent / "x.tsv"
    result = invoke(table, "-o", out)
    assert result.exit_code == 0, result.stderr
    assert "with mean" in result.stderr and default_method("samples") == "mean"
    assert "fewer than 3 (--min-genes)" in " ".join(result.stderr.split())
    expected = mk.tl.score(read_input(table), "all", "mean", inplace=False)
    got = pd.read_csv(io.StringIO(out.read_text()), sep="\t", index_col=0)
    pd.testing.assert_frame_equal(got, expected.rename_axis("obs"), check_exact=False, rtol=1e-12)


# --- every method option refuses bad values: exit 2, one line --------------------------


def _bad_values(param) -> list[list[str]]:
    """Command-line arguments giving ``param`` a value of the wrong type, range or choice."""
    flag = "--" + param.name.replace("_", "-")
    if param.type == "bool":
        return [[f"{flag}=yes"]]
    if param.type == "choice":
        return [[flag, "foo"]]
    if param.type == "count_or_fraction":
        return [[flag, v] for v in ("x", "nan", "0", "1.5", "-1")]
    values = ["x", "nan", "inf"] if param.type == "float" else ["x", "2.5"]
    values.append(str(param.low - 1))
    if param.high is not None:
        values.append(str(int(param.high) + 1))
    return [[flag, v] for v in values]


BAD_OPTIONS = [
    (name, args)
    for name in METHOD_NAMES
    for param in method_info(name).parameters
    if param.cli
    for args in _bad_values(param)
] + [
    ("ucell", ["--max-rank", "10"]),  # shorter than the 17-gene signature
    ("aucell", ["--max-rank", "500"]),  # more ranks than the 40 genes
    ("gsva", ["--kcdf", "poisson"]),  # the table has negative values
    ("mean", ["--alpha", "0.5"]),  # not a mean parameter
]


@pytest.fixture(scope="module")
def small_study(tmp_path_factory) -> tuple[Path, Path]:
    """A 40 genes x 4 samples log table with a 17-gene and a 5-gene set."""
    folder = tmp_path_factory.mktemp("options")
    genes = [f"G{i}" for i in range(40)]
    values = np.random.default_rng(0).normal(size=(40, 4))
    table = pd.DataFrame(values, index=pd.Index(genes, name="gene"), columns=list("abcd"))
    table.to_csv(folder / "expr.csv")
    gmt = folder / "sets.gmt"
    gmt.write_text(f"big\t-\t{chr(9).join(genes[:17])}\nsmall\t-\t{chr(9).join(genes[20:25])}\n")
    return folder / "expr.csv", gmt


@pytest.mark.parametrize(("method", "args"), BAD_OPTIONS, ids=lambda v: " ".join(v))
def test_every_method_option_refuses_bad_values(small_study, tmp_path, method, args):
    table, gmt = small_study
    out = tmp_path / "s.csv"
    result = invoke(table, "-o", out, "-s", gmt, "-m", method, *args)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert ("--" + args[0].lstrip("-").split("=")[0]) in result.stderr  # says the flag
    assert not out.exists()


def test_python_api_says_the_same_problems_in_python_words(small_study):
    adata = read_input(small_study[0])
    with pytest.raises(InputError, match=r"more than max_rank=10; raise max_rank to at least 17"):
        mk.tl.score(adata, str(small_study[1]), "ucell", max_rank=10)
    with pytest.raises(InputError, match=r"method 'ssgsea': alpha=nan must be a finite number"):
        mk.tl.score(adata, str(small_study[1]), "ssgsea", alpha=float("nan"))


def test_stream_always_needs_a_method_that_streams(tmp_path):
    cells = mk.datasets.example_data_dir() / mk.datasets.SCRNA_FILE
    result = invoke(cells, "-o", tmp_path / "x.csv", "-m", "gsva", "--stream", "always")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: method 'gsva' needs all observations in memory, so it cannot stream; "
        "pass --stream never or a method that streams (ucell, aucell"
    )
