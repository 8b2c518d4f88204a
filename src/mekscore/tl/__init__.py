"""Tools: scoring and treated-vs-control comparison.

Every function lives in a private module (``_score.py`` holds :func:`score`), so no public
name is shadowed by its module.
"""

from ._compare import compare
from ._competitive import competitive
from ._consensus import compare_methods
from ._designspec import Design
from ._qc import signature_qc
from ._score import score

__all__ = ["Design", "compare", "compare_methods", "competitive", "score", "signature_qc"]
