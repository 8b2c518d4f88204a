"""tl._targets: compartments of a study, the targets tested in each, and their cells."""

from __future__ import annotations

import pandas as pd
import pytest

from mekscore.errors import InputError
from mekscore.tl._targets import FLAG_ALL_CELLS, Compartments

OBS = pd.DataFrame({"ct": ["Tumor", "CD8 T", "Mono", "Tumor", None]})
META = {
    "mhc1_apm": ("tumor", "up", "unclear"),
    "ifng_ayers6": ("any", "up", "unclear"),
    "tam_m2": ("myeloid", "down", "unclear"),
}


def test_labels_map_by_name_and_by_the_given_map():
    cells = Compartments.from_obs(OBS, "ct", {"myeloid": ["Mono"]})
    assert cells.labels["tumor"] == ("Tumor",) and cells.labels["cd8_t"] == ("CD8 T",)
    assert cells.labels["myeloid"] == ("Mono",) and cells.labels["nk"] == ()
    with pytest.raises(InputError, match="'Monocyte'.*not found"):
        Compartments.from_obs(OBS, "ct", {"myeloid": ["Monocyte"]})
    with pytest.raises(InputError, match="needs compartment_key"):
        Compartments.from_obs(OBS, None, {"myeloid": ["Mono"]})


def test_groups_share_one_mask_per_set_of_cells():
    cells = Compartments.from_obs(OBS, "ct", {"myeloid": ["Mono"]})
    targets = cells.targets(META, in_all_cells=True, bulk=False)
    assert [(t.signature, t.compartment) for t in targets] == [
        ("mhc1_apm", "tumor"),
        ("mhc1_apm", "any"),
        ("ifng_ayers6", "any"),
        ("tam_m2", "myeloid"),
        ("tam_m2", "any"),
    ]
    groups = list(cells.groups(targets))
    assert [len(g) for g, _ in groups] == [1, 3, 1]
    tumour, _ = groups[0]
    assert groups[0][1].tolist() == [True, False, False, True, False]
    assert cells.tested_in(tumour[0]) == "Tumor" and cells.tested_in(groups[1][0][0]) == "all cells"


def test_without_labels_every_target_is_tested_on_every_observation():
    cells = Compartments.from_obs(OBS, None, None)
    targets = cells.targets(META, in_all_cells=True, bulk=False)
    assert len(targets) == 3 and targets[0].flag == FLAG_ALL_CELLS and not targets[1].flag
    ((group, mask),) = cells.groups(targets)
    assert mask.all() and len(group) == 3
    assert cells.tested_in(targets[0]) == "all observations"


def test_an_absent_compartment_says_how_to_map_it():
    cells = Compartments.from_obs(OBS, "ct", None)
    nk = cells.targets(
        {"nk_activation": ("nk", "mixed", "unclear")}, in_all_cells=False, bulk=False
    )[0]
    assert "no label of obs['ct'] maps to 'nk'" in cells.absent_reason(nk)
