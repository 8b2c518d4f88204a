"""Shared test helpers: reference data, the ``contract`` marker, and Dask-backed data.

Reference files are looked up in ``tests/data`` (vendored, see ``tests/data/SOURCES.md``),
then in ``../shared/reference`` beside the checkout (``MEKSCORE_REFERENCE_DIR`` overrides that
folder), then in installed packages that ship them. A test marked ``contract`` checks agreement
with a reference implementation or published reference values: it may not skip. Its skip is
reported as a failure unless ``MEKSCORE_REQUIRE_CONTRACTS=0``.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anndata as ad
import h5py
import pytest
from anndata.experimental import read_elem_lazy

TESTS_DATA = Path(__file__).resolve().parent / "data"
SHARED_REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference"
# reference files that installed packages ship: name -> (package, file inside it)
IN_PACKAGES = {"pbmc68k_reduced_scanpy.h5ad": ("scanpy.datasets", "10x_pbmc68k_reduced.h5ad")}


def shared_reference() -> Path:
    """The optional large reference folder: ``$MEKSCORE_REFERENCE_DIR`` or ../shared/reference."""
    return Path(os.environ.get("MEKSCORE_REFERENCE_DIR") or SHARED_REFERENCE)


def unpacked(gz: Path) -> Path:
    """The decompressed copy of a vendored ``.gz`` file, made once in a temporary folder."""
    digest = hashlib.sha256(gz.read_bytes()).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / "mekscore-test-data" / digest / gz.name[: -len(".gz")]
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        with gzip.open(gz, "rb") as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(partial, target)  # atomic: parallel workers never see half a file
    return target


def in_package(name: str) -> Path | None:
    """The path of a reference file shipped by an installed package, if any."""
    if name not in IN_PACKAGES:
        return None
    package, file = IN_PACKAGES[name]
    path = Path(str(importlib.resources.files(package) / file))
    return path if path.is_file() else None


def find_reference(*parts: str) -> Path | None:
    """The first existing copy of a reference file, or None."""
    vendored = TESTS_DATA.joinpath(*parts)
    if vendored.exists():
        return vendored
    packed = vendored.with_name(f"{vendored.name}.gz")
    if packed.exists():
        return unpacked(packed)
    shared = shared_reference().joinpath(*parts)
    if shared.exists():
        return shared
    return in_package("/".join(parts))


def reference_path(*parts: str) -> Path:
    """Path of a reference file; skips the test (with the reason) if no copy exists."""
    path = find_reference(*parts)
    if path is None:
        pytest.skip(
            f"reference data not available: {'/'.join(parts)} is neither in {TESTS_DATA} "
            f"nor in {shared_reference()} (set MEKSCORE_REFERENCE_DIR)"
        )
    return path


@pytest.fixture
def reference():
    """Function returning reference file paths (skipping when absent)."""
    return reference_path


def contracts_required() -> bool:
    """Contract tests may not skip unless ``MEKSCORE_REQUIRE_CONTRACTS=0``."""
    return os.environ.get("MEKSCORE_REQUIRE_CONTRACTS", "1") != "0"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Report a skipped ``contract`` test as a failure."""
    report = yield
    skipped = report.skipped and not hasattr(report, "wasxfail")
    if skipped and item.get_closest_marker("contract") and contracts_required():
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = (
            f"contract test skipped: {reason}\n"
            "contract tests may not skip; install the test extra and make the reference data "
            "available (MEKSCORE_REQUIRE_CONTRACTS=0 lets them skip)"
        )
    return report


def dask_adata(path: Path, rows_per_block: int, layers: tuple[str, ...] = ()) -> ad.AnnData:
    """The ``.h5ad`` at ``path`` with X (and ``layers``) as lazily read Dask arrays."""
    f = h5py.File(path)  # left open: the Dask graph reads from it

    def lazy(key: str):
        return read_elem_lazy(f[key], chunks=(rows_per_block, -1))

    obs, var = ad.io.read_elem(f["obs"]), ad.io.read_elem(f["var"])
    layered = {k: lazy(f"layers/{k}") for k in layers}
    return ad.AnnData(X=lazy("X"), obs=obs, var=var, layers=layered)


@contextmanager
def two_worker_cluster() -> Iterator[None]:
    """A ``distributed.LocalCluster`` of 2 processes (1 thread each) as the active scheduler."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        yield
