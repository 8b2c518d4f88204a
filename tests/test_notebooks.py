"""The tutorial notebooks in docs/ run top to bottom on the bundled data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

DOCS = Path(__file__).resolve().parents[1] / "docs"
NOTEBOOKS = [
    "01_single_cell.ipynb",
    "02_bulk_paired.ipynb",
    "03_custom_signatures_mouse_methods.ipynb",
    "04_study_designs.ipynb",
]


def _kernel_manager() -> KernelManager:
    """A ``python3`` kernel that is this interpreter, whatever kernel specs the user has.

    With no kernel folders to search, jupyter_client falls back to ipykernel's
    built-in spec, whose command is ``sys.executable -m ipykernel_launcher``.
    """
    km = KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    assert km.kernel_spec.argv[0] == sys.executable
    return km


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_without_outputs(name):
    nb = nbformat.read(DOCS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{name} has no code cells"
    assert all(not c.outputs and c.execution_count is None for c in code), (
        f"clear the outputs of {name} before committing (they are produced by this test)"
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name):
    nb = nbformat.read(DOCS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        km=_kernel_manager(),
        timeout=300,
        resources={"metadata": {"path": str(DOCS)}},
    )
    # CI exports MPLBACKEND=Agg; the kernel must keep its inline backend to show figures
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    client.execute(env=env)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    figures = [
        o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert figures, f"{name} produced no inline figure"
