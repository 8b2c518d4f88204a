"""Gene identifier harmonisation: symbols, aliases, Ensembl IDs, human and mouse."""

from .match import SignatureMatch, detect_species, match_report, match_signatures, strip_version
from .table import GeneTable, gene_table

__all__ = [
    "GeneTable",
    "SignatureMatch",
    "detect_species",
    "gene_table",
    "match_report",
    "match_signatures",
    "strip_version",
]
