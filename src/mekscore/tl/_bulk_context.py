"""Bulk context: who is in each sample, whether a compartment is there, and adjusting for it.

Bulk profiles mix every cell of a sample, so a program's score moves when its
compartment's share moves. Per sample, each population's abundance is proxied by
the mean log-expression (log1p CP10k, :func:`mekscore.pp.log_normalize` for counts)
of its marker genes (Danaher et al. 2017, ``signatures/abundance/markers.yaml``):

* a population is **detected** when, in at least one arm, the median of its proxy
  reaches :data:`DETECTION` (about 10 counts per million per marker gene); programs
  of an undetected compartment are ``not testable`` ("compartment not detected"),
  e.g. every immune program in a tumour-cell culture;
* each proxy is tested between arms like a program (``kind = "abundance"``, flagged
  as a proxy);
* each compartment-specific program is tested adjusted for its compartment's proxy
  (a linear model, ``score ~ condition + proxy``, on within-pair differences in
  paired designs; tumour programs are adjusted for leukocyte content), and the
  verdict rests on the adjusted test; the unadjusted numbers stay beside it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import pandas as pd
from anndata import AnnData

from ..errors import InputError
from ..sig import Signature
from ..sig.abundance import load_abundance, load_markers
from ._score import score_with
from ._settings import ScoreSettings
from ._sheet import SampleSheet
from ._targets import Target

DETECTION = 0.1
"""Median proxy (mean log1p CP10k of the markers) an arm needs for a population to count."""
FLAG_PROXY = "abundance proxy from marker genes (Danaher et al. 2017), not a cell count"


@dataclass(frozen=True)
class BulkContext:
    """Per-sample marker proxies and which populations are detected.

    Attributes
    ----------
    proxies
        Samples x marker sets (NaN columns: too few markers in the data).
    detected
        Marker set -> whether it reaches :data:`DETECTION` in at least one arm.
    """

    proxies: pd.DataFrame
    detected: dict[str, bool]

    def proxy_of(self, compartment: str) -> str | None:
        """The marker set proxying ``compartment`` when it was measured, else ``None``."""
        name = load_markers().proxy_for.get(compartment)
        if name is None or self.proxies[name].isna().all():
            return None
        return name


def bulk_context(adata: AnnData, sheet: SampleSheet, settings: ScoreSettings) -> BulkContext | None:
    """Marker proxies of every sample (``None`` without an expression matrix or marker genes).

    Examples
    --------
    >>> from mekscore.datasets import simulate_study
    >>> from mekscore.tl._designspec import Design
    >>> from mekscore.tl._sheet import build_sheet
    >>> bulk = simulate_study(seed=0, n_genes=400, bulk=True)
    >>> design = Design.two_arm(condition_key="condition", control="vehicle", treated="trametinib")
    >>> context = bulk_context(bulk, build_sheet(bulk.obs, design, sample_key="sample"),
    ...                        ScoreSettings())
    >>> bool(context.detected["cd8_t_cells"])
    True
    """
    if adata.X is None and settings.matrix.layer is None:
        return None
    sets = load_markers().markers
    signatures = [Signature.custom(name, up=genes) for name, genes in sets.items()]
    proxy_settings = ScoreSettings(
        matrix=settings.matrix, matching=replace(settings.matching, min_genes=1)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # markers not in the data; counts normalised
        try:
            values = score_with(adata, signatures, "mean", proxy_settings).frames["score"]
        except InputError:  # no marker gene in the data: nothing to say about composition
            return None
    labelled = sheet.samples.notna().to_numpy()
    proxies = values[labelled].set_axis(sheet.samples[labelled].to_numpy()).groupby(level=0).mean()
    proxies = proxies.reindex(sheet.table.index)
    return BulkContext(proxies, _detected(proxies, sheet))


def _detected(proxies: pd.DataFrame, sheet: SampleSheet) -> dict[str, bool]:
    medians = proxies.groupby(sheet.table["condition"].astype(str)).median()
    return {name: bool((medians[name] >= DETECTION).any()) for name in proxies.columns}


def proxy_targets(context: BulkContext) -> list[Target]:
    """One abundance target per measured marker set, with the library expectation if any."""
    markers, expectations = load_markers(), load_abundance()
    targets = []
    for name in context.proxies.columns:
        if context.proxies[name].isna().all():
            continue
        compartment = markers.expectation_of.get(name, name)
        entry = expectations.get(compartment)
        expected = entry.expected if entry else "unclear"
        targets.append(
            Target(f"{name}_proxy", compartment, compartment, expected, (), FLAG_PROXY, "abundance")
        )
    return targets


def proxy_values(context: BulkContext) -> tuple[pd.DataFrame, pd.Series]:
    """``(samples x "<set>_proxy" values, one observation per sample)`` for the evaluator."""
    values = context.proxies.add_suffix("_proxy")
    return values, pd.Series(1, index=values.index)


def not_detected(context: BulkContext, compartment: str) -> str:
    """The reason a compartment is not testable, or ``""`` when it is there."""
    name = context.proxy_of(compartment)
    if name is None or context.detected[name] or compartment == "tumor":
        return ""
    genes = ", ".join(load_markers().markers[name])
    return (
        f"compartment not detected: its marker genes ({genes}) are at background level "
        f"(median below {DETECTION} log1p CP10k) in both arms"
    )


def adjustment(context: BulkContext, target: Target, samples: pd.Index) -> pd.Series | None:
    """The proxy a program is adjusted for (per sample), or ``None``."""
    if target.kind != "program" or target.compartment == "any":
        return None
    name = context.proxy_of(target.compartment)
    if name is None:
        return None
    return context.proxies[name].reindex(samples).rename(name)
