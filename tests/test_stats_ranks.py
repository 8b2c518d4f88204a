"""Rank tests on tied and zero-difference data: intervals dual to p, honest refusals.

Issue #23: with ties or zero differences the Hodges-Lehmann order-statistic interval and
the permutation p-value disagreed, tests that could never reach alpha were reported as
"no change detected", and the reason said "(ties)" when the cause was a zero.
"""

from __future__ import annotations

import math

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mekscore import tl
from mekscore.tl import _ranks, _stats
from mekscore.tl._verdict import add_verdicts

CONFIDENCE = 0.95
LEVEL = 1 - CONFIDENCE
EVERY = stats.PermutationMethod(n_resamples=np.inf)


def _tied_designs(seed: int, count: int):
    """Small-integer data, 3-10 per arm or pairs: ties everywhere, zeros in most pairs."""
    rng = np.random.default_rng(seed)
    for _ in range(count):
        n1, n2 = rng.integers(3, 11, 2)
        shift = rng.integers(0, 4)
        top = rng.integers(2, 6)
        control = rng.integers(0, top, n1).astype(float)
        treated = (rng.integers(0, top, n2) + shift).astype(float)
        d = rng.integers(-2, 5, n1).astype(float)
        yield control, treated, d


ISSUE_UNPAIRED = [
    ([3, 1, 1, 1], [3, 2, 2, 2, 2, 2, 4]),  # p = 0.0424, the old interval [-1, 2]
    ([1, 1, 1, 1, 1], [1, 1, 1, 1, 2]),  # every arrangement gives p = 1
    ([3, 3, 2, 3], [2, 1, 1, 1]),  # smallest attainable p 0.057
    ([1, 0, 1, 1], [1, 5, 4, 4, 5]),  # the two-sided convention matters
]
ISSUE_PAIRED = [
    [1, 2, -2, 3, 4, 2, 2, 4],  # p = 0.0469, the old interval [0, 3.5]
    [0, 0.5, -0.75, 1.25, 1.5, 1.75, 2, 2.5],  # one zero, no ties: the old interval [0, 1.68]
    [0, 1, 2, 3, 4, 5],  # 6 pairs, one zero: smallest p 0.0625
    [0, 0, 0, 1, 2, 3, 4, 5],  # 8 pairs, three zeros: 0.0625
]


def _check(r: _stats.Contrast, floor: float, untied_floor: float, cause: str) -> None:
    """Refused exactly when alpha is out of reach, with the cause; else dual to p."""
    if max(floor, untied_floor) > LEVEL:
        assert r.untestable and np.isnan(r.p_value), r
        expected = "n too small" if untied_floor > LEVEL else cause
        assert r.untestable.startswith(expected), r.untestable
        return
    assert not r.untestable, r
    assert r.excludes_zero == (r.p_value <= LEVEL), r
    printed_holds_zero = r.ci_low <= 0 <= r.ci_high
    if r.p_value <= LEVEL and printed_holds_zero:  # the row says why
        assert "is open at 0" in r.note and r.note.startswith("interval ("), r
    else:
        assert r.note == "", r
    assert r.ci_low <= r.effect_size <= r.ci_high


@pytest.mark.parametrize("seed", range(4))
def test_tied_mann_whitney_interval_excludes_zero_exactly_when_p_is_below_level(seed):
    for control, treated, _ in _tied_designs(seed, 60):
        r = _stats.compare_unpaired(control, treated, "mannwhitney", CONFIDENCE, LEVEL)
        untied = 2 / math.comb(len(control) + len(treated), len(control))
        if np.ptp(np.r_[control, treated]) == 0:
            assert r.untestable in (
                "all values are equal",
                _stats._too_small("mannwhitney", untied),
            )
            continue
        result = _ranks.mann_whitney(control, treated, CONFIDENCE)
        assert result.connected  # midranks: each one-sided p is monotone in the shift
        _check(r, result.floor, untied, "ties: ")


@pytest.mark.parametrize("seed", range(4))
def test_wilcoxon_with_zeros_and_ties_excludes_zero_exactly_when_p_is_below_level(seed):
    for _, _, d in _tied_designs(100 + seed, 60):
        r = _stats.compare_paired(np.zeros(len(d)), d, "wilcoxon", CONFIDENCE, LEVEL)
        if not d.any():
            assert r.untestable
            continue
        result = _ranks.signed_rank(d, CONFIDENCE)
        assert result.connected  # Pratt's zeros keep each one-sided p monotone
        floor = result.floor
        assert floor == pytest.approx(min(1, 2 / 2 ** int((d != 0).sum())))  # zeros only
        _check(r, floor, 2 / 2 ** len(d), "zero differences: ")


