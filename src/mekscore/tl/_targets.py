"""What a comparison tests: one target per signature x compartment, and the cells of each."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
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
    ``kind`` is ``"program"`` (a signature's score) or ``"abundance"`` (a share of cells);
    ``expected`` the direction under MEK inhibition and ``combination`` the direction
    with checkpoint blockade beyond either agent.
    """

    signature: str
    compartment: str
    primary: str
    expected: str
    labels: tuple[str, ...]
    flag: str
    kind: str = "program"
    combination: str = "unclear"


@dataclass(frozen=True)
class Compartments:
    """The cell-type column of a study and the labels each library compartment maps to.

    ``key`` is ``None`` when there are no cell labels (bulk data, or single-cell data
    tested on all cells); then every target is tested on every observation.

    Examples
    --------
    >>> obs = pd.DataFrame({"ct": ["Tumor", "CD8 T", "Mono"]})
    >>> c = Compartments.from_obs(obs, "ct", {"myeloid": ["Mono"]})
    >>> c.labels["myeloid"], c.mask(("Tumor",)).tolist()
    (('Mono',), [True, False, False])
    """

    key: str | None
    column: pd.Series | None
    labels: Mapping[str, tuple[str, ...]] | None
    n_obs: int

    @classmethod
    def from_obs(
        cls, obs: pd.DataFrame, key: str | None, mapping: Mapping[str, str | Sequence[str]] | None
    ) -> Compartments:
        """Map every library compartment to the labels of ``obs[key]`` that belong to it."""
        if key is None:
            if mapping:
                raise InputError(
                    "{compartments!p} needs {compartment_key!p} (the obs column it maps)",
                    compartments=mapping,
                    compartment_key=key,
                )
            return cls(None, None, None, len(obs))
        if key not in obs.columns:
            raise InputError(
                "{compartment_key=} is not an obs column (columns: {columns}); pass an existing "
                "one",
                compartment_key=key,
                columns=", ".join(map(str, obs.columns)),
            )
        present = pd.Series(obs[key].unique()).dropna().astype(str).unique()
        labels = compartment_labels(present, mapping)
        mapped = {comp: tuple(members) for comp, members in labels.items()}
        return cls(key, obs[key], mapped, len(obs))

    @property
    def labelled(self) -> bool:
        """Whether cells carry compartment labels."""
        return self.labels is not None

    def targets(
        self, meta: Mapping[str, tuple[str, str, str]], *, in_all_cells: bool, bulk: bool
    ) -> list[Target]:
        """Targets for ``meta`` (signature -> (compartment, expected, combination)).

        Examples
        --------
        >>> ts = Compartments(None, None, None, 1).targets(
        ...     {"mhc1_apm": ("tumor", "up", "unclear")}, in_all_cells=False, bulk=True)
        >>> ts[0].compartment, ts[0].flag.startswith("compartment not isolated (bulk)")
        ('tumor', True)
        """
        flag = FLAG_BULK if bulk else FLAG_ALL_CELLS
        targets = []
        for sid, (comp, expected, combination) in meta.items():
            if self.labels is None:
                own = "" if comp == "any" else flag
                targets.append(Target(sid, comp, comp, expected, (), own, "program", combination))
                continue
            labels = self.labels[comp]
            targets.append(Target(sid, comp, comp, expected, labels, "", "program", combination))
            if in_all_cells and comp != "any":
                every = self.labels["any"]
                targets.append(
                    Target(sid, "any", comp, expected, every, "", "program", combination)
                )
        return targets

    def groups(self, targets: Sequence[Target]) -> Iterator[tuple[list[Target], np.ndarray]]:
        """Targets grouped by the cells they are tested on, with those cells' mask.

        One mask per group, in first-seen order, so a compartment's cells are found once.
        """
        grouped: dict[tuple[str, ...], list[Target]] = {}
        for target in targets:
            grouped.setdefault(target.labels, []).append(target)
        for labels, group in grouped.items():
            yield group, self.mask(labels)

    def mask(self, labels: tuple[str, ...]) -> np.ndarray:
        """Boolean mask of the observations carrying one of ``labels`` (all without a key)."""
        if self.column is None:
            return np.ones(self.n_obs, dtype=bool)
        return label_mask(self.column, labels)

    def tested_in(self, target: Target) -> str:
        """The cells of a target in words (``"all cells"``, ``"Tumor"``...)."""
        if self.key is None:
            return "all observations"
        return "all cells" if target.compartment == "any" else ", ".join(target.labels)

    def absent_reason(self, target: Target) -> str:
        """Why a target's compartment has no cells."""
        if not target.labels:
            return (
                f"compartment absent: no label of obs[{self.key!r}] maps to "
                f"{target.compartment!r} (map one with compartments={{{target.compartment!r}: "
                "[...]} or --compartment-map)"
            )
        return f"compartment absent: no cells labelled {', '.join(target.labels)}"


def label_mask(column: pd.Series, labels) -> np.ndarray:
    """Whether each value of ``column`` (as a string) is one of ``labels``; missing: False.

    Decided per distinct value, not per cell (a categorical column costs nothing more).

    Examples
    --------
    >>> label_mask(pd.Series(["T", None, "B", "T"]), ["T"]).tolist()
    [True, False, False, True]
    """
    codes, values = pd.factorize(column)
    wanted = np.append(pd.Index(values).astype(str).isin(list(labels)), False)  # code -1: missing
    return wanted[codes]
