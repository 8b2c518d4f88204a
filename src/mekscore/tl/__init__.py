"""Tools: scoring and treated-vs-control comparison."""

from .compare import compare
from .qc import signature_qc
from .score import score

__all__ = ["compare", "score", "signature_qc"]
