"""Sample-level scores of one signature: box and strip per condition, pairs joined."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ..errors import InputError
from ._style import (
    CONDITION_COLORS,
    contrasts_of,
    new_axes,
    plain,
    require_columns,
    row_label,
    select_contrast,
)

_COLUMNS = ("signature", "compartment", "sample", "condition", "score")


def sample_scores(
    samples: pd.DataFrame,
    signature: str,
    compartment: str | None = None,
    ax: Axes | None = None,
    *,
    contrast: str | None = None,
) -> Axes:
    """Box and strip plot of one signature's per-sample scores, one box per condition.

    In paired designs (a non-empty ``pair`` column) the two samples of each pair are
    joined by a line. Conditions appear in category order (``condition`` categorical)
    or in order of appearance; the jitter is seeded, so figures are reproducible.
    A per-sample table of several contrasts lists a sample once per contrast it is in;
    each sample is drawn once, in every arm, unless ``contrast`` picks the arms of one.

    Parameters
    ----------
    samples
        The per-sample table of :func:`mekscore.tl.compare` (``return_samples=True``).
    signature
        Signature id to plot.
    compartment
        Compartment to plot; may be omitted when the signature was tested in one only.
    ax
        Axes to draw into; a new figure otherwise.
    contrast
        Draw only the samples of this contrast (its words in the ``contrast`` column).

    Returns
    -------
    The Axes drawn into.

    Examples
    --------
    >>> import mekscore as mk
    >>> adata = mk.datasets.load_example_scrna()
    >>> verdict, samples = mk.tl.compare(adata, condition_key="condition", control="vehicle",
    ...     treated="trametinib", sample_key="sample", compartment_key="cell_type",
    ...     method="mean", return_samples=True)
    >>> ax = mk.pl.sample_scores(samples, "mhc1_apm", "tumor")
    """
    require_columns(samples, _COLUMNS, "samples")
    rows = _select(_one_per_sample(samples, contrast), signature, compartment)
    ax = new_axes(ax, 3.2, 3.0)
    conditions = _conditions(rows["condition"])
    groups = [rows.loc[rows["condition"] == c, "score"].to_numpy(dtype=float) for c in conditions]
    colors = [CONDITION_COLORS[i % len(CONDITION_COLORS)] for i in range(len(conditions))]
    boxes = ax.boxplot(
        groups,
        positions=range(len(conditions)),
        widths=0.5,
        showfliers=False,
        patch_artist=True,
        medianprops={"color": "#202020"},
    )
    for patch, color in zip(boxes["boxes"], colors, strict=True):
        patch.set(facecolor=color, alpha=0.35, edgecolor="#404040")
    x = _jittered(rows["condition"], conditions)
    if _is_paired(rows):
        _draw_pairs(ax, rows, x)
    ax.scatter(
        x,
        rows["score"].to_numpy(dtype=float),
        s=22,
        zorder=3,
        edgecolors="#202020",
        linewidths=0.5,
        c=[colors[conditions.index(c)] for c in rows["condition"]],
    )
    ax.set_xticks(range(len(conditions)), [plain(c) for c in conditions])
    ax.set_xlim(-0.6, len(conditions) - 0.4)
    ax.set_ylabel("sample score")
    ax.set_title(row_label(signature, rows["compartment"].iloc[0]), fontsize="medium")
    return ax


def _one_per_sample(samples: pd.DataFrame, contrast: str | None) -> pd.DataFrame:
    """The rows of ``contrast``, or each sample's row once when no contrast is named."""
    if contrast is not None or len(contrasts_of(samples)) < 2:
        return select_contrast(samples, contrast, "samples")
    return samples.drop_duplicates(["signature", "compartment", "sample"])


def _select(samples: pd.DataFrame, signature: str, compartment: str | None) -> pd.DataFrame:
    rows = samples[samples["signature"] == signature]
    if rows.empty:
        found = ", ".join(map(str, pd.unique(samples["signature"]))) or "none"
        raise InputError(f"signature {signature!r} not in samples (signatures: {found})")
    present = list(pd.unique(rows["compartment"]))
    if compartment is None:
        if len(present) > 1:
            raise InputError(
                "signature {name!r} was tested in several compartments ({present}); name one "
                "with {compartment!p}",
                name=signature,
                present=", ".join(present),
                compartment=compartment,
            )
        return rows
    if compartment not in present:
        raise InputError(
            f"signature {signature!r} has no samples in compartment {compartment!r} "
            f"(compartments: {', '.join(present)})"
        )
    return rows[rows["compartment"] == compartment]


def _conditions(condition: pd.Series) -> list:
    if isinstance(condition.dtype, pd.CategoricalDtype):
        return [c for c in condition.cat.categories if (condition == c).any()]
    return list(pd.unique(condition))


def _jittered(condition: pd.Series, conditions: list) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = np.array([conditions.index(c) for c in condition], dtype=float)
    return base + rng.uniform(-0.12, 0.12, size=len(base))


def _is_paired(rows: pd.DataFrame) -> bool:
    return "pair" in rows.columns and rows["pair"].astype(str).str.len().gt(0).all()


def _draw_pairs(ax: Axes, rows: pd.DataFrame, x: np.ndarray) -> None:
    y = rows["score"].to_numpy(dtype=float)
    for pair in pd.unique(rows["pair"]):
        members = np.flatnonzero((rows["pair"] == pair).to_numpy())
        order = members[np.argsort(x[members])]
        ax.plot(x[order], y[order], color="#9A9A9A", lw=0.9, zorder=2)
