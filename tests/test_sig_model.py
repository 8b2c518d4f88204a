"""Signature model validation, species translation, GMT I/O, resolve and selection."""

from __future__ import annotations

import copy

import pytest
import yaml

from mekscore import sig
from mekscore.sig import Signature, SignatureError

VALID = {
    "id": "toy",
    "name": "Toy signature",
    "version": "1.0.0",
    "program": "toy",
    "description": "A toy signature for tests.",
    "compartment": "tumor",
    "genes": {"up": ["HLA-A", "B2M", "ERAP2"], "down": ["DUSP6"], "weights": {"B2M": 2.0}},
    "mouse": {"HLA-A": ["H2-K1", "H2-D1"], "B2M": "B2m", "ERAP2": None, "DUSP6": "Dusp6"},
    "mouse_notes": {"HLA-A": "curated", "ERAP2": "no ortholog"},
    "expected": {
        "direction": "up",
        "evidence": [
            {
                "citation": "Brea et al. 2016",
                "doi": "10.1158/2326-6066.CIR-16-0177",
                "pmid": "27680026",
                "species": "human",
                "model": "cell lines",
                "direction": "up",
                "finding": "MEK represses MHC-I.",
            }
        ],
    },
    "source": {"type": "published", "citation": "X 2020", "doi": "10.1/x", "pmid": None},
}


def _variant(path: tuple[str, ...], value=None, *, delete: bool = False) -> dict:
    data = copy.deepcopy(VALID)
    node = data
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


def test_valid_definition_parses():
    s = Signature.from_dict(copy.deepcopy(VALID))
    assert s.up == ("HLA-A", "B2M", "ERAP2") and s.down == ("DUSP6",)
    assert s.mouse["ERAP2"] == () and s.mouse["B2M"] == ("B2m",)
    assert s.evidence[0].pmid == "27680026" and s.is_signed


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_variant(("colour",), "red"), "unknown keys"),
        (_variant(("name",), delete=True), "missing keys"),
        (_variant(("compartment",), "liver"), "compartment must be one of"),
        (_variant(("expected", "direction"), "sideways"), "expected.direction must be one of"),
        (_variant(("genes", "down"), ["B2M"]), "duplicated genes"),
        (_variant(("expected", "evidence"), []), "at least one study"),
        (_variant(("genes", "weights"), {"B2M": 0.0}), "weights must be positive"),
        (_variant(("genes", "weights"), {"B2M": -1.0}), "weights must be positive"),
        (_variant(("genes", "weights"), {"CD8A": 1.0}), "weights for genes not in"),
        (_variant(("source", "doi"), None), "source needs a doi or pmid"),
        (_variant(("source", "type"), "assembled"), "must say assembled_from"),
        (_variant(("mouse", "B2M"), delete=True), "mouse symbol missing"),
        (_variant(("mouse", "CD8A"), "Cd8a"), "genes not in the signature"),
        (_variant(("genes", "bogus"), []), "unknown keys in genes"),
    ],
)
def test_validation_errors_name_the_problem(data, message):
    with pytest.raises(SignatureError, match=message):
        Signature.from_dict(data)


def test_evidence_needs_an_identifier_and_a_valid_direction():
    no_id = copy.deepcopy(VALID)
    no_id["expected"]["evidence"][0].update(doi=None, pmid=None)
    with pytest.raises(SignatureError, match="needs a pmid or doi"):
        Signature.from_dict(no_id)
    bad = copy.deepcopy(VALID)
    bad["expected"]["evidence"][0]["direction"] = "north"
    with pytest.raises(SignatureError, match="evidence direction"):
        Signature.from_dict(bad)


def test_bundled_library_errors_carry_the_file_name(tmp_path, monkeypatch):
    (tmp_path / "toy.yaml").write_text(yaml.safe_dump(_variant(("compartment",), "liver")))
    monkeypatch.setattr(sig.library, "library_dir", lambda: tmp_path)
    sig.library._load_all.cache_clear()
    try:
        with pytest.raises(SignatureError, match=r"^toy\.yaml: .*compartment"):
            sig.load_library()
    finally:
        monkeypatch.undo()
        sig.library._load_all.cache_clear()


