"""mekscore: curated MEK-inhibitor immune signatures for single-cell and bulk data.

Namespaces follow scanpy: ``mk.tl`` (score, compare), ``mk.pp`` (normalisation),
``mk.pl`` (figures), ``mk.sig`` (signature library), ``mk.datasets`` (example data),
``mk.report``. Each is imported on first use, so ``import mekscore`` (and the command
line's ``--help``) does not load the numerical stack.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mekscore")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

_LAZY = ("datasets", "genes", "io", "methods", "pl", "pp", "report", "sig", "tl")


def __getattr__(name: str):
    """Import a namespace (``mk.tl``, ``mk.sig``...) on first use."""
    if name in _LAZY:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'mekscore' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = ["__version__", *_LAZY]
