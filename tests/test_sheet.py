"""tl._sheet: the per-sample sheet of a design, checked before any scoring."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from mekscore.errors import InputError
from mekscore.tl._designspec import Design
from mekscore.tl._sheet import build_sheet

AGENTS = {"cobi": ["MEKi"], "aPDL1": ["ICI"], "combo": ["MEKi", "ICI"]}


def _cells(samples, conditions, per=3, **columns) -> pd.DataFrame:
    obs = pd.DataFrame(
        {"sample": np.repeat(samples, per), "condition": np.repeat(conditions, per)}
        | {k: np.repeat(v, per) for k, v in columns.items()}
    )
    obs.index = [f"c{i}" for i in range(len(obs))]
    return obs


def _sheet(obs, pair_key=None, sample_key="sample", *, bulk=False):
    design = Design.two_arm(condition_key="condition", control="v", treated="t", pair_key=pair_key)
    return build_sheet(obs, design, sample_key=sample_key, bulk=bulk)


def _table(rows: dict, pair: dict | None = None) -> pd.DataFrame:
    """The expected sheet: sample -> (arm, condition), pairs as given ("" unpaired)."""
    pair = pair or {}
    frame = pd.DataFrame(
        {
            "arm": [arm for arm, _ in rows.values()],
            "condition": [cond for _, cond in rows.values()],
            "pair": [pair.get(s, "") for s in rows],
        },
        index=list(rows),
    )
    return frame.astype(object)


@pytest.mark.parametrize("pair_key", [None, "patient"])
def test_two_arm_sheet_keeps_labelled_samples_and_names_the_rest(pair_key):
    obs = _cells(
        ["v1", "v2", "t1", "t2", "x1", "v3", "t4"],
        ["v", "v", "t", "t", "x", " v", "t"],
        patient=["1", "2", "1", "2", "1", "3", "4"],
    )
    obs["condition"] = obs["condition"].astype(object)
    obs.loc[obs.index[:2], "sample"] = None  # two cells of v1 without a sample
    obs.loc[obs["sample"] == "t2", "condition"] = np.nan  # t2 has no condition
    sheet = _sheet(obs, pair_key=pair_key)
    treated, control = ("treated", "t"), ("control", "v")
    if pair_key is None:
        expected = _table(
            {"t1": treated, "t4": treated, "v1": control, "v2": control, "v3": control}
        )
        dropped = {"t2": "no condition"}
    else:
        expected = _table({"t1": treated, "v1": control}, pair={"t1": "1", "v1": "1"})
        dropped = {
            "t2": "no condition",
            "t4": "pair 4 has no control sample",
            "v2": "pair 2 has no treated sample",
            "v3": "pair 3 has no treated sample",
        }
    pd.testing.assert_frame_equal(sheet.table.astype(object), expected, check_names=False)
    assert sheet.dropped == dropped and not sheet.bulk
    assert sheet.notes == ("2 observation(s) without a 'sample' label left out",)
    assert sheet.arms == ("v", "t") and sheet.variables.shape == (len(sheet.table), 0)


def test_two_arm_bulk_sheet_has_one_sample_per_observation():
    obs = pd.DataFrame({"condition": ["v", "v", "t", "t"]}, index=["a", "b", "c", "d"])
    sheet = _sheet(obs, sample_key=None, bulk=True)
    expected = _table(
        {"c": ("treated", "t"), "d": ("treated", "t"), "a": ("control", "v"), "b": ("control", "v")}
    )
    pd.testing.assert_frame_equal(
        sheet.table.astype(object).sort_index(), expected.sort_index(), check_names=False
    )
    assert sheet.bulk


def test_two_arm_refusals_say_what_today_says():
    obs = _cells(["v1", "t1"], ["v", "t"])
    obs.loc["c0", "condition"] = "t"
    with pytest.raises(InputError, match="sample\\(s\\) v1 span several conditions or pairs"):
        build_sheet(
            obs,
            Design.two_arm(condition_key="condition", control="v", treated="t"),
            sample_key="sample",
        )
    with pytest.raises(InputError, match="'DMSO' not found in obs\\['condition'\\] \\(available"):
        build_sheet(
            obs,
            Design.two_arm(condition_key="condition", control="DMSO", treated="t"),
            sample_key="sample",
        )
    with pytest.raises(InputError, match="replicate is the sample"):
        build_sheet(
            obs,
            Design.two_arm(condition_key="condition", control="v", treated="t"),
            sample_key=None,
        )


def test_every_other_arm_is_treated_by_default_and_order_is_kept():
    obs = _cells(["a", "b", "c", "d", "e", "f"], ["v", "v", "hi", "hi", "lo", "lo"])
    sheet = build_sheet(obs, Design(condition_key="condition", control="v"), sample_key="sample")
    assert sheet.arms == ("v", "hi", "lo")
    design = Design(condition_key="condition", control="v", treated=["lo", "hi"])
    assert build_sheet(obs, design, sample_key="sample").arms == ("v", "lo", "hi")
    assert list(sheet.table["arm"]) == [
        "control",
        "control",
        "treated",
        "treated",
        "treated",
        "treated",
    ]


def test_covariates_are_per_sample_numbers_or_labels():
    obs = _cells(
        ["a", "b", "c", "d"],
        ["v", "v", "t", "t"],
        batch=["x", "y", "x", "y"],
        age=[50, 61.5, 70, 44],
    )
    design = Design(condition_key="condition", control="v", covariates=["batch", "age"])
    sheet = build_sheet(obs, design, sample_key="sample")
    assert sheet.variables["batch"].tolist() == ["x", "y", "x", "y"]
    assert sheet.variables["age"].tolist() == [50.0, 61.5, 70.0, 44.0]
    obs.loc["c0", "batch"] = "y"
    with pytest.raises(InputError, match="obs\\['batch'\\] varies within sample\\(s\\) a"):
        build_sheet(obs, design, sample_key="sample")


def test_samples_without_a_covariate_value_are_dropped_and_named():
    obs = _cells(["a", "b", "c", "d", "e"], ["v", "v", "t", "t", "t"], age=[1, 2, 3, np.nan, 4])
    design = Design(condition_key="condition", control="v", covariates=["age"])
    sheet = build_sheet(obs, design, sample_key="sample")
    assert list(sheet.table.index) == ["a", "b", "c", "e"] and sheet.dropped == {
        "d": "no 'age' value"
    }


def _biopsies(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["subject", "time", "arm"])
    frame.index = [f"{s}_{t}" for s, t, _ in rows]
    return frame


REPEATED = Design(
    condition_key="arm",
    control="ICI",
    agents={"ICI": ["ICI"], "combo": ["ICI", "MEKi"]},
    subject_key="subject",
    time_key="time",
    baseline="pre",
)


def test_repeated_sheet_has_subject_and_time():
    obs = _biopsies(
        [
            ("p1", "pre", "ICI"),
            ("p1", "on", "ICI"),
            ("p2", "pre", "combo"),
            ("p2", "on", "combo"),
            ("p3", "on", "combo"),
        ]
    )
    sheet = build_sheet(obs, REPEATED, sample_key=None, bulk=True)
    assert sheet.times == ("pre", "on") and sheet.arms == ("ICI", "combo")
    assert list(sheet.table.columns) == ["arm", "condition", "pair", "subject", "time"]
    assert sheet.table.loc["p3_on", "subject"] == "p3"


def test_time_levels_follow_a_categorical_order():
    obs = _biopsies([("p1", "pre", "ICI"), ("p1", "day14", "ICI"), ("p1", "day7", "ICI")])
    obs["time"] = pd.Categorical(obs["time"], categories=["pre", "day7", "day14"])
    design = Design(subject_key="subject", time_key="time", baseline="pre")
    assert build_sheet(obs, design, sample_key=None, bulk=True).times == ("pre", "day7", "day14")
    obs["time"] = obs["time"].astype(str)
    assert build_sheet(obs, design, sample_key=None, bulk=True).times == ("pre", "day14", "day7")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (
            [("p1", "pre", "ICI"), ("p1", "on", "combo")],
            "subject\\(s\\) p1 have samples in several",
        ),
        ([("p1", "pre", "ICI"), ("p1", "pre ", "ICI")], "subject 'p1' has 2 samples at 'pre'"),
        ([("p1", "on", "ICI")], "baseline 'pre' not found in obs\\['time'\\]"),
    ],
)
def test_repeated_refusals(rows, message):
    obs = _biopsies([*rows, ("p9", "on", "combo")])
    obs.index = [f"s{i}" for i in range(len(obs))]
    with pytest.raises(InputError, match=message):
        build_sheet(obs, REPEATED, sample_key=None, bulk=True)


def test_single_arm_agents_must_name_time_levels():
    obs = _biopsies([("p1", "pre", ""), ("p1", "on", "")])
    design = Design(
        subject_key="subject",
        time_key="time",
        baseline="pre",
        agents={"on": ["MEKi"], "prog": ["MEKi"]},
    )
    with pytest.raises(InputError, match="agents names time level\\(s\\) 'prog' not in"):
        build_sheet(obs, design, sample_key=None, bulk=True)


def test_blocks_of_several_arms():
    obs = pd.DataFrame(
        {
            "arm": ["veh", "cobi", "veh", "cobi", "combo", "veh"],
            "block": ["g1", "g1", "g2", "g2", "g2", "g3"],
        }
    )
    design = Design(condition_key="arm", control="veh", treated=["cobi", "combo"], pair_key="block")
    sheet = build_sheet(obs, design, sample_key=None, bulk=True)
    assert sheet.dropped == {"5": "pair g3 has no sample of another arm"}
    obs.loc[5, "block"] = "g1"
    obs.loc[1, "arm"] = "veh"
    with pytest.raises(InputError, match="pair 'g1' has 3 samples of arm 'veh'"):
        build_sheet(obs, design, sample_key=None, bulk=True)


def test_formula_variables_come_from_obs():
    obs = pd.DataFrame({"arm": list("aabb"), "dose": [0, 0, 1.5, 3.0]})
    design = Design(formula="~ arm + np.log1p(dose)", contrasts={"x": ("arm", "b", "a")})
    sheet = build_sheet(obs, design, sample_key=None, bulk=True)
    assert list(sheet.variables.columns) == ["arm", "dose"] and len(sheet.table.columns) == 0
    bad = Design(formula="~ arm + doze", contrasts={"x": ("arm", "b", "a")})
    with pytest.raises(InputError, match="column\\(s\\) 'doze' not in adata.obs"):
        build_sheet(obs, bad, sample_key=None, bulk=True)


def test_a_million_cells_cost_a_factorisation():
    n = 1_000_000
    rng = np.random.default_rng(0)
    samples = rng.integers(0, 16, n)
    obs = pd.DataFrame(
        {
            "sample": pd.Categorical([f"s{k}" for k in samples]),
            "arm": pd.Categorical(np.array(["veh", "cobi", "aPDL1", "combo"])[samples % 4]),
            "batch": pd.Categorical(np.array(["a", "b"])[samples // 8]),
            "age": (samples * 3.0 + 40),
        }
    )
    design = Design(condition_key="arm", control="veh", agents=AGENTS, covariates=["batch", "age"])
    start = time.perf_counter()
    sheet = build_sheet(obs, design, sample_key="sample")
    assert time.perf_counter() - start < 3.0
    assert len(sheet.table) == 16 and sheet.table["condition"].value_counts().tolist() == [4] * 4
