"""Scoring methods: one module per kernel, one record per method, looked up by name.

The records (:mod:`._records`) hold every fact about a method and are read without
importing numpy; a kernel module is imported only when its method is used, so
``import mekscore`` and ``mekscore --help`` stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from ._base import DATA_KINDS, Method, Param
from ._records import RECORDS

if TYPE_CHECKING:
    from .._geneset import GeneSet

#: Kernel module of each method.
_MODULES = {"scanpy": "scanpy_score"}

METHOD_NAMES = tuple(RECORDS)
#: Methods that read each observation's own gene ranks, and those that standardise or
#: average values across genes and observations (``tl.compare_methods`` pairs one of each).
RANK_BASED = tuple(name for name, m in RECORDS.items() if m.kind == "rank")
STANDARDISED = tuple(name for name, m in RECORDS.items() if m.kind == "standardised")
#: Methods that score data larger than memory (row-wise, or affine in two passes).
STREAMABLE = tuple(name for name, m in RECORDS.items() if m.streaming is not None)


def method_info(name: str) -> Method:
    """The record of method ``name`` without its kernel (no numerical import).

    Examples
    --------
    >>> method_info("ucell").defaults["max_rank"], method_info("gsva").streaming
    (1500, None)
    """
    if name not in RECORDS:
        from ..errors import InputError

        raise InputError(
            "{method=} is unknown; choose one of: {names}",
            method=name,
            names=", ".join(METHOD_NAMES),
        )
    return RECORDS[name]


def get_method(name: str) -> Method:
    """The :class:`Method` called ``name``, with its kernel bound.

    Examples
    --------
    >>> get_method("mean").row_wise
    True
    """
    method_info(name)
    return import_module(f".{_MODULES.get(name, name)}", __name__).METHOD


def default_method(kind: str) -> str:
    """The default method for a kind of data: ``"cells"`` or ``"samples"``.

    ``score`` and ``compare`` share it: single cells are scored with UCell, bulk
    samples and pseudobulk profiles with the mean (each record says why).

    Examples
    --------
    >>> default_method("cells"), default_method("samples")
    ('ucell', 'mean')
    """
    if kind not in DATA_KINDS:
        from ..errors import InputError

        raise InputError(f"unknown data kind {kind!r}; use one of {', '.join(DATA_KINDS)}")
    (name,) = (name for name, m in RECORDS.items() if kind in m.default_for)
    return name


def __getattr__(name: str):
    """``GeneSet`` (it needs numpy), imported on first use."""
    if name == "GeneSet":
        return import_module(".._geneset", __name__).GeneSet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DATA_KINDS",
    "METHOD_NAMES",
    "RANK_BASED",
    "STANDARDISED",
    "STREAMABLE",
    "GeneSet",
    "Method",
    "Param",
    "default_method",
    "get_method",
    "method_info",
]
