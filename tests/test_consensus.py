"""compare_methods: one comparison per scoring method, and where they disagree."""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from mekscore import tl
from mekscore.datasets import simulate_study
from mekscore.errors import InputError
from mekscore.sig import get

ARMS = {
    "condition_key": "condition",
    "control": "vehicle",
    "treated": "trametinib",
    "sample_key": "sample",
}


def _saturated_bulk(seed: int = 0) -> ad.AnnData:
    """Bulk log data where the MHC-I genes are always the most expressed genes.

    Treated samples express them 1.5x: a standardised method sees the rise, a rank
    method cannot (their ranks stay at the top in every sample).
    """
    rng = np.random.default_rng(seed)
    mhc1 = list(get("mhc1_apm").up)
    genes = [*mhc1, *(f"GENE{i:04d}" for i in range(400))]
    rows, obs = [], []
    for condition in ("vehicle", "trametinib"):
        for k in range(5):
            background = rng.lognormal(1.0, 1.0, 400)
            top = (
                rng.lognormal(0.0, 0.05, len(mhc1)) * 5000 * (1.5 if condition != "vehicle" else 1)
            )
            rows.append(np.log1p(np.concatenate([top, background])))
            obs.append((f"{condition[:3]}{k}", condition))
    frame = pd.DataFrame(obs, columns=["sample", "condition"], index=[o[0] for o in obs])
    return ad.AnnData(np.array(rows), obs=frame, var=pd.DataFrame(index=genes))


def test_a_rank_saturated_program_is_method_dependent():
    bulk = _saturated_bulk()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = tl.compare_methods(
            bulk, ["ucell", "zscore"], **ARMS, signatures=["mhc1_apm"], composition=False
        )
    row = table.set_index("signature").loc["mhc1_apm"]
    assert row["verdict_zscore"] == "consistent"
    assert row["verdict_ucell"] == "not testable"
    assert row["consensus"] == "method-dependent"
    stored = bulk.uns["mekscore_compare"]  # one record: the first method's verdicts + consensus
    assert stored["parameters"]["methods"] == ["ucell", "zscore"]
    assert stored["parameters"]["method"] == "ucell"
    pd.testing.assert_frame_equal(stored["methods"], table)


def test_methods_that_agree_give_their_verdict():
    study = simulate_study(seed=5, n_genes=600, n_cells_mean=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        table = tl.compare_methods(
            study, ["singscore", "mean"], **ARMS, compartment_key="cell_type", composition=False
        )
    mapk = table.set_index("signature").loc["mapk_output_mpas"]
    assert mapk["verdict_singscore"] == mapk["verdict_mean"] == mapk["consensus"] == "consistent"


@pytest.mark.parametrize(
    ("methods", "message"),
    [
        (["ucell"], "at least two methods"),
        (["ucell", "aucell"], "all of one kind"),
        (["ucell", "nope"], "unknown method"),
    ],
)
def test_bad_method_lists_are_refused(methods, message):
    with pytest.raises(InputError, match=message):
        tl.compare_methods(_saturated_bulk(), methods, **ARMS)
