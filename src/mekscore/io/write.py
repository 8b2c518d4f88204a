"""Write outputs atomically: a temporary file in the target folder, renamed at the end."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd
from anndata import AnnData

from .checks import InputError

TABLE_FORMATS = {".csv": ",", ".tsv": "\t", ".parquet": None}
OUTPUT_SUFFIXES = (".h5ad", *TABLE_FORMATS)


def output_format(path: str | os.PathLike) -> str:
    """The output suffix of ``path`` (``.h5ad``, ``.csv``, ``.tsv`` or ``.parquet``).

    Examples
    --------
    >>> output_format("scores.TSV")
    '.tsv'
    """
    suffix = Path(path).suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise InputError(
            f"cannot write {Path(path).name}: the output must end in {', '.join(OUTPUT_SUFFIXES)}"
        )
    return suffix


def check_output(
    path: str | os.PathLike, *, force: bool = False, inputs: Iterable[str | os.PathLike] = ()
) -> Path:
    """Refuse an output that is an input, exists (unless ``force``) or cannot be written.

    Examples
    --------
    >>> check_output("/no/such/folder/out.csv")
    Traceback (most recent call last):
    ...
    mekscore.io.checks.InputError: output folder /no/such/folder does not exist; create it first
    """
    target = Path(path)
    for source in inputs:
        if Path(source).exists() and target.exists() and target.samefile(source):
            raise InputError(f"output {target} is the input file; choose another output path")
    if target.is_dir():
        raise InputError(f"output {target} is a folder; give a file name")
    if target.exists() and not force:
        raise InputError(f"output {target} exists; pass --force to overwrite")
    folder = target.parent
    if not folder.exists():
        ancestors = [p for p in folder.parents if p.exists()]
        if ancestors and not ancestors[0].is_dir():
            raise InputError(f"cannot write {target}: {ancestors[0]} is a file, not a folder")
        raise InputError(f"output folder {folder} does not exist; create it first")
    if not folder.is_dir():
        raise InputError(f"cannot write {target}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(f"cannot write to folder {folder} (permission denied)")
    return target


def write_atomic(
    path: str | os.PathLike, writer: Callable[[Path], None], *, force: bool = False
) -> Path:
    """Call ``writer(tmp_path)`` on a temporary file beside ``path``, then rename it to ``path``.

    Readers never see a partial file, and an existing output is replaced only once the
    new one is complete. On any error (or Ctrl-C) the temporary file is removed and the
    error re-raised.

    Parameters
    ----------
    path
        Final location.
    writer
        Writes the complete output to the path it is given.
    force
        Replace an existing ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> write_atomic(out, lambda p: p.write_text("done")).read_text()
    'done'
    """
    target = check_output(path, force=force)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix="." + target.name, suffix=".tmp")
    except OSError as err:
        raise InputError(f"cannot write to folder {target.parent} ({err.strerror})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_table(table: pd.DataFrame, path: str | os.PathLike, *, force: bool = False) -> Path:
    r"""Write an observations x signatures table as ``.csv``, ``.tsv`` or ``.parquet``, atomically.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "s.tsv"
    >>> _ = write_table(pd.DataFrame({"sig": [0.5]}, index=["cell1"]), out)
    >>> out.read_text().splitlines()
    ['\tsig', 'cell1\t0.5']
    """
    suffix = output_format(path)
    if suffix == ".h5ad":
        raise InputError(f"{path}: write a table as .csv, .tsv or .parquet")
    sep = TABLE_FORMATS[suffix]
    if sep is None:
        return write_atomic(path, lambda tmp: table.to_parquet(tmp), force=force)
    return write_atomic(path, lambda tmp: table.to_csv(tmp, sep=sep), force=force)


def write_h5ad(adata: AnnData, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Write ``adata`` to a new ``.h5ad`` file, atomically.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.h5ad"
    >>> write_h5ad(AnnData(np.ones((2, 2))), out).name
    'a.h5ad'
    """
    if output_format(path) != ".h5ad":
        raise InputError(f"{path}: an AnnData is written as .h5ad")
    return write_atomic(path, lambda tmp: adata.write_h5ad(tmp), force=force)
