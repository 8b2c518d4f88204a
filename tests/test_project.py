"""Project-level checks: README tables are current, quick start has two commands, ruff is clean."""

from __future__ import annotations

import re
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_readme_generated_tables_are_current():
    module = runpy.run_path(str(ROOT / "scripts" / "update_readme.py"))
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert module["render"](text) == text, "run: python scripts/update_readme.py"


def test_quick_start_has_exactly_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## Quick start\s+```bash\n(.*?)```", text, re.S)
    assert block, "README.md needs a '## Quick start' bash block"
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2
    assert commands[1].startswith('pip install ".[test]"') and "pytest" in commands[1]


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]])
def test_ruff_is_clean(args):
    ruff = shutil.which("ruff") or pytest.skip("ruff not installed")
    result = subprocess.run(
        [ruff, *args, "src", "tests", "scripts", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_wheel_ships_the_signature_library():
    import mekscore
    from mekscore.sig import library_dir

    files = {p.name for p in library_dir().iterdir()}
    assert "genes.tsv" in files and "mapk_output_mpas.yaml" in files
    if "site-packages" in mekscore.__file__:
        assert library_dir().parent == Path(mekscore.__file__).parent