def test_for_species_mouse_translation():
    s = Signature.from_dict(copy.deepcopy(VALID))
    up, down, weights = s.for_species("mouse")
    assert up == ("H2-K1", "H2-D1", "B2m")  # multi-valued expands, null drops
    assert down == ("Dusp6",)
    assert weights == {"B2m": 2.0}
    assert s.for_species("human") == (s.up, s.down, {"B2M": 2.0})
    with pytest.raises(SignatureError, match="unknown species"):
        s.for_species("rat")


def test_for_species_keeps_first_place_of_shared_mouse_gene():
    s = sig.get("mhc1_apm")
    up = s.for_species("mouse")[0]
    assert up.count("H2-K1") == 1 and up.count("H2-D1") == 1
    assert len(up) == len(s.up) - 3 - 1 + 2  # HLA-A/B/C collapse to 2 genes, ERAP2 dropped


def test_custom_signature_without_mouse_map_is_species_agnostic():
    s = Signature.custom("mine", up=["Cd8a", "Gzmb"])
    assert s.for_species("mouse") == (("Cd8a", "Gzmb"), (), {})


def test_gmt_round_trip(tmp_path):
    sigs = [sig.get("tis_gep18"), sig.get("mapk_output_mpas")]
    path = tmp_path / "lib.gmt"
    path.write_text("\n".join(sig.gmt_lines(sigs)) + "\n")
    back = {s.id: s for s in sig.from_gmt(path)}
    assert set(back) == {"tis_gep18", "mapk_output_mpas"}
    for s in sigs:
        assert back[s.id].up == s.up and back[s.id].down == s.down


def test_gmt_lines_in_mouse_symbols():
    (line,) = sig.gmt_lines([sig.get("ifng_ayers6")], species="mouse")
    assert line.split("\t")[2:] == ["Ifng", "Stat1", "Cxcl9", "Cxcl10", "Ido1", "H2-Ea"]


def test_read_gmt_rejects_malformed_lines(tmp_path):
    path = tmp_path / "bad.gmt"
    path.write_text("A CD8A GZMB\n")
    with pytest.raises(SignatureError, match="tab-separated"):
        sig.read_gmt(path)


def test_from_dict_both_forms():
    plain, signed = sig.from_dict({"a": ["CD8A", "GZMB"], "b": {"up": ["X"], "down": ["Y"]}})
    assert plain.up == ("CD8A", "GZMB") and plain.down == ()
    assert signed.up == ("X",) and signed.down == ("Y",)
    with pytest.raises(SignatureError, match="unknown keys"):
        sig.from_dict({"c": {"up": ["X"], "sideways": ["Y"]}})
    with pytest.raises(SignatureError, match="not one string"):
        sig.from_dict({"d": "CD8A"})


def test_resolve_all_id_list_and_comma_string():
    everything = sig.resolve("all")
    assert [s.id for s in everything] == sig.list_ids()
    assert [s.id for s in sig.resolve("mhc1_apm")] == ["mhc1_apm"]
    pair = sig.resolve("mhc1_apm, ifng_ayers6")
    assert [s.id for s in pair] == ["mhc1_apm", "ifng_ayers6"]
    mixed = sig.resolve(["treg_core", Signature.custom("mine", up=["A"])])
    assert [s.id for s in mixed] == ["treg_core", "mine"]


def test_resolve_dict_and_gmt_path(tmp_path):
    assert sig.resolve({"mine": ["CD8A"]})[0].up == ("CD8A",)
    path = tmp_path / "sets.gmt"
    path.write_text("s1\tdesc\tA\tB\ns1_down\tdesc\tC\n")
    (s1,) = sig.resolve(path)
    assert s1.up == ("A", "B") and s1.down == ("C",)
    assert sig.resolve(str(path))[0].id == "s1"


def test_resolve_rejects_unknown_ids_and_duplicates():
    with pytest.raises(ValueError, match="unknown signature id"):
        sig.resolve("not_a_signature")
    with pytest.raises(SignatureError, match="unique"):
        sig.resolve(["mhc1_apm", "mhc1_apm"])
    with pytest.raises(SignatureError, match="no signatures"):
        sig.resolve([])


