"""Scoring methods: one module per method, looked up by name.

Modules are imported lazily so that ``import mekscore`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._base import GeneSet, Method, MethodOutput

_BASE_NAMES = ("GeneSet", "Method", "MethodOutput")

_MODULES = {
    "ucell": "ucell",
    "aucell": "aucell",
    "singscore": "singscore",
    "ssgsea": "ssgsea",
    "gsva": "gsva",
    "zscore": "zscore",
    "plage": "plage",
    "scanpy": "scanpy_score",
    "mean": "mean",
}

METHOD_NAMES = tuple(_MODULES)


def get_method(name: str) -> Method:
    """Return the registered :class:`Method` called ``name``.

    Examples
    --------
    >>> get_method("mean").row_wise
    True
    """
    if name not in _MODULES:
        from ..errors import InputError

        raise InputError(f"unknown method {name!r}; choose one of: {', '.join(METHOD_NAMES)}")
    return import_module(f".{_MODULES[name]}", __name__).METHOD


def __getattr__(name: str):
    """The method model (``GeneSet``, ``Method``...), imported on first use (it needs numpy)."""
    if name in _BASE_NAMES:
        return getattr(import_module("._base", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["METHOD_NAMES", "GeneSet", "Method", "MethodOutput", "get_method"]
