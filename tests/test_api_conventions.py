"""Python API conventions: inplace/None, provenance by key, immutable signatures, one name
per thing, package boundaries, signed GMT pairs and the HTML report from Python."""

from __future__ import annotations

import importlib
import pickle
import re
import subprocess
import sys

import anndata as ad
import numpy as np
import pytest
from click.testing import CliRunner

import mekscore as mk
from mekscore.cli import main
from mekscore.io import InputError
from mekscore.sig import SignatureError, from_gmt, gmt_lines

from .conftest import reference_path

T_CELL = {"t_cell": ["CD3D", "CD3E", "CD2", "IL7R"]}
STUDY = dict(
    condition_key="condition",
    control="vehicle",
    treated="trametinib",
    sample_key="sample",
    compartment_key="cell_type",
)


@pytest.fixture(scope="module")
def pbmc() -> ad.AnnData:
    return ad.read_h5ad(reference_path("pbmc68k_reduced_scanpy.h5ad")).raw.to_adata()


def _in_fresh_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


# --- tl.score: inplace and provenance ----------------------------------------------------


def test_score_inplace_returns_none_and_inplace_false_the_frame(pbmc):
    adata = pbmc.copy()
    assert mk.tl.score(adata, T_CELL, method="mean") is None
    frame = mk.tl.score(adata, T_CELL, method="mean", inplace=False)
    assert frame.equals(adata.obsm["mekscore_mean"])


def test_provenance_is_keyed_by_key_added_so_two_runs_keep_theirs(pbmc):
    adata = pbmc.copy()
    mk.tl.score(adata, T_CELL, method="mean", key_added="plain")
    mk.tl.score(adata, T_CELL, method="mean", key_added="weighted", normalize="sum")
    stored = adata.uns["mekscore"]
    assert set(stored) == {"plain", "weighted"}
    assert stored["plain"]["params"] == {"normalize": "mean"}
    assert stored["weighted"]["params"] == {"normalize": "sum"}
    assert stored["plain"]["method"] == stored["weighted"]["method"] == "mean"


def test_none_parameters_are_left_out_and_survive_h5ad(tmp_path):
    # no bundled method has a None default today; a parameter set to None is left out
    from mekscore.tl._score import Scored
    from mekscore.tl._settings import ScoreSettings

    params = {"ctrl_size": 20, "random_state": None, "seed": np.int64(3)}
    adata = ad.AnnData(np.ones((2, 2)))
    scored = Scored({}, "m", params, ScoreSettings(), "X", "human", [], normalised=False)
    adata.uns["mekscore"] = {"k": scored.provenance("k")}
    adata.write_h5ad(tmp_path / "scored.h5ad")
    back = ad.read_h5ad(tmp_path / "scored.h5ad").uns["mekscore"]["k"]
    assert back["params"] == {"ctrl_size": 20, "seed": 3}  # absent, not the string "None"
    assert back["method"] == "m" and back["obsm_key"] == "k"


def test_singscore_extra_obsm_keys_are_the_documented_ones(pbmc):
    adata = pbmc.copy()
    mk.tl.score(adata, T_CELL, method="singscore", key_added="s")
    documented = set(re.findall(r'\[key \+ "(_\w+)"\]', mk.tl.score.__doc__))
    stored = {k for k in adata.obsm if k.startswith("s")}
    assert {f"s{suffix}" for suffix in documented} | {"s"} == stored


def test_compare_finds_the_method_of_stored_scores_by_their_key():
    adata = mk.datasets.load_example_scrna()
    for key, max_rank in (("first", 1500), ("second", 500)):
        mk.tl.score(adata, "mapk_output_mpas", method="ucell", key_added=key, max_rank=max_rank)
    mk.tl.compare(adata, **STUDY, scores="first", signatures="mapk_output_mpas")
    assert adata.uns["mekscore_compare"]["parameters"]["method"] == "ucell"


# --- Signature: immutable all the way down ----------------------------------------------


def test_library_signatures_cannot_be_changed_in_place():
    s = mk.sig.get("mapk_output_mpas")
    for mapping in (s.weights, s.source, s.mouse, s.mouse_notes, s.validation):
        with pytest.raises(TypeError):
            mapping["CD8A"] = ()
    assert mk.sig.get("mapk_output_mpas").mouse["DUSP6"] == ("Dusp6",)


def test_custom_signature_copies_and_freezes_its_inputs():
    weights = {"A": 2.0}
    s = mk.sig.Signature.custom("x", up=["A", "B"], weights=weights)
    weights["A"] = 5.0
    assert s.weights["A"] == 2.0
    with pytest.raises(TypeError):
        s.weights["B"] = 1.0


def test_signatures_hash_and_pickle_as_values():
    s = mk.sig.get("cd8_tex_terminal")
    back = pickle.loads(pickle.dumps(s))
    assert back == s and hash(back) == hash(s) and len({s, back}) == 1
    with pytest.raises(TypeError):
        back.source["type"] = "custom"


