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

from ..errors import InputError
from ..pp._pseudobulk import group_codes, group_sums
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
    codes, names = pd.factorize(samples[mask], sort=True)
    labelled = codes >= 0
    codes = codes[labelled]
    values = scores.iloc[mask].to_numpy(dtype=np.float64)[labelled]
    present = ~np.isnan(values)
    indicator = sparse.csr_matrix(
        (np.ones(len(codes)), (codes, np.arange(len(codes)))), shape=(len(names), len(codes))
    )  # samples x cells: one product sums every column per sample, NaN left out
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (indicator @ np.where(present, values, 0.0)) / (indicator @ present.astype(float))
    index = pd.Index(np.asarray(names), dtype=object)
    n_cells = pd.Series(np.bincount(codes, minlength=len(names)), index=index)
    return pd.DataFrame(means, index=index, columns=scores.columns), n_cells


class SampleSums:
    """Summed counts per sample of any cell mask, from one pass over the matrix.

    The cells are split into *atoms*, one per sample x label (``labels``: each cell's
    cell type, or ``None``: one atom per sample). On first use the matrix is summed
    per atom in one pass (streamed for backed and Dask matrices, see
    :func:`mekscore.pp._pseudobulk.group_sums`); a mask that is a union of atoms (a
    compartment of cell types) is then answered from those sums without touching the
    matrix again. A mask that splits an atom takes a pass of its own.

    Examples
    --------
    >>> X = sparse.csr_matrix(np.array([[1.0, 0.0], [2.0, 1.0], [0.0, 4.0]]))
    >>> sums = SampleSums(X, pd.Series(["b", "a", "b"]), pd.Series(["T", "T", "B"]))
    >>> summed, n = sums(np.array([True, True, False]))
    >>> summed.toarray().tolist(), n.to_dict()
    ([[2.0, 1.0], [1.0, 0.0]], {'a': 1, 'b': 1})
    """

    def __init__(self, X, samples: pd.Series, labels: pd.Series | None = None, **options):
        columns = [samples] if labels is None else [samples, labels]
        self._codes, self._atoms = group_codes(columns, ["sample", "label"][: len(columns)])
        self._sample = pd.Series(samples, dtype=object).to_numpy()
        self._size = np.bincount(self._codes[self._codes >= 0], minlength=len(self._atoms))
        self._X, self._options, self._sums = X, options, None

    def __call__(self, mask: np.ndarray) -> tuple[object, pd.Series]:
        """``(samples x genes sums, cells per sample)`` of the cells in ``mask``, sorted."""
        mask = np.asarray(mask, dtype=bool) & pd.notna(self._sample)
        taken = np.bincount(self._codes[mask & (self._codes >= 0)], minlength=len(self._atoms))
        whole = (
            np.all((taken == 0) | (taken == self._size)) and not (mask & (self._codes < 0)).any()
        )
        if not whole:
            codes, names = group_codes([np.where(mask, self._sample, None)], ["sample"])
            sums = group_sums(self._X, codes, len(names), **self._options)
            return sums, pd.Series(np.bincount(codes[mask]), index=pd.Index(names["sample"]))
        chosen = np.flatnonzero(taken)
        codes, names = pd.factorize(self._atoms["sample"].to_numpy()[chosen], sort=True)
        combine = sparse.csr_matrix(
            (np.ones(len(chosen)), (codes, np.arange(len(chosen)))), shape=(len(names), len(chosen))
        )
        sums = combine @ self.atom_sums()[chosen]
        n_cells = np.bincount(codes, weights=taken[chosen], minlength=len(names)).astype(np.int64)
        return sums, pd.Series(n_cells, index=pd.Index(names))

    def atom_sums(self):
        """Atoms x genes sums (computed on first use, in one pass over the matrix)."""
        if self._sums is None:
            self._sums = group_sums(self._X, self._codes, len(self._atoms), **self._options)
        return self._sums


def pseudobulk(X, samples: pd.Series, mask: np.ndarray) -> tuple[object, pd.Series]:
    """Sum the rows of ``X`` in ``mask`` per sample; sparse input stays sparse (CSR).

    Returns ``(samples x genes sums, cells per sample)`` with samples sorted. ``X``
    may be in memory, backed or a Dask array (see :class:`SampleSums`).

    Examples
    --------
    >>> X = sparse.csr_matrix(np.array([[1.0, 0.0], [2.0, 1.0], [0.0, 4.0]]))
    >>> sums, n = pseudobulk(X, pd.Series(["b", "a", "b"]), np.array([True, True, True]))
    >>> sums.toarray().tolist(), n.index.tolist()
    ([[2.0, 1.0], [1.0, 4.0]], ['a', 'b'])
    """
    return SampleSums(X, samples)(mask)
