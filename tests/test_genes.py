"""Gene matching: symbols, Ensembl IDs, aliases, mouse translation, duplicates."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pandas as pd
import pytest

from mekscore import sig
from mekscore.genes import GeneTable, detect_species, gene_table, match_report, match_signatures
from mekscore.genes.table import SPECIES, species_identifiers
from mekscore.io import InputError
from mekscore.sig import library_dir


def test_detect_species():
    assert detect_species(["CD8A", "GZMB", "PTPRC"]) == "human"
    assert detect_species(["Cd8a", "Gzmb", "Ptprc"]) == "mouse"
    assert detect_species(["ENSMUSG00000053977", "ENSMUSG00000015437"]) == "mouse"
    assert detect_species(["ENSG00000153563.16", "ENSG00000100453"]) == "human"


def test_ensembl_ids_with_version_suffix_match():
    mhc = sig.get("mhc1_apm")
    table = gene_table()
    names = [table.ensembl(g, "human") + ".7" for g in mhc.up if table.ensembl(g, "human")]
    (m,), species = match_signatures([mhc], names)
    assert species == "human"
    assert set(m.how.values()) == {"ensembl"}
    assert m.n_found == len(names)


def test_alias_symbols_match_when_unambiguous():
    custom = sig.Signature.custom("x", up=["VEGFA"])
    (m,), _ = match_signatures([custom], ["VEGF", "ACTB"], species="human")
    assert m.found == {"VEGFA": "VEGF"} and m.how == {"VEGFA": "alias"}


# (signature, species, gene absent from the data, another gene's symbol that is its alias)
COLLISIONS = [
    ("ifng_ayers6", "human", "CXCL10", "C7"),
    ("tumor_myeloid_secretome", "human", "IL6", "HGF"),
    ("mdsc_suppressive", "human", "S100A9", "MIF"),
    ("ifng_ayers6", "mouse", "Cxcl10", "C7"),
    ("dc_maturation", "mouse", "Fscn1", "Fan1"),
]


@pytest.mark.parametrize(("sid", "species", "absent", "other"), COLLISIONS)
def test_alias_that_is_another_genes_symbol_is_not_used(sid, species, absent, other):
    signature = sig.get(sid)
    up, down, _ = signature.for_species(species)
    assert absent in up + down
    names = [g for g in up + down if g != absent] + [
        other,
        "Actb" if species == "mouse" else "ACTB",
    ]
    (m,), _ = match_signatures([signature], names, species=species)
    assert absent in m.missing
    assert other not in m.found.values()


def test_alias_refused_at_match_time_when_it_is_an_approved_symbol(monkeypatch):
    """Defence in depth: even a table listing C7 as an alias of CXCL10 does not use it."""
    listed = {"CXCL10": ("C7", "IP-10")}
    monkeypatch.setattr(GeneTable, "alternatives", lambda self, g, sp: listed.get(g, ()))
    custom = sig.Signature.custom("x", up=["CXCL10"])
    (m,), _ = match_signatures([custom], ["C7", "IP-10"], species="human")
    assert m.found == {"CXCL10": "IP-10"}
    (m,), _ = match_signatures([custom], ["C7", "ACTB"], species="human")
    assert m.missing == ("CXCL10",)


@pytest.mark.parametrize("species", ["human", "mouse"])
def test_shipped_alternatives_name_one_gene_and_no_approved_symbol(species):
    table = species_identifiers(species)
    owners = Counter(a for alts in table.alternatives.values() for a in alts.split("|") if a)
    assert len(owners) > 10_000
    assert max(owners.values()) == 1
    assert not set(owners) & set(table.ensembl)


def test_library_gene_table_lists_no_ambiguous_alias():
    genes = pd.read_csv(library_dir() / "genes.tsv", sep="\t", dtype=str).fillna("")
    table = gene_table()
    for row in genes.itertuples():
        human = f"{row.previous_symbols}|{row.alias_symbols}".split("|")
        assert not [a for a in human if a and table.is_approved(a, "human")], row.symbol
        mouse = [s for s in row.mouse_synonyms.split("|") if s]
        assert not [a for a in mouse if table.is_approved(a, "mouse")], row.symbol
        allowed = {
            a for m in row.mouse_symbols.split("|") if m for a in table.alternatives(m, "mouse")
        }
        assert set(mouse) <= allowed, row.symbol


@pytest.mark.parametrize(
    ("species", "gene", "alias"), [("human", "MKI67", "Ki-67"), ("mouse", "Mki67", "Ki67")]
)
def test_custom_signature_genes_get_alias_and_ensembl_rescue(species, gene, alias):
    """Any approved symbol is covered, not only the library's genes."""
    custom = sig.Signature.custom("prolif", up=[gene])
    (m,), _ = match_signatures([custom], [alias, "other"], species=species)
    assert m.found == {gene: alias} and m.how == {gene: "alias"}
    ensembl = gene_table().ensembl(gene, species)
    (m,), _ = match_signatures([custom], ["other", f"{ensembl}.3"], species=species)
    assert m.found == {gene: f"{ensembl}.3"} and m.how == {gene: "ensembl"}


def test_identifier_tables_load_lazily_and_fast():
    code = (
        "import sys, time, mekscore, mekscore.genes\n"
        "from mekscore.genes.table import species_identifiers as s\n"
        "assert s.cache_info().currsize == 0\n"
        "t = time.perf_counter(); s('human'); s('mouse'); print(time.perf_counter() - t)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout) < 1.0  # ~0.25 s for both species on a busy 2-core machine
    sizes = [(library_dir() / f"identifiers_{sp}.tsv.gz").stat().st_size for sp in SPECIES]
    assert sum(sizes) < 2_000_000


def test_unknown_species_in_table_lookup_is_refused():
    with pytest.raises(InputError, match="unknown species 'rat'"):
        gene_table().alternatives("CD8A", "rat")


def test_mouse_translation_uses_curated_mhc_choice():
    mhc = sig.get("mhc1_apm")
    names = ["H2-K1", "H2-D1", "B2m", "Tap1", "Tap2", "Actb", "Gapdh"]
    (m,), species = match_signatures([mhc], names)
    assert species == "mouse"
    assert {"H2-K1", "H2-D1", "B2m"} <= set(m.found.values())
    report = match_report([m])
    assert "Erap1" in report.loc["mhc1_apm", "missing"]


def test_duplicated_matched_genes_are_refused():
    custom = sig.Signature.custom("x", up=["CD8A", "GZMB", "PRF1"])
    with pytest.raises(InputError, match="duplicated gene names in the data: CD8A"):
        match_signatures([custom], ["CD8A", "CD8A", "GZMB", "PRF1"])


def test_unknown_species_is_refused():
    with pytest.raises(InputError, match="unknown species"):
        match_signatures([sig.Signature.custom("x", up=["A"])], ["A"], species="rat")
