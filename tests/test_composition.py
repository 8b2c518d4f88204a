"""Composition: compartment shares per sample, tested like programs; abundance expectations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mekscore import tl
from mekscore.datasets import simulate_study
from mekscore.sig import SignatureError
from mekscore.sig.abundance import Abundance, load_abundance

SC = {
    "condition_key": "condition",
    "control": "vehicle",
    "treated": "trametinib",
    "sample_key": "sample",
    "compartment_key": "cell_type",
}
ALPHA = 0.05


def _abundance(study) -> pd.DataFrame:
    """compare's abundance rows, with a constant stand-in score so nothing is scored."""
    dummy = pd.DataFrame(0.0, index=study.obs_names, columns=["mapk_output_mpas"])
    table = tl.compare(study, **SC, scores=dummy, qc=False)  # the QC plays no part here
    return table[table["kind"] == "abundance"].set_index("compartment")


def test_shares_are_counted_per_sample_and_tested_on_the_logit_scale():
    study = simulate_study(seed=4, n_cells_mean=150, n_genes=400)
    rows = _abundance(study)
    cd8 = (study.obs["cell_type"] == "CD8 T").groupby(study.obs["sample"], observed=True)
    k, n = cd8.sum(), cd8.size()
    logit = np.log((k + 0.5) / (n + 1) / (1 - (k + 0.5) / (n + 1)))
    arm = study.obs.groupby("sample", observed=True)["condition"].first()
    expected = stats.ttest_ind(logit[arm == "trametinib"], logit[arm == "vehicle"], equal_var=False)
    row = rows.loc["cd8_t"]
    assert row["signature"] == "cd8_t_abundance" and row["expected"] == "up"
    assert row["p_value"] == pytest.approx(expected.pvalue)
    assert row["family"] == "abundance" and row["effect_measure"] == "hedges_g_av"
    assert rows.loc["treg", "family"] == "abundance, no expected direction"
    shares = study.uns["mekscore_compare"]["composition"]
    assert shares.loc[k.index, "cd8_t"].to_numpy() == pytest.approx((k / n).to_numpy())
    assert set(rows.index) == {"tumor", "cd8_t", "cd4_t", "treg", "myeloid", "nk", "b"}


def test_planted_abundance_shifts_are_called_with_four_samples_per_arm():
    """Low composition variation (a 15% cell type has an SD of 2.5 points, CV 17%).

    Measured power for CD8 x1.8 / myeloid x0.5 over 40 studies: 0.90/0.90 here, 0.80/0.78
    at concentration 100 (CV 24%), 0.38/0.33 at the simulator's default 30 (CV 43%).
    """
    hits = {"cd8_t": 0, "myeloid": 0}
    for seed in range(20):
        study = simulate_study(
            seed=700 + seed,
            n_cells_mean=300,
            n_genes=400,
            concentration=200,
            composition={"CD8 T": 1.8, "Myeloid": 0.5},
        )
        rows = _abundance(study)
        for comp in hits:
            hits[comp] += rows.loc[comp, "verdict"] == "consistent"
    assert min(hits.values()) >= 16, hits


def test_null_composition_with_strong_sample_variation_is_calibrated():
    calls = p_small = tested = 0
    for seed in range(60):
        study = simulate_study(seed=800 + seed, n_cells_mean=200, n_genes=400, effects="none")
        rows = _abundance(study)
        calls += int(rows["verdict"].isin(["consistent", "opposite"]).sum())
        p_small += int((rows["p_value"] < ALPHA).sum())
        tested += int(rows["p_value"].notna().sum())
    assert stats.binomtest(p_small, tested, ALPHA, alternative="greater").pvalue > 0.01
    assert calls <= stats.binom.ppf(0.99, 60 * 2, ALPHA)  # 2 directional rows per study


def test_composition_can_be_switched_off_and_bulk_uses_marker_proxies():
    study = simulate_study(seed=1, n_cells_mean=60, n_genes=400)
    dummy = pd.DataFrame(0.0, index=study.obs_names, columns=["mapk_output_mpas"])
    table = tl.compare(study, **SC, scores=dummy, composition=False)
    assert set(table["kind"]) == {"program"}
    bulk = simulate_study(seed=1, n_cells_mean=60, n_genes=400, bulk=True)
    table = tl.compare(
        bulk,
        condition_key="condition",
        control="vehicle",
        treated="trametinib",
        sample_key="sample",
        signatures=["mapk_output_mpas"],
    )
    proxies = table[table["kind"] == "abundance"]
    assert proxies["signature"].str.endswith("_proxy").all() and len(proxies) >= 5
    off = tl.compare(
        bulk,
        condition_key="condition",
        control="vehicle",
        treated="trametinib",
        sample_key="sample",
        signatures=["mapk_output_mpas"],
        composition=False,
    )
    assert set(off["kind"]) == {"program"}


def test_library_abundance_entries_cite_their_directions():
    entries = load_abundance()
    assert entries["cd8_t"].expected == "up" and entries["myeloid"].expected == "down"
    assert entries["treg"].expected == "unclear"
    for entry in entries.values():
        assert all(e.doi or e.pmid for e in entry.evidence)


def test_abundance_entries_are_validated():
    good = {
        "id": "x_abundance",
        "name": "x",
        "compartment": "nk",
        "description": "d",
        "expected": {
            "direction": "up",
            "evidence": [
                {
                    "citation": "c",
                    "finding": "f",
                    "species": "mouse",
                    "model": "m",
                    "direction": "up",
                    "doi": "10.1/x",
                }
            ],
        },
    }
    assert Abundance.from_dict(good).expected == "up"
    wrong = {**good, "expected": {**good["expected"], "direction": "down"}}
    with pytest.raises(SignatureError, match="no evidence supports the expected direction"):
        Abundance.from_dict(wrong)
    with pytest.raises(SignatureError, match="compartment must be one of"):
        Abundance.from_dict({**good, "compartment": "any"})
    with pytest.raises(SignatureError, match="unknown keys"):
        Abundance.from_dict({**good, "markers": []})
