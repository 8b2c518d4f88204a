"""Write outputs atomically: a temporary file in the target folder, renamed at the end."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pandas as pd
from anndata import AnnData

from .._interrupts import noted_interrupts
from ..errors import InputError, Setting

TABLE_FORMATS = {".csv": ",", ".tsv": "\t", ".parquet": None}
OUTPUT_SUFFIXES = (".h5ad", *TABLE_FORMATS)
#: Text a spreadsheet would run as a formula when a cell starts with it (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORCE = Setting("force", value=True)


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

    Whether the folder takes a new file is tried (a temporary file is made and removed),
    so a read-only file system is caught before any work, whoever runs the command.

    Examples
    --------
    >>> check_output("/no/such/folder/out.csv")
    Traceback (most recent call last):
    ...
    mekscore.errors.InputError: output folder /no/such/folder does not exist; create it first
    """
    target = Path(path)
    for source in inputs:
        if Path(source).exists() and target.exists() and target.samefile(source):
            raise InputError(f"output {target} is the input file; choose another output path")
    if target.is_dir():
        raise InputError(f"output {target} is a folder; give a file name")
    if target.exists() and not force:
        raise InputError(
            "output {target} exists; pass {force} to overwrite", target=target, force=_FORCE
        )
    folder = target.parent
    if not folder.exists():
        ancestors = [p for p in folder.parents if p.exists()]
        if ancestors and not ancestors[0].is_dir():
            raise InputError(f"cannot write {target}: {ancestors[0]} is a file, not a folder")
        raise InputError(f"output folder {folder} does not exist; create it first")
    if not folder.is_dir():
        raise InputError(f"cannot write {target}: {folder} is a file, not a folder")
    _probe(folder)
    return target


def check_output_folder(folder: str | os.PathLike, *, force: bool = False) -> Path:
    """Refuse an output folder that is a file, is not empty (unless ``force``) or cannot be made.

    The folder is written as :func:`write_folder` writes it (a temporary folder beside
    it, renamed), so the nearest existing folder above it must take a new entry; that
    is tried before any work.

    Examples
    --------
    >>> check_output_folder("/proc/no/such/place")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mekscore.errors.InputError: cannot write to folder /proc (...); choose another output location
    """
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise InputError(f"output {target} is a file; give a folder")
    if target.is_dir() and any(target.iterdir()) and not force:
        raise InputError(
            "output folder {target} is not empty; pass {force} to write into it",
            target=target,
            force=_FORCE,
        )
    existing = next(p for p in (target.parent, *target.parent.parents) if p.exists())
    if not existing.is_dir():
        raise InputError(f"cannot write {target}: {existing} is a file, not a folder")
    _probe(existing)
    return target


def _probe(folder: Path) -> None:
    """Make and remove a temporary file in ``folder``: :class:`InputError` if it cannot be."""
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=".mekscore-probe-")
    except OSError as err:
        raise InputError(
            f"cannot write to folder {folder} ({err.strerror}); choose another output location"
        ) from None
    os.close(handle)
    os.unlink(name)


