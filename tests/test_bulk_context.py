"""Bulk context: what bulk samples are, detection, calibrated composition covariates."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mekscore import tl
from mekscore.datasets import simulate_study
from mekscore.errors import InputError
from mekscore.sig.abundance import load_markers
from mekscore.tl import _stats
from mekscore.tl._marker_levels import marker_levels
from mekscore.tl._proxy import calibrate, inflation
from mekscore.tl._settings import ScoreSettings

ARMS = {"condition_key": "condition", "control": "vehicle", "treated": "trametinib"}
IMMUNE = ("cd8_t", "cd4_t", "treg", "myeloid", "dc", "nk", "b")
TUMOUR = ["mapk_output_mpas", "mhc1_apm", "tumor_myeloid_secretome"]


def _compare(adata, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = tl.compare(adata, **ARMS, sample_key="sample", qc=False, **kwargs)
        return table.set_index("signature")


def _context(adata) -> dict:
    return adata.uns["mekscore_compare"]["parameters"]["bulk_context"]


def _tumour_culture(seed: int = 0) -> ad.AnnData:
    """Bulk profiles of tumour cells alone: every leukocyte marker gene has 0 counts."""
    bulk = simulate_study(seed=seed, n_genes=500, bulk=True, cell_types=("Tumor",))
    markers = sorted({g for genes in load_markers().markers.values() for g in genes})
    absent = [g for g in markers if g not in bulk.var_names]
    zeros = ad.AnnData(
        np.zeros((bulk.n_obs, len(absent)), dtype=np.float32),
        obs=bulk.obs,
        var=pd.DataFrame(index=absent),
    )
    culture = ad.concat([bulk, zeros], axis=1, merge="first")
    culture.obs = bulk.obs.copy()
    immune = [g for s in load_markers().of_lineage("immune") for g in load_markers().markers[s]]
    culture.X[:, culture.var_names.get_indexer([g for g in immune if g in bulk.var_names])] = 0
    return culture


def _tissue(seed: int, content: tuple[float, float], n: int = 6, **kwargs) -> ad.AnnData:
    """Simulated whole-tumour bulk; ``content``: mean tumour share per arm (vehicle, treated)."""
    odds = [0.65 * c / (1 - c) for c in content]
    return simulate_study(
        seed=seed,
        n_samples_per_arm=n,
        n_genes=800,
        bulk=True,
        proportions={"Tumor": odds[0]},
        composition={"Tumor": odds[1] / odds[0]},
        **kwargs,
    )


# --- what the samples are ---------------------------------------------------------------


def test_immune_programs_are_not_testable_in_a_tumour_cell_culture():
    culture = _tumour_culture()
    table = _compare(culture)
    assert _context(culture)["kind"] == "tumor"
    immune = table[table["compartment"].isin(IMMUNE) | (table["kind"] == "abundance")]
    assert (immune["verdict"] == "not testable").all()
    assert immune["reason"].str.startswith("compartment not detected").all()
    assert table.loc["mapk_output_mpas", "verdict"] != "not testable"
    assert (table["adjusted_for"] == "").all()  # pure samples are read unadjusted


def test_whole_tumour_bulk_is_mixed_tissue_with_adjusted_programs():
    bulk = simulate_study(seed=1, n_genes=500, bulk=True)
    table = _compare(bulk)
    assert _context(bulk)["kind"] == "tissue"
    present = table[table["compartment"].isin(["cd8_t", "cd4_t", "myeloid"])]
    assert not present["reason"].str.startswith("compartment not detected").any()
    adjusted = table[table["adjusted_for"] != ""]
    assert len(adjusted) >= 6 and adjusted["p_value_unadjusted"].notna().all()
    tested = adjusted[adjusted["verdict"] != "not testable"]
    assert (tested["effect_measure"] == "adjusted_g").all()
    assert table.loc["mapk_output_mpas", "adjusted_for"].startswith("tumour content")


def test_percentiles_do_not_depend_on_the_platform_scale():
    rng = np.random.default_rng(0)
    counts = rng.poisson(rng.lognormal(1, 2, (4, 300))).astype(float)
    genes = ["PTPRC", "CD3E", *(f"G{i}" for i in range(298))]
    samples = pd.Series([f"s{i}" for i in range(4)])
    levels = {}
    for name, X in (("counts", counts), ("log", np.log1p(counts)), ("unlogged", counts * 3.7)):
        adata = ad.AnnData(X, var=pd.DataFrame(index=genes))
        levels[name] = marker_levels(adata, ["PTPRC", "CD3E"], samples, ScoreSettings())
    assert levels["counts"].scale == "log1p CP10k" and levels["unlogged"].scale.startswith("log1p")
    for name in ("log", "unlogged"):
        pd.testing.assert_frame_equal(levels[name].percentiles, levels["counts"].percentiles)


def test_a_statement_the_markers_contradict_is_warned_and_kept():
    bulk = simulate_study(seed=1, n_genes=500, bulk=True)
    with pytest.warns(UserWarning, match="leukocyte markers are above background"):
        table = tl.compare(bulk, **ARMS, sample_key="sample", bulk_of="tumor")
    immune = table[table["compartment"].isin(IMMUNE)]
    assert immune["reason"].str.contains("bulk_of='tumor'").all()
    with pytest.warns(UserWarning, match="non-immune markers are above background"):
        table = tl.compare(bulk, **ARMS, sample_key="sample", bulk_of="cd8_t").set_index(
            "signature"
        )
    assert table.loc["mapk_output_mpas", "reason"].startswith("compartment not detected")
    assert table.loc["cd8_stem_memory", "verdict"] != "not testable"
    assert table.loc["treg_proxy", "reason"].startswith("compartment not detected")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"bulk_of": "tumour cells"}, "bulk_of='tumour cells' is not a kind of sample"),
        ({"purity_key": "nope"}, "purity_key 'nope' is not a column"),
        ({"purity_key": "n_cells"}, "must be a tumour fraction in \\(0, 1\\]"),
    ],
)
def test_bad_statements_are_refused(options, message):
    bulk = simulate_study(seed=1, n_genes=500, n_samples_per_arm=2, bulk=True)
    with pytest.raises(InputError, match=message):
        tl.compare(bulk, **ARMS, sample_key="sample", **options)


# --- calibrated composition covariates ----------------------------------------------------


def test_calibration_recovers_the_reliability_of_a_noisy_proxy():
    rng = np.random.default_rng(1)
    sheet = pd.DataFrame({"arm": ["control"] * 200 + ["treated"] * 200, "pair": ""})
    truth = rng.normal(0, 0.4, 400) + np.repeat([0.0, 0.5], 200)
    parts = pd.DataFrame(truth[:, None] + rng.normal(0, 0.6, (400, 4)))  # noise var 0.09 each
    c = calibrate(parts, sheet, paired=False)
    assert c.noise == pytest.approx(0.09, rel=0.1)
    assert c.reliability == pytest.approx(0.16 / (0.16 + 0.09), abs=0.05)
    slope = np.polyfit(c.values - sheet["arm"].eq("treated") * 0.5, truth, 1)[0]
    assert slope == pytest.approx(1.0, abs=0.15)  # calibrated: no attenuation


def test_variance_inflation_is_one_plus_t_squared_over_dof():
    rng = np.random.default_rng(2)
    z, treated = rng.normal(size=10), np.arange(10) >= 5
    t = stats.ttest_ind(z[treated], z[~treated]).statistic
    assert inflation(z, treated) == pytest.approx(1 + t**2 / 8)
    d = rng.normal(0.3, 1, 6)
    assert inflation(d, None) == pytest.approx(1 + stats.ttest_1samp(d, 0).statistic ** 2 / 5)


def test_confounded_tumour_content_is_not_testable():
    """Tumour content 80% in every control, 30% in every treated tumour: no model separates it."""
    bulk = _tissue(3, (0.85, 0.25), concentration=300.0)
    table = _compare(bulk, signatures=TUMOUR, composition=False)
    assert table["reason"].str.startswith("composition and regulation cannot be told apart").all()


def test_falling_tumour_content_is_not_read_as_a_tumour_change():
    """Leukocyte-rich tumours whose tumour content halves, nothing changing within any cell."""
    calls = unadjusted = 0
    for seed in range(12):
        table = _compare(
            _tissue(100 + seed, (0.35, 0.15), effects="none"), signatures=TUMOUR, composition=False
        )
        calls += table["verdict"].isin(["consistent", "opposite"]).sum()
        unadjusted += (table["p_value_unadjusted"] < 0.05).sum()
    assert unadjusted >= 12  # the unadjusted test is fooled in a third of the rows or more
    assert calls <= stats.binom.ppf(0.99, 36, 0.05)


def test_a_per_cell_change_is_found_after_adjustment():
    """MAPK output x0.5 and MHC-I x1.5 in tumour cells; composition varies alike in both arms."""
    hits = 0
    for seed in range(8):
        table = _compare(
            _tissue(200 + seed, (0.5, 0.5), effects="biology"), signatures=TUMOUR, composition=False
        )
        hits += table.loc["mapk_output_mpas", "verdict"] == "consistent"
    assert hits >= 6


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
    culture = simulate_study(seed=2, n_genes=2500, bulk=True, cell_types=("Tumor",))
    programs = _compare(culture, method="ucell", composition=False, bulk_of="tumor")
    assert not programs["reason"].str.startswith("signature not expressed").any()
    assert programs.loc["mapk_output_mpas", "verdict"] != "not testable"


def test_constant_scores_are_signature_not_expressed():
    bulk = simulate_study(seed=2, n_genes=500, bulk=True)
    scores = pd.DataFrame(0.0, index=bulk.obs_names, columns=["mhc1_apm"])
    row = _compare(bulk, scores=scores).loc["mhc1_apm"]
    assert row["verdict"] == "not testable"
    assert row["reason"] == "signature not expressed (or saturated): its score is 0 in every sample"
