"""Bulk context: what the samples are, which compartments are there, what to adjust for.

Bulk profiles mix every cell of a sample. Before reading a program, a comparison
needs to know (see :mod:`mekscore.tl._sample_kind`) whether the samples are tumour
cells only, a sorted immune population or mixed tissue, and answers from marker
genes (``signatures/abundance/markers.yaml``) or from the user (``bulk_of``):

* **one decision per population**: a marker set below background is "not detected"
  for its abundance row and for the programs of its compartment alike (a
  compartment is there when any of its sets is), so no table contradicts itself;
* **pure samples** (tumour cells only; leukocytes only): the programs of what is
  there are tested unadjusted, every other compartment is ``not testable``
  ("compartment not detected"), and so are the abundance rows of absent populations;
* **mixed tissue**: tumour programs are adjusted for tumour content (a purity column;
  else the epithelial lineage genes; else the complement of the leukocyte and
  stromal genes), immune programs for their compartment's detected marker set,
  each covariate regression-calibrated for its measurement noise
  (:mod:`mekscore.tl._proxy`). A row is ``not testable`` when the calibrated
  covariate inflates the variance of the condition effect more than
  :data:`MAX_INFLATION`-fold: composition and treatment are then confounded beyond
  what the markers can separate.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd
from anndata import AnnData

from ..errors import InputError
from ..sig.abundance import load_abundance, load_markers
from ._covariates import Covariates
from ._marker_levels import marker_levels
from ._proxy import inflation
from ._sample_kind import (
    DETECTION,
    IMMUNE_COMPARTMENTS,
    Detection,
    SampleKind,
    detect,
    sample_kind,
    stated_presence,
)
from ._settings import ScoreSettings
from ._sheet import SampleSheet
from ._targets import Target

PROXY = "_proxy"
MAX_INFLATION = 10.0
"""Largest variance inflation of the condition effect an adjustment may cause."""
FLAG_PROXY = "abundance proxy from marker genes (Danaher et al. 2017), not a cell count"
NAMES = {
    "leukocytes": "leukocytes",
    "t_cells": "T cells",
    "cd8_t_cells": "CD8 T cells",
    "treg": "regulatory T cells",
    "b_cells": "B cells",
    "nk_cells": "NK cells",
    "dendritic_cells": "dendritic cells",
    "macrophages": "macrophages",
    "neutrophils": "neutrophils",
    "monocytes": "monocytes",
    "cd8_t": "CD8 T cells",
    "cd4_t": "CD4 T cells",
    "myeloid": "myeloid cells",
    "dc": "dendritic cells",
    "nk": "NK cells",
    "b": "B cells",
}
"""Plain names of marker sets and compartments, for sentences."""
_WHAT = {
    "tumor": "tumour cells only (cell culture or sorted tumour cells)",
    "immune": "leukocytes only (sorted or blood cells)",
    "tissue": "mixed tissue",
}


@dataclass(frozen=True)
class BulkContext:
    """What a study's bulk samples are, and what each row may be read and adjusted for.

    Build it with :meth:`build`; see the module docs for the rules.

    Attributes
    ----------
    sample_kind
        The kind of samples (decided or stated) and warnings about the statement.
    detection
        Marker sets found, their levels and whether each is above background.
    adjustments
        Mixed tissue of two arms: what programs are adjusted for (``None`` for pure
        samples, and for other designs, which are read unadjusted).
    """

    sample_kind: SampleKind
    detection: Detection
    adjustments: Covariates | None = None

    @classmethod
    def build(
        cls,
        adata: AnnData,
        sheet: SampleSheet,
        settings: ScoreSettings,
        *,
        bulk_of: str = "auto",
        purity_key: str | None = None,
        adjust: bool = True,
    ) -> BulkContext | None:
        """The context of ``adata``'s samples (``None`` without any marker gene in the data).

        ``settings`` choose the matrix the markers are read from and match their genes.
        Mixed tissue gets composition covariates when ``adjust`` (two arms, unpaired or
        paired: the layout of the adjusted tests); other designs are read unadjusted.

        Examples
        --------
        >>> from mekscore.datasets import simulate_study
        >>> from mekscore.tl._designspec import Design
        >>> from mekscore.tl._sheet import build_sheet
        >>> bulk = simulate_study(seed=0, n_genes=400, bulk=True)
        >>> design = Design(condition_key="condition", control="vehicle", treated="trametinib")
        >>> sheet = build_sheet(bulk.obs, design, sample_key="sample", bulk=True)
        >>> context = BulkContext.build(bulk, sheet, ScoreSettings())
        >>> context.kind, context.not_detected("cd8_t"), context.covariate("cd8_t").name
        ('tissue', '', 'cd8_t_cells proxy')
        """
        if adata.X is None and settings.matrix.layer is None and not settings.matrix.use_raw:
            return None
        genes = sorted({g for markers in load_markers().markers.values() for g in markers})
        levels = marker_levels(adata, genes, sheet.samples, settings)
        if levels is None:
            return None
        table = sheet.table
        detection = detect(levels, sheet.condition().astype(str))
        purity = _purity(adata.obs, sheet.samples, purity_key, table.index)
        kind = sample_kind(detection, bulk_of, purity=purity is not None)
        if kind.kind != "tissue" or not adjust:
            return cls(kind, detection)
        values = levels.values.loc[table.index]
        paired = bool((table["pair"] != "").any())
        return cls(
            kind,
            detection,
            Covariates.build(values, detection, table, paired=paired, purity=purity),
        )

    @property
    def kind(self) -> str:
        """``"tumor"``, ``"immune"`` or ``"tissue"``."""
        return self.sample_kind.kind

    @property
    def warnings(self) -> tuple[str, ...]:
        """Sentences for the user: a statement the data contradict."""
        return self.sample_kind.warnings

    # --- what is there -----------------------------------------------------------

    def not_detected(self, name: str) -> str:
        """Why a row cannot be read, or ``""``.

        ``name`` is a compartment (program rows) or ``"<set>_proxy"`` (abundance rows,
        the ``primary`` of :meth:`abundance_targets`). A compartment is absent when
        the kind of sample excludes it or when every measured marker set of it is
        below background; a set is absent when the kind excludes its compartments or
        it is below background itself. In leukocyte-only samples no abundance is read.
        """
        if name.endswith(PROXY):
            population = name[: -len(PROXY)]
            if population == "leukocytes":
                return self._leukocytes_absent()
            return self._set_absent(population)
        if name == "tumor":
            return self._tumour_absent()
        return self._compartment_absent(name) if name in IMMUNE_COMPARTMENTS else ""

    def isolates(self, compartment: str) -> bool:
        """Whether every sample is ``compartment`` alone (a culture, one sorted population).

        Then a program of that compartment reads its cells only, not a mixture.
        """
        if self.kind == "tumor":
            return compartment == "tumor"
        return self.kind == "immune" and self.sample_kind.compartments == (compartment,)

    def caveat(self, compartment: str) -> str:
        """A flag for rows whose reading the kind of sample changes, or ``""``.

        Programs of every compartment (``any``: IFN-gamma, cytolytic, T-cell inflamed)
        are read in tumour-cell samples, but there their genes measure what the tumour
        cells express, not immune infiltration.
        """
        if self.kind == "tumor" and compartment == "any":
            return (
                "read in tumour cells only: its genes measure tumour-cell expression here, "
                "not immune infiltration"
            )
        return ""

    def _tumour_absent(self) -> str:
        if self.kind != "immune":
            return ""
        return f"compartment not detected: {self._leukocytes_only()}"

    def _leukocytes_only(self) -> str:
        what = ", ".join(NAMES.get(p, p) for p in self.population()) or "leukocytes"
        if self.sample_kind.compartments:
            return f"the samples are sorted {what} (bulk_of={self.sample_kind.stated!r})"
        return (
            f"the samples are leukocytes only ({what}): no tumour-lineage or stromal marker "
            "is above background"
        )

    def _leukocytes_absent(self) -> str:
        if self.kind == "tumor":
            return self._culture_reason("leukocytes")
        if self.kind == "immune":
            return f"every sample is leukocytes: {self._leukocytes_only()}"
        return self._background("leukocytes")

    def _compartment_absent(self, compartment: str) -> str:
        stated = stated_presence(self.sample_kind)
        if stated is not None and not stated[compartment]:
            return self._stated_absent(compartment)
        sets = [s for s in load_markers().detected_by[compartment] if s in self.detection.genes]
        if not sets or any(self.detection.detected[s] for s in sets):
            return ""
        return _not_detected(self.detection, sets)

    def _set_absent(self, name: str) -> str:
        stated = stated_presence(self.sample_kind)
        owners = [c for c, sets in load_markers().detected_by.items() if name in sets]
        if stated is not None and not any(stated[c] for c in owners):
            return self._stated_absent(owners[0] if owners else name)
        absent = self._background(name)
        if absent or self.kind != "immune":
            return absent
        return (
            "not an abundance: the samples are leukocytes only, so this population's marker "
            "level measures expression per cell as much as its share of cells"
        )

    def _stated_absent(self, name: str) -> str:
        if self.kind == "tumor":
            return self._culture_reason(name)
        return f"compartment not detected: {self._leukocytes_only()}"

    def _culture_reason(self, name: str) -> str:
        if self.sample_kind.stated == "tumor":
            return "compartment not detected: the samples are tumour cells only (bulk_of='tumor')"
        return (
            "compartment not detected: the samples are tumour cells only (no leukocyte marker "
            "above background)"
        )

    def _background(self, name: str) -> str:
        if name not in self.detection.genes or self.detection.detected[name]:
            return ""
        return _not_detected(self.detection, [name])

    def population(self) -> list[str]:
        """The immune marker sets detected (leukocytes-only samples), or the stated ones."""
        if self.sample_kind.compartments:
            return list(self.sample_kind.compartments)
        immune = load_markers().of_lineage("immune")
        return [s for s in immune if s != "leukocytes" and self.detection.detected.get(s)]

    # --- what to adjust for ------------------------------------------------------

    def covariate(self, compartment: str, exclude: Collection[str] = ()) -> pd.Series | None:
        """Per sample, the calibrated value a program of ``compartment`` is adjusted for.

        ``exclude``: the program's own genes, left out of the covariate. ``None`` for
        pure samples, for ``any`` and when nothing measures the compartment. The
        series is named after what it measures; ``attrs["reliability"]`` holds the
        reliability of the raw proxy.
        """
        if self.adjustments is None:
            return None
        calibrated = self.adjustments.get(compartment, exclude)
        if calibrated is None:
            return None
        values = calibrated.values.copy()
        values.attrs["reliability"] = calibrated.reliability
        return values

    def separability(self, covariate: pd.Series, z: np.ndarray, treated: np.ndarray | None) -> str:
        """Why an adjusted test on ``covariate`` is refused, or ``""``.

        ``z`` and ``treated`` are laid out as for
        :func:`mekscore.tl._stats.adjusted_contrast`: the covariate per sample with a
        boolean arm (unpaired), or its within-pair differences with ``treated=None``.
        """
        vif = inflation(z, treated)
        if vif <= MAX_INFLATION:
            return ""
        reliability = covariate.attrs.get("reliability", 1.0)
        return (
            f"composition and regulation cannot be told apart: {covariate.name} (reliability "
            f"{reliability:.2f}) differs between the arms so much, next to its spread within "
            f"them, that adjusting for it inflates the variance of the condition effect "
            f"{vif:.3g}-fold (more than {MAX_INFLATION:g})"
        )

    # --- abundance rows ----------------------------------------------------------

    def abundance_targets(self) -> list[Target]:
        """One abundance target per measured immune marker set (``primary`` = the row name)."""
        expectations = load_abundance()
        markers = load_markers()
        targets = []
        for name in markers.of_lineage("immune"):
            if name not in self.detection.genes:
                continue
            compartment = markers.expectation_of.get(name, name)
            entry = expectations.get(compartment)
            expected = entry.expected if entry else "unclear"
            row = f"{name}{PROXY}"
            targets.append(Target(row, compartment, row, expected, (), FLAG_PROXY, "abundance"))
        return targets

    def abundance_values(self) -> tuple[pd.DataFrame, pd.Series]:
        """``(samples x "<set>_proxy" mean log levels, one observation per sample)``."""
        values = self.detection.level.add_suffix(PROXY)
        return values, pd.Series(1, index=values.index)

    # --- what to say -------------------------------------------------------------

    def describe(self) -> str:
        """One plain-English line: what the samples are, and the evidence."""
        stated = self.sample_kind.stated
        prefix = "" if stated == "auto" else f"as stated (bulk_of={stated!r}): "
        if self.kind == "tumor":
            return f"{prefix}{_WHAT['tumor']}: no leukocyte marker above background " + (
                f"({_leukocyte_evidence(self.detection)})"
            )
        if self.kind == "immune":
            return f"{prefix}{_WHAT['immune']}: {self._leukocytes_only()}"
        return f"{prefix}{_WHAT['tissue']}: {self._tissue_evidence()}"

    def _tissue_evidence(self) -> str:
        found = [
            f"{name} (percentile {100 * self.detection.by_arm[name].max():.0f})"
            for name, on in self.detection.detected.items()
            if on
        ]
        text = f"{', '.join(found) or 'no population'} above background"
        adjustments = self.adjustments
        if adjustments is None:
            return (
                f"{text}; programs read unadjusted for composition (the adjusted tests "
                "compare two arms without covariates; this design is not one)"
            )
        if adjustments.purity is not None:
            low, high = 100 * adjustments.purity.min(), 100 * adjustments.purity.max()
            return f"{text}; tumour content {low:.0f}-{high:.0f}% (the purity column)"
        tumour = adjustments.get("tumor")
        if tumour is None:
            return f"{text}; tumour content not estimated (no lineage set measures it)"
        return (
            f"{text}; tumour content estimated from {adjustments.source()} (reliability "
            f"{tumour.reliability:.2f}; a relative measure, no absolute percentage)"
        )

    def evidence(self) -> dict:
        """JSON-able record of the decision, for ``parameters["bulk_context"]``."""
        d = self.detection
        sets = {
            name: {
                "genes": list(genes),
                "lineage": load_markers().lineage[name],
                "detected": d.detected[name],
                "median_percentile_by_arm": _plain(d.by_arm[name]),
                "median_level_by_arm": _plain(d.level_by_arm[name]),
            }
            for name, genes in d.genes.items()
        }
        covariates = {}
        for compartment, spec in self.adjustments.sets.items() if self.adjustments else ():
            c = self.adjustments.calibrated(spec)
            covariates[compartment] = {
                "name": str(c.values.name),
                "reliability": round(c.reliability, 4),
                "noise": round(c.noise, 6),
                "shift_p": round(c.shift, 4),
                "not_adjusted": self.adjustments.unadjusted.get(compartment, ""),
                "by_sample": _plain(c.values),
            }
        return {
            "kind": self.kind,
            "bulk_of": self.sample_kind.stated,
            "description": self.describe(),
            "detection": (
                f"a marker set is above background when, in some arm, the median over samples "
                f"of its genes' median percentile among each sample's expressed genes is "
                f">= {DETECTION}"
            ),
            "threshold": DETECTION,
            "max_inflation": MAX_INFLATION,
            "sets": sets,
            "tumour_content": self.adjustments.source() if self.adjustments else "",
            "covariates": covariates,
            "warnings": list(self.warnings),
        }


# --- helpers ---------------------------------------------------------------------------


def _not_detected(detection: Detection, sets: list[str]) -> str:
    genes = ", ".join(g for s in sets for g in detection.genes[s])
    top = 100 * max(float(detection.by_arm[s].max()) for s in sets)
    return (
        f"compartment not detected: its marker genes ({genes}) are at background level "
        f"(median percentile {top:.0f} among each sample's expressed genes, below "
        f"{100 * DETECTION:.0f}) in every arm"
    )


def _leukocyte_evidence(detection: Detection) -> str:
    name = "leukocytes" if "leukocytes" in detection.genes else None
    if name is None:
        immune = [s for s in load_markers().of_lineage("immune") if s in detection.genes]
        if not immune:
            return "no leukocyte marker gene in the data"
        name = max(immune, key=lambda s: float(detection.by_arm[s].max()))
    genes = ", ".join(detection.genes[name])
    level = float(detection.level_by_arm[name].max())
    return (
        f"{genes} at median percentile {100 * detection.by_arm[name].max():.0f} of each "
        f"sample's expressed genes, below {100 * DETECTION:.0f}; {detection.scale} {level:.2g}"
    )


def _plain(series: pd.Series) -> dict[str, float]:
    return {str(k): round(float(v), 4) for k, v in series.items()}


def _purity(obs, samples: pd.Series, key: str | None, index: pd.Index) -> pd.Series | None:
    """Per-sample tumour content from ``obs[key]`` (fraction in (0, 1]), checked."""
    if key is None:
        return None
    if key not in obs.columns:
        raise InputError(f"purity_key {key!r} is not a column of adata.obs; name the column")
    values = pd.to_numeric(obs[key], errors="coerce").groupby(samples.to_numpy()).mean()
    values = values.reindex(index)
    bad = values.isna() | (values <= 0) | (values > 1)
    if bad.any():
        raise InputError(
            f"purity_key {key!r} must be a tumour fraction in (0, 1] for every sample; "
            f"check {', '.join(map(str, values.index[bad][:5]))} (percentages: divide by 100)"
        )
    return values
