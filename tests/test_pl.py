"""Plots: what is drawn matches the verdict and per-sample tables."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from mekscore import pl
from mekscore.pl import VERDICT_COLORS


def _verdict() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "signature": ["mhc1_apm", "mapk_output_mpas", "tam_m2", "nk_activation", "treg_core"],
            "compartment": ["tumor", "tumor", "myeloid", "nk", "cd4_t"],
            "expected": ["up", "down", "down", "mixed", "unclear"],
            "effect_size": [1.8, -np.inf, 0.4, np.nan, -0.6],
            "ci_low": [0.4, np.nan, -1.0, np.nan, -2.0],
            "ci_high": [3.1, np.nan, 1.8, np.nan, 0.8],
            "verdict": [
                "consistent",
                "consistent",
                "no change detected",
                "not testable",
                "not testable",
            ],
        }
    )


def _samples(*, paired: bool) -> pd.DataFrame:
    rows = []
    for i in range(3):
        pair = f"P{i}" if paired else ""
        for condition, shift in (("vehicle", 0.0), ("trametinib", 1.0)):
            name = f"{pair or 's'}_{condition}{i}"
            for sig, comp in (
                ("mhc1_apm", "tumor"),
                ("ifng_ayers6", "any"),
                ("ifng_ayers6", "tumor"),
            ):
                rows.append((sig, comp, name, condition, i * 0.1 + shift, pair))
    frame = pd.DataFrame(
        rows, columns=["signature", "compartment", "sample", "condition", "score", "pair"]
    )
    frame["condition"] = pd.Categorical(frame["condition"], ["vehicle", "trametinib"])
    return frame


def _axes():
    return Figure().add_subplot()


def test_effect_sizes_draws_one_point_and_interval_per_finite_row():
    verdict = _verdict()
    ax = pl.effect_sizes(verdict, ax=_axes())
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [
        f"{s} ({c})" for s, c in zip(verdict.signature, verdict.compartment, strict=True)
    ]
    points = ax.collections[1]
    finite = np.isfinite(verdict["effect_size"])
    np.testing.assert_allclose(points.get_offsets()[:, 0], verdict.loc[finite, "effect_size"])
    got = [to_hex(c).upper() for c in points.get_facecolors()]
    assert got == [VERDICT_COLORS[v].upper() for v in verdict.loc[finite, "verdict"]]
    segments = ax.collections[0].get_segments()
    assert [tuple(s[:, 0]) for s in segments] == [(0.4, 3.1), (-1.0, 1.8), (-2.0, 0.8)]


def test_effect_sizes_marks_infinite_untested_and_expected():
    ax = pl.effect_sizes(_verdict(), ax=_axes())
    texts = [t.get_text() for t in ax.texts]
    assert texts.count(" not testable") == 1
    assert [t for t in texts if t in ("up", "down", "mixed", "unclear")] == [
        "up",
        "down",
        "down",
        "mixed",
        "unclear",
    ]
    left, right = ax.get_xlim()
    assert left == -right and right >= 3.1
    infinite = ax.collections[2].get_offsets()
    assert infinite[0, 0] < 0 and abs(infinite[0, 0]) > 0.9 * right
    expected_markers = [c for c in ax.collections[3:] if len(c.get_offsets()) == 1]
    assert len(expected_markers) == 3  # up, down, down; none for mixed / unclear


def test_verdict_heatmap_colours_each_cell_by_its_verdict():
    verdict = _verdict()
    ax = pl.verdict_heatmap(verdict, ax=_axes())
    image = ax.images[0]
    grid = image.get_array()
    sigs = list(dict.fromkeys(verdict.signature))
    comps = list(dict.fromkeys(verdict.compartment))
    names = list(VERDICT_COLORS)
    assert grid.shape == (len(sigs), len(comps))
    for row in verdict.itertuples():
        assert grid[sigs.index(row.signature), comps.index(row.compartment)] == names.index(
            row.verdict
        )
    assert int(np.ma.count_masked(grid)) == grid.size - len(verdict)
    assert sorted(t.get_text() for t in ax.texts) == sorted(["+1.8", "-inf", "+0.4", "n/t", "-0.6"])


def test_sample_scores_unpaired_box_and_points():
    samples = _samples(paired=False)
    ax = pl.sample_scores(samples, "mhc1_apm", ax=_axes())
    assert [t.get_text() for t in ax.get_xticklabels()] == ["vehicle", "trametinib"]
    points = ax.collections[-1].get_offsets()
    chosen = samples[samples.signature == "mhc1_apm"]
    np.testing.assert_allclose(np.sort(points[:, 1]), np.sort(chosen["score"]))
    # jitter keeps each point within its condition's box position
    codes = chosen["condition"].cat.codes.to_numpy()
    assert np.all(np.abs(points[:, 0] - codes) < 0.2)
    assert not any(
        len(line.get_xdata()) == 2 and line.get_color() == "#9A9A9A" for line in ax.lines
    )


def test_sample_scores_paired_joins_each_pair():
    samples = _samples(paired=True)
    ax = pl.sample_scores(samples, "ifng_ayers6", "tumor", ax=_axes())
    pair_lines = [line for line in ax.lines if line.get_color() == "#9A9A9A"]
    assert len(pair_lines) == 3
    for line in pair_lines:
        low, high = line.get_ydata()
        assert high - low == pytest.approx(1.0)


def test_sample_scores_errors_name_the_fix():
    samples = _samples(paired=False)
    with pytest.raises(ValueError, match="several compartments .*name one with compartment"):
        pl.sample_scores(samples, "ifng_ayers6", ax=_axes())
    with pytest.raises(ValueError, match="not in samples"):
        pl.sample_scores(samples, "nope", ax=_axes())
    with pytest.raises(ValueError, match="no samples in compartment 'nk'"):
        pl.sample_scores(samples, "mhc1_apm", "nk", ax=_axes())
    with pytest.raises(ValueError, match="lacks column.*score"):
        pl.sample_scores(samples.drop(columns="score"), "mhc1_apm", ax=_axes())


def test_missing_columns_and_empty_tables_are_refused():
    with pytest.raises(ValueError, match="lacks column.*ci_low"):
        pl.effect_sizes(_verdict().drop(columns="ci_low"))
    with pytest.raises(ValueError, match="no rows"):
        pl.verdict_heatmap(_verdict().iloc[:0])


def test_without_ax_a_new_figure_is_made():
    import matplotlib.pyplot as plt

    ax = pl.effect_sizes(_verdict())
    try:
        height = ax.figure.get_size_inches()[1]
        assert height > 2.5  # grows with the number of rows
    finally:
        plt.close(ax.figure)
