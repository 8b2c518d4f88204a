"""Checks on expression matrices: finite values, negatives, raw counts, duplicated names."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse


class InputError(ValueError):
    """Input data that cannot be scored as given; the message says how to fix it."""


def values_of(X) -> np.ndarray:
    """The stored values of a dense or sparse matrix (no copy for CSR/CSC data)."""
    return X.data if sparse.issparse(X) else np.asarray(X)


def check_not_empty(X) -> None:
    """Refuse a matrix with no observations or no genes."""
    n_obs, n_vars = X.shape
    if n_obs == 0 or n_vars == 0:
        raise InputError(
            f"the expression matrix is empty ({n_obs} observations x {n_vars} genes); "
            "check the input file and any filtering applied before scoring"
        )


def check_finite(X) -> None:
    """Refuse NaN or infinite values, saying how many there are.

    Examples
    --------
    >>> check_finite(np.ones((2, 2)))
    """
    vals = values_of(X)
    bad = ~np.isfinite(vals)
    if bad.any():
        n_nan = int(np.isnan(vals).sum())
        raise InputError(
            f"the expression matrix has {n_nan} NaN and {int(bad.sum()) - n_nan} infinite "
            "values; impute or remove them (e.g. fill missing values with 0) before scoring"
        )


def has_negative(X) -> bool:
    """Whether any stored value is negative (scaled or centred data)."""
    vals = values_of(X)
    return bool(vals.size) and float(vals.min()) < 0


def looks_like_counts(X, *, sample: int = 200_000) -> bool:
    """Heuristic: non-negative integers with a large maximum look like raw counts.

    Examples
    --------
    >>> looks_like_counts(np.array([[0.0, 3.0], [120.0, 7.0]]))
    True
    >>> looks_like_counts(np.log1p(np.array([[0.0, 3.0], [120.0, 7.0]])))
    False
    """
    vals = values_of(X).ravel()
    if vals.size == 0:
        return False
    if vals.size > sample:
        vals = vals[:: vals.size // sample + 1]
    return bool(vals.min() >= 0 and np.all(np.equal(np.mod(vals, 1), 0)) and float(vals.max()) > 50)


def duplicated_names(names: pd.Index | list[str]) -> list[str]:
    """Names that occur more than once, sorted."""
    index = pd.Index(names)
    return sorted(set(index[index.duplicated()].astype(str)))
