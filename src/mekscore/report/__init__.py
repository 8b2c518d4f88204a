"""Self-contained HTML report of a treated-vs-control comparison."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from anndata import AnnData

from ..errors import InputError
from ..io.write import write_atomic
from ..sig.gmt import SignatureSpec
from ._build import genes_used_table, render_report


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
    signatures: SignatureSpec | None = None,
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
        ``adata.uns["mekscore"][key_added]["signatures"]``.
    competitive
        The table of :func:`mekscore.tl.competitive`, shown next to the verdicts.
    composition
        Per-sample compartment shares (``adata.uns["mekscore_compare"]["composition"]``),
        drawn as stacked bars.
    qc
        The table of :func:`mekscore.tl.signature_qc`: whether each signature holds
        together as a program in these data, shown next to the verdicts.
    signatures
        The signatures compared (as ``tl.compare`` took them, e.g. a YAML file of your
        own): their names and evidence join the bundled library's in the report.
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
        signatures=signatures,
    )
    return write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), force=force)


def write(
    adata: AnnData,
    path: str | os.PathLike,
    key: str = "mekscore_compare",
    force: bool = False,
) -> Path:
    """Write the HTML report of what :func:`mekscore.tl.compare` stored in ``adata``.

    The same report as ``mekscore compare`` writes, built from ``adata.uns[key]``:
    its ``parameters``, ``results`` (the verdict table), ``samples`` and, when
    present, ``composition``, ``qc`` (the table of :func:`mekscore.tl.signature_qc`)
    and ``competitive`` (the table of :func:`mekscore.tl.competitive`), and the genes
    found and missing per signature from ``genes``.

    Parameters
    ----------
    adata
        The AnnData that :func:`mekscore.tl.compare` ran on.
    path
        Output ``.html`` file.
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
    ...     method="mean")
    >>> out = Path(tempfile.mkdtemp()) / "report.html"
    >>> mk.report.write(adata, out) == out
    True
    """
    stored = _stored_comparison(adata, key)
    parameters = stored["parameters"]
    return write_report(
        path,
        stored["results"],
        stored["samples"],
        parameters=parameters,
        match_report=stored.get("genes"),
        competitive=stored.get("competitive"),
        composition=stored.get("composition"),
        qc=stored.get("qc"),
        force=force,
    )


def genes_used(adata: AnnData, scores_key: str | None = None) -> Mapping | None:
    """Genes used/missing per signature from the provenance of the scores ``scores_key``.

    Without ``scores_key``, the one score set in ``adata.obsm`` that has provenance;
    ``None`` when there is none or more than one.

    Examples
    --------
    >>> import mekscore as mk, scanpy as sc
    >>> adata = sc.datasets.pbmc68k_reduced()
    >>> mk.tl.score(adata, {"T": ["CD3D", "CD3E", "CD2"]}, use_raw=True)
    >>> genes_used(adata)["T"]["genes_used"]
    ['CD3D', 'CD3E', 'CD2']
    """
    stored = adata.uns.get("mekscore", {})
    keys = [scores_key] if scores_key else [k for k in stored if k in adata.obsm]
    found = [stored[k]["signatures"] for k in keys if "signatures" in stored.get(k, {})]
    return found[0] if len(found) == 1 else None


def _stored_comparison(adata: AnnData, key: str) -> Mapping[str, Any]:
    """``adata.uns[key]`` checked to hold what :func:`mekscore.tl.compare` stores."""
    if key not in adata.uns:
        raise InputError(
            f"no comparison in adata.uns[{key!r}]; run mekscore.tl.compare first, or pass "
            "key=... naming its key_added"
        )
    stored = adata.uns[key]
    missing = [k for k in ("parameters", "results", "samples") if k not in stored]
    if missing:
        raise InputError(
            f"adata.uns[{key!r}] lacks {', '.join(missing)}; rerun mekscore.tl.compare to "
            "store a complete comparison"
        )
    return stored


__all__ = ["genes_used", "genes_used_table", "render_report", "write", "write_report"]
