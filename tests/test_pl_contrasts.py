"""Plots of a design with several contrasts: one contrast at a time, or all side by side."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from mekscore import pl
from mekscore.errors import InputError
from mekscore.pl import VERDICT_COLORS

CONTRASTS = ["cobi vs vehicle (MEKi)", "combo vs vehicle (MEKi + ICI)", "combo beats both"]


def _verdict() -> pd.DataFrame:
    rows = []
    for k, contrast in enumerate(CONTRASTS):
        for sig, comp, verdict in (
            ("mhc1_apm", "tumor", "consistent"),
            ("mapk_output_mpas", "tumor", "no change detected"),
            ("tis_gep18", "any", "not testable" if k == 2 else "no expected direction"),
        ):
            effect = np.nan if verdict == "not testable" else 1.0 + k
            high = np.inf if contrast == "combo beats both" else effect + 1
            rows.append((contrast, sig, comp, "up", effect, effect - 1, high, verdict))
    columns = [
        "contrast",
        "signature",
        "compartment",
        "expected",
        "effect_size",
        "ci_low",
        "ci_high",
        "verdict",
    ]
    return pd.DataFrame(rows, columns=columns)


def _samples() -> pd.DataFrame:
    arms = {"vehicle": ["v1", "v2"], "cobi": ["c1", "c2"], "combo": ["m1", "m2"]}
    rows = []
    for contrast, treated in (("cobi vs vehicle", "cobi"), ("combo vs vehicle", "combo")):
        for arm in ("vehicle", treated):
            for i, sample in enumerate(arms[arm]):
                rows.append(("mhc1_apm", "tumor", contrast, sample, arm, float(i), ""))
    columns = ["signature", "compartment", "contrast", "sample", "condition", "score", "pair"]
    return pd.DataFrame(rows, columns=columns)


def _axes():
    return Figure().add_subplot()


def test_contrast_overview_is_one_cell_per_program_and_contrast():
    verdict = _verdict()
    ax = pl.contrast_overview(verdict, ax=_axes())
    grid = ax.images[0].get_array()
    assert grid.shape == (3, len(CONTRASTS))
    names = list(VERDICT_COLORS)
    for row in verdict.itertuples():
        i = ["mhc1_apm", "mapk_output_mpas", "tis_gep18"].index(row.signature)
        assert grid[i, CONTRASTS.index(row.contrast)] == names.index(row.verdict)
    columns = [t.get_text().replace("\n", " ") for t in ax.get_xticklabels()]
    assert columns == CONTRASTS  # the words, wrapped
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "mhc1_apm (tumor)"
    assert sum(t.get_text() == "n/t" for t in ax.texts) == 1


def test_contrast_overview_needs_the_contrast_column():
    with pytest.raises(InputError, match="lacks column.*contrast"):
        pl.contrast_overview(_verdict().drop(columns="contrast"), ax=_axes())


def test_effect_sizes_of_several_contrasts_needs_one_named():
    verdict = _verdict()
    with pytest.raises(InputError, match=r"holds 3 contrasts; choose one with contrast \(one of"):
        pl.effect_sizes(verdict, ax=_axes())
    with pytest.raises(InputError, match=r"contrast='nope' is not a contrast of verdict.*cobi"):
        pl.effect_sizes(verdict, ax=_axes(), contrast="nope")
    ax = pl.effect_sizes(verdict, ax=_axes(), contrast=CONTRASTS[1])
    assert len(ax.get_yticks()) == 3
    np.testing.assert_allclose(ax.collections[1].get_offsets()[:, 0], [2.0, 2.0, 2.0])
    assert CONTRASTS[1] in ax.get_xlabel()


def test_effect_sizes_draws_a_one_sided_interval_to_the_edge():
    ax = pl.effect_sizes(_verdict(), ax=_axes(), contrast="combo beats both")
    right = ax.get_xlim()[1]
    segments = ax.collections[0].get_segments()
    assert [tuple(s[:, 0]) for s in segments] == [(2.0, right), (2.0, right)]


def test_verdict_heatmap_picks_a_contrast():
    verdict = _verdict()
    with pytest.raises(InputError, match="choose one with contrast"):
        pl.verdict_heatmap(verdict, ax=_axes())
    ax = pl.verdict_heatmap(verdict, ax=_axes(), contrast=CONTRASTS[2])
    assert sorted(t.get_text() for t in ax.texts) == ["+3.0", "+3.0", "n/t"]


def test_sample_scores_draws_each_sample_once_or_the_arms_of_one_contrast():
    samples = _samples()
    ax = pl.sample_scores(samples, "mhc1_apm", ax=_axes())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["vehicle", "cobi", "combo"]
    assert len(ax.collections[-1].get_offsets()) == 6  # vehicle samples not drawn twice
    ax = pl.sample_scores(samples, "mhc1_apm", ax=_axes(), contrast="combo vs vehicle")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["vehicle", "combo"]
    with pytest.raises(InputError, match="not a contrast of samples"):
        pl.sample_scores(samples, "mhc1_apm", ax=_axes(), contrast="x")
