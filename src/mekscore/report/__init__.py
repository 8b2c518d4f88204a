"""Self-contained HTML report of a treated-vs-control comparison."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from ..io.write import write_atomic
from ._build import gene_table, render_report


def write_report(
    path: str | os.PathLike,
    verdict: pd.DataFrame,
    samples: pd.DataFrame,
    *,
    parameters: Mapping[str, Any],
    match_report: pd.DataFrame | Mapping[str, Mapping[str, Any]] | None = None,
    competitive: pd.DataFrame | None = None,
    composition: pd.DataFrame | None = None,
    qc: pd.DataFrame | None = None,
    force: bool = False,
) -> Path:
    """Write the comparison as one self-contained HTML file, atomically.

    The file embeds its figures as base64 PNG and its CSS inline, so it opens
    offline and can be mailed as is. It holds a summary sentence per program, the
    expected-vs-observed effect-size chart and verdict grid, the verdict table, the
    per-sample view, sample-level plots, genes found/missing, a statistics note,
    parameters and package versions.

    Parameters
    ----------
    path
        Output ``.html`` file.
    verdict, samples
        The tables returned by ``mekscore.tl.compare(..., return_samples=True)``.
    parameters
        The comparison's parameters (``adata.uns["mekscore_compare"]["parameters"]``),
        plus anything else worth recording (input file, method...).
    match_report
        Genes found/missing: :func:`mekscore.genes.match_report`'s table or
        ``adata.uns["mekscore"][method]["signatures"]``.
    competitive
        The table of :func:`mekscore.tl.competitive`, shown next to the verdicts.
    composition
        Per-sample compartment shares (``adata.uns["mekscore_compare"]["composition"]``),
        drawn as stacked bars.
    qc
        The table of :func:`mekscore.tl.signature_qc`: whether each signature holds
        together as a program in these data, shown next to the verdicts.
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
    >>> verdict, samples = mk.tl.compare(adata, condition_key="condition", control="vehicle",
    ...     treated="trametinib", sample_key="sample", compartment_key="cell_type",
    ...     method="mean", return_samples=True)
    >>> params = adata.uns["mekscore_compare"]["parameters"]
    >>> out = Path(tempfile.mkdtemp()) / "report.html"
    >>> mk.report.write_report(out, verdict, samples, parameters=params) == out
    True
    """
    text = render_report(
        verdict,
        samples,
        parameters=parameters,
        match_report=match_report,
        competitive=competitive,
        composition=composition,
        qc=qc,
    )
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), force=force)


__all__ = ["gene_table", "render_report", "write_report"]
