"""``tl.score``: the front door that scores an AnnData with signatures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .. import __version__, pp
from ..errors import InputError, Setting, warn
from ..genes import SignatureMatch, match_signatures
from ..io.checks import (
    check_finite,
    check_not_empty,
    count_empty_rows,
    value_kind,
    values_of,
)
from ..io.matrix import as_scorable
from ..methods import Method, get_method
from ..sig import resolve
from ..sig.gmt import SignatureSpec
from ._execute import in_memory, is_dask, run_method
from ._settings import (
    Execution,
    Matching,
    Matrix,
    MatrixChoice,
    ScoreSettings,
    choose_matrix,
)

#: Rows inspected to tell counts, unlogged, scaled and log data apart.
_SAMPLE_ROWS = 2000


def score(  # noqa: PLR0913 - public keyword API, like scanpy.tl.score_genes
    adata: AnnData,
    signatures: SignatureSpec = "all",
    method: str = "ucell",
    *,
    layer: str | None = None,
    use_raw: bool = False,
    log_normalize: bool | Literal["auto"] = "auto",
    gene_symbols: str | None = None,
    species: str = "auto",
    inplace: bool = True,
    chunk_size: int | None = None,
    min_genes: int = 3,
    aliases: bool = True,
    key_added: str | None = None,
    progress: bool = False,
    **method_params: Any,
) -> pd.DataFrame | None:
    """Score every observation of ``adata`` with gene signatures.

    Parameters
    ----------
    adata
        Cells x genes (single-cell) or samples x genes (bulk). ``X`` (or ``layer``)
        may be dense or scipy sparse; sparse data are never densified.
    signatures
        ``"all"`` (the bundled library), library ids (list or comma-separated),
        a dict ``name -> genes`` or ``name -> {"up": [...], "down": [...]}``, a GMT
        path, or :class:`~mekscore.sig.Signature` objects.
    method
        One of :data:`mekscore.methods.METHOD_NAMES` (see the README's method table);
        ``ucell`` by default (for bulk samples ``mekscore.methods.default_method("samples")``,
        ``mean``, is the command line's default).
    layer
        Score ``adata.layers[layer]`` instead of ``adata.X``.
    use_raw
        Score ``adata.raw`` (with its own genes), e.g. the log data that scanpy keeps
        beside a scaled ``X``.
    log_normalize
        ``"auto"``: raw counts given to a method that expects log data (its record's
        ``data`` is ``"log"``: see the README's method table) are scored as
        :func:`mekscore.pp.log_normalize` of them (``log1p(CP10k)``), row chunk by
        row chunk, with a warning; ``True``: always do that; ``False``: score the
        values as given. The matrix in ``adata`` is never changed. Whatever the
        setting, data that look scaled (negative, genes centred on 0) or unlogged
        (TPM/FPKM-like) for the method, and all-zero observations, get a warning.
    gene_symbols
        Column of ``adata.var`` holding gene symbols when ``var_names`` are IDs.
    species
        ``"human"``, ``"mouse"`` or ``"auto"``; curated signatures are translated to
        their curated MGI symbols for mouse data.
    inplace
        Store the scores in ``adata.obsm[key]`` and their provenance in
        ``adata.uns["mekscore"][key]``, where ``key`` is ``key_added`` (default
        ``"mekscore_<method>"``), and return ``None``; ``False``: return the scores and
        leave ``adata`` untouched. Provenance is keyed by ``key``, so two runs of one
        method under different keys both keep theirs; it records ``method``,
        ``params``, ``obsm_key``, ``version``, the matrix scored, gene matching and,
        per signature, the genes used and missing. Parameters whose value is ``None``
        are left out of ``params`` (h5ad cannot store ``None``), so an absent
        parameter means ``None``. Methods with extra outputs store them next to the
        score: singscore adds ``adata.obsm[key + "_up"]``, ``[key + "_down"]`` (NaN
        for signatures without that part) and ``[key + "_dispersion"]`` (TotalDispersion:
        the median absolute deviation of the signature genes' ranks, averaged over
        the up and down parts).
    chunk_size
        Rows per chunk for row-wise methods (bounds memory on large data).
    min_genes
        Signatures with fewer matched genes are skipped with a warning; their
        column is NaN so the result's shape does not depend on the data. A
        signature with fewer genes than ``min_genes`` (e.g. the 2-gene cytolytic
        activity) is scored only when all its genes are found.
    aliases
        Match genes also by unambiguous previous/alias symbols (e.g. ``VEGF`` for
        ``VEGFA``) and case-insensitively; ``False`` matches exact symbols and
        Ensembl IDs only, as GSVA and scanpy do.
    key_added
        ``obsm`` and ``uns["mekscore"]`` key to use instead of ``"mekscore_<method>"``.
    progress
        Show a progress bar over row chunks on stderr.
    **method_params
        Parameters of the method, e.g. ``max_rank=1500`` for UCell.

    Returns
    -------
    ``None`` when ``inplace``; otherwise the observations x signatures scores.

    Examples
    --------
    >>> import mekscore as mk, scanpy as sc
    >>> adata = sc.datasets.pbmc68k_reduced()  # X is scaled; the log data are in .raw
    >>> mk.tl.score(adata, {"T": ["CD3D", "CD3E", "CD2"]}, method="ucell", use_raw=True)
    >>> adata.obsm["mekscore_ucell"].shape
    (700, 1)
    >>> adata.uns["mekscore"]["mekscore_ucell"]["method"]
    'ucell'
    """
    settings = ScoreSettings(
        matrix=MatrixChoice(layer=layer, use_raw=use_raw),
        matching=Matching(
            gene_symbols=gene_symbols, species=species, aliases=aliases, min_genes=min_genes
        ),
        execution=Execution(log_normalize=log_normalize, chunk_size=chunk_size, progress=progress),
        method_params=MappingProxyType(method_params),
    )
    scored = score_with(adata, signatures, method, settings)
    if not inplace:
        return scored.frames["score"]
    key = key_added or f"mekscore_{method}"
    frames = dict(scored.frames)
    adata.obsm[key] = frames.pop("score")
    for extra, frame in frames.items():
        adata.obsm[f"{key}_{extra}"] = frame
    adata.uns.setdefault("mekscore", {})[key] = scored.provenance(key)
    return None


@dataclass(frozen=True)
class Scored:
    """What one scoring run produced: the score frames and everything its provenance records."""

    frames: dict[str, pd.DataFrame]
    method: str
    params: dict[str, Any]
    settings: ScoreSettings
    matrix: str
    species: str
    matches: list[SignatureMatch]
    normalised: bool

    @property
    def genes(self) -> dict[str, dict[str, Any]]:
        """Per signature: version, whether it scored, genes used and missing."""
        return _matching(self.matches, self.settings.matching.min_genes)

    def provenance(self, key: str) -> dict[str, Any]:
        """The ``uns["mekscore"][key]`` entry of these scores."""
        matching = self.settings.matching
        return {
            "method": self.method,
            "params": {k: _plain(v) for k, v in self.params.items() if v is not None},
            "obsm_key": key,
            "version": __version__,
            "layer": self.settings.matrix.layer or "X",
            "gene_symbols": matching.gene_symbols or "var_names",
            "species": self.species,
            "min_genes": matching.min_genes,
            "aliases": matching.aliases,
            "signatures": self.genes,
            "matrix": self.matrix,
            "normalization": pp.LOG_CP10K if self.normalised else "none",
        }


def score_with(
    adata: AnnData, signatures: SignatureSpec, method: str, settings: ScoreSettings
) -> Scored:
    """Score ``adata`` with ``settings`` and return the scores with their provenance.

    The engine behind :func:`score`; :func:`~mekscore.tl.compare` and
    :func:`~mekscore.tl.signature_qc` call it with their own settings.
    """
    meth = get_method(method)
    params = meth.params(dict(settings.method_params))
    matrix = choose_matrix(adata, settings.matrix)
    check_not_empty(matrix.X)
    matches, species_used = _matches(matrix, signatures, settings.matching)
    scorable = _scorable(matches, settings.matching.min_genes, matrix.var.index)
    X = matrix.X
    if in_memory(X):
        X = as_scorable(X)
        check_finite(X)
    normalise = _check_values(
        X,
        meth,
        params,
        settings.execution.log_normalize,
        matrix=matrix.name,
        fixes=_fixes(adata, use_raw=settings.matrix.use_raw),
    )
    outputs = run_method(
        meth,
        X,
        [m.gene_set for m in scorable],
        params,
        chunk_size=settings.execution.chunk_size,
        progress=settings.execution.progress,
        transform=pp.log_normalize if normalise else None,
    )
    frames = _to_frames(outputs, [m.signature.id for m in matches], scorable, adata.obs_names)
    return Scored(frames, method, params, settings, matrix.name, species_used, matches, normalise)


def _matches(matrix: Matrix, signatures: SignatureSpec, matching: Matching):
    """Signature genes matched to the matrix's genes: ``(matches, species used)``."""
    names = matrix.gene_names(matching.gene_symbols)
    return match_signatures(resolve(signatures), names, matching.species, aliases=matching.aliases)


def _fixes(adata: AnnData, *, use_raw: bool) -> str:
    """Where better data may be: ``"raw"`` (an unused .raw), ``"layers"``, or ``"none"``."""
    if adata.raw is not None and not use_raw:
        return "raw"
    return "layers" if len(adata.layers) else "none"


def _check_values(X, meth: Method, params: dict, normalize, *, matrix: str, fixes: str) -> bool:
    """Warn about what the values look like for ``meth``; whether to log-normalise them."""
    if normalize not in ("auto", True, False):
        raise InputError("{log_normalize=} must be 'auto', True or False", log_normalize=normalize)
    sample = _row_sample(X)
    kind = value_kind(sample)
    expects = _expects(meth, params)
    auto = normalize == "auto" and kind == "counts" and expects == "log"
    _warn_empty_rows(X, sample)
    if kind == "counts" and expects == "log" and normalize == "auto":
        warn(
            "the {matrix} matrix looks like raw counts and method {method!r} expects log data: "
            "scoring {log_cp10k} of it (mk.pp.log_normalize, row by row; the input's values "
            "are kept); pass {as_given} to score the values as given",
            stacklevel=3,
            matrix=matrix,
            method=meth.name,
            log_cp10k=pp.LOG_CP10K,
            as_given=Setting("log_normalize", value=False),
        )
    elif kind == "unlogged" and expects == "log" and normalize is not True:
        _warn_unlogged(sample, matrix, meth.name, fixes)
    elif kind == "scaled" and not meth.standardises_genes:
        _warn_scaled(matrix, meth.name, expects, fixes)
    return auto or normalize is True


def _warn_unlogged(sample, matrix: str, name: str, fixes: str) -> None:
    """Unlogged (TPM/FPKM-like) data for a log method, with fixes that fit the input."""
    where = {
        "raw": "score the log data in .raw ({use_raw})",
        "layers": "name a log-normalised layer with {layer!p}",
        "none": "score log data",
    }[fixes]
    warn(
        "the {matrix} matrix looks unlogged (values up to {top:,.0f} that are not whole "
        "numbers: TPM/FPKM-like) but method {method!r} expects log data; pass {always} "
        "(log1p of CP10k), log-transform it first (log2(x + 1)), " + where + ", or use a "
        "rank method such as {rank}, which any monotone scale suits",
        stacklevel=4,
        matrix=matrix,
        top=float(values_of(sample).max()),
        method=name,
        always=Setting("log_normalize", value=True),
        use_raw=Setting("use_raw", value=True),
        layer=None,
        rank=Setting("method", "singscore"),
    )


def _warn_scaled(matrix: str, name: str, expects: str, fixes: str) -> None:
    """Scaled data (genes centred on 0) for a method that does not standardise genes."""
    why = (
        "per-gene scaling changes the gene ranks within each observation"
        if expects == "any"
        else "it expects log-normalised expression"
    )
    fix = {
        "raw": "pass {use_raw} (the data have .raw)",
        "layers": "name a log-normalised layer with {layer!p}",
        "none": "score log-normalised data instead",
    }[fixes]
    warn(
        "the {matrix} matrix looks scaled (negative values, genes centred on 0, as after "
        "sc.pp.scale), so method {method!r} gives misleading scores: {why}; " + fix,
        stacklevel=4,
        matrix=matrix,
        method=name,
        why=why,
        use_raw=Setting("use_raw", value=True),
        layer=None,
    )


def _expects(meth: Method, params: dict) -> str:
    """The data ``meth`` expects with ``params`` (GSVA's Poisson kernel wants counts)."""
    return "counts" if params.get("kcdf") == "poisson" else meth.data


def _warn_empty_rows(X, sample) -> None:
    """Warn about all-zero observations (counted in ``sample`` when not in memory)."""
    whole = in_memory(X)
    n_empty = count_empty_rows(X if whole else sample)
    if n_empty:
        warn(
            "{n_empty} of {of} observations are all zero (no counts), so their scores carry no "
            "information; remove them first, e.g. sc.pp.filter_cells(adata, min_counts=1)",
            stacklevel=4,
            n_empty=n_empty,
            of=f"{X.shape[0]}" if whole else f"the first {sample.shape[0]}",
        )


def _scorable(
    matches: Sequence[SignatureMatch], min_genes: int, names: pd.Index
) -> list[SignatureMatch]:
    keep = [m for m in matches if _enough(m, min_genes)]
    for m in matches:
        if not _enough(m, min_genes):
            warn(
                "signature {sig!r} skipped: {n_found} of {n_genes} genes found, fewer than "
                "{min_genes} ({limit!p}){missing}",
                stacklevel=3,
                sig=m.signature.id,
                n_found=m.n_found,
                n_genes=m.n_found + len(m.missing),
                min_genes=min_genes,
                limit=Setting("min_genes", min_genes),
                missing=f"; missing: {', '.join(m.missing[:10])}" if m.missing else "",
            )
    if not keep:
        raise InputError(
            "no signature has at least {min_genes} of its genes in the data ({n_vars} genes, "
            "e.g. {examples}); if the gene names are IDs name the column of symbols with "
            "{gene_symbols!p}, or set {species!p} (human or mouse)",
            min_genes=min_genes,
            n_vars=len(names),
            examples=", ".join(map(str, names[:5])),
            gene_symbols=None,
            species=None,
        )
    return keep


def _enough(match: SignatureMatch, min_genes: int) -> bool:
    """Enough genes: ``min_genes``, or all of them for a signature smaller than that."""
    return match.n_found > 0 and match.n_found >= min(min_genes, match.n_found + len(match.missing))


def _row_sample(X, n: int = _SAMPLE_ROWS):
    """At most ``n`` rows for the data-type heuristics.

    Evenly spaced rows when in memory; the first rows when on disk or in Dask (no
    extra pass over the data).
    """
    if in_memory(X):
        return X[:: -(-X.shape[0] // n)]
    head = X[: min(n, X.shape[0])]
    return as_scorable(head.compute() if is_dask(head) else head)


def _to_frames(outputs, ids, scorable, obs_names) -> dict[str, pd.DataFrame]:
    """Full-width frames: skipped signatures are NaN columns, in the requested order."""
    scored = [m.signature.id for m in scorable]
    frames = {}
    for key, values in outputs.items():
        frame = pd.DataFrame(values, index=obs_names, columns=scored)
        frames[key] = frame.reindex(columns=ids)
    return frames


def gene_matching(
    matrix: Matrix, signatures: SignatureSpec, matching: Matching
) -> dict[str, dict[str, Any]]:
    """Per signature, the genes :func:`score` uses and misses in ``matrix``, and whether it scores.

    The same entries as ``adata.uns["mekscore"][key]["signatures"]`` after
    :func:`score` with these settings, without scoring.

    Examples
    --------
    >>> import scanpy as sc
    >>> adata = sc.datasets.pbmc68k_reduced()
    >>> raw = choose_matrix(adata, MatrixChoice(use_raw=True))
    >>> t = gene_matching(raw, {"T": ["CD3D", "CD3E", "NOTAGENE"]}, Matching())["T"]
    >>> t["genes_used"], t["genes_missing"], t["scored"]  # 2 genes < min_genes=3
    (['CD3D', 'CD3E'], ['NOTAGENE'], False)
    """
    matches, _species = _matches(matrix, signatures, matching)
    return _matching(matches, matching.min_genes)


def _matching(matches: Sequence[SignatureMatch], min_genes: int) -> dict[str, dict[str, Any]]:
    return {
        m.signature.id: {
            "version": m.signature.version,
            "scored": bool(_enough(m, min_genes)),
            "genes_used": list(m.found.values()),
            "genes_missing": list(m.missing),
        }
        for m in matches
    }


def _plain(value):
    """A parameter as an h5ad-writable value (``None`` is left out by the caller)."""
    if isinstance(value, np.generic):
        return value.item()
    return value
