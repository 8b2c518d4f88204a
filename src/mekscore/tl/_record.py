"""The comparison record: everything :func:`~mekscore.tl.compare` found, under one key.

``tl.compare`` builds one :class:`Comparison` and stores it in ``adata.uns[key_added]``
(plain dicts and DataFrames, so the AnnData stays writable to ``.h5ad``). The report,
the plots and the command line only read it back (:meth:`Comparison.load`), the way
scanpy's ``rank_genes_groups`` keeps its results and ``params`` under one key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd
from anndata import AnnData

from ..errors import InputError

_REQUIRED = ("parameters", "results", "samples")


@dataclass(frozen=True)
class Comparison:
    """One comparison of treated with control samples.

    Attributes
    ----------
    parameters
        Every setting and decision (design, aggregation, method, test, levels, the
        pharmacodynamic status, dropped samples, ``notes``: every warning of the run).
    results
        The verdict table, one row per signature (or abundance) x compartment.
    samples
        The per-sample view: each sample's value and each treated sample's change.
    genes
        Per signature, the genes used and missing (as :func:`mekscore.tl.score` records).
    composition
        Per-sample compartment shares (single-cell data with cell labels).
    qc
        :func:`mekscore.tl.signature_qc` of the signatures in these data.
    competitive
        :func:`mekscore.tl.competitive`: pre-ranked GSEA per signature x compartment.
    methods
        Per-method verdicts and their consensus (:func:`mekscore.tl.compare_methods`).
    design
        The design table: samples per arm (time point, group) and covariate level.
    detectable
        Per contrast, the smallest standardised effect detected with 80% power at these
        sample sizes (so "no change detected" is read against what could be seen).
    signatures
        The signatures compared that are not the bundled library's, as library-schema YAML
        (names, compartments, expected directions and evidence), so the record explains
        every row without the files they came from.
    """

    parameters: Mapping[str, Any]
    results: pd.DataFrame
    samples: pd.DataFrame
    genes: Mapping[str, Any] = field(default_factory=dict)
    composition: pd.DataFrame | None = None
    qc: pd.DataFrame | None = None
    competitive: pd.DataFrame | None = None
    methods: pd.DataFrame | None = None
    design: pd.DataFrame | None = None
    detectable: pd.DataFrame | None = None
    signatures: str = ""

    def store(self, adata: AnnData, key: str) -> None:
        """Write the record to ``adata.uns[key]`` (absent parts are left out)."""
        adata.uns[key] = {
            f.name: getattr(self, f.name) for f in fields(self) if not _empty(getattr(self, f.name))
        }

    @classmethod
    def load(cls, adata: AnnData, key: str = "mekscore_compare") -> Comparison:
        """The record stored under ``adata.uns[key]``.

        Examples
        --------
        >>> Comparison.load(AnnData(), "nothing")
        Traceback (most recent call last):
        ...
        mekscore.errors.InputError: no comparison in adata.uns['nothing']; run mekscore.tl.compare first, or pass key=... naming its key_added
        """  # noqa: E501
        if key not in adata.uns:
            raise InputError(
                f"no comparison in adata.uns[{key!r}]; run mekscore.tl.compare first, or pass "
                "key=... naming its key_added"
            )
        stored = adata.uns[key]
        missing = [k for k in _REQUIRED if k not in stored]
        if missing:
            raise InputError(
                f"adata.uns[{key!r}] lacks {', '.join(missing)}; rerun mekscore.tl.compare to "
                "store a complete comparison"
            )
        return cls(**{f.name: stored[f.name] for f in fields(cls) if f.name in stored})

    def verdict_table(self) -> pd.DataFrame:
        """The verdict table with the competitive NES and FDR beside each row (when computed)."""
        if self.competitive is None:
            return self.results
        extra = self.competitive[["signature", "compartment", "n_genes", "nes", "fdr"]].rename(
            columns={c: f"competitive_{c}" for c in ("n_genes", "nes", "fdr")}
        )
        return self.results.merge(extra, on=["signature", "compartment"], how="left")


def _empty(value: Any) -> bool:
    """An absent part: ``None``, an empty mapping or empty text (left out of ``uns``)."""
    return value is None or (isinstance(value, Mapping | str) and not value)
