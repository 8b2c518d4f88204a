"""Where the sample-level values of a comparison come from: one class per aggregation.

Every source answers ``values(mask, ids)``: one value per sample for the cells in
``mask`` and the signatures ``ids``, with the number of cells behind each value.

* :class:`Pseudobulk`: the counts of each sample's cells are summed, normalised with
  :func:`mekscore.pp.log_normalize` and the profile is scored (single-cell with counts;
  bulk counts too, one observation per sample);
* :class:`CellMeans`: the mean of the cells' scores (stored by :func:`mekscore.tl.score`,
  or computed here when there are no counts);
* bulk samples without counts are scored as given, each observation its own sample
  (:class:`CellMeans` over one observation per sample).

How ``aggregate="auto"`` decides (:func:`choose_aggregation`) does not depend on what
happens to be stored in ``adata``: pseudobulk whenever counts exist, unless stored scores
are asked for (``scores=``, or ``aggregate="mean"`` with no ``method``). Stored scores are
otherwise used only when there is no expression matrix to score.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import pandas as pd
from anndata import AnnData

from ..errors import InputError, Setting
from ..methods import default_method
from ..pp import LOG_CP10K, log_normalize
from ..sig import get, load_library, resolve
from ..sig.gmt import SignatureSpec
from ._aggregate import SampleSums, sample_means
from ._score import gene_matching, score_with
from ._settings import Matrix, ScoreSettings, choose_counts
from ._verdict import PD_CONTROLS

AGGREGATIONS = ("auto", "pseudobulk", "mean")
_PD_GATE = next(iter(PD_CONTROLS))
CELL_METHOD, PROFILE_METHOD = default_method("cells"), default_method("samples")


@dataclass(frozen=True)
class Scoring:
    """How signatures are scored here: method (``None``: the default), signatures, settings."""

    method: str | None
    signatures: SignatureSpec
    settings: ScoreSettings = field(default_factory=ScoreSettings)
    pd_control: bool = True

    @property
    def to_score(self) -> SignatureSpec:
        """The signatures scored here: the user's, plus the pharmacodynamic control if asked."""
        return with_pd_control(self.signatures) if self.pd_control else self.signatures

    def run(self, adata: AnnData, signatures, *, cells: bool) -> pd.DataFrame:
        """Scores of ``adata`` (observations x signatures), not stored.

        Profiles (``cells=False``: pseudobulk or bulk samples, with far more expressed
        genes than a cell) scored with UCell rank all their genes unless ``max_rank``
        is given: with UCell's single-cell default of 1,500 most signatures would score
        0 in every sample.
        """
        settings = self.settings if cells else self.settings.for_profiles()
        method = self.method_for(cells=cells)
        if not cells and method == "ucell" and "max_rank" not in settings.method_params:
            params = MappingProxyType(dict(settings.method_params, max_rank=adata.n_vars))
            settings = replace(settings, method_params=params)
        return score_with(adata, signatures, method, settings).frames["score"]

    def method_for(self, *, cells: bool) -> str:
        """The method used on cells or on profiles."""
        return self.method or (CELL_METHOD if cells else PROFILE_METHOD)


@dataclass(frozen=True)
class SampleValues:
    """One value per sample and signature, and the cells behind each sample's values."""

    values: pd.DataFrame
    n_cells: pd.Series


class Pseudobulk:
    """Score each sample's summed counts (per compartment), normalised to log1p CP10k.

    ``groups`` (each cell's cell-type label) lets every compartment be summed in one
    pass over the matrix; without it each mask takes a pass of its own.
    """

    aggregation = "pseudobulk"

    def __init__(self, adata: AnnData, counts: Matrix, samples: pd.Series, *, setup: Setup):
        execution = setup.scoring.settings.execution
        self._sums = SampleSums(
            counts.X,
            samples,
            setup.groups,
            chunk_size=execution.chunk_size,
            progress=execution.progress,
        )
        self._var, self._scoring, self._min_cells = adata.var.copy(), setup.scoring, setup.min_cells
        self._sigs = {s.id: s for s in resolve(setup.scoring.to_score)}
        self.signature_ids = list(self._sigs)
        self.genes = gene_matching(counts, setup.scoring.to_score, setup.scoring.settings.matching)
        self.provenance = {
            "scores": "",
            "method": setup.scoring.method_for(cells=False),
            "normalization": LOG_CP10K,
            "counts": counts.name,
            "score_settings": setup.scoring.settings.recorded(),
        }

    def values(self, mask: np.ndarray, ids: list[str]) -> SampleValues:
        """Pseudobulk scores of the cells in ``mask``; samples below ``min_cells`` are NaN."""
        sums, n_cells = self._sums(mask)
        keep = (n_cells >= self._min_cells).to_numpy()
        if not keep.any():
            return SampleValues(pd.DataFrame(np.nan, index=n_cells.index, columns=ids), n_cells)
        profile = AnnData(log_normalize(sums[keep]), var=self._var)
        profile.obs_names = n_cells.index[keep].astype(str)
        scores = self._scoring.run(profile, [self._sigs[i] for i in ids], cells=False)
        return SampleValues(scores, n_cells)


