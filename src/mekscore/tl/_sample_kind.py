"""What a bulk sample is: tumour cells only, a sorted immune population, or mixed tissue.

A marker set is **detected** when, in at least one arm, the median over samples of
its genes' median percentile among each sample's expressed genes reaches
:data:`DETECTION` (:mod:`mekscore.tl._marker_levels`). Measured on the real
references: background (genes of absent populations) sits at percentile 0-40 in a
BRAF-V600E melanoma culture (RNA-seq counts) and at 4-50 in 12 NCI-60 solid-tumour
lines (microarray intensities); populations that are there sit at 51-99 in sorted
blood populations (pbmc68k) and 37-98 in tumour-infiltrating T cells (Wu et al.
2020, 1-32 cells per patient), 97 for PTPRC in the leukaemia lines.

The kind, unless the user states it (``bulk_of``):

* no leukocyte set detected: **tumour cells only** (a culture, or sorted tumour
  cells), whatever the stromal genes say: cancer cell lines of mesenchymal character
  express collagens and TAGLN (the fibroblast genes reach percentile 60-100 in
  NCI-60 glioma and melanoma lines). Leukaemia lines look like sorted leukocytes:
  state ``bulk_of="tumor"`` for them;
* leukocyte sets detected, no tumour-lineage or stromal set: **leukocytes only**
  (sorted or blood cells), the detected immune populations named;
* otherwise **mixed tissue**. A purity column implies mixed tissue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ..errors import InputError
from ..sig.abundance import load_markers
from ..sig.model import COMPARTMENTS
from ._marker_levels import MarkerLevels

DETECTION = 0.6
"""Median percentile (among a sample's expressed genes) an arm needs for a set to count."""
IMMUNE_COMPARTMENTS = tuple(c for c in COMPARTMENTS if c not in ("tumor", "any"))
GROUPS = {"t_cells": ("cd8_t", "cd4_t", "treg"), "leukocytes": IMMUNE_COMPARTMENTS}
"""Populations a user may name beyond the library compartments."""
KINDS = ("tumor", "immune", "tissue")


@dataclass(frozen=True)
class Detection:
    """Which marker sets are above background, with the numbers that decided it.

    Attributes
    ----------
    genes
        Marker set -> its genes found in the data (sets with none are left out).
    percentile
        Samples x sets: median percentile of the set's genes among expressed genes.
    by_arm
        Arms x sets: median over the arm's samples of ``percentile``.
    level
        Samples x sets: mean log level of the set's genes (the abundance proxy).
    level_by_arm
        Arms x sets: median over the arm's samples of the set's mean log level.
    detected
        Set -> whether some arm reaches :data:`DETECTION`.
    scale
        What the levels are (e.g. ``"log1p CP10k"``).
    """

    genes: dict[str, tuple[str, ...]]
    percentile: pd.DataFrame
    by_arm: pd.DataFrame
    level: pd.DataFrame
    level_by_arm: pd.DataFrame
    detected: dict[str, bool]
    scale: str = ""

    def any_detected(self, lineage: str) -> bool:
        """Whether a set of ``lineage`` (immune, tumour, stromal) is detected."""
        return any(self.detected.get(s, False) for s in load_markers().of_lineage(lineage))


def detect(levels: MarkerLevels, arms: pd.Series) -> Detection:
    """Detection of every marker set with a gene in ``levels`` (``arms``: sample -> arm).

    Examples
    --------
    >>> from mekscore.tl._marker_levels import MarkerLevels
    >>> pct = pd.DataFrame({"PTPRC": [0.2, 0.9], "CD8A": [0.1, 0.7]}, index=["a", "b"])
    >>> levels = MarkerLevels(pct * 3, pct, "log1p CP10k")
    >>> d = detect(levels, pd.Series(["control", "treated"], index=["a", "b"]))
    >>> d.detected["leukocytes"], float(d.by_arm.loc["control", "leukocytes"])
    (True, 0.2)
    """
    genes, percentile, level = {}, {}, {}
    for name, markers in load_markers().markers.items():
        found = tuple(g for g in markers if g in levels.values.columns)
        if found:
            genes[name] = found
            percentile[name] = levels.percentiles.loc[arms.index, list(found)].median(axis=1)
            level[name] = levels.values.loc[arms.index, list(found)].mean(axis=1)
    percentile, level = pd.DataFrame(percentile), pd.DataFrame(level)
    by_arm = percentile.groupby(arms).median()
    detected = {name: bool((by_arm[name] >= DETECTION).any()) for name in genes}
    by_level = level.groupby(arms).median()
    return Detection(genes, percentile, by_arm, level, by_level, detected, levels.scale)


@dataclass(frozen=True)
class SampleKind:
    """The kind of the study's samples, as decided (or stated) and checked against the data.

    Attributes
    ----------
    kind
        ``"tumor"`` (tumour cells only), ``"immune"`` (leukocytes only) or ``"tissue"``.
    stated
        ``bulk_of`` as given (``"auto"``: decided from the data).
    compartments
        Immune compartments the user stated the samples are (``()``: from the data).
    warnings
        Where the statement contradicts the data.
    """

    kind: str
    stated: str
    compartments: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def check_statement(bulk_of: str) -> str:
    """``bulk_of`` normalised, or an :class:`InputError` naming the choices.

    Examples
    --------
    >>> check_statement("Tumour"), check_statement("cd8_t")
    ('tumor', 'cd8_t')
    """
    value = str(bulk_of).strip().lower().replace("tumour", "tumor")
    allowed = ("auto", "tumor", "tissue", *IMMUNE_COMPARTMENTS, *GROUPS)
    if value not in allowed:
        raise InputError(
            f"bulk_of={bulk_of!r} is not a kind of sample; use one of {', '.join(allowed)} "
            "(e.g. 'tumor' for a tumour-cell culture, 'cd8_t' for sorted CD8 T cells)"
        )
    return value


def sample_kind(detection: Detection, bulk_of: str, *, purity: bool = False) -> SampleKind:
    """Decide (``bulk_of="auto"``) or take the kind of sample, warning on contradictions.

    Examples
    --------
    >>> empty = pd.DataFrame()
    >>> d = Detection({}, empty, empty, empty, empty, {"leukocytes": False})
    >>> sample_kind(d, "auto").kind, sample_kind(d, "cd8_t").compartments
    ('tumor', ('cd8_t',))
    """
    statement = check_statement(bulk_of)
    immune = detection.any_detected("immune")
    other = detection.any_detected("tumour") or detection.any_detected("stromal")
    if statement == "auto":
        kind = "tissue" if purity else _decided(immune=immune, other=other)
        return SampleKind(kind, statement)
    if statement in ("tumor", "tissue"):
        return SampleKind(statement, statement, (), _check(statement, detection, immune=immune))
    stated = GROUPS.get(statement, (statement,))
    return SampleKind(
        "immune", statement, stated, _check_population(stated, detection, other=other)
    )


def _decided(*, immune: bool, other: bool) -> str:
    if not immune:
        return "tumor"
    return "tissue" if other else "immune"


def _check(statement: str, detection: Detection, *, immune: bool) -> tuple[str, ...]:
    if statement == "tumor" and immune:
        found = _detected_names(detection, "immune")
        return (
            f"bulk_of='tumor' but leukocyte markers are above background ({found}); "
            "immune programs and abundances are reported not testable as stated",
        )
    if statement == "tissue" and not immune:
        return (
            "bulk_of='tissue' but no leukocyte marker is above background: the samples look "
            "like tumour cells only",
        )
    return ()


def _check_population(stated, detection: Detection, *, other: bool) -> tuple[str, ...]:
    sets = {s for c in stated for s in load_markers().detected_by.get(c, ())}
    measured = [s for s in sets if s in detection.detected]
    warnings = []
    if measured and not any(detection.detected[s] for s in measured):
        warnings.append(
            f"bulk_of names {', '.join(stated)} but its markers ({', '.join(sorted(measured))}) "
            "are at background level in every arm"
        )
    if other:
        found = ", ".join(
            names
            for lineage in ("tumour", "stromal")
            if (names := _detected_names(detection, lineage))
        )
        warnings.append(
            f"bulk_of names sorted {', '.join(stated)} cells but non-immune markers are above "
            f"background ({found}); tumour programs are reported not testable as stated"
        )
    return tuple(warnings)


def _detected_names(detection: Detection, lineage: str) -> str:
    names = [
        f"{name} (median percentile {100 * detection.by_arm[name].max():.0f})"
        for name in load_markers().of_lineage(lineage)
        if detection.detected.get(name, False)
    ]
    return ", ".join(names)


def stated_presence(kind: SampleKind) -> Mapping[str, bool] | None:
    """Presence of each immune compartment implied by the kind (``None``: from the data).

    Examples
    --------
    >>> stated_presence(SampleKind("immune", "t_cells", ("cd8_t", "cd4_t", "treg")))["nk"]
    False
    """
    if kind.kind == "tumor":
        return dict.fromkeys(IMMUNE_COMPARTMENTS, False)
    if kind.compartments:
        return {c: c in kind.compartments for c in IMMUNE_COMPARTMENTS}
    return None
