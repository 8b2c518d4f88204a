"""Tools: scoring and treated-vs-control comparison.

``mekscore.tl.competitive`` is the function :func:`~mekscore.tl.competitive.competitive`;
its module stays importable as ``from mekscore.tl.competitive import ...``.
"""

from ._consensus import compare_methods
from .compare import compare
from .competitive import competitive
from .qc import signature_qc
from .score import score

__all__ = ["compare", "compare_methods", "competitive", "score", "signature_qc"]
