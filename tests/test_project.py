"""Project-level checks: README, ruff, the built wheel, and that contract tests cannot skip."""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
import zipfile
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
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "src", "tests", "scripts", "benchmarks"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from the checkout (offline: hatchling comes with the test extra)."""
    out = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
    result = subprocess.run([*pip, "-w", str(out), str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    (path,) = out.glob("mekscore-*.whl")
    return path


def wheel_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def tree_files(folder: Path, prefix: str, pattern: str = "*") -> set[str]:
    """Files under ``folder`` (no caches) as wheel paths under ``prefix``."""
    return {
        f"{prefix}/{path.relative_to(folder).as_posix()}"
        for path in folder.rglob(pattern)
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.mark.parametrize(
    ("folder", "prefix", "pattern"),
    [
        ("src/mekscore", "mekscore", "*.py"),
        ("signatures", "mekscore/_library", "*"),
        ("example_data", "mekscore/_example_data", "*"),
    ],
)
def test_wheel_ships_modules_library_and_example_data(wheel, folder, prefix, pattern):
    expected = tree_files(ROOT / folder, prefix, pattern)
    assert expected, f"nothing found under {folder}"
    missing = expected - wheel_files(wheel)
    assert not missing, f"not in the wheel: {sorted(missing)}"


def test_wheel_declares_the_console_script(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        entry_points = archive.read(name).decode()
    assert "[console_scripts]\nmekscore = mekscore.cli:main" in entry_points


def test_installed_wheel_reads_its_own_library_and_example_data(wheel, tmp_path):
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet"]
    subprocess.run([*pip, "--target", str(target), str(wheel)], check=True)
    code = (
        "import mekscore, mekscore.datasets as d, mekscore.sig as s; "
        "print(mekscore.__file__, s.library_dir(), d.example_data_dir(), sep='\\n')"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    module, library, example_data = map(Path, run.stdout.split("\n")[:3])
    package = target / "mekscore"
    assert module == package / "__init__.py"
    assert library == package / "_library" and (library / "genes.tsv").is_file()
    assert example_data == package / "_example_data"
    assert (example_data / "mek_scrna.h5ad").is_file()


CONTRACT_TESTS = """
import pytest

@pytest.mark.contract
def test_contract_that_skips():
    pytest.skip("reference file absent")

@pytest.mark.contract
def test_contract_that_runs():
    pass

def test_ordinary_skip():
    pytest.skip("optional data absent")
"""


@pytest.mark.parametrize(
    ("required", "returncode", "summary"),
    [
        (None, 1, "1 failed, 1 passed, 1 skipped"),
        ("1", 1, "1 failed, 1 passed, 1 skipped"),
        ("0", 0, "1 passed, 2 skipped"),
    ],
)
def test_skipped_contract_test_fails_the_run(tmp_path, required, returncode, summary):
    (tmp_path / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (tmp_path / "test_tiny.py").write_text(CONTRACT_TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    contract: may not skip\n")
    env = {k: v for k, v in os.environ.items() if k != "MEKSCORE_REQUIRE_CONTRACTS"}
    if required is not None:
        env["MEKSCORE_REQUIRE_CONTRACTS"] = required
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-rA"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == returncode, run.stdout + run.stderr
    assert summary in run.stdout
    if returncode:
        assert "FAILED test_tiny.py::test_contract_that_skips" in run.stdout
        assert "contract test skipped: reference file absent" in run.stdout
