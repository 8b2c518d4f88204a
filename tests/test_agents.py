"""tl._agents: the agent vocabulary, user overrides and each class's effect on MAPK output."""

from __future__ import annotations

import pytest

from mekscore.errors import InputError
from mekscore.tl._agents import CLASSES, agent_class, check_overrides, mapk_output


@pytest.mark.parametrize(
    ("names", "cls"),
    [
        (
            [
                "MEKi",
                "MEK",
                "trametinib",
                "Cobimetinib",
                "selumetinib",
                "binimetinib",
                "PD0325901",
                "PD-0325901",
                "mirdametinib",
            ],
            "mek_inhibitor",
        ),
        (
            [
                "BRAFi",
                "encorafenib",
                "LGX818",
                "LGX-818",
                "dabrafenib",
                "vemurafenib",
                "ERKi",
                "ulixertinib",
                "sotorasib",
            ],
            "mapk_inhibitor",
        ),
        (
            [
                "BRAF-V600E",
                "V600E",
                "BRAF V600K",
                "KRAS-G12D",
                "KRAS G12C",
                "NRAS-Q61K",
                "NRASQ61R",
                "MEK1-DD",
            ],
            "mapk_activator",
        ),
        (
            [
                "ICI",
                "anti-PD-1",
                "aPD1",
                "anti-PD-L1",
                "aPDL1",
                "α-PD-L1",
                "anti-CTLA-4",
                "pembrolizumab",
                "Nivolumab",
                "atezolizumab",
                "RMP1-14",
            ],
            "checkpoint",
        ),
        (["cisplatin", "vehicle", "BRAF", "drug-7"], "other"),
    ],
)
def test_vocabulary(names, cls):
    assert {agent_class(name) for name in names} == {cls}


def test_overrides_come_first_and_are_matched_like_names():
    assert agent_class("drug-7", {"Drug 7": "mek_inhibitor"}) == "mek_inhibitor"
    assert agent_class("LGX818", {"lgx-818": "other"}) == "other"


def test_override_classes_are_checked():
    with pytest.raises(InputError, match="'braf' is not a class; use one of mek_inhibitor"):
        check_overrides({"LGX818": "braf"})
    check_overrides(dict.fromkeys(["a", "b"], CLASSES[0]))


@pytest.mark.parametrize(
    ("classes", "expected"),
    [
        ({"mek_inhibitor"}, "down"),
        ({"mek_inhibitor", "mapk_inhibitor", "checkpoint"}, "down"),
        ({"mapk_activator"}, "up"),
        ({"checkpoint"}, "none"),
        (set(), "none"),
        ({"mapk_activator", "mek_inhibitor"}, "unclear"),
        ({"other"}, "unclear"),
        ({"other", "mek_inhibitor"}, "unclear"),
    ],
)
def test_mapk_output(classes, expected):
    assert mapk_output(classes) == expected
