"""What each program is adjusted for in mixed tissue, built from marker genes.

* a program of an immune compartment: the mean log level of the compartment's
  marker set (Danaher's, or the first detected set of the compartment);
* a tumour program: log tumour content, from the user's purity column, else the
  more reliable of two proxies: the epithelial lineage genes (tumour cells of
  carcinomas) or minus the mean level of the non-tumour populations (every detected
  immune and stromal set is one part, so populations that vary independently of each
  other count as noise): tumour content as the complement of the rest, as ESTIMATE
  does, on the linear scale (log tumour content = log(1 - c N) is about -c N for a
  non-tumour content N, whereas log N stretches small non-tumour contents: with log N,
  real-cell tissue whose tumour content fell from 60-80% to 30-40% looked separable).
  Melanocytic genes are never read as tumour content: MAPK inhibition induces them
  per cell (see ``signatures/abundance/markers.yaml``).

Each covariate is regression-calibrated (:mod:`mekscore.tl._proxy`) and leaves out
the genes of the program it adjusts, whose noise would otherwise be shared.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..sig.abundance import load_markers
from ._proxy import Calibrated, calibrate, interaction, pooled, units
from ._sample_kind import IMMUNE_COMPARTMENTS, Detection

EPITHELIAL = "tumour content (epithelial markers)"
COMPLEMENT = "tumour content (1 - leukocyte and stromal markers)"
PURITY = "tumour content (purity column)"
MIN_RELIABILITY = 0.25
"""Below this reliability a proxy hardly tracks composition within the arms."""
NO_SHIFT = 0.2
"""An unreliable proxy whose arms differ with p at or above this is not adjusted for."""

Spec = tuple[str, tuple[tuple[str, tuple[str, ...]], ...], float]


@dataclass(frozen=True)
class Covariates:
    """The marker levels and design that mixed-tissue adjustments are computed from.

    Attributes
    ----------
    values
        Samples x marker genes, log scale.
    sheet
        Samples x (``arm``, ``pair``).
    paired
        Whether models use within-pair differences.
    sets
        Compartment -> (covariate name, (marker set, genes) parts, sign); sign -1 is
        the complement, read as minus the non-tumour content on the linear scale.
    fallback
        Pooled interaction mean square (and df) for one-gene proxies.
    purity
        The user's tumour content per sample, when given.
    unadjusted
        Compartment -> why its programs are tested without adjustment: its proxy
        hardly tracks composition (reliability below :data:`MIN_RELIABILITY`) and
        does not differ between the arms (p >= :data:`NO_SHIFT`).
    """

    values: pd.DataFrame
    sheet: pd.DataFrame
    paired: bool
    sets: dict[str, Spec]
    fallback: tuple[float, int]
    purity: pd.Series | None = None
    unadjusted: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, values, detection: Detection, sheet, *, paired: bool, purity) -> Covariates:
        """The covariate of every compartment the detected marker sets can measure.

        Tumour content comes from the purity column, else from whichever of the
        epithelial genes and the non-tumour complement is the more reliable (the
        complement in tumour-rich tissue, where a change in tumour content is a large
        relative change in everything else; the epithelial genes in leukocyte-rich
        tissue).
        """
        fallback = pooled(
            [
                interaction(units(values[list(genes)], sheet, paired=paired))
                for name, genes in detection.genes.items()
                if detection.detected[name] and len(genes) > 1
            ]
        )
        sets = _immune_sets(detection)
        draft = cls(values, sheet, paired, sets, fallback, purity)
        options = [spec for spec in _tumour_options(detection) if draft.calibrated(spec)]
        if options and purity is None:
            sets["tumor"] = max(options, key=lambda spec: draft.calibrated(spec).reliability)
        unadjusted = {c: note for c in sets if (note := draft.unneeded(c))}
        return cls(values, sheet, paired, sets, fallback, purity, unadjusted)

    def get(self, compartment: str, exclude: Collection[str] = ()) -> Calibrated | None:
        """The calibrated covariate of ``compartment`` without the genes ``exclude``."""
        if compartment == "tumor" and self.purity is not None:
            return Calibrated(np.log(self.purity).rename(PURITY), 1.0, 0.0)
        if compartment not in self.sets or compartment in self.unadjusted:
            return None
        return self.calibrated(self.sets[compartment], exclude)

    def calibrated(self, spec: Spec, exclude: Collection[str] = ()) -> Calibrated | None:
        """The calibrated mean of a spec's parts, or ``None`` when no gene is left."""
        name, sets, sign = spec
        kept = [(s, [g for g in genes if g not in set(exclude)]) for s, genes in sets]
        kept = [(s, genes) for s, genes in kept if genes]
        if not kept:
            return None
        if len(kept) == 1:
            parts = self.values[kept[0][1]]
        else:
            parts = pd.DataFrame({s: self.values[genes].mean(axis=1) for s, genes in kept})
        c = calibrate(parts, self.sheet, paired=self.paired, fallback=self.fallback, name=name)
        values = c.values if sign > 0 else -np.exp(c.values - c.values.max())
        return Calibrated(values.rename(name), c.reliability, c.noise, c.shift)

    def unneeded(self, compartment: str) -> str:
        """Why the programs of ``compartment`` need no adjustment, or ``""``."""
        c = self.calibrated(self.sets[compartment])
        if c is None or c.reliability >= MIN_RELIABILITY or c.shift < NO_SHIFT:
            return ""
        return (
            f"not adjusted: {c.values.name} hardly tracks composition within the arms "
            f"(reliability {c.reliability:.2f}) and does not differ between them (p = "
            f"{c.shift:.2g})"
        )

    def source(self) -> str:
        """Where tumour content comes from, in words (``""``: not estimated)."""
        if self.purity is not None:
            return "the purity column"
        if "tumor" not in self.sets:
            return ""
        name, sets, _ = self.sets["tumor"]
        genes = ", ".join(g for _, group in sets for g in group)
        which = "epithelial" if name == EPITHELIAL else "non-tumour (leukocyte, stromal)"
        return f"{which} marker genes ({genes})"


def _immune_sets(detection: Detection) -> dict[str, Spec]:
    markers = load_markers()
    out = {}
    for compartment in IMMUNE_COMPARTMENTS:
        on = [s for s in markers.detected_by[compartment] if detection.detected.get(s)]
        if on:
            chosen = markers.proxy_for[compartment]
            chosen = chosen if chosen in on else on[0]
            out[compartment] = (f"{chosen} proxy", ((chosen, detection.genes[chosen]),), 1.0)
    return out


def _tumour_options(detection: Detection) -> list[Spec]:
    """Tumour-content proxies the detected sets allow: epithelial genes, the complement."""
    options = []
    if detection.detected.get("epithelial"):
        options.append((EPITHELIAL, (("epithelial", detection.genes["epithelial"]),), 1.0))
    markers = load_markers()
    on = [s for s, v in detection.detected.items() if v]
    others = [s for s in on if markers.lineage[s] in ("immune", "stromal")]
    if others:
        options.append((COMPLEMENT, tuple((s, detection.genes[s]) for s in others), -1.0))
    return options
