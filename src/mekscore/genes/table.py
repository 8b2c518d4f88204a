"""The bundled identifier tables: every approved human and mouse gene symbol.

``signatures/identifiers_human.tsv.gz`` (all approved HGNC symbols) and
``signatures/identifiers_mouse.tsv.gz`` (all MGI markers) are built by
``scripts/build_gene_table.py``. Each row is ``symbol``, ``ensembl`` (may be empty) and
``alternatives``: the previous/alias symbols (human) or synonyms (mouse) that are not the
approved symbol of any gene and name no other gene. A species' table is read on first
use only, then cached.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import cache

from ..errors import InputError
from ..sig.library import library_dir

IDENTIFIER_FILE = "identifiers_{species}.tsv.gz"
SPECIES = ("human", "mouse")


@dataclass(frozen=True)
class SpeciesIdentifiers:
    """Identifiers of one species, keyed by every approved (HGNC) or marker (MGI) symbol.

    Attributes
    ----------
    ensembl
        Symbol -> Ensembl gene ID without version suffix (``""`` when unknown).
    alternatives
        Symbol -> its unambiguous alternative symbols, ``|``-separated (``""`` if none).
    """

    ensembl: dict[str, str]
    alternatives: dict[str, str]


class GeneTable:
    """Offline look-ups from a gene's approved symbol to its other names, for any gene.

    Examples
    --------
    >>> table = gene_table()
    >>> table.ensembl("B2M", "human"), table.ensembl("B2m", "mouse")
    ('ENSG00000166710', 'ENSMUSG00000060802')
    >>> "VEGF" in table.alternatives("VEGFA", "human")
    True
    >>> "C7" in table.alternatives("CXCL10", "human"), table.is_approved("C7", "human")
    (False, True)
    """

    def alternatives(self, symbol: str, species: str) -> tuple[str, ...]:
        """Unambiguous alternative symbols of ``symbol`` (empty if none or unknown)."""
        alts = species_identifiers(species).alternatives.get(symbol)
        return tuple(alts.split("|")) if alts else ()

    def ensembl(self, symbol: str, species: str) -> str | None:
        """Ensembl gene ID of ``symbol`` (no version suffix), if known."""
        return species_identifiers(species).ensembl.get(symbol) or None

    def is_approved(self, symbol: str, species: str) -> bool:
        """Whether ``symbol`` is the approved symbol of a gene of ``species``."""
        return symbol in species_identifiers(species).ensembl


@cache
def species_identifiers(species: str) -> SpeciesIdentifiers:
    """Read one species' identifier table (once; later calls return the cached table).

    Examples
    --------
    >>> len(species_identifiers("human").ensembl) > 40_000
    True
    """
    if species not in SPECIES:
        raise InputError(f"unknown species {species!r}; use 'human' or 'mouse'")
    path = library_dir() / IDENTIFIER_FILE.format(species=species)
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    # three columns per line; one split of the whole text keeps loading at ~0.1 s
    fields = text.replace("\n", "\t").split("\t")[3:-1]  # drop header and final ""
    symbols = fields[0::3]
    return SpeciesIdentifiers(
        ensembl=dict(zip(symbols, fields[1::3], strict=True)),
        alternatives=dict(zip(symbols, fields[2::3], strict=True)),
    )


@cache
def gene_table() -> GeneTable:
    """The shared :class:`GeneTable` (species tables load lazily on first look-up).

    Examples
    --------
    >>> gene_table().ensembl("B2M", "human")
    'ENSG00000166710'
    """
    return GeneTable()


__all__ = ["GeneTable", "SpeciesIdentifiers", "gene_table", "species_identifiers"]
