"""From cells to samples: compartment masks, per-sample means and pseudobulk profiles.

The replicate of every test is the sample, so single-cell scores are first reduced
to one value per sample x compartment, either the mean of the cells' scores or the
score of the sample's pseudobulk profile (summed counts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import sparse

from ..io.checks import InputError
from ..sig import COMPARTMENTS


def normalise_label(label: str) -> str:
    """Lower case, with runs of spaces, hyphens and dots as ``_`` (``"CD8 T"`` -> ``"cd8_t"``).

    Examples
    --------
    >>> normalise_label("CD8 T"), normalise_label("Myeloid")
    ('cd8_t', 'myeloid')
    """
    return re.sub(r"[\s\-.]+", "_", str(label).strip()).lower()


def compartment_labels(
    labels: Sequence[str], compartments: Mapping[str, str | Sequence[str]] | None = None
) -> dict[str, list[str]]:
    """Map each library compartment to the labels (of ``labels``) that belong to it.

    A label whose normalised form (:func:`normalise_label`) equals a compartment name
    maps to it by itself (``"Tumor"`` -> ``tumor``, ``"CD8 T"`` -> ``cd8_t``);
    ``compartments`` adds labels, e.g. ``{"tumor": ["Malignant", "Epithelial"]}``.
    ``"any"`` is every label. Labels listed in ``compartments`` but absent from
    ``labels`` are refused (a misspelt label would silently empty its compartment).

    Examples
    --------
    >>> m = compartment_labels(["Tumor", "CD8 T", "Mono"], {"myeloid": ["Mono"]})
    >>> m["tumor"], m["cd8_t"], m["myeloid"], m["nk"]
    (['Tumor'], ['CD8 T'], ['Mono'], [])
    """
    compartments = dict(compartments or {})
    unknown = sorted(set(compartments) - set(COMPARTMENTS))
    if unknown:
        raise InputError(
            f"compartments has unknown keys {unknown}; use the library's compartments: "
            f"{', '.join(COMPARTMENTS)}"
        )
    labels = [str(x) for x in labels]
    _check_mapped_labels(compartments, labels)
    out: dict[str, list[str]] = {}
    for comp in COMPARTMENTS:
        if comp == "any":
            out[comp] = list(labels)
            continue
        given = compartments.get(comp, [])
        given = [given] if isinstance(given, str) else [str(x) for x in given]
        own = [x for x in labels if normalise_label(x) == comp and x not in given]
        out[comp] = given + own
    return out


def _check_mapped_labels(compartments: Mapping, labels: list[str]) -> None:
    mapped = [[v] if isinstance(v, str) else list(map(str, v)) for v in compartments.values()]
    unknown = sorted({x for values in mapped for x in values} - set(labels))
    if unknown:
        raise InputError(
            f"compartment map label(s) {', '.join(map(repr, unknown))} not found in the cell-type "
            f"column (labels: {', '.join(sorted(labels))}); fix the compartment map "
            "(compartments= / --compartment-map)"
        )


def sample_means(
    scores: pd.DataFrame, samples: pd.Series, mask: np.ndarray
) -> tuple[pd.DataFrame, pd.Series]:
    """Mean score per sample over the cells in ``mask``, and the number of those cells.

    Returns ``(samples x signatures means, cells per sample)``; samples without any
    cell in ``mask`` are absent.

    Examples
    --------
    >>> s = pd.DataFrame({"a": [1.0, 3.0, 5.0]})
    >>> m, n = sample_means(s, pd.Series(["x", "x", "y"]), np.array([True, True, True]))
    >>> m["a"].tolist(), n.tolist()
    ([2.0, 5.0], [2, 1])
    """
    keys = np.asarray(samples)[mask]
    grouped = scores.iloc[mask].groupby(pd.Index(keys), sort=True)
    return grouped.mean(), grouped.size()


def pseudobulk(X, samples: pd.Series, mask: np.ndarray) -> tuple[object, pd.Series]:
    """Sum the rows of ``X`` in ``mask`` per sample; sparse input stays sparse (CSR).

    Returns ``(samples x genes sums, cells per sample)`` with samples sorted.

    Examples
    --------
    >>> X = sparse.csr_matrix(np.array([[1.0, 0.0], [2.0, 1.0], [0.0, 4.0]]))
    >>> sums, n = pseudobulk(X, pd.Series(["b", "a", "b"]), np.array([True, True, True]))
    >>> sums.toarray().tolist(), n.index.tolist()
    ([[2.0, 1.0], [1.0, 4.0]], ['a', 'b'])
    """
    rows = np.flatnonzero(mask)
    codes, names = pd.factorize(np.asarray(samples)[rows], sort=True)
    indicator = sparse.csr_matrix(
        (np.ones(len(rows)), (codes, rows)), shape=(len(names), X.shape[0])
    )
    sums = indicator @ X
    counts = pd.Series(np.bincount(codes, minlength=len(names)), index=pd.Index(names))
    return (sums.tocsr() if sparse.issparse(sums) else np.asarray(sums)), counts
