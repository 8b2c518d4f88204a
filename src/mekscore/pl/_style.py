"""Shared look of mekscore plots: verdict colours, axes creation and input checks."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from ..errors import InputError

VERDICT_COLORS: dict[str, str] = {
    "consistent": "#0072B2",
    "opposite": "#D55E00",
    "no change detected": "#8C8C8C",
    "no expected direction": "#E69F00",
    "not testable": "#D9D9D9",
}
"""Verdict -> colour (Okabe-Ito blue / vermillion, greys; colour-blind safe)."""

CONDITION_COLORS = ("#8C8C8C", "#CC79A7", "#009E73", "#56B4E9", "#E69F00", "#0072B2")
"""Control, treated, then further arms (Okabe-Ito)."""

MEASURE_NAMES: dict[str, str] = {
    "hedges_g_av": "Hedges' g*_s",
    "hedges_g_z": "Hedges' g_z",
    "cohens_d_av": "Cohen's d*_s (uncorrected, 1 df)",
    "cohens_d_z": "Cohen's d_z (uncorrected, 1 df)",
    "adjusted_g": "composition-adjusted g",
    "hodges_lehmann": "Hodges-Lehmann shift (score units)",
    "hedges_g_model": "Hedges' g (model residual SD)",
    "hedges_g_lmm": "Hedges' g (per-subject model SD)",
}
"""``effect_measure`` of :func:`mekscore.tl.compare` -> its name in figures and reports."""


def measure_names(verdict: pd.DataFrame) -> str:
    """The effect measures of a verdict table, named (``"Hedges' g*_s"``), joined by ``/``.

    Examples
    --------
    >>> measure_names(pd.DataFrame({"effect_measure": ["hedges_g_av", "adjusted_g"]}))
    "Hedges' g*_s / composition-adjusted g"
    """
    measures = verdict.get("effect_measure", pd.Series(dtype=str))
    if "effect_size" in verdict.columns and verdict["effect_size"].notna().any():
        measures = measures[verdict["effect_size"].notna()]  # the measures actually drawn
    measures = measures.dropna().unique()
    return " / ".join(MEASURE_NAMES.get(m, m) for m in measures) or "effect size"


def new_axes(ax: Axes | None, width: float, height: float) -> Axes:
    """``ax`` itself, or the Axes of a new pyplot figure of the given size (inches)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # imported here: plotting into a given ax needs no pyplot

    return plt.figure(figsize=(width, height)).add_subplot()


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise a one-line ``ValueError`` naming the columns ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{what} lacks column(s) {', '.join(missing)}; pass the table returned by "
            "mekscore.tl.compare (return_samples=True for the per-sample view)"
        )


def plain(text: object) -> str:
    r"""``text`` as matplotlib shows it literally: ``$`` escaped, so labels are never mathtext.

    A sample called ``veh1$_{$`` would otherwise be parsed as a formula (and fail).

    Examples
    --------
    >>> print(plain("veh1$_{$"))
    veh1\$_{\$
    """
    return str(text).replace("$", r"\$")


def row_label(signature: str, compartment: str) -> str:
    """``"signature (compartment)"``, the label of one verdict row (shown literally)."""
    return plain(f"{signature} ({compartment})")


def verdict_legend(ax: Axes, verdicts: Iterable[str], **kwargs) -> None:
    """Add a legend of the verdict colours present in ``verdicts`` (in canonical order)."""
    present = set(verdicts)
    handles = [
        Patch(facecolor=color, edgecolor="#404040", label=plain(name))
        for name, color in VERDICT_COLORS.items()
        if name in present
    ]
    ax.legend(handles=handles, frameon=False, **kwargs)


def contrasts_of(table: pd.DataFrame) -> list[str]:
    """The contrasts of a verdict or per-sample table in table order (none without the column).

    Examples
    --------
    >>> contrasts_of(pd.DataFrame({"contrast": ["b vs a", "c vs a", "b vs a"]}))
    ['b vs a', 'c vs a']
    """
    if "contrast" not in table.columns:
        return []
    return list(dict.fromkeys(table["contrast"].dropna().astype(str)))


def select_contrast(table: pd.DataFrame, contrast: str | None, what: str) -> pd.DataFrame:
    """The rows of one contrast; the whole table when it holds one contrast and none is named.

    A table of several contrasts needs ``contrast``: one plot mixing them would put rows
    that answer different questions side by side.

    Examples
    --------
    >>> table = pd.DataFrame({"contrast": ["b vs a", "c vs a"], "x": [1, 2]})
    >>> select_contrast(table, "c vs a", "verdict")["x"].tolist()
    [2]
    >>> select_contrast(table, None, "verdict")
    Traceback (most recent call last):
    ...
    mekscore.errors.InputError: verdict holds 2 contrasts; choose one with contrast (one of: 'b vs a', 'c vs a')
    """  # noqa: E501
    present = contrasts_of(table)
    if contrast is None:
        if len(present) > 1:
            raise InputError(
                "{what} holds {n} contrasts; choose one with {contrast!p} (one of: {names})",
                what=what,
                n=len(present),
                contrast=contrast,
                names=", ".join(map(repr, present)),
            )
        return table
    if str(contrast) not in present:
        raise InputError(
            "{contrast=} is not a contrast of {what} ({names}); pass one of them",
            contrast=contrast,
            what=what,
            names=", ".join(map(repr, present)) or "it has no contrast column",
        )
    return table[table["contrast"].astype(str) == str(contrast)]
