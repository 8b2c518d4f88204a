"""Tools: scoring and treated-vs-control comparison."""

from .compare import compare
from .score import score

__all__ = ["compare", "score"]