def test_select_by_compartment_program_and_direction():
    tumor = sig.select(compartment="tumor")
    assert tumor and all(s.compartment == "tumor" for s in tumor)
    assert "mapk_output_mpas" in [s.id for s in tumor]
    assert [s.id for s in tumor] == sorted(s.id for s in tumor)
    presentation = sig.select(program="antigen_presentation")
    assert {s.id for s in presentation} == {"mhc1_apm", "mhc2_presentation"}
    assert all(s.expected == "down" for s in sig.select(expected="down"))
    with pytest.raises(ValueError, match="unknown compartment"):
        sig.select(compartment="liver")


def test_summary_table_columns():
    table = sig.summary_table()
    assert table.columns.tolist() == [
        "id",
        "name",
        "program",
        "compartment",
        "expected",
        "n_up",
        "n_down",
        "source",
        "citation",
        "version",
    ]
    assert table["id"].tolist() == sig.list_ids()
    gep = table.set_index("id").loc["tis_gep18"]
    assert (gep.n_up, gep.n_down, gep.source) == (17, 1, "published")
    custom = sig.summary_table([Signature.custom("mine", up=["A"])])
    assert custom.loc[0, "source"] == "custom"


def test_optional_validation_field_is_parsed_and_checked():
    assert Signature.from_dict(copy.deepcopy(VALID)).validation == {}
    marked = _variant(("validation",), {"status": "none available", "reason": " no data\n here "})
    assert Signature.from_dict(marked).validation == {
        "status": "none available",
        "reason": "no data here",
    }
    for value, message in [
        ({"status": "maybe", "reason": "x"}, "validation.status must be one of"),
        ({"status": "none available", "reason": ""}, "validation.reason must say why"),
        ({"status": "none available"}, "missing keys in validation"),
        ("none available", "validation must be a mapping"),
    ]:
        with pytest.raises(SignatureError, match=message):
            Signature.from_dict(_variant(("validation",), value))
    assert sig.get("tam_m2").validation["status"] == "none available"


# --- a user's own signatures in the library's YAML schema ---------------------------------


def test_a_library_file_copied_by_a_user_is_accepted(tmp_path):
    path = tmp_path / "my_mhc1.yaml"
    path.write_text((sig.library_dir() / "mhc1_apm.yaml").read_text())
    (mine,) = sig.resolve(str(path))
    assert mine == sig.get("mhc1_apm") and mine.compartment == "tumor" and mine.evidence


def test_user_yaml_needs_only_genes_compartment_and_direction(tmp_path):
    path = tmp_path / "mine.yml"
    path.write_text(
        yaml.safe_dump(
            [
                {
                    "id": "ifn_core",
                    "genes": {"up": ["STAT1", "IRF1", "GBP1"]},
                    "compartment": "tumor",
                    "expected": {"direction": "unclear"},
                },
                {
                    **copy.deepcopy(VALID),
                    "id": "toy_down",
                    "source": {"type": "custom", "citation": "my lab"},
                },
            ]
        )
    )
    ifn, toy = sig.resolve(path)
    assert (ifn.compartment, ifn.expected, ifn.evidence, ifn.mouse) == ("tumor", "unclear", (), {})
    assert (toy.expected, toy.source["type"], toy.weights["B2M"]) == ("up", "custom", 2.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id: x\ngenes: {up: [A]}\nexpected: {direction: up}\n", r"missing keys \['compartment'\]"),
        (
            "id: x\ngenes: {up: [A]}\ncompartment: tumor\nexpected: {direction: up}\n",
            "must cite at least one study for direction 'up'",
        ),
        (
            "id: x\ngenes: {up: [A]}\ncompartment: liver\nexpected: {direction: up}\n",
            "compartment must be one of",
        ),
        ("id: x\n  genes: [A\n", r"is not valid YAML \(line"),
        ("", "holds no signature"),
    ],
)
def test_bad_user_yaml_is_one_signature_error(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(SignatureError, match=message):
        sig.resolve(str(path))
