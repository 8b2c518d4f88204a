"""Match signature genes to the genes of a dataset, however the dataset names them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._geneset import GeneSet, as_index
from ..errors import InputError
from ..sig.model import Signature
from .table import gene_table

_ENSEMBL = re.compile(r"^(ENS[A-Z]*G\d{6,})(\.\d+)?$")
_HUMAN_ENSEMBL = re.compile(r"^ENSG\d")
_MOUSE_ENSEMBL = re.compile(r"^ENSMUSG\d")


@dataclass(frozen=True)
class SignatureMatch:
    """How one signature was found in a dataset.

    Attributes
    ----------
    gene_set
        The signature as column indices, ready for a scoring kernel.
    found
        Signature gene -> the dataset's name for it.
    how
        Signature gene -> ``"symbol"``, ``"ensembl"``, ``"alias"`` or ``"case"``.
    missing
        Signature genes not found.
    """

    signature: Signature
    gene_set: GeneSet
    found: dict[str, str] = field(default_factory=dict)
    how: dict[str, str] = field(default_factory=dict)
    missing: tuple[str, ...] = ()

    @property
    def n_found(self) -> int:
        """Number of genes found."""
        return len(self.found)


def strip_version(name: str) -> str:
    """Drop an Ensembl version suffix: ``ENSG00000166710.19`` -> ``ENSG00000166710``."""
    m = _ENSEMBL.match(name)
    return m.group(1) if m else name


def detect_species(names: Sequence[str]) -> str:
    """Guess ``"human"`` or ``"mouse"`` from gene names.

    Ensembl prefixes decide when present; otherwise mouse symbols are capitalised
    (``Cd8a``) and human symbols upper-case (``CD8A``).

    Examples
    --------
    >>> detect_species(["CD8A", "GZMB", "Actb"])
    'human'
    >>> detect_species(["Cd8a", "Gzmb", "Actb"])
    'mouse'
    """
    sample = [str(n) for n in list(names)[:5000]]
    n_hs = sum(bool(_HUMAN_ENSEMBL.match(n)) for n in sample)
    n_mm = sum(bool(_MOUSE_ENSEMBL.match(n)) for n in sample)
    if n_hs + n_mm > len(sample) / 2:
        return "mouse" if n_mm > n_hs else "human"
    upper = sum(n.isupper() for n in sample)
    title = sum(n[:1].isupper() and any(c.islower() for c in n[1:]) for n in sample)
    return "mouse" if title > upper else "human"


class _Lookup:
    """Dataset gene names indexed for exact, Ensembl and case-insensitive look-up."""

    def __init__(self, names: pd.Index):
        names = names.astype(str)
        self.names = names
        self.exact = _first_positions(names)
        self.ensembl = _first_positions(pd.Index([strip_version(n) for n in names]))
        self.folded = _unique_positions(pd.Index([n.upper() for n in names]))
        self.duplicated = set(names[names.duplicated()])

    def find(self, gene: str, species: str, *, aliases: bool = True) -> tuple[int, str] | None:
        table = gene_table()
        if gene in self.exact:
            return self.exact[gene], "symbol"
        ens = table.ensembl(gene, species)
        if ens and ens in self.ensembl:
            return self.ensembl[ens], "ensembl"
        if not aliases:
            return None
        for alt in table.alternatives(gene, species):
            # an alias that is another gene's approved symbol names that gene in the data
            if alt in self.exact and not table.is_approved(alt, species):
                return self.exact[alt], "alias"
        pos = self.folded.get(gene.upper())
        if pos is not None:
            return pos, "case"
        return None


def _first_positions(index: pd.Index) -> dict[str, int]:
    out: dict[str, int] = {}
    for i, name in enumerate(index):
        out.setdefault(name, i)
    return out


def _unique_positions(index: pd.Index) -> dict[str, int]:
    dup = set(index[index.duplicated()])
    return {name: i for i, name in enumerate(index) if name not in dup}


def match_signatures(
    signatures: Sequence[Signature],
    var_names: Sequence[str],
    species: str = "auto",
    *,
    aliases: bool = True,
) -> tuple[list[SignatureMatch], str]:
    """Resolve each signature's genes to column indices of a dataset.

    Look-up order per gene: exact symbol; Ensembl ID (version suffix ignored);
    unambiguous previous/alias symbols (human) or MGI synonyms (mouse); a unique
    case-insensitive match. Curated signatures are translated to MGI symbols
    first when the data are mouse.

    Ensembl and alias rescue work for any gene named by its approved HGNC (human)
    or MGI (mouse) symbol, in custom signatures too: the bundled tables cover every
    approved symbol. An alternative symbol is used only if it names no other gene:
    it is never another gene's approved symbol (so complement ``C7`` in the data is
    not taken for CXCL10, whose old alias it is) nor an alias shared with another
    gene. A signature gene written as an old symbol or alias is matched literally
    (and case-insensitively) only; write approved symbols.

    Parameters
    ----------
    signatures
        Signatures to match.
    var_names
        The dataset's gene names (symbols or Ensembl IDs).
    species
        ``"human"``, ``"mouse"`` or ``"auto"`` (guessed from the names).
    aliases
        Also accept unambiguous previous/alias symbols and case-insensitive matches.
        ``False`` keeps exact symbols and Ensembl IDs only (to reproduce tools that
        match names literally, such as GSVA).

    Returns
    -------
    The matches (one per signature, in order) and the species used.

    Examples
    --------
    >>> from mekscore.sig import Signature
    >>> sig = Signature.custom("t", up=["CD8A", "GZMB"], down=["FOXP3"])
    >>> (m,), sp = match_signatures([sig], ["GZMB", "CD8A", "ACTB"])
    >>> m.gene_set.up.tolist(), m.missing, m.gene_set.n_missing_down
    ([1, 0], ('FOXP3',), 1)

    A custom signature gene found under its previous symbol, and one absent gene
    whose old alias (``C7``) is another gene's symbol:

    >>> sig = Signature.custom("v", up=["VEGFA", "CXCL10"])
    >>> (m,), _ = match_signatures([sig], ["VEGF", "C7"], species="human")
    >>> m.found, m.missing
    ({'VEGFA': 'VEGF'}, ('CXCL10',))
    """
    names = pd.Index(var_names).astype(str)
    if species == "auto":
        species = detect_species(names)
    if species not in ("human", "mouse"):
        raise InputError(f"unknown species {species!r}; use 'human', 'mouse' or 'auto'")
    lookup = _Lookup(names)
    matches = [_match_one(sig, lookup, species, aliases=aliases) for sig in signatures]
    clashes = sorted({n for m in matches for n in m.found.values() if n in lookup.duplicated})
    if clashes:
        raise InputError(
            f"duplicated gene names in the data: {', '.join(clashes[:10])}; make them unique "
            "(adata.var_names_make_unique()) or aggregate duplicated genes before scoring"
        )
    return matches, species


def _match_one(sig: Signature, lookup: _Lookup, species: str, *, aliases: bool) -> SignatureMatch:
    up, down, weights = sig.for_species(species)
    found: dict[str, str] = {}
    how: dict[str, str] = {}
    missing: list[str] = []
    parts: dict[str, tuple[list[int], list[float]]] = {"up": ([], []), "down": ([], [])}
    n_missing = {"up": 0, "down": 0}
    used: set[int] = set()
    for part, genes in (("up", up), ("down", down)):
        for gene in genes:
            hit = lookup.find(gene, species, aliases=aliases)
            if hit is None or hit[0] in used:
                missing.append(gene)
                n_missing[part] += 1
                continue
            pos, kind = hit
            used.add(pos)
            found[gene] = lookup.names[pos]
            how[gene] = kind
            parts[part][0].append(pos)
            parts[part][1].append(weights.get(gene, 1.0))
    has_weights = bool(weights)
    gene_set = GeneSet(
        name=sig.id,
        up=as_index(parts["up"][0]),
        down=as_index(parts["down"][0]),
        up_weights=np.asarray(parts["up"][1], dtype=np.float64) if has_weights else None,
        down_weights=np.asarray(parts["down"][1], dtype=np.float64) if has_weights else None,
        n_missing_up=n_missing["up"],
        n_missing_down=n_missing["down"],
    )
    return SignatureMatch(sig, gene_set, found, how, tuple(missing))


def match_report(matches: Sequence[SignatureMatch]) -> pd.DataFrame:
    """One row per signature: genes found, under which name, and missing.

    Examples
    --------
    >>> from mekscore.sig import Signature
    >>> ms, _ = match_signatures([Signature.custom("t", up=["CD8A"])], ["CD8A"])
    >>> int(match_report(ms).loc["t", "n_found"])
    1
    """
    rows = []
    for m in matches:
        renamed = {g: n for g, n in m.found.items() if n != g}
        rows.append(
            {
                "signature": m.signature.id,
                "n_genes": m.n_found + len(m.missing),
                "n_found": m.n_found,
                "found": ",".join(m.found),
                "renamed": ",".join(f"{g}={n}" for g, n in renamed.items()),
                "missing": ",".join(m.missing),
            }
        )
    return pd.DataFrame(rows).set_index("signature")
