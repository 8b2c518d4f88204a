"""The README's Python block, run verbatim: its comments say what the stored parameters say."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("\n## Python\n") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture(scope="module")
def namespace(tmp_path_factory):
    """The names the README block leaves behind (it writes report.html in a scratch folder)."""
    code = _python_block()
    where = tmp_path_factory.mktemp("readme")
    names: dict = {}
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        patch.chdir(where)
        exec(compile(code, "README.md", "exec"), names)
    names["_folder"] = where
    return names


def test_the_aggregation_comment_is_what_compare_did(namespace):
    claimed = re.search(r"counts exist, so: (\w+) per sample", _python_block()).group(1)
    assert namespace["params"]["aggregate"] == claimed == "pseudobulk"
    shown = re.search(r"# \('(\w+)', '(\w+) \(\.\.\.\)'\)", _python_block()).groups()
    assert namespace["params"]["aggregate"] == shown[0]
    assert namespace["params"]["pd_status"].startswith(shown[1])


def test_stored_scores_only_when_asked_for(namespace):
    """After scoring, the same call gives the same verdicts; scores= switches to cell means."""
    adata = namespace["adata"]
    assert "mekscore_ucell" in adata.obsm  # the README scored the cells
    from mekscore import tl

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        again = tl.compare(
            adata,
            condition_key="condition",
            control="vehicle",
            treated="trametinib",
            sample_key="sample",
            compartment_key="cell_type",
            inplace=False,
        )
    pd.testing.assert_frame_equal(again, namespace["verdict"])
    stored = adata.uns["compare_ucell"]["parameters"]
    assert "scores=" in _python_block() and "mean of the stored cell scores" in _python_block()
    assert (stored["aggregate"], stored["scores"]) == ("mean", "mekscore_ucell")


def test_the_report_it_writes_exists(namespace):
    html = (namespace["_folder"] / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Signature QC" in html


def _design_block() -> str:
    """The runnable example of the README's "Study designs" subsection."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("\n### Study designs") : text.index("\n## Command line")]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    return next(b for b in blocks if "load_example_four_arm" in b)


def test_the_study_designs_example_runs_and_shows_what_its_comments_say():
    names: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        exec(compile(_design_block(), "README.md", "exec"), names)
    gates = names["record"]["parameters"]["pd_status_by_contrast"]
    assert len(gates) == names["table"]["contrast"].nunique() == 7
    confirmed = {c for c, status in gates.items() if status.startswith("confirmed")}
    assert confirmed == {  # "the MAPK gate of each contrast adding cobimetinib"
        "cobi vs vehicle (cobimetinib)",
        "combo vs vehicle (cobimetinib + anti-PD-L1)",
        "combo vs aPDL1 (cobimetinib added to anti-PD-L1)",
    }
    assert names["cohort"].n_obs == 42  # "6 of 48 biopsies missing"
    on = names["verdicts"][names["verdicts"]["contrast"].str.startswith("(on - pre)")]
    assert set(on.loc[on["verdict"] != "not testable", "test"]) == {"lmm"}  # "a mixed model"
    mpas = on.set_index("signature").loc["mapk_output_mpas"]
    assert mpas["verdict"] == "consistent" and mpas["difference"] < 0
