"""``tl.score``: the front door that scores an AnnData with signatures."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from .. import __version__
from ..genes import SignatureMatch, match_signatures
from ..io.checks import InputError, check_finite, check_not_empty, looks_like_counts
from ..io.matrix import as_scorable, get_matrix
from ..methods import get_method
from ..sig import resolve
from ..sig.gmt import SignatureSpec
from ._execute import in_memory, is_dask, run_method


def score(
    adata: AnnData,
    signatures: SignatureSpec = "all",
    method: str = "ucell",
    *,
    layer: str | None = None,
    gene_symbols: str | None = None,
    species: str = "auto",
    inplace: bool = True,
    chunk_size: int | None = None,
    min_genes: int = 3,
    aliases: bool = True,
    key_added: str | None = None,
    progress: bool = False,
    **method_params: Any,
) -> pd.DataFrame:
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
        One of ``ucell``, ``aucell``, ``singscore``, ``ssgsea``, ``gsva``, ``zscore``,
        ``plage``, ``scanpy``, ``mean`` (see the README's method table).
    layer
        Score ``adata.layers[layer]`` instead of ``adata.X``.
    gene_symbols
        Column of ``adata.var`` holding gene symbols when ``var_names`` are IDs.
    species
        ``"human"``, ``"mouse"`` or ``"auto"``; curated signatures are translated to
        their curated MGI symbols for mouse data.
    inplace
        Store results in ``adata.obsm["mekscore_<method>"]`` and provenance in
        ``adata.uns["mekscore"][<method>]``.
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
        ``obsm`` key to use instead of ``"mekscore_<method>"``.
    progress
        Show a progress bar over row chunks on stderr.
    **method_params
        Parameters of the method, e.g. ``max_rank=1500`` for UCell.

    Returns
    -------
    Observations x signatures scores.

    Examples
    --------
    >>> import mekscore as mk, scanpy as sc
    >>> adata = sc.datasets.pbmc68k_reduced().raw.to_adata()  # doctest: +SKIP
    >>> mk.tl.score(adata, {"T": ["CD3D", "CD3E", "CD2"]}, method="ucell").head()  # doctest: +SKIP
    """
    meth = get_method(method)
    params = meth.params(method_params)
    sigs = resolve(signatures)
    X = get_matrix(adata, layer)
    check_not_empty(X)
    names = _gene_names(adata, gene_symbols)
    matches, species_used = match_signatures(sigs, names, species, aliases=aliases)
    scorable = _scorable(matches, min_genes, n_vars=len(names), example_names=names[:5])
    if in_memory(X):
        X = as_scorable(X)
        check_finite(X)
    if meth.data == "log" and looks_like_counts(_first_rows(X)):
        warnings.warn(
            f"the data look like raw counts but method {method!r} expects log-normalised "
            "values; run sc.pp.normalize_total and sc.pp.log1p first (or pass layer=...)",
            UserWarning,
            stacklevel=2,
        )
    gene_sets = [m.gene_set for m in scorable]
    outputs = run_method(meth, X, gene_sets, params, chunk_size=chunk_size, progress=progress)
    frames = _to_frames(outputs, [m.signature.id for m in matches], scorable, adata.obs_names)
    if inplace:
        key = key_added or f"mekscore_{method}"
        adata.obsm[key] = frames.pop("score")
        for extra, frame in frames.items():
            adata.obsm[f"{key}_{extra}"] = frame
        adata.uns.setdefault("mekscore", {})[method] = _provenance(
            method, params, layer, gene_symbols, species_used, matches, min_genes, aliases, key
        )
        return adata.obsm[key]
    return frames["score"]


def _gene_names(adata: AnnData, gene_symbols: str | None) -> pd.Index:
    if gene_symbols is None:
        return adata.var_names.astype(str)
    if gene_symbols not in adata.var.columns:
        raise InputError(
            f"gene_symbols column {gene_symbols!r} not in adata.var "
            f"(columns: {', '.join(map(str, adata.var.columns)) or 'none'})"
        )
    return pd.Index(adata.var[gene_symbols].astype(str))


def _scorable(
    matches: Sequence[SignatureMatch], min_genes: int, n_vars: int, example_names
) -> list[SignatureMatch]:
    keep = [m for m in matches if _enough(m, min_genes)]
    for m in matches:
        if not _enough(m, min_genes):
            missing = f"; missing: {', '.join(m.missing[:10])}" if m.missing else ""
            warnings.warn(
                f"signature {m.signature.id!r} skipped: {m.n_found} of "
                f"{m.n_found + len(m.missing)} genes found, fewer than "
                f"min_genes={min_genes}{missing}",
                UserWarning,
                stacklevel=3,
            )
    if not keep:
        raise InputError(
            f"no signature has at least {min_genes} of its genes in the data "
            f"({n_vars} genes, e.g. {', '.join(map(str, example_names))}); if var_names are IDs "
            "pass gene_symbols=<var column>, or set species='human'/'mouse'"
        )
    return keep


def _enough(match: SignatureMatch, min_genes: int) -> bool:
    """Enough genes: ``min_genes``, or all of them for a signature smaller than that."""
    return match.n_found > 0 and match.n_found >= min(min_genes, match.n_found + len(match.missing))


def _first_rows(X, n: int = 2000):
    """A small in-memory sample of rows, for data-type heuristics."""
    if in_memory(X):
        return X
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


def _provenance(
    method, params, layer, gene_symbols, species, matches, min_genes, aliases, key
) -> dict:
    return {
        "params": {k: _plain(v) for k, v in params.items()},
        "obsm_key": key,
        "version": __version__,
        "layer": layer or "X",
        "gene_symbols": gene_symbols or "var_names",
        "species": species,
        "min_genes": min_genes,
        "aliases": aliases,
        "signatures": {
            m.signature.id: {
                "version": m.signature.version,
                "scored": bool(_enough(m, min_genes)),
                "genes_used": list(m.found.values()),
                "genes_missing": list(m.missing),
            }
            for m in matches
        },
    }


def _plain(value):
    """Parameters as h5ad-writable values."""
    if value is None:
        return "None"
    if isinstance(value, np.generic):
        return value.item()
    return value
