"""Composition: stacked bars of each sample's compartment shares, grouped by condition."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ..errors import InputError
from ._style import new_axes, plain, require_columns

# Okabe-Ito palette plus greys: colour-blind safe, one colour per compartment
_PALETTE = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#999999",
    "#000000",
    "#CCCCCC",
)


def composition(shares: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Stacked bars: each sample's share of cells per compartment, controls first.

    Parameters
    ----------
    shares
        ``adata.uns["mekscore_compare"]["composition"]`` from :func:`mekscore.tl.compare`:
        samples x compartments shares, with ``condition`` and ``n_cells`` columns. The
        compartments need not add up to 1 (cells outside every mapped compartment are
        the white remainder).
    ax
        Axes to draw into; a new figure otherwise.

    Returns
    -------
    The Axes drawn into.

    Examples
    --------
    >>> import mekscore as mk
    >>> adata = mk.datasets.load_example_scrna()
    >>> _ = mk.tl.compare(adata, condition_key="condition", control="vehicle",
    ...     treated="trametinib", sample_key="sample", compartment_key="cell_type",
    ...     method="mean", aggregate="mean")
    >>> ax = mk.pl.composition(adata.uns["mekscore_compare"]["composition"])
    >>> len(ax.patches) > 0
    True
    """
    require_columns(shares, ("condition", "n_cells"), "composition")
    compartments = [c for c in shares.columns if c not in ("condition", "n_cells")]
    if shares.empty or not compartments:
        raise InputError("composition has no samples or no compartments; nothing to plot")
    order = _sample_order(shares)
    values = shares.loc[order, compartments].fillna(0.0).to_numpy(dtype=float)
    ax = new_axes(ax, 1.2 + 0.45 * len(order), 3.6)
    x = np.arange(len(order))
    bottom = np.zeros(len(order))
    for j, comp in enumerate(compartments):
        color = _PALETTE[j % len(_PALETTE)]
        bar = {"color": color, "edgecolor": "white", "lw": 0.4, "label": plain(comp)}
        ax.bar(x, values[:, j], bottom=bottom, **bar)
        bottom += values[:, j]
    labels = [
        plain(f"{s}\n{c}") for s, c in zip(order, shares.loc[order, "condition"], strict=True)
    ]
    ax.set_xticks(x, labels, rotation=90, fontsize="small")
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of the sample's cells")
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def _sample_order(shares: pd.DataFrame) -> list:
    """Samples by condition (category order, else first appearance), then by name."""
    condition = shares["condition"]
    levels = (
        list(condition.cat.categories)
        if isinstance(condition.dtype, pd.CategoricalDtype)
        else list(dict.fromkeys(condition))
    )
    rank = condition.astype(str).map({str(c): i for i, c in enumerate(levels)})
    return sorted(shares.index, key=lambda s: (rank[s], str(s)))
