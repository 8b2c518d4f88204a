"""Read expression data from ``.h5ad``, CSV/TSV, GCT or a 10x directory into AnnData."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
from anndata import AnnData

from ..errors import InputError
from ._text import COMPRESSIONS, compression, read_text
from .checks import duplicated_names

FORMATS = ("h5ad", "csv", "tsv", "gct", "10x")
DUPLICATES = ("error", "sum", "mean", "first")
BULK_FORMATS = ("csv", "tsv", "gct")

_SUFFIXES = {".h5ad": "h5ad", ".csv": "csv", ".tsv": "tsv", ".txt": "tsv", ".gct": "gct"}
_SUPPORTED = (
    ".h5ad, .csv, .tsv, .txt (tab-separated), .gct (tables also compressed: "
    f"{', '.join(COMPRESSIONS)}), a 10x folder"
)


def detect_format(path: str | os.PathLike) -> str:
    """The input format implied by a path: one of :data:`FORMATS`.

    Examples
    --------
    >>> detect_format("expr.tsv.gz"), detect_format("P53.gct.zip")
    ('tsv', 'gct')
    """
    path = Path(path)
    if path.is_dir():
        if any((path / name).exists() for name in ("matrix.mtx", "matrix.mtx.gz")):
            return "10x"
        raise InputError(f"{path} is a folder without matrix.mtx[.gz]; give a file ({_SUPPORTED})")
    base = Path(path.name[: len(path.name) - len(compression(path))])
    fmt = _SUFFIXES.get(base.suffix.lower())
    if fmt is not None and not (fmt == "h5ad" and compression(path)):
        return fmt
    raise InputError(
        f"cannot tell the format of {path.name} from its extension; supported: {_SUPPORTED} "
        f"(or name the format: {', '.join(FORMATS)})"
    )


def read_input(
    path: str | os.PathLike, *, fmt: str | None = None, duplicates: str = "error"
) -> AnnData:
    r"""Read expression data as an observations x genes AnnData.

    Tables (CSV/TSV/GCT) are genes x samples, gene names in the first column; they
    are transposed so that samples are observations. The file is only read.

    Parameters
    ----------
    path
        An ``.h5ad`` file, a CSV/TSV/GCT table or a 10x ``matrix.mtx`` folder.
    fmt
        Override the format guessed from the extension (one of :data:`FORMATS`).
    duplicates
        What to do with repeated gene names in a table: ``"error"`` (default),
        or aggregate them with ``"sum"``, ``"mean"`` or keep the ``"first"`` row.

    Returns
    -------
    The data; for tables ``X`` is a dense float64 array.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "expr.csv"
    >>> _ = p.write_text("gene,s1,s2\nCD8A,1.5,2\nGZMB,0,3\n")
    >>> adata = read_input(p)
    >>> adata.obs_names.tolist(), adata.var_names.tolist(), adata.X[0].tolist()
    (['s1', 's2'], ['CD8A', 'GZMB'], [1.5, 0.0])
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"input file not found: {path}")
    fmt = detect_format(path) if fmt is None else fmt
    if fmt not in FORMATS:
        raise InputError(f"unknown input format {fmt!r}; use one of {', '.join(FORMATS)}")
    if duplicates not in DUPLICATES:
        raise InputError(f"duplicates must be one of {', '.join(DUPLICATES)}, got {duplicates!r}")
    if fmt == "h5ad":
        return read_h5ad(path)
    if fmt == "10x":
        return _read_10x(path)
    table = read_gct(path) if fmt == "gct" else _read_delimited(path, "," if fmt == "csv" else "\t")
    return table_to_anndata(check_table(table, path, duplicates))