def write_atomic(
    path: str | os.PathLike, writer: Callable[[Path], None], *, force: bool = False
) -> Path:
    """Call ``writer(tmp_path)`` on a temporary file beside ``path``, then move it to ``path``.

    Readers never see a partial file, and an existing output is replaced only once the
    new one is complete. Without ``force`` the move fails if ``path`` appeared meanwhile
    (the existence check and the creation are one step). On any error, or Ctrl-C even
    if a library swallowed it, the temporary file is removed and the error raised.

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
    tmp = _temporary(target, mkdir=False)
    try:
        with noted_interrupts() as noted:
            writer(tmp)
        if noted:
            raise KeyboardInterrupt
        os.chmod(tmp, FILE_MODE)
        _commit(tmp, target, force=force)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _temporary(target: Path, *, mkdir: bool) -> Path:
    """A new hidden temporary file (or folder) beside ``target``."""
    make = tempfile.mkdtemp if mkdir else tempfile.mkstemp
    try:
        made = make(dir=target.parent, prefix="." + target.name, suffix=".tmp")
    except OSError as err:
        raise InputError(f"cannot write to folder {target.parent} ({err.strerror})") from None
    if mkdir:
        return Path(made)
    os.close(made[0])
    return Path(made[1])


def _commit(tmp: Path, target: Path, *, force: bool) -> None:
    """Move the finished ``tmp`` to ``target``; without ``force`` only if ``target`` is absent."""
    if force:
        os.replace(tmp, target)
        return
    try:
        try:
            os.link(tmp, target)  # fails if target exists: no check-then-replace race
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: reserve the name, then fill it
            os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE))
            os.replace(tmp, target)
    except FileExistsError:
        raise InputError(
            "output {target} exists; pass {force} to overwrite", target=target, force=_FORCE
        ) from None


def write_folder(
    folder: str | os.PathLike,
    writers: Mapping[str, Callable[[Path], None]],
    *,
    force: bool = False,
) -> Path:
    """Write a set of files into ``folder`` at once: all of them, or none.

    Each ``writers[name](path)`` writes one file into a temporary folder beside
    ``folder``, which is then renamed to ``folder``, so a crash or Ctrl-C never leaves a
    mix of old and new files. With ``force`` an existing folder is swapped out; its
    other files (not in ``writers``) are moved into the new one.

    Parameters
    ----------
    folder
        The output folder; it must not exist or be empty unless ``force``.
    writers
        File name -> function writing that file to the path it is given.
    force
        Replace the files of an existing, non-empty ``folder``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "results"
    >>> done = write_folder(out, {"a.txt": lambda p: p.write_text("A")})
    >>> sorted(p.name for p in done.iterdir())
    ['a.txt']
    """
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise InputError(f"output {target} is a file; give a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(target, mkdir=True)
    try:
        with noted_interrupts() as noted:
            for name, writer in writers.items():
                writer(tmp / name)
        if noted:
            raise KeyboardInterrupt
        for path in tmp.iterdir():
            os.chmod(path, FILE_MODE)
        os.chmod(tmp, DIR_MODE)
        _commit_folder(tmp, target, force=force)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _commit_folder(tmp: Path, target: Path, *, force: bool) -> None:
    """Rename the finished folder ``tmp`` to ``target`` (swapping an old one if ``force``)."""
    try:
        os.rename(tmp, target)  # replaces only an absent or empty folder
        return
    except OSError as err:
        if err.errno not in (errno.ENOTEMPTY, errno.EEXIST):
            raise
        if not force:
            raise InputError(
                "output folder {target} is not empty; pass {force} to write into it",
                target=target,
                force=_FORCE,
            ) from None
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}", suffix=".old"))
    os.rename(target, old / target.name)
    os.rename(tmp, target)
    for path in (old / target.name).iterdir():
        if not (target / path.name).exists():
            os.rename(path, target / path.name)
    shutil.rmtree(old)


def _read_umask() -> int:
    """The process umask, read without changing it (Linux), else set back at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o077)  # at import, before any writer thread exists; 077 if seen
    os.umask(mask)
    return mask


_UMASK = _read_umask()
#: Modes of the files and folders written: what ``open()``/``mkdir()`` would give.
FILE_MODE, DIR_MODE = 0o666 & ~_UMASK, 0o777 & ~_UMASK


def write_table(table: pd.DataFrame, path: str | os.PathLike, *, force: bool = False) -> Path:
    r"""Write an observations x signatures table as ``.csv``, ``.tsv`` or ``.parquet``, atomically.

    Text cells of a CSV/TSV that a spreadsheet would run as a formula are escaped
    (:func:`csv_safe`); numbers are written as they are.

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
    safe = csv_safe(table)
    return write_atomic(path, lambda tmp: safe.to_csv(tmp, sep=sep), force=force)


def csv_safe(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with text cells, labels and names that start a formula escaped by a ``'``.

    A spreadsheet opening a CSV runs a cell starting with ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return as a formula (OWASP's "CSV injection"): a sample or
    signature named ``=HYPERLINK(...)`` would run. Such text gets a leading ``'``, which
    spreadsheets show as text. Numeric columns are never changed (``-1.5`` stays a number).

    Examples
    --------
    >>> t = pd.DataFrame({"sig": ["=cmd()", "ok"], "score": [-1.5, 2.0]}, index=["@a", "b"])
    >>> csv_safe(t).to_dict("split")
    {'index': ["'@a", 'b'], 'columns': ['sig', 'score'], 'data': [["'=cmd()", -1.5], ['ok', 2.0]]}
    """
    out = table.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].map(_safe_cell)
    out.columns = _safe_labels(out.columns)
    out.index = _safe_labels(out.index)
    return out


def _safe_cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _safe_labels(labels: pd.Index) -> pd.Index:
    if pd.api.types.is_numeric_dtype(labels):
        return labels
    return pd.Index([_safe_cell(v) for v in labels], name=_safe_cell(labels.name))


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
