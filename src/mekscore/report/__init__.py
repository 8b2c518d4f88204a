"""Self-contained HTML report of a treated-vs-control comparison.

The report only renders the comparison record that :func:`mekscore.tl.compare` stores;
``mekscore compare`` writes the same file from the same record.
"""

from __future__ import annotations

import os
from pathlib import Path

from anndata import AnnData

from ..io.write import write_atomic
from ..tl._record import Comparison
from ._build import genes_used_table, render_report


def write(
    adata: AnnData,
    path: str | os.PathLike,
    key: str = "mekscore_compare",
    *,
    force: bool = False,
) -> Path:
    """Write the HTML report of the comparison :func:`mekscore.tl.compare` stored in ``adata``.

    The file embeds its figures as base64 PNG and its CSS inline, so it opens offline
    and can be mailed as is. It holds a summary sentence per program, the
    expected-vs-observed effect-size chart and verdict grid, the verdict table, the
    per-sample view, sample-level plots, composition, the signature QC, genes
    found/missing, a statistics note, parameters and package versions: everything in
    ``adata.uns[key]``, the same report ``mekscore compare`` writes.

    Parameters
    ----------
    adata
        The AnnData that :func:`mekscore.tl.compare` ran on.
    path
        Output ``.html`` file (written atomically).
    key
        The ``key_added`` of :func:`mekscore.tl.compare`.
    force
        Replace an existing file.

    Returns
    -------
    The path written.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import mekscore as mk
    >>> adata = mk.datasets.load_example_scrna()
    >>> _ = mk.tl.compare(adata, condition_key="condition", control="vehicle",
    ...     treated="trametinib", sample_key="sample", compartment_key="cell_type",
    ...     method="mean", qc=False)
    >>> out = Path(tempfile.mkdtemp()) / "report.html"
    >>> mk.report.write(adata, out) == out
    True
    """
    text = render_report(Comparison.load(adata, key))
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), force=force)


__all__ = ["genes_used_table", "render_report", "write"]
