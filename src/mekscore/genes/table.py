"""The bundled per-gene identifier table (``signatures/genes.tsv``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pandas as pd

from ..sig.library import library_dir


@dataclass(frozen=True)
class GeneTable:
    """Offline lookups from other gene identifiers to the signatures' own symbols.

    Attributes
    ----------
    human_alternatives
        Approved human symbol -> previous and alias symbols that name no other gene.
    human_ensembl
        Approved human symbol -> Ensembl gene ID.
    mouse_alternatives
        MGI symbol -> its MGI synonyms that name no other gene.
    mouse_ensembl
        MGI symbol -> Ensembl gene ID.
    """

    human_alternatives: dict[str, tuple[str, ...]]
    human_ensembl: dict[str, str]
    mouse_alternatives: dict[str, tuple[str, ...]]
    mouse_ensembl: dict[str, str]

    def alternatives(self, symbol: str, species: str) -> tuple[str, ...]:
        """Unambiguous alternative symbols of ``symbol``."""
        table = self.human_alternatives if species == "human" else self.mouse_alternatives
        return table.get(symbol, ())

    def ensembl(self, symbol: str, species: str) -> str | None:
        """Ensembl gene ID of ``symbol`` (no version suffix), if known."""
        table = self.human_ensembl if species == "human" else self.mouse_ensembl
        return table.get(symbol)


def _split(value) -> list[str]:
    if not isinstance(value, str) or not value:
        return []
    return [v.strip() for v in value.split("|") if v.strip()]


def _unambiguous(
    alternatives: dict[str, list[str]], approved: set[str]
) -> dict[str, tuple[str, ...]]:
    """Keep an alternative symbol only if it names exactly one gene and is no approved symbol."""
    owners: dict[str, set[str]] = {}
    for symbol, alts in alternatives.items():
        for alt in alts:
            owners.setdefault(alt, set()).add(symbol)
    return {
        symbol: tuple(a for a in alts if len(owners[a]) == 1 and a not in approved)
        for symbol, alts in alternatives.items()
    }


@cache
def gene_table() -> GeneTable:
    """Load the bundled gene table once.

    Examples
    --------
    >>> gene_table().ensembl("B2M", "human")
    'ENSG00000166710'
    """
    df = pd.read_csv(library_dir() / "genes.tsv", sep="\t", dtype=str).fillna("")
    human_alt = {
        row.symbol: _split(row.previous_symbols) + _split(row.alias_symbols)
        for row in df.itertuples()
    }
    human_ens = {row.symbol: row.ensembl_gene_id for row in df.itertuples() if row.ensembl_gene_id}
    mouse_alt: dict[str, list[str]] = {}
    mouse_ens: dict[str, str] = {}
    for row in df.itertuples():
        symbols = _split(row.mouse_symbols)
        ensembl = _split(row.mouse_ensembl_ids)
        synonyms = _split(row.mouse_synonyms)
        for i, m in enumerate(symbols):
            if i < len(ensembl):
                mouse_ens[m] = ensembl[i]
            # synonyms are listed per human gene; attach them only when there is one mouse gene
            mouse_alt.setdefault(m, []).extend(synonyms if len(symbols) == 1 else [])
    return GeneTable(
        human_alternatives=_unambiguous(human_alt, set(human_alt)),
        human_ensembl=human_ens,
        mouse_alternatives=_unambiguous(mouse_alt, set(mouse_alt)),
        mouse_ensembl=mouse_ens,
    )


__all__ = ["GeneTable", "gene_table"]
