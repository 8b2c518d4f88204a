"""Checks on expression matrices: finite values, what the values look like, duplicated names."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse

from ..errors import InputError


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


#: Log-scale expression stays far below this (2**50 is about 1e15); larger values are linear.
LOG_SCALE_MAX = 50.0

#: What :func:`value_kind` can say about a matrix.
ValueKind = Literal["counts", "unlogged", "scaled", "log"]


def looks_like_counts(X, *, sample: int = 200_000) -> bool:
    """Heuristic: non-negative integers with a large maximum look like raw counts.

    Examples
    --------
    >>> looks_like_counts(np.array([[0.0, 3.0], [120.0, 7.0]]))
    True
    >>> looks_like_counts(np.log1p(np.array([[0.0, 3.0], [120.0, 7.0]])))
    False
    """
    vals = _sampled_values(X, sample)
    return _large_non_negative(vals) and bool(np.all(np.equal(np.mod(vals, 1), 0)))


def looks_unlogged(X, *, sample: int = 200_000) -> bool:
    """Heuristic: non-negative, not whole numbers, and too large for a log scale (TPM, FPKM).

    Examples
    --------
    >>> looks_unlogged(np.array([[0.5, 35000.2], [12.25, 7.0]]))
    True
    >>> looks_unlogged(np.log2(np.array([[1.5, 35000.2], [12.25, 7.0]])))
    False
    """
    vals = _sampled_values(X, sample)
    return _large_non_negative(vals) and not np.all(np.equal(np.mod(vals, 1), 0))


def looks_scaled(X, *, centred: float = 0.25) -> bool:
    """Heuristic: negative values and genes centred on zero, as ``sc.pp.scale`` leaves them.

    A gene is centred when its mean over the rows of ``X`` is small next to its
    standard deviation; the data look scaled when the median gene is (median of
    ``|mean| / sd`` below ``centred``). Log data with a small pseudocount also have
    negative values, but their genes are not centred.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> logged = np.log2(rng.gamma(2.0, size=(50, 20)) + 0.01)
    >>> looks_scaled(logged), looks_scaled((logged - logged.mean(0)) / logged.std(0))
    (False, True)
    """
    if not has_negative(X):
        return False
    mean = np.asarray(X.mean(axis=0)).ravel()
    square = X.multiply(X) if sparse.issparse(X) else np.square(X)
    sd = np.sqrt(np.maximum(np.asarray(square.mean(axis=0)).ravel() - mean**2, 0.0))
    varying = sd > 0
    return bool(varying.any()) and float(np.median(np.abs(mean[varying]) / sd[varying])) < centred


def value_kind(X) -> ValueKind:
    """What the values of ``X`` (or a sample of its rows) look like.

    ``"scaled"`` (negative values, genes centred on 0), ``"counts"`` (non-negative
    integers above :data:`LOG_SCALE_MAX`), ``"unlogged"`` (non-negative, not whole
    numbers, above :data:`LOG_SCALE_MAX`: TPM/FPKM-like) or ``"log"`` (anything else).

    Examples
    --------
    >>> value_kind(np.array([[0.0, 3.0], [120.0, 7.0]]))
    'counts'
    """
    if looks_scaled(X):
        return "scaled"
    if looks_like_counts(X):
        return "counts"
    if looks_unlogged(X):
        return "unlogged"
    return "log"


def count_empty_rows(X, *, cells_per_block: int = 1 << 24) -> int:
    """The number of rows (observations) whose values are all zero.

    Rows are inspected in blocks of about ``cells_per_block`` matrix entries, so
    memory stays bounded.

    Examples
    --------
    >>> count_empty_rows(sparse.csr_matrix([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]))
    2
    """
    step = max(1, cells_per_block // max(1, X.shape[1]))
    empty = 0
    for start in range(0, X.shape[0], step):
        block = X[start : start + step]
        if sparse.issparse(block):
            has_value = np.asarray(abs(block).sum(axis=1)).ravel() > 0
        else:
            has_value = np.asarray(block).any(axis=1)
        empty += int(has_value.size - np.count_nonzero(has_value))
    return empty


def _sampled_values(X, sample: int) -> np.ndarray:
    """At most about ``sample`` stored values of ``X``, evenly spaced."""
    vals = values_of(X).ravel()
    if vals.size > sample:
        vals = vals[:: vals.size // sample + 1]
    return vals


def _large_non_negative(vals: np.ndarray) -> bool:
    return bool(vals.size and vals.min() >= 0 and float(vals.max()) > LOG_SCALE_MAX)


def duplicated_names(names: pd.Index | list[str]) -> list[str]:
    """Names that occur more than once, sorted."""
    index = pd.Index(names)
    return sorted(set(index[index.duplicated()].astype(str)))
