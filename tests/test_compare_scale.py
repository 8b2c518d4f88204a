"""Atlas-scale compare: backed files and Dask arrays give the in-memory verdicts."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import mekscore as mk
from mekscore.io.backed import open_backed
from mekscore.tl._aggregate import SampleSums

from .conftest import dask_adata, two_worker_cluster

DESIGN = dict(
    condition_key="condition",
    control="vehicle",
    treated="trametinib",
    sample_key="sample",
    compartment_key="cell_type",
)
PATHS = ["pseudobulk", "mean"]
CHUNK = 500


@pytest.fixture(scope="module")
def study_file(tmp_path_factory):
    """The example study (3,074 cells; log X, counts layer) written to an .h5ad."""
    path = tmp_path_factory.mktemp("compare_scale") / "study.h5ad"
    mk.datasets.load_example_scrna().write_h5ad(path)
    return path


@pytest.fixture(scope="module")
def in_memory(study_file):
    adata = ad.read_h5ad(study_file)
    return {agg: mk.tl.compare(adata, aggregate=agg, **DESIGN) for agg in PATHS}


@pytest.mark.parametrize("aggregate", PATHS)
def test_backed_file_gives_the_in_memory_verdicts(study_file, in_memory, aggregate):
    backed = open_backed(study_file)
    table = mk.tl.compare(backed, aggregate=aggregate, score_kwargs={"chunk_size": CHUNK}, **DESIGN)
    pd.testing.assert_frame_equal(table, in_memory[aggregate], atol=1e-9, rtol=0)


@pytest.mark.parametrize("aggregate", PATHS)
def test_dask_arrays_give_the_in_memory_verdicts(study_file, in_memory, aggregate):
    table = mk.tl.compare(dask_adata(study_file, 700, ("counts",)), aggregate=aggregate, **DESIGN)
    pd.testing.assert_frame_equal(table, in_memory[aggregate], atol=1e-9, rtol=0)


def test_dask_on_a_local_cluster_with_two_workers(study_file, in_memory):
    with two_worker_cluster():
        for aggregate in PATHS:
            lazy = dask_adata(study_file, 600, ("counts",))
            table = mk.tl.compare(lazy, aggregate=aggregate, **DESIGN)
            pd.testing.assert_frame_equal(table, in_memory[aggregate], atol=1e-9, rtol=0)


def test_open_backed_leaves_x_and_layers_on_disk(study_file):
    backed = open_backed(study_file)
    assert type(backed.X).__name__ == "_CSRDataset"
    assert type(backed.layers["counts"]).__name__ == "_CSRDataset"
    assert list(backed.obs.columns) == ["sample", "condition", "cell_type"]


class _RowReads:
    """Wraps a backed matrix and records the row slices read from it."""

    def __init__(self, X):
        self._X, self.shape, self.dtype, self.format = X, X.shape, X.dtype, X.format
        self.reads: list[tuple[int, int]] = []

    def __getitem__(self, rows):
        assert isinstance(rows, slice), f"a non-slice read: {rows!r}"
        start, stop, _ = rows.indices(self.shape[0])
        self.reads.append((start, stop))
        return self._X[rows]


def test_backed_pseudobulk_reads_each_row_once_in_chunks(study_file):
    backed = open_backed(study_file)
    X = _RowReads(backed.layers["counts"])
    obs = backed.obs
    sums = SampleSums(X, obs["sample"].astype(object), obs["cell_type"], chunk_size=CHUNK)
    compartments = [["Tumor"], ["CD8 T", "CD4 T"], ["Myeloid", "DC"], list(obs["cell_type"])]
    results = [sums(obs["cell_type"].isin(labels).to_numpy()) for labels in compartments]
    assert max(stop - start for start, stop in X.reads) <= CHUNK  # never all of X at once
    assert sorted(X.reads) == [(s, min(s + CHUNK, X.shape[0])) for s in range(0, X.shape[0], CHUNK)]
    counts = ad.read_h5ad(study_file).layers["counts"]
    for labels, (summed, n_cells) in zip(compartments, results, strict=True):
        cells = obs["cell_type"].isin(labels).to_numpy()
        frame = pd.DataFrame(counts[cells].toarray(), index=obs["sample"].astype(str)[cells])
        expected = frame.groupby(level=0).sum()
        np.testing.assert_array_equal(summed.toarray(), expected.to_numpy())
        assert n_cells.to_dict() == frame.groupby(level=0).size().to_dict()


def test_a_mask_that_splits_cell_types_takes_its_own_exact_pass(study_file):
    adata = ad.read_h5ad(study_file)
    counts, samples = adata.layers["counts"], adata.obs["sample"].astype(object)
    mask = np.arange(adata.n_obs) % 3 == 0  # cuts across every sample x cell type
    summed, n_cells = SampleSums(counts, samples, adata.obs["cell_type"])(mask)
    frame = pd.DataFrame(counts[mask].toarray(), index=samples[mask].to_numpy())
    np.testing.assert_array_equal(summed.toarray(), frame.groupby(level=0).sum().to_numpy())
    assert n_cells.sum() == mask.sum()


def test_cli_stream_always_writes_the_in_memory_verdicts(study_file, tmp_path):
    from click.testing import CliRunner

    from mekscore.cli import main

    args = [str(study_file), "--aggregate", "pseudobulk", "-q"]
    args += [f"--{k.replace('_', '-')}={v}" for k, v in DESIGN.items()]
    tables = {}
    for mode in ("never", "always"):
        out = tmp_path / mode
        result = CliRunner().invoke(main, ["compare", *args, "-o", str(out), "--stream", mode])
        assert result.exit_code == 0, result.output
        tables[mode] = pd.read_csv(out / "verdict.csv")
    pd.testing.assert_frame_equal(tables["always"], tables["never"], atol=1e-9, rtol=0)


def test_cli_stream_always_refuses_tables(tmp_path):
    from click.testing import CliRunner

    from mekscore.cli import main

    table = tmp_path / "bulk.csv"
    table.write_text("gene,s1\nA,1\n")
    result = CliRunner().invoke(
        main,
        [
            "compare",
            str(table),
            "-o",
            str(tmp_path / "o"),
            "--stream",
            "always",
            "--condition-key",
            "c",
            "--control",
            "a",
            "--treated",
            "b",
            "--sample-key",
            "s",
        ],
    )
    assert result.exit_code != 0 and "--stream always needs an .h5ad" in result.output
