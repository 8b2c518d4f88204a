"""Files larger than memory: open them backed, show progress, write results into a copy."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import anndata as ad
import h5py
import pandas as pd
from anndata import AnnData

#: Files above this size are opened backed (streamed) by the command line.
BACKED_THRESHOLD_BYTES = 1 << 30


def should_stream(path: str | os.PathLike, *, threshold: int = BACKED_THRESHOLD_BYTES) -> bool:
    """Whether an ``.h5ad`` file is large enough to be scored without loading ``X``.

    Examples
    --------
    >>> should_stream(__file__, threshold=1)
    True
    """
    return Path(path).stat().st_size > threshold


def open_backed(path: str | os.PathLike) -> AnnData:
    """Open an ``.h5ad`` read-only with ``X`` and every layer left on disk.

    ``obs``, ``var``, ``obsm`` and ``uns`` are read into memory; ``X`` and the layers
    are anndata's backed datasets (sparse) or ``h5py`` datasets (dense), read a row
    slice at a time by the streaming code. ``ad.read_h5ad(path, backed="r")`` would
    load every layer (e.g. raw counts) into memory. ``raw`` is not opened. The file
    stays open as long as the returned object is referenced.

    Examples
    --------
    >>> import tempfile, anndata as ad, numpy as np
    >>> from scipy import sparse
    >>> path = Path(tempfile.mkdtemp()) / "cells.h5ad"
    >>> X = sparse.csr_matrix(np.eye(3, dtype=np.float32))
    >>> ad.AnnData(X, layers={"counts": X}).write_h5ad(path)
    >>> backed = open_backed(path)
    >>> type(backed.layers["counts"]).__name__, backed.layers["counts"][1:3].toarray().tolist()
    ('_CSRDataset', [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    """
    f = h5py.File(path, "r")
    elements = {key: ad.io.read_elem(f[key]) for key in ("obs", "var", "obsm", "uns") if key in f}
    layers = {key: _on_disk(f["layers"][key]) for key in f.get("layers", {})}
    X = _on_disk(f["X"]) if "X" in f else None
    return AnnData(X=X, layers=layers, **elements)


def _on_disk(element):
    """A sparse group as a backed sparse dataset; a dense array as its ``h5py`` dataset."""
    return element if isinstance(element, h5py.Dataset) else ad.io.sparse_dataset(element)


T = TypeVar("T")


def track(items: Sequence[T], *, progress: bool, description: str) -> Sequence[T]:
    """``items``, iterated under a progress bar on stderr when ``progress`` is set.

    Examples
    --------
    >>> list(track([1, 2], progress=False, description="reading"))
    [1, 2]
    """
    if not progress or len(items) < 2:
        return items
    from rich.console import Console
    from rich.progress import track as rich_track

    # a console of our own: rich's global one (stdout) belongs to the host process
    console = Console(stderr=True)
    return rich_track(items, description=description, transient=True, console=console)


def write_scores_into_copy(
    source: str | os.PathLike,
    target: str | os.PathLike,
    obsm: dict[str, pd.DataFrame],
    uns: dict,
) -> None:
    """Copy ``source`` to ``target`` byte for byte, then add ``obsm`` and ``uns["mekscore"]``.

    The expression matrix is never read into memory; only the small score tables are
    written. ``source`` is opened read-only and left untouched.
    """
    shutil.copyfile(source, target)
    with h5py.File(target, "a") as f:
        for key, frame in obsm.items():
            path = f"obsm/{key}"
            if path in f:
                del f[path]
            ad.io.write_elem(f, path, frame)
        if "uns/mekscore" in f:
            existing = ad.io.read_elem(f["uns/mekscore"])
            del f["uns/mekscore"]
        else:
            existing = {}
        ad.io.write_elem(f, "uns/mekscore", {**existing, **uns})