def read_h5ad(path: str | os.PathLike, *, backed: bool = False) -> AnnData:
    """Read an ``.h5ad`` file, refusing other files with a one-line message.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "fake.h5ad"
    >>> _ = p.write_text("not hdf5")
    >>> read_h5ad(p)
    Traceback (most recent call last):
    ...
    mekscore.errors.InputError: ... is not a valid .h5ad file (not an HDF5 file)
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input file not found: {path}")
    if not h5py.is_hdf5(path):
        raise InputError(f"{path} is not a valid .h5ad file (not an HDF5 file)")
    try:
        return ad.read_h5ad(path, backed="r" if backed else None)
    except Exception as err:  # anndata raises many types for malformed files
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(f"{path} is not a valid .h5ad file ({first})") from err


def _read_10x(path: Path) -> AnnData:
    import scanpy as sc

    try:
        adata = sc.read_10x_mtx(path)
    except (OSError, EOFError, ValueError, KeyError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise InputError(
            f"{path} is not a readable 10x folder ({first}); it needs matrix.mtx, "
            "features.tsv (or genes.tsv) and barcodes.tsv, each optionally .gz"
        ) from None
    adata.var_names_make_unique()
    return adata


def _read_delimited(path: Path, sep: str) -> pd.DataFrame:
    text = read_text(path)
    if not text.strip():
        raise InputError(f"{path} is empty; expected genes x samples with a header row")
    _check_header(path, next(csv.reader(io.StringIO(text), delimiter=sep))[1:])
    return _parsed(path, text, sep, index_col=0)


def _parsed(path: Path, text: str, sep: str, **options) -> pd.DataFrame:
    """``text`` parsed by pandas; a malformed table is an :class:`InputError`."""
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, **options)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path} is empty; expected a header row") from None
    except pd.errors.ParserError as err:
        first = str(err).strip().splitlines()[0]
        raise InputError(f"{path} is not a readable table ({first})") from None


def _check_header(path: Path, names: list[str]) -> None:
    """Refuse a header naming a column twice (pandas would rename the second ``name.1``)."""
    dup = duplicated_names([name.strip() for name in names])
    if dup:
        raise InputError(
            f"{path}: column name(s) {', '.join(dup[:10])} appear more than once in the header; "
            "give every sample its own name"
        )


def read_sheet(path: str | os.PathLike) -> pd.DataFrame:
    r"""Read a sample sheet (CSV, or TSV/TXT tab-separated; compressed or not) as text columns.

    Encoded and compressed files are read as :func:`read_input` reads tables; a column
    name given twice is refused.

    Examples
    --------
    >>> import tempfile, pathlib, warnings
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sheet.csv"
    >>> _ = p.write_bytes("sample,arm\nveh1,v\u00e9hicule\n".encode("latin-1"))
    >>> with warnings.catch_warnings(record=True):  # not UTF-8: read as Latin-1
    ...     read_sheet(p)["arm"].tolist()
    ['véhicule']
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sample sheet not found: {path}")
    fmt = detect_format(path)
    if fmt not in ("csv", "tsv"):
        raise InputError(f"{path}: a sample sheet is a .csv, .tsv or .txt table")
    sep = "," if fmt == "csv" else "\t"
    text = read_text(path)
    if not text.strip():
        raise InputError(f"{path} is empty; expected a header row and one row per sample")
    _check_header(path, next(csv.reader(io.StringIO(text), delimiter=sep)))
    return _parsed(path, text, sep, dtype=str)


