"""Calibration (null studies), the cell-level pseudo-replication trap, and power.

Scores come from ``tl.score(method="mean")`` on log-normalised simulated studies with
strong sample-to-sample variation and unequal cell numbers per sample.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats

from mekscore import tl
from mekscore.datasets import log_normalise, simulate_study
from mekscore.tl._aggregate import normalise_label

ALPHA = 0.05
DESIGN = {
    "condition_key": "condition",
    "control": "vehicle",
    "treated": "trametinib",
    "sample_key": "sample",
    "compartment_key": "cell_type",
}
CALLS = ("consistent", "opposite")


def _study(seed: int, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # signatures with < 3 genes are skipped
        adata = log_normalise(simulate_study(seed=seed, **kwargs))
        tl.score(adata, method="mean")
    return adata


def _null_rates(n_studies: int, first_seed: int) -> tuple[int, int, int, int]:
    """(calls, directional rows tested, p < alpha, rows with a p-value) over null studies."""
    calls = directional = significant = tested = 0
    for seed in range(first_seed, first_seed + n_studies):
        adata = _study(seed, effects="none", sample_sd=0.4, n_cells_mean=120, n_genes=600)
        table = tl.compare(adata, method="mean", alpha=ALPHA, **DESIGN)
        has_p = table["p_value"].notna()
        calls += int(table["verdict"].isin(CALLS).sum())
        directional += int((has_p & table["expected"].isin(["up", "down"])).sum())
        significant += int((table["p_value"] < ALPHA).sum())
        tested += int(has_p.sum())
    return calls, directional, significant, tested


def _assert_not_above_alpha(k: int, n: int) -> None:
    """One-sided binomial test of 'rate > alpha' must not reject at the 1% level."""
    assert n > 0
    upper = stats.binomtest(k, n, ALPHA, alternative="greater").pvalue
    assert upper > 0.01, f"{k}/{n} = {k / n:.3f} exceeds alpha={ALPHA} (binomial p={upper:.2g})"


def _check_calibration(n_studies: int, first_seed: int) -> None:
    calls, directional, significant, tested = _null_rates(n_studies, first_seed)
    _assert_not_above_alpha(calls, directional)  # verdicts other than "no change detected"
    _assert_not_above_alpha(significant, tested)  # the sample-level test itself


def test_null_studies_are_calibrated():
    _check_calibration(n_studies=100, first_seed=0)


@pytest.mark.slow
def test_null_studies_are_calibrated_many():
    _check_calibration(n_studies=400, first_seed=10_000)


def test_cell_level_test_is_the_trap_sample_level_is_not():
    """Null studies: cells-as-replicates gives tiny p-values; compare calls nothing."""
    naive_p, calls = [], 0
    for seed in range(4):
        adata = _study(seed, effects="none", sample_sd=0.5, n_cells_mean=500, n_genes=700)
        table = tl.compare(adata, method="mean", **DESIGN).set_index("signature")
        calls += int(table["verdict"].isin(CALLS).sum())
        scores = adata.obsm["mekscore_mean"]
        treated = (adata.obs["condition"] == "trametinib").to_numpy()
        compartment = adata.obs["cell_type"].astype(str).map(normalise_label).to_numpy()
        for sig in table.index[table["p_value"].notna()]:
            comp = table.loc[sig, "compartment"]
            cells = np.ones(len(compartment), bool) if comp == "any" else compartment == comp
            naive = stats.ttest_ind(
                scores.loc[treated & cells, sig], scores.loc[~treated & cells, sig], equal_var=False
            )
            naive_p.append(naive.pvalue)
    assert np.mean(np.array(naive_p) < 1e-3) > 0.5  # most signatures "significant" per cell
    assert calls == 0  # the sample is the replicate: no false verdicts


def test_planted_mapk_and_mhc1_effects_are_detected():
    effects = {"mapk_output_mpas": 0.5, "mhc1_apm": 1.5}
    hits = {sig: 0 for sig in effects}
    for seed in range(20):
        adata = _study(1000 + seed, effects=effects, sample_sd=0.25, n_cells_mean=300, n_genes=800)
        table = tl.compare(adata, method="mean", **DESIGN).set_index("signature")
        for sig in effects:
            hits[sig] += table.loc[sig, "verdict"] == "consistent"
    assert hits["mapk_output_mpas"] >= 16, hits
    assert hits["mhc1_apm"] >= 16, hits
