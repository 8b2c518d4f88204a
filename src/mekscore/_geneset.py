"""Gene sets as column indices: the one type shared by gene matching and the methods.

:mod:`mekscore.genes` builds :class:`GeneSet` objects and :mod:`mekscore.methods`
scores them; both import them from here, so neither package depends on the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class GeneSet:
    """A signature resolved to column indices of the matrix being scored.

    ``n_missing_up`` and ``n_missing_down`` count the signature's up and down genes
    that were not found in the data (UCell's ``missing_genes="impute"`` uses them).

    Examples
    --------
    >>> GeneSet("s", up=as_index([0, 2]), down=as_index([5])).size
    3
    """

    name: str
    up: np.ndarray
    down: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    up_weights: np.ndarray | None = None
    down_weights: np.ndarray | None = None
    n_missing_up: int = 0
    n_missing_down: int = 0

    @property
    def size(self) -> int:
        """Number of genes (up and down)."""
        return len(self.up) + len(self.down)


def as_index(values: Sequence[int] | np.ndarray) -> np.ndarray:
    """Column indices as a contiguous int64 array.

    Examples
    --------
    >>> as_index([3, 1]).dtype
    dtype('int64')
    """
    return np.ascontiguousarray(values, dtype=np.int64)
