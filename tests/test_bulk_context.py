"""Bulk context: marker proxies, compartment detection, composition-adjusted tests, UCell."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse, stats

from mekscore import tl
from mekscore.datasets import simulate_study
from mekscore.sig import get
from mekscore.sig.abundance import load_markers
from mekscore.tl import _stats

ARMS = {"condition_key": "condition", "control": "vehicle", "treated": "trametinib"}
IMMUNE = ("cd8_t", "cd4_t", "treg", "myeloid", "dc", "nk", "b")


def _compare(adata, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return tl.compare(adata, **ARMS, sample_key="sample", **kwargs)


def _tumour_culture(seed: int = 0) -> ad.AnnData:
    """Bulk profiles of tumour cells alone: every leukocyte marker gene has 0 counts."""
    bulk = simulate_study(seed=seed, n_genes=500, bulk=True, cell_types=("Tumor",))
    markers = sorted({g for genes in load_markers().markers.values() for g in genes})
    absent = [g for g in markers if g not in bulk.var_names]
    zeros = ad.AnnData(
        np.zeros((bulk.n_obs, len(absent)), dtype=np.float32),
        obs=bulk.obs, var=pd.DataFrame(index=absent),
    )  # fmt: skip
    culture = ad.concat([bulk, zeros], axis=1, merge="first")
    culture.obs = bulk.obs.copy()
    culture.X[:, culture.var_names.get_indexer([g for g in markers if g in bulk.var_names])] = 0
    return culture


def test_immune_programs_are_not_testable_in_a_tumour_cell_culture():
    table = _compare(_tumour_culture())
    programs = table[table["kind"] == "program"].set_index("signature")
    immune = programs[programs["compartment"].isin(IMMUNE)]
    assert len(immune) == 8  # every library program of an immune compartment
    assert (immune["verdict"] == "not testable").all()
    assert immune["reason"].str.startswith("compartment not detected").all()
    assert programs.loc["mapk_output_mpas", "verdict"] != "not testable"
    proxies = table[table["kind"] == "abundance"]
    assert proxies["flag"].str.startswith("abundance proxy from marker genes").all()


def test_immune_programs_are_tested_in_whole_tumour_bulk():
    bulk = simulate_study(seed=1, n_genes=500, bulk=True)
    table = _compare(bulk)
    immune = table[(table["kind"] == "program") & table["compartment"].isin(IMMUNE)]
    assert not immune["reason"].str.startswith("compartment not detected").any()
    adjusted = immune[immune["adjusted_for"] != ""]
    assert len(adjusted) >= 6 and adjusted["p_value_unadjusted"].notna().all()
    assert (adjusted["effect_measure"] == "adjusted_g").all()


def _mixture(seed: int, tumour_share: dict[str, tuple[float, float]], mhc1_fold: float):
    """Bulk counts of tumour + leukocyte mixtures, 5 samples per arm.

    Leukocytes express the MHC-I genes 3x more than tumour cells and PTPRC; tumour
    cells none. ``tumour_share`` gives each arm's uniform range of tumour content;
    ``mhc1_fold`` multiplies per-cell MHC-I in the treated tumour cells.
    """
    rng = np.random.default_rng(seed)
    mhc1 = list(get("mhc1_apm").up)
    genes = [*mhc1, "PTPRC", *(f"GENE{i:04d}" for i in range(300))]
    tumour = rng.lognormal(0, 1, len(genes))
    leukocyte = tumour * rng.lognormal(0, 0.3, len(genes))
    leukocyte[: len(mhc1)] = 3 * tumour[: len(mhc1)]
    tumour[len(mhc1)], leukocyte[len(mhc1)] = 0.0, 20.0
    rows, obs = [], []
    for condition, (low, high) in tumour_share.items():
        for k in range(5):
            share = rng.uniform(low, high)
            per_cell = tumour.copy()
            if condition == "trametinib":
                per_cell[: len(mhc1)] *= mhc1_fold
            mean = share * per_cell + (1 - share) * leukocyte
            noise = rng.lognormal(0, 0.08, len(genes))
            rows.append(rng.poisson(mean / mean.sum() * 4e6 * noise))
            obs.append((f"{condition[:3]}{k}", condition))
    frame = pd.DataFrame(obs, columns=["sample", "condition"], index=[o[0] for o in obs])
    return ad.AnnData(sparse.csr_matrix(np.array(rows, dtype=np.float32)), obs=frame,
                      var=pd.DataFrame(index=genes))  # fmt: skip


def _mhc1(adata) -> pd.Series:
    return _compare(adata, signatures=["mhc1_apm"]).set_index("signature").loc["mhc1_apm"]


def test_falling_tumour_content_is_not_read_as_more_mhc1():
    """Tumour content falls on treatment, per-cell MHC-I does not change."""
    separate = _mhc1(_mixture(0, {"vehicle": (0.7, 0.9), "trametinib": (0.3, 0.5)}, 1.0))
    assert separate["p_value_unadjusted"] < 1e-3  # bulk MHC-I rises with the leukocytes
    assert separate["verdict"] == "not testable"
    assert separate["reason"].startswith("composition and regulation cannot be told apart")
    calls = unadjusted = 0
    for seed in range(20):  # overlapping composition: the adjusted test is calibrated
        row = _mhc1(_mixture(100 + seed, {"vehicle": (0.55, 0.9), "trametinib": (0.35, 0.7)}, 1.0))
        assert row["adjusted_for"] == "leukocytes proxy"
        calls += row["verdict"] == "consistent"
        unadjusted += row["p_value_unadjusted"] < 0.05
    assert unadjusted >= 8  # the unadjusted test is fooled in about half of the studies
    assert calls <= stats.binom.ppf(0.99, 20, 0.05)


def test_a_per_cell_mhc1_rise_is_found_after_adjustment():
    """Per-cell MHC-I x1.5 in tumour cells, composition varying the same way in both arms."""
    hits = 0
    for seed in range(10):
        row = _mhc1(_mixture(200 + seed, {"vehicle": (0.5, 0.9), "trametinib": (0.5, 0.9)}, 1.5))
        hits += row["verdict"] == "consistent" and row["ci_low"] > 0
    assert hits >= 8


def test_adjusted_contrast_matches_linear_regression():
    rng = np.random.default_rng(3)
    dz = rng.normal(size=7)
    dy = 0.8 + 0.5 * dz + rng.normal(0, 0.3, 7)
    r = _stats.adjusted_contrast(dy, dz, None)
    ref = stats.linregress(dz, dy)
    assert r.difference == pytest.approx(ref.intercept)
    t = ref.intercept / ref.intercept_stderr
    assert r.p_value == pytest.approx(2 * stats.t.sf(abs(t), 5))
    assert (r.ci_low > 0) == (r.p_value < 0.05)


def test_ucell_on_bulk_profiles_ranks_every_gene():
    bulk = simulate_study(seed=2, n_genes=2500, bulk=True)
    table = _compare(bulk, method="ucell", composition=False)
    programs = table.set_index("signature")
    assert not programs["reason"].str.startswith("signature not expressed").any()
    assert programs.loc["mapk_output_mpas", "verdict"] != "not testable"


def test_constant_scores_are_signature_not_expressed():
    bulk = simulate_study(seed=2, n_genes=500, bulk=True)
    scores = pd.DataFrame(0.0, index=bulk.obs_names, columns=["mhc1_apm"])
    row = _compare(bulk, scores=scores).set_index("signature").loc["mhc1_apm"]
    assert row["verdict"] == "not testable"
    assert row["reason"] == "signature not expressed (or saturated): its score is 0 in every sample"