# --- one name per thing; package boundaries; lazy gseapy -------------------------------


def test_report_gene_table_has_its_own_name():
    assert not hasattr(mk.report, "gene_table")
    assert mk.report.genes_used_table({"s": {"genes_used": ["A"], "genes_missing": []}}).shape
    assert mk.genes.gene_table().__class__.__name__ == "GeneTable"


@pytest.mark.parametrize("name", ["score", "compare", "competitive", "compare_methods"])
def test_tl_functions_live_in_private_modules(name):
    """No public function shares its module's name, so importing never shadows it."""
    function = getattr(mk.tl, name)
    assert callable(function) and name in mk.tl.__all__
    assert function.__module__.split(".")[-1].startswith("_")
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"mekscore.tl.{name}")


def test_importing_tl_does_not_import_gseapy():
    code = "import sys, mekscore.tl; print('gseapy' in sys.modules)"
    assert _in_fresh_python(code) == "False"


def test_genes_does_not_import_the_methods_package():
    code = (
        "import sys, mekscore.genes; "
        "print(any(m.startswith('mekscore.methods') for m in sys.modules))"
    )
    assert _in_fresh_python(code) == "False"
    from mekscore._geneset import GeneSet
    from mekscore.methods import GeneSet as MethodsGeneSet

    assert MethodsGeneSet is GeneSet


# --- GMT: signed pairs ------------------------------------------------------------------


def _gmt(tmp_path, lines: list[str]):
    path = tmp_path / "sets.gmt"
    path.write_text("\n".join("\t".join(line.split()) for line in lines) + "\n")
    return path


def test_gmt_up_and_dn_sets_in_any_case_pair_into_signed_signatures(tmp_path):
    path = _gmt(
        tmp_path,
        [
            "GSE1_CTRL_VS_MEKI_UP - A B C",
            "GSE1_CTRL_VS_MEKI_DN - D E",
            "hyp_Up - F G",
            "hyp_down - H",
            "LONE_UP - I J",
            "LONE2_DN - K",
            "PLAIN - L M",
        ],
    )
    got = {s.id: (s.up, s.down) for s in from_gmt(path)}
    assert got == {
        "GSE1_CTRL_VS_MEKI": (("A", "B", "C"), ("D", "E")),
        "hyp": (("F", "G"), ("H",)),
        "LONE_UP": (("I", "J"), ()),
        "LONE2_DN": (("K",), ()),
        "PLAIN": (("L", "M"), ()),
    }


def test_gmt_written_by_mekscore_reads_back_signed(tmp_path):
    sig = mk.sig.Signature.custom("s", up=["A", "B"], down=["C"])
    path = tmp_path / "own.gmt"
    path.write_text("\n".join(gmt_lines([sig])) + "\n")
    assert [(s.id, s.up, s.down) for s in from_gmt(path)] == [("s", ("A", "B"), ("C",))]


def test_gmt_with_two_candidates_for_one_part_is_an_error(tmp_path):
    path = _gmt(tmp_path, ["X - A", "X_UP - B", "X_DN - C"])
    with pytest.raises(SignatureError, match="X, X_UP, X_DN all claim a part of signature 'X'"):
        from_gmt(path)


# --- the HTML report from Python --------------------------------------------------------


def _sections(html: str) -> list[str]:
    return re.findall(r"<h2>(.*?)</h2>", html)


def _without_timestamp(html: str) -> str:
    return re.sub(r"generated \d{4}-\d\d-\d\d \d\d:\d\d UTC", "generated", html)


def test_report_write_matches_the_cli_report(tmp_path):
    adata = mk.datasets.load_example_scrna()
    adata.write_h5ad(tmp_path / "example.h5ad")
    args = [
        "compare",
        str(tmp_path / "example.h5ad"),
        "-o",
        str(tmp_path / "cli"),
        "--method",
        "mean",
        "--signatures",
        "mapk_output_mpas,mhc1_apm",
    ]
    for option, value in STUDY.items():
        args += [f"--{option.replace('_', '-')}", value]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.stderr
    cli_html = (tmp_path / "cli" / "report.html").read_text(encoding="utf-8")

    mk.tl.compare(adata, **STUDY, method="mean", signatures="mapk_output_mpas,mhc1_apm")
    out = mk.report.write(adata, tmp_path / "py.html")  # nothing added by hand
    py_html = out.read_text(encoding="utf-8")
    assert "Signature QC" in _sections(py_html)
    assert _sections(py_html) == _sections(cli_html)
    assert _without_timestamp(py_html) == _without_timestamp(cli_html)
    with pytest.raises(InputError, match="exists"):
        mk.report.write(adata, out)
    assert mk.report.write(adata, out, force=True) == out


def test_report_write_without_a_comparison_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match=r"no comparison in adata.uns\['mekscore_compare'\]"):
        mk.report.write(ad.AnnData(), tmp_path / "r.html")