def read_gct(path: str | os.PathLike) -> pd.DataFrame:
    r"""Read a GCT 1.2 file (any line endings) into a genes x samples DataFrame.

    The ``Description`` column is dropped; the header's dimensions are checked.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.gct"
    >>> _ = p.write_text("#1.2\r1\t2\rName\tDescription\ta\tb\rTP53\tna\t1\t2\r")
    >>> read_gct(p).to_dict()
    {'a': {'TP53': 1}, 'b': {'TP53': 2}}
    """
    path = Path(path)
    text = read_text(path).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n", 2)
    if len(lines) < 3 or lines[0].split("\t")[0].strip() != "#1.2":
        raise InputError(f"{path} is not a GCT 1.2 file (the first line must be '#1.2')")
    dims = [d for d in lines[1].split("\t") if d.strip()]
    try:
        n_rows, n_cols = (int(d) for d in dims[:2])
    except ValueError:
        raise InputError(f"{path}: line 2 must give the numbers of genes and samples") from None
    _check_header(path, lines[2].split("\n", 1)[0].split("\t")[2:])
    table = _parsed(path, lines[2], "\t", index_col=0)
    if len(table.columns) == 0 or str(table.columns[0]).lower() != "description":
        raise InputError(f"{path}: line 3 must start with Name<TAB>Description<TAB>samples")
    table = table.drop(columns=table.columns[0])
    if table.shape != (n_rows, n_cols):
        raise InputError(
            f"{path}: the header says {n_rows} genes x {n_cols} samples but the file has "
            f"{table.shape[0]} x {table.shape[1]}; the file is truncated or malformed"
        )
    return table


def check_table(table: pd.DataFrame, path: str | os.PathLike, duplicates: str) -> pd.DataFrame:
    """Validate a genes x samples table and resolve duplicated genes; returns a float table."""
    if table.shape[0] == 0 or table.shape[1] == 0:
        raise InputError(
            f"{path} has {table.shape[0]} genes x {table.shape[1]} samples; expected genes "
            "in rows (names in the first column) and samples in columns"
        )
    if table.index.isna().any():
        row = int(np.flatnonzero(table.index.isna())[0]) + 2
        raise InputError(f"{path}: line {row} has no gene name in the first column")
    table.index = table.index.astype(str)
    table.columns = table.columns.astype(str)
    dup_samples = duplicated_names(table.columns)
    if dup_samples:
        raise InputError(f"{path}: duplicated sample names {', '.join(dup_samples[:10])}")
    table = table.apply(_numeric_column, path=path)
    _check_finite_table(table, path)
    return _resolve_duplicates(table, path, duplicates)


def _numeric_column(column: pd.Series, path) -> pd.Series:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.astype(np.float64)
    values = pd.to_numeric(column, errors="coerce")
    bad = values.isna() & column.notna()
    gene = column.index[bad.to_numpy().argmax()]
    raise InputError(
        f"{path}: column {column.name!r} is not numeric (gene {gene!r} has "
        f"{column[bad].iloc[0]!r}); a table needs gene names in the first column and only "
        "numbers in the others"
    )


def _check_finite_table(table: pd.DataFrame, path) -> None:
    values = table.to_numpy()
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InputError(
            f"{path}: {int(bad.sum())} missing or infinite values (first: gene "
            f"{table.index[row]!r}, sample {table.columns[col]!r}); fill or remove them first"
        )


def _resolve_duplicates(table: pd.DataFrame, path, duplicates: str) -> pd.DataFrame:
    dup = duplicated_names(table.index)
    if not dup:
        return table
    if duplicates == "error":
        raise InputError(
            f"{path}: {len(dup)} duplicated gene names ({', '.join(dup[:5])}); aggregate them "
            "with --duplicates sum|mean|first (Python: duplicates='sum')"
        )
    if duplicates == "first":
        return table[~table.index.duplicated(keep="first")]
    return table.groupby(level=0, sort=False).agg(duplicates)


def table_to_anndata(table: pd.DataFrame) -> AnnData:
    """A genes x samples table as a samples x genes AnnData (float64, dense).

    Examples
    --------
    >>> table_to_anndata(pd.DataFrame({"s1": [1.0, 2.0]}, index=["A", "B"])).shape
    (1, 2)
    """
    return AnnData(
        X=np.ascontiguousarray(table.to_numpy(dtype=np.float64).T),
        obs=pd.DataFrame(index=pd.Index(table.columns, name=None)),
        var=pd.DataFrame(index=pd.Index(table.index, name=None)),
    )