@pytest.mark.parametrize(("control", "treated"), ISSUE_UNPAIRED)
def test_issue_examples_unpaired(control, treated):
    control, treated = np.array(control, float), np.array(treated, float)
    r = _stats.compare_unpaired(control, treated, "mannwhitney", CONFIDENCE, LEVEL)
    floor = _ranks.mann_whitney(control, treated, CONFIDENCE).floor
    _check(r, floor, 2 / math.comb(len(control) + len(treated), len(control)), "ties: ")


@pytest.mark.parametrize("d", ISSUE_PAIRED)
def test_issue_examples_paired(d):
    d = np.array(d, float)
    r = _stats.compare_paired(np.zeros(len(d)), d, "wilcoxon", CONFIDENCE, LEVEL)
    _check(r, _ranks.signed_rank(d, CONFIDENCE).floor, 2 / 2 ** len(d), "zero differences: ")


def test_issue_numbers():
    mw = _stats.compare_unpaired(
        np.array([3.0, 1, 1, 1]), np.array([3.0, 2, 2, 2, 2, 2, 4]), "mannwhitney"
    )
    assert mw.p_value == pytest.approx(14 / 330) and (mw.ci_low, mw.ci_high) == (0, 2)
    assert mw.ci_low_open and not mw.ci_high_open and mw.excludes_zero
    assert mw.test == "mannwhitney (ties: midranks, 2 x smaller tail)"
    assert "1 treated-control tie" in mw.note
    zero = _stats.compare_paired(np.zeros(8), np.array(ISSUE_PAIRED[1]), "wilcoxon")
    assert zero.p_value == pytest.approx(6 / 128) and zero.ci_low == 0 and zero.ci_low_open
    assert zero.test == "wilcoxon (zeros: Pratt)" and "1 zero difference" in zero.note
    tied = _stats.compare_paired(np.zeros(8), np.array(ISSUE_PAIRED[0]), "wilcoxon")
    assert "differences of equal size and opposite sign" in tied.note
    refused = _stats.compare_paired(np.zeros(6), np.array(ISSUE_PAIRED[2]), "wilcoxon")
    assert refused.untestable == (
        "zero differences: 1 of 6 pair differences are 0, so wilcoxon cannot reach "
        "p <= 0.05 (minimum p = 0.0625; 0.0312 without zeros)"
    )
    flat = _stats.compare_unpaired(np.ones(5), np.array([1.0, 1, 1, 1, 2]), "mannwhitney")
    assert flat.untestable == (
        "ties: mannwhitney cannot reach p <= 0.05 on these values (minimum p = 1; "
        "0.00794 without ties)"
    )


def test_two_sided_p_is_twice_the_smaller_tail():
    """coin's |S - E S| convention gives 0.0397 here; the equal-tailed p is 0.0635."""
    control, treated = np.array([1.0, 0, 1, 1]), np.array([1.0, 5, 4, 4, 5])
    r = _stats.compare_unpaired(control, treated, "mannwhitney")
    one_sided = stats.mannwhitneyu(treated, control, alternative="greater", method=EVERY)
    assert r.p_value == pytest.approx(2 * one_sided.pvalue) == pytest.approx(0.0635, abs=5e-5)
    assert not r.excludes_zero and r.ci_low == 0 and not r.ci_low_open


@pytest.mark.parametrize(
    ("control", "treated"),
    [([3, 1, 1, 1], [3, 2, 2, 2, 2, 2, 4]), ([0, 1, 1, 2, 2, 3], [2, 2, 3, 4, 4, 5, 5])],
)
def test_tied_interval_is_the_set_scipy_does_not_reject(control, treated):
    """scipy's full permutation test on the shifted data, on a grid of shifts."""
    control, treated = np.array(control, float), np.array(treated, float)
    r = _stats.compare_unpaired(control, treated, "mannwhitney")
    for shift in np.arange(-3, 6, 0.25):  # exact in binary, so ties are exact
        p = stats.mannwhitneyu(treated - shift, control, method=EVERY).pvalue
        assert (p > LEVEL) == _inside(r, shift), shift


@pytest.mark.parametrize("d", [ISSUE_PAIRED[0], ISSUE_PAIRED[1], [0, 0, 1, 2, 2, -1, 3, 3, 4]])
def test_wilcoxon_interval_is_the_set_scipy_pratt_does_not_reject(d):
    d = np.array(d, float)
    r = _stats.compare_paired(np.zeros(len(d)), d, "wilcoxon")
    for shift in np.arange(-3, 6, 0.25):
        shifted = d - shift
        if not shifted.any():
            continue
        p = stats.wilcoxon(shifted, zero_method="pratt", method=EVERY).pvalue
        assert (p > LEVEL) == _inside(r, shift), shift


def _inside(r: _stats.Contrast, shift: float) -> bool:
    above = r.ci_low < shift or (r.ci_low == shift and not r.ci_low_open)
    below = shift < r.ci_high or (shift == r.ci_high and not r.ci_high_open)
    return above and below