class CellMeans:
    """The mean score of each sample's cells (bulk: each sample's own score)."""

    aggregation = "mean"

    def __init__(self, scores: pd.DataFrame, samples: pd.Series, provenance, genes) -> None:
        self._scores, self._samples = scores, samples
        self.signature_ids = list(map(str, scores.columns))
        self.provenance, self.genes = provenance, genes

    @classmethod
    def scored_here(cls, adata: AnnData, samples: pd.Series, scoring: Scoring, *, cells: bool):
        """Score every observation with ``scoring`` (cells, or bulk samples as given)."""
        settings = scoring.settings
        method = scoring.method_for(cells=cells)
        scored = score_with(adata, scoring.to_score, method, settings)
        provenance = {"scores": "", "method": method, "score_settings": settings.recorded()}
        return cls(scored.frames["score"], samples, provenance, scored.genes)

    @classmethod
    def stored(cls, adata: AnnData, samples: pd.Series, scores, scoring: Scoring):
        """Scores stored in ``adata.obsm[scores]`` (or given as a cells x signatures frame).

        The pharmacodynamic control is kept beside the signatures asked for when it was
        stored too (``scoring.pd_control``).
        """
        signatures, keep = scoring.signatures, _PD_GATE if scoring.pd_control else None
        if isinstance(scores, pd.DataFrame):
            if not scores.index.equals(adata.obs_names):
                raise InputError("scores must be indexed by adata.obs_names; reindex it first")
            provenance = {"scores": "DataFrame", "method": ""}
            return cls(_selected(scores, signatures, keep), samples, provenance, {})
        if scores not in adata.obsm:
            raise InputError(
                "no scores in adata.obsm[{key!r}] (obsm keys: {keys}); run mekscore.tl.score "
                "first, or pass {method!p} to score here",
                key=scores,
                keys=", ".join(adata.obsm) or "none",
                method=None,
            )
        stored = pd.DataFrame(adata.obsm[scores], index=adata.obs_names)
        frame = _selected(stored, signatures, keep)
        recorded = adata.uns.get("mekscore", {}).get(scores, {})
        genes = recorded.get("signatures", {})
        genes = {str(s): genes[s] for s in frame.columns if s in genes}
        provenance = {"scores": scores, "method": recorded.get("method", "")}
        return cls(frame, samples, provenance, genes)

    def values(self, mask: np.ndarray, ids: list[str]) -> SampleValues:
        """Mean of the scores of the cells in ``mask`` per sample."""
        labelled = mask & self._samples.notna().to_numpy()
        means, n_cells = sample_means(self._scores[ids], self._samples, labelled)
        return SampleValues(means, n_cells)


@dataclass(frozen=True)
class Setup:
    """What a source needs besides the data: how to score, which cells, where counts are."""

    scoring: Scoring
    min_cells: int
    counts_layer: str | None
    groups: pd.Series | None = None


def choose_aggregation(adata: AnnData, aggregate: str, *, bulk: bool, scores, setup: Setup) -> str:
    """``"none"`` (bulk), ``"pseudobulk"`` or ``"mean"``, resolving ``"auto"``.

    ``auto`` is pseudobulk whenever raw counts exist and no stored scores are named:
    what happens to be stored in ``adata.obsm`` never changes the answer.
    """
    if aggregate not in AGGREGATIONS:
        raise InputError(
            "{aggregate=}: use one of {choices}",
            aggregate=aggregate,
            choices=", ".join(AGGREGATIONS),
        )
    if bulk:
        return "none"
    if scores is not None:
        if aggregate == "pseudobulk":
            raise InputError(
                "{scores!p} names stored cell scores, which {pseudobulk} does not use; drop "
                "{scores!p} or pass {mean}",
                scores=scores,
                pseudobulk=Setting("aggregate", "pseudobulk"),
                mean=Setting("aggregate", "mean"),
            )
        return "mean"
    if aggregate != "auto":
        return aggregate
    has_counts = choose_counts(adata, setup.counts_layer) is not None
    return "pseudobulk" if has_counts else "mean"


