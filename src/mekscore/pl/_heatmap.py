"""Grids of verdicts: signature x compartment, and program x contrast."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap

from ..errors import InputError
from ._style import (
    VERDICT_COLORS,
    new_axes,
    plain,
    require_columns,
    select_contrast,
    verdict_legend,
)

_COLUMNS = ("signature", "compartment", "verdict", "effect_size")


def verdict_heatmap(
    verdict: pd.DataFrame, ax: Axes | None = None, *, contrast: str | None = None
) -> Axes:
    """Grid of verdicts: signatures as rows, compartments as columns.

    Each tested cell is coloured by its verdict and shows the effect size; blank
    cells were not part of the table. A table of several contrasts is drawn one
    contrast at a time (``contrast``); :func:`mekscore.pl.contrast_overview` shows them
    all.

    Parameters
    ----------
    verdict
        The table returned by :func:`mekscore.tl.compare`.
    ax
        Axes to draw into; a new figure sized to the grid otherwise.
    contrast
        The contrast to draw (its words in the ``contrast`` column); needed when the
        table holds several.

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
    verdict = select_contrast(verdict, contrast, "verdict")
    rows, columns = verdict["signature"].astype(str), verdict["compartment"].astype(str)
    ax = _grid(verdict, rows, columns, ax, cell_width=0.9)
    for label in ax.get_xticklabels():
        label.set(rotation=45, ha="right")
    return ax


def contrast_overview(verdict: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Grid of verdicts across contrasts: program x compartment as rows, contrasts as columns.

    The one-look summary of a design with several contrasts (arms, combinations,
    interaction, time points): each cell is coloured by the verdict of that program in
    that contrast and shows its effect size (``n/t``: not testable); blank cells were
    not in the table. Contrasts keep the table's order and are labelled in words.

    Parameters
    ----------
    verdict
        The table returned by :func:`mekscore.tl.compare` (its ``contrast`` column
        names the contrasts; a two-arm table gives one column).
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
    ...     method="mean", qc=False)
    >>> ax = mk.pl.contrast_overview(verdict)
    >>> len(ax.get_xticks()), len(ax.get_yticks()) == len(verdict)
    (1, True)
    """
    require_columns(verdict, (*_COLUMNS, "contrast"), "verdict")
    rows = verdict["signature"].astype(str) + " (" + verdict["compartment"].astype(str) + ")"
    columns = verdict["contrast"].astype(str).map(lambda words: textwrap.fill(words, 20))
    ax = _grid(verdict, rows, columns, ax, cell_width=1.5)
    ax.tick_params(axis="x", labelsize="small")
    return ax


def _grid(
    verdict: pd.DataFrame, rows: pd.Series, columns: pd.Series, ax: Axes | None, *, cell_width
) -> Axes:
    """Cells coloured by verdict with the effect size written in, one per row of ``verdict``."""
    if verdict.empty:
        raise InputError("verdict has no rows; nothing to plot")
    row_names, column_names = _levels(rows), _levels(columns)
    names = list(VERDICT_COLORS)
    codes = np.full((len(row_names), len(column_names)), np.nan)
    ax = new_axes(ax, 2.5 + cell_width * len(column_names), 1.2 + 0.32 * len(row_names))
    cells = zip(rows, columns, verdict["verdict"], verdict["effect_size"], strict=True)
    for row, column, verdict_, effect in cells:
        i, j = row_names.index(row), column_names.index(column)
        codes[i, j] = names.index(verdict_)
        ax.text(
            j,
            i,
            _cell_text(effect),
            ha="center",
            va="center",
            fontsize="small",
            color="white" if verdict_ in ("consistent", "opposite") else "#202020",
        )
    cmap = ListedColormap(list(VERDICT_COLORS.values())).with_extremes(bad="white")
    ax.imshow(
        np.ma.masked_invalid(codes), cmap=cmap, vmin=-0.5, vmax=len(names) - 0.5, aspect="auto"
    )
    ax.set_xticks(range(len(column_names)), map(plain, column_names))
    ax.set_yticks(range(len(row_names)), map(plain, row_names))
    ax.set_xticks(np.arange(len(column_names) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(row_names) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", lw=2)
    ax.tick_params(which="minor", length=0)
    verdict_legend(
        ax,
        verdict["verdict"],
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=2 if len(column_names) < 4 else 5,
        fontsize="small",
    )
    return ax


def _levels(labels: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(labels))


def _cell_text(effect: float) -> str:
    """The effect size, signed, or ``n/t`` when there is none."""
    if np.isnan(effect):
        return "n/t"
    return f"{effect:+.1f}" if np.isfinite(effect) else ("+inf" if effect > 0 else "-inf")
