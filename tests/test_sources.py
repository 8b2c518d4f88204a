"""tl._sources: which aggregation a comparison uses, and the values each source gives."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import mekscore as mk
from mekscore.errors import InputError
from mekscore.tl._designspec import Design
from mekscore.tl._settings import ScoreSettings
from mekscore.tl._sheet import build_sheet
from mekscore.tl._sources import (
    CellMeans,
    Pseudobulk,
    Scoring,
    Setup,
    choose_aggregation,
    make_source,
    with_pd_control,
)

ARMS = {"condition_key": "condition", "control": "vehicle", "treated": "trametinib"}


@pytest.fixture(scope="module")
def cells():
    adata = mk.datasets.simulate_study(seed=8, n_genes=300, n_cells_mean=40)
    adata.X = mk.pp.log_normalize(adata.X)  # counts stay in layers["counts"]
    return adata


def _setup(method=None, signatures=("mapk_output_mpas",), **settings) -> Setup:
    scoring = Scoring(method, list(signatures), ScoreSettings.from_keywords(settings))
    return Setup(scoring, min_cells=1, counts_layer="counts")


def _design(adata):
    return build_sheet(adata.obs, Design.two_arm(**ARMS), sample_key="sample")


def test_auto_is_pseudobulk_with_counts_whatever_is_stored(cells):
    adata = cells.copy()
    assert choose_aggregation(adata, "auto", bulk=False, scores=None, setup=_setup()) == (
        "pseudobulk"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mk.tl.score(adata, ["mapk_output_mpas"], "ucell")
    assert choose_aggregation(adata, "auto", bulk=False, scores=None, setup=_setup()) == (
        "pseudobulk"
    )
    named = choose_aggregation(adata, "auto", bulk=False, scores="mekscore_ucell", setup=_setup())
    assert named == "mean"
    with pytest.raises(InputError, match="aggregate='pseudobulk' does not use"):
        choose_aggregation(adata, "pseudobulk", bulk=False, scores="x", setup=_setup())
    with pytest.raises(InputError, match="aggregate='median'"):
        choose_aggregation(adata, "median", bulk=False, scores=None, setup=_setup())


def test_without_counts_auto_scores_the_cells_here(cells):
    adata = cells.copy()
    del adata.layers["counts"]
    assert choose_aggregation(adata, "auto", bulk=False, scores=None, setup=_setup()) == "mean"
    source = make_source(
        adata, _design(adata).samples, aggregation="mean", scores=None, setup=_setup()
    )
    assert isinstance(source, CellMeans) and source.provenance["method"] == "ucell"


def test_pseudobulk_values_are_the_scores_of_summed_counts(cells):
    design = _design(cells)
    setup = _setup(method="mean")
    source = make_source(cells, design.samples, aggregation="pseudobulk", scores=None, setup=setup)
    assert isinstance(source, Pseudobulk)
    tumour = (cells.obs["cell_type"] == "Tumor").to_numpy()
    got = source.values(tumour, ["mapk_output_mpas"])
    counts = pd.DataFrame(cells.layers["counts"][tumour].toarray(), columns=cells.var_names)
    summed = counts.groupby(cells.obs["sample"].to_numpy()[tumour]).sum()
    log_cpm = np.log1p(summed.div(summed.sum(axis=1), axis=0) * 1e4)
    genes = mk.sig.get("mapk_output_mpas").up
    expected = log_cpm[[g for g in genes if g in log_cpm]].mean(axis=1)
    np.testing.assert_allclose(got.values["mapk_output_mpas"], expected.loc[got.values.index])
    assert got.n_cells.sum() == tumour.sum()
    assert source.provenance["counts"] == "counts" and source.provenance["method"] == "mean"


def test_cell_means_of_stored_scores(cells):
    adata = cells.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mk.tl.score(adata, ["mapk_output_mpas", "mhc1_apm"], "mean")
    design = _design(adata)
    source = make_source(
        adata, design.samples, aggregation="mean", scores="mekscore_mean", setup=_setup()
    )
    everything = np.ones(adata.n_obs, dtype=bool)
    got = source.values(everything, ["mapk_output_mpas"]).values["mapk_output_mpas"]
    stored = adata.obsm["mekscore_mean"]["mapk_output_mpas"]
    expected = stored.groupby(adata.obs["sample"].astype(str).to_numpy()).mean()
    np.testing.assert_allclose(got, expected.loc[got.index])
    assert source.genes["mapk_output_mpas"]["genes_used"]


def test_the_pd_control_joins_a_selection_and_stays_out_when_asked():
    assert [s.id for s in with_pd_control(["mhc1_apm"])] == ["mhc1_apm", "mapk_output_mpas"]
    assert [s.id for s in with_pd_control(["progeny_mapk", "mhc1_apm"])] == [
        "progeny_mapk",
        "mhc1_apm",
    ]
    without = Scoring(None, ["mhc1_apm"], pd_control=False)
    assert without.to_score == ["mhc1_apm"]
