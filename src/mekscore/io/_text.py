"""Text files as users have them: compressed or not, UTF-8 or a legacy encoding.

Every failure to read one (a truncated archive, a binary file under a text name) is an
:class:`~mekscore.errors.InputError` naming the file and the fix.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import zipfile
import zlib
from pathlib import Path

from ..errors import InputError, warn

#: Compressed text files read transparently, by the last suffix of their name.
COMPRESSIONS = (".gz", ".bz2", ".xz", ".zip")
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_DAMAGED = (EOFError, OSError, zlib.error, lzma.LZMAError, zipfile.BadZipFile)


def compression(path: str | os.PathLike) -> str:
    """The compression suffix of ``path`` (``".gz"``...), or ``""``.

    Examples
    --------
    >>> compression("expr.csv.GZ"), compression("expr.csv")
    ('.gz', '')
    """
    suffix = Path(path).suffix.lower()
    return suffix if suffix in COMPRESSIONS else ""


def read_text(path: str | os.PathLike) -> str:
    r"""The text of a file, decompressed (gzip, bzip2, xz, a one-file zip) and decoded.

    UTF-8 (with or without a byte-order mark) is expected; text in another encoding is
    read as Latin-1 with a warning (Excel's "CSV" on Windows). A file holding NUL bytes
    is not text and is refused.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "sheet.csv.gz"
    >>> _ = p.write_bytes(gzip.compress("sample,arm\nveh1,vehicle\n".encode()))
    >>> read_text(p).splitlines()
    ['sample,arm', 'veh1,vehicle']
    """
    path = Path(path)
    data = _decompressed(path)
    if b"\x00" in data[:65536]:
        raise InputError(
            f"{path} is a binary file, not a text table; give a CSV/TSV/GCT file (or the "
            "right extension for its format)"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        warn(
            "{path} is not UTF-8 (byte {byte} at position {position}); read it as Latin-1: "
            "check names with accents, or save the file as UTF-8",
            path=str(path),
            byte=f"0x{data[err.start]:02x}",
            position=err.start,
        )
        return data.decode("latin-1")


def _decompressed(path: Path) -> bytes:
    """The bytes of ``path``, decompressed by its suffix; damaged archives refused."""
    kind = compression(path)
    try:
        if kind == ".zip":
            return _zip_member(path)
        if kind:
            with _OPENERS[kind](path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except _DAMAGED as err:
        if isinstance(err, FileNotFoundError | PermissionError | IsADirectoryError):
            raise
        detail = str(err).strip() or type(err).__name__
        raise InputError(
            f"{path} cannot be decompressed ({detail}); the file is truncated or not a "
            f"{kind.lstrip('.')} file: download or compress it again"
        ) from None


def _zip_member(path: Path) -> bytes:
    """The one file inside a zip archive."""
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        if len(names) != 1:
            raise InputError(
                f"{path} holds {len(names)} files; a zipped table must hold exactly one "
                "(unzip it and give the table)"
            )
        return archive.read(names[0])


__all__ = ["COMPRESSIONS", "compression", "read_text"]
