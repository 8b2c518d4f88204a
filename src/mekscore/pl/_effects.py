"""Forest plot of effect sizes: one row per signature x compartment."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.transforms import blended_transform_factory

from ..errors import InputError
from ._style import (
    VERDICT_COLORS,
    measure_names,
    new_axes,
    plain,
    require_columns,
    row_label,
    select_contrast,
    verdict_legend,
)

_COLUMNS = ("signature", "compartment", "expected", "effect_size", "ci_low", "ci_high", "verdict")
_EXPECTED_MARKERS = {"up": ">", "down": "<"}


def effect_sizes(
    verdict: pd.DataFrame, ax: Axes | None = None, *, contrast: str | None = None
) -> Axes:
    """Forest plot: effect size and confidence interval per signature x compartment.

    Points are coloured by verdict; the column on the right shows the expected
    direction in this contrast (``>`` up, ``<`` down, text for mixed/unclear).
    Rows without an effect size (not testable) are labelled as such. Infinite
    effects (constant arms) are drawn at the edge of the axis as open triangles;
    an interval open on one side (the one-sided bound of "beats both") runs to the edge.

    A table of several contrasts (a :class:`~mekscore.tl.Design` with several arms or
    time points) is drawn one contrast at a time: name it with ``contrast``, or see
    them all side by side with :func:`mekscore.pl.contrast_overview`.

    Parameters
    ----------
    verdict
        The table returned by :func:`mekscore.tl.compare`.
    ax
        Axes to draw into; a new figure sized to the number of rows otherwise.
    contrast
        The contrast to draw, as its ``contrast`` column says it (e.g.
        ``"cobi vs vehicle (MEKi)"``); needed when the table holds several.

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
    >>> ax = mk.pl.effect_sizes(verdict)
    >>> len(ax.get_yticks()) == len(verdict)
    True
    """
    require_columns(verdict, _COLUMNS, "verdict")
    verdict = select_contrast(verdict, contrast, "verdict")
    if verdict.empty:
        raise InputError("verdict has no rows; nothing to plot")
    n = len(verdict)
    ax = new_axes(ax, 7.0, 1.2 + 0.32 * n)
    y = np.arange(n)[::-1]
    effect = verdict["effect_size"].to_numpy(dtype=float)
    low, high = _interval(verdict)
    limit = _limit(effect, low, high)
    colors = [VERDICT_COLORS.get(v, "#000000") for v in verdict["verdict"]]
    finite = np.isfinite(effect)
    ends = np.clip(low[finite], -limit, limit), np.clip(high[finite], -limit, limit)
    ax.hlines(y[finite], *ends, colors=np.asarray(colors)[finite], lw=2)
    ax.scatter(
        effect[finite],
        y[finite],
        c=np.asarray(colors)[finite],
        s=42,
        zorder=3,
        edgecolors="#202020",
        linewidths=0.6,
    )
    _draw_infinite(ax, effect, y, limit, colors)
    _draw_untested(ax, effect, y)
    _draw_expected(ax, verdict["expected"].astype(str).tolist(), y)
    ax.axvline(0.0, color="#404040", lw=0.8, zorder=1)
    ax.set_xlim(-limit, limit)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_yticks(
        y,
        [
            row_label(s, c)
            for s, c in zip(verdict["signature"], verdict["compartment"], strict=True)
        ],
    )
    ax.set_xlabel(_axis_label(verdict, contrast))
    ax.grid(axis="x", color="#E5E5E5", lw=0.6)
    ax.set_axisbelow(True)
    verdict_legend(
        ax,
        verdict["verdict"],
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=4,
        fontsize="small",
    )
    return ax


def _axis_label(verdict: pd.DataFrame, contrast: str | None) -> str:
    """Name the effect measure, the contrast and the interval on the x axis."""
    return plain(f"{measure_names(verdict)}, {contrast or 'treated vs control'}, with its interval")


def _interval(verdict: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return verdict["ci_low"].to_numpy(dtype=float), verdict["ci_high"].to_numpy(dtype=float)


def _limit(effect: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Symmetric x limit covering every finite point and interval, at least 1."""
    values = np.concatenate([effect, low, high])
    values = np.abs(values[np.isfinite(values)])
    return 1.1 * max(1.0, float(values.max())) if values.size else 1.0


def _draw_infinite(ax: Axes, effect, y, limit: float, colors) -> None:
    for value, row, color in zip(effect, y, colors, strict=True):
        if np.isinf(value):
            side = np.sign(value)
            ax.scatter(
                [side * limit * 0.97],
                [row],
                marker=">" if side > 0 else "<",
                s=60,
                facecolors="none",
                edgecolors=color,
                linewidths=1.5,
                zorder=3,
            )


def _draw_untested(ax: Axes, effect, y) -> None:
    for value, row in zip(effect, y, strict=True):
        if np.isnan(value):
            ax.text(
                0.0,
                row,
                " not testable",
                va="center",
                ha="left",
                fontsize="small",
                style="italic",
                color="#707070",
            )


def _draw_expected(ax: Axes, expected: list[str], y) -> None:
    """Right-hand column: the expected direction of each row."""
    trans = blended_transform_factory(ax.transAxes, ax.transData)
    ax.text(
        1.03,
        1.0,
        "expected",
        transform=ax.transAxes,
        ha="left",
        va="bottom",
        fontsize="small",
        weight="bold",
    )
    for direction, row in zip(expected, y, strict=True):
        marker = _EXPECTED_MARKERS.get(direction)
        if marker is not None:
            ax.scatter(
                [1.05], [row], marker=marker, s=40, color="#202020", transform=trans, clip_on=False
            )
        ax.text(
            1.08, row, plain(direction), transform=trans, va="center", ha="left", fontsize="small"
        )
