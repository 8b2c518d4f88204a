"""Signature x compartment grid of verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap

from ..errors import InputError
from ._style import VERDICT_COLORS, new_axes, plain, require_columns, verdict_legend

_COLUMNS = ("signature", "compartment", "verdict", "effect_size")


def verdict_heatmap(verdict: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Grid of verdicts: signatures as rows, compartments as columns.

    Each tested cell is coloured by its verdict and shows the effect size; blank
    cells were not part of the table.

    Parameters
    ----------
    verdict
        The table returned by :func:`mekscore.tl.compare`.
    ax
        Axes to draw into; a new figure sized to the grid otherwise.

    Returns
    -------
    The Axes drawn into.

    Examples
    --------
    >>> import mekscore as mk
    >>> adata = mk.datasets.load_example_scrna()
    >>> verdict = mk.tl.compare(adata, condition_key="condition", control="vehicle",
    ...     treated="trametinib", sample_key="sample", compartment_key="cell_type",
    ...     method="mean")
    >>> ax = mk.pl.verdict_heatmap(verdict)
    >>> len(ax.get_yticks()) == verdict["signature"].nunique()
    True
    """
    require_columns(verdict, _COLUMNS, "verdict")
    if verdict.empty:
        raise InputError("verdict has no rows; nothing to plot")
    signatures = list(dict.fromkeys(verdict["signature"]))
    compartments = list(dict.fromkeys(verdict["compartment"]))
    names = list(VERDICT_COLORS)
    codes = np.full((len(signatures), len(compartments)), np.nan)
    ax = new_axes(ax, 2.5 + 0.9 * len(compartments), 1.2 + 0.32 * len(signatures))
    for row in verdict.itertuples(index=False):
        i, j = signatures.index(row.signature), compartments.index(row.compartment)
        codes[i, j] = names.index(row.verdict)
        ax.text(
            j,
            i,
            _cell_text(row.effect_size),
            ha="center",
            va="center",
            fontsize="small",
            color="white" if row.verdict in ("consistent", "opposite") else "#202020",
        )
    cmap = ListedColormap(list(VERDICT_COLORS.values())).with_extremes(bad="white")
    ax.imshow(
        np.ma.masked_invalid(codes), cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5, aspect="auto"
    )
    ax.set_xticks(range(len(compartments)), map(plain, compartments), rotation=45, ha="right")
    ax.set_yticks(range(len(signatures)), map(plain, signatures))
    ax.set_xticks(np.arange(len(compartments) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(signatures) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", lw=2)
    ax.tick_params(which="minor", length=0)
    verdict_legend(
        ax,
        verdict["verdict"],
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=2,
        fontsize="small",
    )
    return ax


def _cell_text(effect: float) -> str:
    """The effect size, signed, or ``n/t`` when there is none."""
    if np.isnan(effect):
        return "n/t"
    return f"{effect:+.1f}" if np.isfinite(effect) else ("+inf" if effect > 0 else "-inf")
