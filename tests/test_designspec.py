"""tl._designspec: the Design specification, its shapes and its one-line refusals."""

from __future__ import annotations

import dataclasses

import pytest

from mekscore.errors import InputError
from mekscore.tl._designspec import Design, check_contrast_spec, contrast_form

AGENTS = {"cobi": ["MEKi"], "aPDL1": ["ICI"], "combo": ["MEKi", "ICI"]}


def test_two_arm_is_todays_call():
    design = Design.two_arm(condition_key="c", control="v", treated="t", pair_key="p")
    assert design == Design(condition_key="c", control="v", treated=["t"], pair_key="p")
    assert (design.treated, design.kind, design.keys) == (("t",), "two-arm", ("c", "p"))


def test_fields_are_keyword_only_and_frozen():
    with pytest.raises(TypeError):
        Design("c", "v")  # type: ignore[misc]
    design = Design(condition_key="c", control="v")
    with pytest.raises(dataclasses.FrozenInstanceError):
        design.control = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):  # the mappings are read-only views
        Design(condition_key="c", control="v", agents=AGENTS).agents["x"] = ("y",)


def test_agents_name_the_treated_arms_and_labels_become_strings():
    design = Design(condition_key="arm", control=0, agents={1: "MEKi", 2: ["MEKi", "ICI"]})
    assert design.control == "0" and design.treated == ("1", "2")
    assert dict(design.agents) == {"1": ("MEKi",), "2": ("MEKi", "ICI")}
    assert Design(condition_key="arm", control="v", covariates="batch").covariates == ("batch",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "no arms: pass condition_key= and control="),
        ({"condition_key": "arm"}, "control= is missing: name the control label of 'arm'"),
        (
            {"condition_key": "arm", "control": "v", "treated": ["t", "v"]},
            "control 'v' is also a treated arm",
        ),
        ({"condition_key": "arm", "control": "v", "treated": ["t", "t"]}, "lists an arm twice"),
        (
            {"condition_key": "arm", "control": "v", "treated": ["cobi"], "agents": AGENTS},
            "agents names arm\\(s\\) 'aPDL1', 'combo' that are not in treated=",
        ),
        (
            {"condition_key": "arm", "control": "v", "treated": ["cobi", "x"], "agents": AGENTS},
            "arm\\(s\\) 'x' have no agents entry",
        ),
        ({"condition_key": "arm", "control": "v", "pair_key": "arm"}, "used for two roles"),
        (
            {"condition_key": "arm", "control": "v", "pair_key": "p", "covariates": ["b"]},
            "covariates with pair_key are not supported",
        ),
        (
            {"condition_key": "arm", "control": "v", "between_key": "r"},
            "between_key needs time_key",
        ),
        (
            {"condition_key": "arm", "control": "v", "subject_key": "s"},
            "subject_key needs time_key= and baseline=",
        ),
        (
            {
                "condition_key": "arm",
                "control": "v",
                "pair_key": "p",
                "subject_key": "s",
                "time_key": "t",
            },
            "pair_key is for arms compared within pairs",
        ),
        ({"time_key": "t", "baseline": "pre"}, "time_key needs subject_key="),
        ({"time_key": "t", "subject_key": "s"}, "baseline= is missing"),
        (
            {
                "time_key": "t",
                "subject_key": "s",
                "baseline": "pre",
                "condition_key": "arm",
                "control": "v",
                "between_key": "r",
            },
            "either condition_key \\(arms\\) or between_key",
        ),
        (
            {"time_key": "t", "subject_key": "s", "baseline": "pre", "treated": "x"},
            "the reference is baseline=",
        ),
        ({"formula": "~ arm"}, "formula= needs contrasts="),
        ({"formula": "y ~ arm", "contrasts": {"a": ("arm", "b", "c")}}, "has a left-hand side"),
        ({"formula": "~ arm +", "contrasts": {"a": ("arm", "b", "c")}}, "cannot be parsed"),
        (
            {"formula": "~ arm", "covariates": ["b"], "contrasts": {"a": ("arm", "b", "c")}},
            "put covariates in the formula",
        ),
        (
            {"formula": "~ arm", "time_key": "t", "contrasts": {"a": ("arm", "b", "c")}},
            "pass subject_key= for repeated samples",
        ),
        (
            {"condition_key": "arm", "control": "v", "agent_classes": {"x": "braf"}},
            "'braf' is not a class",
        ),
        (
            {"condition_key": "arm", "control": "v", "contrasts": {"a": {"arm[T.b]": 1.0}}},
            "model-matrix weights, which need formula=",
        ),
        ({"condition_key": "arm", "control": "v", "contrasts": {"a": "b"}}, "is not a contrast"),
        (
            {"condition_key": "arm", "control": "v", "agents": {"t": [["x"]]}},
            "must be a label or a list of labels",
        ),
    ],
)
def test_refusals_name_the_fix(kwargs, message):
    with pytest.raises(InputError, match=message):
        Design(**kwargs)


def test_shapes():
    assert Design(condition_key="a", control="v").kind == "arms"
    repeated = Design(subject_key="s", time_key="t", baseline="pre", between_key="r")
    assert repeated.kind == "repeated" and repeated.keys == ("s", "t", "r")
    formula = Design(formula="~ arm * time", subject_key="s", contrasts={"x": ("arm", "b", "a")})
    assert formula.kind == "formula"


def test_contrast_forms():
    assert contrast_form(("arm", "b", "a")) == "levels"
    assert contrast_form([(1, {"arm": "b"}), (-0.5, {"arm": "a", "time": "on"})]) == "conditions"
    assert contrast_form({"x": 1, "y": -1}) == "columns"
    assert contrast_form([1, 0, -1.5]) == "vector"
    for bad in ("arm", [], {}, {"x": "y"}, [(1, "arm")], ("arm", "b")):
        assert contrast_form(bad) is None
    with pytest.raises(InputError, match="must be a non-empty string"):
        check_contrast_spec("", ("arm", "b", "a"), formula=True)


def test_to_dict_is_plain():
    design = Design(
        formula="~ arm",
        subject_key="s",
        contrasts={"a": ("arm", "b", "c"), "b": [(1, {"arm": "b"}), (-1, {"arm": "c"})]},
    )
    assert design.to_dict() == {
        "subject_key": "s",
        "formula": "~ arm",
        "contrasts": {"a": ["arm", "b", "c"], "b": [[1, {"arm": "b"}], [-1, {"arm": "c"}]]},
    }
