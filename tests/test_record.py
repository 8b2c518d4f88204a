"""tl._record: one comparison record, stored under one key, read back whole (also from .h5ad)."""

from __future__ import annotations

import warnings

import anndata as ad
import pandas as pd
import pytest

import mekscore as mk
from mekscore.errors import InputError
from mekscore.tl._record import Comparison

STUDY = dict(
    condition_key="condition",
    control="vehicle",
    treated="trametinib",
    sample_key="sample",
    compartment_key="cell_type",
)


@pytest.fixture(scope="module")
def compared():
    adata = mk.datasets.simulate_study(seed=9, n_genes=300, n_cells_mean=40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mk.tl.compare(adata, **STUDY, competitive=True)
    return adata


def test_every_part_is_stored_under_one_key(compared):
    stored = compared.uns["mekscore_compare"]
    assert set(stored) == {
        "parameters",
        "results",
        "samples",
        "genes",
        "composition",
        "qc",
        "competitive",
        "design",
        "detectable",
    }
    record = Comparison.load(compared)
    assert record.results.equals(stored["results"]) and record.qc is stored["qc"]
    assert record.methods is None


def test_the_record_survives_h5ad(compared, tmp_path):
    compared.write_h5ad(tmp_path / "compared.h5ad")
    back = Comparison.load(ad.read_h5ad(tmp_path / "compared.h5ad"))
    original = Comparison.load(compared)
    assert back.results["verdict"].tolist() == original.results["verdict"].tolist()
    assert back.parameters["pd_status"] == original.parameters["pd_status"]
    assert list(back.qc.index) == list(original.qc.index)


def test_verdict_table_puts_the_competitive_view_beside_each_row(compared):
    table = Comparison.load(compared).verdict_table()
    assert {"competitive_nes", "competitive_fdr", "competitive_n_genes"} <= set(table)
    assert len(table) == len(compared.uns["mekscore_compare"]["results"])


def test_an_incomplete_record_is_refused():
    adata = ad.AnnData()
    adata.uns["half"] = {"results": pd.DataFrame()}
    with pytest.raises(InputError, match="lacks parameters, samples"):
        Comparison.load(adata, "half")
