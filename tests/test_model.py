"""tl._model and its helpers: named contrasts, refusals, fits, detectable effects, real data."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import mekscore as mk
from mekscore.errors import InputError
from mekscore.tl import _stats
from mekscore.tl._designspec import Design
from mekscore.tl._model import build_model
from mekscore.tl._sheet import build_sheet
from mekscore.tl._tables import detectable_effect

from .conftest import reference_path

AGENTS = {"cobi": ["MEKi"], "aPDL1": ["anti-PD-L1"], "combo": ["MEKi", "anti-PD-L1"]}
FOUR = ("veh", "cobi", "aPDL1", "combo")


def _arms(arms=FOUR, n=4, **columns) -> pd.DataFrame:
    labels = [a for a in arms for _ in range(n)]
    obs = pd.DataFrame({"arm": labels} | {k: np.resize(v, len(labels)) for k, v in columns.items()})
    obs.index = [f"s{i}" for i in range(len(obs))]
    return obs


def _model(obs, design, **kwargs):
    return build_model(build_sheet(obs, design, sample_key=None, bulk=True), design, **kwargs)


def _values(obs, seed=0, shift=None) -> pd.Series:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=len(obs)) + obs["arm"].map(shift or {}).fillna(0).to_numpy()
    return pd.Series(y, index=obs.index)


def _fit(model, values, **kwargs):
    kwargs = {"confidence": 0.95, "alpha": 0.05} | kwargs
    return {r.contrast: r for r in model.fit(values, **kwargs)}


# --- contrasts in words -------------------------------------------------------------


def test_factorial_contrasts_are_named_in_words():
    model = _model(_arms(), Design(condition_key="arm", control="veh", agents=AGENTS))
    table = [
        (c.name, c.words, c.kind, sorted(c.adds), sorted(c.background)) for c in model.contrasts
    ]
    assert table == [
        ("cobi_vs_veh", "cobi vs veh (MEKi)", "simple", ["mek_inhibitor"], []),
        ("aPDL1_vs_veh", "aPDL1 vs veh (anti-PD-L1)", "simple", ["checkpoint"], []),
        (
            "combo_vs_veh",
            "combo vs veh (MEKi + anti-PD-L1)",
            "simple",
            ["checkpoint", "mek_inhibitor"],
            [],
        ),
        (
            "combo_vs_cobi",
            "combo vs cobi (anti-PD-L1 added to MEKi)",
            "simple",
            ["checkpoint"],
            ["mek_inhibitor"],
        ),
        (
            "combo_vs_aPDL1",
            "combo vs aPDL1 (MEKi added to anti-PD-L1)",
            "simple",
            ["mek_inhibitor"],
            ["checkpoint"],
        ),
        (
            "interaction_cobi_aPDL1",
            "interaction MEKi x anti-PD-L1 (combo - cobi - aPDL1 + veh)",
            "interaction",
            ["checkpoint", "mek_inhibitor"],
            [],
        ),
        (
            "combo_beats_cobi_and_aPDL1",
            "combo beats both cobi and aPDL1",
            "beats_both",
            ["checkpoint", "mek_inhibitor"],
            [],
        ),
    ]
    assert model.notes == ()


def test_arms_without_agents_are_mek_inhibitor_arms():
    model = _model(_arms(("v", "lo", "hi")), Design(condition_key="arm", control="v"))
    assert [(c.name, c.words) for c in model.contrasts] == [
        ("hi_vs_v", "hi vs v"),
        ("lo_vs_v", "lo vs v"),
    ]
    assert all(c.adds == {"mek_inhibitor"} for c in model.contrasts)
    assert model.notes == (
        "no agents given: every treated arm is read as containing a MEK inhibitor",
    )


def test_control_with_background_agents_and_swapped_agents():
    design = Design(condition_key="arm", control="ICI", agents={"ICI": ["ICI"], "MEKi": ["MEKi"]})
    (contrast,) = _model(_arms(("ICI", "MEKi")), design).contrasts
    assert contrast.words == "MEKi vs ICI (MEKi instead of ICI)"
    assert contrast.adds == {"mek_inhibitor"} and contrast.removes == {"checkpoint"}


def _biopsies(between, times, n, missing=(), key="arm") -> pd.DataFrame:
    rows = [
        (b, f"{b}{k}", t)
        for b in between
        for k in range(n)
        for t in times
        if (f"{b}{k}", t) not in missing
    ]
    obs = pd.DataFrame(rows, columns=[key, "subject", "time"])
    obs.index = [f"{s}_{t}" for _, s, t in rows]
    return obs


ARMS_TIME = Design(
    condition_key="arm",
    control="ICI",
    subject_key="subject",
    time_key="time",
    baseline="pre",
    agents={"ICI": ["ICI"], "combo": ["ICI", "MEKi"]},
)


def test_repeated_contrasts_are_named_in_words():
    model = _model(_biopsies(("ICI", "combo"), ("pre", "on"), 3), ARMS_TIME)
    assert [(c.name, c.words, c.kind, sorted(c.adds)) for c in model.contrasts] == [
        ("on_vs_pre_in_ICI", "on vs pre in ICI", "time", ["checkpoint"]),
        ("on_vs_pre_in_combo", "on vs pre in combo", "time", ["checkpoint", "mek_inhibitor"]),
        (
            "on_vs_pre_combo_vs_ICI",
            "(on - pre) in combo minus in ICI (MEKi added to ICI)",
            "between",
            ["mek_inhibitor"],
        ),
    ]
    obs = _biopsies(("NR", "R"), ("pre", "on", "prog"), 3, key="response")
    design = Design(subject_key="subject", time_key="time", baseline="pre", between_key="response")
    words = [c.words for c in _model(obs, design).contrasts]
    assert words[:3] == ["on vs pre in NR", "prog vs pre in NR", "prog vs on in NR"]
    assert words[6:] == [
        "(on - pre) in R minus in NR",
        "(prog - pre) in R minus in NR",
        "R vs NR at pre",
    ]


def test_single_arm_time_levels_carry_agents():
    obs = _biopsies(("",), ("pre", "on", "prog"), 3).drop(columns="arm")
    design = Design(
        subject_key="subject",
        time_key="time",
        baseline="pre",
        agents={"on": ["MEKi", "ICI"], "prog": ["MEKi", "ICI"]},
    )
    contrasts = _model(obs, design).contrasts
    assert [(c.words, sorted(c.adds)) for c in contrasts] == [
        ("on vs pre (MEKi + ICI)", ["checkpoint", "mek_inhibitor"]),
        ("prog vs pre (MEKi + ICI)", ["checkpoint", "mek_inhibitor"]),
        ("prog vs on (same agents)", []),
    ]


def test_user_contrasts_replace_the_automatic_ones():
    design = Design(
        condition_key="arm",
        control="veh",
        agents=AGENTS,
        contrasts={
            "mek": ("arm", "combo", "aPDL1"),
            "mean": [(0.5, {"arm": "cobi"}), (0.5, {"arm": "combo"}), (-1, {"arm": "veh"})],
        },
    )
    mek, mean = _model(_arms(), design).contrasts
    assert (mek.words, mek.adds, mek.kind) == (
        "mek: arm combo vs aPDL1 (MEKi added to anti-PD-L1)",
        {"mek_inhibitor"},
        "custom",
    )
    assert mean.words == "mean: 0.5 cobi + 0.5 combo - veh" and mean.adds == frozenset()
    bad = Design(condition_key="arm", control="veh", contrasts={"x": ("arm", "combo", "nope")})
    with pytest.raises(InputError, match="'nope' is not a level of 'arm'"):
        _model(_arms(), bad)


# --- refusals before fitting --------------------------------------------------------


def test_an_arm_with_one_sample_is_refused():
    obs = _arms(n=2).iloc[:-1]
    with pytest.raises(InputError, match="arm 'combo' has 1 sample; every arm needs >= 2"):
        _model(obs, Design(condition_key="arm", control="veh", agents=AGENTS))


def test_a_covariate_confounded_with_the_arms_is_refused():
    obs = _arms(batch=["a"] * 8 + ["b"] * 8)  # veh and cobi in batch a, the rest in b
    obs["batch"] = ["a"] * 8 + ["b"] * 8
    design = Design(condition_key="arm", control="veh", agents=AGENTS, covariates=["batch"])
    with pytest.raises(InputError, match="covariate 'batch' is confounded with the arms"):
        _model(obs, design)
    obs["batch"] = np.resize(["a", "b"], 16)
    _model(obs, design)  # balanced within arms: fine


def test_a_non_estimable_formula_contrast_is_refused():
    obs = _arms(("veh", "cobi"), batch=["a", "b"])
    design = Design(formula="~ arm", contrasts={"batch": {"Intercept": 0.0, "arm[T.veh]": 0.0}})
    with pytest.raises(InputError, match="names model column\\(s\\)"):
        _model(obs, Design(formula="~ arm", contrasts={"x": {"batch[T.b]": 1.0}}))
    obs["batch"] = obs["arm"].map({"veh": "a", "cobi": "b"})  # aliased with the arm
    design = Design(formula="~ arm + batch", contrasts={"b": {"batch[T.b]": 1.0}})
    with pytest.raises(InputError, match="contrast 'b' .* is not estimable from this design"):
        _model(obs, design)


def test_rank_tests_are_for_designs_without_a_model():
    design = Design(condition_key="arm", control="veh", agents=AGENTS, covariates=["batch"])
    with pytest.raises(InputError, match="test 'mannwhitney' is not for this design"):
        _model(_arms(batch=["a", "b"]), design, test="mannwhitney")
    model = _model(_arms(), Design(condition_key="arm", control="veh", agents=AGENTS))
    with pytest.raises(InputError, match="use one of welch, mannwhitney"):
        model.fit(_values(_arms()), confidence=0.95, alpha=0.05, test="paired-t")


# --- fits ---------------------------------------------------------------------------


@pytest.mark.parametrize("test", ["welch", "mannwhitney"])
def test_two_arms_are_todays_unpaired_test(test):
    obs = _arms(("v", "t"), n=5)
    values = _values(obs, shift={"t": 1.0})
    (result,) = _model(obs, Design.two_arm(condition_key="arm", control="v", treated="t")).fit(
        values, confidence=0.9, alpha=0.1, test=test
    )
    today = _stats.compare_unpaired(values[:5].to_numpy(), values[5:].to_numpy(), test, 0.9, 0.1)
    for field in (
        "difference",
        "difference_low",
        "difference_high",
        "effect_size",
        "ci_low",
        "ci_high",
        "rank_biserial",
        "p_value",
    ):
        assert getattr(result, field) == getattr(today, field) or (
            np.isnan(getattr(today, field)) and np.isnan(getattr(result, field))
        )
    assert result.n == {"t": 5, "v": 5}
    if test == "welch":
        welch = stats.ttest_ind(values[5:], values[:5], equal_var=False)
        assert result.statistic == pytest.approx(welch.statistic, rel=1e-12)
        assert result.dof == pytest.approx(welch.df, rel=1e-12)


@pytest.mark.parametrize("test", ["paired-t", "wilcoxon"])
def test_pairs_are_todays_paired_test_and_incomplete_pairs_are_left_out(test):
    obs = _arms(("v", "t"), n=7)
    obs["patient"] = [f"p{k}" for k in range(7)] * 2
    values = _values(obs, shift={"t": 0.8})
    values["s0"] = np.nan  # the first patient's control sample has no value in this row
    design = Design.two_arm(condition_key="arm", control="v", treated="t", pair_key="patient")
    (result,) = _model(obs, design).fit(values, confidence=0.95, alpha=0.05, test=test)
    today = _stats.compare_paired(values[1:7].to_numpy(), values[8:].to_numpy(), test)
    assert (result.difference, result.p_value, result.ci_low) == (
        today.difference,
        today.p_value,
        today.ci_low,
    )
    assert result.n_subjects == 6
    assert result.left_out == {"s7": "its pair has no value at another level of this contrast"}


def test_two_arms_lacking_samples_say_so_as_today():
    obs = _arms(("v", "t"), n=3)
    values = _values(obs)
    values[["s3", "s4"]] = np.nan
    design = Design.two_arm(condition_key="arm", control="v", treated="t")
    (result,) = _model(obs, design).fit(values, confidence=0.95, alpha=0.05)
    assert result.untestable == "too few samples per arm (n_control=3, n_treated=1; need >= 2)"


def test_missing_values_refit_and_small_arms_are_untestable():
    obs = _arms()
    values = _values(obs)
    values[["s4", "s5", "s6"]] = np.nan  # cobi keeps one sample
    results = _fit(
        _model(obs, Design(condition_key="arm", control="veh", agents=AGENTS)), values, direction=-1
    )
    assert results["cobi_vs_veh"].untestable == (
        "too few samples per arm (n_veh=4, n_cobi=1; need >= 2)"
    )
    assert (
        results["interaction_cobi_aPDL1"].untestable == "too few samples in cobi (n=1); need >= 2"
    )
    assert results["combo_beats_cobi_and_aPDL1"].untestable.startswith("too few samples")
    assert not results["combo_vs_aPDL1"].untestable


def test_welch_satterthwaite_interaction_and_its_standardiser():
    obs = _arms(n=5)
    values = _values(obs, seed=3, shift={"combo": -2.0})
    r = _fit(_model(obs, Design(condition_key="arm", control="veh", agents=AGENTS)), values)[
        "interaction_cobi_aPDL1"
    ]
    groups = {a: values[obs["arm"] == a].to_numpy() for a in FOUR}
    w = {"combo": 1, "cobi": -1, "aPDL1": -1, "veh": 1}
    assert r.difference == pytest.approx(sum(w[a] * groups[a].mean() for a in FOUR))
    assert r.sd == pytest.approx(np.sqrt(np.mean([groups[a].var(ddof=1) for a in FOUR])))
    assert r.test == "welch-satterthwaite" and r.effect_measure == "hedges_g_av"
    assert (r.ci_high < 0) == (r.p_value < 0.05) == (r.difference_high < 0)


def test_beats_both_is_one_sided_and_its_interval_matches_its_p():
    obs = _arms(n=6)
    model = _model(obs, Design(condition_key="arm", control="veh", agents=AGENTS))
    for seed in range(30):
        values = _values(obs, seed=seed, shift={"combo": -1.5, "cobi": -0.3})
        down = _fit(model, values, direction=-1)["combo_beats_cobi_and_aPDL1"]
        gaps = [_fit(model, values)[name] for name in ("combo_vs_cobi", "combo_vs_aPDL1")]
        one_sided = [stats.t.cdf(g.statistic, g.dof) for g in gaps]
        assert down.p_value == pytest.approx(max(one_sided))
        assert down.difference == max(g.difference for g in gaps)  # the smaller gap downwards
        assert down.difference_low == -np.inf and down.ci_low == -np.inf
        assert (down.difference_high < 0) == (down.p_value < 0.05) == (down.ci_high < 0)
        assert down.one_sided == -1
    no_direction = _fit(model, values)["combo_beats_cobi_and_aPDL1"]
    assert no_direction.untestable.startswith("'beats both' is one-sided")


def test_repeated_complete_subjects_use_differences_and_incomplete_ones_the_mixed_model():
    obs = _biopsies(("ICI", "combo"), ("pre", "on"), 5)
    model = _model(obs, ARMS_TIME)
    rng = np.random.default_rng(4)
    values = pd.Series(rng.normal(size=len(obs)), index=obs.index)
    complete = _fit(model, values)
    assert [r.test for r in complete.values()] == ["paired-t", "paired-t", "welch"]
    change = {
        a: [values[f"{a}{k}_on"] - values[f"{a}{k}_pre"] for k in range(5)]
        for a in ("ICI", "combo")
    }
    welch = stats.ttest_ind(change["combo"], change["ICI"], equal_var=False)
    assert complete["on_vs_pre_combo_vs_ICI"].p_value == pytest.approx(welch.pvalue)
    values["combo0_on"] = np.nan  # one combo subject loses its on-treatment biopsy
    partial = _fit(model, values)
    assert partial["on_vs_pre_in_ICI"].test == "paired-t"
    assert partial["on_vs_pre_in_combo"].test == "lmm"
    assert partial["on_vs_pre_combo_vs_ICI"].effect_measure == "hedges_g_lmm"


# --- what the design can show -------------------------------------------------------


def test_detectable_effects_at_four_per_arm():
    welch = _model(_arms(), Design(condition_key="arm", control="veh", agents=AGENTS))
    table = welch.detectable_effects().set_index("contrast")
    assert table.loc["cobi_vs_veh", "detectable"] == pytest.approx(2.38, abs=0.01)
    assert table.loc["interaction_cobi_aPDL1", "detectable"] == pytest.approx(3.05, abs=0.01)
    assert table.loc["cobi_vs_veh", "df"] == 6 and table.loc["interaction_cobi_aPDL1", "df"] == 12
    pooled = _model(
        _arms(),
        Design(
            formula="~ arm",
            contrasts={
                "pair": ("arm", "cobi", "veh"),
                "interaction": [
                    (1, {"arm": "combo"}),
                    (-1, {"arm": "cobi"}),
                    (-1, {"arm": "aPDL1"}),
                    (1, {"arm": "veh"}),
                ],
            },
        ),
    )
    table = pooled.detectable_effects().set_index("contrast")
    assert table["df"].tolist() == [12, 12]
    assert table["detectable"].round(2).tolist() == [2.16, 3.05]  # the 2.2 and 3.1 SD
    assert detectable_effect(1.0, 12, 0.05, 0.8) > detectable_effect(1.0, 12, 0.05, 0.8, sides=1)


def test_design_tables():
    obs = _biopsies(("ICI", "combo"), ("pre", "on"), 4, missing={("combo0", "on")})
    table = _model(obs, ARMS_TIME).design_table()
    assert table.to_dict("index") == {
        "ICI": {"agents": "ICI", "pre": 4, "on": 4, "subjects": 4, "every time point": 4},
        "combo": {"agents": "ICI + MEKi", "pre": 4, "on": 3, "subjects": 4, "every time point": 3},
    }
    effects = _model(obs, ARMS_TIME).detectable_effects().set_index("contrast")
    assert effects.loc["on_vs_pre_in_combo", "n"] == "3 subjects"


# --- real data ----------------------------------------------------------------------


@pytest.mark.contract
def test_braf_v600e_culture_in_one_three_arm_fit():
    """MAPK output up with BRAF-V600E induction, down with the BRAF inhibitor, in one fit."""
    counts = pd.read_csv(
        reference_path("real_braf_v600e_lgx818", "expr_counts_symbol.csv.gz"), index_col=0
    )
    samples = pd.read_csv(reference_path("real_braf_v600e_lgx818", "samples.csv"), index_col=0)
    adata = ad.AnnData(counts.T.astype(float), obs=samples.loc[counts.columns])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the log-normalisation warning
        scores = mk.tl.score(
            adata,
            ["mapk_output_mpas", "progeny_mapk"],
            method="mean",
            log_normalize=True,
            inplace=False,
        )
    design = Design(
        condition_key="condition",
        control="vector",
        agents={"v600e": ["BRAF-V600E"], "v600e_lgx818": ["BRAF-V600E", "LGX818"]},
    )
    model = _model(adata.obs, design)
    named = {c.name: c for c in model.contrasts}
    assert named["v600e_vs_vector"].adds == {"mapk_activator"}
    assert named["v600e_lgx818_vs_v600e"].adds == {"mapk_inhibitor"}
    assert (
        named["v600e_lgx818_vs_v600e"].words == "v600e_lgx818 vs v600e (LGX818 added to BRAF-V600E)"
    )
    for signature in scores.columns:
        results = _fit(model, scores[signature])
        up, down = results["v600e_vs_vector"], results["v600e_lgx818_vs_v600e"]
        assert up.p_value < 0.01 and up.ci_low > 0 and up.difference_low > 0, signature
        assert down.p_value < 1e-5 and down.ci_high < 0, signature
