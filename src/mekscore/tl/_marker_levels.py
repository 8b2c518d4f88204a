"""Marker-gene levels of bulk samples, absolute and relative to each sample's own genes.

Two numbers per sample and marker gene:

* ``values``: log-scale expression, the scale the proxies and adjustments use:
  ``log1p`` of counts per 10,000 for counts (:func:`mekscore.pp.log_normalize`),
  the values as given for log data, ``log1p`` of unlogged values (TPM, microarray
  intensities);
* ``percentiles``: the gene's rank among the genes the sample expresses (values
  above the sample's minimum; ties averaged) over their number; 0 for a gene at
  the minimum. Ranks within a sample do not depend on the platform or its
  normalisation, so one detection rule serves counts, log data and microarray
  intensities: a cell-line culture's leukocyte genes sit at the 14th-40th percentile
  whether read by RNA-seq or microarray, sorted leukocytes' at the 70th-99th.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from ..genes import match_signatures
from ..io.checks import value_kind
from ..io.matrix import as_scorable, row_block
from ..sig import Signature
from ._settings import Matching, ScoreSettings, choose_matrix

SCALES = {
    "counts": "log1p CP10k",
    "log": "log (as given)",
    "unlogged": "log1p (unlogged values)",
    "scaled": "scaled (as given)",
}
"""What ``values`` are, by :func:`mekscore.io.checks.value_kind` of the matrix."""


@dataclass(frozen=True)
class MarkerLevels:
    """Per-sample levels of the marker genes found in the data.

    Attributes
    ----------
    values
        Samples x marker genes, log scale (see :data:`SCALES`).
    percentiles
        Samples x marker genes, percentile among the genes each sample expresses (0-1).
    scale
        What ``values`` are, e.g. ``"log1p CP10k"``.
    """

    values: pd.DataFrame
    percentiles: pd.DataFrame
    scale: str


def marker_levels(
    adata: AnnData, genes: Sequence[str], samples: pd.Series, settings: ScoreSettings
) -> MarkerLevels | None:
    """Levels of ``genes`` per sample (``None`` when none is in the data).

    ``samples`` names each observation's sample (``NaN``: left out); observations of
    one sample are averaged. ``settings`` choose the matrix and match the genes
    (their ``matrix`` and ``matching`` parts).

    Examples
    --------
    >>> import anndata as ad
    >>> X = np.array([[0, 5, 50, 500, 9445], [0, 0, 40, 600, 9360]], dtype=float)
    >>> adata = ad.AnnData(X, var=pd.DataFrame(index=["PTPRC", "CD3E", "A", "B", "C"]))
    >>> levels = marker_levels(adata, ["PTPRC", "CD3E"], pd.Series(["s1", "s2"]), ScoreSettings())
    >>> levels.percentiles.round(2).to_dict("list"), levels.scale
    ({'PTPRC': [0.0, 0.0], 'CD3E': [0.25, 0.0]}, 'log1p CP10k')
    """
    matrix = choose_matrix(adata, settings.matrix)
    X = as_scorable(matrix.X)
    columns = _columns(matrix.gene_names(settings.matching.gene_symbols), genes, settings.matching)
    if not columns:
        return None
    kind = value_kind(X)
    index = list(columns.values())
    values = np.empty((X.shape[0], len(index)))
    percentiles = np.empty_like(values)
    for i in range(X.shape[0]):
        row = _dense_row(X, i)
        values[i] = _log_scale(row, kind)[index]
        percentiles[i] = _percentiles(row, index)
    labelled = samples.notna().to_numpy()
    by_sample = samples[labelled].astype(str).to_numpy()

    def per_sample(matrix):
        frame = pd.DataFrame(matrix[labelled], columns=list(columns))
        return frame.groupby(by_sample, sort=False).mean()

    return MarkerLevels(per_sample(values), per_sample(percentiles), SCALES[kind])


def _columns(names: pd.Index, genes: Sequence[str], matching: Matching) -> dict[str, int]:
    """Marker gene -> its column in the matrix, for the genes found."""
    signatures = [Signature.custom(gene, up=[gene]) for gene in genes]
    matches, _ = match_signatures(signatures, names, matching.species, aliases=matching.aliases)
    return {m.signature.id: int(m.gene_set.up[0]) for m in matches if len(m.gene_set.up)}


def _dense_row(X, i: int) -> np.ndarray:
    row = row_block(X, slice(i, i + 1))
    return np.asarray(row.toarray() if sparse.issparse(row) else row, dtype=float).ravel()


def _log_scale(row: np.ndarray, kind: str) -> np.ndarray:
    if kind == "counts":
        total = row.sum()
        return np.log1p(row / total * 1e4) if total > 0 else row
    if kind == "unlogged":
        return np.log1p(row)
    return row


def _percentiles(row: np.ndarray, index: list[int]) -> np.ndarray:
    """Mean rank of ``row[index]`` among the values above the row's minimum, over their number."""
    expressed = np.sort(row[row > row.min()])
    if not expressed.size:
        return np.zeros(len(index))
    wanted = row[index]
    low = np.searchsorted(expressed, wanted, side="left")
    high = np.searchsorted(expressed, wanted, side="right")
    ranks = np.where(high > low, (low + high + 1) / 2, 0.0)
    return ranks / expressed.size
