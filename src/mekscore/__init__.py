"""mekscore: curated MEK-inhibitor immune signatures for single-cell and bulk data."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mekscore")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

from . import sig, tl

__all__ = ["__version__", "sig", "tl"]
