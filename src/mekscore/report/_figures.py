"""Report figures drawn on standalone ``Figure`` objects (no pyplot state)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from .. import pl


def effect_figure(verdict: pd.DataFrame, xlabel: str | None = None) -> Figure:
    """Forest plot of all rows (:func:`mekscore.pl.effect_sizes`), with an optional axis label."""
    fig = Figure(figsize=(8.0, 1.4 + 0.32 * len(verdict)))
    ax = pl.effect_sizes(verdict, ax=fig.add_subplot())
    if xlabel:
        ax.set_xlabel(xlabel)
    return fig


def heatmap_figure(verdict: pd.DataFrame) -> Figure:
    """Signature x compartment verdict grid (:func:`mekscore.pl.verdict_heatmap`)."""
    n_sig, n_comp = verdict["signature"].nunique(), verdict["compartment"].nunique()
    fig = Figure(figsize=(3.0 + 0.9 * n_comp, 1.6 + 0.32 * n_sig))
    pl.verdict_heatmap(verdict, ax=fig.add_subplot())
    return fig


def overview_figure(verdict: pd.DataFrame) -> Figure:
    """Program x contrast verdict grid (:func:`mekscore.pl.contrast_overview`)."""
    n_rows = verdict[["signature", "compartment"]].drop_duplicates().shape[0]
    fig = Figure(figsize=(3.5 + 1.5 * verdict["contrast"].nunique(), 2.2 + 0.3 * n_rows))
    pl.contrast_overview(verdict, ax=fig.add_subplot())
    return fig


def composition_figure(shares: pd.DataFrame) -> Figure:
    """Stacked bars of each sample's compartment shares (:func:`mekscore.pl.composition`)."""
    fig = Figure(figsize=(2.6 + 0.45 * len(shares), 3.8))
    pl.composition(shares, ax=fig.add_subplot())
    fig.subplots_adjust(bottom=0.35, right=0.78)
    return fig


def sample_figure(samples: pd.DataFrame, signature: str, compartment: str) -> Figure:
    """One signature x compartment's per-sample scores (:func:`mekscore.pl.sample_scores`)."""
    arms = samples.loc[samples["signature"] == signature, "condition"].nunique()
    fig = Figure(figsize=(2.4 + 0.5 * max(arms, 2), 3.0))
    pl.sample_scores(samples, signature, compartment, ax=fig.add_subplot())
    return fig
