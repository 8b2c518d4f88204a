"""What a comparison tests: one target per signature x compartment, and its cells."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from ._aggregate import compartment_labels

FLAG_BULK = "compartment not isolated (bulk): score mixes composition and regulation"
FLAG_ALL_CELLS = (
    "compartment not isolated (all cells of each sample): score mixes composition and regulation"
)


@dataclass(frozen=True)
class Target:
    """One row of a result table: a signature tested on the cells of a compartment.

    ``primary`` is the signature's own compartment (``compartment`` differs from it
    only for the extra all-cells rows); ``labels`` are the cell-type labels tested;
    ``kind`` is ``"program"`` (a signature's score) or ``"abundance"`` (a share of cells).
    """

    signature: str
    compartment: str
    primary: str
    expected: str
    labels: tuple[str, ...]
    flag: str
    kind: str = "program"


def compartment_map(obs: pd.DataFrame, compartment_key, compartments) -> dict | None:
    """Compartment -> labels of ``obs[compartment_key]`` (``None`` without a key)."""
    if compartment_key is None:
        if compartments:
            raise InputError("compartments needs compartment_key (the obs column it maps)")
        return None
    present = pd.Series(obs[compartment_key].unique()).dropna().astype(str).unique()
    return compartment_labels(present, compartments)


def make_targets(meta, labels, in_all_cells: bool, bulk: bool) -> list[Target]:
    """Targets for ``meta`` (signature -> (compartment, expected)) under a compartment map.

    Examples
    --------
    >>> ts = make_targets({"mhc1_apm": ("tumor", "up")}, None, False, bulk=True)
    >>> ts[0].compartment, ts[0].flag.startswith("compartment not isolated (bulk)")
    ('tumor', True)
    """
    if labels is None:
        flag = FLAG_BULK if bulk else FLAG_ALL_CELLS
        return [
            Target(sid, comp, comp, expected, (), "" if comp == "any" else flag)
            for sid, (comp, expected) in meta.items()
        ]
    targets = []
    for sid, (comp, expected) in meta.items():
        targets.append(Target(sid, comp, comp, expected, tuple(labels[comp]), ""))
        if in_all_cells and comp != "any":
            targets.append(Target(sid, "any", comp, expected, tuple(labels["any"]), ""))
    return targets


def by_cells(targets: list[Target]) -> list[list[Target]]:
    """Targets grouped by the cells they are tested on (first-seen order)."""
    groups: dict[tuple[str, ...], list[Target]] = {}
    for target in targets:
        groups.setdefault(target.labels, []).append(target)
    return list(groups.values())


def cell_mask(target: Target, obs: pd.DataFrame, compartment_key: str | None) -> np.ndarray:
    """Boolean mask of the observations a target is tested on."""
    if compartment_key is None:
        return np.ones(len(obs), dtype=bool)
    return label_mask(obs[compartment_key], target.labels)


def label_mask(column: pd.Series, labels) -> np.ndarray:
    """Whether each value of ``column`` (as a string) is one of ``labels``; missing: False.

    Decided per distinct value, not per cell (a categorical column costs nothing more).

    Examples
    --------
    >>> label_mask(pd.Series(["T", None, "B", "T"]), ["T"]).tolist()
    [True, False, False, True]
    """
    codes, values = pd.factorize(column)
    wanted = np.append(pd.Index(values).astype(str).isin(labels), False)  # code -1: missing
    return wanted[codes]


def tested_in(target: Target, compartment_key: str | None) -> str:
    """The cells of a target in words (``"all cells"``, ``"Tumor"``...)."""
    if compartment_key is None:
        return "all observations"
    return "all cells" if target.compartment == "any" else ", ".join(target.labels)


def absent_reason(target: Target, compartment_key: str) -> str:
    """Why a target's compartment has no cells."""
    if not target.labels:
        return (
            f"compartment absent: no label of obs[{compartment_key!r}] maps to "
            f"{target.compartment!r} (map one with compartments={{{target.compartment!r}: [...]}}"
            " or --compartment-map)"
        )
    return f"compartment absent: no cells labelled {', '.join(target.labels)}"
