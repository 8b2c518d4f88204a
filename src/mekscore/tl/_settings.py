"""Scoring settings, one frozen object, and the one function that chooses the matrix.

:func:`~mekscore.tl.score`, :func:`~mekscore.tl.compare`, :func:`~mekscore.tl.signature_qc`
and :func:`~mekscore.tl.competitive` take the same keywords for the matrix (``layer``,
``use_raw``) and for gene matching (``gene_symbols``, ``species``, ``aliases``,
``min_genes``). Each stage reads only its own part of :class:`ScoreSettings`, so no list of
setting names is kept anywhere but in these dataclasses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any, Literal

import pandas as pd
from anndata import AnnData

from ..errors import InputError
from ..io.checks import looks_like_counts
from ..io.matrix import get_matrix

#: Keywords of ``tl.score`` that are not settings: they choose what is scored and where it goes.
RESERVED = ("signatures", "method", "inplace", "key_added")


@dataclass(frozen=True, kw_only=True)
class MatrixChoice:
    """Which matrix of an AnnData is scored: ``X``, ``layers[layer]`` or ``raw.X``."""

    layer: str | None = None
    use_raw: bool = False


@dataclass(frozen=True, kw_only=True)
class Matching:
    """How signature genes are found among the data's genes (see :mod:`mekscore.genes`)."""

    gene_symbols: str | None = None
    species: str = "auto"
    aliases: bool = True
    min_genes: int = 3


@dataclass(frozen=True, kw_only=True)
class Execution:
    """How the values are prepared and walked: normalisation, row chunks, progress bar."""

    log_normalize: bool | Literal["auto"] = "auto"
    chunk_size: int | None = None
    progress: bool = False


_PARTS = {"matrix": MatrixChoice, "matching": Matching, "execution": Execution}


@dataclass(frozen=True, kw_only=True)
class ScoreSettings:
    """Every setting of :func:`mekscore.tl.score` but the signatures and the method.

    ``method_params`` holds the method's own parameters (``max_rank=1000``...), checked
    by the method when it runs.

    Examples
    --------
    >>> s = ScoreSettings.from_keywords({"layer": "log", "species": "mouse", "max_rank": 900})
    >>> s.matrix.layer, s.matching.species, dict(s.method_params)
    ('log', 'mouse', {'max_rank': 900})
    >>> s.for_profiles().matrix
    MatrixChoice(layer=None, use_raw=False)
    """

    matrix: MatrixChoice = MatrixChoice()
    matching: Matching = Matching()
    execution: Execution = Execution()
    method_params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_keywords(cls, keywords: Mapping[str, Any] | None = None) -> ScoreSettings:
        """Settings from ``tl.score``'s flat keywords; unknown names are method parameters."""
        keywords = dict(keywords or {})
        reserved = sorted(set(RESERVED) & set(keywords))
        if reserved:
            raise InputError(
                f"score settings cannot set {', '.join(reserved)}; pass method=/signatures= "
                "to the function itself"
            )
        parts = {}
        for name, part in (
            ("matrix", MatrixChoice),
            ("matching", Matching),
            ("execution", Execution),
        ):
            own = {f.name: keywords.pop(f.name) for f in fields(part) if f.name in keywords}
            parts[name] = part(**own)
        return cls(**parts, method_params=MappingProxyType(keywords))

    def keywords(self) -> dict[str, Any]:
        """The flat keywords these settings came from (round trip of :meth:`from_keywords`)."""
        flat = {}
        for part in (self.matrix, self.matching, self.execution):
            flat.update({f.name: getattr(part, f.name) for f in fields(part)})
        return flat | dict(self.method_params)

    def recorded(self) -> dict[str, Any]:
        """The keywords that differ from the defaults, writable to h5ad/JSON (``None`` as ``""``).

        The progress bar changes no number and is left out.
        """
        defaults = ScoreSettings().keywords()
        changed = {
            k: v for k, v in self.keywords().items() if k not in defaults or defaults[k] != v
        }
        changed.pop("progress", None)
        return {k: "" if v is None else v for k, v in changed.items()}

    def for_profiles(self) -> ScoreSettings:
        """The settings for profiles built here (pseudobulk, bulk counts): they have one matrix."""
        return replace(self, matrix=MatrixChoice())


@dataclass(frozen=True)
class Matrix:
    """The chosen matrix, its genes (``var``) and its name in provenance and messages."""

    X: Any
    var: pd.DataFrame
    name: str

    def gene_names(self, gene_symbols: str | None) -> pd.Index:
        """Gene names to match signatures against: ``var_names`` or a ``var`` column."""
        if gene_symbols is None:
            return self.var.index.astype(str)
        if gene_symbols not in self.var.columns:
            raise InputError(
                "{gene_symbols=} is not a column of the genes' table (var columns: {columns})",
                gene_symbols=gene_symbols,
                columns=", ".join(map(str, self.var.columns)) or "none",
            )
        return pd.Index(self.var[gene_symbols].astype(str))


def choose_matrix(adata: AnnData, choice: MatrixChoice) -> Matrix:
    """The matrix ``choice`` names: ``adata.X``, a layer, or ``adata.raw``.

    Examples
    --------
    >>> import numpy as np
    >>> a = AnnData(np.ones((2, 3)), layers={"log": np.zeros((2, 3))})
    >>> choose_matrix(a, MatrixChoice(layer="log")).name
    'log'
    >>> choose_matrix(a, MatrixChoice(use_raw=True))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    mekscore.errors.InputError: use_raw=True but the data have no .raw; drop use_raw ...
    """
    if not choice.use_raw:
        return Matrix(get_matrix(adata, choice.layer), adata.var, choice.layer or "X")
    if choice.layer is not None:
        raise InputError(
            "{layer!p} and {use_raw!p} both choose the matrix to score; give only one",
            layer=choice.layer,
            use_raw=choice.use_raw,
        )
    if adata.raw is None:
        raise InputError(
            "{use_raw=} but the data have no .raw; drop {use_raw!p} to score X, or pass "
            "{layer!p} naming a layer",
            use_raw=choice.use_raw,
            layer=choice.layer,
        )
    return Matrix(adata.raw.X, adata.raw.var, "raw.X")


def choose_counts(adata: AnnData, counts_layer: str | None) -> Matrix | None:
    """The raw counts: ``layers[counts_layer]``, else ``X`` if it holds counts, else ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> choose_counts(AnnData(np.array([[1.0, 0.0], [120.0, 7.0]])), "counts").name
    'X'
    """
    if counts_layer is not None and counts_layer in adata.layers:
        return Matrix(adata.layers[counts_layer], adata.var, counts_layer)
    if adata.X is None:
        return None
    X = adata.X
    head = X[: min(2000, X.shape[0])]
    head = head.compute() if hasattr(head, "compute") else head  # a Dask block
    return Matrix(X, adata.var, "X") if looks_like_counts(head) else None
