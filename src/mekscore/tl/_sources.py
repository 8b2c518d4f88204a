"""Where the sample-level values of a comparison come from.

A *source* turns a mask of cells and a list of signatures into one value per
sample: the score of the sample's pseudobulk profile (summed counts of the masked
cells, normalised with :func:`mekscore.pp.log_normalize`, scored with the method),
or the mean of the masked cells' scores. Every scoring setting (:class:`Scoring`)
is applied the same way in both paths and recorded.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from ..errors import InputError
from ..io.checks import looks_like_counts
from ..io.matrix import get_matrix
from ..pp import LOG_CP10K, log_normalize
from ..sig import load_library, resolve
from ..sig.gmt import SignatureSpec
from ._aggregate import SampleSums, sample_means
from ._design import Design
from ._score import gene_matching, score

AGGREGATIONS = ("auto", "pseudobulk", "mean")
CELL_METHOD, PROFILE_METHOD = "ucell", "mean"
_CELL_ONLY = ("layer", "use_raw", "chunk_size", "progress")  # settings about the cell matrix
#: The score settings that decide which genes match: those gene_matching takes.
_MATCHING_SETTINGS = tuple(inspect.signature(gene_matching).parameters)[2:]


@dataclass(frozen=True)
class Scoring:
    """How signatures are scored: method, signatures and :func:`~mekscore.tl.score` settings."""

    method: str | None
    signatures: SignatureSpec
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def make(cls, method, signatures, kwargs) -> Scoring:
        """Check ``kwargs`` (keyword arguments of :func:`~mekscore.tl.score`)."""
        kwargs = dict(kwargs or {})
        reserved = sorted({"signatures", "method", "inplace", "key_added"} & set(kwargs))
        if reserved:
            raise InputError(
                f"score_kwargs cannot set {', '.join(reserved)}; pass method=/signatures= "
                "to compare itself"
            )
        return cls(method, signatures, kwargs)

    def run(self, adata: AnnData, signatures, default_method: str, cells: bool) -> pd.DataFrame:
        """Scores of ``adata`` (observations x signatures), not stored.

        Profiles (``cells=False``: pseudobulk or bulk samples, with far more expressed
        genes than a cell) scored with UCell rank all their genes unless ``max_rank``
        is given: with UCell's single-cell default of 1,500 most signatures would score
        0 in every sample.
        """
        kwargs = self._settings(cells)
        method = self.method or default_method
        if not cells and method == "ucell":
            kwargs.setdefault("max_rank", adata.n_vars)
        return score(adata, signatures, method=method, inplace=False, **kwargs)

    def genes(self, adata: AnnData, cells: bool) -> dict[str, Any]:
        """The gene matching of :meth:`run` (signature -> genes used and missing)."""
        settings = self._settings(cells)
        matching = {k: settings[k] for k in _MATCHING_SETTINGS if k in settings}
        return gene_matching(adata, self.signatures, **matching)

    def _settings(self, cells: bool) -> dict[str, Any]:
        """The score settings for cells, or for profiles (no cell-matrix settings)."""
        if cells:
            return dict(self.kwargs)
        return {k: v for k, v in self.kwargs.items() if k not in _CELL_ONLY}


@dataclass(frozen=True)
class Source:
    """Sample-level values: ``values(mask, ids) -> (samples x ids, cells per sample)``.

    ``genes`` is the gene matching of the scores (signature -> ``genes_used``,
    ``genes_missing``...), as :func:`mekscore.tl.score` records it; empty for scores
    given as a DataFrame or stored without provenance.
    """

    signature_ids: list[str]
    values: Callable[[np.ndarray, list[str]], tuple[pd.DataFrame, pd.Series]]
    provenance: dict[str, Any]
    genes: dict[str, Any] = field(default_factory=dict)


def choose_aggregation(
    adata: AnnData, aggregate: str, design: Design, scores, scoring: Scoring, counts_layer
) -> str:
    """``"none"`` (bulk), ``"pseudobulk"`` or ``"mean"``, resolving ``"auto"``.

    ``auto`` prefers pseudobulk when raw counts are available and the caller did
    not point at stored cell scores (``scores=``, or stored scores and no method).
    """
    if aggregate not in AGGREGATIONS:
        raise InputError(f"aggregate={aggregate!r}: use one of {', '.join(AGGREGATIONS)}")
    if design.bulk:
        return "none"
    if aggregate != "auto":
        return aggregate
    if not _scores_here(adata, scores, scoring):
        return "mean"
    return "pseudobulk" if counts_matrix(adata, counts_layer) is not None else "mean"


def make_source(
    adata: AnnData,
    aggregation: str,
    design: Design,
    scores,
    scoring: Scoring,
    counts_layer: str | None,
    min_cells: int,
    groups: pd.Series | None = None,
) -> Source:
    """The :class:`Source` of the chosen aggregation.

    Bulk counts scored here take the pseudobulk route with one observation per
    sample, so they get the same normalisation as pseudobulk profiles. ``groups``
    (each cell's cell-type label, ``obs[compartment_key]``) lets pseudobulk sum the
    counts of every compartment in a single pass over the matrix; without it each
    compartment's cells are summed in a pass of their own. ``chunk_size`` and
    ``progress`` of ``scoring.kwargs`` also apply to that pass.
    """
    if aggregation == "pseudobulk":
        return _pseudobulk_source(adata, design, scoring, counts_layer, min_cells, groups)
    if aggregation == "none" and _scores_here(adata, scores, scoring):
        if counts_matrix(adata, counts_layer) is not None:
            return _pseudobulk_source(adata, design, scoring, counts_layer, 1, None)
    default = PROFILE_METHOD if aggregation == "none" else CELL_METHOD
    cell_scores, provenance, genes = _cell_scores(adata, scores, scoring, default)

    def means(mask, ids):
        labelled = mask & design.samples.notna().to_numpy()
        return sample_means(cell_scores[ids], design.samples, labelled)

    return Source(list(map(str, cell_scores.columns)), means, provenance, genes)


def signature_meta(ids, signatures: SignatureSpec) -> dict[str, tuple[str, str]]:
    """Signature id -> (compartment, expected); unknown ids are ``any``/``unclear`` (warned).

    Examples
    --------
    >>> signature_meta(["mhc1_apm"], "all")
    {'mhc1_apm': ('tumor', 'up')}
    """
    known = {s.id: s for s in load_library().values()}
    if not isinstance(signatures, str):
        known.update({s.id: s for s in resolve(signatures)})
    unknown = [sid for sid in map(str, ids) if sid not in known]
    if unknown:
        warnings.warn(
            f"score column(s) {', '.join(unknown[:8])} are not library signatures: tested in "
            "all cells with no expected direction (pass Signature objects with compartment "
            "and expected to give them one)",
            UserWarning,
            stacklevel=3,
        )
    return {
        sid: (known[sid].compartment, known[sid].expected) if sid in known else ("any", "unclear")
        for sid in map(str, ids)
    }


# --- mean of cell scores --------------------------------------------------------------


def _cell_scores(adata, scores, scoring: Scoring, default: str):
    """Stored scores (filtered by ``scoring.signatures``) or scores computed here.

    Returns ``(cells x signatures scores, provenance, gene matching)``.
    """
    if isinstance(scores, pd.DataFrame):
        if not scores.index.equals(adata.obs_names):
            raise InputError("scores must be indexed by adata.obs_names; reindex it first")
        return _selected(scores, scoring.signatures), {"scores": "DataFrame", "method": ""}, {}
    if _scores_here(adata, scores, scoring):
        frame = scoring.run(adata, scoring.signatures, default, cells=True)
        method = scoring.method or default
        provenance = {"scores": "", "method": method, "score_settings": _plain(scoring.kwargs)}
        return frame, provenance, scoring.genes(adata, cells=True)
    key = scores if scores is not None else _only_stored_key(adata)
    if key not in adata.obsm:
        raise InputError(
            f"no scores in adata.obsm[{key!r}] (obsm keys: {', '.join(adata.obsm) or 'none'}); "
            "run mekscore.tl.score first, or pass method=... to score here"
        )
    stored = _selected(pd.DataFrame(adata.obsm[key], index=adata.obs_names), scoring.signatures)
    recorded = adata.uns.get("mekscore", {}).get(key, {})
    genes = recorded.get("signatures", {})
    genes = {str(s): genes[s] for s in stored.columns if s in genes}
    return stored, {"scores": key, "method": recorded.get("method", "")}, genes


def _scores_here(adata: AnnData, scores, scoring: Scoring) -> bool:
    """Whether to score here: no stored scores named, and a method given or none stored."""
    return scores is None and (scoring.method is not None or not _stored_keys(adata))


def _selected(frame: pd.DataFrame, signatures: SignatureSpec) -> pd.DataFrame:
    """The columns of ``signatures`` (all columns for ``"all"``); unknown ids refused."""
    if isinstance(signatures, str) and signatures == "all":
        return frame
    wanted = [s.id for s in resolve(signatures)]
    absent = [s for s in wanted if s not in frame.columns]
    if absent:
        raise InputError(
            f"signature(s) {', '.join(absent)} not in the stored scores (columns: "
            f"{', '.join(map(str, frame.columns))}); score them first or pick from these"
        )
    return frame[wanted]


def _stored_keys(adata: AnnData) -> list[str]:
    found = [k for k in adata.uns.get("mekscore", {}) if k in adata.obsm]
    return found or [k for k in adata.obsm if str(k).startswith("mekscore_")]


def _only_stored_key(adata: AnnData) -> str:
    found = _stored_keys(adata)
    if len(found) == 1:
        return found[0]
    if found:
        raise InputError(f"several score sets in adata.obsm ({', '.join(found)}); pass scores=")
    raise InputError(
        f"no scores found (obsm keys: {', '.join(adata.obsm) or 'none'}); run "
        "mekscore.tl.score first, or pass method=... to score here"
    )


# --- pseudobulk ---------------------------------------------------------------------


def _pseudobulk_source(
    adata, design: Design, scoring: Scoring, counts_layer, min_cells, groups
) -> Source:
    counts = counts_matrix(adata, counts_layer)
    if counts is None:
        raise InputError(
            f"pseudobulk needs raw counts: layer {counts_layer!r} is absent and X does not look "
            "like counts; pass counts_layer=<layer with counts>, or aggregate='mean'"
        )
    sigs = {s.id: s for s in resolve(scoring.signatures)}
    var = adata.var.copy()
    passes = {k: scoring.kwargs[k] for k in ("chunk_size", "progress") if k in scoring.kwargs}
    summed = SampleSums(counts, design.samples, groups, **passes)

    def profiles(mask, ids):
        sums, n_cells = summed(mask)
        keep = (n_cells >= min_cells).to_numpy()
        if not keep.any():
            return pd.DataFrame(np.nan, index=n_cells.index, columns=ids), n_cells
        profile = AnnData(log_normalize(sums[keep]), var=var)
        profile.obs_names = n_cells.index[keep].astype(str)
        values = scoring.run(profile, [sigs[i] for i in ids], PROFILE_METHOD, cells=False)
        return values, n_cells

    provenance = {
        "scores": "",
        "method": scoring.method or PROFILE_METHOD,
        "normalization": LOG_CP10K,
        "counts": counts_layer if counts_layer in adata.layers else "X",
        "score_settings": _plain(scoring.kwargs),
    }
    return Source(list(sigs), profiles, provenance, scoring.genes(AnnData(var=var), cells=False))


def counts_matrix(adata: AnnData, counts_layer: str | None):
    """The raw-count matrix (``counts_layer``, else ``X`` if it holds counts), or ``None``."""
    if counts_layer is not None and counts_layer in adata.layers:
        return adata.layers[counts_layer]
    if adata.X is None:
        return None
    X = get_matrix(adata)
    head = X[: min(2000, X.shape[0])]
    head = head.compute() if hasattr(head, "compute") else head  # a Dask block
    return X if looks_like_counts(head) else None


def _plain(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as JSON/h5ad-writable values (``None`` as an empty string), without ``progress``.

    Examples
    --------
    >>> _plain({"layer": None, "progress": True, "max_rank": 1000})
    {'layer': '', 'max_rank': 1000}
    """
    return {k: ("" if v is None else v) for k, v in settings.items() if k != "progress"}
