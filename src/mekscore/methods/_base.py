"""The contract every scoring method follows.

A method is a kernel ``func(X, gene_sets, **params)`` where ``X`` is an
observations x genes matrix, either a dense ``numpy.ndarray`` (float) or a
``scipy.sparse.csr_matrix``, already checked for NaN/inf by the caller, and
``gene_sets`` is a sequence of :class:`GeneSet` holding *column indices* into ``X``
(genes were matched once, up front, by :mod:`mekscore.genes`).

The kernel returns a float64 array of shape ``(n_obs, n_sets)``, or a dict of such
arrays whose ``"score"`` entry is the main score (extra entries, e.g. singscore's
``"up"``, ``"down"`` and ``"dispersion"``, are stored next to it).

``row_wise=True`` methods score each observation independently: the caller may
hand them row chunks. Methods that need statistics across observations
(GSVA's gene CDFs, z-scores, PLAGE, scanpy's control genes) get the whole matrix.
A method's ``finalize`` (if any) runs once on the full score matrix (ssGSEA's
normalisation by the range over all sets and samples).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .._geneset import GeneSet, as_index

MethodOutput = np.ndarray | dict[str, np.ndarray]


@dataclass(frozen=True)
class Method:
    """A registered scoring method.

    Parameters
    ----------
    name
        Public name used by ``tl.score(method=...)`` and the CLI.
    func
        The kernel (see module docstring).
    defaults
        Parameter defaults, exactly as the reference implementation names them here.
    row_wise
        Whether rows can be scored independently (chunked, streamed, Dask blocks).
    data
        ``"log"`` if the method expects log-normalised data, ``"any"`` if rank-based
        or scale-free, ``"counts"`` for count-model methods.
    reference
        The implementation the numbers are tested against.
    signed
        How down genes are used, in one sentence (documented in the README table).
    finalize
        Optional function applied once to the full ``(n_obs, n_sets)`` score matrix.
    affine
        For methods that are not row-wise but whose score is ``X @ W + offset`` once
        per-gene moments are known: ``affine(moments, gene_sets, params) -> (W, offset)``.
        It lets backed files and Dask arrays be scored in two streaming passes
        (see :mod:`mekscore.methods._affine`).
    """

    name: str
    func: Callable[..., MethodOutput]
    defaults: dict[str, Any]
    row_wise: bool
    data: Literal["log", "any", "counts"]
    reference: str
    signed: str
    finalize: Callable[[np.ndarray, dict[str, Any]], np.ndarray] | None = None
    affine: Callable[..., tuple[Any, np.ndarray]] | None = None

    def params(self, given: dict[str, Any]) -> dict[str, Any]:
        """Defaults updated with ``given``; unknown parameters are an error."""
        unknown = set(given) - set(self.defaults)
        if unknown:
            from ..errors import InputError

            raise InputError(
                f"method {self.name!r} has no parameter(s) {sorted(unknown)}; "
                f"its parameters are {sorted(self.defaults)}"
            )
        return {**self.defaults, **given}


__all__ = ["GeneSet", "Method", "MethodOutput", "as_index"]
