"""Composition: each compartment's share of a sample's cells, tested like a program.

Per sample, the cells of each compartment are counted and divided by all the
sample's cells; the shares are logit-transformed with a half-cell offset,
``logit((k + 0.5) / (n + 1))``, as speckle's propeller does (Phipson et al. 2022,
Bioinformatics 38:4720, doi:10.1093/bioinformatics/btac582), and compared between
arms with the same sample-level tests, intervals and verdict rules as the programs.
Rows have ``kind = "abundance"`` and their own multiple-testing family.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..sig.abundance import load_abundance
from ._sheet import SampleSheet
from ._targets import Target, label_mask

TRANSFORM = "logit((k + 0.5) / (n + 1))"


def composition_counts(
    obs: pd.DataFrame, sheet: SampleSheet, compartment_key: str, labels: dict[str, list[str]]
) -> tuple[pd.DataFrame, pd.Series]:
    """Cells per sample x compartment, and all cells per sample (design samples only).

    Examples
    --------
    >>> obs = pd.DataFrame({"s": ["a", "a", "a", "b", "c", "d"],
    ...                     "c": ["v", "v", "v", "t", "v", "t"],
    ...                     "ct": ["CD8 T", "Tumor", "Tumor", "Tumor", "Tumor", "CD8 T"]})
    >>> from mekscore.tl._designspec import Design
    >>> from mekscore.tl._sheet import build_sheet
    >>> sheet = build_sheet(obs, Design.two_arm(condition_key="c", control="v", treated="t"),
    ...                     sample_key="s")
    >>> counts, totals = composition_counts(obs, sheet, "ct", {"tumor": ["Tumor"],
    ...                                                         "cd8_t": ["CD8 T"]})
    >>> counts.to_dict("index")["a"], totals.to_dict()
    ({'tumor': 2, 'cd8_t': 1}, {'a': 3, 'b': 1, 'c': 1, 'd': 1})
    """
    index = sheet.table.index
    sheet_row = np.append(index.get_indexer(sheet.samples.cat.categories), -1)
    row = sheet_row[sheet.samples.cat.codes.to_numpy()]  # each cell's sample in the sheet
    type_of = {comp: label_mask(obs[compartment_key], members) for comp, members in labels.items()}
    n_samples = len(index)
    in_design = row >= 0
    counts = pd.DataFrame(
        {
            comp: np.bincount(row[in_design & cells], minlength=n_samples)
            for comp, cells in type_of.items()
        },
        index=index,
    )
    totals = pd.Series(np.bincount(row[in_design], minlength=n_samples), index=index)
    return counts.astype(int), totals.astype(int)


def logit_shares(counts: pd.DataFrame, totals: pd.Series) -> pd.DataFrame:
    """``logit((k + 0.5) / (n + 1))`` of each compartment's share of each sample's cells.

    Examples
    --------
    >>> round(float(logit_shares(pd.DataFrame({"x": [1]}), pd.Series([3])).iloc[0, 0]), 4)
    -0.5108
    """
    share = (counts + 0.5).div(totals + 1, axis=0)
    return np.log(share / (1 - share))


def composition_targets(labels: dict[str, list[str]]) -> list[Target]:
    """One abundance target per compartment with cells labelled in the data."""
    expectations = load_abundance()
    targets = []
    for comp, members in labels.items():
        if comp == "any" or not members:
            continue
        entry = expectations.get(comp)
        name = entry.id if entry else f"{comp}_abundance"
        expected = entry.expected if entry else "unclear"
        targets.append(Target(name, comp, comp, expected, tuple(members), "", kind="abundance"))
    return targets
