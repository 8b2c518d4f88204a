"""The documentation site's generated pages (the build itself runs in .ci/run)."""

from __future__ import annotations

import importlib
import json
import runpy
import sys
from pathlib import Path

import pytest

from mekscore.sig import load_library
from mekscore.sig.abundance import load_abundance

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def biology() -> str:
    return (DOCS / "biology.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def docs_ext():
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        yield importlib.import_module("mekscore_docs")
    finally:
        sys.path.remove(str(DOCS / "_ext"))


def test_biology_page_is_current(biology):
    module = runpy.run_path(str(ROOT / "scripts" / "update_readme.py"))
    assert module["biology_page"]() == biology, "run: python scripts/update_readme.py"


def test_biology_page_links_every_cited_study(biology):
    entries = [*load_library().values(), *load_abundance().values()]
    studies = [e for entry in entries for e in entry.evidence]
    assert studies
    for study in studies:
        assert study.doi or study.pmid, study.citation
        if study.doi:
            assert f"(https://doi.org/{study.doi})" in biology, study.citation
        if study.pmid:
            assert f"(https://pubmed.ncbi.nlm.nih.gov/{study.pmid}/)" in biology, study.citation


def test_biology_page_has_a_section_per_program_and_compartment(biology):
    for s in load_library().values():
        assert f"### `{s.id}`: {s.name}\n" in biology
        assert " ".join(s.description.split()) in biology
    for compartment, entry in load_abundance().items():
        assert f"### `{compartment}`: {entry.name}\n" in biology


@pytest.mark.parametrize("namespace", ["tl", "pp", "pl", "sig", "report", "datasets", "genes"])
def test_api_page_lists_every_public_name(docs_ext, namespace):
    page = docs_ext.api_page()
    module = importlib.import_module(f"mekscore.{namespace}")
    for name in module.__all__:
        documented = f"   {namespace}.{name}\n" in page or f"`mk.{namespace}.{name}` = " in page
        assert documented, f"mk.{namespace}.{name} is missing from the API reference"


def _user_facing_texts() -> dict[str, str]:
    files = [ROOT / "README.md", ROOT / "example_data" / "README.md", *DOCS.glob("*.md")]
    texts = {p.name: p.read_text(encoding="utf-8") for p in files}
    for nb in DOCS.glob("*.ipynb"):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        texts[nb.name] = "".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
        )
    return texts


def test_no_reference_to_a_biology_file_outside_the_repository():
    stale = [name for name, text in _user_facing_texts().items() if "BIOLOGY.md" in text]
    assert not stale, f"point these at docs/biology.md: {stale}"
