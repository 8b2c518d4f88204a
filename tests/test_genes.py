"""Gene matching: symbols, Ensembl IDs, aliases, mouse translation, duplicates."""

from __future__ import annotations

import pytest

from mekscore import sig
from mekscore.genes import detect_species, gene_table, match_report, match_signatures
from mekscore.io import InputError


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
    table = gene_table()
    gene, alias = next(
        (g, alts[0]) for g, alts in table.human_alternatives.items() if alts and g != alts[0]
    )
    custom = sig.Signature.custom("x", up=[gene])
    (m,), _ = match_signatures([custom], [alias, "ACTB"], species="human")
    assert m.found == {gene: alias} and m.how == {gene: "alias"}


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