def make_source(
    adata: AnnData, samples: pd.Series, *, aggregation: str, scores, setup: Setup
) -> Pseudobulk | CellMeans:
    """The source of the chosen aggregation.

    Bulk counts scored here take the pseudobulk route with one observation per
    sample, so they get the same normalisation as pseudobulk profiles.
    """
    counts = choose_counts(adata, setup.counts_layer)
    if aggregation == "pseudobulk":
        if counts is None:
            raise InputError(
                "pseudobulk needs raw counts: {counts_layer=} is not a layer and X does not look "
                "like counts; name the layer of counts with {counts_layer!p}, or pass {mean}",
                counts_layer=setup.counts_layer,
                mean=Setting("aggregate", "mean"),
            )
        return Pseudobulk(adata, counts, samples, setup=setup)
    if scores is not None:
        return CellMeans.stored(adata, samples, scores, setup.scoring)
    if setup.scoring.method is None and (aggregation == "mean" or not _has_matrix(adata, setup)):
        stored = _only_stored_key(adata)
        if stored is not None:
            return CellMeans.stored(adata, samples, stored, setup.scoring)
    if aggregation == "none":
        if counts is not None and setup.scoring.settings.matrix.layer is None:
            bulk_setup = Setup(setup.scoring, 1, setup.counts_layer)
            return Pseudobulk(adata, counts, samples, setup=bulk_setup)
        return CellMeans.scored_here(adata, samples, setup.scoring, cells=False)
    return CellMeans.scored_here(adata, samples, setup.scoring, cells=True)


def _has_matrix(adata: AnnData, setup: Setup) -> bool:
    """Whether there is an expression matrix to score (else only stored scores can be used)."""
    matrix = setup.scoring.settings.matrix
    return adata.X is not None or matrix.layer is not None or matrix.use_raw


def signature_meta(ids, signatures: SignatureSpec) -> dict[str, tuple[str, str, str]]:
    """Signature id -> (compartment, expected, combination); unknown ids ``any``/``unclear``.

    Unknown ids (score columns that are no signature) are warned about.

    Examples
    --------
    >>> signature_meta(["mhc1_apm", "tis_gep18"], "all")
    {'mhc1_apm': ('tumor', 'up', 'unclear'), 'tis_gep18': ('any', 'unclear', 'up')}
    """
    known = {s.id: s for s in load_library().values()}
    if not (isinstance(signatures, str) and signatures == "all"):
        known.update({s.id: s for s in resolve(signatures)})  # ids, GMT or YAML files
    unknown = [sid for sid in map(str, ids) if sid not in known]
    if unknown:
        warnings.warn(
            f"score column(s) {', '.join(unknown[:8])} are not library signatures: tested in "
            "all cells with no expected direction (pass Signature objects with compartment "
            "and expected to give them one)",
            UserWarning,
            stacklevel=3,
        )
    unknown_meta = ("any", "unclear", "unclear")
    return {
        sid: (known[sid].compartment, known[sid].expected, known[sid].combination)
        if sid in known
        else unknown_meta
        for sid in map(str, ids)
    }


def with_pd_control(signatures: SignatureSpec) -> SignatureSpec:
    """``signatures`` with the pharmacodynamic gate (MPAS) added when no PD control is in them.

    Without it every other row of a custom selection would be flagged ``PD not confirmed``.

    Examples
    --------
    >>> [s.id for s in with_pd_control(["mhc1_apm"])]
    ['mhc1_apm', 'mapk_output_mpas']
    >>> with_pd_control("all")
    'all'
    """
    if isinstance(signatures, str) and signatures == "all":
        return signatures
    sigs = resolve(signatures)
    if any(s.id in PD_CONTROLS for s in sigs):
        return sigs
    return [*sigs, get(_PD_GATE)]


def _selected(frame: pd.DataFrame, signatures: SignatureSpec, keep: str | None) -> pd.DataFrame:
    """The columns of ``signatures`` (all for ``"all"``) and ``keep`` if stored; unknown refused."""
    if isinstance(signatures, str) and signatures == "all":
        return frame
    wanted = [s.id for s in resolve(signatures)]
    if keep in frame.columns and keep not in wanted:
        wanted.append(keep)
    absent = [s for s in wanted if s not in frame.columns]
    if absent:
        raise InputError(
            f"signature(s) {', '.join(absent)} not in the stored scores (columns: "
            f"{', '.join(map(str, frame.columns))}); score them first or pick from these"
        )
    return frame[wanted]


def stored_keys(adata: AnnData) -> list[str]:
    """``obsm`` keys holding mekscore scores (with provenance, else named ``mekscore_*``)."""
    found = [k for k in adata.uns.get("mekscore", {}) if k in adata.obsm]
    return found or [k for k in adata.obsm if str(k).startswith("mekscore_")]


def _only_stored_key(adata: AnnData) -> str | None:
    """The one stored score set (``aggregate="mean"`` without a method), or ``None``."""
    found = stored_keys(adata)
    if len(found) > 1:
        raise InputError(
            "several score sets in adata.obsm ({found}); name one with {scores!p}, or pass "
            "{method!p} to score the cells here",
            found=", ".join(found),
            scores=None,
            method=None,
        )
    return found[0] if found else None
