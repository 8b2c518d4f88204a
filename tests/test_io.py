"""Readers (h5ad, CSV/TSV, GCT, 10x) and atomic writers, on the real reference files."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import lzma
import os
import zipfile
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import io as spio
from scipy import sparse

from mekscore.io import (
    InputError,
    check_output,
    read_gct,
    read_input,
    write_atomic,
    write_h5ad,
    write_table,
)
from mekscore.io.checks import count_empty_rows, value_kind
from mekscore.io.read import read_sheet
from mekscore.io.write import check_output_folder

from .conftest import reference_path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def p53_path() -> Path:
    return reference_path("ssgsea_genepattern", "P53_14samples_collapsed_symbols.gct")


def p53_table() -> pd.DataFrame:
    """The P53 GCT parsed independently: CR line endings, skip 2 header lines."""
    text = p53_path().read_bytes().decode().replace("\r", "\n")
    table = pd.read_csv(io.StringIO(text), sep="\t", skiprows=2, index_col=0)
    return table.drop(columns="DESCRIPTION")


# --- readers -----------------------------------------------------------------------------


def test_gct_with_old_mac_line_endings_reads_as_samples_x_genes():
    before = digest(p53_path())
    adata = read_input(p53_path())
    expected = p53_table()
    assert adata.shape == (14, 9096)
    assert adata.obs_names.tolist() == expected.columns.tolist()
    assert adata.var_names.tolist() == expected.index.tolist()
    np.testing.assert_array_equal(adata.X, expected.to_numpy().T)
    assert adata.X[0, :2].tolist() == [7.35, 457.2]  # HCP5, TFRC in 786-0
    assert digest(p53_path()) == before


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_gct_line_endings_do_not_matter(tmp_path, newline):
    text = p53_path().read_bytes().decode().replace("\r", newline)
    path = tmp_path / "p53.gct"
    path.write_bytes(text.encode())
    pd.testing.assert_frame_equal(read_gct(path), read_gct(p53_path()))


def test_gct_header_is_checked(tmp_path):
    lines = p53_path().read_bytes().decode().split("\r")
    bad_dims = tmp_path / "dims.gct"
    bad_dims.write_text("\n".join([lines[0], "9000\t14", *lines[2:]]))
    with pytest.raises(InputError, match=r"header says 9000 genes x 14 samples .* 9096 x 14"):
        read_input(bad_dims)
    no_version = tmp_path / "nover.gct"
    no_version.write_text("\n".join(lines[1:]))
    with pytest.raises(InputError, match="not a GCT 1.2 file"):
        read_input(no_version)


@pytest.mark.parametrize(("suffix", "sep"), [(".csv", ","), (".tsv", "\t"), (".txt.gz", "\t")])
def test_tables_are_genes_x_samples(tmp_path, suffix, sep):
    source = pd.read_csv(reference_path("singscore", "singscore_tgfb_expr_10.csv"), index_col=0)
    path = tmp_path / f"tgfb{suffix}"
    source.to_csv(path, sep=sep)
    adata = read_input(path)
    assert adata.shape == (10, 11900)
    assert adata.var_names[:3].tolist() == ["2", "9", "10"]  # Entrez IDs become strings
    np.testing.assert_array_equal(adata.X, source.to_numpy().T)
    assert adata.X.dtype == np.float64


def test_non_numeric_column_is_named(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("gene,s1,s2\nCD8A,1,2\nGZMB,3,high\n")
    with pytest.raises(InputError, match=r"column 's2' is not numeric \(gene 'GZMB' has 'high'\)"):
        read_input(path)


def test_missing_values_are_located(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("gene,s1,s2\nCD8A,1,2\nGZMB,,4\n")
    with pytest.raises(
        InputError, match=r"1 missing or infinite values \(first: gene 'GZMB', sample 's1'\)"
    ):
        read_input(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "is empty"), ("gene,s1,s2\n", "0 genes x 2 samples"), ("gene\nCD8A\n", "1 genes x 0")],
)
def test_empty_tables_are_refused(tmp_path, text, message):
    path = tmp_path / "x.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        read_input(path)


def test_duplicated_genes_are_refused_or_aggregated(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("gene\ts1\ts2\nA\t1\t2\nB\t5\t5\nA\t3\t8\n")
    with pytest.raises(InputError, match=r"1 duplicated gene names \(A\).*--duplicates sum"):
        read_input(path)
    expected = {"sum": [4.0, 5.0], "mean": [2.0, 5.0], "first": [1.0, 5.0]}
    for how, first_sample in expected.items():
        adata = read_input(path, duplicates=how)
        assert adata.var_names.tolist() == ["A", "B"]
        assert adata.X[0].tolist() == first_sample, how


def test_h5ad_is_read_and_text_named_h5ad_is_refused(tmp_path):
    adata = read_input(reference_path("pbmc68k_reduced_scanpy.h5ad"))
    assert adata.shape == (700, 765)
    fake = tmp_path / "fake.h5ad"
    fake.write_text("gene,s1\nCD8A,1\n")
    with pytest.raises(
        InputError, match=r"fake.h5ad is not a valid .h5ad file \(not an HDF5 file\)"
    ):
        read_input(fake)


def test_10x_folder(tmp_path):
    wu = ad.read_h5ad(reference_path("wu2020_tcells_200cells_scirpy.h5ad"))[:20, :300]
    spio.mmwrite(tmp_path / "matrix.mtx", sparse.csr_matrix(wu.X).T.tocoo())
    for name in ("matrix.mtx",):
        with open(tmp_path / name, "rb") as src, gzip.open(tmp_path / f"{name}.gz", "wb") as dst:
            dst.write(src.read())
        os.remove(tmp_path / name)
    features = pd.DataFrame(
        {"id": wu.var["gene_ids"], "symbol": wu.var_names, "t": "Gene Expression"}
    )
    with gzip.open(tmp_path / "features.tsv.gz", "wt") as fh:
        features.to_csv(fh, sep="\t", header=False, index=False)
    with gzip.open(tmp_path / "barcodes.tsv.gz", "wt") as fh:
        fh.write("\n".join(wu.obs_names) + "\n")
    adata = read_input(tmp_path)
    assert adata.obs_names.tolist() == wu.obs_names.tolist()
    assert adata.var_names.tolist() == wu.var_names.tolist()
    np.testing.assert_array_equal(adata.X.toarray(), wu.X.toarray())


def test_unknown_extension_and_missing_file(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_text("x")
    with pytest.raises(InputError, match=r"cannot tell the format of data.xlsx.*\.h5ad, \.csv"):
        read_input(path)
    with pytest.raises(FileNotFoundError, match="input file not found"):
        read_input(tmp_path / "absent.csv")


# --- writers -----------------------------------------------------------------------------


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_write_atomic_refuses_existing_output_unless_forced(tmp_path):
    out = tmp_path / "out.txt"
    write_atomic(out, lambda p: p.write_text("one"))
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    with pytest.raises(InputError, match=r"output .*out.txt exists; pass force=True to overwrite"):
        write_atomic(out, lambda p: p.write_text("two"))
    write_atomic(out, lambda p: p.write_text("two"), force=True)
    assert out.read_text() == "two"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_interrupted_write_keeps_previous_output_and_no_temp_file(tmp_path, error):
    out = tmp_path / "scores.csv"
    out.write_text("previous")

    def writer(tmp: Path) -> None:
        tmp.write_text("partial")
        raise error

    with pytest.raises(type(error)):
        write_atomic(out, writer, force=True)
    assert out.read_text() == "previous"
    assert leftovers(tmp_path) == []


def test_unwritable_destinations_are_refused(tmp_path):
    afile = tmp_path / "somefile.txt"
    afile.write_text("x")
    with pytest.raises(InputError, match="somefile.txt is a file, not a folder"):
        write_atomic(afile / "out.csv", lambda p: p.write_text("x"))
    with pytest.raises(InputError, match="somefile.txt is a file, not a folder"):
        check_output(afile / "sub" / "out.csv")
    with pytest.raises(InputError, match="does not exist; create it first"):
        check_output(tmp_path / "nope" / "out.csv")
    with pytest.raises(InputError, match="is the input file"):
        check_output(afile, force=True, inputs=[afile])


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".parquet"])
def test_tables_round_trip(tmp_path, suffix):
    table = pd.DataFrame(
        {"mhc1_apm": [0.25, np.nan], "ifng_ayers6": [1e-12, -3.5]},
        index=pd.Index(["cell-1", "cell 2"], name="obs"),
    )
    out = write_table(table, tmp_path / f"scores{suffix}")
    if suffix == ".parquet":
        back = pd.read_parquet(out)
    else:
        back = pd.read_csv(out, sep="," if suffix == ".csv" else "\t", index_col=0)
    pd.testing.assert_frame_equal(back, table)


def test_h5ad_writer_and_unknown_output_suffix(tmp_path):
    adata = ad.AnnData(np.arange(6.0).reshape(2, 3))
    out = write_h5ad(adata, tmp_path / "a.h5ad")
    np.testing.assert_array_equal(ad.read_h5ad(out).X, adata.X)
    with pytest.raises(InputError, match=r"must end in .h5ad, .csv, .tsv, .parquet"):
        write_table(pd.DataFrame(), tmp_path / "x.xlsx")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- what the values look like -----------------------------------------------------------


@pytest.mark.parametrize(
    ("load", "kind"),
    [
        (lambda: ad.read_h5ad(reference_path("pbmc68k_reduced_scanpy.h5ad")).X, "scaled"),
        (lambda: ad.read_h5ad(reference_path("pbmc68k_reduced_scanpy.h5ad")).raw.X, "log"),
        (lambda: ad.read_h5ad(reference_path("wu2020_tcells_200cells_scirpy.h5ad")).X, "counts"),
        (lambda: read_input(p53_path()).X, "unlogged"),  # MAS5 microarray, max 35,535
        (lambda: np.log2(read_input(p53_path()).X), "log"),
        (lambda: np.log2(read_input(p53_path()).X + 0.001) - 5.0, "log"),  # negative, not centred
    ],
    ids=["scanpy_scaled", "scanpy_raw_log", "10x_counts", "p53_unlogged", "p53_log2", "shifted"],
)
def test_value_kind_of_real_data(load, kind):
    assert value_kind(load()) == kind


def test_count_empty_rows_ignores_explicit_zeros_and_bounds_blocks():
    X = sparse.csr_matrix(([0.0, 1.0, 2.0], [0, 1, 0], [0, 1, 1, 3, 3]), shape=(4, 2))
    assert X.nnz == 3  # row 0 holds a stored zero
    for matrix in (X, X.toarray()):
        assert count_empty_rows(matrix) == 3
        assert count_empty_rows(matrix, cells_per_block=2) == 3


def test_write_atomic_never_touches_the_process_umask(tmp_path, monkeypatch):
    from mekscore.io import write as write_module

    expected = 0o666 & ~_umask()

    def forbidden(mask):
        raise AssertionError("os.umask changes the umask of every thread")

    monkeypatch.setattr(write_module.os, "umask", forbidden)
    out = write_atomic(tmp_path / "a.txt", lambda p: p.write_text("x"))
    assert out.stat().st_mode & 0o777 == write_module.FILE_MODE == expected


def test_output_created_meanwhile_is_not_overwritten_without_force(tmp_path):
    out = tmp_path / "scores.csv"

    def racing_writer(path):
        path.write_text("ours")
        out.write_text("someone else's")  # appears after the existence check

    with pytest.raises(InputError, match="exists; pass force=True"):
        write_atomic(out, racing_writer)
    assert out.read_text() == "someone else's"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]


def test_write_folder_is_all_or_nothing(tmp_path):
    from mekscore.io.write import write_folder

    out = tmp_path / "out"

    def files(a: str, b: str) -> dict:
        return {"a.txt": lambda p: p.write_text(a), "b.txt": lambda p: p.write_text(b)}

    write_folder(out, files("a1", "b1"))
    (out / "notes.txt").write_text("mine")

    def crash(path):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_folder(out, {"a.txt": lambda p: p.write_text("a2"), "b.txt": crash}, force=True)
    assert [(p.name, p.read_text()) for p in sorted(out.iterdir())] == [
        ("a.txt", "a1"),
        ("b.txt", "b1"),
        ("notes.txt", "mine"),
    ]
    with pytest.raises(InputError, match="not empty; pass force=True"):
        write_folder(out, {"a.txt": lambda p: p.write_text("a2")})
    write_folder(out, files("a2", "b2"), force=True)
    assert [(p.name, p.read_text()) for p in sorted(out.iterdir())] == [
        ("a.txt", "a2"),
        ("b.txt", "b2"),
        ("notes.txt", "mine"),
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


# --- compressed, encoded and malformed text inputs ----------------------------------------

TABLE = "gene,s1,s2\nCD8A,1.5,2\nGZMB,0,3\n"


@pytest.mark.parametrize(
    ("suffix", "pack"),
    [
        (".csv.gz", gzip.compress),
        (".csv.bz2", bz2.compress),
        (".csv.xz", lzma.compress),
        (".csv.zip", lambda data: _zipped("expr.csv", data)),
    ],
)
def test_compressed_tables_read_like_plain_ones(tmp_path, suffix, pack):
    path = tmp_path / f"expr{suffix}"
    path.write_bytes(pack(TABLE.encode()))
    adata = read_input(path)
    assert adata.obs_names.tolist() == ["s1", "s2"] and adata.X.tolist() == [[1.5, 0], [2, 3]]


def _zipped(name: str, data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
        if name == "two.csv":
            archive.writestr("other.csv", data)
    return buffer.getvalue()


def test_compressed_gct_equals_the_plain_file(tmp_path):
    path = tmp_path / "p53.gct.gz"
    path.write_bytes(gzip.compress(p53_path().read_bytes()))
    pd.testing.assert_frame_equal(read_gct(path), read_gct(p53_path()))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("cut.csv.gz", gzip.compress(TABLE.encode() * 50)[:-20], "cannot be decompressed"),
        ("plain.csv.gz", TABLE.encode(), "cannot be decompressed"),
        ("two.csv.zip", _zipped("two.csv", TABLE.encode()), "holds 2 files"),
        ("binary.csv", b"\x89HDF\r\n\x1a\n\x00\x00\x00", "is a binary file, not a text table"),
        ("dup.csv", b"gene,s1,s1\nCD8A,1,2\n", r"column name\(s\) s1 appear more than once"),
        ("dup.gct", b"#1.2\n1\t2\nName\tDescription\ta\ta\nTP53\tna\t1\t2\n", "a appear more"),
    ],
    ids=["truncated gz", "plain text named gz", "zip of two", "binary", "dup csv", "dup gct"],
)
def test_damaged_or_ambiguous_tables_are_refused(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_input(path)


def test_latin1_text_is_read_with_a_warning(tmp_path):
    path = tmp_path / "expr.csv"
    path.write_bytes("gene,véh1,s2\nCD8A,1.5,2\n".encode("latin-1"))
    with pytest.warns(UserWarning, match=r"expr.csv is not UTF-8 \(byte 0xe9 at position 6\)"):
        adata = read_input(path)
    assert adata.obs_names.tolist() == ["véh1", "s2"]


def test_sample_sheets_read_as_text_and_refuse_repeated_columns(tmp_path):
    sheet = tmp_path / "sheet.tsv.gz"
    sheet.write_bytes(gzip.compress(b"sample\tarm\n01\tvehicle\n"))
    assert read_sheet(sheet).to_dict("list") == {"sample": ["01"], "arm": ["vehicle"]}
    (tmp_path / "dup.csv").write_text("sample,arm,arm\nv1,a,b\n")
    with pytest.raises(InputError, match="arm appear more than once"):
        read_sheet(tmp_path / "dup.csv")


@pytest.fixture
def unwritable(tmp_path) -> Path:
    """A folder that takes no new file, whoever runs the tests (root ignores permissions)."""
    if os.geteuid() == 0:
        return Path("/sys")  # sysfs refuses new files, even to root
    folder = tmp_path / "read-only"
    folder.mkdir(mode=0o555)
    return folder


def test_unwritable_outputs_are_refused_before_any_work(unwritable):
    with pytest.raises(InputError, match=f"cannot write to folder {unwritable} .*choose another"):
        check_output(unwritable / "scores.csv")
    with pytest.raises(InputError, match=f"cannot write to folder {unwritable} "):
        check_output_folder(unwritable / "verdict")
    with pytest.raises(InputError, match="cannot write to folder /proc "):
        check_output_folder("/proc/a/b/c")  # made parents would land in /proc


def test_output_folder_checks(tmp_path):
    afile = tmp_path / "f.txt"
    afile.write_text("x")
    with pytest.raises(InputError, match="f.txt is a file; give a folder"):
        check_output_folder(afile)
    with pytest.raises(InputError, match="not empty; pass force=True to write into it"):
        check_output_folder(tmp_path)
    assert check_output_folder(tmp_path, force=True) == tmp_path
    assert check_output_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]  # the probe left nothing


def test_csv_cells_that_start_a_formula_are_escaped_but_numbers_are_not(tmp_path):
    table = pd.DataFrame(
        {"=sig": [-1.5, 2.0], "note": ["+SUM(A1)", "-x"], "text": ["@me", "\tx"]},
        index=pd.Index(["=HYPERLINK(1)", "ok"], name="obs"),
    )
    out = write_table(table, tmp_path / "s.csv")
    back = pd.read_csv(out, index_col=0)
    assert back.index.tolist() == ["'=HYPERLINK(1)", "ok"]
    assert back.columns.tolist() == ["'=sig", "note", "text"]
    assert back["'=sig"].tolist() == [-1.5, 2.0]  # a negative number stays a number
    assert back["note"].tolist() == ["'+SUM(A1)", "'-x"] and back["text"].tolist() == [
        "'@me",
        "'\tx",
    ]
    write_table(table, tmp_path / "s.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "s.parquet"), table)  # not a sheet
