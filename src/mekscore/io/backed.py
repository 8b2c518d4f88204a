"""Score files larger than memory: open them backed, and write results into a copy."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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
    """Open an ``.h5ad`` read-only with ``X`` left on disk (``obs``/``var`` in memory)."""
    return ad.read_h5ad(path, backed="r")


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
