"""One settings object and one matrix chooser, used by score, compare, signature_qc, competitive."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest

import mekscore as mk
from mekscore.datasets import simulate_study
from mekscore.errors import InputError
from mekscore.tl._settings import (
    Matching,
    MatrixChoice,
    ScoreSettings,
    choose_counts,
    choose_matrix,
)

ARMS = {"condition_key": "condition", "control": "vehicle", "treated": "trametinib"}
SIGS = ["mapk_output_mpas", "mhc1_apm"]


@pytest.fixture(scope="module")
def study():
    """Cells whose log data sit in a layer and in .raw, with a scrambled X beside them."""
    adata = simulate_study(seed=3, n_genes=400, n_cells_mean=40)
    log = mk.pp.log_normalize(adata.X)
    adata.layers["log"] = log
    adata.raw = ad.AnnData(log, var=adata.var.copy())
    rng = np.random.default_rng(0)
    adata.X = rng.permutation(log.toarray(), axis=1)  # same values, wrong genes
    return adata


def _plain(study) -> ad.AnnData:
    """The log data as the only matrix: what every choice of it must reproduce."""
    return ad.AnnData(study.layers["log"], obs=study.obs.copy(), var=study.var.copy())


def test_settings_round_trip_and_split_method_parameters():
    keywords = {"layer": "log", "aliases": False, "chunk_size": 50, "max_rank": 900}
    settings = ScoreSettings.from_keywords(keywords)
    assert settings.matrix == MatrixChoice(layer="log")
    assert settings.matching == Matching(aliases=False)
    assert settings.execution.chunk_size == 50
    assert dict(settings.method_params) == {"max_rank": 900}
    assert {k: settings.keywords()[k] for k in keywords} == keywords
    assert settings.recorded() == keywords
    with pytest.raises(InputError, match="cannot set method"):
        ScoreSettings.from_keywords({"method": "ucell"})
    with pytest.raises(TypeError):
        settings.method_params["max_rank"] = 1  # frozen


def test_choose_matrix_names_every_choice(study):
    assert choose_matrix(study, MatrixChoice()).name == "X"
    assert choose_matrix(study, MatrixChoice(layer="log")).name == "log"
    raw = choose_matrix(study, MatrixChoice(use_raw=True))
    assert raw.name == "raw.X" and raw.var.index.equals(study.raw.var_names)
    with pytest.raises(InputError, match="layer='nope' is not a layer of the data"):
        choose_matrix(study, MatrixChoice(layer="nope"))
    with pytest.raises(InputError, match="give only one"):
        choose_matrix(study, MatrixChoice(layer="log", use_raw=True))
    with pytest.raises(InputError, match="have no .raw"):
        choose_matrix(ad.AnnData(np.ones((2, 2))), MatrixChoice(use_raw=True))


def test_choose_counts_prefers_the_layer_then_x():
    counts = np.array([[1.0, 0.0], [120.0, 7.0]])
    assert choose_counts(ad.AnnData(counts, layers={"counts": counts}), "counts").name == "counts"
    assert choose_counts(ad.AnnData(counts), "counts").name == "X"
    assert choose_counts(ad.AnnData(np.log1p(counts)), "counts") is None


@pytest.mark.parametrize("choice", [{"layer": "log"}, {"use_raw": True}])
def test_score_reads_the_chosen_matrix(study, choice):
    expected = mk.tl.score(_plain(study), SIGS, "mean", inplace=False)
    got = mk.tl.score(study, SIGS, "mean", inplace=False, **choice)
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("choice", [{"layer": "log"}, {"use_raw": True}])
def test_compare_reads_the_chosen_matrix(study, choice):
    options = dict(
        ARMS,
        sample_key="sample",
        compartment_key="cell_type",
        signatures=SIGS,
        method="mean",
        aggregate="mean",
        qc=False,
        composition=False,
    )
    expected = mk.tl.compare(_plain(study), **options, inplace=False)
    got = mk.tl.compare(study.copy(), **options, score_kwargs=choice, inplace=False)
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("choice", [{"layer": "log"}, {"use_raw": True}])
def test_signature_qc_reads_the_chosen_matrix(study, choice):
    expected = mk.tl.signature_qc(_plain(study), SIGS, n_random=20)
    got = mk.tl.signature_qc(study, SIGS, n_random=20, **choice)
    pd.testing.assert_frame_equal(got, expected)


def test_competitive_and_compare_read_counts_and_match_by_the_same_settings():
    """Gene symbols in a var column reach competitive's matching as they reach score's."""
    adata = simulate_study(seed=1, n_genes=300, n_cells_mean=30)
    by_id = adata.copy()
    by_id.var["symbol"] = by_id.var_names
    by_id.var_names = [f"ID{i}" for i in range(by_id.n_vars)]
    options = dict(
        ARMS, sample_key="sample", compartment_key="cell_type", signatures=SIGS, permutation_num=20
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = mk.tl.competitive(adata, **options)
        got = mk.tl.competitive(by_id, **options, gene_symbols="symbol")
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize(
    "call",
    [
        lambda a: mk.tl.score(a, SIGS, "mean", use_raw=True),
        lambda a: mk.tl.compare(
            a,
            **ARMS,
            sample_key="sample",
            method="mean",
            aggregate="mean",
            score_kwargs={"use_raw": True},
        ),
        lambda a: mk.tl.signature_qc(a, SIGS, use_raw=True),
    ],
    ids=["score", "compare", "signature_qc"],
)
def test_missing_raw_is_refused_never_replaced_by_x(call):
    adata = simulate_study(seed=2, n_genes=300, n_cells_mean=30)
    with pytest.raises(InputError, match="use_raw=True but the data have no .raw"):
        call(adata)
