"""Tools: scoring and treated-vs-control comparison."""

from .score import score

__all__ = ["score"]