def test_untied_data_keep_their_test_name_and_r_numbers():
    r = _stats.compare_unpaired(
        np.array([0.1, 0.4, 0.3]), np.array([0.9, 1.2, 0.7, 1.5]), "mannwhitney"
    )
    assert r.test == "mannwhitney" and r.note == ""
    w = _stats.compare_paired(np.zeros(6), np.array([0.3, 0.1, -0.05, 0.4, 0.22, 0.15]), "wilcoxon")
    assert w.test == "wilcoxon"


def test_large_samples_use_the_normal_approximation_and_stay_dual():
    rng = np.random.default_rng(3)
    control, treated = np.round(rng.normal(0, 1, 14), 1), np.round(rng.normal(0.8, 1, 15), 1)
    r = _stats.compare_unpaired(control, treated, "mannwhitney")
    assert r.test.startswith("mannwhitney (normal approximation")
    ref = stats.mannwhitneyu(treated, control, method="asymptotic", use_continuity=True)
    assert r.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert r.excludes_zero == (r.p_value <= LEVEL)


def test_one_degree_of_freedom_reports_the_uncorrected_effect():
    """2 vs 2 with a constant arm: J(1) = 0 would make a difference of 1.5 'none'."""
    r = _stats.compare_unpaired(np.ones(2), np.array([1.5, 3.0]), "welch")
    assert r.effect_measure == "cohens_d_av" and r.observed == "up"
    assert r.effect_size == pytest.approx(1.25 / math.sqrt(1.125 / 2))
    p = _stats.compare_paired(np.zeros(2), np.array([1.0, 2.0]), "paired-t")
    assert p.effect_measure == "cohens_d_z" and p.effect_size == pytest.approx(1.5 / math.sqrt(0.5))


def test_average_variance_dof_matches_welch_at_equal_n_only():
    v1, v2 = 1.0, 5.0
    welch = (v1 / 4 + v2 / 4) ** 2 / ((v1 / 4) ** 2 / 3 + (v2 / 4) ** 2 / 3)
    assert _stats.average_variance_dof(v1, v2, 4, 4) == pytest.approx(welch)
    welch = (v1 / 3 + v2 / 8) ** 2 / ((v1 / 3) ** 2 / 2 + (v2 / 8) ** 2 / 7)
    assert _stats.average_variance_dof(v1, v2, 3, 8) != pytest.approx(welch, rel=0.01)


def _row(**values) -> pd.DataFrame:
    base = {
        "family": "directional",
        "observed": "up",
        "expected": "up",
        "verdict": "",
        "reason": "",
        "flag": "",
        "signature": "x",
        "compartment": "tumor",
    }
    return pd.DataFrame([base | values])


def test_verdict_reason_names_the_open_end_not_ties():
    out, _ = add_verdicts(_row(p_value=0.042, ci_low=0.0, ci_high=2.0), 0.05)
    assert out.loc[0, "verdict"] == "no change detected"
    assert "ends at 0, an end the test rejects (open" in out.loc[0, "reason"]
    assert "(ties)" not in out.loc[0, "reason"]
    out, _ = add_verdicts(_row(p_value=0.03, ci_low=-0.1, ci_high=2.0), 0.05, confidence=0.99)
    assert "the 99% interval [-0.1, 2] includes 0" in out.loc[0, "reason"]


def test_compare_row_carries_the_convention_the_open_end_and_its_reason():
    """End to end: p = 0.042 beside (0, 2]; no call, and both reason and flag say why."""
    control, treated = [3.0, 1, 1, 1], [3.0, 2, 2, 2, 2, 2, 4]
    samples = {f"v{k}": v for k, v in enumerate(control)}
    samples |= {f"t{k}": v for k, v in enumerate(treated)}
    obs = pd.DataFrame(
        [
            (s, "vehicle" if s[0] == "v" else "trametinib", label)
            for s in samples
            for label in ("Tumor", "CD8 T")
            for _ in range(12)
        ],
        columns=["sample", "condition", "cell_type"],
    )
    obs.index = [f"c{i}" for i in range(len(obs))]
    adata = ad.AnnData(obs=obs)
    mpas = np.random.default_rng(0).normal(size=len(obs))
    adata.obsm["mekscore_mean"] = pd.DataFrame(
        {"mapk_output_mpas": mpas, "mhc1_apm": obs["sample"].map(samples).to_numpy()},
        index=obs.index,
    )
    table = tl.compare(
        adata,
        condition_key="condition",
        control="vehicle",
        treated="trametinib",
        sample_key="sample",
        compartment_key="cell_type",
        test="mannwhitney",
    ).set_index("signature")
    row = table.loc["mhc1_apm"]
    assert row["test"] == "mannwhitney (ties: midranks, 2 x smaller tail)"
    assert row["p_value"] == pytest.approx(14 / 330) and (row["ci_low"], row["ci_high"]) == (0, 2)
    assert row["verdict"] == "no change detected"
    assert "ends at 0, an end the test rejects (open" in row["reason"]
    assert "interval (0, 2] is open at 0" in row["flag"]
