"""mekscore: curated MEK-inhibitor immune signatures for single-cell and bulk data.

Namespaces follow scanpy: ``mk.tl`` (score, compare), ``mk.pp`` (normalisation),
``mk.pl`` (figures), ``mk.sig`` (signature library), ``mk.datasets`` (example data),
``mk.report``.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mekscore")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

from . import sig, tl

_LAZY = ("pl", "pp", "report", "datasets", "genes", "io", "methods")


def __getattr__(name: str):
    """Import the plotting, report and dataset namespaces on first use."""
    if name in _LAZY:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'mekscore' has no attribute {name!r}")


__all__ = ["__version__", "datasets", "genes", "io", "methods", "pl", "pp", "report", "sig", "tl"]
